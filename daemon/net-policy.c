/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * net-policy.c — the network policy at run time (net-policy.h): the
 * answers queue, the learned addresses, the DoH endpoints' resolver, the
 * pause set and the table's guard.
 */
#include "daemon/net-policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "daemon/dns-answer.h"
#include "daemon/dns-packet.h"
#include "daemon/nft.h"
#include "daemon/queue.h"
#include "policy/nft-plan.h"

#define LEARNED_PER_SET_MAX 16384u
#define DOH_FAIL_RETRY_S    300u
#define DOH_TTL_MIN_S       300u
#define DOH_TTL_MAX_S       86400u
#define DOH_PER_SECOND      20u
#define RESOLVE_TIMEOUT_MS  1500

/* What was learned into one set: key bytes → expiry (monotonic µs). */
typedef struct {
  TrellisNftKeyType key;
  GHashTable *until; /* (owned) GBytes → gint64* */
} Learned;

typedef struct {
  char *name; /* (owned) */
  gint64 due; /* monotonic µs */
} DohName;

struct _TrellisNetPolicy {
  char *table; /* (owned) */
  guint ttl_min;
  guint ttl_max;
  char **resolvers;        /* (owned) (nullable) */
  TrellisFlowTable *flows; /* (unowned) */
  TrellisNetPolicyHooks hooks;
  gpointer user_data;

  TrellisQueue *answers; /* (owned) */

  GMutex lock;         /* protects learned and doh_* */
  GHashTable *learned; /* (owned) set name → Learned */

  GThread *doh_thread; /* (owned) (nullable) */
  GCond doh_cond;
  gboolean doh_stop;
  GPtrArray *doh_names; /* (owned) DohName */

  struct mnl_socket *monitor; /* (owned) (nullable) */
  GSource *monitor_source;    /* (owned) (nullable) */
  gboolean damaged;           /* a change of our table in the transaction being read */
};

/* ---- what was learned --------------------------------------------------- */

static void
learned_free (gpointer data)
{
  Learned *l = data;

  g_hash_table_unref (l->until);
  g_free (l);
}

static size_t
key_size (TrellisNftKeyType key)
{
  return key == TRELLIS_NFT_KEY_IPV6_ADDR ? 16 : 4;
}

/* Notes @n keys of @set with their timeouts and sends them to the kernel.
 * Any thread.  Returns: 0 or -errno. */
static int
learn (TrellisNetPolicy *np,
       const char *set,
       TrellisNftKeyType key,
       const TrellisNftTimedElem *elems,
       size_t n)
{
  gint64 now = g_get_monotonic_time ();
  Learned *l;

  if (n == 0)
    return 0;
  g_mutex_lock (&np->lock);
  l = g_hash_table_lookup (np->learned, set);
  if (l == NULL)
    {
      l = g_new0 (Learned, 1);
      l->key = key;
      l->until = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                        (GDestroyNotify) g_bytes_unref, g_free);
      g_hash_table_insert (np->learned, g_strdup (set), l);
    }
  for (size_t i = 0; i < n; i++)
    {
      gint64 until = now + (gint64) elems[i].timeout_ms * 1000;

      if (g_hash_table_size (l->until) >= LEARNED_PER_SET_MAX)
        {
          /* Full: the expired ones go first; the kernel's set has its
           * own timeouts and needs no help. */
          GHashTableIter iter;
          gpointer k, v;

          g_hash_table_iter_init (&iter, l->until);
          while (g_hash_table_iter_next (&iter, &k, &v))
            if (*(gint64 *) v <= now)
              g_hash_table_iter_remove (&iter);
          if (g_hash_table_size (l->until) >= LEARNED_PER_SET_MAX)
            break;
        }
      g_hash_table_insert (l->until, g_bytes_new (elems[i].key, key_size (key)),
                           g_memdup2 (&until, sizeof until));
    }
  g_mutex_unlock (&np->lock);
  /* After the note: a table replaced meanwhile gets it back from the note. */
  return trellis_nft_set_add_timed (np->table, set, key, elems, n);
}

