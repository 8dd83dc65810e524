/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-safe-search.c — the shipped safe-search data and its lookup: every
 * level, country domains, names that must be left alone, and malformed
 * data files.
 */
#include "tests/unit/test-common.h"
#include <unistd.h>

#include "policy/safe-search.h"

#define DATA_FILE TRELLIS_SRC_DATADIR "/safe-search"

static int
setup (void **state)
{
  g_autoptr(GError) error = NULL;
  TrellisSafeSearch *ss = trellis_safe_search_load (DATA_FILE, &error);

  if (ss == NULL)
    fail_msg ("%s: %s", DATA_FILE, error->message);
  *state = ss;
  return 0;
}

static int
teardown (void **state)
{
  trellis_safe_search_free (*state);
  return 0;
}

static void
assert_target (TrellisSafeSearch *ss, const char *name, TrellisSafeSearchLevel level,
               const char *want)
{
  const char *got = trellis_safe_search_lookup (ss, name, level);

  if (want == NULL && got != NULL)
    fail_msg ("%s (level %d): expected no rewrite, got %s", name, level, got);
  if (want != NULL && (got == NULL || g_strcmp0 (got, want) != 0))
    fail_msg ("%s (level %d): expected %s, got %s", name, level, want, got ? got : "(none)");
}

static void
test_levels (void **state)
{
  TrellisSafeSearch *ss = *state;

  assert_target (ss, "www.google.com", TRELLIS_SAFE_SEARCH_STRICT, "forcesafesearch.google.com");
  assert_target (ss, "www.google.com", TRELLIS_SAFE_SEARCH_MODERATE, "forcesafesearch.google.com");
  assert_target (ss, "www.google.com", TRELLIS_SAFE_SEARCH_OFF, NULL);

  assert_target (ss, "www.youtube.com", TRELLIS_SAFE_SEARCH_STRICT, "restrict.youtube.com");
  assert_target (ss, "www.youtube.com", TRELLIS_SAFE_SEARCH_MODERATE, "restrictmoderate.youtube.com");
  assert_target (ss, "www.youtube.com", TRELLIS_SAFE_SEARCH_OFF, NULL);
  for (const char *const *n = (const char *const[]) { "m.youtube.com", "youtube.com",
                                                      "youtubei.googleapis.com",
                                                      "youtube.googleapis.com",
                                                      "www.youtube-nocookie.com", NULL };
       *n != NULL; n++)
    {
      assert_target (ss, *n, TRELLIS_SAFE_SEARCH_STRICT, "restrict.youtube.com");
      assert_target (ss, *n, TRELLIS_SAFE_SEARCH_MODERATE, "restrictmoderate.youtube.com");
    }

  assert_target (ss, "www.bing.com", TRELLIS_SAFE_SEARCH_STRICT, "strict.bing.com");
  assert_target (ss, "bing.com", TRELLIS_SAFE_SEARCH_MODERATE, "strict.bing.com");
  assert_target (ss, "duckduckgo.com", TRELLIS_SAFE_SEARCH_STRICT, "safe.duckduckgo.com");
  assert_target (ss, "start.duckduckgo.com", TRELLIS_SAFE_SEARCH_MODERATE, "safe.duckduckgo.com");
  assert_target (ss, "www.duckduckgo.com", TRELLIS_SAFE_SEARCH_STRICT, "safe.duckduckgo.com");
  assert_target (ss, "search.brave.com", TRELLIS_SAFE_SEARCH_STRICT, "forcesafe.search.brave.com");
  assert_target (ss, "search.brave.com", TRELLIS_SAFE_SEARCH_OFF, NULL);

  assert_string_equal (trellis_safe_search_get_provider (ss, "www.google.de"), "google");
  assert_string_equal (trellis_safe_search_get_provider (ss, "m.youtube.com"), "youtube");
  assert_null (trellis_safe_search_get_provider (ss, "mail.google.com"));
}

