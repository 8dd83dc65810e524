/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-nft-plan.c — the kernel plan built from parameters, and its nft text
 * compared byte for byte with what nft 1.0.6 prints for that table (the
 * text below was copied from `nft list table inet trellis` on a kernel
 * holding the table trellisd applied).  No kernel needed.
 */
#include "tests/unit/test-common.h"

#include <time.h>

#include "policy/nft-plan.h"

static const char table_xt[] =
  "table inet trellis {\n"
  "\tset protected-uids {\n"
  "\t\ttype uid\n"
  "\t\telements = { 1000, 1001, 1002 }\n"
  "\t}\n"
  "\n"
  "\tchain dns-zone {\n"
  "\t\ttype filter hook output priority raw; policy accept;\n"
  "\t\tmeta skuid @protected-uids udp dport 53 ct original zone set 21586\n"
  "\t\tmeta skuid @protected-uids tcp dport 53 ct original zone set 21586\n"
  "\t}\n"
  "\n"
  "\tchain dns-queue {\n"
  "\t\ttype filter hook output priority mangle; policy accept;\n"
  "\t\tmeta skuid @protected-uids udp dport 53 queue num 7\n"
  "\t\tmeta skuid @protected-uids tcp dport 53 ct state new queue num 7\n"
  "\t}\n"
  "\n"
  "\tchain dns-redirect {\n"
  "\t\ttype nat hook output priority -100; policy accept;\n"
  "\t\tmeta mark 0x0054524c udp dport 53 redirect to :5300\n"
  "\t\tmeta mark 0x0054524c tcp dport 53 redirect to :5300\n"
  "\t}\n"
  "\n"
  "\tchain dns-guard {\n"
  "\t\ttype filter hook postrouting priority srcnat; policy accept;\n"
  "\t\tmeta mark 0x0054524c udp dport 53 queue num 7\n"
  "\t\tmeta mark 0x0054524c tcp dport 53 drop\n"
  "\t}\n"
  "}\n";

static TrellisNftPlanParams
params_default (const TrellisNftPlanChild *children, size_t n)
{
  TrellisNftPlanParams p = {
    .table = "trellis",
    .queue_num = 7,
    .answer_port = 5300,
    .mark = TRELLIS_NFT_MARK_DEFAULT,
    .bypass = false,
    .queue_expr = TRELLIS_QUEUE_EXPR_XT,
    .children = children,
    .n_children = n,
  };
  return p;
}

static void
test_render_exact (void **state)
{
  const uint32_t uids[] = { 1002, 1000, 1001, 1000 }; /* sorted and made unique */
  const TrellisNftPlanChild kid = { .name = "sam", .uids = uids, .n_uids = 4 };
  TrellisNftPlanParams p = params_default (&kid, 1);
  g_autoptr (TrellisNftPlan) plan = trellis_nft_plan_new (&p, NULL);
  g_autofree char *text = NULL;

  assert_non_null (plan);
  assert_int_equal (plan->n_sets, 1);
  assert_int_equal (plan->sets[0].n_uids, 3);
  assert_int_equal (plan->n_chains, 4);
  assert_int_equal (plan->n_rules, 8);
  text = trellis_nft_plan_render (plan, NULL);
  assert_string_equal (text, table_xt);
}

static void
test_render_variants (void **state)
{
  const uint32_t uids[] = { 5, 6, 7, 8, 9, 10, 11 };
  const TrellisNftPlanChild kid = { .name = "sam", .uids = uids, .n_uids = 7 };
  TrellisNftPlanParams p = params_default (&kid, 1);
  g_autoptr (TrellisNftPlan) plan = NULL;
  g_autoptr (TrellisNftPlan) empty = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_empty = NULL;

  /* nft breaks the line after five uids; bypass; the native queue's words */
  p.bypass = true;
  p.queue_expr = TRELLIS_QUEUE_EXPR_NATIVE;
  plan = trellis_nft_plan_new (&p, NULL);
  assert_non_null (plan);
  text = trellis_nft_plan_render (plan, NULL);
  assert_non_null (strstr (text, "\t\telements = { 5, 6, 7, 8, 9,\n\t\t\t     10, 11 }\n"));
  assert_non_null (strstr (text, "udp dport 53 queue flags bypass to 7\n"));

  p.queue_expr = TRELLIS_QUEUE_EXPR_XT;
  p.n_children = 0;
  empty = trellis_nft_plan_new (&p, NULL);
  assert_non_null (empty);
  text_empty = trellis_nft_plan_render (empty, NULL);
  /* an empty set has no elements line */
  assert_non_null (strstr (text_empty, "\tset protected-uids {\n\t\ttype uid\n\t}\n\n"));
  assert_non_null (strstr (text_empty, "udp dport 53 queue num 7 bypass\n"));
}