void
trellis_net_policy_table_replaced (TrellisNetPolicy *np)
{
  g_autoptr(GPtrArray) sets = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (TrellisNftKeyType));
  GHashTableIter iter;
  gpointer name, value;
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (np != NULL);
  g_mutex_lock (&np->lock);
  g_hash_table_iter_init (&iter, np->learned);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      Learned *l = value;
      GArray *elems = g_array_new (FALSE, TRUE, sizeof (TrellisNftTimedElem));
      GHashTableIter it;
      gpointer k, v;

      g_hash_table_iter_init (&it, l->until);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          gint64 until = *(gint64 *) v;
          TrellisNftTimedElem e = { { 0 }, 0 };
          gsize len;
          const void *data = g_bytes_get_data (k, &len);

          if (until <= now)
            {
              g_hash_table_iter_remove (&it);
              continue;
            }
          memcpy (e.key, data, MIN (len, sizeof e.key));
          e.timeout_ms = (guint64) MAX ((until - now) / 1000, 1);
          g_array_append_val (elems, e);
        }
      g_ptr_array_add (sets, g_strdup (name));
      g_ptr_array_add (batches, elems);
      g_array_append_val (keys, l->key);
    }
  g_mutex_unlock (&np->lock);
  for (guint i = 0; i < sets->len; i++)
    {
      GArray *elems = batches->pdata[i];

      /* a set the new table no longer has (a child gone): -ENOENT, fine */
      trellis_nft_set_add_timed (np->table, sets->pdata[i], g_array_index (keys, TrellisNftKeyType, i),
                                 (const TrellisNftTimedElem *) (gpointer) elems->data, elems->len);
    }
}

void
trellis_net_policy_forget_child (TrellisNetPolicy *np,
                                 const char *child)
{
  g_autofree char *v4 = g_strdup_printf ("child-%s-learned-v4", child);
  g_autofree char *v6 = g_strdup_printf ("child-%s-learned-v6", child);

  g_mutex_lock (&np->lock);
  g_hash_table_remove (np->learned, v4);
  g_hash_table_remove (np->learned, v6);
  g_mutex_unlock (&np->lock);
}

guint
trellis_net_policy_learned_count (TrellisNetPolicy *np,
                                  const char *set)
{
  Learned *l;
  guint n = 0;

  g_mutex_lock (&np->lock);
  l = g_hash_table_lookup (np->learned, set);
  if (l != NULL)
    n = g_hash_table_size (l->until);
  g_mutex_unlock (&np->lock);
  return n;
}

static guint
ttl_bound (guint ttl, guint min, guint max)
{
  return CLAMP (ttl, min, max);
}

/* The addresses of @r into SET-v4 / SET-v6. */
static void
learn_response (TrellisNetPolicy *np,
                const char *prefix,
                const TrellisDnsResponse *r,
                guint ttl_min,
                guint ttl_max)
{
  TrellisNftTimedElem v4[TRELLIS_DNS_ANSWER_ADDRS_MAX], v6[TRELLIS_DNS_ANSWER_ADDRS_MAX];
  size_t n4 = 0, n6 = 0;
  g_autofree char *set4 = g_strconcat (prefix, "-v4", NULL);
  g_autofree char *set6 = g_strconcat (prefix, "-v6", NULL);

  memset (v4, 0, sizeof v4);
  memset (v6, 0, sizeof v6);
  for (size_t i = 0; i < r->n_addrs; i++)
    {
      const TrellisDnsAddress *a = &r->addrs[i];
      TrellisNftTimedElem *e = a->family == 4 ? &v4[n4++] : &v6[n6++];

      memcpy (e->key, a->addr, a->family == 4 ? 4 : 16);
      e->timeout_ms = (guint64) ttl_bound (a->ttl, ttl_min, ttl_max) * 1000;
    }
  learn (np, set4, TRELLIS_NFT_KEY_IPV4_ADDR, v4, n4);
  learn (np, set6, TRELLIS_NFT_KEY_IPV6_ADDR, v6, n6);
}

