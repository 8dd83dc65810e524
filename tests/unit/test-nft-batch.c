/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-nft-batch.c — builds trellisd's nftables batch into a buffer, parses
 * every message back with libnftnl and compares it field by field with the
 * table described in policy/nft-plan.h, built by trellis_nft_plan_new().
 * No kernel needed.
 */
#include "tests/unit/test-common.h"

#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "daemon/nft.h"

#define MSG_TYPE(t) ((uint16_t) ((NFNL_SUBSYS_NFTABLES << 8) | (t)))
#define SEQ_FIRST   4242u
#define MAX_MSGS    256

static const uint32_t three_uids[] = { 1000, 1001, 60000 };

/* A built batch and its messages. */
typedef struct {
  char *buf;
  struct mnl_nlmsg_batch *batch;
  const struct nlmsghdr *msgs[MAX_MSGS];
  size_t n_msgs;
  uint32_t seq_out;
  size_t n_expected; /* trellis_nft_batch_count () */
  size_t size_hint;  /* trellis_nft_batch_size () */
} Built;

/* The parameters the tests vary; every uid goes to one child. */
typedef struct {
  const char *table;
  uint16_t queue_num;
  bool bypass;
  uint16_t answer_port;
  uint32_t mark;
  const uint32_t *uids;
  size_t n_uids;
  TrellisQueueExpr queue_expr;
} TrellisNftConfig;

static TrellisNftPlan *
plan_from (const TrellisNftConfig *config)
{
  const TrellisNftPlanChild kid = { .name = "kid", .uids = config->uids, .n_uids = config->n_uids };
  const TrellisNftPlanParams params = {
    .table = config->table,
    .queue_num = config->queue_num,
    .answer_port = config->answer_port,
    .mark = config->mark,
    .bypass = config->bypass,
    .queue_expr = config->queue_expr,
    .children = &kid,
    .n_children = 1,
  };

  return trellis_nft_plan_new (&params, NULL);
}

static TrellisNftConfig
config_default (void)
{
  TrellisNftConfig c = {
    .table = "trellis",
    .queue_num = 7,
    .bypass = false,
    .answer_port = 5300,
    .mark = TRELLIS_NFT_MARK_DEFAULT,
    .uids = three_uids,
    .n_uids = 3,
    .queue_expr = TRELLIS_QUEUE_EXPR_XT,
  };
  return c;
}

/* Builds @config into a batch with limit @limit (0: the size hint). */
static int
built_init (Built *b,
            const TrellisNftConfig *config,
            size_t limit)
{
  const struct nlmsghdr *nlh;
  TrellisNftPlan *plan;
  int rest;
  int r;

  memset (b, 0, sizeof *b);
  plan = plan_from (config);
  assert_non_null (plan);
  if (limit == 0)
    limit = trellis_nft_batch_size (plan);
  b->buf = test_malloc (limit + TRELLIS_NFT_MSG_SIZE_MAX);
  b->batch = mnl_nlmsg_batch_start (b->buf, limit);
  assert_non_null (b->batch);
  b->seq_out = SEQ_FIRST;
  b->n_expected = trellis_nft_batch_count (plan);
  b->size_hint = trellis_nft_batch_size (plan);
  r = trellis_nft_batch_build_plan (plan, b->batch, &b->seq_out);
  trellis_nft_plan_free (plan);
  if (r < 0)
    return r;

  rest = (int) mnl_nlmsg_batch_size (b->batch);
  for (nlh = mnl_nlmsg_batch_head (b->batch); mnl_nlmsg_ok (nlh, rest);
       nlh = mnl_nlmsg_next (nlh, &rest))
    {
      assert_true (b->n_msgs < MAX_MSGS);
      b->msgs[b->n_msgs++] = nlh;
    }
  assert_int_equal (rest, 0);
  return 0;
}

static void
built_clear (Built *b)
{
  if (b->batch != NULL)
    mnl_nlmsg_batch_stop (b->batch);
  test_free (b->buf);
  memset (b, 0, sizeof *b);
}

