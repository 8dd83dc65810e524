/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-cli-json.c — the one JSON string escaper of `trellis --json`: what
 * it writes for the characters two escapers used to disagree on (carriage
 * return, DEL, NULL and NUL), for the characters that could move a
 * terminal, and that a JSON reader gets every text back as it was, with no
 * unsafe character left raw in the output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cli/cli-json.h"
#include "policy/text-safety.h"

/* (transfer full) @text as trellis_cli_json_string() writes it. */
static char *
json (const char *text)
{
  GString *out = g_string_new (NULL);

  trellis_cli_json_string (out, text);
  return g_string_free (out, FALSE);
}

static void
assert_json (const char *text, const char *expected)
{
  g_autofree char *got = json (text);

  if (strcmp (got, expected) != 0)
    fail_msg ("escaped as %s, not %s", got, expected);
}

/* A JSON string's value, as a JSON reader decodes it (RFC 8259 §7, the
 * escapes the writer may use); NULL when @s is not one string. */
static char *
json_decode (const char *s)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = s;

  if (*p++ != '"')
    return NULL;
  while (*p != '"')
    {
      if ((guchar) *p < 0x20)
        return NULL; /* a raw control: not JSON */
      if (*p != '\\')
        {
          g_string_append_c (out, *p++);
          continue;
        }
      p++;
      switch (*p++)
        {
        case '"': g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/': g_string_append_c (out, '/'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'u':
          {
            char hex[5] = { 0 };
            guint64 c;

            memcpy (hex, p, 4);
            if (strlen (hex) != 4 || !g_ascii_string_to_unsigned (hex, 16, 0, 0xffff, &c, NULL)
                || (c >= 0xd800 && c <= 0xdfff))
              return NULL;
            g_string_append_unichar (out, (gunichar) c);
            p += 4;
            break;
          }
        default:
          return NULL;
        }
    }
  if (p[1] != '\0')
    return NULL;
  return g_strdup (out->str);
}

static void
test_disputed_characters (void **state)
{
  (void) state;
  /* NULL is JSON's null, not a string and not a crash. */
  assert_json (NULL, "null");
  assert_json ("", "\"\"");
  assert_json ("a\rb", "\"a\\rb\"");
  assert_json ("a\x7f"
               "b",
               "\"a\\u007fb\"");
  /* A C string ends at NUL: nothing after it is read. */
  assert_json ("a\0b", "\"a\"");
  /* An overlong NUL (modified UTF-8) is not UTF-8: U+FFFD each byte,
   * never a NUL or a raw byte. */
  assert_json ("a\xc0\x80"
               "b",
               "\"a\xef\xbf\xbd\xef\xbf\xbd"
               "b\"");
}

static void
test_escapes (void **state)
{
  (void) state;
  assert_json ("he said \"hi\" \\ ok", "\"he said \\\"hi\\\" \\\\ ok\"");
  assert_json ("one\ntwo\tthree", "\"one\\ntwo\\tthree\"");
  assert_json ("\x01\x1b[2J\x1f", "\"\\u0001\\u001b[2J\\u001f\"");
  /* C1 controls, a bidirectional override, a line separator. */
  assert_json ("\xc2\x85\xc2\x9b", "\"\\u0085\\u009b\"");
  assert_json ("moc.\xe2\x80\xae"
               "elpmaxe",
               "\"moc.\\u202eelpmaxe\"");
  assert_json ("a\xe2\x80\xa8"
               "b",
               "\"a\\u2028b\"");
  /* Text as it is: non-ASCII, markup, the marks that mixed scripts need. */
  assert_json ("é ✓ <b>&amp;</b> \xe2\x80\x8f", "\"é ✓ <b>&amp;</b> \xe2\x80\x8f\"");
  /* Invalid bytes. */
  assert_json ("\xff"
               "x",
               "\"\xef\xbf\xbdx\"");
}

/* Random bytes: each output is one JSON string whose value is the input
 * made valid, and it holds no unsafe character, raw. */
static void
test_round_trip (void **state)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (25);
  static const char pool[] = "ab\"\\/\n\r\t\x01\x1b\x7f\xc2\x85\xe2\x80\xae\xe2\x80\xa8\xc3\xa9\xff\xc0\x80";

  (void) state;
  for (guint i = 0; i < 5000; i++)
    {
      char text[33];
      guint len = (guint) g_rand_int_range (rand, 0, sizeof text);
      g_autofree char *valid = NULL, *out = NULL, *back = NULL;

      for (guint j = 0; j < len; j++)
        text[j] = pool[g_rand_int_range (rand, 0, sizeof pool - 1)];
      text[len] = '\0';
      valid = g_utf8_make_valid (text, -1);
      out = json (text);
      back = json_decode (out);
      if (back == NULL || strcmp (back, valid) != 0)
        fail_msg ("%s does not read back as the text it was written from", out);
      assert_true (g_utf8_validate (out, -1, NULL));
      assert_int_equal (trellis_text_find_unsafe (out, NULL), -1);
    }
}

static void
test_variant (void **state)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (
    g_variant_new_parsed ("{'name': <'sam\\r'>, 'age': <uint32 11>, 'quiet_now': <false>, "
                          "'categories': <[('adult', 'Adult')]>, 'none': <@ms nothing>}"));
  g_autoptr(GString) out = g_string_new (NULL);

  (void) state;
  trellis_cli_json_variant (out, v);
  assert_string_equal (out->str, "{\"name\": \"sam\\r\", \"age\": 11, \"quiet_now\": false, "
                                 "\"categories\": [[\"adult\", \"Adult\"]], \"none\": null}");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_disputed_characters),
    cmocka_unit_test (test_escapes),
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_variant),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
