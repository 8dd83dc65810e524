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

#include <glib/gi18n.h>

/* nf_tables.h's NFT_TABLE_MAXNAMELEN, without the kernel header. */
#define TABLE_NAME_MAX 256u

/* Standard chain priorities (nft's names for them). */
#define PRIO_MANGLE   (-150)
#define PRIO_DSTNAT   (-100)
#define PRIO_FILTER   0
#define PRIO_SRCNAT   100

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
cidrs_normalize (const TrellisNftCidr  *cidrs,
                 size_t                 n,
                 TrellisNftKeyType      key,
                 const char            *child,
                 TrellisNftCidr       **ret_cidrs,
                 size_t                *ret_n,
                 GError               **error)
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
  GArray *sets;      /* TrellisNftSet */
  GArray *chains;    /* TrellisNftChain */
  GArray *rules;     /* TrellisNftRule */
  GArray *children;  /* TrellisNftChild */
} Builder;

static size_t
add_set (Builder *b, const char *name, TrellisNftKeyType key, const char *child)
{
  TrellisNftSet s = { 0 };

  s.name = g_strdup (name);
  s.key = key;
  s.interval = key != TRELLIS_NFT_KEY_UID;
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

#define STEP(k, ...) ((TrellisNftStep) { .kind = TRELLIS_NFT_STEP_ ## k, __VA_ARGS__ })
#define ADD_RULE(b, chain, child, ...) \
  do { \
    const TrellisNftStep steps_[] = { __VA_ARGS__ }; \
    add_rule ((b), (chain), (child), steps_, G_N_ELEMENTS (steps_)); \
  } while (0)

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
  if (p->queue_total > TRELLIS_NFT_QUEUE_TOTAL_MAX ||
      (guint) p->queue_num + MAX (p->queue_total, 1) - 1 > G_MAXUINT16)
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

TrellisNftPlan *
trellis_nft_plan_new (const TrellisNftPlanParams  *params,
                      GError                     **error)
{
  g_auto (Builder) b = { 0 };
  g_autofree uint32_t *all = NULL;
  TrellisNftPlan *plan;
  size_t n_all = 0;
  size_t i;
  size_t set_uids, chain_queue, chain_redirect, chain_guard;
  size_t chain_ip_block = 0;
  gboolean have_ip_block = FALSE;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!params_check (params, error))
    return NULL;

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

  chain_queue = add_chain (&b, TRELLIS_NFT_CHAIN_QUEUE, TRELLIS_NFT_CHAIN_FILTER,
                           TRELLIS_NFT_HOOK_OUTPUT, PRIO_MANGLE);
  chain_redirect = add_chain (&b, TRELLIS_NFT_CHAIN_REDIRECT, TRELLIS_NFT_CHAIN_NAT,
                              TRELLIS_NFT_HOOK_OUTPUT, PRIO_DSTNAT);
  chain_guard = add_chain (&b, TRELLIS_NFT_CHAIN_GUARD, TRELLIS_NFT_CHAIN_FILTER,
                           TRELLIS_NFT_HOOK_POSTROUTING, PRIO_SRCNAT);

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

      name = g_strdup_printf ("child-%s-uids", c->name);
      s_uids = add_set (&b, name, TRELLIS_NFT_KEY_UID, c->name);
      s = &g_array_index (b.sets, TrellisNftSet, s_uids);
      s->uids = g_memdup2 (c->uids, c->n_uids * sizeof *c->uids);
      s->n_uids = c->n_uids;
      /* One set and one rule for each family that has addresses. */
      {
        const struct {
          const char        *suffix;
          TrellisNftKeyType  key;
          TrellisNftStepKind match;
          TrellisNftCidr   **cidrs;
          size_t             n;
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
  g_free (plan->table);
  g_free (plan);
}

const TrellisNftSet *
trellis_nft_plan_find_set (const TrellisNftPlan *plan,
                           const char           *name)
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

      if (x->kind != y->kind || x->set != y->set || x->value != y->value ||
          x->bypass != y->bypass || MAX (x->total, 1) != MAX (y->total, 1))
        return FALSE;
    }
  return TRUE;
}