/* ---- the answers queue -------------------------------------------------- */

static TrellisQueueVerdict
answer_handle (const TrellisQueuePacket *packet, gpointer user_data)
{
  TrellisNetPolicy *np = user_data;
  TrellisFlowKey key = { .family = packet->family, .proto = IPPROTO_UDP, .port = packet->dst_port };
  TrellisFlow flow;
  TrellisDnsResponse r;
  g_autofree char *child = NULL;
  g_autofree char *prefix = NULL;
  TrellisLearn what;

  /* An answer is let through whatever it says: it is the child's own
   * server talking.  Only what it teaches is ours. */
  if (packet->proto != IPPROTO_UDP || packet->src_port != 53)
    return TRELLIS_QUEUE_ACCEPT;
  memcpy (key.addr, packet->dst_addr, sizeof key.addr);
  if (!trellis_flow_table_lookup (np->flows, &key, g_get_monotonic_time (), &flow))
    return TRELLIS_QUEUE_ACCEPT;
  if (trellis_dns_response_parse (packet->payload, packet->payload_len, &r) < 0
      || r.rcode != 0 || r.n_addrs == 0)
    return TRELLIS_QUEUE_ACCEPT;
  what = np->hooks.classify (flow.uid, r.qname, &child, np->user_data);
  switch (what)
    {
    case TRELLIS_LEARN_HELPLINE:
      learn_response (np, "helplines", &r, np->ttl_min, np->ttl_max);
      break;
    case TRELLIS_LEARN_CHILD:
      if (child == NULL)
        break;
      prefix = g_strdup_printf ("child-%s-learned", child);
      learn_response (np, prefix, &r, np->ttl_min, np->ttl_max);
      break;
    case TRELLIS_LEARN_NONE:
    default:
      break;
    }
  return TRELLIS_QUEUE_ACCEPT;
}

/* ---- the DoH endpoints' resolver ---------------------------------------- */

static void
doh_name_free (gpointer data)
{
  DohName *d = data;

  g_free (d->name);
  g_free (d);
}

/* The servers to ask: the configured ones, or /etc/resolv.conf's. */
static GPtrArray *
resolvers_get (TrellisNetPolicy *np)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *conf = NULL;
  g_auto(GStrv) lines = NULL;

  if (np->resolvers != NULL)
    {
      for (guint i = 0; np->resolvers[i] != NULL; i++)
        g_ptr_array_add (out, g_strdup (np->resolvers[i]));
      return out;
    }
  if (!g_file_get_contents ("/etc/resolv.conf", &conf, NULL, NULL))
    return out;
  lines = g_strsplit (conf, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);

      if (f[0] != NULL && strcmp (f[0], "nameserver") == 0 && f[1] != NULL && *f[1] != '\0')
        g_ptr_array_add (out, g_strdup (f[1]));
    }
  return out;
}

/* Asks @server for @name's A and AAAA; fills @addrs.  Returns: the
 * smallest TTL seen, or -1 when no answer came. */
