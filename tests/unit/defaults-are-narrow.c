/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * defaults-are-narrow.c — GC25 §56: the shipped age bands block harmful
 * material only.  Fails if a default band blocks a category that looks
 * like information (news, health, sexuality or identity, religion,
 * politics, education), if a band names a category that does not exist,
 * if a band blocks no narrow-harm category at all, or if a band above 12
 * blocks the bypass category (teenagers keep their way to information).
 */
#include "tests/unit/test-common.h"

static const char *const information[] = {
  "news", "health", "sex", "lgbt", "queer", "identity", "gender", "religio", "faith",
  "politic", "education", "information", NULL
};

static const char *const narrow_harm[] = { "adult", "gambling", "malware", "phishing", NULL };

static gboolean
looks_like (const char *text, const char *const *words)
{
  g_autofree char *lower = g_utf8_strdown (text, -1);
  guint i;

  for (i = 0; words[i] != NULL; i++)
    if (strstr (lower, words[i]) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_defaults_are_narrow (void **state)
{
  const char *text = "[household]\nparents = mum\n[child a]\nage = 9\naccounts = a\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = trellis_policy_load_data (text, -1, "household.conf", TRELLIS_SRC_DATADIR, &error);
  const TrellisCategory *const *categories;
  const TrellisAgeBand *const *bands;
  guint n_categories = 0, n_bands = 0, b, c, age;
  guint32 known = 0;

  if (policy == NULL)
    fail_msg ("the shipped data does not load: %s", error->message);
  categories = trellis_policy_get_categories (policy, &n_categories);
  bands = trellis_policy_get_age_bands (policy, &n_bands);
  assert_true (n_categories > 0);
  assert_true (n_bands > 0);
  for (c = 0; c < n_categories; c++)
    known |= 1u << categories[c]->bit;

  for (b = 0; b < n_bands; b++)
    {
      gboolean harm = FALSE;

      if (bands[b]->categories & ~known)
        fail_msg ("band %s blocks a category that does not exist", bands[b]->id);
      for (c = 0; c < n_categories; c++)
        {
          if (!(bands[b]->categories & (1u << categories[c]->bit)))
            continue;
          if (looks_like (categories[c]->id, information) || looks_like (categories[c]->name, information))
            fail_msg ("band %s blocks “%s” (%s): that is information, not harm (GC25 §56)",
                      bands[b]->id, categories[c]->id, categories[c]->name);
          if (g_strv_contains (narrow_harm, categories[c]->id))
            harm = TRUE;
          /* Every blocked category has names to block. */
          if (categories[c]->n_domains == 0)
            fail_msg ("category %s has no names", categories[c]->id);
        }
      if (!harm)
        fail_msg ("band %s blocks none of adult, gambling, malware, phishing", bands[b]->id);
    }

  /* The bands cover 0 to 17, youngest first, and protection never grows
   * with age. */
  for (age = 0, b = 0; b < n_bands; b++)
    {
      assert_int_equal (bands[b]->min_age, age);
      age = bands[b]->max_age + 1;
      if (b > 0)
        {
          assert_true (bands[b]->safe_search <= bands[b - 1]->safe_search);
          assert_true ((bands[b]->categories & ~bands[b - 1]->categories) == 0);
          assert_true (!bands[b]->allowlist || bands[b - 1]->allowlist);
        }
    }
  assert_int_equal (age, 18);

  /* The bypass category (VPNs, proxies) is shipped, optional: a parent
   * adds it for a younger child; no band from 13 blocks it. */
  {
    gboolean found = FALSE;

    for (c = 0; c < n_categories; c++)
      {
        if (strcmp (categories[c]->id, "bypass") != 0)
          continue;
        found = TRUE;
        assert_true (categories[c]->n_domains > 0);
        for (b = 0; b < n_bands; b++)
          if (bands[b]->max_age > 12 && (bands[b]->categories & (1u << categories[c]->bit)))
            fail_msg ("band %s blocks the bypass category: not above 12 (GC25 §56)", bands[b]->id);
      }
    assert_true (found);
  }
}

/* The test itself can fail: a band blocking "news" is caught. */
static void
test_catches_news (void **state)
{
  assert_true (looks_like ("News and current affairs", information));
  assert_true (looks_like ("lgbtq", information));
  assert_true (looks_like ("Religion", information));
  assert_false (looks_like ("Gambling", information));
  assert_false (looks_like ("Phishing and scams", information));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults_are_narrow),
    cmocka_unit_test (test_catches_news),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