static void
test_child_view (void **state)
{
  const uint32_t sam_uids[] = { 1001, 1003 };
  const uint32_t robin_uids[] = { 1002 };
  const TrellisNftCidr v4[] = {
    { { 192, 0, 2, 77 }, 24 },  /* host bits dropped: 192.0.2.0/24 */
    { { 192, 0, 2, 128 }, 25 }, /* inside the one above: left out */
    { { 198, 51, 100, 7 }, 32 },
  };
  const TrellisNftPlanChild kids[] = {
    { .name = "sam", .uids = sam_uids, .n_uids = 2, .v4 = v4, .n_v4 = 3 },
    { .name = "robin", .uids = robin_uids, .n_uids = 1 },
  };
  TrellisNftPlanParams p = params_default (kids, 2);
  g_autoptr (TrellisNftPlan) plan = trellis_nft_plan_new (&p, NULL);
  g_autofree char *all = NULL;
  g_autofree char *sam = NULL;
  g_autofree char *robin = NULL;
  const TrellisNftSet *set;

  assert_non_null (plan);
  set = trellis_nft_plan_find_set (plan, "child-sam-v4");
  assert_non_null (set);
  assert_int_equal (set->n_cidrs, 2);
  assert_null (trellis_nft_plan_find_set (plan, "child-robin-uids"));

  all = trellis_nft_plan_render (plan, NULL);
  assert_non_null (strstr (all, "\t\telements = { 1001, 1002, 1003 }\n"));
  assert_non_null (strstr (all, "\tset child-sam-v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
                                "\t\telements = { 192.0.2.0/24, 198.51.100.7 }\n\t}\n"));
  assert_non_null (strstr (all, "\tchain ip-block {\n\t\ttype filter hook output priority filter; policy accept;\n"
                                "\t\tmeta skuid @child-sam-uids ip daddr @child-sam-v4 reject with icmp port-unreachable\n"));

  sam = trellis_nft_plan_render (plan, "sam");
  assert_non_null (strstr (sam, "\t\telements = { 1001, 1003 }\n"));
  assert_non_null (strstr (sam, "child-sam-v4"));

  robin = trellis_nft_plan_render (plan, "robin");
  assert_non_null (strstr (robin, "\t\telements = { 1002 }\n"));
  assert_null (strstr (robin, "child-sam"));
  assert_null (strstr (robin, "1001"));
  assert_non_null (strstr (robin, "\tchain ip-block {\n\t\ttype filter hook output priority filter; policy accept;\n\t}\n"));

  assert_null (trellis_nft_plan_render (plan, "nobody"));
}

static void
test_refused (void **state)
{
  const uint32_t uids[] = { 1000 };
  const TrellisNftCidr bad = { { 10 }, 33 };
  TrellisNftPlanChild kid = { .name = "sam", .uids = uids, .n_uids = 1 };
  TrellisNftPlanChild twice[2];
  TrellisNftPlanParams p;
  GError *error = NULL;

  p = params_default (&kid, 1);
  p.answer_port = 53;
  assert_null (trellis_nft_plan_new (&p, &error));
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID));
  g_clear_error (&error);

  p = params_default (&kid, 1);
  p.mark = 0;
  assert_null (trellis_nft_plan_new (&p, NULL));

  kid.name = "two words";
  p = params_default (&kid, 1);
  assert_null (trellis_nft_plan_new (&p, NULL));
  kid.name = "sam";

  twice[0] = kid;
  twice[1] = kid;
  p = params_default (twice, 2);
  assert_null (trellis_nft_plan_new (&p, NULL));

  kid.v4 = &bad;
  kid.n_v4 = 1;
  p = params_default (&kid, 1);
  assert_null (trellis_nft_plan_new (&p, &error));
  assert_non_null (error);
  g_clear_error (&error);
}

