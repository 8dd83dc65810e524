/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decide.c — the decision engine: what applies to a child at a moment (the
 * age band, its categories adjusted by block=, safe search and mode), and
 * "is this name filtered for this child, and by which rule", in the
 * decision order of docs/household.md.  It only reads the policy.
 */
#include <string.h>

#include "policy/policy-private.h"

/* The band index for @child at @now, or -1 when the child is an adult. */
static int
child_band (TrellisPolicy *policy,
            const TrellisChild *child,
            GDateTime *now)
{
  guint age = trellis_child_get_age (policy, child, now);

  if (age >= TRELLIS_ADULT_AGE)
    return -1;
  return trellis_policy_band_for_age (policy, age);
}

static void
child_settings (TrellisPolicy *policy,
                const TrellisChild *child,
                int band_index,
                guint32 *ret_categories,
                TrellisSafeSearchLevel *ret_safe_search,
                gboolean *ret_allowlist)
{
  const TrellisAgeBandEntry *band = g_ptr_array_index (policy->bands, band_index);
  TrellisSafeSearchLevel level = band->pub.safe_search;

  if (ret_categories != NULL)
    *ret_categories = (band->pub.categories | child->block_add) & ~child->block_remove;
  if (child->safe_search != NULL)
    trellis_safe_search_level_from_string (child->safe_search, &level);
  if (ret_safe_search != NULL)
    *ret_safe_search = level;
  if (ret_allowlist != NULL)
    *ret_allowlist = child->mode != NULL ? strcmp (child->mode, "allowlist") == 0 : band->pub.allowlist;
}

const TrellisAgeBand *
trellis_child_get_profile (TrellisPolicy *policy,
                           const TrellisChild *child,
                           GDateTime *now,
                           guint32 *ret_categories,
                           TrellisSafeSearchLevel *ret_safe_search,
                           gboolean *ret_allowlist)
{
  int band;

  g_return_val_if_fail (policy != NULL, NULL);
  g_return_val_if_fail (child != NULL, NULL);

  band = child_band (policy, child, now);
  if (band < 0)
    return NULL;
  child_settings (policy, child, band, ret_categories, ret_safe_search, ret_allowlist);
  return &((const TrellisAgeBandEntry *) g_ptr_array_index (policy->bands, band))->pub;
}

static void
decision_set (TrellisPolicy *policy,
              guint id,
              TrellisVerdict verdict,
              TrellisDecision *ret_decision)
{
  ret_decision->rule = &g_array_index (policy->rules, TrellisRule, id);
  ret_decision->verdict = verdict;
  ret_decision->target = NULL;
}

/* Presentation form with \DDD escapes: at most 255 octets × 4. */
#define NAME_BUFFER 1024

/*
 * The form of @name the rules are looked up with: lower case, without a
 * trailing dot (in @buffer), or the IDN normalization (in @ret_idn, to be
 * freed).  Returns: (nullable) it, NULL when @name cannot match a rule.
 */
static const char *
name_prepare (const char *name,
              char *buffer,
              char **ret_idn)
{
  if (name != NULL && g_str_is_ascii (name))
    {
      gsize len = strlen (name), i;

      if (len > 0 && name[len - 1] == '.' && (len < 2 || name[len - 2] != '\\'))
        len--;
      if (len > 0 && len < NAME_BUFFER)
        {
          for (i = 0; i < len; i++)
            buffer[i] = g_ascii_tolower (name[i]);
          buffer[len] = '\0';
          return buffer;
        }
      return NULL;
    }
  if (name != NULL)
    return *ret_idn = trellis_domain_normalize (name);
  return NULL;
}

/* @now in the household's zone: itself when it is already (no copy). */
static GDateTime *
local_time (TrellisPolicy *policy,
            GDateTime *now)
{
  if (now == NULL)
    return g_date_time_new_now (policy->tz);
  if (g_date_time_get_timezone (now) == policy->tz)
    return g_date_time_ref (now);
  return g_date_time_to_timezone (now, policy->tz);
}

