/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * text-safety.h — which characters of a text someone else wrote may change
 * how the text around them is shown.
 *
 * A child's message reaches a parent's terminal and desktop.  An escape
 * sequence in it can rewrite the lines around it on a terminal, a newline
 * can forge a line of `trellis requests`, and a bidirectional override can
 * make a name read backwards.  trellisd refuses such characters in what it
 * is given over the bus; `trellis` and trellis-notify show any that reach
 * them anyway (a message stored before the check) as inert escapes.
 *
 * Header only, so that trellis-notify, which links no policy/ code, shares
 * the one definition with trellisd and trellis.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * trellis_text_char_is_unsafe:
 * TRUE for C0 controls (tab and newline included), DEL, C1 controls,
 * bidirectional embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069), and the line and paragraph separators (U+2028, U+2029).
 * The plain marks U+200E, U+200F and U+061C stay allowed: text that mixes
 * Arabic or Hebrew with Latin needs them, and they reorder nothing beyond
 * themselves.
 */
static inline gboolean
trellis_text_char_is_unsafe (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f)
         || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
         || c == 0x2028 || c == 0x2029;
}

/**
 * trellis_text_find_unsafe:
 * @text: valid UTF-8
 * @ret_char: (out) (optional): the first unsafe character
 *
 * Returns: the position (in characters, from 0) of the first character of
 * @text that trellis_text_char_is_unsafe(), or -1 when there is none.
 */
static inline glong
trellis_text_find_unsafe (const char *text,
                          gunichar *ret_char)
{
  glong i = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p), i++)
    {
      gunichar c = g_utf8_get_char (p);

      if (trellis_text_char_is_unsafe (c))
        {
          if (ret_char != NULL)
            *ret_char = c;
          return i;
        }
    }
  return -1;
}

G_END_DECLS