static void
test_country_domains (void **state)
{
  TrellisSafeSearch *ss = *state;
  static const char *const cc[] = {
    "com", "fr", "de", "co.uk", "com.au", "co.jp", "com.br", "co.in", "ca", "es", "it",
    "nl", "pl", "ru", "com.tr", "com.mx", "co.za", "ad", "ae", "com.af", "co.ao", "cat",
    "com.vn", "co.zw", "ie", "be", "ch", "at", "se", "no", "dk", "fi", "pt", "gr"
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cc); i++)
    {
      g_autofree char *bare = g_strconcat ("google.", cc[i], NULL);
      g_autofree char *www = g_strconcat ("www.google.", cc[i], NULL);

      assert_target (ss, bare, TRELLIS_SAFE_SEARCH_STRICT, "forcesafesearch.google.com");
      assert_target (ss, www, TRELLIS_SAFE_SEARCH_STRICT, "forcesafesearch.google.com");
    }
  /* Not Google's, or not a country domain of Google Search. */
  assert_target (ss, "www.google.example", TRELLIS_SAFE_SEARCH_STRICT, NULL);
  assert_target (ss, "www.google.co", TRELLIS_SAFE_SEARCH_STRICT, NULL);
  assert_target (ss, "notgoogle.com", TRELLIS_SAFE_SEARCH_STRICT, NULL);
  assert_target (ss, "www.google.com.evil.example", TRELLIS_SAFE_SEARCH_STRICT, NULL);
}

static void
test_other_names_untouched (void **state)
{
  TrellisSafeSearch *ss = *state;
  static const char *const names[] = {
    "mail.google.com", "maps.google.com", "docs.google.com", "accounts.google.com",
    "www.www.google.com", "images.google.fr", "music.youtube.com", "studio.youtube.com",
    "i.ytimg.com", "googleapis.com", "www.googleapis.com", "edge.bing.com",
    "links.duckduckgo.com", "brave.com", "www.brave.com", "www.ecosia.org",
    "example.com", "com", "", "www.google.com."
  };

  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      assert_target (ss, names[i], TRELLIS_SAFE_SEARCH_STRICT, NULL);
      assert_target (ss, names[i], TRELLIS_SAFE_SEARCH_MODERATE, NULL);
    }
  assert_null (trellis_safe_search_lookup (NULL, "www.google.com", TRELLIS_SAFE_SEARCH_STRICT));
  assert_null (trellis_safe_search_lookup (ss, NULL, TRELLIS_SAFE_SEARCH_STRICT));
}

static void
test_targets_untouched (void **state)
{
  TrellisSafeSearch *ss = *state;
  static const char *const targets[] = {
    "forcesafesearch.google.com", "restrict.youtube.com", "restrictmoderate.youtube.com",
    "strict.bing.com", "safe.duckduckgo.com", "forcesafe.search.brave.com"
  };

  for (size_t i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      assert_target (ss, targets[i], TRELLIS_SAFE_SEARCH_STRICT, NULL);
      assert_target (ss, targets[i], TRELLIS_SAFE_SEARCH_MODERATE, NULL);
    }
}

/* ---- malformed files ------------------------------------------------------ */

/* Loads @contents from a temporary file; checks it fails with @code and a
 * message containing "FILE:@line:" (when @line > 0) and @needle. */
static void
assert_load_fails (const char *contents, int code, guint line, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) werror = NULL;
  g_autofree char *path = NULL;
  g_autofree char *where = NULL;
  TrellisSafeSearch *ss;
  int fd;

  fd = g_file_open_tmp ("trellis-safe-search-XXXXXX", &path, &werror);
  assert_true (fd >= 0);
  close (fd);
  assert_true (g_file_set_contents (path, contents, -1, &werror));
  ss = trellis_safe_search_load (path, &error);
  g_unlink (path);
  if (ss != NULL)
    {
      trellis_safe_search_free (ss);
      fail_msg ("loaded, expected an error with “%s”:\n%s", needle, contents);
    }
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, code));
  if (line > 0)
    {
      where = g_strdup_printf ("%s:%u: ", path, line);
      if (!g_str_has_prefix (error->message, where))
        fail_msg ("expected “%s” at the start of “%s”", where, error->message);
    }
  if (strstr (error->message, needle) == NULL)
    fail_msg ("expected “%s” in “%s”", needle, error->message);
}

