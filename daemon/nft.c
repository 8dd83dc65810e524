/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nft.c — a kernel plan (policy/nft-plan.h) as one libnftnl batch, sent with
 * libmnl.
 *
 * Every message is built from typed libnftnl attributes; nothing here knows
 * nft's command language, and nothing here knows which rules trellisd
 * wants: that is the plan's business.  The batch only ever names
 * plan->table in family inet.  Kernel-facing: returns >= 0 or -errno, never
 * logs.
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

/* nftables' own numbering (src/datatype.h: enum datatypes, enum byteorder),
 * which it keeps in the set's key type and user data. */
#define NFT_DATATYPE_IPADDR    7u
#define NFT_DATATYPE_IP6ADDR   8u
#define NFT_DATATYPE_ETHERADDR 9u
#define NFT_DATATYPE_UID       24u
#define NFT_DATATYPE_TIME_DATE 43u
/* nftables' expression type of `meta` (src/expression.h: enum expr_types),
 * kept in a typeof set's user data. */
#define NFT_EXPR_TYPE_META 9u
#define NFT_BYTEORDER_HOST 1u
#define NFT_BYTEORDER_BIG  2u

/* ICMP and ICMPv6 "port unreachable" codes, as nft's reject sends them. */
#define ICMP_CODE_PORT_UNREACH   3u
#define ICMPV6_CODE_PORT_UNREACH 4u

/* One element on the wire, at most: NFTA_LIST_ELEM nest (4) holding an
 * NFTA_SET_ELEM_KEY nest (4) holding NFTA_DATA_VALUE (4 + key), and
 * NFTA_SET_ELEM_FLAGS (8) on an interval's end. */
#define ELEM_WIRE_SIZE(klen) (4u + 4u + 4u + NLMSG_ALIGN (klen) + 8u)
/* Everything in a message but the elements: headers, a table and a set
 * name of at most 255 bytes each, the set's id, the list nest. */
#define MSG_OVERHEAD_MAX    1024u
#define ELEMS_PER_MSG(klen) ((TRELLIS_NFT_MSG_SIZE_MAX - MSG_OVERHEAD_MAX) / ELEM_WIRE_SIZE (klen))
/* Each message other than the elements (table, set, chain, rule) is smaller. */
#define FIXED_MSG_MAX 2048u
/* The longest rule the translator takes, in steps. */
#define RULE_STEPS_MAX 16u
/* BATCH_BEGIN, NEWTABLE, DELTABLE, NEWTABLE, BATCH_END */
#define N_FRAME_MSGS 5u

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

/* ---------------------------------------------------------------------- */
/* Checking the plan */

static bool
name_valid (const char *name)
{
  size_t len;

  if (name == NULL)
    return false;
  /* NFT_TABLE_MAXNAMELEN == NFT_CHAIN_MAXNAMELEN == NFT_SET_MAXNAMELEN */
  len = strnlen (name, NFT_TABLE_MAXNAMELEN);
  return len > 0 && len < NFT_TABLE_MAXNAMELEN;
}

static size_t
key_len (TrellisNftKeyType key)
{
  switch (key)
    {
    case TRELLIS_NFT_KEY_UID: return 4;
    case TRELLIS_NFT_KEY_IPV4_ADDR: return 4;
    case TRELLIS_NFT_KEY_IPV6_ADDR: return 16;
    case TRELLIS_NFT_KEY_TIME: return 8;
    case TRELLIS_NFT_KEY_ETHER_ADDR: return 6;
    default: return 0;
    }
}

static bool
set_valid (const TrellisNftSet *s)
{
  if (!name_valid (s->name) || key_len (s->key) == 0)
    return false;
  if (s->timeout && (s->interval || s->n_uids != 0 || s->n_cidrs != 0 || s->n_times != 0))
    return false; /* filled at run time only */
  if (s->key == TRELLIS_NFT_KEY_UID)
    return !s->interval && s->n_cidrs == 0 && s->n_times == 0
           && (s->n_uids == 0 || s->uids != NULL) && s->n_uids <= TRELLIS_NFT_UIDS_MAX;
  if (s->key == TRELLIS_NFT_KEY_TIME)
    {
      if (!s->interval || s->n_uids != 0 || s->n_cidrs != 0 || (s->n_times > 0 && s->times == NULL)
          || s->n_times > TRELLIS_NFT_UIDS_MAX)
        return false;
      for (size_t i = 0; i < s->n_times; i++)
        if (s->times[i].start < 0 || s->times[i].end <= s->times[i].start
            || (i > 0 && s->times[i].start <= s->times[i - 1].end))
          return false;
      return true;
    }
  if (s->key == TRELLIS_NFT_KEY_ETHER_ADDR)
    return !s->interval && !s->timeout && s->n_uids == 0 && s->n_times == 0
           && (s->n_cidrs == 0 || s->cidrs != NULL) && s->n_cidrs <= TRELLIS_NFT_UIDS_MAX;
  if (s->timeout)
    return true;
  if (!s->interval || s->n_uids != 0 || s->n_times != 0 || (s->n_cidrs > 0 && s->cidrs == NULL)
      || s->n_cidrs > TRELLIS_NFT_UIDS_MAX)
    return false;
  for (size_t i = 0; i < s->n_cidrs; i++)
    if (s->cidrs[i].prefix_len > key_len (s->key) * 8)
      return false;
  return true;
}

static bool
step_set_valid (const TrellisNftPlan *plan, const TrellisNftStep *st, TrellisNftKeyType key)
{
  return st->set < plan->n_sets && plan->sets[st->set].key == key;
}

