/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bypass-category.c — the optional "bypass" category (VPN apps, web
 * proxies, private DNS services): blocked only where a parent adds it
 * (block = +bypass), and explained like any other block, in the words of
 * the child's age band and in the child's language.
 */
#include "tests/unit/test-common.h"

#include <locale.h>

static const char household[] =
  "[household]\n"
  "parents = mum\n"
  "timezone = Europe/Paris\n"
  "[child sam]\nage = 10\naccounts = sam\nblock = +bypass\n"
  "[child alex]\nage = 14\naccounts = alex\nblock = +bypass\n"
  "[child robin]\nage = 10\naccounts = robin\n";

static char *
explained (TrellisPolicy *policy, const char *child_name, const char *name, const char *locale,
           TrellisDecision *ret)
{
  const TrellisChild *child = trellis_policy_find_child (policy, child_name);
  g_autoptr(GDateTime) noon = g_date_time_new_from_iso8601 ("2026-03-04T12:00:00+01:00", NULL);

  assert_non_null (child);
  trellis_policy_decide_at (policy, child, name, noon, ret);
  return trellis_rule_explain_for_locale (policy, ret->rule, child, noon, locale);
}

static void
test_blocked_where_added (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy (household);
  TrellisDecision d;
  g_autofree char *sam = explained (policy, "sam", "www.nordvpn.com", NULL, &d);
  g_autofree char *rule = NULL;
  g_autofree char *alex = NULL;
  g_autofree char *robin = NULL;

  assert_int_equal (d.verdict, TRELLIS_VERDICT_BLOCK);
  assert_int_equal (d.rule->kind, TRELLIS_RULE_KIND_CATEGORY);
  assert_string_equal (d.rule->category, "bypass");
  rule = trellis_rule_format_short (d.rule);
  assert_string_equal (rule, "category bypass (age 9-12)");
  assert_non_null (strstr (sam, "VPN or proxy service"));
  assert_non_null (strstr (sam, "you can ask them"));

  /* a parent may add it for a teenager too: the teenager's words */
  alex = explained (policy, "alex", "kproxy.com", NULL, &d);
  assert_int_equal (d.verdict, TRELLIS_VERDICT_BLOCK);
  assert_non_null (strstr (alex, "You have the right to know why and to disagree"));

  /* not added: not blocked, by default at any age */
  robin = explained (policy, "robin", "nordvpn.com", NULL, &d);
  assert_int_equal (d.verdict, TRELLIS_VERDICT_ALLOW);

  /* ordinary sites that talk about VPNs are not in it */
  g_free (explained (policy, "sam", "en.wikipedia.org", NULL, &d));
  assert_int_equal (d.verdict, TRELLIS_VERDICT_ALLOW);
  g_free (explained (policy, "sam", "proton.me", NULL, &d));
  assert_int_equal (d.verdict, TRELLIS_VERDICT_ALLOW);
}

static void
test_in_every_language (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy (household);
  const char *const locales[] = { "ar", "de", "es", "fr", "zh_CN" };
  const char *const kids[] = { "sam", "alex" };
  TrellisDecision d;
  g_autofree char *english_sam = explained (policy, "sam", "nordvpn.com", "C", &d);
  g_autofree char *english_alex = explained (policy, "alex", "nordvpn.com", "C", &d);
  g_autofree char *french = explained (policy, "sam", "nordvpn.com", "fr_FR.UTF-8", &d);

  assert_non_null (strstr (french, "C’est un service VPN ou proxy"));
  for (gsize l = 0; l < G_N_ELEMENTS (locales); l++)
    for (gsize k = 0; k < G_N_ELEMENTS (kids); k++)
      {
        g_autofree char *text = explained (policy, kids[k], "nordvpn.com", locales[l], &d);

        if (strcmp (text, english_sam) == 0 || strcmp (text, english_alex) == 0)
          fail_msg ("the bypass explanation for %s is not translated into %s", kids[k], locales[l]);
      }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_blocked_where_added),
    cmocka_unit_test (test_in_every_language),
  };

  setlocale (LC_ALL, "");
  return cmocka_run_group_tests (tests, NULL, NULL);
}
