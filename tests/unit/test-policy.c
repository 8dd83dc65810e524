/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-policy.c — the household file, its errors, and the decisions.
 */
#include "tests/unit/test-common.h"

#include <unistd.h>

#define EXAMPLE TRELLIS_SRC_DATADIR "/example-household.conf"

static TrellisPolicy *
load_example (void)
{
  g_autoptr(GError) error = NULL;
  TrellisPolicy *policy = trellis_policy_load_file (EXAMPLE, TRELLIS_SRC_DATADIR, &error);

  if (policy == NULL)
    fail_msg ("the example household does not load:\n%s", error->message);
  return policy;
}

/* The 1-based line of the example file that starts with @prefix. */
static guint
example_line_of (const char *prefix)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  guint i;

  assert_true (g_file_get_contents (EXAMPLE, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return i + 1;
  fail_msg ("no line starts with %s", prefix);
  return 0;
}

static void
assert_decision (TrellisPolicy *policy,
                 const TrellisChild *child,
                 const char *name,
                 TrellisVerdict verdict,
                 TrellisRuleKind kind,
                 const char *pattern)
{
  TrellisDecision decision = { 0 };

  trellis_policy_decide (policy, child, name, &decision);
  assert_non_null (decision.rule);
  if (decision.verdict != verdict || decision.rule->kind != kind
      || (pattern != NULL && strcmp (decision.rule->pattern, pattern) != 0))
    fail_msg ("%s: verdict %d kind %d pattern \"%s\"; expected %d %d \"%s\"",
              name, decision.verdict, decision.rule->kind, decision.rule->pattern,
              verdict, kind, pattern != NULL ? pattern : "");
}

/* ------------------------------------------------------------------------ */

static void
test_example_household (void **state)
{
  g_autoptr(TrellisPolicy) policy = load_example ();
  const TrellisChild *const *children;
  const char *const *parents;
  const char *const *accounts;
  const TrellisChild *sam;
  guint n = 0;

  parents = trellis_policy_get_parents (policy);
  assert_non_null (parents);
  assert_string_equal (parents[0], "trellis-parent");
  assert_null (parents[1]);
  assert_false (trellis_policy_get_on_failure_open (policy));

  children = trellis_policy_get_children (policy, &n);
  assert_int_equal (n, 1);
  assert_string_equal (trellis_child_get_name (children[0]), "sam");

  sam = trellis_policy_find_child_by_account (policy, "trellis-child");
  assert_ptr_equal (sam, children[0]);
  assert_ptr_equal (trellis_policy_find_child (policy, "sam"), sam);
  assert_null (trellis_policy_find_child (policy, "trellis-child"));
  assert_null (trellis_policy_find_child_by_account (policy, "trellis-parent"));
  assert_null (trellis_policy_find_child_by_account (policy, "sam"));
  assert_null (trellis_policy_find_child_by_account (policy, "root"));

  accounts = trellis_child_get_accounts (sam);
  assert_string_equal (accounts[0], "trellis-child");
  assert_null (accounts[1]);

  /* What trellis policy check prints, through the public getters. */
  assert_null (trellis_child_get_birth (sam));             /* age = 10 */
  assert_null (trellis_policy_get_timezone_name (policy)); /* the system's zone */
  assert_true (trellis_policy_has_safe_search (policy));
}

/* The getters of a household that sets what the example leaves out. */
static void
test_getters (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\nparents = mum\ntimezone = Europe/Paris\n"
                                                               "[child ana]\nbirth = 2016-05\naccounts = ana\n");
  const TrellisChild *ana = trellis_policy_find_child (policy, "ana");

  assert_non_null (ana);
  assert_string_equal (trellis_child_get_birth (ana), "2016-05");
  assert_string_equal (trellis_policy_get_timezone_name (policy), "Europe/Paris");
  assert_string_equal (trellis_safe_search_level_to_string (TRELLIS_SAFE_SEARCH_STRICT), "strict");
  assert_string_equal (trellis_safe_search_level_to_string (TRELLIS_SAFE_SEARCH_MODERATE), "moderate");
  assert_string_equal (trellis_safe_search_level_to_string (TRELLIS_SAFE_SEARCH_OFF), "off");
}

/* Each kind has one name, read back as the same kind; anything else is
 * no kind (the session agent must not take "Quiet-Hours" for quiet hours). */
static void
test_rule_kind_names (void **state)
{
  static const struct {
    TrellisRuleKind kind;
    const char *name;
  } kinds[] = {
    { TRELLIS_RULE_KIND_DEFAULT, "default" },
    { TRELLIS_RULE_KIND_HELPLINE, "helpline" },
    { TRELLIS_RULE_KIND_ALLOW, "allow" },
    { TRELLIS_RULE_KIND_DENY, "deny" },
    { TRELLIS_RULE_KIND_INTEGRITY, "integrity" },
    { TRELLIS_RULE_KIND_QUIET_HOURS, "quiet-hours" },
    { TRELLIS_RULE_KIND_INFORMATION, "information" },
    { TRELLIS_RULE_KIND_CATEGORY, "category" },
    { TRELLIS_RULE_KIND_ALLOWLIST, "allowlist" },
    { TRELLIS_RULE_KIND_SAFE_SEARCH, "safe-search" },
  };
  static const char *const not_kinds[] = {
    "", "Quiet-Hours", "quiet-hours ", "quiet_hours", "quiet", "deny\n", "defaults", NULL
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      TrellisRuleKind kind = (TrellisRuleKind) 99;

      assert_string_equal (trellis_rule_kind_to_string (kinds[i].kind), kinds[i].name);
      assert_true (trellis_rule_kind_from_string (kinds[i].name, &kind));
      assert_int_equal (kind, kinds[i].kind);
    }
  assert_string_equal (trellis_rule_kind_to_string ((TrellisRuleKind) 99), "default");
  for (i = 0; not_kinds[i] != NULL; i++)
    {
      TrellisRuleKind kind = TRELLIS_RULE_KIND_DENY;

      if (trellis_rule_kind_from_string (not_kinds[i], &kind))
        fail_msg ("“%s” was read as a rule kind", not_kinds[i]);
      assert_int_equal (kind, TRELLIS_RULE_KIND_DENY); /* untouched */
    }
  assert_false (trellis_rule_kind_from_string (NULL, NULL));
}

