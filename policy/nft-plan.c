/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nft-plan.c — builds the kernel plan (nft-plan.h) and renders it as nft
 * text.  Plain data and strings only: no libnftnl, no netlink.
 */
#include "policy/nft-plan.h"

#include <arpa/inet.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <glib/gi18n.h>

/* nf_tables.h's NFT_TABLE_MAXNAMELEN, without the kernel header. */
#define TABLE_NAME_MAX 256u

/* Standard chain priorities (nft's names for them). */
#define PRIO_RAW    (-300)
#define PRIO_MANGLE (-150)
#define PRIO_DSTNAT (-100)
#define PRIO_FILTER 0
#define PRIO_SRCNAT 100
#define PRIO_LEARN  (-140) /* after the queue's verdict, before NAT */

static gboolean
child_name_valid (const char *name)
{
  const char *p;

  if (name == NULL || *name == '\0' || strlen (name) > 64)
    return FALSE;
  for (p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static int
uid_cmp (gconstpointer a, gconstpointer b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

  return x < y ? -1 : x > y;
}

/* Sorted, unique copy of @uids; *@ret_n gets its length. */
static uint32_t *
uids_sorted (const uint32_t *uids, size_t n, size_t *ret_n)
{
  uint32_t *out;
  size_t i, k = 0;

  if (n == 0)
    {
      *ret_n = 0;
      return NULL;
    }
  out = g_memdup2 (uids, n * sizeof *uids);
  qsort (out, n, sizeof *out, uid_cmp);
  for (i = 0; i < n; i++)
    if (k == 0 || out[k - 1] != out[i])
      out[k++] = out[i];
  *ret_n = k;
  return out;
}

static size_t
addr_len (TrellisNftKeyType key)
{
  return key == TRELLIS_NFT_KEY_IPV4_ADDR ? 4 : 16;
}

/* Zeroes the host bits of @c. */
static void
cidr_mask (TrellisNftCidr *c, size_t len)
{
  size_t i;

  for (i = 0; i < sizeof c->addr; i++)
    {
      size_t bit = i * 8;

      if (i >= len || bit >= c->prefix_len)
        c->addr[i] = 0;
      else if (bit + 8 > c->prefix_len)
        c->addr[i] &= (uint8_t) (0xffu << (bit + 8 - c->prefix_len));
    }
}

static int
cidr_cmp (gconstpointer a, gconstpointer b)
{
  const TrellisNftCidr *x = a, *y = b;
  int r = memcmp (x->addr, y->addr, sizeof x->addr);

  if (r != 0)
    return r;
  return (int) x->prefix_len - (int) y->prefix_len;
}

/* Is @inner inside @outer (outer's prefix no longer than inner's)? */
static gboolean
cidr_contains (const TrellisNftCidr *outer, const TrellisNftCidr *inner, size_t len)
{
  TrellisNftCidr masked = *inner;

  if (outer->prefix_len > inner->prefix_len)
    return FALSE;
  masked.prefix_len = outer->prefix_len;
  cidr_mask (&masked, len);
  return memcmp (masked.addr, outer->addr, sizeof masked.addr) == 0;
}

/* Checked, masked, sorted copy of @cidrs with every range inside another left out. */
static gboolean
cidrs_normalize (const TrellisNftCidr *cidrs,
                 size_t n,
                 TrellisNftKeyType key,
                 const char *child,
                 TrellisNftCidr **ret_cidrs,
                 size_t *ret_n,
                 GError **error)
{
  g_autofree TrellisNftCidr *out = NULL;
  size_t len = addr_len (key);
  size_t i, k = 0;

  if (n > 0 && cidrs == NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "child %s: address ranges missing", child);
      return FALSE;
    }
  if (n > TRELLIS_NFT_UIDS_MAX)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "child %s: too many address ranges", child);
      return FALSE;
    }
  if (n > 0)
    out = g_new0 (TrellisNftCidr, n);
  for (i = 0; i < n; i++)
    {
      if (cidrs[i].prefix_len > len * 8)
        {
          g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                       "child %s: prefix length %u is too long for IPv%c",
                       child, cidrs[i].prefix_len, len == 4 ? '4' : '6');
          return FALSE;
        }
      out[i] = cidrs[i];
      cidr_mask (&out[i], len);
    }
  if (n > 0)
    qsort (out, n, sizeof *out, cidr_cmp);
  for (i = 0; i < n; i++)
    if (k == 0 || !cidr_contains (&out[k - 1], &out[i], len))
      out[k++] = out[i];
  *ret_cidrs = g_steal_pointer (&out);
  *ret_n = k;
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Building */

typedef struct {
  GArray *sets;     /* TrellisNftSet */
  GArray *chains;   /* TrellisNftChain */
  GArray *rules;    /* TrellisNftRule */
  GArray *children; /* TrellisNftChild */
} Builder;

static size_t
add_set (Builder *b, const char *name, TrellisNftKeyType key, const char *child)
{
  TrellisNftSet s = { 0 };

  s.name = g_strdup (name);
  s.key = key;
  s.interval = key != TRELLIS_NFT_KEY_UID;
  s.timeout = false;
  s.child = g_strdup (child);
  g_array_append_val (b->sets, s);
  return b->sets->len - 1;
}

static size_t
add_chain (Builder *b, const char *name, TrellisNftChainType type, TrellisNftHook hook,
           int32_t priority)
{
  TrellisNftChain c = { g_strdup (name), type, hook, priority };

  g_array_append_val (b->chains, c);
  return b->chains->len - 1;
}

static void
add_rule (Builder *b, size_t chain, const char *child, const TrellisNftStep *steps,
          size_t n_steps)
{
  TrellisNftRule r = { 0 };

  r.chain = chain;
  r.steps = g_memdup2 (steps, n_steps * sizeof *steps);
  r.n_steps = n_steps;
  r.child = g_strdup (child);
  g_array_append_val (b->rules, r);
}

/* A set filled at run time: flags timeout, no interval. */
static size_t
add_timeout_set (Builder *b, const char *name, TrellisNftKeyType key, const char *child)
{
  size_t i = add_set (b, name, key, child);
  TrellisNftSet *s = &g_array_index (b->sets, TrellisNftSet, i);

  s->interval = false;
  s->timeout = true;
  return i;
}

static int
time_range_cmp (gconstpointer a, gconstpointer b)
{
  const TrellisNftTimeRange *x = a, *y = b;

  return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorted copy of @r with overlapping and touching ranges joined and empty
 * ones left out. */
static TrellisNftTimeRange *
time_ranges_normalize (const TrellisNftTimeRange *r, size_t n, size_t *ret_n)
{
  g_autofree TrellisNftTimeRange *out = NULL;
  size_t k = 0;

  *ret_n = 0;
  if (n == 0 || r == NULL)
    return NULL;
  out = g_memdup2 (r, n * sizeof *r);
  qsort (out, n, sizeof *out, time_range_cmp);
  for (size_t i = 0; i < n; i++)
    {
      if (out[i].end <= out[i].start || out[i].start < 0)
        continue;
      if (k > 0 && out[i].start <= out[k - 1].end)
        out[k - 1].end = MAX (out[k - 1].end, out[i].end);
      else
        out[k++] = out[i];
    }
  *ret_n = k;
  return k > 0 ? g_steal_pointer (&out) : NULL;
}

#define STEP(k, ...) ((TrellisNftStep) { .kind = TRELLIS_NFT_STEP_##k, __VA_ARGS__ })
#define ADD_RULE(b, chain, child, ...) \
  do \
    { \
      const TrellisNftStep steps_[] = { __VA_ARGS__ }; \
      add_rule ((b), (chain), (child), steps_, G_N_ELEMENTS (steps_)); \
    } \
  while (0)

/* The set child-NAME-uids of child @i, made the first time it is asked for. */
static size_t
child_uids_set (Builder *b, const TrellisNftChild *c, size_t *child_sets, size_t i)
{
  g_autofree char *name = NULL;
  TrellisNftSet *s;
  size_t index;

  if (child_sets[i] != 0)
    return child_sets[i] - 1;
  name = g_strdup_printf ("child-%s-uids", c->name);
  index = add_set (b, name, TRELLIS_NFT_KEY_UID, c->name);
  s = &g_array_index (b->sets, TrellisNftSet, index);
  s->uids = g_memdup2 (c->uids, c->n_uids * sizeof *c->uids);
  s->n_uids = c->n_uids;
  child_sets[i] = index + 1;
  return index;
}

static gboolean
params_check (const TrellisNftPlanParams *p, GError **error)
{
  size_t i, j, total = 0;
  size_t len;

  if (p == NULL || p->table == NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "the nft plan needs a table name");
      return FALSE;
    }
  len = strnlen (p->table, TABLE_NAME_MAX);
  if (len == 0 || len >= TABLE_NAME_MAX)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "the table name must be 1 to %u bytes", TABLE_NAME_MAX - 1);
      return FALSE;
    }
  if (p->answer_port == 0 || p->answer_port == 53)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "the answer port must be a port other than 0 and 53");
      return FALSE;
    }
  if (p->mark == 0)
    {
      /* mark 0 would match every unmarked packet */
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "the mark must not be 0");
      return FALSE;
    }
  if (p->mark == TRELLIS_NFT_REPLY_MARK)
    {
      /* the answers' mark: marked queries would go untracked, past NAT */
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "the mark must not be 0x%08x (the mark of trellisd's own answers)",
                   TRELLIS_NFT_REPLY_MARK);
      return FALSE;
    }
  if (p->queue_total > TRELLIS_NFT_QUEUE_TOTAL_MAX
      || (guint) p->queue_num + MAX (p->queue_total, 1) - 1 > G_MAXUINT16)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "1 to %u queues, numbered at most 65535", TRELLIS_NFT_QUEUE_TOTAL_MAX);
      return FALSE;
    }
  if (p->queue_expr != TRELLIS_QUEUE_EXPR_NATIVE && p->queue_expr != TRELLIS_QUEUE_EXPR_XT)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "unknown queue expression %d", (int) p->queue_expr);
      return FALSE;
    }
  if (p->answers_queue_num != 0 && p->answers_queue_num >= p->queue_num
      && p->answers_queue_num < (guint) p->queue_num + MAX (p->queue_total, 1))
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "the answers' queue must not be one of the queries' queues");
      return FALSE;
    }
  if ((p->n_doh_v4 > 0 && p->doh_v4 == NULL) || (p->n_doh_v6 > 0 && p->doh_v6 == NULL))
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "DoH addresses missing");
      return FALSE;
    }
  if (p->n_gateway_ifnames > 0)
    {
      if (p->gateway_ifnames == NULL || p->gateway_default >= p->n_children
          || p->n_children > TRELLIS_NFT_DEVICE_PROFILES_MAX || p->n_gateway_ifnames > 16)
        {
          g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                       "a gateway needs its interfaces, a default profile among the children, and at most %u children and groups",
                       TRELLIS_NFT_DEVICE_PROFILES_MAX);
          return FALSE;
        }
      for (i = 0; i < p->n_gateway_ifnames; i++)
        if (p->gateway_ifnames[i] == NULL || strlen (p->gateway_ifnames[i]) == 0
            || strlen (p->gateway_ifnames[i]) >= 16)
          {
            g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                         "a gateway interface's name is 1 to 15 bytes");
            return FALSE;
          }
    }
  if (p->n_children > 0 && p->children == NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "children missing");
      return FALSE;
    }
  for (i = 0; i < p->n_children; i++)
    {
      const TrellisNftPlanChild *c = &p->children[i];

      if (!child_name_valid (c->name))
        {
          g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                       "“%s” cannot name a child in the nft plan (letters, digits, - and _ only)",
                       c->name != NULL ? c->name : "");
          return FALSE;
        }
      for (j = 0; j < i; j++)
        if (strcmp (p->children[j].name, c->name) == 0)
          {
            g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                         "child %s appears twice", c->name);
            return FALSE;
          }
      if (c->n_uids > 0 && c->uids == NULL)
        {
          g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                       "child %s: uids missing", c->name);
          return FALSE;
        }
      if (c->n_quiet_times > 0 && c->quiet_times == NULL)
        {
          g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                       "child %s: quiet times missing", c->name);
          return FALSE;
        }
      if (c->n_uids > TRELLIS_NFT_UIDS_MAX - total)
        {
          g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                       "more than %u uids", TRELLIS_NFT_UIDS_MAX);
          return FALSE;
        }
      total += c->n_uids;
    }
  return TRUE;
}