/* ---------------------------------------------------------------------- */
/* Expression checks: each takes the next expression of the rule. */

static struct nftnl_expr *
next_expr (struct nftnl_expr_iter *it,
           const char *name)
{
  struct nftnl_expr *e = nftnl_expr_iter_next (it);

  assert_non_null (e);
  assert_string_equal (nftnl_expr_get_str (e, NFTNL_EXPR_NAME), name);
  return e;
}

static void
expect_meta (struct nftnl_expr_iter *it,
             uint32_t key)
{
  struct nftnl_expr *e = next_expr (it, "meta");

  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_META_KEY), key);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_META_DREG), NFT_REG_1);
}

static void
expect_cmp (struct nftnl_expr_iter *it,
            uint32_t op,
            const void *data,
            uint32_t len)
{
  struct nftnl_expr *e = next_expr (it, "cmp");
  const void *got;
  uint32_t got_len = 0;

  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_CMP_SREG), NFT_REG_1);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_CMP_OP), op);
  got = nftnl_expr_get (e, NFTNL_EXPR_CMP_DATA, &got_len);
  assert_non_null (got);
  assert_int_equal (got_len, len);
  assert_memory_equal (got, data, len);
}

static void
expect_skuid_in_set (struct nftnl_expr_iter *it)
{
  struct nftnl_expr *e;

  expect_meta (it, NFT_META_SKUID);
  e = next_expr (it, "lookup");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_LOOKUP_SREG), NFT_REG_1);
  assert_string_equal (nftnl_expr_get_str (e, NFTNL_EXPR_LOOKUP_SET), "protected-uids");
  assert_true (nftnl_expr_is_set (e, NFTNL_EXPR_LOOKUP_SET_ID));
  assert_false (nftnl_expr_is_set (e, NFTNL_EXPR_LOOKUP_DREG));
}

static void
expect_mark (struct nftnl_expr_iter *it,
             uint32_t mark)
{
  expect_meta (it, NFT_META_MARK);
  expect_cmp (it, NFT_CMP_EQ, &mark, sizeof mark);
}

static void
expect_dport_53 (struct nftnl_expr_iter *it,
                 uint8_t l4proto)
{
  const uint8_t dport[2] = { 0x00, 0x35 }; /* 53, network order */
  struct nftnl_expr *e;

  expect_meta (it, NFT_META_L4PROTO);
  expect_cmp (it, NFT_CMP_EQ, &l4proto, 1);
  e = next_expr (it, "payload");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_PAYLOAD_DREG), NFT_REG_1);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_PAYLOAD_BASE), NFT_PAYLOAD_TRANSPORT_HEADER);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_PAYLOAD_OFFSET), 2);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_PAYLOAD_LEN), 2);
  expect_cmp (it, NFT_CMP_EQ, dport, sizeof dport);
}

/* immediate ZONE (16 bits) into reg 1, then ct original zone set from it. */
static void
expect_ct_zone_set (struct nftnl_expr_iter *it)
{
  const uint16_t zone = TRELLIS_NFT_CT_ZONE_DEFAULT;
  struct nftnl_expr *e;
  const void *got;
  uint32_t len = 0;

  e = next_expr (it, "immediate");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_IMM_DREG), NFT_REG_1);
  got = nftnl_expr_get (e, NFTNL_EXPR_IMM_DATA, &len);
  assert_int_equal (len, sizeof zone);
  assert_memory_equal (got, &zone, sizeof zone);
  e = next_expr (it, "ct");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_CT_KEY), NFT_CT_ZONE);
  assert_int_equal (nftnl_expr_get_u8 (e, NFTNL_EXPR_CT_DIR), 0); /* IP_CT_DIR_ORIGINAL */
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_CT_SREG), NFT_REG_1);
}

