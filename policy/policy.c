/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy.c — the policy object: what a household file and the shipped data
 * compiled into (children, rules, helplines, categories, age bands, the
 * domain index), its built-in rules, and the queries the daemon and the CLI
 * ask of it.  Reading the file is household.c's; deciding a name is
 * decide.c's.
 */
#include <string.h>

#include "policy/policy-private.h"

/* Names that would let a browser go around the filter: the Firefox canary
 * for DNS-over-HTTPS, iCloud Private Relay, and discovery of designated
 * resolvers (RFC 9462; only its _dns label, so resolver.arpa itself is
 * untouched). */
static const char *const integrity_domains[] = {
  "use-application-dns.net",
  "mask.icloud.com",
  "mask-h2.icloud.com",
  "resolver.arpa", /* DDR (RFC 9462): _dns.resolver.arpa and below */
  NULL
};

static void
child_free (gpointer data)
{
  TrellisChild *child = data;

  g_strfreev (child->accounts);
  g_strfreev (child->devices);
  g_free (child->birth);
  g_strfreev (child->block);
  g_free (child->quiet_hours);
  g_free (child->safe_search);
  g_free (child->mode);
  trellis_matcher_free (child->rules);
  g_clear_pointer (&child->quiet, g_array_unref);
  g_free (child->category_rules);
  g_free (child);
}

guint
trellis_policy_add_rule (TrellisPolicy *policy,
                         TrellisRuleKind kind,
                         const char *pattern,
                         const char *child,
                         const char *category,
                         const char *detail,
                         const char *file,
                         guint line)
{
  TrellisRule rule = { 0 };

  rule.id = policy->rules->len;
  rule.kind = kind;
  rule.pattern = g_string_chunk_insert_const (policy->strings, pattern);
  rule.child = child != NULL ? g_string_chunk_insert_const (policy->strings, child) : NULL;
  rule.category = category != NULL ? g_string_chunk_insert_const (policy->strings, category) : NULL;
  rule.detail = detail != NULL ? g_string_chunk_insert_const (policy->strings, detail) : NULL;
  rule.file = file != NULL ? g_string_chunk_insert_const (policy->strings, file) : NULL;
  rule.line = line;
  g_array_append_val (policy->rules, rule);
  return rule.id;
}

/* The system's zone from /etc/localtime, not from $TZ: a child who sets TZ
 * in a session must not move bedtime.  UTC when there is none. */
static GTimeZone *
system_zone (void)
{
  GTimeZone *tz = g_time_zone_new_identifier ("/etc/localtime");

  return tz != NULL ? tz : g_time_zone_new_utc ();
}

TrellisPolicy *
trellis_policy_new (const char *file)
{
  TrellisPolicy *policy = g_new0 (TrellisPolicy, 1);
  guint i;

  g_atomic_ref_count_init (&policy->ref_count);
  policy->strings = g_string_chunk_new (1024);
  policy->file = g_string_chunk_insert_const (policy->strings, file);
  policy->log_retention_days = 7;
  policy->children = g_ptr_array_new_with_free_func (child_free);
  policy->rules = g_array_new (FALSE, TRUE, sizeof (TrellisRule));
  policy->helplines = g_array_new (FALSE, TRUE, sizeof (TrellisHelpline));
  policy->helpline_matcher = trellis_matcher_new ();
  policy->integrity_matcher = trellis_matcher_new ();
  policy->allowlist_matcher = trellis_matcher_new ();
  policy->information_matcher = trellis_matcher_new ();
  policy->information = g_ptr_array_new ();
  g_ptr_array_add (policy->information, NULL);
  policy->categories = g_ptr_array_new_with_free_func (trellis_category_entry_free);
  policy->list_sources = g_ptr_array_new_with_free_func (g_free);
  policy->bands = g_ptr_array_new_with_free_func (g_free);
  policy->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (policy->warnings, NULL);
  policy->doh_names = g_ptr_array_new ();
  g_ptr_array_add (policy->doh_names, NULL);
  policy->doh_v4 = g_byte_array_new ();
  policy->doh_v6 = g_byte_array_new ();
  policy->tz = system_zone ();

  trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_DEFAULT, "", NULL, NULL, NULL, NULL, 0);
  for (i = 0; integrity_domains[i] != NULL; i++)
    trellis_matcher_insert (policy->integrity_matcher, integrity_domains[i],
                            trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_INTEGRITY,
                                                     integrity_domains[i], NULL, NULL, NULL, NULL, 0),
                            NULL);
  return policy;
}

TrellisPolicy *
trellis_policy_ref (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  g_atomic_ref_count_inc (&policy->ref_count);
  return policy;
}

