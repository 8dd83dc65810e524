/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nft.c — trellisd's nftables table as one libnftnl batch, sent with libmnl.
 *
 * Every message is built from typed libnftnl attributes; nothing here knows
 * nft's command language.  The batch only ever names config->table in family
 * inet.  Kernel-facing: returns >= 0 or -errno, never logs.
 */
#include "daemon/nft.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <glib.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define SET_NAME "protected-uids"
#define SET_ID   1u    /* lets rules find the set created in the same batch */

/* nftables' own numbering (src/datatype.h, enum byteorder), which it keeps
 * in the set's key type and user data: "type uid", host byte order. */
#define NFT_DATATYPE_UID        24u
#define NFT_BYTEORDER_HOST      1u

/* One element of the set on the wire: NFTA_LIST_ELEM nest (4) holding an
 * NFTA_SET_ELEM_KEY nest (4) holding NFTA_DATA_VALUE (4 + 4). */
#define ELEM_WIRE_SIZE          16u
/* Everything in a message but the elements: headers, a table name of at
 * most 255 bytes, the set's name and id, the list nest. */
#define MSG_OVERHEAD_MAX        512u
#define ELEMS_PER_MSG           ((TRELLIS_NFT_MSG_SIZE_MAX - MSG_OVERHEAD_MAX) / ELEM_WIRE_SIZE)
/* Each message other than the elements (table, set, chain, rule) is smaller. */
#define FIXED_MSG_MAX           2048u
/* BATCH_BEGIN, NEWTABLE, DELTABLE, NEWTABLE, NEWSET, 3 NEWCHAIN, the rules, BATCH_END */
#define N_FIXED_MSGS            (9u + G_N_ELEMENTS (rule_specs))
#define UIDS_MAX                (1u << 20)

#define PROBE_TABLE "trellis-probe"
#define PROBE_CHAIN "probe"

/* How long to wait for ACKs the kernel has not queued yet.  Netlink hands
 * the batch to nfnetlink inside sendmsg(), so in practice they are all
 * there by the time it returns. */
#define ACK_TIMEOUT_MS 1000

typedef struct nftnl_table NftnlTable;
typedef struct nftnl_chain NftnlChain;
typedef struct nftnl_set NftnlSet;
typedef struct nftnl_rule NftnlRule;
typedef struct nftnl_expr NftnlExpr;
typedef struct nftnl_udata_buf NftnlUdataBuf;
typedef struct mnl_socket MnlSocket;
typedef struct mnl_nlmsg_batch MnlNlmsgBatch;

static void
udata_buf_free (NftnlUdataBuf *buf)
{
  nftnl_udata_buf_free (buf);
}

static void
socket_close (MnlSocket *nl)
{
  mnl_socket_close (nl);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NftnlTable, nftnl_table_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NftnlChain, nftnl_chain_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NftnlSet, nftnl_set_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NftnlRule, nftnl_rule_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NftnlExpr, nftnl_expr_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NftnlUdataBuf, udata_buf_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MnlSocket, socket_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MnlNlmsgBatch, mnl_nlmsg_batch_stop)

/* The table of nft.h, as data. */
typedef struct {
  const char *name;
  const char *type;
  uint32_t    hook;
  int32_t     priority;
} ChainSpec;

static const ChainSpec chain_specs[] = {
  { "dns-queue",    "filter", NF_INET_LOCAL_OUT,    -150 },
  { "dns-redirect", "nat",    NF_INET_LOCAL_OUT,    -100 },
  { "dns-guard",    "filter", NF_INET_POST_ROUTING,  100 },
};

typedef enum {
  STEP_END = 0,
  STEP_SKUID_IN_SET,   /* meta skuid @protected-uids */
  STEP_MARK,           /* meta mark MARK */
  STEP_UDP_DPORT_53,   /* udp dport 53 */
  STEP_TCP_DPORT_53,   /* tcp dport 53 */
  STEP_CT_STATE_NEW,   /* ct state new */
  STEP_QUEUE,          /* queue num N [bypass] */
  STEP_REDIRECT,       /* redirect to :PORT */
  STEP_DROP,           /* drop */
} Step;

typedef struct {
  const char *chain;
  Step        steps[6];
} RuleSpec;