static void
expect_ct_state_new (struct nftnl_expr_iter *it)
{
  const uint32_t mask = 0x08; /* NF_CT_STATE_BIT (IP_CT_NEW) */
  const uint32_t zero = 0;
  struct nftnl_expr *e;
  const void *got;
  uint32_t len = 0;

  e = next_expr (it, "ct");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_CT_KEY), NFT_CT_STATE);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_CT_DREG), NFT_REG_1);

  e = next_expr (it, "bitwise");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_BITWISE_SREG), NFT_REG_1);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_BITWISE_DREG), NFT_REG_1);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_BITWISE_LEN), 4);
  got = nftnl_expr_get (e, NFTNL_EXPR_BITWISE_MASK, &len);
  assert_int_equal (len, 4);
  assert_memory_equal (got, &mask, 4);
  got = nftnl_expr_get (e, NFTNL_EXPR_BITWISE_XOR, &len);
  assert_int_equal (len, 4);
  assert_memory_equal (got, &zero, 4);

  expect_cmp (it, NFT_CMP_NEQ, &zero, sizeof zero);
}

static void
expect_queue_bypass (struct nftnl_expr_iter *it,
                     const TrellisNftConfig *config,
                     bool bypass)
{
  struct nftnl_expr *e;

  if (config->queue_expr == TRELLIS_QUEUE_EXPR_NATIVE)
    {
      e = next_expr (it, "queue");
      assert_int_equal (nftnl_expr_get_u16 (e, NFTNL_EXPR_QUEUE_NUM), config->queue_num);
      assert_int_equal (nftnl_expr_get_u16 (e, NFTNL_EXPR_QUEUE_TOTAL), 1);
      if (bypass)
        assert_int_equal (nftnl_expr_get_u16 (e, NFTNL_EXPR_QUEUE_FLAGS), NFT_QUEUE_FLAG_BYPASS);
      else
        assert_true (!nftnl_expr_is_set (e, NFTNL_EXPR_QUEUE_FLAGS)
                     || nftnl_expr_get_u16 (e, NFTNL_EXPR_QUEUE_FLAGS) == 0);
      assert_false (nftnl_expr_is_set (e, NFTNL_EXPR_QUEUE_SREG_QNUM));
    }
  else
    {
      /* struct xt_NFQ_info_v3, padded to XT_ALIGN: 8 bytes, host order */
      uint8_t want[8] = { 0 };
      uint16_t v;
      const void *info;
      uint32_t len = 0;

      v = config->queue_num;
      memcpy (want + offsetof (struct xt_NFQ_info_v3, queuenum), &v, 2);
      v = 1;
      memcpy (want + offsetof (struct xt_NFQ_info_v3, queues_total), &v, 2);
      v = bypass ? NFQ_FLAG_BYPASS : 0;
      memcpy (want + offsetof (struct xt_NFQ_info_v3, flags), &v, 2);

      e = next_expr (it, "target");
      assert_string_equal (nftnl_expr_get_str (e, NFTNL_EXPR_TG_NAME), "NFQUEUE");
      assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_TG_REV), 3);
      info = nftnl_expr_get (e, NFTNL_EXPR_TG_INFO, &len);
      assert_non_null (info);
      assert_int_equal (len, sizeof want);
      assert_memory_equal (info, want, sizeof want);
    }
}

static void
expect_queue (struct nftnl_expr_iter *it,
              const TrellisNftConfig *config)
{
  expect_queue_bypass (it, config, config->bypass);
}

static void
expect_redirect (struct nftnl_expr_iter *it,
                 uint16_t port)
{
  const uint8_t nport[2] = { port >> 8, port & 0xff };
  struct nftnl_expr *e;
  const void *got;
  uint32_t len = 0;

  e = next_expr (it, "immediate");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_IMM_DREG), NFT_REG_1);
  got = nftnl_expr_get (e, NFTNL_EXPR_IMM_DATA, &len);
  assert_int_equal (len, 2);
  assert_memory_equal (got, nport, 2);

  e = next_expr (it, "redir");
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_REDIR_REG_PROTO_MIN), NFT_REG_1);
  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_REDIR_FLAGS), NF_NAT_RANGE_PROTO_SPECIFIED);
}

