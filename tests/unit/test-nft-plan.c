/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-nft-plan.c — the kernel plan built from parameters, and its nft text
 * compared byte for byte with what nft 1.0.6 prints for that table (the
 * text below was copied from `nft list table inet trellis` on a kernel
 * holding the table trellisd applied).  No kernel needed.
 */
#include "tests/unit/test-common.h"

#include "policy/nft-plan.h"

static const char table_xt[] =
  "table inet trellis {\n"
  "\tset protected-uids {\n"
  "\t\ttype uid\n"
  "\t\telements = { 1000, 1001, 1002 }\n"
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
  assert_int_equal (plan->n_chains, 3);
  assert_int_equal (plan->n_rules, 6);
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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_render_exact),
    cmocka_unit_test (test_render_variants),
    cmocka_unit_test (test_child_view),
    cmocka_unit_test (test_refused),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