static gint64
resolve_one (const char *server, const char *name, GArray *addrs)
{
  struct sockaddr_storage ss = { 0 };
  socklen_t sl;
  int fd, answered = 0;
  gint64 ttl = -1;
  guint16 ids[2];
  const guint16 types[2] = { 1, 28 };
  gint64 deadline = g_get_monotonic_time () + RESOLVE_TIMEOUT_MS * 1000;

  if (inet_pton (AF_INET, server, &((struct sockaddr_in *) &ss)->sin_addr) == 1)
    {
      ss.ss_family = AF_INET;
      ((struct sockaddr_in *) &ss)->sin_port = htons (53);
      sl = sizeof (struct sockaddr_in);
    }
  else if (inet_pton (AF_INET6, server, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1)
    {
      ss.ss_family = AF_INET6;
      ((struct sockaddr_in6 *) &ss)->sin6_port = htons (53);
      sl = sizeof (struct sockaddr_in6);
    }
  else
    return -1;
  fd = socket (ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &ss, sl) < 0)
    {
      close (fd);
      return -1;
    }
  for (int t = 0; t < 2; t++)
    {
      guint8 q[512];
      ssize_t len;

      ids[t] = (guint16) g_random_int_range (0, 65536);
      len = trellis_dns_query_build (ids[t], name, types[t], false, q, sizeof q);
      if (len < 0 || send (fd, q, (size_t) len, 0) < 0)
        {
          close (fd);
          return -1;
        }
    }
  while (answered < 2)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      guint8 buf[4096];
      ssize_t n;
      TrellisDnsResponse r;

      if (left <= 0 || poll (&p, 1, (int) left) <= 0)
        break;
      n = recv (fd, buf, sizeof buf, 0);
      if (n < 12)
        continue;
      if (trellis_dns_response_parse (buf, (size_t) n, &r) < 0 || strcmp (r.qname, name) != 0)
        continue;
      if (((buf[0] << 8) | buf[1]) != ids[0] && ((buf[0] << 8) | buf[1]) != ids[1])
        continue;
      answered++;
      for (size_t i = 0; i < r.n_addrs; i++)
        {
          g_array_append_val (addrs, r.addrs[i]);
          if (ttl < 0 || r.addrs[i].ttl < ttl)
            ttl = r.addrs[i].ttl;
        }
      if (ttl < 0)
        ttl = DOH_TTL_MIN_S; /* answered, no address: ask again later */
    }
  close (fd);
  return answered > 0 ? ttl : -1;
}

static gpointer
doh_thread (gpointer data)
{
  TrellisNetPolicy *np = data;
  gint64 window = g_get_monotonic_time ();
  guint in_window = 0;

  g_mutex_lock (&np->lock);
  while (!np->doh_stop)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 next = G_MAXINT64;
      DohName *due = NULL;

      for (guint i = 0; i < np->doh_names->len; i++)
        {
          DohName *d = np->doh_names->pdata[i];

          if (d->due <= now && due == NULL)
            due = d;
          next = MIN (next, d->due);
        }
      if (due != NULL && in_window >= DOH_PER_SECOND && now - window < G_USEC_PER_SEC)
        {
          due = NULL;
          next = window + G_USEC_PER_SEC;
        }
      if (due == NULL)
        {
          g_cond_wait_until (&np->doh_cond, &np->lock, next == G_MAXINT64 ? now + (gint64) 3600 * G_USEC_PER_SEC : next);
          continue;
        }
      if (now - window >= G_USEC_PER_SEC)
        {
          window = now;
          in_window = 0;
        }
      in_window++;
      {
        g_autofree char *name = g_strdup (due->name);
        g_autoptr(GPtrArray) servers = NULL;
        g_autoptr(GArray) addrs = g_array_new (FALSE, FALSE, sizeof (TrellisDnsAddress));
        gint64 ttl = -1;

        /* asked again then, unless an answer says otherwise */
        due->due = now + DOH_FAIL_RETRY_S * G_USEC_PER_SEC;
        g_mutex_unlock (&np->lock);
        servers = resolvers_get (np);
        for (guint s = 0; s < servers->len && ttl < 0; s++)
          ttl = resolve_one (servers->pdata[s], name, addrs);
        if (addrs->len > 0)
          {
            TrellisDnsResponse r = { 0 };

            r.n_addrs = MIN (addrs->len, TRELLIS_DNS_ANSWER_ADDRS_MAX);
            memcpy (r.addrs, addrs->data, r.n_addrs * sizeof r.addrs[0]);
            /* kept a little past the TTL: the name is asked again before */
            for (size_t i = 0; i < r.n_addrs; i++)
              r.addrs[i].ttl = ttl_bound (r.addrs[i].ttl, DOH_TTL_MIN_S, DOH_TTL_MAX_S) * 2;
            learn_response (np, "doh-learned", &r, DOH_TTL_MIN_S, 2 * DOH_TTL_MAX_S);
          }
        g_mutex_lock (&np->lock);
        if (ttl >= 0)
          for (guint i = 0; i < np->doh_names->len; i++)
            {
              DohName *d = np->doh_names->pdata[i];

              if (strcmp (d->name, name) == 0)
                d->due = g_get_monotonic_time ()
                         + (gint64) ttl_bound ((guint) ttl, DOH_TTL_MIN_S, DOH_TTL_MAX_S) * G_USEC_PER_SEC;
            }
      }
    }
  g_mutex_unlock (&np->lock);
  return NULL;
}