static void
expect_drop (struct nftnl_expr_iter *it)
{
  struct nftnl_expr *e = next_expr (it, "immediate");

  assert_int_equal (nftnl_expr_get_u32 (e, NFTNL_EXPR_IMM_DREG), NFT_REG_VERDICT);
  assert_int_equal ((int32_t) nftnl_expr_get_u32 (e, NFTNL_EXPR_IMM_VERDICT), NF_DROP);
}

/* ---------------------------------------------------------------------- */
/* Message checks */

static void
check_header (const struct nlmsghdr *nlh,
              uint16_t type,
              uint32_t seq,
              bool ack)
{
  const struct nfgenmsg *nfg = mnl_nlmsg_get_payload (nlh);

  assert_int_equal (nlh->nlmsg_type, type);
  assert_int_equal (nlh->nlmsg_seq, seq);
  assert_true (nlh->nlmsg_flags & NLM_F_REQUEST);
  assert_int_equal (!!(nlh->nlmsg_flags & NLM_F_ACK), ack);
  assert_true (nlh->nlmsg_len <= TRELLIS_NFT_MSG_SIZE_MAX);
  if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END)
    assert_int_equal (ntohs (nfg->res_id), NFNL_SUBSYS_NFTABLES);
  else
    assert_int_equal (nfg->nfgen_family, NFPROTO_INET);
}

static void
check_table (const struct nlmsghdr *nlh,
             const char *name)
{
  struct nftnl_table *t = nftnl_table_alloc ();

  assert_int_equal (nftnl_table_nlmsg_parse (nlh, t), 0);
  assert_string_equal (nftnl_table_get_str (t, NFTNL_TABLE_NAME), name);
  assert_int_equal (nftnl_table_get_u32 (t, NFTNL_TABLE_FAMILY), NFPROTO_INET);
  /* no flags: neither dormant nor owner */
  assert_true (!nftnl_table_is_set (t, NFTNL_TABLE_FLAGS)
               || nftnl_table_get_u32 (t, NFTNL_TABLE_FLAGS) == 0);
  nftnl_table_free (t);
}

static void
check_set (const struct nlmsghdr *nlh,
           const char *table)
{
  /* NFTNL_UDATA_SET_KEYBYTEORDER (0), length 4, host byte order (1) */
  const uint8_t udata_want[] = { 0, 4, 1, 0, 0, 0 };
  struct nftnl_set *s = nftnl_set_alloc ();
  const void *udata;
  uint32_t len = 0;

  assert_int_equal (nftnl_set_nlmsg_parse (nlh, s), 0);
  assert_string_equal (nftnl_set_get_str (s, NFTNL_SET_TABLE), table);
  assert_string_equal (nftnl_set_get_str (s, NFTNL_SET_NAME), "protected-uids");
  assert_int_equal (nftnl_set_get_u32 (s, NFTNL_SET_FAMILY), NFPROTO_INET);
  assert_int_equal (nftnl_set_get_u32 (s, NFTNL_SET_KEY_TYPE), 24); /* nft's "uid" */
  assert_int_equal (nftnl_set_get_u32 (s, NFTNL_SET_KEY_LEN), 4);
  assert_int_equal (nftnl_set_get_u32 (s, NFTNL_SET_FLAGS), 0);
  assert_false (nftnl_set_is_set (s, NFTNL_SET_DATA_TYPE));
  udata = nftnl_set_get_data (s, NFTNL_SET_USERDATA, &len);
  assert_non_null (udata);
  assert_int_equal (len, sizeof udata_want);
  if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    assert_memory_equal (udata, udata_want, sizeof udata_want);
  nftnl_set_free (s);
}

/*
 * libnftnl (1.2.4) numbers the element nests 1, 2, 3... when it builds a
 * NEWSETELEM message (the kernel does not look at their type), but its own
 * parser wants every one to be NFTA_LIST_ELEM, as in the kernel's dumps.
 * Returns a copy of @nlh with the nests renumbered, after checking that
 * each element is a nest; free it with test_free().
 */
