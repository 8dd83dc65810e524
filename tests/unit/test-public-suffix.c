/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-public-suffix.c — a rule must name a site, not a public suffix:
 * single labels and the Public Suffix List's ICANN suffixes are refused
 * for allowing and denying, its private (shared hosting) suffixes for
 * allowing only, and ordinary names, however deep, pass.  The household
 * file refuses them at their line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "policy/public-suffix.h"
#include "policy/trellis-policy.h"

static gboolean
allowed (const char *name, TrellisSuffixUse use)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = trellis_public_suffix_check (name, use, &error);

  if (ok)
    assert_null (error);
  else
    {
      g_autofree char *shown = g_hostname_to_unicode (name);

      assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID));
      assert_non_null (strstr (error->message, shown));
    }
  return ok;
}

static void
test_refused_for_both (void **state)
{
  /* single labels: top-level domains, and words that are none */
  static const char *const names[] = {
    "com", "uk", "org", "xn--p1ai", "localhost", "roblox",
    /* ICANN suffixes of two and three labels, wildcard rules included */
    "co.uk", "org.uk", "com.au", "kawasaki.jp", "x.kawasaki.jp", "bar.ck"
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (allowed (names[i], TRELLIS_SUFFIX_USE_LIFT))
        fail_msg ("%s may be allowed", names[i]);
      if (allowed (names[i], TRELLIS_SUFFIX_USE_BLOCK))
        fail_msg ("%s may be denied", names[i]);
    }
}

static void
test_shared_refused_for_lifting (void **state)
{
  static const char *const names[] = { "github.io", "blogspot.com", "s3.amazonaws.com" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      assert_false (allowed (names[i], TRELLIS_SUFFIX_USE_LIFT));
      assert_true (allowed (names[i], TRELLIS_SUFFIX_USE_BLOCK));
    }
}

static void
test_sites_pass (void **state)
{
  static const char *const names[] = {
    "example.com", "www.example.com", "example.co.uk", "bbc.co.uk", "scratch.mit.edu",
    "city.kawasaki.jp", "www.ck", "octocat.github.io", "xn--80aswg.xn--p1ai",
    "internal.lan"
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (!allowed (names[i], TRELLIS_SUFFIX_USE_LIFT))
        fail_msg ("%s may not be allowed", names[i]);
      assert_true (allowed (names[i], TRELLIS_SUFFIX_USE_BLOCK));
    }
}

static void
test_messages (void **state)
{
  g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

  assert_false (trellis_public_suffix_check ("com", TRELLIS_SUFFIX_USE_LIFT, &e1));
  assert_string_equal (e1->message,
                       "“com” is not a site but a whole top-level domain: allowing it would lift "
                       "every block under .com; write the site's full name, such as example.com");
  assert_false (trellis_public_suffix_check ("co.uk", TRELLIS_SUFFIX_USE_BLOCK, &e2));
  assert_string_equal (e2->message,
                       "“co.uk” is not a site but a public suffix, under which anyone can register "
                       "one: denying it would block every site under .co.uk; write the site's "
                       "full name, such as example.co.uk");
  /* an internationalized suffix as it is written */
  assert_false (trellis_public_suffix_check ("xn--p1ai", TRELLIS_SUFFIX_USE_LIFT, &e3));
  assert_non_null (strstr (e3->message, "“рф”"));
  assert_false (trellis_public_suffix_check ("roblox", TRELLIS_SUFFIX_USE_LIFT, &e4));
  assert_non_null (strstr (e4->message, "such as roblox.com"));
}

static char *
household_error (const char *child_lines)
{
  g_autofree char *text = g_strdup_printf ("[household]\nparents = mum\n[child sam]\nage = 9\n"
                                           "accounts = sam\n%s",
                                           child_lines);
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = trellis_policy_load_data (text, strlen (text), "household.conf",
                                                               TRELLIS_SRC_DATADIR, &error);

  if (policy != NULL)
    return NULL;
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID));
  return g_strdup (error->message);
}

static void
test_household (void **state)
{
  g_autofree char *deny = household_error ("deny = example-game.com; com\n");
  g_autofree char *allow = household_error ("allow = co.uk\n");
  g_autofree char *shared = household_error ("allow = github.io\n");
  g_autofree char *fine = household_error ("allow = example.co.uk\ndeny = blogspot.com\n");

  assert_non_null (deny);
  assert_true (g_str_has_prefix (deny, "household.conf:6:26: “com” is not a site"));
  assert_non_null (allow);
  assert_true (g_str_has_prefix (allow, "household.conf:6:9: “co.uk” is not a site"));
  assert_non_null (shared);
  assert_true (g_str_has_prefix (shared, "household.conf:6:9: “github.io” is shared"));
  assert_null (fine);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_refused_for_both),
    cmocka_unit_test (test_shared_refused_for_lifting),
    cmocka_unit_test (test_sites_pass),
    cmocka_unit_test (test_messages),
    cmocka_unit_test (test_household),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
