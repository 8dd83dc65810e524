/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * eighteen-refused.c — Trellis does not filter adults: an 18+ profile is
 * refused with the reason, 17 is accepted, and a child who turns 18 while
 * the policy is loaded is no longer filtered from that day.
 */
#include "tests/unit/test-common.h"

static void
test_age_refused (void **state)
{
  g_autofree char *m18 = trellis_test_refused_policy ("[household]\nparents = mum\n[child a]\nage = 18\naccounts = a\n");
  g_autofree char *m25 = trellis_test_refused_policy ("[household]\nparents = mum\n[child a]\nage = 25\naccounts = a\n");

  assert_string_equal (m18, "household.conf:4:7: age 18: Trellis does not filter adults: remove this section, or give a child's age (0 to 17)");
  assert_string_equal (m25, "household.conf:4:7: age 25: Trellis does not filter adults: remove this section, or give a child's age (0 to 17)");
}

static void
test_birth_refused (void **state)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) born = g_date_time_add_full (now, -18, 0, -2, 0, 0, 0);
  g_autofree char *date = g_date_time_format (born, "%Y-%m-%d");
  g_autofree char *text = g_strdup_printf ("[household]\nparents = mum\ntimezone = UTC\n"
                                           "[child a]\nbirth = %s\naccounts = a\n",
                                           date);
  g_autofree char *message = trellis_test_refused_policy (text);
  g_autofree char *expected = g_strdup_printf ("household.conf:5:9: born %s, a is 18: Trellis does not filter adults: remove this section",
                                               date);

  assert_string_equal (message, expected);
}

static void
test_seventeen_accepted (void **state)
{
  const char *text = "[household]\nparents = mum\n[child a]\nage = 17\naccounts = a\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = trellis_policy_load_data (text, -1, "household.conf", TRELLIS_SRC_DATADIR, &error);
  TrellisDecision decision = { 0 };

  assert_non_null (policy);
  trellis_policy_decide (policy, trellis_policy_find_child (policy, "a"), "bet365.com", &decision);
  assert_int_equal (decision.verdict, TRELLIS_VERDICT_BLOCK);
  assert_int_equal (decision.rule->kind, TRELLIS_RULE_KIND_CATEGORY);
  assert_string_equal (decision.rule->category, "gambling");
}

static void
test_turns_eighteen (void **state)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  /* 17 years and 11 months ago, on the first of a month. */
  g_autoptr(GDateTime) born = g_date_time_add_months (now, -(17 * 12 + 11));
  g_autofree char *month = g_date_time_format (born, "%Y-%m");
  g_autofree char *text = g_strdup_printf ("[household]\nparents = mum\ntimezone = UTC\n"
                                           "[child a]\nbirth = %s\naccounts = a\ndeny = example-game.com\n",
                                           month);
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = trellis_policy_load_data (text, -1, "household.conf", TRELLIS_SRC_DATADIR, &error);
  const TrellisChild *a;
  g_autoptr(GDateTime) later = g_date_time_add_months (now, 2);
  TrellisDecision decision = { 0 };

  if (policy == NULL)
    fail_msg ("refused: %s", error->message);
  a = trellis_policy_find_child (policy, "a");
  assert_int_equal (trellis_child_get_age (policy, a, now), 17);
  trellis_policy_decide_at (policy, a, "bet365.com", now, &decision);
  assert_int_equal (decision.verdict, TRELLIS_VERDICT_BLOCK);
  trellis_policy_decide_at (policy, a, "example-game.com", now, &decision);
  assert_int_equal (decision.rule->kind, TRELLIS_RULE_KIND_DENY);

  /* Two months later a is 18: nothing is filtered. */
  assert_int_equal (trellis_child_get_age (policy, a, later), 18);
  assert_null (trellis_child_get_profile (policy, a, later, NULL, NULL, NULL));
  trellis_policy_decide_at (policy, a, "bet365.com", later, &decision);
  assert_int_equal (decision.verdict, TRELLIS_VERDICT_ALLOW);
  assert_int_equal (decision.rule->kind, TRELLIS_RULE_KIND_DEFAULT);
  trellis_policy_decide_at (policy, a, "example-game.com", later, &decision);
  assert_int_equal (decision.verdict, TRELLIS_VERDICT_ALLOW);
  assert_int_equal (decision.rule->kind, TRELLIS_RULE_KIND_DEFAULT);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_age_refused),
    cmocka_unit_test (test_birth_refused),
    cmocka_unit_test (test_seventeen_accepted),
    cmocka_unit_test (test_turns_eighteen),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