static void
builder_clear (Builder *b)
{
  g_clear_pointer (&b->sets, g_array_unref);
  g_clear_pointer (&b->chains, g_array_unref);
  g_clear_pointer (&b->rules, g_array_unref);
  g_clear_pointer (&b->children, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Builder, builder_clear)

static void
set_clear (gpointer data)
{
  TrellisNftSet *s = data;

  g_free (s->name);
  g_free (s->uids);
  g_free (s->cidrs);
  g_free (s->times);
  g_free (s->child);
}

static void
chain_clear (gpointer data)
{
  g_free (((TrellisNftChain *) data)->name);
}

static void
rule_clear (gpointer data)
{
  TrellisNftRule *r = data;

  g_free (r->steps);
  g_free (r->child);
}

static void
child_clear (gpointer data)
{
  TrellisNftChild *c = data;

  g_free (c->name);
  g_free (c->uids);
}

/* ---------------------------------------------------------------------- */
/* Gateway mode (docs/gateway.md): the devices behind the gateway's
 * interfaces, each given its child's or group's mark in prerouting. */

/* The per-child sets the network policy made, + 1 (0: none). */
typedef struct {
  size_t quiet;
  size_t learned4;
  size_t learned6;
} GatewaySets;

static gboolean
gateway_has_devices (const TrellisNftPlanParams *p, size_t i)
{
  const TrellisNftPlanChild *pc = &p->children[i];

  return p->n_gateway_ifnames > 0
         && (pc->n_macs > 0 || pc->n_dev_v4 > 0 || pc->n_dev_v6 > 0 || i == p->gateway_default);
}

/* MACs: checked, sorted, unique. */
static gboolean
macs_normalize (const TrellisNftCidr *macs, size_t n, const char *child, TrellisNftCidr **ret,
                size_t *ret_n, GError **error)
{
  g_autofree TrellisNftCidr *out = NULL;
  size_t k = 0;

  if (n > 0 && macs == NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "child %s: MACs missing", child);
      return FALSE;
    }
  if (n > TRELLIS_NFT_UIDS_MAX)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "child %s: too many MACs", child);
      return FALSE;
    }
  if (n > 0)
    {
      out = g_new0 (TrellisNftCidr, n);
      for (size_t i = 0; i < n; i++)
        {
          memcpy (out[i].addr, macs[i].addr, 6);
          out[i].prefix_len = 48;
        }
      qsort (out, n, sizeof *out, cidr_cmp);
      for (size_t i = 0; i < n; i++)
        if (k == 0 || memcmp (out[k - 1].addr, out[i].addr, 6) != 0)
          out[k++] = out[i];
    }
  *ret = g_steal_pointer (&out);
  *ret_n = k;
  return TRUE;
}