/* ---- the network policy: quiet times, learned sets, DoH endpoints ------ */

#define NS(s) ((int64_t) (s) *1000000000)

/* The rules of chain @name, rendered as nft prints them, one a line. */
static char *
chain_text (const TrellisNftPlan *plan, const char *name)
{
  g_autofree char *all = trellis_nft_plan_render (plan, NULL);
  g_autofree char *head = g_strdup_printf ("\tchain %s {\n", name);
  const char *start = strstr (all, head);
  const char *end;

  if (start == NULL)
    return NULL;
  start = strchr (start + strlen (head), '\n') + 1; /* past the "type" line */
  end = strstr (start, "\t}\n");
  return g_strndup (start, (gsize) (end - start));
}

static TrellisNftPlanParams
params_net (const TrellisNftPlanChild *children, size_t n)
{
  TrellisNftPlanParams p = params_default (children, n);

  p.net_policy = true;
  return p;
}

static void
test_net_policy_order (void **state)
{
  const uint32_t sam_uids[] = { 1001 }, robin_uids[] = { 1002 }, alex_uids[] = { 1003 };
  const TrellisNftTimeRange quiet[] = { { NS (1700000000), NS (1700036000) } };
  const TrellisNftPlanChild kids[] = {
    { .name = "sam", .uids = sam_uids, .n_uids = 1, .quiet = true, .quiet_times = quiet, .n_quiet_times = 1 },
    { .name = "robin", .uids = robin_uids, .n_uids = 1, .allowlist = true },
    { .name = "alex", .uids = alex_uids, .n_uids = 1 },
    /* quiet hours but no account yet: nothing to plan for it */
    { .name = "ghost", .quiet = true, .quiet_times = quiet, .n_quiet_times = 1, .allowlist = true },
  };
  TrellisNftPlanParams p = params_net (kids, G_N_ELEMENTS (kids));
  g_autoptr (TrellisNftPlan) plan = trellis_nft_plan_new (&p, NULL);
  g_autofree char *net = NULL, *learn = NULL, *answers = NULL;
  const TrellisNftSet *s;

  assert_non_null (plan);
  /* the uids whose answers are read: quiet hours or allow-list mode */
  s = trellis_nft_plan_find_set (plan, TRELLIS_NFT_SET_LEARN_UIDS);
  assert_non_null (s);
  assert_int_equal (s->n_uids, 2);
  assert_int_equal (s->uids[0], 1001);
  assert_int_equal (s->uids[1], 1002);
  assert_non_null (trellis_nft_plan_find_set (plan, "child-sam-quiet"));
  assert_null (trellis_nft_plan_find_set (plan, "child-sam-learned-v4"));
  assert_non_null (trellis_nft_plan_find_set (plan, "child-robin-learned-v4"));
  assert_non_null (trellis_nft_plan_find_set (plan, "child-robin-learned-v6"));
  assert_null (trellis_nft_plan_find_set (plan, "child-robin-quiet"));
  assert_null (trellis_nft_plan_find_set (plan, "child-alex-uids"));
  assert_null (trellis_nft_plan_find_set (plan, "child-ghost-quiet"));
  assert_null (trellis_nft_plan_find_set (plan, "child-ghost-learned-v4"));

  /* The decision order, in the kernel: helplines first, then the ways
   * around DNS for everyone protected, then what quiet hours and
   * allow-list mode leave alone, then each child's rules. */
  net = chain_text (plan, TRELLIS_NFT_CHAIN_NET_POLICY);
  assert_non_null (net);
  assert_string_equal (net,
                       "\t\tmeta skuid @protected-uids ip daddr @helplines-v4 accept\n"
                       "\t\tmeta skuid @protected-uids ip6 daddr @helplines-v6 accept\n"
                       "\t\tmeta skuid @protected-uids tcp dport 853 reject\n"
                       "\t\tmeta skuid @protected-uids udp dport 853 reject\n"
                       "\t\tmeta skuid @protected-uids ip daddr @doh-v4 tcp dport != 53 reject with icmp port-unreachable\n"
                       "\t\tmeta skuid @protected-uids ip daddr @doh-v4 udp dport != 53 reject with icmp port-unreachable\n"
                       "\t\tmeta skuid @protected-uids ip daddr @doh-learned-v4 tcp dport 443 reject with icmp port-unreachable\n"
                       "\t\tmeta skuid @protected-uids ip daddr @doh-learned-v4 udp dport 443 reject with icmp port-unreachable\n"
                       "\t\tmeta skuid @protected-uids ip6 daddr @doh-v6 tcp dport != 53 reject with icmpv6 port-unreachable\n"
                       "\t\tmeta skuid @protected-uids ip6 daddr @doh-v6 udp dport != 53 reject with icmpv6 port-unreachable\n"
                       "\t\tmeta skuid @protected-uids ip6 daddr @doh-learned-v6 tcp dport 443 reject with icmpv6 port-unreachable\n"
                       "\t\tmeta skuid @protected-uids ip6 daddr @doh-learned-v6 udp dport 443 reject with icmpv6 port-unreachable\n"
                       "\t\toif \"lo\" accept\n"
                       "\t\tmeta mark 0x0054524c accept\n"
                       "\t\tudp dport 53 accept\n"
                       "\t\ttcp dport 53 accept\n"
                       "\t\tmeta skuid @paused-uids accept\n"
                       "\t\tmeta skuid @child-sam-uids meta time @child-sam-quiet ct state new reject\n"
                       "\t\tmeta skuid @child-robin-uids ct state new ip daddr != @child-robin-learned-v4 reject with icmp port-unreachable\n"
                       "\t\tmeta skuid @child-robin-uids ct state new ip6 daddr != @child-robin-learned-v6 reject with icmpv6 port-unreachable\n");

  /* The answers of those children come back on the next queue. */
  learn = chain_text (plan, TRELLIS_NFT_CHAIN_LEARN);
  assert_string_equal (learn, "\t\tmeta skuid @learn-uids udp dport 53 ct mark set 0x54524c41\n");
  answers = chain_text (plan, TRELLIS_NFT_CHAIN_ANSWERS);
  assert_string_equal (answers, "\t\tct mark 0x54524c41 udp sport 53 queue num 8\n");

  /* A view for robin leaves sam's quiet times out, and sam's rule. */
  {
    g_autofree char *robin = trellis_nft_plan_render (plan, "robin");

    assert_null (strstr (robin, "child-sam"));
    assert_non_null (strstr (robin, "child-robin-learned-v6"));
  }
}