/* The index's answer for a name, looked up beforehand. */
typedef struct {
  gboolean known; /* looked up already: the fields below hold */
  gboolean matched;
  guint32 bits;
} IndexAnswer;

/*
 * trellis_policy_decide_at() for @lookup (name_prepare()'s form) at @local
 * (in the household's zone), with the index's answer for it when @index is
 * known, or looked up here when needed.
 */
static void
decide_prepared (TrellisPolicy *policy,
                 const TrellisChild *child,
                 const char *lookup,
                 GDateTime *local,
                 const IndexAnswer *index,
                 TrellisDecision *ret_decision)
{
  const TrellisRule *rule;
  TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;
  gboolean allowlist = FALSE;
  guint32 categories = 0, bits = 0;
  guint id = 0;
  int band;

  decision_set (policy, 0, TRELLIS_VERDICT_ALLOW, ret_decision);
  if (lookup == NULL)
    return;

  /* Helpline, (a parent's temporary grant: a later milestone), explicit
   * allow, explicit deny, integrity: the most specific suffix decides. */
  id = trellis_matcher_decide (policy->helpline_matcher,
                               child != NULL ? child->rules : NULL,
                               policy->integrity_matcher,
                               lookup);
  rule = &g_array_index (policy->rules, TrellisRule, id);
  if (rule->kind == TRELLIS_RULE_KIND_HELPLINE)
    {
      decision_set (policy, id, TRELLIS_VERDICT_ALLOW, ret_decision);
      return;
    }
  if (child == NULL)
    {
      decision_set (policy, id, rule->kind == TRELLIS_RULE_KIND_DENY || rule->kind == TRELLIS_RULE_KIND_INTEGRITY ? TRELLIS_VERDICT_BLOCK : TRELLIS_VERDICT_ALLOW,
                    ret_decision);
      return;
    }

  band = child_band (policy, child, local);
  if (band < 0)
    return; /* 18 today: Trellis does not filter adults */
  child_settings (policy, child, band, &categories, &level, &allowlist);

  if (rule->kind == TRELLIS_RULE_KIND_DENY || rule->kind == TRELLIS_RULE_KIND_INTEGRITY)
    {
      decision_set (policy, id, TRELLIS_VERDICT_BLOCK, ret_decision);
      return;
    }

  if (rule->kind != TRELLIS_RULE_KIND_ALLOW)
    {
      int window = trellis_quiet_windows_find ((const TrellisQuietWindow *) child->quiet->data,
                                               child->quiet->len, local);
      gboolean listed = FALSE;

      if (window >= 0)
        {
          decision_set (policy, g_array_index (child->quiet, TrellisQuietWindow, window).rule_id,
                        TRELLIS_VERDICT_BLOCK, ret_decision);
          return;
        }

      if (categories != 0 && policy->index != NULL)
        {
          if (index != NULL && index->known)
            {
              listed = index->matched;
              bits = index->bits;
            }
          else
            listed = trellis_domain_index_lookup (policy->index, lookup, &bits, NULL, NULL);
        }
      if (listed && (bits & categories) != 0)
        {
          guint c = g_bit_nth_lsf (bits & categories, -1);
          guint category_rule = child->category_rules[band * TRELLIS_MAX_CATEGORIES + c];
          guint information;

          /* A name on the information list, or below one of its names, is
           * decided as if no category listed it (GC25 §56): someone
           * else's list does not decide what a child may learn. */
          if (category_rule != 0
              && trellis_matcher_lookup (policy->information_matcher, lookup, &information))
            id = information;
          else if (category_rule != 0)
            {
              decision_set (policy, category_rule, TRELLIS_VERDICT_BLOCK, ret_decision);
              return;
            }
        }

      if (allowlist)
        {
          guint allowed;

          if (!trellis_matcher_lookup (policy->allowlist_matcher, lookup, &allowed))
            {
              decision_set (policy, child->allowlist_rule, TRELLIS_VERDICT_BLOCK, ret_decision);
              return;
            }
          id = allowed;
        }
    }

  decision_set (policy, id, TRELLIS_VERDICT_ALLOW, ret_decision);

  /* Safe search rewrites what would be allowed as it is. */
  if (level != TRELLIS_SAFE_SEARCH_OFF && policy->safe_search != NULL)
    {
      const char *target = trellis_safe_search_lookup (policy->safe_search, lookup, level);

      if (target != NULL)
        {
          decision_set (policy, child->safe_search_rule[level], TRELLIS_VERDICT_SAFE_SEARCH, ret_decision);
          ret_decision->target = target;
        }
    }
}