gboolean
trellis_nft_plan_same_shape (const TrellisNftPlan *a,
                             const TrellisNftPlan *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (strcmp (a->table, b->table) != 0 || a->queue_expr != b->queue_expr ||
      a->n_sets != b->n_sets || a->n_chains != b->n_chains || a->n_rules != b->n_rules)
    return FALSE;
  for (size_t i = 0; i < a->n_sets; i++)
    if (strcmp (a->sets[i].name, b->sets[i].name) != 0 || a->sets[i].key != b->sets[i].key ||
        a->sets[i].interval != b->sets[i].interval)
      return FALSE;
  for (size_t i = 0; i < a->n_chains; i++)
    if (strcmp (a->chains[i].name, b->chains[i].name) != 0 ||
        a->chains[i].type != b->chains[i].type || a->chains[i].hook != b->chains[i].hook ||
        a->chains[i].priority != b->chains[i].priority)
      return FALSE;
  for (size_t i = 0; i < a->n_rules; i++)
    if (!steps_equal (&a->rules[i], &b->rules[i]))
      return FALSE;
  return TRUE;
}

gboolean
trellis_nft_set_same_elements (const TrellisNftSet *a,
                               const TrellisNftSet *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return a->n_uids == b->n_uids && a->n_cidrs == b->n_cidrs &&
         (a->n_uids == 0 || memcmp (a->uids, b->uids, a->n_uids * sizeof *a->uids) == 0) &&
         (a->n_cidrs == 0 || memcmp (a->cidrs, b->cidrs, a->n_cidrs * sizeof *a->cidrs) == 0);
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

typedef struct {
  GArray *uids;  /* uint32_t */
} ChildUids;

TrellisNftPlan *
trellis_nft_plan_new_for_policy (TrellisPolicy               *policy,
                                 const TrellisNftPlanTuning  *tuning,
                                 TrellisNftPlanResolve        resolve,
                                 gpointer                     user_data,
                                 GError                     **error)
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
  TrellisNftPlanParams params = { 0 };
  guint n_children = 0;
  guint i;

  g_return_val_if_fail (policy != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (tuning == NULL)
    tuning = &defaults;
  if (resolve == NULL)
    resolve = resolve_getpwnam;

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
            continue;  /* no such account (yet): nothing of it to filter */
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
  return trellis_nft_plan_new (&params, error);
}

/* ---------------------------------------------------------------------- */
/* Rendering, as nft 1.0.6's `nft list table` */

static const char *
hook_name (TrellisNftHook hook)
{
  switch (hook)
    {
    case TRELLIS_NFT_HOOK_PREROUTING:  return "prerouting";
    case TRELLIS_NFT_HOOK_FORWARD:     return "forward";
    case TRELLIS_NFT_HOOK_OUTPUT:      return "output";
    case TRELLIS_NFT_HOOK_POSTROUTING: return "postrouting";
    default:                           return "?";
    }
}

/* nft names a standard priority; "dstnat" only at prerouting and "srcnat"
 * only at postrouting (family inet).  Other values are printed as numbers. */
static void
render_priority (GString *out, TrellisNftHook hook, int32_t prio)
{
  if (prio == -300)
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
  else
    g_string_append_printf (out, "%" G_GINT32_FORMAT, prio);
}

static void
render_cidr (GString *out, const TrellisNftCidr *c, TrellisNftKeyType key)
{
  char buf[INET6_ADDRSTRLEN];
  size_t len = addr_len (key);

  inet_ntop (len == 4 ? AF_INET : AF_INET6, c->addr, buf, sizeof buf);
  g_string_append (out, buf);
  if (c->prefix_len != len * 8)
    g_string_append_printf (out, "/%u", c->prefix_len);
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
  const size_t per_line = s->key == TRELLIS_NFT_KEY_UID ? 5 : 2;
  size_t count = 0;
  size_t i, n;

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
  static const char *const types[] = { "uid", "ipv4_addr", "ipv6_addr" };

  g_string_append_printf (out, "\tset %s {\n\t\ttype %s\n", s->name, types[s->key]);
  if (s->interval)
    g_string_append (out, "\t\tflags interval\n");
  render_elements (out, s, child);
  g_string_append (out, "\t}\n");
}

static void
render_rule (GString *out, const TrellisNftPlan *plan, const TrellisNftRule *r)
{
  int family = 0;  /* 4 or 6 after an ip/ip6 match */
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
                         const char           *child_name)
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