void
trellis_policy_unref (TrellisPolicy *policy)
{
  g_return_if_fail (policy != NULL);
  if (!g_atomic_ref_count_dec (&policy->ref_count))
    return;
  g_strfreev (policy->parents);
  g_free (policy->timezone);
  g_free (policy->default_profile);
  g_strfreev (policy->gateway_ifaces);
  g_ptr_array_unref (policy->children);
  g_array_unref (policy->rules);
  g_array_unref (policy->helplines);
  trellis_matcher_free (policy->helpline_matcher);
  trellis_matcher_free (policy->integrity_matcher);
  trellis_matcher_free (policy->allowlist_matcher);
  trellis_matcher_free (policy->information_matcher);
  g_ptr_array_unref (policy->information);
  g_clear_pointer (&policy->tz, g_time_zone_unref);
  g_ptr_array_unref (policy->categories);
  g_ptr_array_unref (policy->list_sources);
  g_ptr_array_unref (policy->bands);
  g_clear_pointer (&policy->index, trellis_domain_index_unref);
  g_clear_pointer (&policy->lists, trellis_lists_index_unref);
  g_clear_pointer (&policy->safe_search, trellis_safe_search_free);
  g_ptr_array_unref (policy->warnings);
  g_ptr_array_unref (policy->doh_names);
  g_byte_array_unref (policy->doh_v4);
  g_byte_array_unref (policy->doh_v6);
  g_string_chunk_free (policy->strings);
  g_free (policy);
}

/* ------------------------------------------------------------------------ */
/* Queries. */

const char *const *
trellis_policy_get_parents (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return (const char *const *) policy->parents;
}

gboolean
trellis_policy_get_on_failure_open (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, FALSE);
  return policy->on_failure_open;
}

const TrellisChild *const *
trellis_policy_get_children (TrellisPolicy *policy,
                             guint *ret_n_children)
{
  g_return_val_if_fail (policy != NULL, NULL);
  if (ret_n_children != NULL)
    *ret_n_children = policy->children->len;
  return (const TrellisChild *const *) policy->children->pdata;
}

const TrellisChild *
trellis_policy_find_child_by_account (TrellisPolicy *policy,
                                      const char *account)
{
  guint i;

  g_return_val_if_fail (policy != NULL, NULL);
  if (account == NULL)
    return NULL;
  for (i = 0; i < policy->children->len; i++)
    {
      const TrellisChild *child = g_ptr_array_index (policy->children, i);

      if (child->accounts != NULL && g_strv_contains ((const char *const *) child->accounts, account))
        return child;
    }
  return NULL;
}

const TrellisChild *
trellis_policy_find_child (TrellisPolicy *policy,
                           const char *name)
{
  guint i;

  g_return_val_if_fail (policy != NULL, NULL);
  if (name == NULL)
    return NULL;
  for (i = 0; i < policy->children->len; i++)
    {
      const TrellisChild *child = g_ptr_array_index (policy->children, i);

      if (strcmp (child->name, name) == 0)
        return child;
    }
  return NULL;
}

const char *
trellis_child_get_name (const TrellisChild *child)
{
  g_return_val_if_fail (child != NULL, NULL);
  return child->name;
}

const char *const *
trellis_child_get_accounts (const TrellisChild *child)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (child != NULL, NULL);
  return child->accounts != NULL ? (const char *const *) child->accounts : none;
}

const char *const *
trellis_child_get_devices (const TrellisChild *child)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (child != NULL, NULL);
  return child->devices != NULL ? (const char *const *) child->devices : none;
}

gboolean
trellis_child_is_group (const TrellisChild *child)
{
  g_return_val_if_fail (child != NULL, FALSE);
  return child->group;
}

const char *const *
trellis_policy_get_gateway_interfaces (TrellisPolicy *policy)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (policy != NULL, NULL);
  return policy->gateway_ifaces != NULL ? (const char *const *) policy->gateway_ifaces : none;
}

const TrellisChild *
trellis_policy_get_default_profile (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return trellis_policy_find_child (policy, policy->default_profile);
}

const TrellisRule *
trellis_policy_get_rule (TrellisPolicy *policy,
                         guint id)
{
  g_return_val_if_fail (policy != NULL, NULL);
  if (id >= policy->rules->len)
    return NULL;
  return &g_array_index (policy->rules, TrellisRule, id);
}

const char *const *
trellis_policy_get_warnings (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return (const char *const *) policy->warnings->pdata;
}

GTimeZone *
trellis_policy_get_timezone (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return policy->tz;
}

const char *
trellis_policy_get_timezone_name (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return policy->timezone;
}

gboolean
trellis_policy_get_information (TrellisPolicy *policy,
                                guint *ret_n_names,
                                guint *ret_n_overridden)
{
  g_return_val_if_fail (policy != NULL, FALSE);
  if (!policy->has_information)
    return FALSE;
  if (ret_n_names != NULL)
    *ret_n_names = policy->n_information;
  if (ret_n_overridden != NULL)
    *ret_n_overridden = policy->n_information_overridden;
  return TRUE;
}

