/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * age-band-moves.c — with birth=, the age band moves by itself on the
 * birthday (the first of the month when no day is written), at midnight
 * in the household's zone, whatever the process's zone is.
 */
#include "tests/unit/test-common.h"

static GDateTime *
at (const char *zone, int y, int m, int d, int h, int min)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_identifier (zone);

  assert_non_null (tz);
  return g_date_time_new (tz, y, m, d, h, min, 0);
}

static const char *
band_at (TrellisPolicy *policy, const TrellisChild *child, GDateTime *now)
{
  const TrellisAgeBand *band = trellis_child_get_profile (policy, child, now, NULL, NULL, NULL);

  return band != NULL ? band->id : "adult";
}

static void
test_month_only (void **state)
{
  /* Born 2016-05: 7 until 2024-05-01 (band 6-8), 8 then; 8 until
   * 2025-05-01, then 9 (band 9-12). */
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\nparents = mum\ntimezone = Europe/Paris\n"
                                                               "[child sam]\nbirth = 2016-05\naccounts = sam\n");
  const TrellisChild *sam = trellis_policy_find_child (policy, "sam");
  g_autoptr(GDateTime) before = at ("Europe/Paris", 2024, 4, 30, 23, 59);
  g_autoptr(GDateTime) on = at ("Europe/Paris", 2024, 5, 1, 0, 0);
  g_autoptr(GDateTime) next_before = at ("Europe/Paris", 2025, 4, 30, 23, 59);
  g_autoptr(GDateTime) next = at ("Europe/Paris", 2025, 5, 1, 0, 0);

  assert_int_equal (trellis_child_get_age (policy, sam, before), 7);
  assert_string_equal (band_at (policy, sam, before), "6-8");
  assert_int_equal (trellis_child_get_age (policy, sam, on), 8);
  assert_string_equal (band_at (policy, sam, on), "6-8");
  assert_string_equal (band_at (policy, sam, next_before), "6-8");
  assert_int_equal (trellis_child_get_age (policy, sam, next), 9);
  assert_string_equal (band_at (policy, sam, next), "9-12");
}

static void
test_full_date (void **state)
{
  /* Born 2011-08-17: 12 on 2024-08-16, 13 on 2024-08-17 (band 9-12 → 13-15). */
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\nparents = mum\ntimezone = Europe/Paris\n"
                                                               "[child kim]\nbirth = 2011-08-17\naccounts = kim\n");
  const TrellisChild *kim = trellis_policy_find_child (policy, "kim");
  g_autoptr(GDateTime) before = at ("Europe/Paris", 2024, 8, 16, 23, 59);
  g_autoptr(GDateTime) on = at ("Europe/Paris", 2024, 8, 17, 0, 0);
  TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;

  assert_int_equal (trellis_child_get_age (policy, kim, before), 12);
  assert_string_equal (band_at (policy, kim, before), "9-12");
  trellis_child_get_profile (policy, kim, before, NULL, &level, NULL);
  assert_int_equal (level, TRELLIS_SAFE_SEARCH_STRICT);
  assert_int_equal (trellis_child_get_age (policy, kim, on), 13);
  assert_string_equal (band_at (policy, kim, on), "13-15");
  trellis_child_get_profile (policy, kim, on, NULL, &level, NULL);
  assert_int_equal (level, TRELLIS_SAFE_SEARCH_MODERATE);
}

static void
test_household_zone (void **state)
{
  /* At 2024-08-16 23:30 UTC it is already 17 August in Auckland: the
   * birthday has come there, not yet in New York. */
  g_autoptr(TrellisPolicy) auckland = trellis_test_load_policy ("[household]\nparents = mum\ntimezone = Pacific/Auckland\n"
                                                                 "[child kim]\nbirth = 2011-08-17\naccounts = kim\n");
  g_autoptr(TrellisPolicy) newyork = trellis_test_load_policy ("[household]\nparents = mum\ntimezone = America/New_York\n"
                                                                "[child kim]\nbirth = 2011-08-17\naccounts = kim\n");
  g_autoptr(GDateTime) utc = at ("UTC", 2024, 8, 16, 23, 30);

  assert_int_equal (trellis_child_get_age (auckland, trellis_policy_find_child (auckland, "kim"), utc), 13);
  assert_string_equal (band_at (auckland, trellis_policy_find_child (auckland, "kim"), utc), "13-15");
  assert_int_equal (trellis_child_get_age (newyork, trellis_policy_find_child (newyork, "kim"), utc), 12);

  /* The process's zone changes nothing. */
  setenv ("TZ", "America/Los_Angeles", 1);
  tzset ();
  assert_int_equal (trellis_child_get_age (auckland, trellis_policy_find_child (auckland, "kim"), utc), 13);
  assert_int_equal (trellis_child_get_age (newyork, trellis_policy_find_child (newyork, "kim"), utc), 12);
  unsetenv ("TZ");
}

static void
test_leap_day (void **state)
{
  /* Born 2012-02-29: the birthday is 1 March in other years. */
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\nparents = mum\ntimezone = UTC\n"
                                                               "[child lea]\nbirth = 2012-02-29\naccounts = lea\n");
  const TrellisChild *lea = trellis_policy_find_child (policy, "lea");
  g_autoptr(GDateTime) feb28 = at ("UTC", 2021, 2, 28, 12, 0);
  g_autoptr(GDateTime) mar1 = at ("UTC", 2021, 3, 1, 0, 0);

  assert_int_equal (trellis_child_get_age (policy, lea, feb28), 8);
  assert_string_equal (band_at (policy, lea, feb28), "6-8");
  assert_int_equal (trellis_child_get_age (policy, lea, mar1), 9);
  assert_string_equal (band_at (policy, lea, mar1), "9-12");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_month_only),
    cmocka_unit_test (test_full_date),
    cmocka_unit_test (test_household_zone),
    cmocka_unit_test (test_leap_day),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
