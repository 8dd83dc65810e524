/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli-text.h — text that someone else wrote, made safe to show: on a
 * terminal (trellis) and in a notification (trellis-notify).  Both programs
 * build cli-text.c in; it needs GLib only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * trellis_cli_text_inert:
 * @text: (nullable): any bytes
 *
 * A copy of @text that cannot change how the text around it is shown: each
 * character trellis_text_char_is_unsafe() (an escape sequence's ESC, a
 * newline, a bidirectional override...) is written out as "\xHH" (below
 * U+0100) or "\uHHHH", and bytes that are not UTF-8 become U+FFFD.
 * Everything else, markup characters included, is left as it is.
 * Returns: (transfer full) never NULL.
 */
char *trellis_cli_text_inert (const char *text);

/**
 * trellis_cli_text_markup:
 * trellis_cli_text_inert(), then escaped for Pango markup (a notification's
 * body): "<b>" is shown as the three characters it is.
 * Returns: (transfer full) never NULL.
 */
char *trellis_cli_text_markup (const char *text);

/**
 * trellis_cli_message_check:
 * @message: valid UTF-8
 *
 * What trellisd checks of a message, checked first here so that the
 * refusal is in the user's language: no character
 * trellis_text_char_is_unsafe().  Prints why on stderr when it fails.
 * Returns: TRUE when @message may be sent.
 */
gboolean trellis_cli_message_check (const char *message);

G_END_DECLS
