/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/flows.h"

#include <string.h>

typedef struct {
  TrellisFlowKey key;
  TrellisFlow flow;
  gint64 expires;
  guint slot; /* its place in the ring */
} Entry;

/*
 * The entries are hashed by key, and a ring of TRELLIS_FLOW_TABLE_MAX slots
 * remembers the order they were last recorded in: when the ring comes round
 * to a slot still held, that entry (the least recently recorded of all) goes.
 * So a flood never grows the table and never empties it: the newest flows,
 * the ones the answerer is about to look up, are always kept.
 */
struct _TrellisFlowTable {
  GMutex lock;
  GHashTable *entries; /* (owned) Entry* → itself, hashed by key */
  Entry **ring;        /* (owned) TRELLIS_FLOW_TABLE_MAX slots, (nullable) each */
  guint next;          /* the slot the next record takes */
};

static guint
entry_hash (gconstpointer p)
{
  const TrellisFlowKey *k = p;
  guint h = 2166136261u;
  const guint8 *b = (const guint8 *) k;

  for (gsize i = 0; i < sizeof *k; i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static gboolean
entry_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (TrellisFlowKey)) == 0;
}

TrellisFlowTable *
trellis_flow_table_new (void)
{
  TrellisFlowTable *table = g_new0 (TrellisFlowTable, 1);

  g_mutex_init (&table->lock);
  /* Entry starts with its key, so the entry is its own hash key. */
  table->entries = g_hash_table_new_full (entry_hash, entry_equal, NULL, g_free);
  table->ring = g_new0 (Entry *, TRELLIS_FLOW_TABLE_MAX);
  return table;
}

void
trellis_flow_table_free (TrellisFlowTable *table)
{
  if (table == NULL)
    return;
  g_hash_table_unref (table->entries);
  g_free (table->ring);
  g_mutex_clear (&table->lock);
  g_free (table);
}

static guint
expire_locked (TrellisFlowTable *table, gint64 now_usec)
{
  GHashTableIter iter;
  Entry *e;
  guint n = 0;

  g_hash_table_iter_init (&iter, table->entries);
  while (g_hash_table_iter_next (&iter, (gpointer *) &e, NULL))
    if (e->expires <= now_usec)
      {
        table->ring[e->slot] = NULL;
        g_hash_table_iter_remove (&iter);
        n++;
      }
  return n;
}

void
trellis_flow_table_record (TrellisFlowTable *table,
                           const TrellisFlowKey *key,
                           const TrellisFlow *flow,
                           gint64 now_usec)
{
  Entry *e;
  Entry *oldest;

  g_mutex_lock (&table->lock);
  e = g_hash_table_lookup (table->entries, key);
  if (e == NULL)
    {
      e = g_new0 (Entry, 1);
      e->key = *key;
      g_hash_table_add (table->entries, e);
    }
  else
    table->ring[e->slot] = NULL;
  oldest = table->ring[table->next];
  if (oldest != NULL)
    g_hash_table_remove (table->entries, oldest); /* frees it */
  table->ring[table->next] = e;
  e->slot = table->next;
  table->next = (table->next + 1) % TRELLIS_FLOW_TABLE_MAX;
  e->flow = *flow;
  e->expires = now_usec + TRELLIS_FLOW_TTL_USEC;
  g_mutex_unlock (&table->lock);
}

gboolean
trellis_flow_table_lookup (TrellisFlowTable *table,
                           const TrellisFlowKey *key,
                           gint64 now_usec,
                           TrellisFlow *ret_flow)
{
  Entry *e;
  gboolean found = FALSE;

  g_mutex_lock (&table->lock);
  e = g_hash_table_lookup (table->entries, key);
  if (e != NULL && e->expires > now_usec)
    {
      *ret_flow = e->flow;
      found = TRUE;
    }
  g_mutex_unlock (&table->lock);
  return found;
}

guint
trellis_flow_table_expire (TrellisFlowTable *table,
                           gint64 now_usec)
{
  guint n;

  g_mutex_lock (&table->lock);
  n = expire_locked (table, now_usec);
  g_mutex_unlock (&table->lock);
  return n;
}

gboolean
trellis_flow_key_from_sockaddr (const struct sockaddr *sa,
                                guint8 proto,
                                TrellisFlowKey *ret_key)
{
  TrellisFlowKey key = { .proto = proto };

  if (sa->sa_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

      key.family = AF_INET;
      key.port = g_ntohs (in->sin_port);
      memcpy (key.addr, &in->sin_addr, 4);
    }
  else if (sa->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

      key.family = AF_INET6;
      key.port = g_ntohs (in6->sin6_port);
      memcpy (key.addr, &in6->sin6_addr, 16);
    }
  else
    return FALSE;

  *ret_key = key;
  return TRUE;
}

socklen_t
trellis_flow_dst_to_sockaddr (const TrellisFlow *flow,
                              guint8 family,
                              struct sockaddr_storage *ret_sa)
{
  memset (ret_sa, 0, sizeof *ret_sa);
  if (family == AF_INET)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) ret_sa;

      in->sin_family = AF_INET;
      in->sin_port = g_htons (flow->dst_port);
      memcpy (&in->sin_addr, flow->dst_addr, 4);
      return sizeof *in;
    }
  else
    {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret_sa;

      in6->sin6_family = AF_INET6;
      in6->sin6_port = g_htons (flow->dst_port);
      memcpy (&in6->sin6_addr, flow->dst_addr, 16);
      return sizeof *in6;
    }
}