static void
test_quiet_times (void **state)
{
  const uint32_t uids[] = { 1001 };
  /* out of order, overlapping, touching, empty and negative stretches */
  const TrellisNftTimeRange quiet[] = {
    { NS (1700100000), NS (1700103600) },
    { NS (1700000000), NS (1700036000) },
    { NS (1700030000), NS (1700040000) }, /* overlaps the one before */
    { NS (1700040000), NS (1700041000) }, /* touches it */
    { NS (1700200000), NS (1700200000) }, /* empty */
    { NS (1700300000), NS (1700299000) }, /* ends before it starts */
    { -NS (10), NS (5) },                 /* before 1970 */
  };
  const TrellisNftPlanChild kid = { .name = "sam", .uids = uids, .n_uids = 1, .quiet = true, .quiet_times = quiet, .n_quiet_times = G_N_ELEMENTS (quiet) };
  const TrellisNftPlanChild none = { .name = "sam", .uids = uids, .n_uids = 1, .quiet = true };
  TrellisNftPlanParams p = params_net (&kid, 1);
  g_autoptr (TrellisNftPlan) plan = NULL;
  g_autoptr (TrellisNftPlan) other = NULL;
  g_autoptr (TrellisNftPlan) empty = NULL;
  g_autofree char *text = NULL;
  g_autofree char *empty_text = NULL;
  const TrellisNftSet *s;
  const char *tz = g_getenv ("TZ");
  g_autofree char *saved_tz = g_strdup (tz);

  plan = trellis_nft_plan_new (&p, NULL);
  assert_non_null (plan);
  s = trellis_nft_plan_find_set (plan, "child-sam-quiet");
  assert_non_null (s);
  assert_int_equal (s->key, TRELLIS_NFT_KEY_TIME);
  assert_true (s->interval);
  assert_false (s->timeout);
  assert_int_equal (s->n_times, 2);
  assert_true (s->times[0].start == NS (1700000000) && s->times[0].end == NS (1700041000));
  assert_true (s->times[1].start == NS (1700100000) && s->times[1].end == NS (1700103600));

  /* nft prints the stretches in the process's zone, the last second included */
  g_setenv ("TZ", "UTC", TRUE);
  tzset ();
  text = trellis_nft_plan_render (plan, NULL);
  assert_non_null (strstr (text, "\tset child-sam-quiet {\n\t\ttypeof meta time\n\t\tflags interval\n"
                                 "\t\telements = { \"2023-11-14 22:13:20\"-\"2023-11-15 09:36:39\",\n"
                                 "\t\t\t     \"2023-11-16 02:00:00\"-\"2023-11-16 02:59:59\" }\n\t}\n"));
  if (saved_tz != NULL)
    g_setenv ("TZ", saved_tz, TRUE);
  else
    g_unsetenv ("TZ");
  tzset ();

  /* A plan whose quiet times moved on (the next day) has the same shape:
   * the kernel follows with the set's elements alone. */
  {
    TrellisNftTimeRange later[] = { { NS (1700086400), NS (1700122400) } };
    TrellisNftPlanChild next = kid;

    next.quiet_times = later;
    next.n_quiet_times = 1;
    p = params_net (&next, 1);
    other = trellis_nft_plan_new (&p, NULL);
    assert_non_null (other);
    assert_true (trellis_nft_plan_same_shape (plan, other));
    assert_false (trellis_nft_set_same_elements (trellis_nft_plan_find_set (plan, "child-sam-quiet"),
                                                 trellis_nft_plan_find_set (other, "child-sam-quiet")));
    assert_true (trellis_nft_set_same_elements (trellis_nft_plan_find_set (plan, TRELLIS_NFT_SET_LEARN_UIDS),
                                                trellis_nft_plan_find_set (other, TRELLIS_NFT_SET_LEARN_UIDS)));
  }

  /* Quiet hours with no stretch in the horizon: the set and the rule stay,
   * empty, so that the next day's plan has the same shape. */
  p = params_net (&none, 1);
  empty = trellis_nft_plan_new (&p, NULL);
  assert_non_null (empty);
  assert_true (trellis_nft_plan_same_shape (plan, empty));
  empty_text = trellis_nft_plan_render (empty, NULL);
  assert_non_null (strstr (empty_text, "\tset child-sam-quiet {\n\t\ttypeof meta time\n\t\tflags interval\n\t}\n"));

  /* Missing times are refused. */
  {
    TrellisNftPlanChild bad = none;

    bad.n_quiet_times = 3;
    p = params_net (&bad, 1);
    assert_null (trellis_nft_plan_new (&p, NULL));
  }
}