const char *const *
trellis_policy_get_information_names (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return (const char *const *) policy->information->pdata;
}

TrellisListsIndex *
trellis_policy_get_lists (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return policy->lists;
}

gboolean
trellis_policy_information_covers (TrellisPolicy *policy,
                                   const char *normalized_name)
{
  guint rule;

  g_return_val_if_fail (policy != NULL, FALSE);
  return normalized_name != NULL
         && trellis_matcher_lookup (policy->information_matcher, normalized_name, &rule);
}

gboolean
trellis_policy_has_safe_search (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, FALSE);
  return policy->safe_search != NULL;
}

const char *
trellis_child_get_birth (const TrellisChild *child)
{
  g_return_val_if_fail (child != NULL, NULL);
  return child->birth;
}

guint
trellis_child_get_age (TrellisPolicy *policy,
                       const TrellisChild *child,
                       GDateTime *now)
{
  g_autoptr(GDateTime) local = NULL;
  int age;

  g_return_val_if_fail (policy != NULL, 0);
  g_return_val_if_fail (child != NULL, 0);

  if (child->age >= 0 || child->birth == NULL)
    return MAX (child->age, 0);

  /* The birthday is the day written, or the first of the month when only
   * a month is written, in the household's zone; a child born on 29
   * February has their birthday on 1 March in other years. */
  local = now != NULL ? g_date_time_to_timezone (now, policy->tz) : g_date_time_new_now (policy->tz);
  age = g_date_time_get_year (local) - (int) child->birth_year;
  if ((guint) g_date_time_get_month (local) < child->birth_month
      || ((guint) g_date_time_get_month (local) == child->birth_month
          && (guint) g_date_time_get_day_of_month (local) < child->birth_day))
    age--;
  return MAX (age, 0);
}

guint
trellis_policy_get_log_retention_days (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, 7);
  return policy->log_retention_days;
}

const char *
trellis_child_get_quiet_hours (TrellisPolicy *policy,
                               const TrellisChild *child,
                               GDateTime *now,
                               gboolean *ret_quiet_now,
                               char **ret_until)
{
  g_autoptr(GDateTime) local = NULL;
  int found = -1;

  g_return_val_if_fail (policy != NULL && child != NULL && now != NULL, NULL);
  if (child->quiet != NULL && child->quiet->len > 0)
    {
      local = g_date_time_to_timezone (now, trellis_policy_get_timezone (policy));
      found = trellis_quiet_windows_find ((const TrellisQuietWindow *) (gpointer) child->quiet->data,
                                          child->quiet->len, local);
    }
  if (ret_quiet_now != NULL)
    *ret_quiet_now = found >= 0;
  if (ret_until != NULL)
    *ret_until = found >= 0
                   ? trellis_quiet_window_format_end (&g_array_index (child->quiet, TrellisQuietWindow, found))
                   : NULL;
  return child->quiet_hours;
}

GArray *
trellis_policy_get_helplines (TrellisPolicy *policy)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (TrellisHelplineInfo));

  g_return_val_if_fail (policy != NULL, out);
  for (guint i = 0; i < policy->helplines->len; i++)
    {
      const TrellisHelpline *h = &g_array_index (policy->helplines, TrellisHelpline, i);
      TrellisHelplineInfo info = { h->domain, h->country, h->name, h->contact };

      g_array_append_val (out, info);
    }
  return out;
}

GArray *
trellis_child_get_quiet_times (TrellisPolicy *policy,
                               const TrellisChild *child,
                               gint64 from_us,
                               gint64 to_us)
{
  GArray *out = g_array_new (FALSE, FALSE, 2 * sizeof (gint64));

  g_return_val_if_fail (policy != NULL && child != NULL, out);
  if (child->quiet != NULL && child->quiet->len > 0)
    trellis_quiet_windows_times ((const TrellisQuietWindow *) (gpointer) child->quiet->data,
                                 child->quiet->len, trellis_policy_get_timezone (policy),
                                 from_us, to_us, out);
  return out;
}

const char *const *
trellis_policy_get_doh_names (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return (const char *const *) policy->doh_names->pdata;
}

const guint8 *
trellis_policy_get_doh_addresses (TrellisPolicy *policy,
                                  int family,
                                  gsize *ret_n)
{
  GByteArray *a;

  g_return_val_if_fail (policy != NULL && ret_n != NULL, NULL);
  a = family == 6 ? policy->doh_v6 : policy->doh_v4;
  *ret_n = a->len / (family == 6 ? 16 : 4);
  return a->data;
}