static gboolean
gateway_build (Builder *b, const TrellisNftPlanParams *p, const GatewaySets *gw_sets,
               const size_t integrity[6], uint32_t learn_mark, uint16_t answers_queue,
               GError **error)
{
  const size_t n_if = p->n_gateway_ifnames;
  g_autofree size_t *set_macs = g_new0 (size_t, p->n_children + 1);
  g_autofree size_t *set_v4 = g_new0 (size_t, p->n_children + 1);
  g_autofree size_t *set_v6 = g_new0 (size_t, p->n_children + 1);
  size_t classify, queue, redirect, guard, answers, answers_local, policy;
  size_t i, k;

  /* Each child's devices, in three sets. */
  for (i = 0; i < p->n_children; i++)
    {
      const TrellisNftPlanChild *pc = &p->children[i];
      g_autofree TrellisNftCidr *macs = NULL, *v4 = NULL, *v6 = NULL;
      size_t n_macs = 0, n4 = 0, n6 = 0;
      g_autofree char *name = NULL;
      TrellisNftSet *s;

      if (!macs_normalize (pc->macs, pc->n_macs, pc->name, &macs, &n_macs, error)
          || !cidrs_normalize (pc->dev_v4, pc->n_dev_v4, TRELLIS_NFT_KEY_IPV4_ADDR, pc->name, &v4, &n4, error)
          || !cidrs_normalize (pc->dev_v6, pc->n_dev_v6, TRELLIS_NFT_KEY_IPV6_ADDR, pc->name, &v6, &n6, error))
        return FALSE;
      if (n_macs > 0)
        {
          name = g_strdup_printf ("child-%s-macs", pc->name);
          set_macs[i] = add_set (b, name, TRELLIS_NFT_KEY_ETHER_ADDR, pc->name) + 1;
          s = &g_array_index (b->sets, TrellisNftSet, set_macs[i] - 1);
          s->interval = false;
          s->cidrs = g_steal_pointer (&macs);
          s->n_cidrs = n_macs;
        }
      if (n4 > 0)
        {
          g_free (name);
          name = g_strdup_printf ("child-%s-devices-v4", pc->name);
          set_v4[i] = add_set (b, name, TRELLIS_NFT_KEY_IPV4_ADDR, pc->name) + 1;
          s = &g_array_index (b->sets, TrellisNftSet, set_v4[i] - 1);
          s->cidrs = g_steal_pointer (&v4);
          s->n_cidrs = n4;
        }
      if (n6 > 0)
        {
          g_free (name);
          name = g_strdup_printf ("child-%s-devices-v6", pc->name);
          set_v6[i] = add_set (b, name, TRELLIS_NFT_KEY_IPV6_ADDR, pc->name) + 1;
          s = &g_array_index (b->sets, TrellisNftSet, set_v6[i] - 1);
          s->cidrs = g_steal_pointer (&v6);
          s->n_cidrs = n6;
        }
    }

  classify = add_chain (b, TRELLIS_NFT_CHAIN_GW_CLASSIFY, TRELLIS_NFT_CHAIN_FILTER,
                        TRELLIS_NFT_HOOK_PREROUTING, PRIO_MANGLE - 10);
  queue = add_chain (b, TRELLIS_NFT_CHAIN_GW_QUEUE, TRELLIS_NFT_CHAIN_FILTER,
                     TRELLIS_NFT_HOOK_PREROUTING, PRIO_MANGLE);
  redirect = add_chain (b, TRELLIS_NFT_CHAIN_GW_REDIRECT, TRELLIS_NFT_CHAIN_NAT,
                        TRELLIS_NFT_HOOK_PREROUTING, PRIO_DSTNAT);
  guard = add_chain (b, TRELLIS_NFT_CHAIN_GW_GUARD_IN, TRELLIS_NFT_CHAIN_FILTER,
                     TRELLIS_NFT_HOOK_INPUT, PRIO_FILTER);
  answers = add_chain (b, TRELLIS_NFT_CHAIN_GW_ANSWERS, TRELLIS_NFT_CHAIN_FILTER,
                       TRELLIS_NFT_HOOK_FORWARD, PRIO_MANGLE);
  answers_local = add_chain (b, TRELLIS_NFT_CHAIN_GW_ANSWERS_LOCAL, TRELLIS_NFT_CHAIN_FILTER,
                             TRELLIS_NFT_HOOK_OUTPUT, PRIO_MANGLE);
  policy = add_chain (b, TRELLIS_NFT_CHAIN_GW_POLICY, TRELLIS_NFT_CHAIN_FILTER,
                      TRELLIS_NFT_HOOK_FORWARD, PRIO_FILTER);

  /* Which profile a device gets: the default, then its address's, then
   * its MAC's (the last mark set wins). */
  for (k = 0; k < n_if; k++)
    {
      ADD_RULE (b, classify, NULL, STEP (IIFNAME, .value = (uint32_t) k),
                STEP (MARK_SET, .value = TRELLIS_NFT_DEVICE_MARK (p->gateway_default)));
      for (i = 0; i < p->n_children; i++)
        {
          if (set_v4[i] != 0)
            ADD_RULE (b, classify, p->children[i].name, STEP (IIFNAME, .value = (uint32_t) k),
                      STEP (IP_SADDR_IN_SET, .set = set_v4[i] - 1),
                      STEP (MARK_SET, .value = TRELLIS_NFT_DEVICE_MARK (i)));
          if (set_v6[i] != 0)
            ADD_RULE (b, classify, p->children[i].name, STEP (IIFNAME, .value = (uint32_t) k),
                      STEP (IP6_SADDR_IN_SET, .set = set_v6[i] - 1),
                      STEP (MARK_SET, .value = TRELLIS_NFT_DEVICE_MARK (i)));
        }
      for (i = 0; i < p->n_children; i++)
        if (set_macs[i] != 0)
          ADD_RULE (b, classify, p->children[i].name, STEP (IIFNAME, .value = (uint32_t) k),
                    STEP (ETHER_SADDR_IN_SET, .set = set_macs[i] - 1),
                    STEP (MARK_SET, .value = TRELLIS_NFT_DEVICE_MARK (i)));
    }
  /* The answers of devices with quiet hours or allow-list mode are read. */
  for (i = 0; i < p->n_children; i++)
    if (gateway_has_devices (p, i) && (p->children[i].quiet || p->children[i].allowlist))
      ADD_RULE (b, classify, p->children[i].name,
                STEP (MARK, .value = TRELLIS_NFT_DEVICE_MARK (i)), STEP (UDP_DPORT, .value = 53),
                STEP (CT_MARK_SET, .value = learn_mark));

  for (k = 0; k < n_if; k++)
    {
      ADD_RULE (b, queue, NULL, STEP (IIFNAME, .value = (uint32_t) k), STEP (UDP_DPORT, .value = 53),
                STEP (QUEUE, .value = p->queue_num, .bypass = p->bypass));
      ADD_RULE (b, queue, NULL, STEP (IIFNAME, .value = (uint32_t) k), STEP (TCP_DPORT, .value = 53),
                STEP (CT_STATE_NEW), STEP (QUEUE, .value = p->queue_num, .bypass = p->bypass));
    }
  ADD_RULE (b, redirect, NULL, STEP (MARK, .value = p->mark), STEP (UDP_DPORT, .value = 53),
            STEP (REDIRECT, .value = p->answer_port));
  ADD_RULE (b, redirect, NULL, STEP (MARK, .value = p->mark), STEP (TCP_DPORT, .value = 53),
            STEP (REDIRECT, .value = p->answer_port));
  /* A marked query NAT did not redirect, to the gateway's resolver or
   * through it: back to trellisd, never with bypass. */
  for (size_t c = 0; c < 2; c++)
    {
      size_t chain = c == 0 ? guard : policy;

      ADD_RULE (b, chain, NULL, STEP (MARK, .value = p->mark), STEP (UDP_DPORT, .value = 53),
                STEP (QUEUE, .value = p->queue_num, .bypass = false));
      ADD_RULE (b, chain, NULL, STEP (MARK, .value = p->mark), STEP (TCP_DPORT, .value = 53), STEP (DROP));
    }
  ADD_RULE (b, answers, NULL, STEP (CT_MARK, .value = learn_mark), STEP (UDP_SPORT, .value = 53),
            STEP (QUEUE, .value = answers_queue, .bypass = p->bypass));
  ADD_RULE (b, answers_local, NULL, STEP (CT_MARK, .value = learn_mark), STEP (UDP_SPORT, .value = 53),
            STEP (QUEUE, .value = answers_queue, .bypass = p->bypass));

  /* The integrity rules, for every device, then each profile's own. */
  for (k = 0; k < n_if; k++)
    {
      const TrellisNftStep iif = STEP (IIFNAME, .value = (uint32_t) k);
      const TrellisNftStepKind doh_match[4] = {
        TRELLIS_NFT_STEP_IP_DADDR_IN_SET, TRELLIS_NFT_STEP_IP_DADDR_IN_SET,
        TRELLIS_NFT_STEP_IP6_DADDR_IN_SET, TRELLIS_NFT_STEP_IP6_DADDR_IN_SET
      };

      ADD_RULE (b, policy, NULL, iif, STEP (IP_DADDR_IN_SET, .set = integrity[0]), STEP (ACCEPT));
      ADD_RULE (b, policy, NULL, iif, STEP (IP6_DADDR_IN_SET, .set = integrity[1]), STEP (ACCEPT));
      ADD_RULE (b, policy, NULL, iif, STEP (TCP_DPORT, .value = 853), STEP (REJECT));
      ADD_RULE (b, policy, NULL, iif, STEP (UDP_DPORT, .value = 853), STEP (REJECT));
      for (size_t d = 0; d < 4; d++)
        {
          ADD_RULE (b, policy, NULL, iif, ((TrellisNftStep) { .kind = doh_match[d], .set = integrity[2 + d] }),
                    STEP (TCP_DPORT, .value = 443), STEP (REJECT));
          ADD_RULE (b, policy, NULL, iif, ((TrellisNftStep) { .kind = doh_match[d], .set = integrity[2 + d] }),
                    STEP (UDP_DPORT, .value = 443), STEP (REJECT));
        }
    }
  ADD_RULE (b, policy, NULL, STEP (UDP_DPORT, .value = 53), STEP (ACCEPT));
  ADD_RULE (b, policy, NULL, STEP (TCP_DPORT, .value = 53), STEP (ACCEPT));
  for (i = 0; i < p->n_children; i++)
    {
      const uint32_t mark = TRELLIS_NFT_DEVICE_MARK (i);
      const char *name = p->children[i].name;

      if (!gateway_has_devices (p, i))
        continue;
      if (gw_sets[i].quiet != 0)
        ADD_RULE (b, policy, name, STEP (MARK, .value = mark), STEP (TIME_IN_SET, .set = gw_sets[i].quiet - 1),
                  STEP (CT_STATE_NEW), STEP (REJECT));
      if (gw_sets[i].learned4 != 0)
        {
          ADD_RULE (b, policy, name, STEP (MARK, .value = mark), STEP (CT_STATE_NEW),
                    STEP (IP_DADDR_NOT_IN_SET, .set = gw_sets[i].learned4 - 1), STEP (REJECT));
          ADD_RULE (b, policy, name, STEP (MARK, .value = mark), STEP (CT_STATE_NEW),
                    STEP (IP6_DADDR_NOT_IN_SET, .set = gw_sets[i].learned6 - 1), STEP (REJECT));
        }
    }
  return TRUE;
}