static void
test_learned_sets (void **state)
{
  const uint32_t uids[] = { 1002, 1004 };
  const TrellisNftPlanChild kid = { .name = "robin", .uids = uids, .n_uids = 2, .allowlist = true };
  TrellisNftPlanChild plain = kid;
  TrellisNftPlanParams p = params_net (&kid, 1);
  g_autoptr (TrellisNftPlan) plan = trellis_nft_plan_new (&p, NULL);
  g_autoptr (TrellisNftPlan) without = NULL;
  g_autofree char *text = NULL;
  const char *const runtime[] = {
    "child-robin-learned-v4",
    "child-robin-learned-v6",
    TRELLIS_NFT_SET_HELPLINES_V4,
    TRELLIS_NFT_SET_HELPLINES_V6,
    TRELLIS_NFT_SET_DOH_LEARNED_V4,
    TRELLIS_NFT_SET_DOH_LEARNED_V6,
    TRELLIS_NFT_SET_PAUSED_UIDS,
  };

  assert_non_null (plan);
  /* Filled at run time: flags timeout, declared empty, never intervals. */
  for (size_t i = 0; i < G_N_ELEMENTS (runtime); i++)
    {
      const TrellisNftSet *s = trellis_nft_plan_find_set (plan, runtime[i]);

      assert_non_null (s);
      assert_true (s->timeout);
      assert_false (s->interval);
      assert_int_equal (s->n_uids + s->n_cidrs + s->n_times, 0);
    }
  assert_int_equal (trellis_nft_plan_find_set (plan, "child-robin-learned-v4")->key, TRELLIS_NFT_KEY_IPV4_ADDR);
  assert_int_equal (trellis_nft_plan_find_set (plan, "child-robin-learned-v6")->key, TRELLIS_NFT_KEY_IPV6_ADDR);
  text = trellis_nft_plan_render (plan, NULL);
  assert_non_null (strstr (text, "\tset child-robin-learned-v4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n"));
  assert_non_null (strstr (text, "\tset child-robin-uids {\n\t\ttype uid\n\t\telements = { 1002, 1004 }\n\t}\n"));
  assert_non_null (strstr (text, "\tset learn-uids {\n\t\ttype uid\n\t\telements = { 1002, 1004 }\n\t}\n"));

  /* Leaving allow-list mode changes the chains: the whole table. */
  plain.allowlist = false;
  p = params_net (&plain, 1);
  without = trellis_nft_plan_new (&p, NULL);
  assert_non_null (without);
  assert_null (trellis_nft_plan_find_set (without, "child-robin-learned-v4"));
  assert_false (trellis_nft_plan_same_shape (plan, without));
  assert_int_equal (trellis_nft_plan_find_set (without, TRELLIS_NFT_SET_LEARN_UIDS)->n_uids, 0);
}