static void
test_decide_names (void **state)
{
  g_autoptr(TrellisPolicy) policy = load_example ();
  const TrellisChild *sam = trellis_policy_find_child (policy, "sam");
  TrellisDecision decision = { 0 };
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;

  assert_non_null (sam);
  assert_decision (policy, sam, "example-game.com", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "example-game.com");
  assert_decision (policy, sam, "www.example-game.com", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "example-game.com");
  assert_decision (policy, sam, "a.b.c.example-game.com", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "example-game.com");
  assert_decision (policy, sam, "WWW.Example-Game.COM", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "example-game.com");
  assert_decision (policy, sam, "example-game.com.", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "example-game.com");
  assert_decision (policy, sam, "casino.example", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "casino.example");
  /* Only whole labels match. */
  assert_decision (policy, sam, "notexample-game.com", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  assert_decision (policy, sam, "example-game.com.evil.org", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  assert_decision (policy, sam, "game.com", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  assert_decision (policy, sam, "com", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  /* An escaped dot inside a label is not a label boundary. */
  assert_decision (policy, sam, "a\\.example-game.com", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  assert_decision (policy, sam, "x\\046y.example-game.com", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "example-game.com");
  /* Nonsense is decided by the default. */
  assert_decision (policy, sam, "", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  assert_decision (policy, sam, ".", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  assert_decision (policy, sam, NULL, TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
  assert_decision (policy, sam, "scratch.mit.edu", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_ALLOW, "scratch.mit.edu");
  assert_decision (policy, sam, "mit.edu", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);

  /* The rule knows where it was written. */
  trellis_policy_decide (policy, sam, "www.example-game.com", &decision);
  assert_string_equal (decision.rule->child, "sam");
  assert_string_equal (decision.rule->file, EXAMPLE);
  assert_int_equal (decision.rule->line, example_line_of ("deny"));
  assert_ptr_equal (trellis_policy_get_rule (policy, decision.rule->id), decision.rule);
  expected = g_strdup_printf ("deny example-game.com (example-household.conf:%u)", example_line_of ("deny"));
  text = trellis_rule_format_short (decision.rule);
  assert_string_equal (text, expected);
  g_clear_pointer (&text, g_free);

  text = trellis_rule_explain (decision.rule);
  assert_non_null (strstr (text, "Your parents have blocked example-game.com."));
  g_clear_pointer (&text, g_free);

  /* Rule 0 is the default. */
  assert_int_equal (trellis_policy_get_rule (policy, 0)->kind, TRELLIS_RULE_KIND_DEFAULT);
  text = trellis_rule_format_short (trellis_policy_get_rule (policy, 0));
  assert_string_equal (text, "default");
  assert_null (trellis_policy_get_rule (policy, 100000));
}

/* Many names at once decide as each alone: every kind of rule, in chunks
 * (more than 64 names), for children of different bands and none, at a
 * moment in quiet hours and one out of them, with @now in the household's
 * zone (used as it is) and in UTC (converted). */
static void
test_decide_many (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\n"
                                                               "parents = mum\n"
                                                               "timezone = Europe/Paris\n"
                                                               "[child sam]\n"
                                                               "age = 10\n"
                                                               "accounts = sam\n"
                                                               "deny = example-game.com; childline.org.uk\n"
                                                               "allow = scratch.mit.edu; 1xbet.com\n"
                                                               "quiet-hours = Mon-Sun 21:00-07:00\n"
                                                               "[child alex]\n"
                                                               "age = 4\n"
                                                               "accounts = alex\n"
                                                               "[child robin]\n"
                                                               "age = 15\n"
                                                               "accounts = robin\n"
                                                               "safe-search = moderate\n");
  static const char *const base[] = {
    "example-game.com",
    "www.example-game.com",
    "WWW.Example-Game.COM.",
    "notexample-game.com",
    "childline.org.uk",
    "help.childline.org.uk",
    "samaritans.org",
    "scratch.mit.edu",
    "mit.edu",
    "1xbet.com",
    "www.1xbet.com",
    "22bet.com",
    "m.22bet.com",
    "888casino.com",
    "use-application-dns.net",
    "mask.icloud.com",
    "www.google.com",
    "google.com",
    "www.google.fr",
    "forcesafesearch.google.com",
    "www.youtube.com",
    "en.wikipedia.org",
    "a\\.example-game.com",
    "x\\046y.example-game.com",
    "b\\195\\188cher.de",
    "bücher.de",
    "",
    ".",
    "com",
    "a.b.c.d.e.f.g.h.example.org",
  };
  const TrellisChild *kids[4];
  const char *names[200];
  const TrellisChild *children[200];
  TrellisDecision many[200];
  GDateTime *moments[2];
  guint n = 0;

  kids[0] = trellis_policy_find_child (policy, "sam");
  kids[1] = trellis_policy_find_child (policy, "alex");
  kids[2] = trellis_policy_find_child (policy, "robin");
  kids[3] = NULL;
  assert_non_null (kids[0]);
  assert_non_null (kids[1]);
  assert_non_null (kids[2]);
  for (guint k = 0; n + 1 < G_N_ELEMENTS (names); k++)
    {
      names[n] = base[k % G_N_ELEMENTS (base)];
      children[n] = kids[(k / G_N_ELEMENTS (base) + k) % 4];
      n++;
    }
  names[n] = NULL; /* a NULL name too */
  children[n++] = kids[0];

  /* 22:30 in Paris (quiet for sam), and 12:00. */
  moments[0] = g_date_time_new_utc (2026, 3, 2, 21, 30, 0);
  moments[1] = g_date_time_new_utc (2026, 3, 2, 11, 0, 0);
  for (guint m = 0; m < 2; m++)
    for (guint zone = 0; zone < 2; zone++)
      {
        g_autoptr(GDateTime) now = zone == 0
                                      ? g_date_time_ref (moments[m])
                                      : g_date_time_to_timezone (moments[m], trellis_policy_get_timezone (policy));
        guint blocked = 0;

        memset (many, 0, sizeof many);
        trellis_policy_decide_many (policy, children, names, n, now, many);
        for (guint i = 0; i < n; i++)
          {
            TrellisDecision one = { 0 };

            trellis_policy_decide_at (policy, children[i], names[i], now, &one);
            if (one.verdict != many[i].verdict || one.rule != many[i].rule
                || g_strcmp0 (one.target, many[i].target) != 0)
              fail_msg ("%s for %s (moment %u): one at a time %d rule %u, many %d rule %u",
                        names[i] != NULL ? names[i] : "(null)",
                        children[i] != NULL ? trellis_child_get_name (children[i]) : "nobody", m,
                        one.verdict, one.rule->id, many[i].verdict, many[i].rule->id);
            blocked += one.verdict == TRELLIS_VERDICT_BLOCK;
          }
        /* It decided something: blocks, and allows, each time. */
        assert_true (blocked > 10 && blocked < n - 10);
      }
  /* None at all is fine. */
  trellis_policy_decide_many (policy, children, names, 0, moments[0], many);
  g_date_time_unref (moments[0]);
  g_date_time_unref (moments[1]);
}

static void
test_helpline_beats_deny (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\n"
                                                               "parents = mum\n"
                                                               "[child kid]\n"
                                                               "age = 9\n"
                                                               "accounts = kid\n"
                                                               "deny = childline.org.uk; www.kidshelpphone.ca\n"
                                                               "allow = 988lifeline.org\n");
  const TrellisChild *kid = trellis_policy_find_child_by_account (policy, "kid");
  TrellisDecision decision = { 0 };
  g_autofree char *text = NULL;

  assert_non_null (kid);
  assert_decision (policy, kid, "childline.org.uk", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_HELPLINE, "childline.org.uk");
  assert_decision (policy, kid, "www.childline.org.uk", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_HELPLINE, "childline.org.uk");
  /* Even a deny more specific than the helpline does not win. */
  assert_decision (policy, kid, "www.kidshelpphone.ca", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_HELPLINE, "kidshelpphone.ca");
  assert_decision (policy, kid, "988lifeline.org", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_HELPLINE, "988lifeline.org");
  assert_decision (policy, kid, "nummergegenkummer.de", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_HELPLINE, "nummergegenkummer.de");

  trellis_policy_decide (policy, kid, "childline.org.uk", &decision);
  assert_null (decision.rule->file);
  assert_int_equal (decision.rule->line, 0);
  text = trellis_rule_format_short (decision.rule);
  assert_string_equal (text, "helpline childline.org.uk");
  g_clear_pointer (&text, g_free);
  text = trellis_rule_explain (decision.rule);
  assert_string_equal (text, "childline.org.uk is a helpline. It is never blocked, and nobody is told that you visited it.");
}

/* Younger children get short, concrete words; teenagers the reason and
 * the right to ask (GC25 §59). */
static void
test_explanations_by_age (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\n"
                                                               "parents = mum\n"
                                                               "timezone = UTC\n"
                                                               "[child kid]\n"
                                                               "age = 8\n"
                                                               "accounts = kid\n"
                                                               "deny = example-game.com\n"
                                                               "quiet-hours = Mon-Sun 00:00-23:59\n"
                                                               "[child teen]\n"
                                                               "age = 14\n"
                                                               "accounts = teen\n"
                                                               "deny = example-game.com\n"
                                                               "quiet-hours = Mon-Sun 00:00-23:59\n");
  const TrellisChild *kid = trellis_policy_find_child (policy, "kid");
  const TrellisChild *teen = trellis_policy_find_child (policy, "teen");
  g_autoptr(GDateTime) noon = g_date_time_new_utc (2026, 11, 26, 12, 0, 0);
  TrellisDecision decision = { 0 };
  g_autofree char *young = NULL;
  g_autofree char *older = NULL;
  g_autofree char *quiet_young = NULL;
  g_autofree char *quiet_older = NULL;

  trellis_policy_decide_at (policy, kid, "example-game.com", noon, &decision);
  assert_int_equal (decision.rule->kind, TRELLIS_RULE_KIND_DENY);
  young = trellis_rule_explain_for (policy, decision.rule, kid, noon);
  trellis_policy_decide_at (policy, teen, "example-game.com", noon, &decision);
  older = trellis_rule_explain_for (policy, decision.rule, teen, noon);
  assert_string_equal (young, "Your parents have blocked example-game.com. If you think this is a mistake, you can ask them to look at it again.");
  assert_non_null (strstr (older, "right to know why"));
  assert_non_null (strstr (older, "trellis ask example-game.com"));

  trellis_policy_decide_at (policy, kid, "news.example", noon, &decision);
  assert_int_equal (decision.rule->kind, TRELLIS_RULE_KIND_QUIET_HOURS);
  quiet_young = trellis_rule_explain_for (policy, decision.rule, kid, noon);
  trellis_policy_decide_at (policy, teen, "news.example", noon, &decision);
  quiet_older = trellis_rule_explain_for (policy, decision.rule, teen, noon);
  assert_string_equal (quiet_young, "It is quiet time until 23:59. Helplines still work.");
  assert_non_null (strstr (quiet_older, "until 23:59: your family set these hours for rest"));
}

static void
test_integrity (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("[household]\n"
                                                               "parents = mum\n"
                                                               "[child kid]\n"
                                                               "age = 9\n"
                                                               "accounts = kid\n"
                                                               "allow = icloud.com\n");
  const TrellisChild *kid = trellis_policy_find_child_by_account (policy, "kid");
  TrellisDecision decision = { 0 };
  g_autofree char *text = NULL;

  assert_decision (policy, kid, "use-application-dns.net", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_INTEGRITY, "use-application-dns.net");
  assert_decision (policy, kid, "USE-APPLICATION-DNS.NET.", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_INTEGRITY, "use-application-dns.net");
  assert_decision (policy, kid, "mask.icloud.com", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_INTEGRITY, "mask.icloud.com");
  assert_decision (policy, kid, "mask-h2.icloud.com", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_INTEGRITY, "mask-h2.icloud.com");
  assert_decision (policy, kid, "_dns.resolver.arpa", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_INTEGRITY, "resolver.arpa");
  /* allow = icloud.com does not open Private Relay: the more specific rule wins. */
  assert_decision (policy, kid, "www.icloud.com", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_ALLOW, "icloud.com");
  /* DDR (RFC 9462): the whole special-use name, not only _dns. */
  assert_decision (policy, kid, "resolver.arpa", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_INTEGRITY, "resolver.arpa");
  /* Integrity rules hold for every child, and without a child. */
  assert_decision (policy, NULL, "use-application-dns.net", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_INTEGRITY, NULL);

  trellis_policy_decide (policy, kid, "mask.icloud.com", &decision);
  assert_null (decision.rule->file);
  assert_int_equal (decision.rule->line, 0);
  text = trellis_rule_format_short (decision.rule);
  assert_string_equal (text, "integrity mask.icloud.com");
  g_clear_pointer (&text, g_free);
  text = trellis_rule_explain (decision.rule);
  assert_non_null (strstr (text, "go around the filter"));
}

static void
test_household_keys (void **state)
{
  g_autoptr(TrellisPolicy) policy = trellis_test_load_policy ("# a comment\n"
                                                               "[household]\n"
                                                               "parents = mum;dad   # the parents\n"
                                                               "timezone = Europe/Paris   # schedules\n"
                                                               "default-profile = guest\n"
                                                               "on-failure = open # while trellisd is down\n"
                                                               "log-retention-days = 7\n"
                                                               "\n"
                                                               "[child alice]\n"
                                                               "age = 9                 # or birth\n"
                                                               "accounts = alice;alice2\n"
                                                               "devices = aa:bb:cc:dd:ee:01; 192.168.1.20; 10.0.0.0/8\n"
                                                               "block = +gambling; -phishing\n"
                                                               "allow = scratch.mit.edu\n"
                                                               "deny = Example.COM.; bücher.de\n"
                                                               "quiet-hours = Mon-Fri 20:30-07:00; Sat,Sun 21:30-08:00   # overnight\n"
                                                               "safe-search = strict\n"
                                                               "mode = blocklist\n"
                                                               "[child guest]\n"
                                                               "age = 12\n"
                                                               "devices = 172.16.0.0/16\n");
  const char *const *parents = trellis_policy_get_parents (policy);
  const TrellisChild *alice = trellis_policy_find_child_by_account (policy, "alice2");

  assert_string_equal (parents[0], "mum");
  assert_string_equal (parents[1], "dad");
  assert_null (parents[2]);
  assert_true (trellis_policy_get_on_failure_open (policy));
  assert_non_null (alice);
  assert_string_equal (trellis_child_get_name (alice), "alice");
  assert_decision (policy, alice, "www.example.com", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "example.com");
  assert_decision (policy, alice, "xn--bcher-kva.de", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "xn--bcher-kva.de");
  assert_decision (policy, alice, "www.bücher.de", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY, "xn--bcher-kva.de");
  /* Rules are the child's own. */
  assert_decision (policy, trellis_policy_find_child (policy, "guest"), "example.com",
                   TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, NULL);
}

static void
test_domain_normalize (void **state)
{
  g_autofree char *long_label = g_strnfill (64, 'a');
  g_autofree char *ok_label = g_strnfill (63, 'a');
  g_autofree char *with_long_label = g_strconcat (long_label, ".com", NULL);
  g_autofree char *with_ok_label = g_strconcat (ok_label, ".com", NULL);
  g_autofree char *long_name = g_strjoin (".", ok_label, ok_label, ok_label, ok_label, NULL); /* 255 */
  struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "example.com", "example.com" },
    { "Example.COM.", "example.com" },
    { "_dns.resolver.arpa", "_dns.resolver.arpa" },
    { "bücher.de", "xn--bcher-kva.de" },
    { "BÜCHER.de.", "xn--bcher-kva.de" },
    { "*.example.com", NULL },
    { ".example.com", NULL },
    { "a..b", NULL },
    { "example.com..", NULL },
    { "exa mple.com", NULL },
    { "exa/mple.com", NULL },
    { "", NULL },
    { ".", NULL },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = trellis_domain_normalize (cases[i].in);

      if (g_strcmp0 (out, cases[i].out) != 0)
        fail_msg ("normalize(\"%s\") = \"%s\", expected \"%s\"", cases[i].in,
                  out != NULL ? out : "(null)", cases[i].out != NULL ? cases[i].out : "(null)");
    }
  assert_null (trellis_domain_normalize (NULL));
  assert_null (trellis_domain_normalize (with_long_label));
  {
    g_autofree char *out = trellis_domain_normalize (with_ok_label);

    assert_string_equal (out, with_ok_label);
  }
  assert_null (trellis_domain_normalize (long_name));
}

/* ------------------------------------------------------------------------ */
/* Malformed files: every error, with its place. */

typedef struct {
  const char *what;
  const char *text;
  TrellisPolicyError code;
  const char *expected[4]; /* each must be a line of the message; nothing else may be */
} Malformed;

static const Malformed malformed[] = {
  { "unknown key with a suggestion",
    "[household]\nparents = mum\nparent = dad\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:1: unknown key “parent” in [household]; did you mean “parents”?" } },
  { "unknown key in a child, with a suggestion",
    "[household]\nparents = mum\n[child sam]\naccounts = sam\n  denny = x.com\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:5:3: unknown key “denny” in [child sam]; did you mean “deny”?" } },
  { "unknown key, nothing close",
    "[household]\nparents = mum\ncolour = blue\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:1: unknown key “colour” in [household]" } },
  { "unknown group",
    "[household]\nparents = mum\n[settings]\nfoo = bar\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:1: unknown section [settings]; the sections are [household], [child NAME], [group NAME] and [source ID]" } },
  { "misspelt group",
    "[houshold]\nparents = mum\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:1:1: the file has no [household] section; it needs one with parents = the parents' accounts",
      "household.conf:1:1: unknown section [houshold]; did you mean [household]?" } },
  { "bad on-failure",
    "[household]\nparents = mum\non-failure = sometimes   # hmm\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:14: on-failure must be “closed” or “open”, not “sometimes”" } },
  { "age 18 refused",
    "[household]\nparents = mum\n[child big]\nage = 18\naccounts = big\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:4:7: age 18: Trellis does not filter adults: remove this section, or give a child's age (0 to 17)" } },
  { "bad domain",
    "[household]\nparents = mum\n[child sam]\naccounts = sam\ndeny = ok.com;exa_mple..com\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:5:15: “exa_mple..com” is not a domain name: it has two dots in a row or starts with a dot" } },
  { "wildcard",
    "[household]\nparents = mum\n[child sam]\naccounts = sam\ndeny = *.example.com\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:5:8: “*.example.com”: write example.com: a rule covers every name below it" } },
  { "duplicate account across children",
    "[household]\nparents = mum\n[child a]\naccounts = kid\n[child b]\nage = 9\naccounts = other; kid\n"
    "[child a2]\nage = 9\naccounts = a2\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:1: [child a] needs age = (0 to 17) or birth = (like 2016-05): the age chooses what is filtered",
      "household.conf:7:19: the account “kid” is already listed for [child a] on line 4; an account belongs to one child" } },
  { "parent as a child's account",
    "[household]\nparents = mum;dad\n[child sam]\naccounts = sam;dad\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:4:16: the account “dad” is a parent (parents = on line 2), so it cannot be a child's account" } },
  { "missing parents",
    "[household]\non-failure = closed\n[child sam]\naccounts = sam\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:1:1: [household] needs parents = the accounts of the parents (they are never filtered)" } },
  { "not a key file at all",
    "<html><body>hello</body></html>\n",
    TRELLIS_POLICY_ERROR_SYNTAX,
    { "household.conf:1:1: this line is not a [section], a key = value or a # comment" } },
  { "child without accounts",
    "[household]\nparents = mum\n[child sam]\nage = 7\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:1: [child sam] has no accounts = (nor devices =): list the child's Linux accounts" } },
  { "two errors in one file",
    "[household]\nparents = mum\non-failure = ajar\n[child sam]\naccounts = sam\nage = 21\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:14: on-failure must be “closed” or “open”, not “ajar”",
      "household.conf:6:7: age 21: Trellis does not filter adults: remove this section, or give a child's age (0 to 17)" } },
  { "key twice",
    "[household]\nparents = mum\nparents = dad\n",
    TRELLIS_POLICY_ERROR_SYNTAX,
    { "household.conf:3:1: “parents” is set twice in [household] (first on line 2): keep one" } },
  { "key before any section",
    "parents = mum\n[household]\nparents = mum\n",
    TRELLIS_POLICY_ERROR_SYNTAX,
    { "household.conf:1:1: this key comes before any section: start the file with [household]" } },
  { "household key in a child",
    "[household]\nparents = mum\n[child sam]\naccounts = sam\non-failure = open\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:5:1: “on-failure” belongs in [household], not in [child sam]" } },
  { "list separated by commas",
    "[household]\nparents = mum\n[child sam]\naccounts = sam\ndeny = a.com, b.com\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:5:8: “a.com, b.com” is not a domain name: separate domains with “;”" } },
  { "bad values of keys not enforced yet",
    "[household]\nparents = mum\nlog-retention-days = forever\n[child sam]\naccounts = sam\nsafe-search = on\n"
    "mode = whitelist\nquiet-hours = Mon-Fri 20:30-07:00; bedtime\nage = 9\n",
    TRELLIS_POLICY_ERROR_INVALID,
    { "household.conf:3:22: log-retention-days must be a number of days from 0 to 365, not “forever”",
      "household.conf:6:15: safe-search must be “strict”, “moderate” or “off”, not “on”",
      "household.conf:7:8: mode must be “blocklist” or “allowlist”, not “whitelist”",
      "household.conf:8:36: “bedtime”: write days and hours like Mon-Fri 20:30-07:00" } },
};

