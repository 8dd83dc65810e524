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

void
trellis_policy_decide_at (TrellisPolicy *policy,
                          const TrellisChild *child,
                          const char *name,
                          GDateTime *now,
                          TrellisDecision *ret_decision)
{
  /* Presentation form with \DDD escapes: at most 255 octets × 4. */
  char buffer[1024];
  g_autofree char *idn = NULL;
  g_autoptr(GDateTime) local = NULL;
  const char *lookup = NULL;
  const TrellisRule *rule;
  TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;
  gboolean allowlist = FALSE;
  guint32 categories = 0, bits = 0;
  guint id = 0;
  int band;

  g_return_if_fail (policy != NULL);
  g_return_if_fail (ret_decision != NULL);

  if (name != NULL && g_str_is_ascii (name))
    {
      gsize len = strlen (name), i;

      if (len > 0 && name[len - 1] == '.' && (len < 2 || name[len - 2] != '\\'))
        len--;
      if (len > 0 && len < sizeof buffer)
        {
          for (i = 0; i < len; i++)
            buffer[i] = g_ascii_tolower (name[i]);
          buffer[len] = '\0';
          lookup = buffer;
        }
    }
  else if (name != NULL)
    lookup = idn = trellis_domain_normalize (name);

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
      decision_set (policy, id,
                    rule->kind == TRELLIS_RULE_KIND_DENY || rule->kind == TRELLIS_RULE_KIND_INTEGRITY
                      ? TRELLIS_VERDICT_BLOCK
                      : TRELLIS_VERDICT_ALLOW,
                    ret_decision);
      return;
    }

  local = now != NULL ? g_date_time_to_timezone (now, policy->tz) : g_date_time_new_now (policy->tz);
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

      if (window >= 0)
        {
          decision_set (policy, g_array_index (child->quiet, TrellisQuietWindow, window).rule_id,
                        TRELLIS_VERDICT_BLOCK, ret_decision);
          return;
        }

      if (categories != 0 && policy->index != NULL
          && trellis_domain_index_lookup (policy->index, lookup, &bits, NULL, NULL)
          && (bits & categories) != 0)
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
          guint listed;

          if (!trellis_matcher_lookup (policy->allowlist_matcher, lookup, &listed))
            {
              decision_set (policy, child->allowlist_rule, TRELLIS_VERDICT_BLOCK, ret_decision);
              return;
            }
          id = listed;
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
trellis_policy_decide (TrellisPolicy *policy,
                       const TrellisChild *child,
                       const char *name,
                       TrellisDecision *ret_decision)
{
  trellis_policy_decide_at (policy, child, name, NULL, ret_decision);
}