TrellisNftPlan *
trellis_nft_plan_new (const TrellisNftPlanParams *params,
                      GError **error)
{
  g_auto (Builder) b = { 0 };
  g_autofree uint32_t *all = NULL;
  TrellisNftPlan *plan;
  size_t n_all = 0;
  size_t i;
  size_t set_uids, chain_zone, chain_queue, chain_redirect, chain_guard;
  size_t chain_ip_block = 0;
  gboolean have_ip_block = FALSE;
  size_t set_learn, set_paused, set_help4, set_help6, set_doh4, set_doh6, set_dohl4, set_dohl6;
  size_t chain_learn, chain_answers, chain_net;
  g_autofree size_t *child_sets = NULL;
  g_autofree GatewaySets *gw_sets = NULL;
  uint32_t learn_mark;
  uint16_t answers_queue;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!params_check (params, error))
    return NULL;
  learn_mark = params->learn_mark != 0 ? params->learn_mark : TRELLIS_NFT_LEARN_MARK_DEFAULT;
  /* the first after the queries' queues */
  answers_queue = params->answers_queue_num != 0 ? params->answers_queue_num
                                                 : (uint16_t) (params->queue_num + MAX (params->queue_total, 1));
  /* child i's uid set, + 1; 0: not made yet */
  child_sets = g_new0 (size_t, params->n_children + 1);

  b.sets = g_array_new (FALSE, TRUE, sizeof (TrellisNftSet));
  g_array_set_clear_func (b.sets, set_clear);
  b.chains = g_array_new (FALSE, TRUE, sizeof (TrellisNftChain));
  g_array_set_clear_func (b.chains, chain_clear);
  b.rules = g_array_new (FALSE, TRUE, sizeof (TrellisNftRule));
  g_array_set_clear_func (b.rules, rule_clear);
  b.children = g_array_new (FALSE, TRUE, sizeof (TrellisNftChild));
  g_array_set_clear_func (b.children, child_clear);

  /* Every child's uids, in one set. */
  for (i = 0; i < params->n_children; i++)
    n_all += params->children[i].n_uids;
  if (n_all > 0)
    {
      size_t k = 0;

      all = g_new (uint32_t, n_all);
      for (i = 0; i < params->n_children; i++)
        {
          if (params->children[i].n_uids > 0)
            memcpy (all + k, params->children[i].uids,
                    params->children[i].n_uids * sizeof *all);
          k += params->children[i].n_uids;
        }
    }
  set_uids = add_set (&b, TRELLIS_NFT_SET_PROTECTED_UIDS, TRELLIS_NFT_KEY_UID, NULL);
  {
    TrellisNftSet *s = &g_array_index (b.sets, TrellisNftSet, set_uids);

    s->uids = uids_sorted (all, n_all, &s->n_uids);
  }

  for (i = 0; i < params->n_children; i++)
    {
      const TrellisNftPlanChild *pc = &params->children[i];
      TrellisNftChild c = { 0 };

      c.name = g_strdup (pc->name);
      c.uids = uids_sorted (pc->uids, pc->n_uids, &c.n_uids);
      g_array_append_val (b.children, c);
    }

  chain_zone = add_chain (&b, TRELLIS_NFT_CHAIN_ZONE, TRELLIS_NFT_CHAIN_FILTER,
                          TRELLIS_NFT_HOOK_OUTPUT, PRIO_RAW);
  chain_queue = add_chain (&b, TRELLIS_NFT_CHAIN_QUEUE, TRELLIS_NFT_CHAIN_FILTER,
                           TRELLIS_NFT_HOOK_OUTPUT, PRIO_MANGLE);
  chain_redirect = add_chain (&b, TRELLIS_NFT_CHAIN_REDIRECT, TRELLIS_NFT_CHAIN_NAT,
                              TRELLIS_NFT_HOOK_OUTPUT, PRIO_DSTNAT);
  chain_guard = add_chain (&b, TRELLIS_NFT_CHAIN_GUARD, TRELLIS_NFT_CHAIN_FILTER,
                           TRELLIS_NFT_HOOK_POSTROUTING, PRIO_SRCNAT);

  /* Before conntrack: the protected accounts' DNS flows in a zone of
   * their own, in the original direction, so that no one else's new flow
   * with the same addresses and ports can meet (and follow) the entry of a
   * child's redirected one. */
  ADD_RULE (&b, chain_zone, NULL,
            STEP (MARK, .value = TRELLIS_NFT_REPLY_MARK),
            STEP (NOTRACK, .value = 0));
  ADD_RULE (&b, chain_zone, NULL,
            STEP (SKUID_IN_SET, .set = set_uids),
            STEP (UDP_DPORT, .value = 53),
            STEP (CT_ZONE_SET, .value = TRELLIS_NFT_CT_ZONE_DEFAULT));
  ADD_RULE (&b, chain_zone, NULL,
            STEP (SKUID_IN_SET, .set = set_uids),
            STEP (TCP_DPORT, .value = 53),
            STEP (CT_ZONE_SET, .value = TRELLIS_NFT_CT_ZONE_DEFAULT));
  ADD_RULE (&b, chain_queue, NULL,
            STEP (SKUID_IN_SET, .set = set_uids),
            STEP (UDP_DPORT, .value = 53),
            STEP (QUEUE, .value = params->queue_num, .bypass = params->bypass,
                  .total = MAX (params->queue_total, 1)));
  ADD_RULE (&b, chain_queue, NULL,
            STEP (SKUID_IN_SET, .set = set_uids),
            STEP (TCP_DPORT, .value = 53),
            STEP (CT_STATE_NEW),
            STEP (QUEUE, .value = params->queue_num, .bypass = params->bypass,
                  .total = MAX (params->queue_total, 1)));
  ADD_RULE (&b, chain_redirect, NULL,
            STEP (MARK, .value = params->mark),
            STEP (UDP_DPORT, .value = 53),
            STEP (REDIRECT, .value = params->answer_port));
  ADD_RULE (&b, chain_redirect, NULL,
            STEP (MARK, .value = params->mark),
            STEP (TCP_DPORT, .value = 53),
            STEP (REDIRECT, .value = params->answer_port));
  /* A marked query NAT did not redirect (its source port reused while
   * conntrack held an earlier, unredirected flow): back to trellisd, which
   * answers it in the server's name and drops it.  Never with bypass: with
   * no trellisd to hand it to, the kernel drops it. */
  ADD_RULE (&b, chain_guard, NULL,
            STEP (MARK, .value = params->mark),
            STEP (UDP_DPORT, .value = 53),
            STEP (QUEUE, .value = params->queue_num, .bypass = false,
                  .total = MAX (params->queue_total, 1)));
  ADD_RULE (&b, chain_guard, NULL,
            STEP (MARK, .value = params->mark),
            STEP (TCP_DPORT, .value = 53),
            STEP (DROP));

  /* Address lists of blocked categories, per child that has some. */
  for (i = 0; i < params->n_children; i++)
    {
      const TrellisNftPlanChild *pc = &params->children[i];
      const TrellisNftChild *c = &g_array_index (b.children, TrellisNftChild, i);
      g_autofree TrellisNftCidr *v4 = NULL;
      g_autofree TrellisNftCidr *v6 = NULL;
      g_autofree char *name = NULL;
      size_t n_v4 = 0, n_v6 = 0;
      size_t s_uids;
      TrellisNftSet *s;

      if (!cidrs_normalize (pc->v4, pc->n_v4, TRELLIS_NFT_KEY_IPV4_ADDR, pc->name,
                            &v4, &n_v4, error)
          || !cidrs_normalize (pc->v6, pc->n_v6, TRELLIS_NFT_KEY_IPV6_ADDR, pc->name,
                               &v6, &n_v6, error))
        return NULL;
      if ((n_v4 == 0 && n_v6 == 0) || c->n_uids == 0)
        continue;

      if (!have_ip_block)
        {
          chain_ip_block = add_chain (&b, TRELLIS_NFT_CHAIN_IP_BLOCK, TRELLIS_NFT_CHAIN_FILTER,
                                      TRELLIS_NFT_HOOK_OUTPUT, PRIO_FILTER);
          have_ip_block = TRUE;
        }

      s_uids = child_uids_set (&b, c, child_sets, i);
      /* One set and one rule for each family that has addresses. */
      {
        const struct {
          const char *suffix;
          TrellisNftKeyType key;
          TrellisNftStepKind match;
          TrellisNftCidr **cidrs;
          size_t n;
        } fam[] = {
          { "v4", TRELLIS_NFT_KEY_IPV4_ADDR, TRELLIS_NFT_STEP_IP_DADDR_IN_SET, &v4, n_v4 },
          { "v6", TRELLIS_NFT_KEY_IPV6_ADDR, TRELLIS_NFT_STEP_IP6_DADDR_IN_SET, &v6, n_v6 },
        };

        for (size_t f = 0; f < G_N_ELEMENTS (fam); f++)
          {
            size_t s_addr;

            if (fam[f].n == 0)
              continue;
            g_free (name);
            name = g_strdup_printf ("child-%s-%s", c->name, fam[f].suffix);
            s_addr = add_set (&b, name, fam[f].key, c->name);
            s = &g_array_index (b.sets, TrellisNftSet, s_addr);
            s->cidrs = g_steal_pointer (fam[f].cidrs);
            s->n_cidrs = fam[f].n;
            ADD_RULE (&b, chain_ip_block, c->name,
                      STEP (SKUID_IN_SET, .set = s_uids),
                      ((TrellisNftStep) { .kind = fam[f].match, .set = s_addr }),
                      STEP (REJECT));
          }
      }
    }


  /* The network policy: the learning of answers, then the chain. */
  if (!params->net_policy)
    goto done;
  set_learn = add_set (&b, TRELLIS_NFT_SET_LEARN_UIDS, TRELLIS_NFT_KEY_UID, NULL);
  {
    g_autoptr (GArray) learn = g_array_new (FALSE, FALSE, sizeof (uint32_t));
    TrellisNftSet *s;

    for (i = 0; i < params->n_children; i++)
      if (params->children[i].quiet || params->children[i].allowlist)
        g_array_append_vals (learn, params->children[i].uids, (guint) params->children[i].n_uids);
    s = &g_array_index (b.sets, TrellisNftSet, set_learn);
    s->uids = uids_sorted ((const uint32_t *) (gpointer) learn->data, learn->len, &s->n_uids);
  }
  set_paused = add_timeout_set (&b, TRELLIS_NFT_SET_PAUSED_UIDS, TRELLIS_NFT_KEY_UID, NULL);
  set_help4 = add_timeout_set (&b, TRELLIS_NFT_SET_HELPLINES_V4, TRELLIS_NFT_KEY_IPV4_ADDR, NULL);
  set_help6 = add_timeout_set (&b, TRELLIS_NFT_SET_HELPLINES_V6, TRELLIS_NFT_KEY_IPV6_ADDR, NULL);
  set_doh4 = add_set (&b, TRELLIS_NFT_SET_DOH_V4, TRELLIS_NFT_KEY_IPV4_ADDR, NULL);
  set_doh6 = add_set (&b, TRELLIS_NFT_SET_DOH_V6, TRELLIS_NFT_KEY_IPV6_ADDR, NULL);
  {
    TrellisNftSet *s4, *s6;
    g_autofree TrellisNftCidr *v4 = NULL, *v6 = NULL;
    size_t n4 = 0, n6 = 0;

    if (!cidrs_normalize (params->doh_v4, params->n_doh_v4, TRELLIS_NFT_KEY_IPV4_ADDR, "(doh)",
                          &v4, &n4, error)
        || !cidrs_normalize (params->doh_v6, params->n_doh_v6, TRELLIS_NFT_KEY_IPV6_ADDR, "(doh)",
                             &v6, &n6, error))
      return NULL;
    s4 = &g_array_index (b.sets, TrellisNftSet, set_doh4);
    s4->cidrs = g_steal_pointer (&v4);
    s4->n_cidrs = n4;
    s6 = &g_array_index (b.sets, TrellisNftSet, set_doh6);
    s6->cidrs = g_steal_pointer (&v6);
    s6->n_cidrs = n6;
  }
  set_dohl4 = add_timeout_set (&b, TRELLIS_NFT_SET_DOH_LEARNED_V4, TRELLIS_NFT_KEY_IPV4_ADDR, NULL);
  set_dohl6 = add_timeout_set (&b, TRELLIS_NFT_SET_DOH_LEARNED_V6, TRELLIS_NFT_KEY_IPV6_ADDR, NULL);

  chain_learn = add_chain (&b, TRELLIS_NFT_CHAIN_LEARN, TRELLIS_NFT_CHAIN_FILTER,
                           TRELLIS_NFT_HOOK_OUTPUT, PRIO_LEARN);
  chain_answers = add_chain (&b, TRELLIS_NFT_CHAIN_ANSWERS, TRELLIS_NFT_CHAIN_FILTER,
                             TRELLIS_NFT_HOOK_INPUT, PRIO_MANGLE);
  chain_net = add_chain (&b, TRELLIS_NFT_CHAIN_NET_POLICY, TRELLIS_NFT_CHAIN_FILTER,
                         TRELLIS_NFT_HOOK_OUTPUT, PRIO_FILTER);
  ADD_RULE (&b, chain_learn, NULL,
            STEP (SKUID_IN_SET, .set = set_learn),
            STEP (UDP_DPORT, .value = 53),
            STEP (CT_MARK_SET, .value = learn_mark));
  ADD_RULE (&b, chain_answers, NULL,
            STEP (CT_MARK, .value = learn_mark),
            STEP (UDP_SPORT, .value = 53),
            STEP (QUEUE, .value = answers_queue, .bypass = params->bypass));

  /* Helplines first: nothing below may stand between a child and one. */
  ADD_RULE (&b, chain_net, NULL, STEP (SKUID_IN_SET, .set = set_uids),
            STEP (IP_DADDR_IN_SET, .set = set_help4), STEP (ACCEPT));
  ADD_RULE (&b, chain_net, NULL, STEP (SKUID_IN_SET, .set = set_uids),
            STEP (IP6_DADDR_IN_SET, .set = set_help6), STEP (ACCEPT));
  /* Encrypted DNS: DNS-over-TLS (853/tcp), DNS-over-QUIC (853/udp), and
   * the DNS-over-HTTPS endpoints on 443, TCP and UDP (HTTP/3). */
  ADD_RULE (&b, chain_net, NULL, STEP (SKUID_IN_SET, .set = set_uids),
            STEP (TCP_DPORT, .value = 853), STEP (REJECT));
  ADD_RULE (&b, chain_net, NULL, STEP (SKUID_IN_SET, .set = set_uids),
            STEP (UDP_DPORT, .value = 853), STEP (REJECT));
  /* The addresses written in the data are the providers' resolvers
   * (anycast addresses that serve nothing else): every port but 53, which
   * the queue decides, since some answer DNS on 443 and 5353 too.  A
   * learned address may be a CDN's, shared with websites: 443 only. */
  {
    const struct {
      TrellisNftStepKind match;
      size_t set;
      TrellisNftStepKind tcp, udp;
      uint32_t port;
    } doh[] = {
      { TRELLIS_NFT_STEP_IP_DADDR_IN_SET, set_doh4, TRELLIS_NFT_STEP_TCP_DPORT_NOT, TRELLIS_NFT_STEP_UDP_DPORT_NOT, 53 },
      { TRELLIS_NFT_STEP_IP_DADDR_IN_SET, set_dohl4, TRELLIS_NFT_STEP_TCP_DPORT, TRELLIS_NFT_STEP_UDP_DPORT, 443 },
      { TRELLIS_NFT_STEP_IP6_DADDR_IN_SET, set_doh6, TRELLIS_NFT_STEP_TCP_DPORT_NOT, TRELLIS_NFT_STEP_UDP_DPORT_NOT, 53 },
      { TRELLIS_NFT_STEP_IP6_DADDR_IN_SET, set_dohl6, TRELLIS_NFT_STEP_TCP_DPORT, TRELLIS_NFT_STEP_UDP_DPORT, 443 },
    };

    for (size_t d = 0; d < G_N_ELEMENTS (doh); d++)
      {
        ADD_RULE (&b, chain_net, NULL, STEP (SKUID_IN_SET, .set = set_uids),
                  ((TrellisNftStep) { .kind = doh[d].match, .set = doh[d].set }),
                  ((TrellisNftStep) { .kind = doh[d].tcp, .value = doh[d].port }), STEP (REJECT));
        ADD_RULE (&b, chain_net, NULL, STEP (SKUID_IN_SET, .set = set_uids),
                  ((TrellisNftStep) { .kind = doh[d].match, .set = doh[d].set }),
                  ((TrellisNftStep) { .kind = doh[d].udp, .value = doh[d].port }), STEP (REJECT));
      }
  }
  /* What quiet hours and allow-list mode leave alone: the machine's own
   * sockets, DNS (the queue decides it, and explains), a pause. */
  ADD_RULE (&b, chain_net, NULL, STEP (OIF_LO), STEP (ACCEPT));
  /* A query NAT sent to the answerer still has the output device it was
   * routed to first: it is known by trellisd's mark. */
  ADD_RULE (&b, chain_net, NULL, STEP (MARK, .value = params->mark), STEP (ACCEPT));
  ADD_RULE (&b, chain_net, NULL, STEP (UDP_DPORT, .value = 53), STEP (ACCEPT));
  ADD_RULE (&b, chain_net, NULL, STEP (TCP_DPORT, .value = 53), STEP (ACCEPT));
  ADD_RULE (&b, chain_net, NULL, STEP (SKUID_IN_SET, .set = set_paused), STEP (ACCEPT));
  gw_sets = g_new0 (GatewaySets, params->n_children + 1);
  for (i = 0; i < params->n_children; i++)
    {
      const TrellisNftPlanChild *pc = &params->children[i];
      const TrellisNftChild *c = &g_array_index (b.children, TrellisNftChild, i);
      g_autofree char *name = NULL;
      gboolean devices = gateway_has_devices (params, i);
      size_t s_uids = 0;

      if ((!pc->quiet && !pc->allowlist) || (c->n_uids == 0 && !devices))
        continue;
      if (c->n_uids > 0)
        s_uids = child_uids_set (&b, c, child_sets, i);
      if (pc->quiet)
        {
          size_t s_quiet;
          TrellisNftSet *s;

          name = g_strdup_printf ("child-%s-quiet", c->name);
          s_quiet = add_set (&b, name, TRELLIS_NFT_KEY_TIME, c->name);
          s = &g_array_index (b.sets, TrellisNftSet, s_quiet);
          s->times = time_ranges_normalize (pc->quiet_times, pc->n_quiet_times, &s->n_times);
          gw_sets[i].quiet = s_quiet + 1;
          if (c->n_uids > 0)
            ADD_RULE (&b, chain_net, c->name, STEP (SKUID_IN_SET, .set = s_uids),
                      STEP (TIME_IN_SET, .set = s_quiet), STEP (CT_STATE_NEW), STEP (REJECT));
        }
      if (pc->allowlist)
        {
          size_t s4, s6;

          g_free (name);
          name = g_strdup_printf ("child-%s-learned-v4", c->name);
          s4 = add_timeout_set (&b, name, TRELLIS_NFT_KEY_IPV4_ADDR, c->name);
          g_free (name);
          name = g_strdup_printf ("child-%s-learned-v6", c->name);
          s6 = add_timeout_set (&b, name, TRELLIS_NFT_KEY_IPV6_ADDR, c->name);
          gw_sets[i].learned4 = s4 + 1;
          gw_sets[i].learned6 = s6 + 1;
          if (c->n_uids > 0)
            {
              ADD_RULE (&b, chain_net, c->name, STEP (SKUID_IN_SET, .set = s_uids),
                        STEP (CT_STATE_NEW), STEP (IP_DADDR_NOT_IN_SET, .set = s4), STEP (REJECT));
              ADD_RULE (&b, chain_net, c->name, STEP (SKUID_IN_SET, .set = s_uids),
                        STEP (CT_STATE_NEW), STEP (IP6_DADDR_NOT_IN_SET, .set = s6), STEP (REJECT));
            }
        }
    }

  if (params->n_gateway_ifnames > 0)
    {
      const size_t integrity[6] = { set_help4, set_help6, set_doh4, set_dohl4, set_doh6, set_dohl6 };

      if (!gateway_build (&b, params, gw_sets, integrity, learn_mark, answers_queue, error))
        return NULL;
    }

