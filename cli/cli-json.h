/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli-json.h — `trellis --json`: the one string escaper, and GVariants as
 * JSON.  GLib only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * trellis_cli_json_string:
 * @text: (nullable): any bytes
 *
 * Appends @text to @out as a JSON string, or `null` for NULL.  Bytes that
 * are not UTF-8 become U+FFFD (so does an overlong NUL, C0 80); `"`, `\`,
 * newline, carriage return and tab are `\"`, `\\`, `\n`, `\r`, `\t`; every
 * other character trellis_text_char_is_unsafe() (C0 and C1 controls, DEL,
 * bidirectional overrides and isolates, line and paragraph separators) is
 * `\uXXXX`: the same string to a JSON reader, and inert on a terminal.
 * Everything else, non-ASCII text included, is written as it is.
 */
void trellis_cli_json_string (GString *out,
                              const char *text);

/**
 * trellis_cli_json_variant:
 * Appends @value as JSON: a dictionary with string keys is an object,
 * other arrays and tuples are arrays, a variant is its content, a maybe is
 * its content or `null`, a double that is not finite is `null`.
 */
void trellis_cli_json_variant (GString *out,
                               GVariant *value);

G_END_DECLS