static void
test_doh_sets (void **state)
{
  const uint32_t uids[] = { 1001 };
  const TrellisNftPlanChild kid = { .name = "sam", .uids = uids, .n_uids = 1 };
  const TrellisNftCidr v4[] = {
    { { 9, 9, 9, 9 }, 32 },
    { { 1, 1, 1, 1 }, 32 },
    { { 1, 1, 1, 1 }, 32 },  /* twice */
    { { 8, 8, 4, 77 }, 24 }, /* host bits dropped */
    { { 8, 8, 4, 4 }, 32 },  /* inside the one above */
  };
  const TrellisNftCidr v6[] = {
    { { 0x26, 0x06, 0x47, 0x00, 0x47, 0x00, [15] = 0x11 }, 128 },
  };
  const TrellisNftCidr too_long = { { 1, 1, 1, 1 }, 33 };
  TrellisNftPlanParams p = params_net (&kid, 1);
  g_autoptr (TrellisNftPlan) plan = NULL;
  g_autofree char *text = NULL;
  const TrellisNftSet *s4, *s6;
  GError *error = NULL;

  p.doh_v4 = v4;
  p.n_doh_v4 = G_N_ELEMENTS (v4);
  p.doh_v6 = v6;
  p.n_doh_v6 = G_N_ELEMENTS (v6);
  plan = trellis_nft_plan_new (&p, NULL);
  assert_non_null (plan);
  s4 = trellis_nft_plan_find_set (plan, TRELLIS_NFT_SET_DOH_V4);
  s6 = trellis_nft_plan_find_set (plan, TRELLIS_NFT_SET_DOH_V6);
  assert_non_null (s4);
  assert_non_null (s6);
  assert_true (s4->interval && !s4->timeout && s6->interval && !s6->timeout);
  assert_int_equal (s4->n_cidrs, 3);
  assert_int_equal (s6->n_cidrs, 1);
  text = trellis_nft_plan_render (plan, NULL);
  assert_non_null (strstr (text, "\tset doh-v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
                                 "\t\telements = { 1.1.1.1, 8.8.4.0/24,\n\t\t\t     9.9.9.9 }\n\t}\n"));
  assert_non_null (strstr (text, "\tset doh-v6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n"
                                 "\t\telements = { 2606:4700:4700::11 }\n\t}\n"));

  /* An endpoint's address list changed: only the sets' elements. */
  {
    g_autoptr (TrellisNftPlan) fewer = NULL;

    p.n_doh_v4 = 1;
    fewer = trellis_nft_plan_new (&p, NULL);
    assert_non_null (fewer);
    assert_true (trellis_nft_plan_same_shape (plan, fewer));
    assert_false (trellis_nft_set_same_elements (s4, trellis_nft_plan_find_set (fewer, TRELLIS_NFT_SET_DOH_V4)));
    p.n_doh_v4 = G_N_ELEMENTS (v4);
  }

  /* Refused: a prefix too long, addresses missing. */
  p.doh_v4 = &too_long;
  p.n_doh_v4 = 1;
  assert_null (trellis_nft_plan_new (&p, &error));
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID));
  g_clear_error (&error);
  p.doh_v4 = NULL;
  assert_null (trellis_nft_plan_new (&p, &error));
  g_clear_error (&error);
}