static void
test_malformed (void **state)
{
  guint i, j;

  for (i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      const Malformed *m = &malformed[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(TrellisPolicy) policy = NULL;
      g_auto(GStrv) lines = NULL;
      guint n_expected = 0;

      policy = trellis_policy_load_data (m->text, strlen (m->text), "household.conf",
                                         TRELLIS_SRC_DATADIR, &error);
      if (policy != NULL)
        fail_msg ("%s: the file was accepted", m->what);
      assert_non_null (error);
      if (!g_error_matches (error, TRELLIS_POLICY_ERROR, m->code))
        fail_msg ("%s: error code %d, expected %d: %s", m->what, error->code, m->code, error->message);

      lines = g_strsplit (error->message, "\n", -1);
      for (j = 0; j < G_N_ELEMENTS (m->expected) && m->expected[j] != NULL; j++)
        {
          n_expected++;
          if (!g_strv_contains ((const char *const *) lines, m->expected[j]))
            fail_msg ("%s: expected the line\n  %s\nin\n%s", m->what, m->expected[j], error->message);
        }
      if (g_strv_length (lines) != n_expected)
        fail_msg ("%s: expected %u errors, got:\n%s", m->what, n_expected, error->message);
    }
}

static void
test_files (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autofree char *dir = g_dir_make_tmp ("trellis-policy-XXXXXX", NULL);
  g_autofree char *path = NULL;

  assert_non_null (dir);

  /* A missing file is an I/O error. */
  path = g_build_filename (dir, "missing.conf", NULL);
  policy = trellis_policy_load_file (path, TRELLIS_SRC_DATADIR, &error);
  assert_null (policy);
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO));
  assert_non_null (strstr (error->message, path));
  g_clear_error (&error);

  /* Without the helplines nothing loads: they must never be missing. */
  policy = trellis_policy_load_file (EXAMPLE, dir, &error);
  assert_null (policy);
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO));
  assert_non_null (strstr (error->message, "cannot read the helplines"));
  g_clear_error (&error);

  /* A broken helplines file is reported with its own name and line. */
  g_free (path);
  path = g_build_filename (dir, "helplines", NULL);
  assert_true (g_file_set_contents (path, "# test\nchildline.org.uk | GB | Childline | 0800 1111\n*.bad.org | GB | Bad\n", -1, NULL));
  policy = trellis_policy_load_file (EXAMPLE, dir, &error);
  assert_null (policy);
  {
    g_autofree char *expected = g_strdup_printf ("%s:3:1: “*.bad.org”: write bad.org: a rule covers every name below it", path);

    assert_non_null (strstr (error->message, expected));
  }
  g_clear_error (&error);

  assert_int_equal (g_unlink (path), 0);
  assert_int_equal (g_rmdir (dir), 0);
}

