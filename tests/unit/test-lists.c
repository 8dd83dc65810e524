/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-lists.c — a category's lists as the policy library reads them: what
 * is taken, and what is said about the lines that are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "policy/policy-private.h"

/* The errors in @problems, without the array's NULL at the end. */
static GPtrArray *
errors_of (TrellisProblems *problems)
{
  GPtrArray *errors = trellis_problems_get_errors (problems);

  g_ptr_array_set_size (errors, errors->len - 1);
  return errors;
}

/* Reads @text (@length bytes) as a domain list; returns the problems. */
static GPtrArray *
domains_read (const char *text, gsize length, guint *ret_n)
{
  g_autofree char *copy = g_malloc (length + 1);
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisProblems) problems = trellis_problems_new ();

  memcpy (copy, text, length);
  copy[length] = '\0';
  *ret_n = trellis_domain_list_read (copy, length, "domains", 2, builder, problems);
  return errors_of (problems);
}

static void
test_domain_list (void **state)
{
  static const char text[] = "# a list\nExample.COM.\n\n  spaced.example  # why\nexa mple.com\n";
  g_autoptr(GPtrArray) problems = NULL;
  guint n;

  problems = domains_read (text, sizeof text - 1, &n);
  assert_int_equal (n, 2);
  assert_int_equal (problems->len, 1);
  assert_string_equal (g_ptr_array_index (problems, 0),
                       "domains:5:1: “exa mple.com” is not a domain name");
}

/* A NUL byte would end the list there, the names after it lost unread. */
static void
test_domain_list_nul (void **state)
{
  static const char text[] = "before.example\nsecond.example\n\0after.example\n";
  g_autoptr(GPtrArray) problems = NULL;
  guint n;

  problems = domains_read (text, sizeof text - 1, &n);
  assert_int_equal (n, 0);
  assert_int_equal (problems->len, 1);
  assert_string_equal (g_ptr_array_index (problems, 0),
                       "domains:3:1: a NUL byte: this is not a text file");
}

/* What a message quotes is valid UTF-8 without control characters: it goes
 * to a terminal and over the bus. */
static void
test_domain_list_quoting (void **state)
{
  static const char text[] = "bad\xff.example\nesc\x1b[2J.example\n";
  g_autoptr(GPtrArray) problems = NULL;
  guint n;

  problems = domains_read (text, sizeof text - 1, &n);
  assert_int_equal (n, 0);
  assert_int_equal (problems->len, 2);
  assert_string_equal (g_ptr_array_index (problems, 0),
                       "domains:1:1: “bad\xef\xbf\xbd.example” is not a domain name");
  assert_string_equal (g_ptr_array_index (problems, 1),
                       "domains:2:1: “esc\xef\xbf\xbd[2J.example” is not a domain name");
}

static void
test_cidr_list (void **state)
{
  static const char text[] = "192.0.2.0/24\n2001:db8::/32\n198.51.100.7\n"
                             "192.0.2.0/33\n2001:db8::/129\n10.0.0.0/99999999999\nnope\n";
  g_autofree char *copy = g_strdup (text);
  g_autoptr(TrellisProblems) list = trellis_problems_new ();
  g_autoptr(GPtrArray) problems = NULL;
  g_auto(GStrv) cidrs = NULL;

  /* A prefix over 128 never reaches GLib, which would warn about it. */
  g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  cidrs = trellis_cidr_list_read (copy, strlen (copy), "cidrs", list);
  problems = errors_of (list);
  assert_int_equal (g_strv_length (cidrs), 3);
  assert_string_equal (cidrs[2], "198.51.100.7");
  assert_int_equal (problems->len, 4);
  assert_string_equal (g_ptr_array_index (problems, 1),
                       "cidrs:5:1: “2001:db8::/129” is not an address or a CIDR like 192.0.2.0/24");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_domain_list),
    cmocka_unit_test (test_domain_list_nul),
    cmocka_unit_test (test_domain_list_quoting),
    cmocka_unit_test (test_cidr_list),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