done:
  plan = g_new0 (TrellisNftPlan, 1);
  plan->table = g_strdup (params->table);
  plan->queue_expr = params->queue_expr;
  /* The arrays' clear functions are dropped: the plan owns the contents now. */
  g_array_set_clear_func (b.sets, NULL);
  g_array_set_clear_func (b.chains, NULL);
  g_array_set_clear_func (b.rules, NULL);
  g_array_set_clear_func (b.children, NULL);
  plan->n_sets = b.sets->len;
  plan->sets = (TrellisNftSet *) (gpointer) g_array_free (g_steal_pointer (&b.sets), FALSE);
  plan->n_chains = b.chains->len;
  plan->chains = (TrellisNftChain *) (gpointer) g_array_free (g_steal_pointer (&b.chains), FALSE);
  plan->n_rules = b.rules->len;
  plan->rules = (TrellisNftRule *) (gpointer) g_array_free (g_steal_pointer (&b.rules), FALSE);
  plan->n_children = b.children->len;
  plan->children = (TrellisNftChild *) (gpointer) g_array_free (g_steal_pointer (&b.children), FALSE);
  if (params->n_gateway_ifnames > 0)
    {
      plan->n_ifnames = params->n_gateway_ifnames;
      plan->ifnames = g_new0 (char *, plan->n_ifnames + 1);
      for (i = 0; i < plan->n_ifnames; i++)
        plan->ifnames[i] = g_strdup (params->gateway_ifnames[i]);
    }
  return plan;
}