static bool
step_valid (const TrellisNftPlan *plan, const TrellisNftStep *st)
{
  switch (st->kind)
    {
    case TRELLIS_NFT_STEP_SKUID_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_UID);
    case TRELLIS_NFT_STEP_IP_DADDR_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_IPV4_ADDR);
    case TRELLIS_NFT_STEP_IP6_DADDR_IN_SET:
    case TRELLIS_NFT_STEP_IP6_DADDR_NOT_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_IPV6_ADDR);
    case TRELLIS_NFT_STEP_IP_DADDR_NOT_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_IPV4_ADDR);
    case TRELLIS_NFT_STEP_TIME_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_TIME);
    case TRELLIS_NFT_STEP_ETHER_SADDR_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_ETHER_ADDR);
    case TRELLIS_NFT_STEP_IP_SADDR_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_IPV4_ADDR);
    case TRELLIS_NFT_STEP_IP6_SADDR_IN_SET:
      return step_set_valid (plan, st, TRELLIS_NFT_KEY_IPV6_ADDR);
    case TRELLIS_NFT_STEP_IIFNAME:
      return st->value < plan->n_ifnames && plan->ifnames != NULL
             && strlen (plan->ifnames[st->value]) > 0 && strlen (plan->ifnames[st->value]) < 16;
    case TRELLIS_NFT_STEP_MARK_SET:
      return true;
    case TRELLIS_NFT_STEP_UDP_SPORT:
    case TRELLIS_NFT_STEP_UDP_DPORT:
    case TRELLIS_NFT_STEP_TCP_DPORT:
    case TRELLIS_NFT_STEP_UDP_DPORT_NOT:
    case TRELLIS_NFT_STEP_TCP_DPORT_NOT:
      return st->value <= UINT16_MAX;
    case TRELLIS_NFT_STEP_REDIRECT:
      return st->value > 0 && st->value <= UINT16_MAX;
    case TRELLIS_NFT_STEP_CT_ZONE_SET:
      return st->value <= UINT16_MAX;
    case TRELLIS_NFT_STEP_QUEUE:
      return st->value + MAX (st->total, 1) - 1 <= UINT16_MAX
             && st->total <= TRELLIS_NFT_QUEUE_TOTAL_MAX;
    case TRELLIS_NFT_STEP_MARK:
    case TRELLIS_NFT_STEP_CT_MARK:
    case TRELLIS_NFT_STEP_CT_MARK_SET:
    case TRELLIS_NFT_STEP_ACCEPT:
    case TRELLIS_NFT_STEP_OIF_LO:
    case TRELLIS_NFT_STEP_CT_STATE_NEW:
    case TRELLIS_NFT_STEP_COUNTER:
    case TRELLIS_NFT_STEP_DROP:
    case TRELLIS_NFT_STEP_REJECT:
    case TRELLIS_NFT_STEP_NOTRACK:
      return true;
    default:
      return false;
    }
}

static int
plan_check (const TrellisNftPlan *plan)
{
  size_t i, j;

  if (plan == NULL || !name_valid (plan->table))
    return -EINVAL;
  if (plan->queue_expr != TRELLIS_QUEUE_EXPR_NATIVE
      && plan->queue_expr != TRELLIS_QUEUE_EXPR_XT)
    return -EINVAL;
  if ((plan->n_sets > 0 && plan->sets == NULL)
      || (plan->n_chains > 0 && plan->chains == NULL)
      || (plan->n_rules > 0 && plan->rules == NULL))
    return -EINVAL;
  /* set ids are 1-based u32s; keep the counts sane */
  if (plan->n_sets > 1024 || plan->n_chains > 1024 || plan->n_rules > 65536)
    return -EINVAL;
  for (i = 0; i < plan->n_sets; i++)
    if (!set_valid (&plan->sets[i]))
      return -EINVAL;
  for (i = 0; i < plan->n_chains; i++)
    {
      const TrellisNftChain *c = &plan->chains[i];

      if (!name_valid (c->name)
          || (c->type != TRELLIS_NFT_CHAIN_FILTER && c->type != TRELLIS_NFT_CHAIN_NAT))
        return -EINVAL;
      if (c->hook != TRELLIS_NFT_HOOK_PREROUTING && c->hook != TRELLIS_NFT_HOOK_FORWARD
          && c->hook != TRELLIS_NFT_HOOK_INPUT
          && c->hook != TRELLIS_NFT_HOOK_OUTPUT && c->hook != TRELLIS_NFT_HOOK_POSTROUTING)
        return -EINVAL;
    }
  for (i = 0; i < plan->n_rules; i++)
    {
      const TrellisNftRule *r = &plan->rules[i];

      if (r->chain >= plan->n_chains || r->n_steps == 0 || r->n_steps > RULE_STEPS_MAX
          || r->steps == NULL)
        return -EINVAL;
      for (j = 0; j < r->n_steps; j++)
        if (!step_valid (plan, &r->steps[j]))
          return -EINVAL;
    }
  return 0;
}

/* Elements on the wire: one per uid; a start and (unless the range runs to
 * the last address) an end per address range. */
static size_t
set_n_wire_elems (const TrellisNftSet *s)
{
  if (s->key == TRELLIS_NFT_KEY_TIME)
    return 2 * s->n_times;
  if (s->key == TRELLIS_NFT_KEY_ETHER_ADDR)
    return s->n_cidrs;
  return s->key == TRELLIS_NFT_KEY_UID ? s->n_uids : 2 * s->n_cidrs;
}

static size_t
set_n_elem_msgs (const TrellisNftSet *s)
{
  size_t per = ELEMS_PER_MSG (key_len (s->key));

  return (set_n_wire_elems (s) + per - 1) / per;
}

static size_t
plan_n_elem_msgs (const TrellisNftPlan *plan)
{
  size_t n = 0;

  for (size_t i = 0; i < plan->n_sets; i++)
    n += set_n_elem_msgs (&plan->sets[i]);
  return n;
}

static size_t
plan_n_fixed_msgs (const TrellisNftPlan *plan)
{
  return N_FRAME_MSGS + plan->n_sets + plan->n_chains + plan->n_rules;
}

size_t
trellis_nft_batch_count (const TrellisNftPlan *plan)
{
  if (plan_check (plan) < 0)
    return 0;
  return plan_n_fixed_msgs (plan) + plan_n_elem_msgs (plan);
}

size_t
trellis_nft_batch_size (const TrellisNftPlan *plan)
{
  if (plan_check (plan) < 0)
    return 0;
  return plan_n_fixed_msgs (plan) * FIXED_MSG_MAX
         + plan_n_elem_msgs (plan) * TRELLIS_NFT_MSG_SIZE_MAX;
}

/* ---------------------------------------------------------------------- */
/* Messages */

/* The next message goes where the batch's cursor is; the batch has room for
 * TRELLIS_NFT_MSG_SIZE_MAX bytes there even when its limit is reached. */