static struct nlmsghdr *
elems_msg_normalize (const struct nlmsghdr *nlh)
{
  struct nlmsghdr *copy = test_malloc (nlh->nlmsg_len);
  struct nlattr *attr;
  size_t n_lists = 0;

  memcpy (copy, nlh, nlh->nlmsg_len);
  mnl_attr_for_each (attr, copy, sizeof (struct nfgenmsg))
    {
      struct nlattr *elem;

      if (mnl_attr_get_type (attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
        continue;
      n_lists++;
      mnl_attr_for_each_nested (elem, attr)
        {
          assert_int_equal (mnl_attr_validate (elem, MNL_TYPE_NESTED), 0);
          elem->nla_type = (uint16_t) ((elem->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM);
        }
    }
  assert_int_equal (n_lists, 1);
  return copy;
}

/* Appends the message's elements to @uids at *@n. */
static void
collect_elems (const struct nlmsghdr *nlh,
               const char *table,
               uint32_t *uids,
               size_t cap,
               size_t *n)
{
  struct nftnl_set *s = nftnl_set_alloc ();
  struct nlmsghdr *copy = elems_msg_normalize (nlh);
  struct nftnl_set_elems_iter *it;
  struct nftnl_set_elem *e;

  assert_int_equal (nftnl_set_elems_nlmsg_parse (copy, s), 0);
  test_free (copy);
  assert_string_equal (nftnl_set_get_str (s, NFTNL_SET_TABLE), table);
  assert_string_equal (nftnl_set_get_str (s, NFTNL_SET_NAME), "protected-uids");
  it = nftnl_set_elems_iter_create (s);
  assert_non_null (it);
  while ((e = nftnl_set_elems_iter_next (it)) != NULL)
    {
      uint32_t len = 0;
      const void *key = nftnl_set_elem_get (e, NFTNL_SET_ELEM_KEY, &len);

      assert_int_equal (len, 4);
      assert_true (*n < cap);
      memcpy (&uids[(*n)++], key, 4);
    }
  nftnl_set_elems_iter_destroy (it);
  nftnl_set_free (s);
}

static void
check_chain (const struct nlmsghdr *nlh,
             const char *table,
             const char *name,
             const char *type,
             uint32_t hook,
             int32_t prio)
{
  struct nftnl_chain *c = nftnl_chain_alloc ();

  assert_int_equal (nftnl_chain_nlmsg_parse (nlh, c), 0);
  assert_string_equal (nftnl_chain_get_str (c, NFTNL_CHAIN_TABLE), table);
  assert_string_equal (nftnl_chain_get_str (c, NFTNL_CHAIN_NAME), name);
  assert_string_equal (nftnl_chain_get_str (c, NFTNL_CHAIN_TYPE), type);
  assert_int_equal (nftnl_chain_get_u32 (c, NFTNL_CHAIN_HOOKNUM), hook);
  assert_int_equal (nftnl_chain_get_s32 (c, NFTNL_CHAIN_PRIO), prio);
  assert_int_equal (nftnl_chain_get_u32 (c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
  nftnl_chain_free (c);
}

typedef enum {
  RULE_ZONE_UDP,
  RULE_ZONE_TCP,
  RULE_QUEUE_UDP,
  RULE_QUEUE_TCP,
  RULE_REDIRECT_MARKED_UDP,
  RULE_REDIRECT_MARKED_TCP,
  RULE_GUARD_QUEUE_UDP,
  RULE_GUARD_DROP_TCP,
} RuleKind;

static void
check_rule (const struct nlmsghdr *nlh,
            const TrellisNftConfig *config,
            const char *chain,
            RuleKind kind)
{
  struct nftnl_rule *r = nftnl_rule_alloc ();
  struct nftnl_expr_iter *it;

  assert_int_equal (nftnl_rule_nlmsg_parse (nlh, r), 0);
  assert_string_equal (nftnl_rule_get_str (r, NFTNL_RULE_TABLE), config->table);
  assert_string_equal (nftnl_rule_get_str (r, NFTNL_RULE_CHAIN), chain);
  assert_int_equal (nftnl_rule_get_u32 (r, NFTNL_RULE_FAMILY), NFPROTO_INET);
  assert_true (nlh->nlmsg_flags & NLM_F_APPEND);

  it = nftnl_expr_iter_create (r);
  assert_non_null (it);
  switch (kind)
    {
    case RULE_ZONE_UDP:
    case RULE_ZONE_TCP:
      expect_skuid_in_set (it);
      expect_dport_53 (it, kind == RULE_ZONE_UDP ? IPPROTO_UDP : IPPROTO_TCP);
      expect_ct_zone_set (it);
      break;
    case RULE_QUEUE_UDP:
      expect_skuid_in_set (it);
      expect_dport_53 (it, IPPROTO_UDP);
      expect_queue (it, config);
      break;
    case RULE_QUEUE_TCP:
      expect_skuid_in_set (it);
      expect_dport_53 (it, IPPROTO_TCP);
      expect_ct_state_new (it);
      expect_queue (it, config);
      break;
    case RULE_REDIRECT_MARKED_UDP:
      expect_mark (it, config->mark);
      expect_dport_53 (it, IPPROTO_UDP);
      expect_redirect (it, config->answer_port);
      break;
    case RULE_REDIRECT_MARKED_TCP:
      expect_mark (it, config->mark);
      expect_dport_53 (it, IPPROTO_TCP);
      expect_redirect (it, config->answer_port);
      break;
    case RULE_GUARD_QUEUE_UDP:
      expect_mark (it, config->mark);
      expect_dport_53 (it, IPPROTO_UDP);
      expect_queue_bypass (it, config, false); /* never bypass */
      break;
    case RULE_GUARD_DROP_TCP:
      expect_mark (it, config->mark);
      expect_dport_53 (it, IPPROTO_TCP);
      expect_drop (it);
      break;
    default:
      fail ();
    }
  assert_null (nftnl_expr_iter_next (it));
  nftnl_expr_iter_destroy (it);
  nftnl_rule_free (r);
}

/* The whole batch, message by message. */
static void
check_batch (const TrellisNftConfig *config)
{
  Built b;
  uint32_t *uids;
  size_t n_uids = 0;
  size_t i = 0;
  size_t n_elem_msgs = 0;
  uint32_t seq = SEQ_FIRST;

  assert_int_equal (built_init (&b, config, 0), 0);
  assert_int_equal (b.n_msgs, b.n_expected);
  assert_int_equal (b.seq_out, SEQ_FIRST + b.n_msgs);

  check_header (b.msgs[i++], NFNL_MSG_BATCH_BEGIN, seq++, false);

  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWTABLE), seq++, true);
  assert_true (b.msgs[i]->nlmsg_flags & NLM_F_CREATE);
  assert_false (b.msgs[i]->nlmsg_flags & NLM_F_EXCL);
  check_table (b.msgs[i++], config->table);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_DELTABLE), seq++, true);
  check_table (b.msgs[i++], config->table);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWTABLE), seq++, true);
  check_table (b.msgs[i++], config->table);

  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWSET), seq++, true);
  check_set (b.msgs[i++], config->table);

  uids = test_calloc (config->n_uids + 1, sizeof *uids);
  while (b.msgs[i]->nlmsg_type == MSG_TYPE (NFT_MSG_NEWSETELEM))
    {
      check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWSETELEM), seq++, true);
      collect_elems (b.msgs[i++], config->table, uids, config->n_uids, &n_uids);
      n_elem_msgs++;
    }
  assert_int_equal (n_uids, config->n_uids);
  if (n_uids > 0)
    assert_memory_equal (uids, config->uids, n_uids * sizeof *uids);
  else
    assert_int_equal (n_elem_msgs, 0);
  test_free (uids);

  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWCHAIN), seq++, true);
  check_chain (b.msgs[i++], config->table, "dns-zone", "filter", NF_INET_LOCAL_OUT, -300);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWCHAIN), seq++, true);
  check_chain (b.msgs[i++], config->table, "dns-queue", "filter", NF_INET_LOCAL_OUT, -150);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWCHAIN), seq++, true);
  check_chain (b.msgs[i++], config->table, "dns-redirect", "nat", NF_INET_LOCAL_OUT, -100);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWCHAIN), seq++, true);
  check_chain (b.msgs[i++], config->table, "dns-guard", "filter", NF_INET_POST_ROUTING, 100);

  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-zone", RULE_ZONE_UDP);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-zone", RULE_ZONE_TCP);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-queue", RULE_QUEUE_UDP);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-queue", RULE_QUEUE_TCP);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-redirect", RULE_REDIRECT_MARKED_UDP);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-redirect", RULE_REDIRECT_MARKED_TCP);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-guard", RULE_GUARD_QUEUE_UDP);
  check_header (b.msgs[i], MSG_TYPE (NFT_MSG_NEWRULE), seq++, true);
  check_rule (b.msgs[i++], config, "dns-guard", RULE_GUARD_DROP_TCP);

  check_header (b.msgs[i++], NFNL_MSG_BATCH_END, seq++, false);
  assert_int_equal (i, b.n_msgs);

  built_clear (&b);
}

