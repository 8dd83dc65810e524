/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rule-kind.c — the one name of each kind of rule: what the Blocked
 * signal carries, what the event log stores, the first word of a rule's
 * short form ("deny example-game.com (household.conf:12)"), and what the
 * session agent compares with.  Not translated: it is an identifier.
 *
 * It calls nothing else in policy/, so trellis-notify can link it alone.
 */
#include <string.h>

#include "policy/trellis-policy.h"

static const char *const kind_names[] = {
  [TRELLIS_RULE_KIND_DEFAULT] = "default",
  [TRELLIS_RULE_KIND_HELPLINE] = "helpline",
  [TRELLIS_RULE_KIND_ALLOW] = "allow",
  [TRELLIS_RULE_KIND_DENY] = "deny",
  [TRELLIS_RULE_KIND_INTEGRITY] = "integrity",
  [TRELLIS_RULE_KIND_QUIET_HOURS] = "quiet-hours",
  [TRELLIS_RULE_KIND_INFORMATION] = "information",
  [TRELLIS_RULE_KIND_CATEGORY] = "category",
  [TRELLIS_RULE_KIND_ALLOWLIST] = "allowlist",
  [TRELLIS_RULE_KIND_SAFE_SEARCH] = "safe-search",
};

const char *
trellis_rule_kind_to_string (TrellisRuleKind kind)
{
  if ((guint) kind >= G_N_ELEMENTS (kind_names) || kind_names[kind] == NULL)
    return kind_names[TRELLIS_RULE_KIND_DEFAULT];
  return kind_names[kind];
}

gboolean
trellis_rule_kind_from_string (const char *text,
                               TrellisRuleKind *ret_kind)
{
  guint i;

  if (text == NULL)
    return FALSE;
  for (i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (kind_names[i] != NULL && strcmp (kind_names[i], text) == 0)
      {
        *ret_kind = (TrellisRuleKind) i;
        return TRUE;
      }
  return FALSE;
}
