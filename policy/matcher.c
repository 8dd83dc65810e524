/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * matcher.c — a hash table per rule set, looked up suffix by suffix.
 */
#include "policy/matcher.h"

struct _TrellisMatcher {
  GHashTable *domains; /* (owned) normalized domain (owned) → GUINT_TO_POINTER (rule id) */
};

TrellisMatcher *
trellis_matcher_new (void)
{
  TrellisMatcher *matcher = g_new0 (TrellisMatcher, 1);

  matcher->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return matcher;
}

void
trellis_matcher_free (TrellisMatcher *matcher)
{
  if (matcher == NULL)
    return;
  g_hash_table_unref (matcher->domains);
  g_free (matcher);
}

gboolean
trellis_matcher_insert (TrellisMatcher *matcher,
                        const char *domain,
                        guint rule_id,
                        guint *ret_existing_id)
{
  gpointer existing;

  g_return_val_if_fail (matcher != NULL, FALSE);
  g_return_val_if_fail (domain != NULL, FALSE);

  if (g_hash_table_lookup_extended (matcher->domains, domain, NULL, &existing))
    {
      if (ret_existing_id != NULL)
        *ret_existing_id = GPOINTER_TO_UINT (existing);
      return FALSE;
    }
  g_hash_table_insert (matcher->domains, g_strdup (domain), GUINT_TO_POINTER (rule_id));
  return TRUE;
}

gboolean
trellis_matcher_lookup_exact (const TrellisMatcher *matcher,
                              const char *domain,
                              guint *ret_rule_id)
{
  gpointer id;

  if (matcher == NULL || domain == NULL)
    return FALSE;
  if (!g_hash_table_lookup_extended (matcher->domains, domain, NULL, &id))
    return FALSE;
  if (ret_rule_id != NULL)
    *ret_rule_id = GPOINTER_TO_UINT (id);
  return TRUE;
}

const char *
trellis_matcher_next_suffix (const char *name)
{
  const char *p;

  for (p = name; *p != '\0'; p++)
    {
      if (*p == '\\')
        {
          /* "\." and "\\" are one escaped octet; "\DDD" has only digits. */
          if (p[1] == '\0')
            return NULL;
          p++;
        }
      else if (*p == '.')
        return p[1] != '\0' ? p + 1 : NULL;
    }
  return NULL;
}

gboolean
trellis_matcher_lookup (const TrellisMatcher *matcher,
                        const char *name,
                        guint *ret_rule_id)
{
  const char *suffix;

  if (matcher == NULL || name == NULL)
    return FALSE;
  for (suffix = name; suffix != NULL; suffix = trellis_matcher_next_suffix (suffix))
    if (trellis_matcher_lookup_exact (matcher, suffix, ret_rule_id))
      return TRUE;
  return FALSE;
}

guint
trellis_matcher_decide (const TrellisMatcher *helplines,
                        const TrellisMatcher *rules,
                        const TrellisMatcher *integrity,
                        const char *name)
{
  const char *suffix;
  guint id;

  if (name == NULL || *name == '\0')
    return 0;

  if (trellis_matcher_lookup (helplines, name, &id))
    return id;

  for (suffix = name; suffix != NULL; suffix = trellis_matcher_next_suffix (suffix))
    {
      if (trellis_matcher_lookup_exact (rules, suffix, &id))
        return id;
      if (trellis_matcher_lookup_exact (integrity, suffix, &id))
        return id;
    }
  return 0;
}
