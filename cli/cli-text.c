/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli-text.c — showing text someone else wrote without letting it act.
 */
#include "cli/cli-text.h"

#include <string.h>

#include <glib/gi18n.h>

#include "policy/text-safety.h"

char *
trellis_cli_text_inert (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!trellis_text_char_is_unsafe (c))
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      else if (c < 0x100)
        g_string_append_printf (out, "\\x%02X", (guint) c);
      else
        g_string_append_printf (out, "\\u%04X", (guint) c);
    }
  return g_string_free (out, FALSE);
}

char *
trellis_cli_text_markup (const char *text)
{
  g_autofree char *inert = trellis_cli_text_inert (text);

  return g_markup_escape_text (inert, -1);
}

gboolean
trellis_cli_message_check (const char *message)
{
  gunichar c = 0;
  glong at = trellis_text_find_unsafe (message, &c);

  if (at < 0)
    return TRUE;
  /* Translators: U+%04X is a character's code (e.g. U+001B, the escape
   * character), %ld its place in the message, counting from 1. */
  g_printerr (_ ("trellis: the message holds a control character (U+%04X, character %ld): "
                 "write it as plain text on one line\n"),
              (guint) c, at + 1);
  return FALSE;
}