void
trellis_nft_plan_free (TrellisNftPlan *plan)
{
  size_t i;

  if (plan == NULL)
    return;
  for (i = 0; i < plan->n_sets; i++)
    set_clear (&plan->sets[i]);
  for (i = 0; i < plan->n_chains; i++)
    chain_clear (&plan->chains[i]);
  for (i = 0; i < plan->n_rules; i++)
    rule_clear (&plan->rules[i]);
  for (i = 0; i < plan->n_children; i++)
    child_clear (&plan->children[i]);
  g_free (plan->sets);
  g_free (plan->chains);
  g_free (plan->rules);
  g_free (plan->children);
  g_strfreev (plan->ifnames);
  g_free (plan->table);
  g_free (plan);
}

const TrellisNftSet *
trellis_nft_plan_find_set (const TrellisNftPlan *plan,
                           const char *name)
{
  size_t i;

  g_return_val_if_fail (plan != NULL && name != NULL, NULL);
  for (i = 0; i < plan->n_sets; i++)
    if (strcmp (plan->sets[i].name, name) == 0)
      return &plan->sets[i];
  return NULL;
}

static gboolean
steps_equal (const TrellisNftRule *a, const TrellisNftRule *b)
{
  if (a->chain != b->chain || a->n_steps != b->n_steps)
    return FALSE;
  for (size_t i = 0; i < a->n_steps; i++)
    {
      const TrellisNftStep *x = &a->steps[i], *y = &b->steps[i];

      if (x->kind != y->kind || x->set != y->set || x->value != y->value || x->bypass != y->bypass
          || MAX (x->total, 1) != MAX (y->total, 1))
        return FALSE;
    }
  return TRUE;
}

gboolean
trellis_nft_plan_same_shape (const TrellisNftPlan *a,
                             const TrellisNftPlan *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (strcmp (a->table, b->table) != 0 || a->queue_expr != b->queue_expr || a->n_sets != b->n_sets
      || a->n_chains != b->n_chains || a->n_rules != b->n_rules)
    return FALSE;
  for (size_t i = 0; i < a->n_sets; i++)
    if (strcmp (a->sets[i].name, b->sets[i].name) != 0 || a->sets[i].key != b->sets[i].key
        || a->sets[i].interval != b->sets[i].interval || a->sets[i].timeout != b->sets[i].timeout)
      return FALSE;
  for (size_t i = 0; i < a->n_chains; i++)
    if (strcmp (a->chains[i].name, b->chains[i].name) != 0 || a->chains[i].type != b->chains[i].type
        || a->chains[i].hook != b->chains[i].hook || a->chains[i].priority != b->chains[i].priority)
      return FALSE;
  for (size_t i = 0; i < a->n_rules; i++)
    if (!steps_equal (&a->rules[i], &b->rules[i]))
      return FALSE;
  if (a->n_ifnames != b->n_ifnames)
    return FALSE;
  for (size_t i = 0; i < a->n_ifnames; i++)
    if (strcmp (a->ifnames[i], b->ifnames[i]) != 0)
      return FALSE;
  return TRUE;
}

gboolean
trellis_nft_set_same_elements (const TrellisNftSet *a,
                               const TrellisNftSet *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return a->n_uids == b->n_uids && a->n_cidrs == b->n_cidrs && a->n_times == b->n_times
         && (a->n_times == 0 || memcmp (a->times, b->times, a->n_times * sizeof *a->times) == 0)
         && (a->n_uids == 0 || memcmp (a->uids, b->uids, a->n_uids * sizeof *a->uids) == 0)
         && (a->n_cidrs == 0 || memcmp (a->cidrs, b->cidrs, a->n_cidrs * sizeof *a->cidrs) == 0);
}

/* ---------------------------------------------------------------------- */
/* From the household */

guint
trellis_nft_queue_total_default (void)
{
  return CLAMP (g_get_num_processors (), 1, TRELLIS_NFT_QUEUE_TOTAL_MAX);
}

static gboolean
resolve_getpwnam (const char *account, uint32_t *ret_uid, gpointer user_data)
{
  struct passwd *pw = getpwnam (account);

  if (pw == NULL)
    return FALSE;
  *ret_uid = pw->pw_uid;
  return TRUE;
}

void
trellis_nft_quiet_horizon (TrellisPolicy *policy,
                           int64_t now_us,
                           int64_t *ret_from_us,
                           int64_t *ret_to_us)
{
  g_autoptr (GDateTime) now = g_date_time_new_from_unix_utc (now_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) local = NULL;
  g_autoptr (GDateTime) midnight = NULL;
  g_autoptr (GDateTime) from = NULL;
  g_autoptr (GDateTime) to = NULL;
  GTimeZone *tz;

  g_return_if_fail (policy != NULL && ret_from_us != NULL && ret_to_us != NULL);
  tz = trellis_policy_get_timezone (policy);
  if (now == NULL)
    {
      *ret_from_us = now_us;
      *ret_to_us = now_us;
      return;
    }
  local = g_date_time_to_timezone (now, tz);
  midnight = g_date_time_new (tz, g_date_time_get_year (local), g_date_time_get_month (local),
                              g_date_time_get_day_of_month (local), 0, 0, 0);
  from = g_date_time_add_days (midnight, -1);
  to = g_date_time_add_days (midnight, 8);
  *ret_from_us = g_date_time_to_unix (from) * G_USEC_PER_SEC;
  *ret_to_us = g_date_time_to_unix (to) * G_USEC_PER_SEC;
}