void
trellis_net_policy_set_doh_names (TrellisNetPolicy *np,
                                  const char *const *names)
{
  g_autoptr(GHashTable) old = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) next = g_ptr_array_new_with_free_func (doh_name_free);
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (np != NULL);
  g_mutex_lock (&np->lock);
  for (guint i = 0; i < np->doh_names->len; i++)
    {
      DohName *d = np->doh_names->pdata[i];

      g_hash_table_insert (old, d->name, d);
    }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      DohName *d = g_new0 (DohName, 1);
      DohName *was = g_hash_table_lookup (old, names[i]);

      d->name = g_strdup (names[i]);
      d->due = was != NULL ? was->due : now;
      g_ptr_array_add (next, d);
    }
  g_ptr_array_unref (np->doh_names);
  np->doh_names = g_steal_pointer (&next);
  g_cond_signal (&np->doh_cond);
  g_mutex_unlock (&np->lock);
}

/* ---- pauses --------------------------------------------------------------- */

int
trellis_net_policy_pause (TrellisNetPolicy *np,
                          const guint32 *uids,
                          gsize n_uids,
                          gint64 until)
{
  g_autofree TrellisNftTimedElem *elems = NULL;
  gint64 left = until - g_get_real_time () / G_USEC_PER_SEC;

  g_return_val_if_fail (np != NULL, -EINVAL);
  if (n_uids == 0)
    return 0;
  if (left <= 0)
    return trellis_nft_set_flush (np->table, TRELLIS_NFT_SET_PAUSED_UIDS);
  elems = g_new0 (TrellisNftTimedElem, n_uids);
  for (gsize i = 0; i < n_uids; i++)
    {
      memcpy (elems[i].key, &uids[i], 4); /* host order, as the uid set */
      elems[i].timeout_ms = (guint64) left * 1000;
    }
  return learn (np, TRELLIS_NFT_SET_PAUSED_UIDS, TRELLIS_NFT_KEY_UID, elems, n_uids);
}

/* ---- the table's guard ---------------------------------------------------- */

/* The table an nf_tables message is about: attribute 1 of every kind
 * (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
 * NFTA_SET_ELEM_LIST_TABLE). */
static const char *
msg_table (const struct nlmsghdr *nlh)
{
  const struct nlattr *attr;

  mnl_attr_for_each (attr, nlh, sizeof (struct nfgenmsg))
    if (mnl_attr_get_type (attr) == 1 && mnl_attr_validate (attr, MNL_TYPE_NUL_STRING) == 0)
      return mnl_attr_get_str (attr);
  return NULL;
}

static guint32
msg_gen_pid (const struct nlmsghdr *nlh)
{
  const struct nlattr *attr;

  mnl_attr_for_each (attr, nlh, sizeof (struct nfgenmsg))
    if (mnl_attr_get_type (attr) == NFTA_GEN_PROC_PID && mnl_attr_validate (attr, MNL_TYPE_U32) == 0)
      return ntohl (mnl_attr_get_u32 (attr));
  return 0;
}

static int
monitor_msg (const struct nlmsghdr *nlh, void *data)
{
  TrellisNetPolicy *np = data;
  guint16 type = nlh->nlmsg_type & 0xff;
  const char *table;

  if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES)
    return MNL_CB_OK;
  switch (type)
    {
    case NFT_MSG_DELTABLE:
    case NFT_MSG_DELCHAIN:
    case NFT_MSG_DELRULE:
    case NFT_MSG_DELSET:
      table = msg_table (nlh);
      if (table != NULL && strcmp (table, np->table) == 0)
        np->damaged = TRUE;
      break;
    case NFT_MSG_NEWGEN:
      {
        /* The end of a transaction: whose was it?  Ours by the port it
         * came from (in a container the pid it names is not one getpid()
         * says), or by the pid where there is one pid namespace. */
        guint32 pid = msg_gen_pid (nlh);

        if (np->damaged && pid != (guint32) getpid () && !trellis_nft_portid_is_ours (nlh->nlmsg_pid))
          np->hooks.repair (pid, np->user_data);
        np->damaged = FALSE;
      }
      break;
    default:
      break;
    }
  return MNL_CB_OK;
}