static void
test_malformed (void **state)
{
  g_autoptr(GError) error = NULL;
  const char *ok_head = "[provider x]\nstrict = safe.example\nmoderate = safe.example\n";

  assert_null (trellis_safe_search_load ("/nonexistent/safe-search", &error));
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO));

  assert_load_fails ("this is not a key file\n", TRELLIS_POLICY_ERROR_SYNTAX, 0, "not a key file");
  assert_load_fails ("# nothing\n", TRELLIS_POLICY_ERROR_INVALID, 0, "no [provider ID]");
  assert_load_fails ("[search x]\nstrict = a.b\n", TRELLIS_POLICY_ERROR_INVALID, 1, "unknown group");
  assert_load_fails ("# c\n[provider x]\nmoderate = a.b\ndomains = s.example\n",
                     TRELLIS_POLICY_ERROR_INVALID, 2, "no strict= endpoint");
  assert_load_fails ("[provider x]\nstrict = a.b\ndomains = s.example\n",
                     TRELLIS_POLICY_ERROR_INVALID, 1, "no moderate= endpoint");
  assert_load_fails ("[provider x]\nstrict = Not A Host\nmoderate = a.b\ndomains = s.example\n",
                     TRELLIS_POLICY_ERROR_INVALID, 2, "not a lower-case host name");
  assert_load_fails ("[provider x]\nstrict = a.b\nmoderate = a.b\n",
                     TRELLIS_POLICY_ERROR_INVALID, 1, "lists no host names");
  assert_load_fails ("[provider x]\nstrict = a.b\nmoderate = a.b\n\ndomains = ok.example;WWW.Bad.example\n",
                     TRELLIS_POLICY_ERROR_INVALID, 5, "WWW.Bad.example");
  assert_load_fails ("[provider x]\nstrict = a.b\nmoderate = a.b\ndomains = x.example;*.example\n",
                     TRELLIS_POLICY_ERROR_INVALID, 4, "*.example");
  assert_load_fails ("[provider x]\nstrict = a.b\nmoderate = a.b\nwith-www = x.example;www.x.example\n",
                     TRELLIS_POLICY_ERROR_INVALID, 4, "listed twice");
  {
    g_autofree char *two = g_strconcat (ok_head, "domains = s.example\n[provider y]\n"
                                                 "strict = t.example\nmoderate = t.example\n"
                                                 "domains = s.example\n",
                                        NULL);

    assert_load_fails (two, TRELLIS_POLICY_ERROR_INVALID, 8, "also by provider x");
  }
  {
    g_autofree char *loop = g_strconcat (ok_head, "domains = a.example;safe.example\n", NULL);

    assert_load_fails (loop, TRELLIS_POLICY_ERROR_INVALID, 1, "both a provider's endpoint");
  }
  {
    g_autofree char *unknown = g_strconcat (ok_head, "domains = a.example\nstirct = b.example\n", NULL);

    assert_load_fails (unknown, TRELLIS_POLICY_ERROR_INVALID, 5, "unknown key");
  }
  assert_load_fails ("[provider ]\nstrict = a.b\nmoderate = a.b\ndomains = c.d\n",
                     TRELLIS_POLICY_ERROR_INVALID, 1, "one word");
  /* GKeyFile would keep the later of two lines quietly: refused, with its place. */
  assert_load_fails ("[provider x]\nstrict = a.b\nmoderate = a.b\nstrict = c.d\ndomains = c.e\n",
                     TRELLIS_POLICY_ERROR_SYNTAX, 0,
                     ":4:1: “strict” is set twice in [provider x] (first on line 2): keep one");
  assert_load_fails ("[provider x]\nstrict = a.b\nmoderate = a.b\ndomains = c.e\n[provider x]\n",
                     TRELLIS_POLICY_ERROR_SYNTAX, 0,
                     ":5:1: the section [provider x] appears twice (first on line 1): merge them");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_levels, setup, teardown),
    cmocka_unit_test_setup_teardown (test_country_domains, setup, teardown),
    cmocka_unit_test_setup_teardown (test_other_names_untouched, setup, teardown),
    cmocka_unit_test_setup_teardown (test_targets_untouched, setup, teardown),
    cmocka_unit_test (test_malformed),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