TrellisNftPlan *
trellis_nft_plan_new_for_policy (TrellisPolicy *policy,
                                 const TrellisNftPlanTuning *tuning,
                                 TrellisNftPlanResolve resolve,
                                 gpointer user_data,
                                 GError **error)
{
  const TrellisNftPlanTuning defaults = {
    .table = TRELLIS_NFT_TABLE_DEFAULT,
    .queue_num = TRELLIS_NFT_QUEUE_NUM_DEFAULT,
    .answer_port = TRELLIS_NFT_ANSWER_PORT_DEFAULT,
    .mark = TRELLIS_NFT_MARK_DEFAULT,
    .queue_expr = TRELLIS_QUEUE_EXPR_XT,
  };
  const TrellisChild *const *children;
  g_autofree TrellisNftPlanChild *pcs = NULL;
  g_autoptr (GPtrArray) uid_arrays = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr (GPtrArray) time_arrays = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autofree TrellisNftCidr *doh_v4 = NULL, *doh_v6 = NULL;
  TrellisNftPlanParams params = { 0 };
  const char *const *gateway_ifaces = trellis_policy_get_gateway_interfaces (policy);
  guint n_children = 0;
  guint i;
  int64_t now_us, from_us, to_us;
  g_autoptr (GDateTime) now = NULL;

  g_return_val_if_fail (policy != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (tuning == NULL)
    tuning = &defaults;
  if (resolve == NULL)
    resolve = resolve_getpwnam;

  now_us = tuning->now_us != 0 ? tuning->now_us : g_get_real_time ();
  now = g_date_time_new_from_unix_utc (now_us / G_USEC_PER_SEC);
  if (now == NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "the moment to plan for is out of range");
      return NULL;
    }
  trellis_nft_quiet_horizon (policy, now_us, &from_us, &to_us);

  children = trellis_policy_get_children (policy, &n_children);
  if (n_children > 0)
    pcs = g_new0 (TrellisNftPlanChild, n_children);
  for (i = 0; i < n_children; i++)
    {
      const char *const *accounts = trellis_child_get_accounts (children[i]);
      GArray *uids = g_array_new (FALSE, FALSE, sizeof (uint32_t));
      guint j;

      g_ptr_array_add (uid_arrays, uids);
      for (j = 0; accounts != NULL && accounts[j] != NULL; j++)
        {
          uint32_t uid;

          if (!resolve (accounts[j], &uid, user_data))
            continue; /* no such account (yet): nothing of it to filter */
          if (uid == 0)
            {
              g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                           "child %s: account %s is root; root cannot be a child's account",
                           trellis_child_get_name (children[i]), accounts[j]);
              return NULL;
            }
          g_array_append_val (uids, uid);
        }
      pcs[i].name = trellis_child_get_name (children[i]);
      pcs[i].uids = (const uint32_t *) (gpointer) uids->data;
      pcs[i].n_uids = uids->len;
      /* No category ships a `cidrs` file yet, and trellis-policy.h has no
       * call for one: the address ranges stay empty. */

      /* Quiet hours, as absolute times: the kernel's `meta hour` is UTC
       * while its `meta day` follows the kernel's own sys_tz, so neither
       * can hold a household's zone; stretches of real time can, summer
       * time included (docs/decisions.md). */
      if (trellis_child_get_quiet_hours (policy, children[i], now, NULL, NULL) != NULL)
        {
          GArray *us = trellis_child_get_quiet_times (policy, children[i], from_us, to_us);
          GArray *ns = g_array_new (FALSE, FALSE, sizeof (TrellisNftTimeRange));

          g_ptr_array_add (time_arrays, us);
          g_ptr_array_add (time_arrays, ns);
          for (guint k = 0; k < us->len; k++)
            {
              const gint64 *r = &g_array_index (us, gint64, 2 * k);
              TrellisNftTimeRange t = {
                (r[0] - tuning->kernel_offset_us) * 1000,
                (r[1] - tuning->kernel_offset_us) * 1000,
              };

              g_array_append_val (ns, t);
            }
          pcs[i].quiet = true;
          pcs[i].quiet_times = (const TrellisNftTimeRange *) (gpointer) ns->data;
          pcs[i].n_quiet_times = ns->len;
        }
      {
        gboolean allowlist = FALSE;

        if (trellis_child_get_profile (policy, children[i], now, NULL, NULL, &allowlist) != NULL)
          pcs[i].allowlist = allowlist;
      }

      /* Gateway mode: the devices, by family. */
      if (gateway_ifaces[0] != NULL)
        {
          const char *const *devices = trellis_child_get_devices (children[i]);
          GArray *fam[3];

          for (guint f = 0; f < 3; f++)
            {
              fam[f] = g_array_new (FALSE, TRUE, sizeof (TrellisNftCidr));
              g_ptr_array_add (time_arrays, fam[f]);
            }
          for (guint d_i = 0; devices[d_i] != NULL; d_i++)
            {
              TrellisDeviceAddress d;
              TrellisNftCidr c = { { 0 }, 0 };

              if (!trellis_device_parse (devices[d_i], &d))
                continue; /* checked when the household was read */
              memcpy (c.addr, d.addr, sizeof c.addr);
              c.prefix_len = d.prefix_len;
              g_array_append_val (fam[d.family], c);
            }
          pcs[i].macs = (const TrellisNftCidr *) (gpointer) fam[TRELLIS_DEVICE_MAC]->data;
          pcs[i].n_macs = fam[TRELLIS_DEVICE_MAC]->len;
          pcs[i].dev_v4 = (const TrellisNftCidr *) (gpointer) fam[TRELLIS_DEVICE_IPV4]->data;
          pcs[i].n_dev_v4 = fam[TRELLIS_DEVICE_IPV4]->len;
          pcs[i].dev_v6 = (const TrellisNftCidr *) (gpointer) fam[TRELLIS_DEVICE_IPV6]->data;
          pcs[i].n_dev_v6 = fam[TRELLIS_DEVICE_IPV6]->len;
          if (children[i] == trellis_policy_get_default_profile (policy))
            params.gateway_default = i;
        }
    }
  if (gateway_ifaces[0] != NULL && trellis_policy_get_default_profile (policy) != NULL)
    {
      params.gateway_ifnames = gateway_ifaces;
      params.n_gateway_ifnames = g_strv_length ((char **) gateway_ifaces);
    }

  /* The DNS-over-HTTPS endpoints' addresses written in the data. */
  {
    gsize n4 = 0, n6 = 0;
    const guint8 *a4 = trellis_policy_get_doh_addresses (policy, 4, &n4);
    const guint8 *a6 = trellis_policy_get_doh_addresses (policy, 6, &n6);

    doh_v4 = g_new0 (TrellisNftCidr, MAX (n4, 1));
    for (gsize k = 0; k < n4; k++)
      {
        memcpy (doh_v4[k].addr, a4 + 4 * k, 4);
        doh_v4[k].prefix_len = 32;
      }
    doh_v6 = g_new0 (TrellisNftCidr, MAX (n6, 1));
    for (gsize k = 0; k < n6; k++)
      {
        memcpy (doh_v6[k].addr, a6 + 16 * k, 16);
        doh_v6[k].prefix_len = 128;
      }
    params.doh_v4 = doh_v4;
    params.n_doh_v4 = n4;
    params.doh_v6 = doh_v6;
    params.n_doh_v6 = n6;
  }

  params.table = tuning->table != NULL ? tuning->table : TRELLIS_NFT_TABLE_DEFAULT;
  params.queue_num = tuning->queue_num;
  params.queue_total = MAX (tuning->queue_total, 1);
  params.answer_port = tuning->answer_port;
  params.mark = tuning->mark != 0 ? tuning->mark : TRELLIS_NFT_MARK_DEFAULT;
  params.bypass = trellis_policy_get_on_failure_open (policy);
  params.queue_expr = tuning->queue_expr;
  params.children = pcs;
  params.n_children = n_children;
  params.net_policy = true;
  return trellis_nft_plan_new (&params, error);
}

/* ---------------------------------------------------------------------- */
/* Rendering, as nft 1.0.6's `nft list table` */

static const char *
hook_name (TrellisNftHook hook)
{
  switch (hook)
    {
    case TRELLIS_NFT_HOOK_PREROUTING: return "prerouting";
    case TRELLIS_NFT_HOOK_INPUT: return "input";
    case TRELLIS_NFT_HOOK_FORWARD: return "forward";
    case TRELLIS_NFT_HOOK_OUTPUT: return "output";
    case TRELLIS_NFT_HOOK_POSTROUTING: return "postrouting";
    default: return "?";
    }
}

/* nft names a standard priority; "dstnat" only at prerouting and "srcnat"
 * only at postrouting (family inet).  Other values are printed as numbers. */
static void
render_priority (GString *out, TrellisNftHook hook, int32_t prio)
{
  if (prio == PRIO_RAW)
    g_string_append (out, "raw");
  else if (prio == PRIO_MANGLE)
    g_string_append (out, "mangle");
  else if (prio == PRIO_DSTNAT && hook == TRELLIS_NFT_HOOK_PREROUTING)
    g_string_append (out, "dstnat");
  else if (prio == PRIO_FILTER)
    g_string_append (out, "filter");
  else if (prio == 50)
    g_string_append (out, "security");
  else if (prio == PRIO_SRCNAT && hook == TRELLIS_NFT_HOOK_POSTROUTING)
    g_string_append (out, "srcnat");
  else if (prio > PRIO_MANGLE && prio <= PRIO_MANGLE + 10)
    g_string_append_printf (out, "mangle + %" G_GINT32_FORMAT, prio - PRIO_MANGLE);
  else if (prio < PRIO_MANGLE && prio >= PRIO_MANGLE - 10)
    g_string_append_printf (out, "mangle - %" G_GINT32_FORMAT, PRIO_MANGLE - prio);
  else
    g_string_append_printf (out, "%" G_GINT32_FORMAT, prio);
}

static void
render_cidr (GString *out, const TrellisNftCidr *c, TrellisNftKeyType key)
{
  char buf[INET6_ADDRSTRLEN];
  size_t len = addr_len (key);

  if (key == TRELLIS_NFT_KEY_ETHER_ADDR)
    {
      g_string_append_printf (out, "%02x:%02x:%02x:%02x:%02x:%02x", c->addr[0], c->addr[1],
                              c->addr[2], c->addr[3], c->addr[4], c->addr[5]);
      return;
    }
  inet_ntop (len == 4 ? AF_INET : AF_INET6, c->addr, buf, sizeof buf);
  g_string_append (out, buf);
  if (c->prefix_len != len * 8)
    g_string_append_printf (out, "/%u", c->prefix_len);
}