/* A shipped key file is held to the household file's rule: a key written
 * twice (GKeyFile would quietly keep the last) is an error with its place. */
static void
test_data_key_twice (void **state)
{
  static const char *const linked[] = { "helplines", "categories", "allowlist", "safe-search", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autofree char *dir = g_dir_make_tmp ("trellis-policy-XXXXXX", NULL);
  g_autofree char *bands = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *twice = NULL;
  g_autofree char *expected = NULL;
  g_auto(GStrv) lines = NULL;
  guint i, n_lines, last_mode = 0;

  assert_non_null (dir);
  for (i = 0; linked[i] != NULL; i++)
    {
      g_autofree char *from = g_build_filename (TRELLIS_SRC_DATADIR, linked[i], NULL);
      g_autofree char *to = g_build_filename (dir, linked[i], NULL);

      assert_int_equal (symlink (from, to), 0);
    }
  bands = g_build_filename (dir, "age-bands", NULL);
  {
    g_autofree char *from = g_build_filename (TRELLIS_SRC_DATADIR, "age-bands", NULL);

    assert_true (g_file_get_contents (from, &contents, NULL, NULL));
  }
  assert_true (g_str_has_suffix (contents, "\n"));
  lines = g_strsplit (contents, "\n", -1);
  n_lines = g_strv_length (lines) - 1;
  for (i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "mode"))
      last_mode = i + 1;
  assert_true (last_mode > 0);

  /* The last band says its mode again: the later line would win. */
  twice = g_strconcat (contents, "mode = allowlist\n", NULL);
  assert_true (g_file_set_contents (bands, twice, -1, NULL));
  policy = trellis_policy_load_file (EXAMPLE, dir, &error);
  assert_null (policy);
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO));
  expected = g_strdup_printf ("%s:%u:1: “mode” is set twice in [band 16-17] (first on line %u): keep one",
                              bands, n_lines + 1, last_mode);
  if (strstr (error->message, expected) == NULL)
    fail_msg ("expected “%s” in:\n%s", expected, error->message);
  g_clear_error (&error);

  /* Without the second line it loads. */
  assert_true (g_file_set_contents (bands, contents, -1, NULL));
  policy = trellis_policy_load_file (EXAMPLE, dir, &error);
  if (policy == NULL)
    fail_msg ("%s", error->message);

  assert_int_equal (g_unlink (bands), 0);
  for (i = 0; linked[i] != NULL; i++)
    {
      g_autofree char *to = g_build_filename (dir, linked[i], NULL);

      assert_int_equal (g_unlink (to), 0);
    }
  assert_int_equal (g_rmdir (dir), 0);
}

