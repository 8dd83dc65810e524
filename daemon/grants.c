/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * grants.c — the parents' grants and pauses in memory, under their own
 * lock, and the one place a decision is lifted by them.
 */
#include "daemon/grants.h"

#include <string.h>

#include "policy/public-suffix.h"

/* A parent's temporary grant: @domain and the names below it, until @until. */
typedef struct {
  char *domain; /* (owned) normalized */
  gint64 until; /* unix seconds */
} Grant;

struct _TrellisGrants {
  GMutex lock;        /* protects grants and pauses */
  GHashTable *grants; /* (owned) child name → GPtrArray of Grant */
  GHashTable *pauses; /* (owned) child name → gint64* until */
};

static void
grant_free (gpointer data)
{
  Grant *g = data;

  g_free (g->domain);
  g_free (g);
}

TrellisGrants *
trellis_grants_new (void)
{
  TrellisGrants *grants = g_new0 (TrellisGrants, 1);

  g_mutex_init (&grants->lock);
  grants->grants = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_ptr_array_unref);
  grants->pauses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return grants;
}

void
trellis_grants_free (TrellisGrants *grants)
{
  if (grants == NULL)
    return;
  g_hash_table_unref (grants->grants);
  g_hash_table_unref (grants->pauses);
  g_mutex_clear (&grants->lock);
  g_free (grants);
}

void
trellis_grants_load (TrellisGrants *grants, TrellisEventLog *events, TrellisPolicy *policy)
{
  g_autoptr(GPtrArray) active = NULL;
  const TrellisChild *const *children;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint n;

  if (events == NULL)
    return;
  active = trellis_event_log_grants_active (events, now, NULL);
  g_mutex_lock (&grants->lock);
  g_hash_table_remove_all (grants->grants);
  g_hash_table_remove_all (grants->pauses);
  for (guint i = 0; active != NULL && i < active->len; i++)
    {
      const TrellisRequest *r = active->pdata[i];
      GPtrArray *list = g_hash_table_lookup (grants->grants, r->child);
      Grant *g;

      /* A grant of a public suffix, approved before they were refused,
       * would lift every block under it: it is not honoured. */
      if (!trellis_public_suffix_check (r->name, TRELLIS_SUFFIX_USE_LIFT, NULL))
        {
          g_warning ("request %u: its grant is not honoured: it is for a public suffix", r->id);
          continue;
        }
      g = g_new0 (Grant, 1);
      if (list == NULL)
        {
          list = g_ptr_array_new_with_free_func (grant_free);
          g_hash_table_insert (grants->grants, g_strdup (r->child), list);
        }
      g->domain = g_strdup (r->name);
      g->until = r->grant_until;
      g_ptr_array_add (list, g);
    }
  children = trellis_policy_get_children (policy, &n);
  for (guint i = 0; i < n; i++)
    {
      gint64 until = trellis_event_log_pause_get (events, trellis_child_get_name (children[i]));

      if (until > now)
        g_hash_table_insert (grants->pauses, g_strdup (trellis_child_get_name (children[i])),
                             g_memdup2 (&until, sizeof until));
    }
  g_mutex_unlock (&grants->lock);
}

/* TRUE when a pause or a grant of @child covers @qname at @now. */
static gboolean
lifted (TrellisGrants *grants, const char *child, const char *qname, gint64 now)
{
  GPtrArray *list;
  gint64 *pause;
  gboolean yes = FALSE;
  gsize qlen = strlen (qname);

  g_mutex_lock (&grants->lock);
  pause = g_hash_table_lookup (grants->pauses, child);
  if (pause != NULL && *pause > now)
    yes = TRUE;
  list = g_hash_table_lookup (grants->grants, child);
  for (guint i = 0; !yes && list != NULL && i < list->len; i++)
    {
      const Grant *g = list->pdata[i];
      gsize dlen = strlen (g->domain);

      if (g->until > now
          && (g_ascii_strcasecmp (qname, g->domain) == 0
              || (qlen > dlen && qname[qlen - dlen - 1] == '.'
                  && g_ascii_strcasecmp (qname + qlen - dlen, g->domain) == 0)))
        yes = TRUE;
    }
  g_mutex_unlock (&grants->lock);
  return yes;
}

gboolean
trellis_grants_lift (TrellisGrants *grants,
                     TrellisPolicy *policy,
                     const char *child,
                     const char *qname,
                     gint64 now,
                     TrellisDecision *decision)
{
  if (decision->verdict != TRELLIS_VERDICT_BLOCK
      || decision->rule->kind == TRELLIS_RULE_KIND_INTEGRITY
      || !lifted (grants, child, qname, now))
    return FALSE;
  decision->verdict = TRELLIS_VERDICT_ALLOW;
  decision->rule = trellis_policy_get_rule (policy, 0);
  return TRUE;
}

gint64
trellis_grants_get_paused_until (TrellisGrants *grants, const char *child, gint64 now)
{
  gint64 until = 0;
  gint64 *p;

  g_mutex_lock (&grants->lock);
  p = g_hash_table_lookup (grants->pauses, child);
  if (p != NULL && *p > now)
    until = *p;
  g_mutex_unlock (&grants->lock);
  return until;
}

GHashTable *
trellis_grants_dup_pauses (TrellisGrants *grants)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer child, until;

  g_mutex_lock (&grants->lock);
  g_hash_table_iter_init (&iter, grants->pauses);
  while (g_hash_table_iter_next (&iter, &child, &until))
    g_hash_table_insert (copy, g_strdup (child), g_memdup2 (until, sizeof (gint64)));
  g_mutex_unlock (&grants->lock);
  return copy;
}