static void
test_answers_queue (void **state)
{
  const uint32_t uids[] = { 1001 };
  const TrellisNftPlanChild kid = { .name = "sam", .uids = uids, .n_uids = 1, .allowlist = true };
  TrellisNftPlanParams p = params_net (&kid, 1);
  g_autoptr (TrellisNftPlan) open = NULL;
  g_autoptr (TrellisNftPlan) other = NULL;
  g_autofree char *open_text = NULL;
  g_autofree char *other_text = NULL;

  /* on-failure=open lets the answers pass as it lets the queries */
  p.bypass = true;
  open = trellis_nft_plan_new (&p, NULL);
  open_text = chain_text (open, TRELLIS_NFT_CHAIN_ANSWERS);
  assert_string_equal (open_text, "\t\tct mark 0x54524c41 udp sport 53 queue num 8 bypass\n");

  p.bypass = false;
  p.answers_queue_num = 99;
  p.learn_mark = 0x1234;
  other = trellis_nft_plan_new (&p, NULL);
  other_text = chain_text (other, TRELLIS_NFT_CHAIN_ANSWERS);
  assert_string_equal (other_text, "\t\tct mark 0x00001234 udp sport 53 queue num 99\n");

  p.answers_queue_num = p.queue_num;
  assert_null (trellis_nft_plan_new (&p, NULL));
}

/* From a household: the quiet times in its zone, across a change of
 * offset, shifted by the test clock's offset. */
static gboolean
resolve_test (const char *account, uint32_t *ret_uid, gpointer user_data)
{
  if (strcmp (account, "sam") == 0)
    *ret_uid = 2001;
  else if (strcmp (account, "robin") == 0)
    *ret_uid = 2002;
  else
    return FALSE;
  return TRUE;
}