static void
write_file (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
link_file (const char *dir,
           const char *name,
           const char *from_dir)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (dir, name, NULL);

  assert_int_equal (symlink (from, to), 0);
}

/* The published lists: shipped per category, added and removed by the
 * household. */
static void
test_list_sources (void **state)
{
  g_autoptr(TrellisPolicy) policy =
               trellis_test_load_policy ("[household]\nparents = mum\nremove-sources = blp-gambling\n"
                                         "[child sam]\nage = 10\naccounts = sam\n"
                                         "[source family-list]\ncategory = gambling\n"
                                         "url = https://lists.example.net/g.tar.gz  # ours\nformat = ut1\n"
                                         "licence = CC0-1.0\n");
  const TrellisListSource *const *sources;
  const TrellisListSource *ut1 = NULL, *blp = NULL, *family = NULL;
  TrellisListFormat format = TRELLIS_LIST_FORMAT_PLAIN;
  guint n = 0;

  sources = trellis_policy_get_list_sources (policy, &n);
  for (guint i = 0; i < n; i++)
    {
      if (strcmp (sources[i]->id, "ut1-gambling") == 0)
        ut1 = sources[i];
      else if (strcmp (sources[i]->id, "blp-gambling") == 0)
        blp = sources[i];
      else if (strcmp (sources[i]->id, "family-list") == 0)
        family = sources[i];
      assert_true (g_str_has_prefix (sources[i]->url, "https://"));
    }
  assert_non_null (ut1);
  assert_non_null (blp);
  assert_non_null (family);
  assert_ptr_equal (sources[n - 1], family); /* the household's come last */

  assert_string_equal (ut1->category, "gambling");
  assert_int_equal (ut1->format, TRELLIS_LIST_FORMAT_UT1);
  assert_string_equal (ut1->member, "gambling/domains");
  assert_string_equal (ut1->licence, "CC-BY-SA-4.0");
  assert_string_equal (ut1->checksum_type, "md5");
  assert_false (ut1->household);
  assert_false (ut1->removed);
  assert_true (blp->removed);
  assert_true (family->household);
  assert_string_equal (family->url, "https://lists.example.net/g.tar.gz");
  assert_string_equal (family->member, "g/domains");
  assert_string_equal (family->file, "household.conf");
  assert_int_equal (family->line, 7);

  assert_true (trellis_list_format_from_string ("adblock", &format));
  assert_int_equal (format, TRELLIS_LIST_FORMAT_ADBLOCK);
  assert_false (trellis_list_format_from_string ("Adblock", &format));
  assert_int_equal (format, TRELLIS_LIST_FORMAT_ADBLOCK);
  assert_string_equal (trellis_list_format_to_string (TRELLIS_LIST_FORMAT_HOSTS), "hosts");
}