void
trellis_policy_decide_at (TrellisPolicy *policy,
                          const TrellisChild *child,
                          const char *name,
                          GDateTime *now,
                          TrellisDecision *ret_decision)
{
  char buffer[NAME_BUFFER];
  g_autofree char *idn = NULL;
  g_autoptr(GDateTime) local = NULL;
  const char *lookup;

  g_return_if_fail (policy != NULL);
  g_return_if_fail (ret_decision != NULL);

  lookup = name_prepare (name, buffer, &idn);
  if (lookup == NULL || child == NULL)
    {
      decide_prepared (policy, child, lookup, NULL, NULL, ret_decision);
      return;
    }
  local = local_time (policy, now);
  decide_prepared (policy, child, lookup, local, NULL, ret_decision);
}

/* Names decided together, at most this many at a time. */
#define MANY_CHUNK 64

void
trellis_policy_decide_many (TrellisPolicy *policy,
                            const TrellisChild *const *children,
                            const char *const *names,
                            gsize n_names,
                            GDateTime *now,
                            TrellisDecision *ret_decisions)
{
  g_autoptr(GDateTime) local = NULL;

  g_return_if_fail (policy != NULL);
  g_return_if_fail (n_names == 0 || (children != NULL && names != NULL && ret_decisions != NULL));

  if (n_names == 0)
    return;
  local = local_time (policy, now);
  for (gsize start = 0; start < n_names; start += MANY_CHUNK)
    {
      gsize n = MIN (n_names - start, MANY_CHUNK);
      char buffers[MANY_CHUNK][NAME_BUFFER];
      char *idns[MANY_CHUNK] = { NULL };
      const char *lookups[MANY_CHUNK];
      const char *probe[MANY_CHUNK];
      guint probed[MANY_CHUNK];
      TrellisDomainIndexMatch matches[MANY_CHUNK];
      IndexAnswer answers[MANY_CHUNK] = { { 0 } };
      gsize n_probe = 0;

      for (gsize i = 0; i < n; i++)
        {
          lookups[i] = name_prepare (names[start + i], buffers[i], &idns[i]);
          if (lookups[i] != NULL && children[start + i] != NULL && policy->index != NULL)
            {
              probe[n_probe] = lookups[i];
              probed[n_probe++] = (guint) i;
            }
        }
      /* The index's lookups of the whole chunk at once: their memory
       * reads overlap. */
      if (n_probe > 0)
        trellis_domain_index_lookup_many (policy->index, probe, n_probe, matches);
      for (gsize k = 0; k < n_probe; k++)
        {
          answers[probed[k]].known = TRUE;
          answers[probed[k]].matched = matches[k].matched;
          answers[probed[k]].bits = matches[k].category_bits;
        }
      for (gsize i = 0; i < n; i++)
        {
          decide_prepared (policy, children[start + i], lookups[i], local, &answers[i],
                           &ret_decisions[start + i]);
          g_free (idns[i]);
        }
    }
}

void
trellis_policy_decide (TrellisPolicy *policy,
                       const TrellisChild *child,
                       const char *name,
                       TrellisDecision *ret_decision)
{
  trellis_policy_decide_at (policy, child, name, NULL, ret_decision);
}