static const RuleSpec rule_specs[] = {
  { "dns-queue",    { STEP_SKUID_IN_SET, STEP_UDP_DPORT_53, STEP_QUEUE } },
  { "dns-queue",    { STEP_SKUID_IN_SET, STEP_TCP_DPORT_53, STEP_CT_STATE_NEW, STEP_QUEUE } },
  { "dns-redirect", { STEP_MARK, STEP_UDP_DPORT_53, STEP_REDIRECT } },
  { "dns-redirect", { STEP_MARK, STEP_TCP_DPORT_53, STEP_REDIRECT } },
  { "dns-guard",    { STEP_MARK, STEP_UDP_DPORT_53, STEP_DROP } },
  { "dns-guard",    { STEP_MARK, STEP_TCP_DPORT_53, STEP_DROP } },
};

/* ---------------------------------------------------------------------- */
/* Messages */

static bool
table_name_valid (const char *table)
{
  size_t len;

  if (table == NULL)
    return false;
  len = strnlen (table, NFT_TABLE_MAXNAMELEN);
  return len > 0 && len < NFT_TABLE_MAXNAMELEN;
}

static int
config_check (const TrellisNftConfig *config)
{
  if (config == NULL || !table_name_valid (config->table))
    return -EINVAL;
  if (config->answer_port == 0 || config->answer_port == 53)
    return -EINVAL;
  /* mark 0 would match every unmarked packet. */
  if (config->mark == 0)
    return -EINVAL;
  if (config->n_uids > 0 && config->uids == NULL)
    return -EINVAL;
  if (config->n_uids > UIDS_MAX)
    return -EINVAL;
  if (config->queue_expr != TRELLIS_QUEUE_EXPR_NATIVE
      && config->queue_expr != TRELLIS_QUEUE_EXPR_XT)
    return -EINVAL;
  return 0;
}

static size_t
n_elem_msgs (size_t n_uids)
{
  return (n_uids + ELEMS_PER_MSG - 1) / ELEMS_PER_MSG;
}

size_t
trellis_nft_batch_count (const TrellisNftConfig *config)
{
  if (config == NULL)
    return 0;
  return N_FIXED_MSGS + n_elem_msgs (config->n_uids);
}

size_t
trellis_nft_batch_size (const TrellisNftConfig *config)
{
  if (config == NULL)
    return 0;
  return N_FIXED_MSGS * FIXED_MSG_MAX
         + n_elem_msgs (config->n_uids) * TRELLIS_NFT_MSG_SIZE_MAX;
}

/* The next message goes where the batch's cursor is; the batch has room for
 * TRELLIS_NFT_MSG_SIZE_MAX bytes there even when its limit is reached. */
static struct nlmsghdr *
msg_start (struct mnl_nlmsg_batch *batch,
           uint16_t                type,
           uint16_t                flags,
           uint32_t               *seq)
{
  return nftnl_nlmsg_build_hdr (mnl_nlmsg_batch_current (batch), type,
                                NFPROTO_INET, flags, (*seq)++);
}

static int
msg_end (struct mnl_nlmsg_batch *batch)
{
  return mnl_nlmsg_batch_next (batch) ? 0 : -ENOBUFS;
}

static int
batch_begin (struct mnl_nlmsg_batch *batch,
             uint32_t               *seq)
{
  nftnl_batch_begin (mnl_nlmsg_batch_current (batch), (*seq)++);
  return msg_end (batch);
}

static int
batch_end (struct mnl_nlmsg_batch *batch,
           uint32_t               *seq)
{
  nftnl_batch_end (mnl_nlmsg_batch_current (batch), (*seq)++);
  return msg_end (batch);
}

static int
put_table (struct mnl_nlmsg_batch *batch,
           uint16_t                type,
           uint16_t                flags,
           const char             *name,
           uint32_t               *seq)
{
  g_autoptr (NftnlTable) t = nftnl_table_alloc ();
  struct nlmsghdr *nlh;

  if (t == NULL)
    return -ENOMEM;
  if (nftnl_table_set_str (t, NFTNL_TABLE_NAME, name) < 0)
    return -ENOMEM;
  nftnl_table_set_u32 (t, NFTNL_TABLE_FAMILY, NFPROTO_INET);

  nlh = msg_start (batch, type, flags | NLM_F_ACK, seq);
  nftnl_table_nlmsg_build_payload (nlh, t);
  return msg_end (batch);
}