/* GC25 §56: a category list cannot block a name on the information list or
 * below one of its names; a parent's deny= still does, and allow-list mode
 * still decides by its list.  The count of overridden entries is exact. */
static void
test_information_list (void **state)
{
  static const char *const linked[] = { "helplines", "allowlist", "safe-search", "age-bands", NULL };
  static const char *const categories[] = { "gambling", "malware", "phishing", NULL };
  g_autofree char *dir = g_dir_make_tmp ("trellis-information-XXXXXX", NULL);
  g_autofree char *cats = g_build_filename (dir, "categories", NULL);
  g_autofree char *adult = g_build_filename (cats, "adult", NULL);
  g_autofree char *info = g_build_filename (dir, "information", NULL);
  g_autofree char *shipped_cats = g_build_filename (TRELLIS_SRC_DATADIR, "categories", NULL);
  g_autofree char *shipped_adult = g_build_filename (shipped_cats, "adult", NULL);
  g_autofree char *info_file = NULL;
  g_autofree char *text = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autoptr(TrellisPolicy) strict = NULL;
  g_autoptr(TrellisPolicy) broken = NULL;
  g_autoptr(GError) error = NULL;
  const TrellisChild *sam;
  TrellisDecision decision;
  guint n_names = 0, n_overridden = 0;
  guint i;

  assert_non_null (dir);
  for (i = 0; linked[i] != NULL; i++)
    link_file (dir, linked[i], TRELLIS_SRC_DATADIR);
  assert_int_equal (g_mkdir (cats, 0755), 0);
  for (i = 0; categories[i] != NULL; i++)
    link_file (cats, categories[i], shipped_cats);
  assert_int_equal (g_mkdir (adult, 0755), 0);
  link_file (adult, "category.desktop", shipped_adult);
  write_file (adult, "domains",
              "porn.example\n"
              "sexed.example\n"      /* on the information list */
              "cdn.sexed.example\n"  /* below a name of it */
              "liberation.example\n" /* above one of its names */
              "other.example\n");
  assert_int_equal (g_mkdir (info, 0755), 0);
  write_file (info, "test-list", "# a test's information list\nsexed.example\nblogs.sex.liberation.example\n");
  write_file (info, "README.md", "not-a-name because markdown is not read\n");
  info_file = g_build_filename (info, "test-list", NULL);

  text = g_strdup_printf ("[household]\nparents = mum\n[child sam]\nage = 10\naccounts = sam\n"
                          "deny = deny-me.sexed.example\n"
                          "[child kim]\nage = 4\naccounts = kim\n");
  policy = trellis_policy_load_data (text, -1, "household.conf", dir, &error);
  if (policy == NULL)
    fail_msg ("%s", error->message);
  sam = trellis_policy_find_child (policy, "sam");

  assert_true (trellis_policy_get_information (policy, &n_names, &n_overridden));
  assert_int_equal (n_names, 2);
  /* sexed.example, cdn.sexed.example, and the information name below
   * liberation.example. */
  assert_int_equal (n_overridden, 3);

  assert_decision (policy, sam, "porn.example", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_CATEGORY, NULL);
  assert_decision (policy, sam, "sexed.example", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_INFORMATION,
                   "sexed.example");
  assert_decision (policy, sam, "WWW.Sexed.Example.", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_INFORMATION,
                   "sexed.example");
  assert_decision (policy, sam, "cdn.sexed.example", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_INFORMATION,
                   "sexed.example");
  assert_decision (policy, sam, "blogs.sex.liberation.example", TRELLIS_VERDICT_ALLOW,
                   TRELLIS_RULE_KIND_INFORMATION, "blogs.sex.liberation.example");
  /* The rest of the category entry above it stays blocked. */
  assert_decision (policy, sam, "liberation.example", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_CATEGORY, NULL);
  assert_decision (policy, sam, "sex.liberation.example", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_CATEGORY, NULL);
  /* A look-alike is not on the list. */
  assert_decision (policy, sam, "notsexed.example", TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, "");
  /* A parent's deny= still applies, explained as the parent's rule. */
  assert_decision (policy, sam, "deny-me.sexed.example", TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_DENY,
                   "deny-me.sexed.example");

  /* The rule says where the name is listed, and why, in words for a child. */
  trellis_policy_decide (policy, sam, "sexed.example", &decision);
  {
    g_autofree char *expected = g_strdup ("information sexed.example (test-list:2)");
    g_autofree char *short_form = trellis_rule_format_short (decision.rule);
    g_autofree char *words = trellis_rule_explain_for (policy, decision.rule, sam, NULL);

    assert_string_equal (short_form, expected);
    assert_string_equal (decision.rule->file, info_file);
    assert_non_null (strstr (words, "sexed.example"));
    assert_non_null (strstr (words, "keeps it open"));
  }

  /* A 4-year-old in allow-list mode: the information list lifts only the
   * category; the name is still not on the child's list of sites. */
  assert_decision (policy, trellis_policy_find_child (policy, "kim"), "sexed.example",
                   TRELLIS_VERDICT_BLOCK, TRELLIS_RULE_KIND_ALLOWLIST, NULL);

  /* A name on the information list that no category lists: the default. */
  g_clear_pointer (&text, g_free);
  write_file (adult, "domains", "porn.example\n");
  text = g_strdup ("[household]\nparents = mum\n[child sam]\nage = 10\naccounts = sam\n");
  strict = trellis_policy_load_data (text, -1, "household.conf", dir, &error);
  assert_non_null (strict);
  assert_true (trellis_policy_get_information (strict, NULL, &n_overridden));
  assert_int_equal (n_overridden, 0);
  assert_decision (strict, trellis_policy_find_child (strict, "sam"), "sexed.example",
                   TRELLIS_VERDICT_ALLOW, TRELLIS_RULE_KIND_DEFAULT, "");

  /* A bad name in the information list is the data's error, with its place. */
  write_file (info, "test-list", "sexed.example\nnot a name\n");
  broken = trellis_policy_load_data (text, -1, "household.conf", dir, &error);
  assert_null (broken);
  {
    g_autofree char *expected = g_strdup_printf ("%s:2:1: ", info_file);

    if (strstr (error->message, expected) == NULL)
      fail_msg ("expected “%s” in:\n%s", expected, error->message);
  }
  g_clear_error (&error);

  /* No information folder: nothing is held open, and the policy says so. */
  {
    g_autofree char *gone = g_build_filename (info, "test-list", NULL);
    g_autofree char *readme = g_build_filename (info, "README.md", NULL);
    g_autoptr(TrellisPolicy) none = NULL;

    assert_int_equal (g_unlink (gone), 0);
    assert_int_equal (g_unlink (readme), 0);
    assert_int_equal (g_rmdir (info), 0);
    none = trellis_policy_load_data (text, -1, "household.conf", dir, &error);
    assert_non_null (none);
    assert_false (trellis_policy_get_information (none, &n_names, NULL));
  }

  {
    g_autofree char *domains = g_build_filename (adult, "domains", NULL);
    g_autofree char *desktop = g_build_filename (adult, "category.desktop", NULL);

    assert_int_equal (g_unlink (domains), 0);
    assert_int_equal (g_unlink (desktop), 0);
    assert_int_equal (g_rmdir (adult), 0);
  }
  for (i = 0; categories[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (cats, categories[i], NULL);

      assert_int_equal (g_unlink (path), 0);
    }
  assert_int_equal (g_rmdir (cats), 0);
  for (i = 0; linked[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, linked[i], NULL);

      assert_int_equal (g_unlink (path), 0);
    }
  assert_int_equal (g_rmdir (dir), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_example_household),
    cmocka_unit_test (test_getters),
    cmocka_unit_test (test_rule_kind_names),
    cmocka_unit_test (test_decide_names),
    cmocka_unit_test (test_decide_many),
    cmocka_unit_test (test_helpline_beats_deny),
    cmocka_unit_test (test_integrity),
    cmocka_unit_test (test_explanations_by_age),
    cmocka_unit_test (test_household_keys),
    cmocka_unit_test (test_domain_normalize),
    cmocka_unit_test (test_malformed),
    cmocka_unit_test (test_files),
    cmocka_unit_test (test_data_key_twice),
    cmocka_unit_test (test_information_list),
    cmocka_unit_test (test_list_sources),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