/* As nft prints a date: the local time of the process (TZ), to the second. */
static void
render_time (GString *out, int64_t ns)
{
  time_t t = (time_t) (ns / 1000000000);
  struct tm tm;
  char buf[64];

  if (localtime_r (&t, &tm) == NULL || strftime (buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    g_string_append (out, "\"?\"");
  else
    g_string_append_printf (out, "\"%s\"", buf);
}

/* nft prints an interval as "first"-"last", last being the end less one. */
static void
render_time_range (GString *out, const TrellisNftTimeRange *r)
{
  render_time (out, r->start);
  g_string_append_c (out, '-');
  render_time (out, r->end - 1);
}

static gboolean
uid_in (const uint32_t *uids, size_t n, uint32_t uid)
{
  /* a child with devices only has no uids, and bsearch() takes no NULL */
  return n > 0 && bsearch (&uid, uids, n, sizeof uid, uid_cmp) != NULL;
}

/* nft puts 5 numbers (uids) or 2 addresses on a line, then breaks. */
static void
render_elements (GString *out, const TrellisNftSet *s, const TrellisNftChild *child)
{
  const size_t per_line = s->key == TRELLIS_NFT_KEY_UID                                                   ? 5
                          : (s->key == TRELLIS_NFT_KEY_IPV4_ADDR || s->key == TRELLIS_NFT_KEY_ETHER_ADDR) ? 2
                                                                                                          : 1;
  size_t count = 0;
  size_t i, n;

  if (s->key == TRELLIS_NFT_KEY_TIME)
    n = s->n_times;
  else
    n = s->key == TRELLIS_NFT_KEY_UID ? s->n_uids : s->n_cidrs;
  for (i = 0; i < n; i++)
    {
      if (s->key == TRELLIS_NFT_KEY_UID && child != NULL
          && !uid_in (child->uids, child->n_uids, s->uids[i]))
        continue;
      if (count == 0 && out->len > 0 && out->str[out->len - 1] == '\n')
        g_string_append (out, "\t\telements = { ");
      else if (count % per_line == 0)
        g_string_append (out, ",\n\t\t\t     ");
      else
        g_string_append (out, ", ");
      if (s->key == TRELLIS_NFT_KEY_UID)
        g_string_append_printf (out, "%" G_GUINT32_FORMAT, s->uids[i]);
      else if (s->key == TRELLIS_NFT_KEY_TIME)
        render_time_range (out, &s->times[i]);
      else
        render_cidr (out, &s->cidrs[i], s->key);
      count++;
    }
  if (count > 0)
    g_string_append (out, " }\n");
}

static void
render_set (GString *out, const TrellisNftSet *s, const TrellisNftChild *child)
{
  static const char *const types[] = { "uid", "ipv4_addr", "ipv6_addr", "?", "ether_addr" };

  if (s->key == TRELLIS_NFT_KEY_TIME)
    g_string_append_printf (out, "\tset %s {\n\t\ttypeof meta time\n", s->name);
  else
    g_string_append_printf (out, "\tset %s {\n\t\ttype %s\n", s->name, types[s->key]);
  if (s->interval)
    g_string_append (out, "\t\tflags interval\n");
  if (s->timeout)
    g_string_append (out, "\t\tflags timeout\n");
  render_elements (out, s, child);
  g_string_append (out, "\t}\n");
}

static void
render_rule (GString *out, const TrellisNftPlan *plan, const TrellisNftRule *r)
{
  int family = 0; /* 4 or 6 after an ip/ip6 match */
  size_t i;

  g_string_append (out, "\t\t");
  for (i = 0; i < r->n_steps; i++)
    {
      const TrellisNftStep *st = &r->steps[i];

      if (i > 0)
        g_string_append_c (out, ' ');
      switch (st->kind)
        {
        case TRELLIS_NFT_STEP_SKUID_IN_SET:
          g_string_append_printf (out, "meta skuid @%s", plan->sets[st->set].name);
          break;
        case TRELLIS_NFT_STEP_MARK:
          g_string_append_printf (out, "meta mark 0x%08" G_GINT32_MODIFIER "x", st->value);
          break;
        case TRELLIS_NFT_STEP_UDP_DPORT:
          g_string_append_printf (out, "udp dport %" G_GUINT32_FORMAT, st->value);
          break;
        case TRELLIS_NFT_STEP_TCP_DPORT:
          g_string_append_printf (out, "tcp dport %" G_GUINT32_FORMAT, st->value);
          break;
        case TRELLIS_NFT_STEP_UDP_DPORT_NOT:
          g_string_append_printf (out, "udp dport != %" G_GUINT32_FORMAT, st->value);
          break;
        case TRELLIS_NFT_STEP_TCP_DPORT_NOT:
          g_string_append_printf (out, "tcp dport != %" G_GUINT32_FORMAT, st->value);
          break;
        case TRELLIS_NFT_STEP_CT_ZONE_SET:
          g_string_append_printf (out, "ct original zone set %" G_GUINT32_FORMAT, st->value);
          break;
        case TRELLIS_NFT_STEP_NOTRACK:
          g_string_append (out, "notrack");
          break;
        case TRELLIS_NFT_STEP_CT_STATE_NEW:
          g_string_append (out, "ct state new");
          break;
        case TRELLIS_NFT_STEP_IP_DADDR_IN_SET:
          g_string_append_printf (out, "ip daddr @%s", plan->sets[st->set].name);
          family = 4;
          break;
        case TRELLIS_NFT_STEP_IP6_DADDR_IN_SET:
          g_string_append_printf (out, "ip6 daddr @%s", plan->sets[st->set].name);
          family = 6;
          break;
        case TRELLIS_NFT_STEP_COUNTER:
          /* the kernel's counts: a fresh table's */
          g_string_append (out, "counter packets 0 bytes 0");
          break;
        case TRELLIS_NFT_STEP_QUEUE:
          {
            gboolean fanout = st->total > 1;
            const char *flags = st->bypass ? (fanout ? "bypass,fanout" : "bypass")
                                           : (fanout ? "fanout" : NULL);

            if (plan->queue_expr == TRELLIS_QUEUE_EXPR_XT)
              g_string_append_printf (out, "queue num %" G_GUINT32_FORMAT, st->value);
            else
              {
                g_string_append (out, "queue ");
                if (flags != NULL)
                  g_string_append_printf (out, "flags %s ", flags);
                g_string_append_printf (out, "to %" G_GUINT32_FORMAT, st->value);
              }
            if (fanout)
              g_string_append_printf (out, "-%" G_GUINT32_FORMAT, st->value + st->total - 1);
            if (plan->queue_expr == TRELLIS_QUEUE_EXPR_XT && flags != NULL)
              g_string_append_printf (out, " %s", flags);
          }
          break;
        case TRELLIS_NFT_STEP_REDIRECT:
          g_string_append_printf (out, "redirect to :%" G_GUINT32_FORMAT, st->value);
          break;
        case TRELLIS_NFT_STEP_DROP:
          g_string_append (out, "drop");
          break;
        case TRELLIS_NFT_STEP_ACCEPT:
          g_string_append (out, "accept");
          break;
        case TRELLIS_NFT_STEP_OIF_LO:
          g_string_append (out, "oif \"lo\"");
          break;
        case TRELLIS_NFT_STEP_UDP_SPORT:
          g_string_append_printf (out, "udp sport %" G_GUINT32_FORMAT, st->value);
          break;
        case TRELLIS_NFT_STEP_TIME_IN_SET:
          g_string_append_printf (out, "meta time @%s", plan->sets[st->set].name);
          break;
        case TRELLIS_NFT_STEP_IP_DADDR_NOT_IN_SET:
          g_string_append_printf (out, "ip daddr != @%s", plan->sets[st->set].name);
          family = 4;
          break;
        case TRELLIS_NFT_STEP_IP6_DADDR_NOT_IN_SET:
          g_string_append_printf (out, "ip6 daddr != @%s", plan->sets[st->set].name);
          family = 6;
          break;
        case TRELLIS_NFT_STEP_CT_MARK:
          g_string_append_printf (out, "ct mark 0x%08" G_GINT32_MODIFIER "x", st->value);
          break;
        case TRELLIS_NFT_STEP_CT_MARK_SET:
          g_string_append_printf (out, "ct mark set 0x%08" G_GINT32_MODIFIER "x", st->value);
          break;
        case TRELLIS_NFT_STEP_IIFNAME:
          g_string_append_printf (out, "iifname \"%s\"",
                                  st->value < plan->n_ifnames ? plan->ifnames[st->value] : "?");
          break;
        case TRELLIS_NFT_STEP_ETHER_SADDR_IN_SET:
          g_string_append_printf (out, "ether saddr @%s", plan->sets[st->set].name);
          break;
        case TRELLIS_NFT_STEP_IP_SADDR_IN_SET:
          g_string_append_printf (out, "ip saddr @%s", plan->sets[st->set].name);
          family = 4;
          break;
        case TRELLIS_NFT_STEP_IP6_SADDR_IN_SET:
          g_string_append_printf (out, "ip6 saddr @%s", plan->sets[st->set].name);
          family = 6;
          break;
        case TRELLIS_NFT_STEP_MARK_SET:
          g_string_append_printf (out, "meta mark set 0x%08" G_GINT32_MODIFIER "x", st->value);
          break;
        case TRELLIS_NFT_STEP_REJECT:
          if (family == 4)
            g_string_append (out, "reject with icmp port-unreachable");
          else if (family == 6)
            g_string_append (out, "reject with icmpv6 port-unreachable");
          else
            g_string_append (out, "reject");
          break;
        default:
          g_string_append (out, "?");
          break;
        }
    }
  g_string_append_c (out, '\n');
}

static gboolean
concerns (const char *owner, const TrellisNftChild *child)
{
  return owner == NULL || child == NULL || strcmp (owner, child->name) == 0;
}

char *
trellis_nft_plan_render (const TrellisNftPlan *plan,
                         const char *child_name)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const TrellisNftChild *child = NULL;
  gboolean first = TRUE;
  size_t i, j;

  g_return_val_if_fail (plan != NULL, NULL);

  if (child_name != NULL)
    {
      for (i = 0; i < plan->n_children && child == NULL; i++)
        if (strcmp (plan->children[i].name, child_name) == 0)
          child = &plan->children[i];
      if (child == NULL)
        return NULL;
    }

  g_string_append_printf (out, "table inet %s {\n", plan->table);
  for (i = 0; i < plan->n_sets; i++)
    {
      if (!concerns (plan->sets[i].child, child))
        continue;
      if (!first)
        g_string_append_c (out, '\n');
      first = FALSE;
      render_set (out, &plan->sets[i], child);
    }
  for (i = 0; i < plan->n_chains; i++)
    {
      const TrellisNftChain *c = &plan->chains[i];

      if (!first)
        g_string_append_c (out, '\n');
      first = FALSE;
      g_string_append_printf (out, "\tchain %s {\n\t\ttype %s hook %s priority ", c->name,
                              c->type == TRELLIS_NFT_CHAIN_NAT ? "nat" : "filter",
                              hook_name (c->hook));
      render_priority (out, c->hook, c->priority);
      g_string_append (out, "; policy accept;\n");
      for (j = 0; j < plan->n_rules; j++)
        if (plan->rules[j].chain == i && concerns (plan->rules[j].child, child))
          render_rule (out, plan, &plan->rules[j]);
      g_string_append (out, "\t}\n");
    }
  g_string_append (out, "}\n");
  return g_string_free (g_steal_pointer (&out), FALSE);
}