static void
test_for_policy_quiet (void **state)
{
  g_autoptr (TrellisPolicy) policy = trellis_test_load_policy (
    "[household]\nparents = mum\ntimezone = Europe/Paris\n"
    "[child sam]\nage = 10\naccounts = sam\nquiet-hours = Mon-Fri 20:30-07:00\n"
    "[child robin]\nage = 4\naccounts = robin;nobody-here\n");
  g_autoptr (GDateTime) thursday = g_date_time_new_from_iso8601 ("2024-03-28T12:00:00+01:00", NULL);
  TrellisNftPlanTuning tuning = {
    .queue_num = 7,
    .answer_port = 5300,
    .now_us = g_date_time_to_unix (thursday) * G_USEC_PER_SEC,
  };
  g_autoptr (TrellisNftPlan) plan = trellis_nft_plan_new_for_policy (policy, &tuning, resolve_test, NULL, NULL);
  g_autoptr (TrellisNftPlan) shifted = NULL;
  g_autoptr (TrellisNftPlan) root = NULL;
  const TrellisNftSet *quiet, *learn;
  int64_t from_us, to_us;
  /* Wed 20:30 CET (the evening before spills into Thursday) ... */
  g_autoptr (GDateTime) wed = g_date_time_new_from_iso8601 ("2024-03-27T20:30:00+01:00", NULL);
  g_autoptr (GDateTime) thu7 = g_date_time_new_from_iso8601 ("2024-03-28T07:00:00+01:00", NULL);
  /* ... and Mon 20:30 CEST after the change of 31 March: one hour earlier in UTC */
  g_autoptr (GDateTime) mon = g_date_time_new_from_iso8601 ("2024-04-01T20:30:00+02:00", NULL);
  g_autoptr (GDateTime) tue7 = g_date_time_new_from_iso8601 ("2024-04-02T07:00:00+02:00", NULL);
  gboolean seen_wed = FALSE, seen_mon = FALSE;

  assert_non_null (plan);
  trellis_nft_quiet_horizon (policy, tuning.now_us, &from_us, &to_us);
  /* from the midnight before, less a day, to 8 days after it, local */
  assert_true (from_us == g_date_time_to_unix (wed) * G_USEC_PER_SEC - (gint64) (20 * 3600 + 1800) * G_USEC_PER_SEC);
  quiet = trellis_nft_plan_find_set (plan, "child-sam-quiet");
  assert_non_null (quiet);
  /* Tuesday's night spilling into Wednesday, then the evenings of Wed,
   * Thu, Fri, Mon, Tue, Wed and Thu (the horizon ends Friday 5 April) */
  assert_int_equal (quiet->n_times, 8);
  for (size_t i = 0; i < quiet->n_times; i++)
    {
      assert_true (quiet->times[i].end > from_us * 1000 && quiet->times[i].start < to_us * 1000);
      if (i > 0)
        assert_int_equal (quiet->times[i].end - quiet->times[i].start, NS (10 * 3600 + 1800));
      if (quiet->times[i].start == NS (g_date_time_to_unix (wed)))
        seen_wed = quiet->times[i].end == NS (g_date_time_to_unix (thu7));
      if (quiet->times[i].start == NS (g_date_time_to_unix (mon)))
        seen_mon = quiet->times[i].end == NS (g_date_time_to_unix (tue7));
    }
  assert_true (seen_wed);
  assert_true (seen_mon);
  /* robin (4: allow-list by age) learns; sam (quiet hours) too */
  learn = trellis_nft_plan_find_set (plan, TRELLIS_NFT_SET_LEARN_UIDS);
  assert_int_equal (learn->n_uids, 2);
  assert_int_equal (learn->uids[0], 2001);
  assert_int_equal (learn->uids[1], 2002);
  assert_non_null (trellis_nft_plan_find_set (plan, "child-robin-learned-v4"));
  assert_null (trellis_nft_plan_find_set (plan, "child-robin-quiet"));

  /* A test's fake clock one hour ahead of the kernel's: the kernel gets
   * the same stretches one hour earlier. */
  tuning.kernel_offset_us = (gint64) 3600 * G_USEC_PER_SEC;
  shifted = trellis_nft_plan_new_for_policy (policy, &tuning, resolve_test, NULL, NULL);
  assert_non_null (shifted);
  assert_true (trellis_nft_plan_same_shape (plan, shifted));
  assert_true (trellis_nft_plan_find_set (shifted, "child-sam-quiet")->times[0].start
               == quiet->times[0].start - NS (3600));
}

static gboolean
resolve_root (const char *account, uint32_t *ret_uid, gpointer user_data)
{
  *ret_uid = 0;
  return TRUE;
}

static void
test_for_policy_root_refused (void **state)
{
  g_autoptr (TrellisPolicy) policy = trellis_test_load_policy (
    "[household]\nparents = mum\n[child sam]\nage = 10\naccounts = sam\n");
  GError *error = NULL;

  assert_null (trellis_nft_plan_new_for_policy (policy, NULL, resolve_root, NULL, &error));
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID));
  assert_non_null (strstr (error->message, "root"));
  g_clear_error (&error);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_render_exact),
    cmocka_unit_test (test_render_variants),
    cmocka_unit_test (test_child_view),
    cmocka_unit_test (test_refused),
    cmocka_unit_test (test_net_policy_order),
    cmocka_unit_test (test_quiet_times),
    cmocka_unit_test (test_learned_sets),
    cmocka_unit_test (test_doh_sets),
    cmocka_unit_test (test_answers_queue),
    cmocka_unit_test (test_for_policy_quiet),
    cmocka_unit_test (test_for_policy_root_refused),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