static struct nlmsghdr *
msg_start (struct mnl_nlmsg_batch *batch,
           uint16_t type,
           uint16_t flags,
           uint32_t *seq)
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
             uint32_t *seq)
{
  nftnl_batch_begin (mnl_nlmsg_batch_current (batch), (*seq)++);
  return msg_end (batch);
}

static int
batch_end (struct mnl_nlmsg_batch *batch,
           uint32_t *seq)
{
  nftnl_batch_end (mnl_nlmsg_batch_current (batch), (*seq)++);
  return msg_end (batch);
}

static int
put_table (struct mnl_nlmsg_batch *batch,
           uint16_t type,
           uint16_t flags,
           const char *name,
           uint32_t *seq)
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


/* A base chain when @type is set, a regular one otherwise. */
static int
put_chain (struct mnl_nlmsg_batch *batch,
           const char *table,
           const char *name,
           const char *type,
           uint32_t hook,
           int32_t priority,
           uint32_t *seq)
{
  g_autoptr (NftnlChain) c = nftnl_chain_alloc ();
  struct nlmsghdr *nlh;

  if (c == NULL)
    return -ENOMEM;
  if (nftnl_chain_set_str (c, NFTNL_CHAIN_TABLE, table) < 0
      || nftnl_chain_set_str (c, NFTNL_CHAIN_NAME, name) < 0)
    return -ENOMEM;
  nftnl_chain_set_u32 (c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
  if (type != NULL)
    {
      if (nftnl_chain_set_str (c, NFTNL_CHAIN_TYPE, type) < 0)
        return -ENOMEM;
      nftnl_chain_set_u32 (c, NFTNL_CHAIN_HOOKNUM, hook);
      nftnl_chain_set_s32 (c, NFTNL_CHAIN_PRIO, priority);
      nftnl_chain_set_u32 (c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }

  nlh = msg_start (batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, seq);
  nftnl_chain_nlmsg_build_payload (nlh, c);
  return msg_end (batch);
}

static int
put_plan_chain (struct mnl_nlmsg_batch *batch,
                const char *table,
                const TrellisNftChain *chain,
                uint32_t *seq)
{
  return put_chain (batch, table, chain->name,
                    chain->type == TRELLIS_NFT_CHAIN_NAT ? "nat" : "filter",
                    (uint32_t) chain->hook, chain->priority, seq);
}

/* Set @index of the plan: ids are 1-based so that 0 means none. */
static uint32_t
set_id (size_t index)
{
  return (uint32_t) index + 1;
}

static NftnlSet *
set_new (const char *table,
         const char *name,
         uint32_t id)
{
  g_autoptr (NftnlSet) s = nftnl_set_alloc ();

  if (s == NULL)
    return NULL;
  if (nftnl_set_set_str (s, NFTNL_SET_TABLE, table) < 0
      || nftnl_set_set_str (s, NFTNL_SET_NAME, name) < 0)
    return NULL;
  nftnl_set_set_u32 (s, NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_u32 (s, NFTNL_SET_ID, id);
  return g_steal_pointer (&s);
}

static int
put_set (struct mnl_nlmsg_batch *batch,
         const char *table,
         const TrellisNftSet *set,
         uint32_t id,
         uint32_t *seq)
{
  g_autoptr (NftnlSet) s = set_new (table, set->name, id);
  g_autoptr (NftnlUdataBuf) ud = nftnl_udata_buf_alloc (NFT_USERDATA_MAXLEN);
  uint32_t type, byteorder;
  struct nlmsghdr *nlh;

  if (s == NULL || ud == NULL)
    return -ENOMEM;
  switch (set->key)
    {
    case TRELLIS_NFT_KEY_IPV4_ADDR:
      type = NFT_DATATYPE_IPADDR;
      byteorder = NFT_BYTEORDER_BIG;
      break;
    case TRELLIS_NFT_KEY_IPV6_ADDR:
      type = NFT_DATATYPE_IP6ADDR;
      byteorder = NFT_BYTEORDER_BIG;
      break;
    case TRELLIS_NFT_KEY_TIME:
      /* The elements are big endian (a byteorder expression turns the
       * packet's time around before the lookup, as nft does for a host
       * order key in an interval set); the key itself is host order. */
      type = NFT_DATATYPE_TIME_DATE;
      byteorder = NFT_BYTEORDER_HOST;
      break;
    case TRELLIS_NFT_KEY_ETHER_ADDR:
      type = NFT_DATATYPE_ETHERADDR;
      byteorder = NFT_BYTEORDER_BIG;
      break;
    case TRELLIS_NFT_KEY_UID:
    default:
      type = NFT_DATATYPE_UID;
      byteorder = NFT_BYTEORDER_HOST;
      break;
    }
  nftnl_set_set_u32 (s, NFTNL_SET_FLAGS,
                     (set->interval ? NFT_SET_INTERVAL : 0) | (set->timeout ? NFT_SET_TIMEOUT : 0));
  nftnl_set_set_u32 (s, NFTNL_SET_KEY_TYPE, type);
  nftnl_set_set_u32 (s, NFTNL_SET_KEY_LEN, (uint32_t) key_len (set->key));
  /* nft reads the key's byte order from here to print the elements. */
  if (!nftnl_udata_put_u32 (ud, NFTNL_UDATA_SET_KEYBYTEORDER, byteorder))
    return -ENOMEM;
  if (set->key == TRELLIS_NFT_KEY_TIME)
    {
      /* "typeof meta time", as nft writes it: the expression's type and
       * its meta key.  Without it nft would print "type time", which it
       * reads back as a relative time. */
      g_autoptr (NftnlUdataBuf) expr = nftnl_udata_buf_alloc (64);
      g_autoptr (NftnlUdataBuf) data = nftnl_udata_buf_alloc (64);

      if (expr == NULL || data == NULL
          || !nftnl_udata_put_u32 (data, 0 /* NFTNL_UDATA_META_KEY */, NFT_META_TIME_NS)
          || !nftnl_udata_put_u32 (expr, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_EXPR_TYPE_META)
          || !nftnl_udata_put (expr, NFTNL_UDATA_SET_TYPEOF_DATA, nftnl_udata_buf_len (data),
                               nftnl_udata_buf_data (data))
          || !nftnl_udata_put (ud, NFTNL_UDATA_SET_KEY_TYPEOF, nftnl_udata_buf_len (expr),
                               nftnl_udata_buf_data (expr)))
        return -ENOMEM;
    }
  /* copied by libnftnl */
  if (nftnl_set_set_data (s, NFTNL_SET_USERDATA, nftnl_udata_buf_data (ud),
                          nftnl_udata_buf_len (ud))
      < 0)
    return -ENOMEM;

  nlh = msg_start (batch, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_ACK, seq);
  nftnl_set_nlmsg_build_payload (nlh, s);
  return msg_end (batch);
}

/* The @i-th element on the wire of @set: a uid, or for range i / 2 its
 * first address (even i) or the address after its last (odd i, an interval
 * end).  Returns false when there is no such element (the end of a range
 * that runs to the last address). */
static bool
set_wire_elem (const TrellisNftSet *set,
               size_t i,
               uint8_t *ret_key,
               bool *ret_end)
{
  const TrellisNftCidr *c;
  size_t len = key_len (set->key);
  size_t k;
  unsigned carry = 1;

  if (set->key == TRELLIS_NFT_KEY_UID)
    {
      memcpy (ret_key, &set->uids[i], 4); /* host byte order */
      *ret_end = false;
      return true;
    }
  if (set->key == TRELLIS_NFT_KEY_ETHER_ADDR)
    {
      memcpy (ret_key, set->cidrs[i].addr, 6);
      *ret_end = false;
      return true;
    }
  if (set->key == TRELLIS_NFT_KEY_TIME)
    {
      const TrellisNftTimeRange *t = &set->times[i / 2];
      uint64_t be = GUINT64_TO_BE ((uint64_t) ((i % 2) == 0 ? t->start : t->end));

      memcpy (ret_key, &be, 8);
      *ret_end = (i % 2) == 1;
      return true;
    }
  c = &set->cidrs[i / 2];
  memcpy (ret_key, c->addr, len);
  *ret_end = (i % 2) == 1;
  if (!*ret_end)
    return true;
  /* last address of the prefix, then + 1 */
  for (k = 0; k < len; k++)
    {
      size_t bit = k * 8;

      if (bit >= c->prefix_len)
        ret_key[k] = 0xff;
      else if (bit + 8 > c->prefix_len)
        ret_key[k] |= (uint8_t) (0xffu >> (c->prefix_len - bit));
    }
  for (k = len; k-- > 0 && carry;)
    {
      unsigned v = ret_key[k] + carry;

      ret_key[k] = (uint8_t) v;
      carry = v >> 8;
    }
  return carry == 0;
}

/* At most ELEMS_PER_MSG elements per message, so none passes
 * TRELLIS_NFT_MSG_SIZE_MAX (nor the 64 KiB limit of a netlink attribute). */
static int
put_set_elems (struct mnl_nlmsg_batch *batch,
               const char *table,
               const TrellisNftSet *set,
               uint32_t id,
               uint32_t *seq)
{
  const size_t total = set_n_wire_elems (set);
  const size_t per = ELEMS_PER_MSG (key_len (set->key));
  size_t done = 0;

  while (done < total)
    {
      g_autoptr (NftnlSet) s = set_new (table, set->name, id);
      size_t n = MIN (total - done, per);
      struct nlmsghdr *nlh;
      size_t i;
      int r;

      if (s == NULL)
        return -ENOMEM;
      for (i = 0; i < n; i++)
        {
          struct nftnl_set_elem *e;
          uint8_t key[16];
          bool end;

          if (!set_wire_elem (set, done + i, key, &end))
            continue;
          e = nftnl_set_elem_alloc ();
          if (e == NULL)
            return -ENOMEM;
          nftnl_set_elem_set (e, NFTNL_SET_ELEM_KEY, key, (uint32_t) key_len (set->key));
          if (end)
            nftnl_set_elem_set_u32 (e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
          nftnl_set_elem_add (s, e); /* s owns e */
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
          uint32_t key)
{
  NftnlExpr *e = nftnl_expr_alloc ("meta");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  nftnl_rule_add_expr (rule, e); /* rule owns e */
  return 0;
}

static int
add_cmp (NftnlRule *rule,
         uint32_t op,
         const void *data,
         uint32_t len)
{
  NftnlExpr *e = nftnl_expr_alloc ("cmp");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set (e, NFTNL_EXPR_CMP_DATA, data, len); /* copied */
  nftnl_rule_add_expr (rule, e);
  return 0;
}

/* Register 1 in the set @index of @plan. */
static int
add_lookup (NftnlRule *rule,
            const TrellisNftPlan *plan,
            size_t index)
{
  NftnlExpr *e = nftnl_expr_alloc ("lookup");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_expr_set_str (e, NFTNL_EXPR_LOOKUP_SET, plan->sets[index].name);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_LOOKUP_SET_ID, set_id (index));
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_payload (NftnlRule *rule,
             uint32_t base,
             uint32_t offset,
             uint32_t len)
{
  NftnlExpr *e = nftnl_expr_alloc ("payload");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_dport (NftnlRule *rule,
           uint8_t l4proto,
           uint16_t dport,
           bool negate)
{
  const uint16_t port = htons (dport);
  int r;

  r = add_meta (rule, NFT_META_L4PROTO);
  if (r == 0)
    r = add_cmp (rule, NFT_CMP_EQ, &l4proto, sizeof l4proto);
  if (r == 0) /* UDP and TCP dport */
    r = add_payload (rule, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof port);
  if (r == 0)
    r = add_cmp (rule, negate ? NFT_CMP_NEQ : NFT_CMP_EQ, &port, sizeof port);
  return r;
}

/* ip daddr / ip6 daddr (@source: saddr) in a set, with the family check
 * nft adds in an inet table (and hides when it lists the rule). */
static int
add_addr_in_set (NftnlRule *rule,
                 const TrellisNftPlan *plan,
                 size_t index,
                 uint8_t nfproto,
                 bool source)
{
  /* struct iphdr saddr/daddr, struct ipv6hdr saddr/daddr */
  uint32_t offset = nfproto == NFPROTO_IPV4 ? (source ? 12 : 16) : (source ? 8 : 24);
  int r;

  r = add_meta (rule, NFT_META_NFPROTO);
  if (r == 0)
    r = add_cmp (rule, NFT_CMP_EQ, &nfproto, sizeof nfproto);
  if (r == 0)
    r = add_payload (rule, NFT_PAYLOAD_NETWORK_HEADER, offset, nfproto == NFPROTO_IPV4 ? 4 : 16);
  if (r == 0)
    r = add_lookup (rule, plan, index);
  return r;
}

/* ether saddr in a set, after the check nft adds: the input device is
 * an Ethernet one (meta iiftype ether). */
static int
add_ether_saddr_in_set (NftnlRule *rule,
                        const TrellisNftPlan *plan,
                        size_t index)
{
  const uint16_t ether = 1; /* ARPHRD_ETHER, host order */
  int r;

  r = add_meta (rule, NFT_META_IIFTYPE);
  if (r == 0)
    r = add_cmp (rule, NFT_CMP_EQ, &ether, sizeof ether);
  if (r == 0) /* struct ethhdr h_source */
    r = add_payload (rule, NFT_PAYLOAD_LL_HEADER, 6, 6);
  if (r == 0)
    r = add_lookup (rule, plan, index);
  return r;
}

/* meta mark set VALUE */
static int
add_mark_set (NftnlRule *rule, uint32_t value)
{
  NftnlExpr *e = nftnl_expr_alloc ("immediate");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
  nftnl_expr_set (e, NFTNL_EXPR_IMM_DATA, &value, sizeof value);
  nftnl_rule_add_expr (rule, e);
  e = nftnl_expr_alloc ("meta");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_SREG, NFT_REG_1);
  nftnl_rule_add_expr (rule, e);
  return 0;
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
/* Several queues (@total > 1) are spread by the CPU that handles the
 * packet (fanout): each queue thread of trellisd gets a CPU's share. */
static int
add_queue_native (NftnlRule *rule,
                  uint16_t queue_num,
                  uint16_t total,
                  bool bypass)
{
  NftnlExpr *e = nftnl_expr_alloc ("queue");
  uint16_t flags = (bypass ? NFT_QUEUE_FLAG_BYPASS : 0)
                   | (total > 1 ? NFT_QUEUE_FLAG_CPU_FANOUT : 0);

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u16 (e, NFTNL_EXPR_QUEUE_NUM, queue_num);
  nftnl_expr_set_u16 (e, NFTNL_EXPR_QUEUE_TOTAL, total);
  if (flags != 0)
    nftnl_expr_set_u16 (e, NFTNL_EXPR_QUEUE_FLAGS, flags);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

/* xtables NFQUEUE, revision 3, through nft_compat.  NFQUEUE has no protocol
 * requirement, so the rule needs no NFTA_RULE_COMPAT. */
static int
add_queue_xt (NftnlRule *rule,
              uint16_t queue_num,
              uint16_t total,
              bool bypass)
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
  info->queues_total = total;
  info->flags = (bypass ? NFQ_FLAG_BYPASS : 0) | (total > 1 ? NFQ_FLAG_CPU_FANOUT : 0);

  nftnl_expr_set_str (e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
  nftnl_expr_set_u32 (e, NFTNL_EXPR_TG_REV, 3);
  nftnl_expr_set (e, NFTNL_EXPR_TG_INFO, info, info_len); /* e owns info */
  nftnl_rule_add_expr (rule, g_steal_pointer (&e));
  return 0;
}

static int
add_redirect (NftnlRule *rule,
              uint16_t port)
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
add_counter (NftnlRule *rule)
{
  NftnlExpr *e = nftnl_expr_alloc ("counter");

  if (e == NULL)
    return -ENOMEM;
  nftnl_rule_add_expr (rule, e);
  return 0;
}

/* @family: 4 or 6 after an ip/ip6 match, 0 otherwise. */
static int
add_reject (NftnlRule *rule,
            int family)
{
  NftnlExpr *e = nftnl_expr_alloc ("reject");

  if (e == NULL)
    return -ENOMEM;
  if (family == 4 || family == 6)
    {
      nftnl_expr_set_u32 (e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
      nftnl_expr_set_u8 (e, NFTNL_EXPR_REJECT_CODE,
                         family == 4 ? ICMP_CODE_PORT_UNREACH : ICMPV6_CODE_PORT_UNREACH);
    }
  else
    {
      nftnl_expr_set_u32 (e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
      nftnl_expr_set_u8 (e, NFTNL_EXPR_REJECT_CODE, NFT_REJECT_ICMPX_PORT_UNREACH);
    }
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_immediate_verdict (NftnlRule *rule, int verdict)
{
  NftnlExpr *e = nftnl_expr_alloc ("immediate");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_VERDICT, (uint32_t) verdict);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_sport (NftnlRule *rule,
           uint8_t l4proto,
           uint16_t sport)
{
  const uint16_t port = htons (sport);
  int r;

  r = add_meta (rule, NFT_META_L4PROTO);
  if (r == 0)
    r = add_cmp (rule, NFT_CMP_EQ, &l4proto, sizeof l4proto);
  if (r == 0)
    r = add_payload (rule, NFT_PAYLOAD_TRANSPORT_HEADER, 0, sizeof port);
  if (r == 0)
    r = add_cmp (rule, NFT_CMP_EQ, &port, sizeof port);
  return r;
}

/* meta time @SET: the time turned big endian first, as the set holds it. */
static int
add_time_in_set (NftnlRule *rule,
                 const TrellisNftPlan *plan,
                 size_t index)
{
  NftnlExpr *e;
  int r;

  r = add_meta (rule, NFT_META_TIME_NS);
  if (r < 0)
    return r;
  e = nftnl_expr_alloc ("byteorder");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BYTEORDER_LEN, 8);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BYTEORDER_SIZE, 8);
  nftnl_rule_add_expr (rule, e);
  return add_lookup (rule, plan, index);
}

/* ct original zone set VALUE: the zone, 16 bits, for the original direction. */
static int
add_ct_zone_set (NftnlRule *rule, uint16_t zone)
{
  NftnlExpr *e = nftnl_expr_alloc ("immediate");

  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
  nftnl_expr_set (e, NFTNL_EXPR_IMM_DATA, &zone, sizeof zone);
  nftnl_rule_add_expr (rule, e);
  e = nftnl_expr_alloc ("ct");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_KEY, NFT_CT_ZONE);
  nftnl_expr_set_u8 (e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
  nftnl_rule_add_expr (rule, e);
  return 0;
}

static int
add_ct_mark (NftnlRule *rule, uint32_t value, bool set)
{
  NftnlExpr *e;

  if (set)
    {
      e = nftnl_expr_alloc ("immediate");
      if (e == NULL)
        return -ENOMEM;
      nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
      nftnl_expr_set (e, NFTNL_EXPR_IMM_DATA, &value, sizeof value);
      nftnl_rule_add_expr (rule, e);
      e = nftnl_expr_alloc ("ct");
      if (e == NULL)
        return -ENOMEM;
      nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
      nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
      nftnl_rule_add_expr (rule, e);
      return 0;
    }
  e = nftnl_expr_alloc ("ct");
  if (e == NULL)
    return -ENOMEM;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
  nftnl_rule_add_expr (rule, e);
  return add_cmp (rule, NFT_CMP_EQ, &value, sizeof value);
}

static int
add_step (NftnlRule *rule,
          const TrellisNftPlan *plan,
          const TrellisNftStep *st,
          int *family)
{
  int r;

  switch (st->kind)
    {
    case TRELLIS_NFT_STEP_SKUID_IN_SET:
      r = add_meta (rule, NFT_META_SKUID);
      return r < 0 ? r : add_lookup (rule, plan, st->set);
    case TRELLIS_NFT_STEP_MARK:
      r = add_meta (rule, NFT_META_MARK);
      return r < 0 ? r : add_cmp (rule, NFT_CMP_EQ, &st->value, sizeof st->value);
    case TRELLIS_NFT_STEP_UDP_DPORT:
      return add_dport (rule, IPPROTO_UDP, (uint16_t) st->value, false);
    case TRELLIS_NFT_STEP_TCP_DPORT:
      return add_dport (rule, IPPROTO_TCP, (uint16_t) st->value, false);
    case TRELLIS_NFT_STEP_UDP_DPORT_NOT:
      return add_dport (rule, IPPROTO_UDP, (uint16_t) st->value, true);
    case TRELLIS_NFT_STEP_TCP_DPORT_NOT:
      return add_dport (rule, IPPROTO_TCP, (uint16_t) st->value, true);
    case TRELLIS_NFT_STEP_CT_STATE_NEW:
      return add_ct_state_new (rule);
    case TRELLIS_NFT_STEP_IP_DADDR_IN_SET:
      *family = 4;
      return add_addr_in_set (rule, plan, st->set, NFPROTO_IPV4, false);
    case TRELLIS_NFT_STEP_IP6_DADDR_IN_SET:
      *family = 6;
      return add_addr_in_set (rule, plan, st->set, NFPROTO_IPV6, false);
    case TRELLIS_NFT_STEP_COUNTER:
      return add_counter (rule);
    case TRELLIS_NFT_STEP_QUEUE:
      if (plan->queue_expr == TRELLIS_QUEUE_EXPR_XT)
        return add_queue_xt (rule, (uint16_t) st->value, (uint16_t) MAX (st->total, 1), st->bypass);
      return add_queue_native (rule, (uint16_t) st->value, (uint16_t) MAX (st->total, 1),
                               st->bypass);
    case TRELLIS_NFT_STEP_REDIRECT:
      return add_redirect (rule, (uint16_t) st->value);
    case TRELLIS_NFT_STEP_DROP:
      return add_drop (rule);
    case TRELLIS_NFT_STEP_REJECT:
      return add_reject (rule, *family);
    case TRELLIS_NFT_STEP_ACCEPT:
      return add_immediate_verdict (rule, NF_ACCEPT);
    case TRELLIS_NFT_STEP_OIF_LO:
      {
        const uint32_t lo = 1; /* LOOPBACK_IFINDEX, in every namespace */

        r = add_meta (rule, NFT_META_OIF);
        return r < 0 ? r : add_cmp (rule, NFT_CMP_EQ, &lo, sizeof lo);
      }
    case TRELLIS_NFT_STEP_UDP_SPORT:
      return add_sport (rule, IPPROTO_UDP, (uint16_t) st->value);
    case TRELLIS_NFT_STEP_TIME_IN_SET:
      return add_time_in_set (rule, plan, st->set);
    case TRELLIS_NFT_STEP_IP_DADDR_NOT_IN_SET:
    case TRELLIS_NFT_STEP_IP6_DADDR_NOT_IN_SET:
      {
        bool v4 = st->kind == TRELLIS_NFT_STEP_IP_DADDR_NOT_IN_SET;

        *family = v4 ? 4 : 6;
        r = add_addr_in_set (rule, plan, st->set, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6, false);
        if (r == 0)
          {
            /* the lookup just added, inverted */
            struct nftnl_expr_iter *it = nftnl_expr_iter_create (rule);
            NftnlExpr *e, *last = NULL;

            if (it == NULL)
              return -ENOMEM;
            while ((e = nftnl_expr_iter_next (it)) != NULL)
              last = e;
            nftnl_expr_iter_destroy (it);
            if (last == NULL)
              return -EINVAL;
            nftnl_expr_set_u32 (last, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
          }
        return r;
      }
    case TRELLIS_NFT_STEP_CT_MARK:
      return add_ct_mark (rule, st->value, false);
    case TRELLIS_NFT_STEP_CT_MARK_SET:
      return add_ct_mark (rule, st->value, true);
    case TRELLIS_NFT_STEP_IIFNAME:
      {
        char name[16] = { 0 }; /* IFNAMSIZ, as nft compares it */

        g_strlcpy (name, plan->ifnames[st->value], sizeof name);
        r = add_meta (rule, NFT_META_IIFNAME);
        return r < 0 ? r : add_cmp (rule, NFT_CMP_EQ, name, sizeof name);
      }
    case TRELLIS_NFT_STEP_ETHER_SADDR_IN_SET:
      return add_ether_saddr_in_set (rule, plan, st->set);
    case TRELLIS_NFT_STEP_IP_SADDR_IN_SET:
      *family = 4;
      return add_addr_in_set (rule, plan, st->set, NFPROTO_IPV4, true);
    case TRELLIS_NFT_STEP_IP6_SADDR_IN_SET:
      *family = 6;
      return add_addr_in_set (rule, plan, st->set, NFPROTO_IPV6, true);
    case TRELLIS_NFT_STEP_MARK_SET:
      return add_mark_set (rule, st->value);
    case TRELLIS_NFT_STEP_CT_ZONE_SET:
      return add_ct_zone_set (rule, (uint16_t) st->value);
    case TRELLIS_NFT_STEP_NOTRACK:
      {
        NftnlExpr *e = nftnl_expr_alloc ("notrack");

        if (e == NULL)
          return -ENOMEM;
        nftnl_rule_add_expr (rule, e);
        return 0;
      }
    default:
      return -EINVAL;
    }
}

static int
put_rule (struct mnl_nlmsg_batch *batch,
          const TrellisNftPlan *plan,
          const char *chain,
          const TrellisNftStep *steps,
          size_t n_steps,
          uint32_t *seq)
{
  g_autoptr (NftnlRule) rule = nftnl_rule_alloc ();
  struct nlmsghdr *nlh;
  int family = 0;
  size_t i;

  if (rule == NULL)
    return -ENOMEM;
  if (nftnl_rule_set_str (rule, NFTNL_RULE_TABLE, plan->table) < 0
      || nftnl_rule_set_str (rule, NFTNL_RULE_CHAIN, chain) < 0)
    return -ENOMEM;
  nftnl_rule_set_u32 (rule, NFTNL_RULE_FAMILY, NFPROTO_INET);

  for (i = 0; i < n_steps; i++)
    {
      int r = add_step (rule, plan, &steps[i], &family);

      if (r < 0)
        return r;
    }

  nlh = msg_start (batch, NFT_MSG_NEWRULE,
                   NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq);
  nftnl_rule_nlmsg_build_payload (nlh, rule);
  return msg_end (batch);
}

int
trellis_nft_batch_build_plan (const TrellisNftPlan *plan,
                              struct mnl_nlmsg_batch *batch,
                              uint32_t *seq)
{
  uint32_t s;
  size_t i;
  int r;

  r = plan_check (plan);
  if (r < 0)
    return r;
  if (batch == NULL || seq == NULL)
    return -EINVAL;
  s = *seq;

  r = batch_begin (batch, &s);
  /* Create it if missing, so that deleting it cannot fail, then start over. */
  if (r == 0)
    r = put_table (batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, plan->table, &s);
  if (r == 0)
    r = put_table (batch, NFT_MSG_DELTABLE, 0, plan->table, &s);
  if (r == 0)
    r = put_table (batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, plan->table, &s);
  for (i = 0; r == 0 && i < plan->n_sets; i++)
    {
      r = put_set (batch, plan->table, &plan->sets[i], set_id (i), &s);
      if (r == 0)
        r = put_set_elems (batch, plan->table, &plan->sets[i], set_id (i), &s);
    }
  for (i = 0; r == 0 && i < plan->n_chains; i++)
    r = put_plan_chain (batch, plan->table, &plan->chains[i], &s);
  for (i = 0; r == 0 && i < plan->n_rules; i++)
    r = put_rule (batch, plan, plan->chains[plan->rules[i].chain].name,
                  plan->rules[i].steps, plan->rules[i].n_steps, &s);
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
  uint32_t seq_lo; /* the batch's sequence numbers, inclusive */
  uint32_t seq_hi;
  size_t n_expected; /* messages that asked for an ACK */
  size_t n_acked;
  int error; /* first error in batch order, -errno, or 0 */
  uint32_t error_seq;
} AckState;

static int
ack_cb (const struct nlmsghdr *nlh,
        void *data)
{
  AckState *st = data;
  const struct nlmsgerr *err;

  if (nlh->nlmsg_len < mnl_nlmsg_size (sizeof *err))
    {
      errno = EBADMSG;
      return MNL_CB_ERROR;
    }
  if (nlh->nlmsg_seq < st->seq_lo || nlh->nlmsg_seq > st->seq_hi)
    return MNL_CB_OK; /* not about this batch */

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
socket_buffer_ensure (int fd,
                      int opt,
                      int opt_force,
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

/* The ports of the sockets the last batches went from (trellis_nft_portid_is_ours()).
 * Batches are sent from the main loop and from the reload's worker: atomics. */
#define OWN_PORTIDS 64
static uint32_t own_portids[OWN_PORTIDS];
static unsigned int own_next;

static void
portid_remember (uint32_t portid)
{
  unsigned int i = __atomic_fetch_add (&own_next, 1, __ATOMIC_RELAXED) % OWN_PORTIDS;

  __atomic_store_n (&own_portids[i], portid, __ATOMIC_RELEASE);
}

bool
trellis_nft_portid_is_ours (uint32_t portid)
{
  if (portid == 0)
    return false; /* the kernel's own */
  for (unsigned int i = 0; i < OWN_PORTIDS; i++)
    if (__atomic_load_n (&own_portids[i], __ATOMIC_ACQUIRE) == portid)
      return true;
  return false;
}

static int
batch_talk (struct mnl_nlmsg_batch *batch,
            AckState *ret_state)
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
  portid_remember (mnl_socket_get_portid (nl));
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
            return -errno; /* -ENOBUFS: ACKs were lost */
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
                       NULL, &st, ctl_cbs, G_N_ELEMENTS (ctl_cbs))
          == MNL_CB_ERROR)
        return errno != 0 ? -errno : -EBADMSG;
    }

  *ret_state = st;
  return 0;
}

static int
batch_new (size_t limit,
           char **ret_buf,
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


typedef int (*BatchBuild) (const TrellisNftPlan *plan,
                           struct mnl_nlmsg_batch *batch,
                           uint32_t *seq);

/* Checks @plan, builds one batch with @build and sends it, draining every
 * ACK.  Returns: 0, or the first error the kernel gave, as -errno. */
static int
plan_batch_run (const TrellisNftPlan *plan, BatchBuild build)
{
  g_autofree char *buf = NULL;
  g_autoptr (MnlNlmsgBatch) batch = NULL;
  AckState st;
  uint32_t seq = seq_initial ();
  int r;

  r = plan_check (plan);
  if (r < 0)
    return r;
  r = batch_new (trellis_nft_batch_size (plan), &buf, &batch);
  if (r < 0)
    return r;
  r = build (plan, batch, &seq);
  if (r < 0)
    return r;
  r = batch_talk (batch, &st);
  if (r < 0)
    return r;
  return st.error;
}

int
trellis_nft_apply_plan (const TrellisNftPlan *plan)
{
  return plan_batch_run (plan, trellis_nft_batch_build_plan);
}

/* Every set of @plan flushed and filled again, nothing else. */
static int
sets_update_build (const TrellisNftPlan *plan,
                   struct mnl_nlmsg_batch *batch,
                   uint32_t *seq)
{
  size_t i;
  int r;

  r = batch_begin (batch, seq);
  for (i = 0; r == 0 && i < plan->n_sets; i++)
    {
      g_autoptr (NftnlSet) flush = NULL;
      struct nlmsghdr *nlh;

      /* What trellisd learned at run time stays. */
      if (plan->sets[i].timeout)
        continue;
      flush = set_new (plan->table, plan->sets[i].name, set_id (i));
      if (flush == NULL)
        return -ENOMEM;
      /* DELSETELEM without elements flushes the set; the new elements
       * follow in the same transaction. */
      nlh = msg_start (batch, NFT_MSG_DELSETELEM, NLM_F_ACK, seq);
      nftnl_set_elems_nlmsg_build_payload (nlh, flush);
      r = msg_end (batch);
      if (r == 0)
        r = put_set_elems (batch, plan->table, &plan->sets[i], set_id (i), seq);
    }
  if (r == 0)
    r = batch_end (batch, seq);
  return r;
}

int
trellis_nft_update_sets (const TrellisNftPlan *plan)
{
  return plan_batch_run (plan, sets_update_build);
}

int
trellis_nft_delete_table (const char *table)
{
  g_autofree char *buf = NULL;
  g_autoptr (MnlNlmsgBatch) batch = NULL;
  AckState st;
  uint32_t seq = seq_initial ();
  int r;

  if (!name_valid (table))
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
  static const TrellisNftStep probe_steps[] = {
    { .kind = TRELLIS_NFT_STEP_QUEUE, .value = 0, .bypass = true },
  };
  const TrellisNftPlan probe_plan = {
    .table = (char *) PROBE_TABLE,
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
    r = put_chain (batch, PROBE_TABLE, PROBE_CHAIN, NULL, 0, 0, &seq);
  rule_seq = seq;
  if (r == 0)
    r = put_rule (batch, &probe_plan, PROBE_CHAIN, probe_steps,
                  G_N_ELEMENTS (probe_steps), &seq);
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

int
trellis_nft_set_add_timed (const char *table,
                           const char *set,
                           TrellisNftKeyType key,
                           const TrellisNftTimedElem *elems,
                           size_t n)
{
  const size_t len = key_len (key);
  const size_t per = 64;
  g_autofree char *buf = NULL;
  g_autoptr (MnlNlmsgBatch) batch = NULL;
  AckState st;
  uint32_t seq = seq_initial ();
  size_t done = 0;
  int r;

  if (!name_valid (table) || !name_valid (set) || len == 0 || key == TRELLIS_NFT_KEY_TIME
      || (n > 0 && elems == NULL) || n > 65536)
    return -EINVAL;
  if (n == 0)
    return 0;
  r = batch_new (2 * FIXED_MSG_MAX + ((n + per - 1) / per) * TRELLIS_NFT_MSG_SIZE_MAX,
                 &buf, &batch);
  if (r < 0)
    return r;
  r = batch_begin (batch, &seq);
  while (r == 0 && done < n)
    {
      g_autoptr (NftnlSet) s = set_new (table, set, 0);
      size_t k = MIN (n - done, per);
      struct nlmsghdr *nlh;

      if (s == NULL)
        return -ENOMEM;
      nftnl_set_unset (s, NFTNL_SET_ID);
      for (size_t i = 0; i < k; i++)
        {
          struct nftnl_set_elem *e = nftnl_set_elem_alloc ();

          if (e == NULL)
            return -ENOMEM;
          nftnl_set_elem_set (e, NFTNL_SET_ELEM_KEY, elems[done + i].key, (uint32_t) len);
          if (elems[done + i].timeout_ms > 0)
            nftnl_set_elem_set_u64 (e, NFTNL_SET_ELEM_TIMEOUT, elems[done + i].timeout_ms);
          nftnl_set_elem_add (s, e); /* s owns e */
        }
      /* NLM_F_CREATE without EXCL: an element already there takes the new
       * timeout (the kernel updates it) instead of failing. */
      nlh = msg_start (batch, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, &seq);
      nftnl_set_elems_nlmsg_build_payload (nlh, s);
      r = msg_end (batch);
      done += k;
    }
  if (r == 0)
    r = batch_end (batch, &seq);
  if (r < 0)
    return r;
  r = batch_talk (batch, &st);
  if (r < 0)
    return r;
  return st.error;
}

int
trellis_nft_set_flush (const char *table,
                       const char *set)
{
  g_autofree char *buf = NULL;
  g_autoptr (MnlNlmsgBatch) batch = NULL;
  g_autoptr (NftnlSet) s = NULL;
  AckState st;
  uint32_t seq = seq_initial ();
  struct nlmsghdr *nlh;
  int r;

  if (!name_valid (table) || !name_valid (set))
    return -EINVAL;
  s = set_new (table, set, 0);
  if (s == NULL)
    return -ENOMEM;
  nftnl_set_unset (s, NFTNL_SET_ID);
  r = batch_new (3 * FIXED_MSG_MAX, &buf, &batch);
  if (r == 0)
    r = batch_begin (batch, &seq);
  if (r == 0)
    {
      nlh = msg_start (batch, NFT_MSG_DELSETELEM, NLM_F_ACK, &seq);
      nftnl_set_elems_nlmsg_build_payload (nlh, s);
      r = msg_end (batch);
    }
  if (r == 0)
    r = batch_end (batch, &seq);
  if (r < 0)
    return r;
  r = batch_talk (batch, &st);
  if (r < 0)
    return r;
  return st.error;
}