static gboolean
monitor_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  TrellisNetPolicy *np = user_data;
  guint8 buf[MNL_SOCKET_BUFFER_SIZE * 4];

  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);

      if (n < 0 && errno == ENOBUFS)
        {
          /* Events were lost: look at the table to be sure. */
          np->hooks.repair (0, np->user_data);
          continue;
        }
      if (n <= 0)
        break;
      mnl_cb_run (buf, (size_t) n, 0, 0, monitor_msg, np);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
monitor_start (TrellisNetPolicy *np, GError **error)
{
  int fd, size = 1 << 20;

  np->monitor = mnl_socket_open (NETLINK_NETFILTER);
  if (np->monitor == NULL
      || mnl_socket_bind (np->monitor, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "cannot watch nftables for changes to the table: %s", g_strerror (errno));
      return FALSE;
    }
  fd = mnl_socket_get_fd (np->monitor);
  setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  np->monitor_source = g_unix_fd_source_new (fd, G_IO_IN);
  g_source_set_callback (np->monitor_source, (GSourceFunc) (void (*) (void)) monitor_readable, np, NULL);
  g_source_attach (np->monitor_source, g_main_context_get_thread_default ());
  return TRUE;
}

/* ---- life ------------------------------------------------------------------- */

TrellisNetPolicy *
trellis_net_policy_new (const TrellisNetPolicyConfig *config,
                        TrellisFlowTable *flows,
                        const TrellisNetPolicyHooks *hooks,
                        gpointer user_data,
                        GError **error)
{
  g_autoptr(TrellisNetPolicy) np = g_new0 (TrellisNetPolicy, 1);

  g_return_val_if_fail (config != NULL && flows != NULL && hooks != NULL, NULL);
  np->table = g_strdup (config->table);
  np->ttl_min = config->ttl_min;
  np->ttl_max = MAX (config->ttl_max, config->ttl_min);
  np->resolvers = config->resolvers != NULL ? g_strdupv ((char **) config->resolvers) : NULL;
  np->flows = flows;
  np->hooks = *hooks;
  np->user_data = user_data;
  g_mutex_init (&np->lock);
  g_cond_init (&np->doh_cond);
  np->learned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, learned_free);
  np->doh_names = g_ptr_array_new_with_free_func (doh_name_free);

  np->answers = trellis_queue_new (config->answers_queue_num, config->mark, answer_handle, np, error);
  if (np->answers == NULL)
    return NULL;
  if (!monitor_start (np, error))
    return NULL;
  np->doh_thread = g_thread_new ("trellis-doh", doh_thread, np);
  return g_steal_pointer (&np);
}

void
trellis_net_policy_free (TrellisNetPolicy *np)
{
  if (np == NULL)
    return;
  if (np->doh_thread != NULL)
    {
      g_mutex_lock (&np->lock);
      np->doh_stop = TRUE;
      g_cond_signal (&np->doh_cond);
      g_mutex_unlock (&np->lock);
      g_thread_join (np->doh_thread);
    }
  if (np->monitor_source != NULL)
    {
      g_source_destroy (np->monitor_source);
      g_source_unref (np->monitor_source);
    }
  if (np->monitor != NULL)
    mnl_socket_close (np->monitor);
  g_clear_pointer (&np->answers, trellis_queue_free);
  g_hash_table_unref (np->learned);
  g_ptr_array_unref (np->doh_names);
  g_cond_clear (&np->doh_cond);
  g_mutex_clear (&np->lock);
  g_strfreev (np->resolvers);
  g_free (np->table);
  g_free (np);
}