/* A base chain when @spec->type is set, a regular one otherwise. */
static int
put_chain (struct mnl_nlmsg_batch *batch,
           const char             *table,
           const ChainSpec        *spec,
           uint32_t               *seq)
{
  g_autoptr (NftnlChain) c = nftnl_chain_alloc ();
  struct nlmsghdr *nlh;

  if (c == NULL)
    return -ENOMEM;
  if (nftnl_chain_set_str (c, NFTNL_CHAIN_TABLE, table) < 0
      || nftnl_chain_set_str (c, NFTNL_CHAIN_NAME, spec->name) < 0)
    return -ENOMEM;
  nftnl_chain_set_u32 (c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
  if (spec->type != NULL)
    {
      if (nftnl_chain_set_str (c, NFTNL_CHAIN_TYPE, spec->type) < 0)
        return -ENOMEM;
      nftnl_chain_set_u32 (c, NFTNL_CHAIN_HOOKNUM, spec->hook);
      nftnl_chain_set_s32 (c, NFTNL_CHAIN_PRIO, spec->priority);
      nftnl_chain_set_u32 (c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }

  nlh = msg_start (batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, seq);
  nftnl_chain_nlmsg_build_payload (nlh, c);
  return msg_end (batch);
}

static NftnlSet *
set_new (const char *table)
{
  g_autoptr (NftnlSet) s = nftnl_set_alloc ();

  if (s == NULL)
    return NULL;
  if (nftnl_set_set_str (s, NFTNL_SET_TABLE, table) < 0
      || nftnl_set_set_str (s, NFTNL_SET_NAME, SET_NAME) < 0)
    return NULL;
  nftnl_set_set_u32 (s, NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_u32 (s, NFTNL_SET_ID, SET_ID);
  return g_steal_pointer (&s);
}

static int
put_set (struct mnl_nlmsg_batch *batch,
         const char             *table,
         uint32_t               *seq)
{
  g_autoptr (NftnlSet) s = set_new (table);
  g_autoptr (NftnlUdataBuf) ud = nftnl_udata_buf_alloc (NFT_USERDATA_MAXLEN);
  struct nlmsghdr *nlh;

  if (s == NULL || ud == NULL)
    return -ENOMEM;
  nftnl_set_set_u32 (s, NFTNL_SET_FLAGS, 0);
  nftnl_set_set_u32 (s, NFTNL_SET_KEY_TYPE, NFT_DATATYPE_UID);
  nftnl_set_set_u32 (s, NFTNL_SET_KEY_LEN, sizeof (uint32_t));
  /* nft reads the key's byte order from here to print the uids. */
  if (!nftnl_udata_put_u32 (ud, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST))
    return -ENOMEM;
  /* copied by libnftnl */
  if (nftnl_set_set_data (s, NFTNL_SET_USERDATA, nftnl_udata_buf_data (ud),
                          nftnl_udata_buf_len (ud)) < 0)
    return -ENOMEM;

  nlh = msg_start (batch, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_ACK, seq);
  nftnl_set_nlmsg_build_payload (nlh, s);
  return msg_end (batch);
}

/* At most ELEMS_PER_MSG uids per message, so none passes
 * TRELLIS_NFT_MSG_SIZE_MAX (nor the 64 KiB limit of a netlink attribute). */
static int
put_set_elems (struct mnl_nlmsg_batch *batch,
               const char             *table,
               const uint32_t         *uids,
               size_t                  n_uids,
               uint32_t               *seq)
{
  size_t done = 0;

  while (done < n_uids)
    {
      g_autoptr (NftnlSet) s = set_new (table);
      size_t n = MIN (n_uids - done, (size_t) ELEMS_PER_MSG);
      struct nlmsghdr *nlh;
      size_t i;
      int r;

      if (s == NULL)
        return -ENOMEM;
      for (i = 0; i < n; i++)
        {
          struct nftnl_set_elem *e = nftnl_set_elem_alloc ();
          uint32_t uid = uids[done + i];

          if (e == NULL)
            return -ENOMEM;
          nftnl_set_elem_set (e, NFTNL_SET_ELEM_KEY, &uid, sizeof uid);
          nftnl_set_elem_add (s, e);  /* s owns e */
        }

      nlh = msg_start (batch, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, seq);
      nftnl_set_elems_nlmsg_build_payload (nlh, s);
      r = msg_end (batch);
      if (r < 0)
        return r;
      done += n;
    }
  return 0;
}

/* Expressions: each adder hands its expression to @rule. */

static int
add_meta (NftnlRule *rule,
          uint32_t   key)
{
  NftnlExpr *e = nftnl_expr_alloc ("meta");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  nftnl_rule_add_expr (rule, e);  /* rule owns e */
  return 0;
}

static int
add_cmp (NftnlRule  *rule,
         uint32_t    op,
         const void *data,
         uint32_t    len)
{
  NftnlExpr *e = nftnl_expr_alloc ("cmp");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set (e, NFTNL_EXPR_CMP_DATA, data, len);  /* copied */
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_lookup (NftnlRule *rule)
{
  NftnlExpr *e = nftnl_expr_alloc ("lookup");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_expr_set_str (e, NFTNL_EXPR_LOOKUP_SET, SET_NAME);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_LOOKUP_SET_ID, SET_ID);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_dport_53 (NftnlRule *rule,
              uint8_t    l4proto)
{
  const uint16_t port = htons (53);
  NftnlExpr *e;
  int r;

  r = add_meta (rule, NFT_META_L4PROTO);
  if (r == 0)
    r = add_cmp (rule, NFT_CMP_EQ, &l4proto, sizeof l4proto);
  if (r < 0)
    return r;

  e = nftnl_expr_alloc ("payload");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_OFFSET, 2);  /* UDP and TCP dport */
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_LEN, sizeof port);
  nftnl_rule_add_expr (rule, e);

  return add_cmp (rule, NFT_CMP_EQ, &port, sizeof port);
}

static int
add_ct_state_new (NftnlRule *rule)
{
  const uint32_t mask = NF_CT_STATE_BIT (IP_CT_NEW);
  const uint32_t zero = 0;
  NftnlExpr *e;

  e = nftnl_expr_alloc ("ct");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
  nftnl_rule_add_expr (rule, e);

  e = nftnl_expr_alloc ("bitwise");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BITWISE_LEN, sizeof mask);
  nftnl_expr_set (e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof mask);
  nftnl_expr_set (e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof zero);
  nftnl_rule_add_expr (rule, e);

  return add_cmp (rule, NFT_CMP_NEQ, &zero, sizeof zero);
}

static int
add_queue_native (NftnlRule *rule,
                  uint16_t   queue_num,
                  bool       bypass)
{
  NftnlExpr *e = nftnl_expr_alloc ("queue");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u16 (e, NFTNL_EXPR_QUEUE_NUM, queue_num);
  nftnl_expr_set_u16 (e, NFTNL_EXPR_QUEUE_TOTAL, 1);
  if (bypass)
    nftnl_expr_set_u16 (e, NFTNL_EXPR_QUEUE_FLAGS, NFT_QUEUE_FLAG_BYPASS);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

/* xtables NFQUEUE, revision 3, through nft_compat.  NFQUEUE has no protocol
 * requirement, so the rule needs no NFTA_RULE_COMPAT. */
static int
add_queue_xt (NftnlRule *rule,
              uint16_t   queue_num,
              bool       bypass)
{
  const size_t info_len = XT_ALIGN (sizeof (struct xt_NFQ_info_v3));
  g_autoptr (NftnlExpr) e = nftnl_expr_alloc ("target");
  struct xt_NFQ_info_v3 *info;

  if (e == NULL)
    return -ENOMEM;
  /* calloc: libnftnl takes this pointer and frees it with the expression */
  info = calloc (1, info_len);
  if (info == NULL)
    return -ENOMEM;
  info->queuenum = queue_num;
  info->queues_total = 1;
  info->flags = bypass ? NFQ_FLAG_BYPASS : 0;

  nftnl_expr_set_str (e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
  nftnl_expr_set_u32 (e, NFTNL_EXPR_TG_REV, 3);
  nftnl_expr_set (e, NFTNL_EXPR_TG_INFO, info, info_len);  /* e owns info */
  nftnl_rule_add_expr (rule, g_steal_pointer (&e));
  return 0;
}

static int
add_redirect (NftnlRule *rule,
              uint16_t   port)
{
  const uint16_t nport = htons (port);
  NftnlExpr *e;

  e = nftnl_expr_alloc ("immediate");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
  nftnl_expr_set (e, NFTNL_EXPR_IMM_DATA, &nport, sizeof nport);
  nftnl_rule_add_expr (rule, e);

  e = nftnl_expr_alloc ("redir");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_drop (NftnlRule *rule)
{
  NftnlExpr *e = nftnl_expr_alloc ("immediate");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_step (NftnlRule               *rule,
          Step                     step,
          const TrellisNftConfig  *config)
{
  int r;

  switch (step)
    {
    case STEP_SKUID_IN_SET:
      r = add_meta (rule, NFT_META_SKUID);
      return r < 0 ? r : add_lookup (rule);
    case STEP_MARK:
      r = add_meta (rule, NFT_META_MARK);
      return r < 0 ? r : add_cmp (rule, NFT_CMP_EQ, &config->mark, sizeof config->mark);
    case STEP_UDP_DPORT_53:
      return add_dport_53 (rule, IPPROTO_UDP);
    case STEP_TCP_DPORT_53:
      return add_dport_53 (rule, IPPROTO_TCP);
    case STEP_CT_STATE_NEW:
      return add_ct_state_new (rule);
    case STEP_QUEUE:
      if (config->queue_expr == TRELLIS_QUEUE_EXPR_XT)
        return add_queue_xt (rule, config->queue_num, config->bypass);
      return add_queue_native (rule, config->queue_num, config->bypass);
    case STEP_REDIRECT:
      return add_redirect (rule, config->answer_port);
    case STEP_DROP:
      return add_drop (rule);
    case STEP_END:
    default:
      return -EINVAL;
    }
}

static int
put_rule (struct mnl_nlmsg_batch  *batch,
          const char              *table,
          const RuleSpec          *spec,
          const TrellisNftConfig  *config,
          uint32_t                *seq)
{
  g_autoptr (NftnlRule) rule = nftnl_rule_alloc ();
  struct nlmsghdr *nlh;
  size_t i;

  if (rule == NULL)
    return -ENOMEM;
  if (nftnl_rule_set_str (rule, NFTNL_RULE_TABLE, table) < 0
      || nftnl_rule_set_str (rule, NFTNL_RULE_CHAIN, spec->chain) < 0)
    return -ENOMEM;
  nftnl_rule_set_u32 (rule, NFTNL_RULE_FAMILY, NFPROTO_INET);

  for (i = 0; i < G_N_ELEMENTS (spec->steps) && spec->steps[i] != STEP_END; i++)
    {
      int r = add_step (rule, spec->steps[i], config);

      if (r < 0)
        return r;
    }

  nlh = msg_start (batch, NFT_MSG_NEWRULE,
                   NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq);
  nftnl_rule_nlmsg_build_payload (nlh, rule);
  return msg_end (batch);
}

int
trellis_nft_batch_build (const TrellisNftConfig  *config,
                         struct mnl_nlmsg_batch  *batch,
                         uint32_t                *seq)
{
  uint32_t s;
  size_t i;
  int r;

  r = config_check (config);
  if (r < 0)
    return r;
  if (batch == NULL || seq == NULL)
    return -EINVAL;
  s = *seq;

  r = batch_begin (batch, &s);
  /* Create it if missing, so that deleting it cannot fail, then start over. */
  if (r == 0)
    r = put_table (batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, config->table, &s);
  if (r == 0)
    r = put_table (batch, NFT_MSG_DELTABLE, 0, config->table, &s);
  if (r == 0)
    r = put_table (batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, config->table, &s);
  if (r == 0)
    r = put_set (batch, config->table, &s);
  if (r == 0)
    r = put_set_elems (batch, config->table, config->uids, config->n_uids, &s);
  for (i = 0; r == 0 && i < G_N_ELEMENTS (chain_specs); i++)
    r = put_chain (batch, config->table, &chain_specs[i], &s);
  for (i = 0; r == 0 && i < G_N_ELEMENTS (rule_specs); i++)
    r = put_rule (batch, config->table, &rule_specs[i], config, &s);
  if (r == 0)
    r = batch_end (batch, &s);
  if (r < 0)
    return r;

  *seq = s;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Talking to the kernel */

typedef struct {
  uint32_t seq_lo;       /* the batch's sequence numbers, inclusive */
  uint32_t seq_hi;
  size_t   n_expected;   /* messages that asked for an ACK */
  size_t   n_acked;
  int      error;        /* first error in batch order, -errno, or 0 */
  uint32_t error_seq;
} AckState;

static int
ack_cb (const struct nlmsghdr *nlh,
        void                  *data)
{
  AckState *st = data;
  const struct nlmsgerr *err;

  if (nlh->nlmsg_len < mnl_nlmsg_size (sizeof *err))
    {
      errno = EBADMSG;
      return MNL_CB_ERROR;
    }
  if (nlh->nlmsg_seq < st->seq_lo || nlh->nlmsg_seq > st->seq_hi)
    return MNL_CB_OK;  /* not about this batch */

  err = mnl_nlmsg_get_payload (nlh);
  st->n_acked++;
  if (err->error < 0 && (st->error == 0 || nlh->nlmsg_seq < st->error_seq))
    {
      st->error = err->error;
      st->error_seq = nlh->nlmsg_seq;
    }
  /* Keep going: the other ACKs of this batch may follow in the buffer. */
  return MNL_CB_OK;
}

static void
socket_buffer_ensure (int    fd,
                      int    opt,
                      int    opt_force,
                      size_t want)
{
  int cur = 0;
  socklen_t len = sizeof cur;
  int v;

  if (want > INT_MAX / 2)
    want = INT_MAX / 2;
  /* The kernel reports twice what was asked for. */
  if (getsockopt (fd, SOL_SOCKET, opt, &cur, &len) == 0 && (size_t) cur / 2 >= want)
    return;
  v = (int) want;
  if (setsockopt (fd, SOL_SOCKET, opt_force, &v, sizeof v) < 0)
    (void) setsockopt (fd, SOL_SOCKET, opt, &v, sizeof v);
}

static uint32_t
seq_initial (void)
{
  uint32_t seq = (uint32_t) time (NULL);

  return seq == 0 ? 1 : seq;
}

/*
 * Sends @batch as one sendmsg() and reads ACKs until every message that
 * asked for one has one (or the kernel has nothing more to say after an
 * error).  @ret_state gets the tally.  Returns: 0 when the exchange worked
 * (the kernel's verdict is in @ret_state->error), or -errno.
 */
static int
batch_talk (struct mnl_nlmsg_batch *batch,
            AckState               *ret_state)
{
  mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = { NULL };
  const void *head = mnl_nlmsg_batch_head (batch);
  size_t len = mnl_nlmsg_batch_size (batch);
  const struct nlmsghdr *nlh;
  g_autoptr (MnlSocket) nl = NULL;
  g_autofree char *rbuf = NULL;
  size_t rbuf_len = MAX ((size_t) MNL_SOCKET_BUFFER_SIZE, (size_t) 32768);
  AckState st = { 0 };
  bool first = true;
  int fd;
  int one = 1;
  int rest = (int) len;

  /* Tally the batch: its sequence numbers and how many ACKs to expect. */
  for (nlh = head; mnl_nlmsg_ok (nlh, rest); nlh = mnl_nlmsg_next (nlh, &rest))
    {
      if (first || nlh->nlmsg_seq < st.seq_lo)
        st.seq_lo = nlh->nlmsg_seq;
      if (first || nlh->nlmsg_seq > st.seq_hi)
        st.seq_hi = nlh->nlmsg_seq;
      if (nlh->nlmsg_flags & NLM_F_ACK)
        st.n_expected++;
      first = false;
    }
  if (first)
    return -EINVAL;

  rbuf = malloc (rbuf_len);
  if (rbuf == NULL)
    return -ENOMEM;

  nl = mnl_socket_open2 (NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (nl == NULL)
    return -errno;
  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return -errno;
  fd = mnl_socket_get_fd (nl);

  /* Optional: better error reports, and error ACKs without a copy of the
   * (possibly large) message they answer. */
  (void) mnl_socket_setsockopt (nl, NETLINK_EXT_ACK, &one, sizeof one);
  (void) mnl_socket_setsockopt (nl, NETLINK_CAP_ACK, &one, sizeof one);
  socket_buffer_ensure (fd, SO_SNDBUF, SO_SNDBUFFORCE, len + 4096);
  socket_buffer_ensure (fd, SO_RCVBUF, SO_RCVBUFFORCE, st.n_expected * 1024);

  if (mnl_socket_sendto (nl, head, len) != (ssize_t) len)
    return errno != 0 ? -errno : -EIO;

  ctl_cbs[NLMSG_ERROR] = ack_cb;
  for (;;)
    {
      ssize_t n = recv (fd, rbuf, rbuf_len, MSG_DONTWAIT);

      if (n < 0)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLIN };
          int p;

          if (errno == EINTR)
            continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;  /* -ENOBUFS: ACKs were lost */
          if (st.n_acked >= st.n_expected || st.error < 0)
            break;
          p = poll (&pfd, 1, ACK_TIMEOUT_MS);
          if (p < 0 && errno != EINTR)
            return -errno;
          if (p == 0)
            return -ETIMEDOUT;
          continue;
        }
      if (mnl_cb_run2 (rbuf, (size_t) n, 0, mnl_socket_get_portid (nl),
                       NULL, &st, ctl_cbs, G_N_ELEMENTS (ctl_cbs)) == MNL_CB_ERROR)
        return errno != 0 ? -errno : -EBADMSG;
    }

  *ret_state = st;
  return 0;
}

static int
batch_new (size_t                   limit,
           char                   **ret_buf,
           struct mnl_nlmsg_batch **ret_batch)
{
  g_autofree char *buf = malloc (limit + TRELLIS_NFT_MSG_SIZE_MAX);
  struct mnl_nlmsg_batch *batch;

  if (buf == NULL)
    return -ENOMEM;
  batch = mnl_nlmsg_batch_start (buf, limit);
  if (batch == NULL)
    return -ENOMEM;
  *ret_buf = g_steal_pointer (&buf);
  *ret_batch = batch;
  return 0;
}

int
trellis_nft_apply (const TrellisNftConfig *config)
{
  g_autofree char *buf = NULL;
  g_autoptr (MnlNlmsgBatch) batch = NULL;
  AckState st;
  uint32_t seq = seq_initial ();
  int r;

  r = config_check (config);
  if (r < 0)
    return r;
  r = batch_new (trellis_nft_batch_size (config), &buf, &batch);
  if (r < 0)
    return r;
  r = trellis_nft_batch_build (config, batch, &seq);
  if (r < 0)
    return r;
  r = batch_talk (batch, &st);
  if (r < 0)
    return r;
  return st.error;
}

int
trellis_nft_delete_table (const char *table)
{
  g_autofree char *buf = NULL;
  g_autoptr (MnlNlmsgBatch) batch = NULL;
  AckState st;
  uint32_t seq = seq_initial ();
  int r;

  if (!table_name_valid (table))
    return -EINVAL;
  r = batch_new (3 * FIXED_MSG_MAX, &buf, &batch);
  if (r < 0)
    return r;
  r = batch_begin (batch, &seq);
  if (r == 0)
    r = put_table (batch, NFT_MSG_DELTABLE, 0, table, &seq);
  if (r == 0)
    r = batch_end (batch, &seq);
  if (r < 0)
    return r;
  r = batch_talk (batch, &st);
  if (r < 0)
    return r;
  return st.error == -ENOENT ? 0 : st.error;
}

int
trellis_nft_probe_queue_expr (TrellisQueueExpr *ret_expr)
{
  static const ChainSpec probe_chain = { PROBE_CHAIN, NULL, 0, 0 };
  static const RuleSpec probe_rule = { PROBE_CHAIN, { STEP_QUEUE } };
  const TrellisNftConfig probe_config = {
    .table = PROBE_TABLE,
    .queue_num = 0,
    .bypass = true,
    .queue_expr = TRELLIS_QUEUE_EXPR_NATIVE,
  };
  g_autofree char *buf = NULL;
  g_autoptr (MnlNlmsgBatch) batch = NULL;
  AckState st;
  uint32_t seq = seq_initial ();
  uint32_t rule_seq;
  int r;

  if (ret_expr == NULL)
    return -EINVAL;
  r = batch_new (4 * FIXED_MSG_MAX, &buf, &batch);
  if (r < 0)
    return r;
  /* No BATCH_END: the kernel checks every message, reports, then aborts. */
  r = batch_begin (batch, &seq);
  if (r == 0)
    r = put_table (batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, PROBE_TABLE, &seq);
  if (r == 0)
    r = put_chain (batch, PROBE_TABLE, &probe_chain, &seq);
  rule_seq = seq;
  if (r == 0)
    r = put_rule (batch, PROBE_TABLE, &probe_rule, &probe_config, &seq);
  if (r < 0)
    return r;

  r = batch_talk (batch, &st);
  if (r < 0)
    return r;
  if (st.error == 0)
    {
      *ret_expr = TRELLIS_QUEUE_EXPR_NATIVE;
      return 0;
    }
  if (st.error_seq == rule_seq && (st.error == -ENOENT || st.error == -EOPNOTSUPP))
    {
      *ret_expr = TRELLIS_QUEUE_EXPR_XT;
      return 0;
    }
  return st.error;
}