/* ---------------------------------------------------------------------- */
/* Tests */

static void
test_xt_queue (void **state)
{
  TrellisNftConfig c = config_default ();

  check_batch (&c);
  c.bypass = true;
  check_batch (&c);
}

static void
test_native_queue (void **state)
{
  TrellisNftConfig c = config_default ();

  c.queue_expr = TRELLIS_QUEUE_EXPR_NATIVE;
  check_batch (&c);
  c.bypass = true;
  c.queue_num = 65535;
  check_batch (&c);
}

static void
test_other_values (void **state)
{
  TrellisNftConfig c = config_default ();

  c.table = "trellis-test";
  c.mark = 0x1;
  c.answer_port = 53530;
  c.queue_num = 0;
  check_batch (&c);
}

static void
test_empty_set (void **state)
{
  TrellisNftConfig c = config_default ();

  c.uids = NULL;
  c.n_uids = 0;
  check_batch (&c);
}

/* The builder refuses what the kernel could not take. */
static void
expect_plan_refused (const TrellisNftConfig *config)
{
  TrellisNftPlan *plan = plan_from (config);

  assert_null (plan);
}

static void
test_bad_config (void **state)
{
  char long_name[NFT_TABLE_MAXNAMELEN + 1];
  TrellisNftConfig c;
  TrellisNftPlan *plan;
  Built b;
  char *buf;
  struct mnl_nlmsg_batch *batch;
  uint32_t seq = SEQ_FIRST;
  size_t saved;

  memset (long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';

  c = config_default ();
  c.answer_port = 53;
  expect_plan_refused (&c);
  c = config_default ();
  c.answer_port = 0;
  expect_plan_refused (&c);
  c = config_default ();
  c.table = NULL;
  expect_plan_refused (&c);
  c = config_default ();
  c.table = "";
  expect_plan_refused (&c);
  c = config_default ();
  c.table = long_name; /* 256 bytes: one too many */
  expect_plan_refused (&c);
  c = config_default ();
  c.mark = 0;
  expect_plan_refused (&c);
  c = config_default ();
  c.uids = NULL;
  expect_plan_refused (&c);
  c = config_default ();
  c.queue_expr = (TrellisQueueExpr) 7;
  expect_plan_refused (&c);

  /* A plan that does not hold together is refused by the translator, and
   * nothing is written. */
  c = config_default ();
  plan = plan_from (&c);
  assert_non_null (plan);
  buf = test_malloc (trellis_nft_batch_size (plan) + TRELLIS_NFT_MSG_SIZE_MAX);
  batch = mnl_nlmsg_batch_start (buf, trellis_nft_batch_size (plan));
  saved = plan->rules[0].steps[0].set;
  plan->rules[0].steps[0].set = plan->n_sets; /* no such set */
  assert_int_equal (trellis_nft_batch_build_plan (plan, batch, &seq), -EINVAL);
  assert_int_equal (trellis_nft_apply_plan (plan), -EINVAL);
  plan->rules[0].steps[0].set = saved;
  plan->rules[2].chain = plan->n_chains; /* no such chain */
  assert_int_equal (trellis_nft_batch_build_plan (plan, batch, &seq), -EINVAL);
  plan->rules[2].chain = 1;
  plan->queue_expr = (TrellisQueueExpr) 7;
  assert_int_equal (trellis_nft_batch_build_plan (plan, batch, &seq), -EINVAL);
  assert_int_equal (mnl_nlmsg_batch_size (batch), 0);
  assert_int_equal (seq, SEQ_FIRST);
  mnl_nlmsg_batch_stop (batch);
  test_free (buf);
  trellis_nft_plan_free (plan);

  assert_int_equal (trellis_nft_batch_build_plan (NULL, NULL, &seq), -EINVAL);
  assert_int_equal (trellis_nft_apply_plan (NULL), -EINVAL);
  assert_int_equal (trellis_nft_delete_table (NULL), -EINVAL);
  assert_int_equal (trellis_nft_delete_table (""), -EINVAL);
  assert_int_equal (trellis_nft_probe_queue_expr (NULL), -EINVAL);
  (void) b;
}

static void
test_many_uids (void **state)
{
  const size_t n = 10000;
  uint32_t *uids = test_malloc (n * sizeof *uids);
  TrellisNftConfig c = config_default ();
  Built b;
  size_t n_elem_msgs = 0;
  size_t i;

  for (i = 0; i < n; i++)
    uids[i] = 1000 + (uint32_t) (i * 7);
  c.uids = uids;
  c.n_uids = n;

  /* Field by field, uids in order. */
  check_batch (&c);

  /* Split: several NEWSETELEM messages, none over the page. */
  assert_int_equal (built_init (&b, &c, 0), 0);
  for (i = 0; i < b.n_msgs; i++)
    {
      assert_true (b.msgs[i]->nlmsg_len <= TRELLIS_NFT_MSG_SIZE_MAX);
      if (b.msgs[i]->nlmsg_type == MSG_TYPE (NFT_MSG_NEWSETELEM))
        n_elem_msgs++;
    }
  assert_true (n_elem_msgs > 1);
  assert_true (mnl_nlmsg_batch_size (b.batch) <= b.size_hint);
  built_clear (&b);

  test_free (uids);
}

/* The size hint holds for the longest table name too. */
static void
test_longest_table_name (void **state)
{
  char name[NFT_TABLE_MAXNAMELEN];
  const size_t n = 5000;
  uint32_t *uids = test_malloc (n * sizeof *uids);
  TrellisNftConfig c = config_default ();
  size_t i;

  memset (name, 't', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  for (i = 0; i < n; i++)
    uids[i] = (uint32_t) i;
  c.table = name;
  c.uids = uids;
  c.n_uids = n;
  check_batch (&c);
  test_free (uids);
}

static void
test_batch_too_small (void **state)
{
  TrellisNftConfig c = config_default ();
  Built b;

  assert_int_equal (built_init (&b, &c, 512), -ENOBUFS);
  assert_int_equal (b.seq_out, SEQ_FIRST);
  built_clear (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_xt_queue),
    cmocka_unit_test (test_native_queue),
    cmocka_unit_test (test_other_values),
    cmocka_unit_test (test_empty_set),
    cmocka_unit_test (test_bad_config),
    cmocka_unit_test (test_many_uids),
    cmocka_unit_test (test_longest_table_name),
    cmocka_unit_test (test_batch_too_small),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
