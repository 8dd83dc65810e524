/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellisd.c — the daemon: the policy in force (a snapshot, replaced as a
 * whole), the queue threads' and the answerer's decisions, the kernel
 * table, the event log's upkeep, the system bus, the accounts, reloads.
 * Its context is private to this file; the D-Bus backend gets only what
 * TrellisDBusBackendContext names.
 */
#include "daemon/trellisd.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "daemon/answerer.h"
#include "daemon/dbus-backend.h"
#include "daemon/dbus-service.h"
#include "daemon/dns-packet.h"
#include "daemon/event-log.h"
#include "daemon/flows.h"
#include "daemon/grants.h"
#include "daemon/list-updates.h"
#include "daemon/net-policy.h"
#include "daemon/nss-server.h"
#include "daemon/queue.h"
#include "daemon/raw-reply.h"
#include "policy/nft-plan.h"
#include "policy/trellis-policy.h"

/* The policy in force and what the daemon derived from it.  Immutable once
 * made; replaced as a whole, so a reader holds one consistent view. */
typedef struct {
  TrellisPolicy *policy;    /* (owned) */
  GHashTable *uid_children; /* uid → const TrellisChild* (owned by policy) */
  GHashTable *account_uids; /* (owned) account (owned by policy) → uid, those that exist */
  GArray *uids;             /* (owned) uint32: the protected uids, sorted */
  GPtrArray *rule_texts;    /* (owned) by rule id: the rule's short form, the
                             * EDE text of a block (made once, not per query) */
  GHashTable *learn_uids;   /* (owned) (nullable) uids whose DNS answers are
                             * read (the plan's learn-uids): the queue records
                             * their queries' flows; NULL: every child's */
} Snapshot;

struct _TrellisDaemon {
  TrellisDaemonConfig config;
  TrellisQueueExpr queue_expr;

  GMutex lock;              /* protects snapshot */
  Snapshot *snapshot;       /* (owned) an rc box */
  gint snapshot_generation; /* atomic: bumped by each swap, so that the queue
                             * threads, which keep a reference of their own,
                             * know to take the new one */

  GMutex signal_lock;      /* protects signal_last, signal_window */
  GHashTable *signal_last; /* (owned) "child\nname" → gint64* last signalled (usec) */
  gint64 signal_window;    /* start of the current second (usec) */
  guint signal_count;      /* signals sent in it */

  TrellisGrants *grants; /* (owned) the parents' grants and pauses */

  TrellisFlowTable *flows;           /* (owned) */
  TrellisEventLog *events;           /* (owned) (nullable) the filter works without it */
  GSource *purge;                    /* (owned) (nullable) daily retention */
  TrellisAnswerer *answerer;         /* (owned) (nullable) */
  GPtrArray *queues;                 /* (owned) (nullable) QueueWorker*: one thread
                                      * per queue, from config.queue_num on */
  GSource *expire;                   /* (owned) (nullable) */
  GDBusConnection *bus;              /* (owned) (nullable) the system bus, our own connection */
  TrellisDBusService *dbus;          /* (owned) (nullable) set and read atomically: other
                                      * threads only look whether there is one */
  TrellisDBusBackendContext backend; /* what the service's backend is given of us */
  GCancellable *bus_cancellable;     /* (owned) cancelled when stopping */
  GSource *bus_retry;                /* (owned) (nullable) the next try to connect */
  guint bus_retry_ms;
  gboolean bus_connecting;
  gboolean bus_told_missing;    /* the bus's absence was logged */
  GFileMonitor *passwd_monitor; /* (owned) (nullable) */
  GSource *accounts_settle;     /* (owned) (nullable) a refresh after passwd changed */
  GSource *accounts_timer;      /* (owned) (nullable) the periodic refresh */
  gboolean accounts_again;      /* a refresh was asked for during a job */
  gboolean table_applied;
  TrellisNftPlan *applied; /* (owned) (nullable) the plan the kernel has */
  gboolean reloading;      /* a reload is being compiled in a thread */
  gboolean reload_again;
  GArray *reload_waiters;      /* (owned) ReloadWaiter: told when the file reload being compiled ends */
  GArray *reload_waiters_next; /* (owned) ReloadWaiter: told when the next one ends */
  GMutex edit_lock;            /* one parents' edit of the household file at a time */
  gboolean using_last_good;

  guint64 n_malformed;      /* atomic: malformed queries dropped */
  guint64 n_malformed_told; /* the main loop's: as many logged */

  /* The published lists (list-updates.c). */
  char *lists_problem;         /* (owned) (nullable) why the updater's newest lists are not in force */
  TrellisListUpdater *updater; /* (owned) (nullable) the run going on */
  GPtrArray *update_waiters;   /* (owned) UpdateWaiter: calls waiting for a run and the reload after it */
  guint64 reload_seq;          /* reloads started */
  guint64 answer_after;        /* the waiters are answered once reload answer_after is done (0: not yet) */
  int update_status;           /* of the last run */
  char *update_output;         /* (owned) (nullable) of the last run */
  GFileMonitor *lists_monitor; /* (owned) (nullable) the lists folder */
  GSource *lists_settle;       /* (owned) (nullable) a reload after the manifest changed */
  GSource *lists_timer;        /* (owned) (nullable) looks at the manifest now and then */
  char *lists_seen;            /* (owned) (nullable) the manifest's identity last looked at */

  gint64 clock_offset_us;          /* the daemon's clock less the real one (tests) */
  TrellisNetPolicy *net;           /* (owned) (nullable) */
  GSource *quiet_timer;            /* (owned) (nullable) the next local midnight or change of offset */
  GFileMonitor *localtime_monitor; /* (owned) (nullable) */
  guint n_repairs;
  TrellisNssServer *nss; /* (owned) (nullable) libnss_trellis's socket */
};

static gint64 daemon_now_us (TrellisDaemon *daemon);
static void lists_watch_start (TrellisDaemon *daemon);
static void lists_watch_stop (TrellisDaemon *daemon);
static GVariant *backend_lists_get (gpointer data,
                                    TrellisPolicy *policy);
static void backend_update_lists (gpointer data,
                                  TrellisDBusReplyFunc reply,
                                  gpointer reply_data);

/* Someone waiting for a reload of the household file to end. */
typedef struct {
  void (*done) (const GError *error, gpointer user_data);
  gpointer user_data;
} ReloadWaiter;

/* Gateway mode: the devices of child (or group) @i are one principal, the
 * child's index with the top bit set: never a uid, since an account with
 * such a uid is not taken as a child's (systemd keeps that range unused).
 * The kernel marks their packets TRELLIS_NFT_DEVICE_MARK (i). */
#define DEVICE_PRINCIPAL_BIT 0x80000000u
#define DEVICE_PRINCIPAL(i)  (DEVICE_PRINCIPAL_BIT | (guint32) (i))

static void
snapshot_clear (gpointer data)
{
  Snapshot *s = data;

  g_clear_pointer (&s->account_uids, g_hash_table_unref);
  g_clear_pointer (&s->uid_children, g_hash_table_unref);
  g_clear_pointer (&s->uids, g_array_unref);
  g_clear_pointer (&s->rule_texts, g_ptr_array_unref);
  g_clear_pointer (&s->learn_uids, g_hash_table_unref);
  g_clear_pointer (&s->policy, trellis_policy_unref);
}

static void
snapshot_release (Snapshot *s)
{
  g_atomic_rc_box_release_full (s, snapshot_clear);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Snapshot, snapshot_release)

static int
uid_compare (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

/* A snapshot of @policy (a new reference is taken) with its accounts
 * resolved now.  An account that does not exist (yet) is left out: it has
 * no packets to filter; when the passwd database changes, the accounts
 * are resolved again (accounts_refresh). */
static Snapshot *
snapshot_resolve (TrellisPolicy *policy, gboolean quiet, GError **error)
{
  g_autoptr(Snapshot) s = g_atomic_rc_box_new0 (Snapshot);
  const TrellisChild *const *children;
  guint n_children;

  s->policy = trellis_policy_ref (policy);
  s->uid_children = g_hash_table_new (NULL, NULL);
  s->account_uids = g_hash_table_new (g_str_hash, g_str_equal);
  s->uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  /* The short form of every rule now, so that a block does not make it. */
  s->rule_texts = g_ptr_array_new_with_free_func (g_free);
  for (guint id = 0; trellis_policy_get_rule (s->policy, id) != NULL; id++)
    g_ptr_array_add (s->rule_texts,
                     trellis_rule_format_short (trellis_policy_get_rule (s->policy, id)));

  children = trellis_policy_get_children (s->policy, &n_children);
  for (guint i = 0; i < n_children; i++)
    {
      const char *const *accounts = trellis_child_get_accounts (children[i]);

      for (guint j = 0; accounts != NULL && accounts[j] != NULL; j++)
        {
          struct passwd *pw = getpwnam (accounts[j]);
          guint32 uid;

          if (pw == NULL)
            {
              if (!quiet)
                g_message ("child %s: account %s does not exist; nothing to filter for it yet",
                           trellis_child_get_name (children[i]), accounts[j]);
              continue;
            }
          if (pw->pw_uid == 0)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "child %s: account %s is root; root cannot be a child's account",
                           trellis_child_get_name (children[i]), accounts[j]);
              return NULL;
            }
          uid = pw->pw_uid;
          if (uid & DEVICE_PRINCIPAL_BIT)
            {
              if (!quiet)
                g_message ("child %s: account %s has uid %u, in the range Trellis keeps for devices; it is not filtered",
                           trellis_child_get_name (children[i]), accounts[j], (guint) uid);
              continue;
            }
          /* the policy owns the account's name */
          g_hash_table_insert (s->account_uids, (gpointer) accounts[j], GUINT_TO_POINTER (uid));
          if (g_hash_table_contains (s->uid_children, GUINT_TO_POINTER (uid)))
            continue;
          g_hash_table_insert (s->uid_children, GUINT_TO_POINTER (uid), (gpointer) children[i]);
          g_array_append_val (s->uids, uid);
        }
    }
  g_array_sort (s->uids, uid_compare);

  /* Gateway mode: each child's and group's devices, and the default
   * profile's (every device listed nowhere). */
  if (trellis_policy_get_gateway_interfaces (s->policy)[0] != NULL)
    for (guint i = 0; i < n_children && i < TRELLIS_NFT_DEVICE_PROFILES_MAX; i++)
      if (trellis_child_get_devices (children[i])[0] != NULL
          || children[i] == trellis_policy_get_default_profile (s->policy))
        g_hash_table_insert (s->uid_children, GUINT_TO_POINTER (DEVICE_PRINCIPAL (i)), (gpointer) children[i]);
  return g_steal_pointer (&s);
}

/* Loads the household and resolves its accounts.  The category lists are
 * the updater's when it compiled them for these categories (a copy taken
 * into the state folder, list-updates.c): then no list of names is read
 * here.  Otherwise the shipped lists are compiled, and whatever the
 * compile allocated goes back to the system: trellisd keeps the mapped
 * index and nothing of the lists it was compiled from.  @ret_problem: why
 * the updater's newest lists are not in force, if they are not. */
static Snapshot *
snapshot_load (const TrellisDaemonConfig *config, const char *path, char **ret_problem, GError **error)
{
  g_autofree char *index_path = g_build_filename (config->state_dir, "domains.idx", NULL);
  g_autoptr(TrellisListsIndex) lists = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autofree char *problem = NULL;
  TrellisPolicyLoadOptions options = { .data_dir = config->data_dir, .index_path = index_path };

  lists = trellis_list_updates_acquire (config->lists_dir, config->state_dir, &problem);
  options.lists = lists;
  policy = trellis_policy_load_with_options (path, &options, error);
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  if (policy == NULL)
    return NULL;
  if (lists != NULL && trellis_policy_get_lists (policy) == NULL && problem == NULL)
    problem = g_strdup ("the updater compiled its lists for other categories: the shipped lists "
                        "are in force until it compiles them again");
  if (ret_problem != NULL)
    *ret_problem = g_steal_pointer (&problem);
  return snapshot_resolve (policy, FALSE, error);
}

/* The sources the household uses, as one string: when it changes, the
 * updater is run. */
static char *
sources_key (TrellisPolicy *policy)
{
  const TrellisListSource *const *sources;
  GString *key = g_string_new (NULL);
  guint n = 0;

  sources = trellis_policy_get_list_sources (policy, &n);
  for (guint i = 0; i < n; i++)
    if (!sources[i]->removed)
      g_string_append_printf (key, "%s %s %s %s\n", sources[i]->id, sources[i]->category, sources[i]->url,
                              trellis_list_format_to_string (sources[i]->format));
  return g_string_free (key, FALSE);
}

/* The same children, the same uids for the same accounts. */
static gboolean
snapshot_same_accounts (const Snapshot *a, const Snapshot *b)
{
  GHashTableIter iter;
  gpointer account, uid;

  if (a->policy != b->policy || a->uids->len != b->uids->len
      || g_hash_table_size (a->account_uids) != g_hash_table_size (b->account_uids))
    return FALSE;
  g_hash_table_iter_init (&iter, a->account_uids);
  while (g_hash_table_iter_next (&iter, &account, &uid))
    {
      gpointer other;

      if (!g_hash_table_lookup_extended (b->account_uids, account, NULL, &other) || other != uid)
        return FALSE;
    }
  return TRUE;
}

static Snapshot *
snapshot_acquire (TrellisDaemon *daemon)
{
  Snapshot *s;

  g_mutex_lock (&daemon->lock);
  s = g_atomic_rc_box_acquire (daemon->snapshot);
  g_mutex_unlock (&daemon->lock);
  return s;
}

/* The uids of @s's resolution, so that the plan and the decisions agree
 * even if the passwd database changes meanwhile. */
static gboolean
snapshot_account_uid (const char *account, uint32_t *ret_uid, gpointer user_data)
{
  const Snapshot *s = user_data;
  gpointer uid;

  if (!g_hash_table_lookup_extended (s->account_uids, account, NULL, &uid))
    return FALSE;
  *ret_uid = GPOINTER_TO_UINT (uid);
  return TRUE;
}

/* The kernel plan for @s: the same library and the same accounts as
 * `trellis policy show --nft` renders. */
static TrellisNftPlan *
nft_plan_build (TrellisDaemon *daemon, const Snapshot *s, GError **error)
{
  const TrellisNftPlanTuning tuning = {
    .table = daemon->config.table,
    .queue_num = daemon->config.queue_num,
    .queue_total = (uint16_t) daemon->config.queue_threads,
    .answer_port = daemon->config.answer_port,
    .mark = daemon->config.mark,
    .queue_expr = daemon->queue_expr,
    .now_us = daemon_now_us (daemon),
    .kernel_offset_us = daemon->clock_offset_us,
  };

  return trellis_nft_plan_new_for_policy (s->policy, &tuning, snapshot_account_uid,
                                          (gpointer) s, error);
}

/* Whose DNS answers the plan @plan reads (its learn-uids set): net-policy.c
 * places each answer by the flow of its query, which the queue then
 * records.  Only before @s is in force.  A later plan of the same policy
 * (quiet times planned again at midnight) can only take uids out of the set
 * (a child grows out of an allow-list band), so @s may record a few flows
 * more than needed, never fewer. */
static void
snapshot_learn_uids_set (Snapshot *s, const TrellisNftPlan *plan)
{
  const TrellisNftSet *set = trellis_nft_plan_find_set (plan, TRELLIS_NFT_SET_LEARN_UIDS);

  g_clear_pointer (&s->learn_uids, g_hash_table_unref);
  s->learn_uids = g_hash_table_new (NULL, NULL);
  for (size_t i = 0; set != NULL && i < set->n_uids; i++)
    g_hash_table_add (s->learn_uids, GUINT_TO_POINTER (set->uids[i]));
}

/* The household file that last compiled and was applied, kept so that a
 * restart with a broken file still filters as the parents last decided. */
static char *
last_good_path (const TrellisDaemonConfig *config)
{
  return g_build_filename (config->state_dir, "household.conf.last-good", NULL);
}

static void
last_good_save (const TrellisDaemonConfig *config)
{
  g_autofree char *path = last_good_path (config);
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (config->household_path, &contents, &length, &error)
      || !g_file_set_contents_full (path, contents, (gssize) length,
                                    G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning ("cannot keep a copy of the household file that works: %s", error->message);
}

/* ---- decisions ------------------------------------------------------------ */

#define SIGNAL_SAME_NAME_USEC (10 * G_USEC_PER_SEC)
#define SIGNAL_PER_SECOND     20

/* TRUE when a Blocked signal for @child and @qname may go out now: the same
 * name at most once in 10 s, and at most 20 signals a second in all, so a
 * flood of blocked queries never turns into a flood on the bus (the agents
 * limit what they show further). */
static gboolean
signal_allowed (TrellisDaemon *daemon, const char *child, const char *qname)
{
  /* The key on the stack: a flood that is refused allocates nothing. */
  char stack[1280];
  g_autofree char *heap = NULL;
  gsize child_len = strlen (child), name_len = strlen (qname);
  char *key = stack;
  gint64 now = g_get_monotonic_time ();
  gint64 *last;
  gboolean yes = FALSE;

  if (child_len + name_len + 2 > sizeof stack)
    key = heap = g_malloc (child_len + name_len + 2);
  memcpy (key, child, child_len);
  key[child_len] = '\n';
  memcpy (key + child_len + 1, qname, name_len + 1);

  g_mutex_lock (&daemon->signal_lock);
  if (now - daemon->signal_window >= G_USEC_PER_SEC)
    {
      daemon->signal_window = now;
      daemon->signal_count = 0;
    }
  if (daemon->signal_count < SIGNAL_PER_SECOND)
    {
      last = g_hash_table_lookup (daemon->signal_last, key);
      if (last == NULL || now - *last >= SIGNAL_SAME_NAME_USEC)
        {
          if (g_hash_table_size (daemon->signal_last) >= 4096)
            g_hash_table_remove_all (daemon->signal_last);
          g_hash_table_insert (daemon->signal_last, g_strdup (key), g_memdup2 (&now, sizeof now));
          daemon->signal_count++;
          yes = TRUE;
        }
    }
  g_mutex_unlock (&daemon->signal_lock);
  return yes;
}

typedef struct {
  TrellisDaemon *daemon;
  char *child;
  char *name;
  char *kind;
  char *explanation;
  gint64 until;
} BlockedSignal;

static gboolean
blocked_emit (gpointer data)
{
  BlockedSignal *b = data;

  if (b->daemon->dbus != NULL)
    trellis_dbus_service_emit_blocked (b->daemon->dbus, b->child, b->name, b->kind,
                                       b->explanation, b->until);
  g_free (b->child);
  g_free (b->name);
  g_free (b->kind);
  g_free (b->explanation);
  g_free (b);
  return G_SOURCE_REMOVE;
}

/* A gateway's device as the event log names it: its MAC ("" unknown) and
 * its address. */
typedef struct {
  char mac[18];
  char address[INET6_ADDRSTRLEN];
} Device;

/* The device that sent @key's query, or NULL when @flow is an account's. */
static const Device *
device_of (const TrellisFlow *flow,
           const TrellisFlowKey *key,
           Device *buf)
{
  if (flow == NULL || key == NULL || !(flow->uid & DEVICE_PRINCIPAL_BIT))
    return NULL;
  buf->mac[0] = '\0';
  if (flow->has_hw_addr)
    g_snprintf (buf->mac, sizeof buf->mac, "%02x:%02x:%02x:%02x:%02x:%02x", flow->hw_addr[0],
                flow->hw_addr[1], flow->hw_addr[2], flow->hw_addr[3], flow->hw_addr[4],
                flow->hw_addr[5]);
  if (inet_ntop (key->family, key->addr, buf->address, sizeof buf->address) == NULL)
    buf->address[0] = '\0';
  return buf;
}

/*
 * What follows a decision, wherever it was made: a parent's pause or grant
 * that lifts a block (never an integrity rule), the answer, and, for a
 * block with @record, the event log and the Blocked signal.  @now: the
 * moment of the decision.  Without a block it neither allocates nor locks.
 */
static void
decision_apply (TrellisDaemon *daemon,
                Snapshot *s,
                const TrellisChild *child,
                const Device *device,
                const char *qname,
                GDateTime *now,
                gboolean record,
                TrellisDecision *decision,
                TrellisAnswer *ret_answer)
{
  const char *text;

  memset (ret_answer, 0, sizeof *ret_answer);
  ret_answer->action = TRELLIS_ANSWER_FORWARD;
  ret_answer->ede_code = -1;

  trellis_grants_lift (daemon->grants, s->policy, trellis_child_get_name (child), qname,
                       g_date_time_to_unix (now), decision);

  switch (decision->verdict)
    {
    case TRELLIS_VERDICT_BLOCK:
      text = decision->rule->id < s->rule_texts->len
               ? g_ptr_array_index (s->rule_texts, decision->rule->id)
               : "";
      ret_answer->action = TRELLIS_ANSWER_BLOCK;
      ret_answer->rcode = TRELLIS_DNS_RCODE_NXDOMAIN;
      ret_answer->ede_code = TRELLIS_DNS_EDE_FILTERED;
      g_strlcpy (ret_answer->ede_text, text, sizeof ret_answer->ede_text);
      if (!record)
        break;
      /* Only blocks are kept, and only for the child and the parents to
       * see; allowed names and helplines are never written anywhere. */
      if (daemon->events != NULL)
        trellis_event_log_add_blocked_device (daemon->events, g_date_time_to_unix (now),
                                              trellis_child_get_name (child),
                                              device != NULL && device->mac[0] != '\0' ? device->mac : NULL,
                                              device != NULL && device->address[0] != '\0' ? device->address : NULL,
                                              qname, text, decision->rule->category);
      if (g_atomic_pointer_get (&daemon->dbus) != NULL
          && signal_allowed (daemon, trellis_child_get_name (child), qname))
        {
          BlockedSignal *b = g_new0 (BlockedSignal, 1);

          b->daemon = daemon;
          b->child = g_strdup (trellis_child_get_name (child));
          b->name = g_strdup (qname);
          b->kind = g_strdup (trellis_rule_kind_to_string (decision->rule->kind));
          b->explanation = trellis_rule_explain_for (s->policy, decision->rule, child, now);
          b->until = 0;
          /* signals leave from the main loop, whoever decided */
          g_main_context_invoke (NULL, blocked_emit, b);
        }
      break;
    case TRELLIS_VERDICT_SAFE_SEARCH:
      if (decision->target != NULL)
        {
          ret_answer->action = TRELLIS_ANSWER_SAFE_SEARCH;
          g_strlcpy (ret_answer->target, decision->target, sizeof ret_answer->target);
        }
      break;
    case TRELLIS_VERDICT_ALLOW:
    default:
      break;
    }
}

/* The policy's decision for @qname and @child at @now, then a parent's
 * pause or temporary grant, which lifts a block; never the rules that keep
 * the filter whole (what decision_apply() does, without the answer). */
static void
decide_at (TrellisDaemon *daemon,
           TrellisPolicy *policy,
           const TrellisChild *child,
           const char *qname,
           GDateTime *now,
           TrellisDecision *ret_decision)
{
  TrellisDecision decision;

  trellis_policy_decide_at (policy, child, qname, now, &decision);
  trellis_grants_lift (daemon->grants, policy, trellis_child_get_name (child), qname,
                       g_date_time_to_unix (now), &decision);
  *ret_decision = decision;
}

/* Decides @qname for @child now, as a query would be.  @record: write a
 * block to the event log (naming @device, nullable: a gateway's) and
 * signal it.  Fills @ret_decision (nullable) and @ret_answer. */
static void
decide_child (TrellisDaemon *daemon,
              Snapshot *s,
              const TrellisChild *child,
              const Device *device,
              const char *qname,
              gboolean record,
              TrellisDecision *ret_decision,
              TrellisAnswer *ret_answer)
{
  TrellisDecision decision;
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc (daemon_now_us (daemon) / G_USEC_PER_SEC);

  trellis_policy_decide_at (s->policy, child, qname, now, &decision);
  decision_apply (daemon, s, child, device, qname, now, record, &decision, ret_answer);
  if (ret_decision != NULL)
    *ret_decision = decision;
}

/* Decides @qname for @uid under @s, in the policy's decision order, and says
 * how the answerer would answer it (FORWARD: not ours to answer).  Called
 * from the queue (main thread) and the answerer (any thread): @s is
 * immutable. */
static void
decide (TrellisDaemon *daemon, Snapshot *s, uid_t uid, const Device *device, const char *qname,
        gboolean record, TrellisAnswer *ret_answer)
{
  const TrellisChild *child = g_hash_table_lookup (s->uid_children, GUINT_TO_POINTER (uid));

  if (child == NULL)
    {
      /* no longer a child's account: not ours to filter */
      memset (ret_answer, 0, sizeof *ret_answer);
      ret_answer->action = TRELLIS_ANSWER_FORWARD;
      ret_answer->ede_code = -1;
      return;
    }
  decide_child (daemon, s, child, device, qname, record, NULL, ret_answer);
}

/* What went wrong in the queue's source, logged here: the queue does not log. */
static void
queue_failed (TrellisQueueFailure failure, guint16 queue_num, guint32 packet_id, int error,
              gpointer user_data)
{
  switch (failure)
    {
    case TRELLIS_QUEUE_FAILURE_VERDICT:
      g_warning ("queue %u: cannot send the verdict for packet %u: %s",
                 queue_num, packet_id, g_strerror (-error));
      break;
    case TRELLIS_QUEUE_FAILURE_RECEIVE:
      g_warning ("queue %u: receive failed: %s", queue_num, g_strerror (-error));
      break;
    case TRELLIS_QUEUE_FAILURE_MESSAGE:
    default:
      g_debug ("queue %u: a message did not parse: %s", queue_num, g_strerror (-error));
      break;
    }
}

/* ---- the queues ------------------------------------------------------------ */

/* A blocked query's answer: at most its header, question (259 bytes), OPT
 * and EDE (256 bytes of text) fit here, whatever payload size it asks. */
#define REPLY_ROOM (1024 + TRELLIS_RAW_HEADER_MAX)

/*
 * One queue and what its thread keeps for itself: the snapshot it reads
 * (taken again when a swap bumps the generation: no lock per packet), the
 * time of the current second (GDateTimes made once a second, not per
 * query), raw sockets for the answers it gives in the server's name, and
 * room for what one read needs.  Only its thread touches the fields below
 * @queue while the queue runs.
 */
struct _TrellisDaemonJudge {
  TrellisDaemon *daemon; /* (unowned) */
  TrellisQueue *queue;   /* (owned) (nullable) */
  Snapshot *snapshot;    /* (owned) (nullable) */
  gint generation;
  gint64 second;        /* of now_utc, unix */
  GDateTime *now_utc;   /* (owned) (nullable) */
  GDateTime *now_local; /* (owned) (nullable) in the snapshot's household zone */
  int raw4;             /* raw socket, or -errno: answers then go by NAT */
  int raw6;
  gboolean raw_told; /* a failed raw answer was logged */
  TrellisDnsQuery queries[TRELLIS_QUEUE_BATCH];
  TrellisFlowKey keys[TRELLIS_QUEUE_BATCH]; /* each query's, as queries[] */
  TrellisFlow flows[TRELLIS_QUEUE_BATCH];
  guint8 replies[TRELLIS_QUEUE_BATCH][REPLY_ROOM];
};

typedef TrellisDaemonJudge QueueWorker;

/* The snapshot in force and the time, as of now; allocates once a second
 * and after a swap, never per query. */
static void
worker_refresh (QueueWorker *w)
{
  gint generation = g_atomic_int_get (&w->daemon->snapshot_generation);
  gint64 second = daemon_now_us (w->daemon) / G_USEC_PER_SEC;
  gboolean swapped = FALSE;

  if (w->snapshot == NULL || generation != w->generation)
    {
      /* The generation first: a swap in between is seen next time. */
      Snapshot *next = snapshot_acquire (w->daemon);

      if (w->snapshot != NULL)
        snapshot_release (w->snapshot);
      w->snapshot = next;
      w->generation = generation;
      swapped = TRUE;
    }
  if (swapped || second != w->second || w->now_utc == NULL)
    {
      g_clear_pointer (&w->now_utc, g_date_time_unref);
      g_clear_pointer (&w->now_local, g_date_time_unref);
      w->now_utc = g_date_time_new_from_unix_utc (second);
      w->now_local = g_date_time_to_timezone (w->now_utc,
                                              trellis_policy_get_timezone (w->snapshot->policy));
      w->second = second;
    }
}

/* An idle queue lets go of a snapshot that is no longer in force (its
 * policy, and the mapped index with it). */
static void
worker_idle (gpointer user_data)
{
  QueueWorker *w = user_data;

  if (w->snapshot != NULL && g_atomic_int_get (&w->daemon->snapshot_generation) != w->generation)
    {
      g_clear_pointer (&w->snapshot, snapshot_release);
      g_clear_pointer (&w->now_utc, g_date_time_unref);
      g_clear_pointer (&w->now_local, g_date_time_unref);
    }
}

/* Whose @packet is: a protected account's uid (its socket's owner), or on
 * a gateway a device's principal, by the mark prerouting gave it (a
 * device's query the guard chain hands back carries trellisd's mark
 * instead: its flow says whose).  Fills @key and @flow for the flow table.
 * FALSE: it cannot be placed, and is not passed on unread. */
static gboolean
packet_principal (TrellisDaemon *daemon,
                  const TrellisQueuePacket *packet,
                  TrellisFlowKey *key,
                  TrellisFlow *flow)
{
  TrellisFlow known;

  memset (key, 0, sizeof *key);
  memset (flow, 0, sizeof *flow);
  key->family = packet->family;
  key->proto = packet->proto;
  key->port = packet->src_port;
  memcpy (key->addr, packet->src_addr, sizeof key->addr);
  flow->dst_port = packet->dst_port;
  memcpy (flow->dst_addr, packet->dst_addr, sizeof flow->dst_addr);
  flow->has_hw_addr = packet->has_hw_addr;
  memcpy (flow->hw_addr, packet->hw_addr, sizeof flow->hw_addr);
  if (packet->has_uid)
    flow->uid = packet->uid;
  else if (packet->mark >= TRELLIS_NFT_DEVICE_MARK_BASE
           && packet->mark < TRELLIS_NFT_DEVICE_MARK_BASE + TRELLIS_NFT_DEVICE_PROFILES_MAX)
    flow->uid = DEVICE_PRINCIPAL (packet->mark - TRELLIS_NFT_DEVICE_MARK_BASE);
  else if (packet->mark == daemon->config.mark
           && trellis_flow_table_lookup (daemon->flows, key, g_get_monotonic_time (), &known)
           && (known.uid & DEVICE_PRINCIPAL_BIT))
    flow->uid = known.uid;
  else
    return FALSE;
  return TRUE;
}

/*
 * Judges the packets of one read (the queue's thread).  TCP SYNs are marked
 * for NAT (the answerer takes the connection); UDP queries are read and
 * decided together (the domain index looks their names up at once);
 * allowed ones go on, a blocked one is answered here in the server's name
 * (a raw socket) and dropped, a safe-search one is marked for NAT, to the
 * answerer that asks for the safe name.  Nothing here allocates, logs or
 * waits on the D-Bus side, except for a block: the event log (a new entry),
 * and a Blocked signal (at most 20 a second).
 */
static void
queue_judge (const TrellisQueuePacket *const *packets,
             guint n_packets,
             TrellisQueueVerdict *verdicts,
             gpointer user_data)
{
  QueueWorker *w = user_data;
  TrellisDaemon *daemon = w->daemon;
  const TrellisChild *children[TRELLIS_QUEUE_BATCH];
  const char *names[TRELLIS_QUEUE_BATCH];
  guint slots[TRELLIS_QUEUE_BATCH];
  TrellisDecision decisions[TRELLIS_QUEUE_BATCH];
  const guint8 *out[2][TRELLIS_QUEUE_BATCH];
  gsize out_len[2][TRELLIS_QUEUE_BATCH];
  guint out_slot[2][TRELLIS_QUEUE_BATCH];
  guint n_out[2] = { 0, 0 };
  guint n = 0, malformed = 0;
  gint64 mono = 0;
  Snapshot *s;

  G_STATIC_ASSERT (sizeof w->keys / sizeof w->keys[0] == TRELLIS_QUEUE_BATCH);
  worker_refresh (w);
  s = w->snapshot;
  for (guint i = 0; i < n_packets; i++)
    {
      const TrellisQueuePacket *packet = packets[i];
      const TrellisChild *child;
      TrellisFlowKey *key = &w->keys[n];
      TrellisFlow *flow = &w->flows[n];

      /* Only sockets of protected accounts (and a gateway's devices) are
       * queued; a packet that cannot be placed is not passed unread. */
      verdicts[i] = TRELLIS_QUEUE_DROP;
      if (!packet_principal (daemon, packet, key, flow))
        continue;
      if (packet->proto == IPPROTO_TCP)
        {
          /* A new connection to port 53: the mark sends it to the
           * answerer, which needs to know whose it is and where it was
           * going.  Marking (rather than redirecting every protected SYN)
           * is what lets on-failure=open hold for TCP too: with trellisd
           * gone, the bypassed SYN is unmarked and goes to the server. */
          if (mono == 0)
            mono = g_get_monotonic_time ();
          trellis_flow_table_record (daemon->flows, key, flow, mono);
          verdicts[i] = TRELLIS_QUEUE_ACCEPT_MARK;
          continue;
        }
      if (packet->proto != IPPROTO_UDP)
        continue;
      if (trellis_dns_query_parse (packet->payload, packet->payload_len, &w->queries[n]) < 0)
        {
          malformed++;
          continue;
        }
      child = g_hash_table_lookup (s->uid_children, GUINT_TO_POINTER (flow->uid));
      if (child == NULL)
        {
          /* no longer a child's account: not ours to filter */
          verdicts[i] = TRELLIS_QUEUE_ACCEPT;
          continue;
        }
      /* A device's flow is always kept: the answerer (TCP, safe search, a
       * block without a raw socket) and the answers' queue place it by it. */
      if ((flow->uid & DEVICE_PRINCIPAL_BIT) && packet->mark != daemon->config.mark)
        {
          if (mono == 0)
            mono = g_get_monotonic_time ();
          trellis_flow_table_record (daemon->flows, key, flow, mono);
        }
      children[n] = child;
      names[n] = w->queries[n].qname;
      slots[n] = i;
      n++;
    }
  if (malformed > 0)
    __atomic_fetch_add (&daemon->n_malformed, malformed, __ATOMIC_RELAXED);

  trellis_policy_decide_many (s->policy, children, names, n, w->now_local, decisions);

  for (guint k = 0; k < n; k++)
    {
      guint i = slots[k];
      const TrellisQueuePacket *packet = packets[i];
      const TrellisDnsQuery *query = &w->queries[k];
      gboolean returned = packet->mark == daemon->config.mark;
      guint family = packet->family == AF_INET ? 0 : 1;
      int raw = family == 0 ? w->raw4 : w->raw6;
      TrellisAnswer answer;
      Device device;

      /* The queue sees each UDP query once (a guard-chain return is the
       * same query again): that is where its event is recorded. */
      decision_apply (daemon, s, children[k], device_of (&w->flows[k], &w->keys[k], &device),
                      query->qname, w->now_utc, !returned, &decisions[k], &answer);
      switch (answer.action)
        {
        case TRELLIS_ANSWER_BLOCK:
          if (raw >= 0)
            {
              /* The answer, in the server's name, straight from here: the
               * query never leaves, and needs no trip through NAT. */
              gsize hlen = (family == 0 ? 20 : 40) + 8;
              guint8 *buf = w->replies[k];
              gssize r = trellis_dns_reply_build (packet->payload, packet->payload_len, query,
                                                  answer.rcode, answer.ede_code, answer.ede_text,
                                                  buf + hlen, REPLY_ROOM - hlen);

              if (r > 0)
                r = trellis_raw_udp_build (packet->family, packet->dst_addr, packet->dst_port,
                                           packet->src_addr, packet->src_port, buf + hlen,
                                           (gsize) r, buf, REPLY_ROOM);
              if (r > 0)
                {
                  out[family][n_out[family]] = buf;
                  out_len[family][n_out[family]] = (gsize) r;
                  out_slot[family][n_out[family]++] = i;
                  verdicts[i] = TRELLIS_QUEUE_DROP;
                  break;
                }
            }
          /* No raw socket (no CAP_NET_RAW): the mark takes it through NAT
           * to the answerer, which answers it. */
          verdicts[i] = returned ? TRELLIS_QUEUE_DROP : TRELLIS_QUEUE_ACCEPT_MARK;
          break;
        case TRELLIS_ANSWER_SAFE_SEARCH:
          {
            if (mono == 0)
              mono = g_get_monotonic_time ();
            trellis_flow_table_record (daemon->flows, &w->keys[k], &w->flows[k], mono);
            /* Marked, so that NAT takes it to the answerer.  But NAT
             * decides once per flow: when the child's resolver reuses a
             * source port while conntrack still holds an earlier flow to
             * the same server that was let through, the marked query is
             * not redirected, and the guard chain hands it back here still
             * carrying the mark.  Then the answer goes from here, in the
             * server's name, and the query is dropped. */
            if (returned)
              {
                trellis_answerer_answer_unredirected (daemon->answerer, &w->keys[k], &w->flows[k],
                                                      packet->payload, packet->payload_len,
                                                      query, &answer);
                verdicts[i] = TRELLIS_QUEUE_DROP;
              }
            else
              verdicts[i] = TRELLIS_QUEUE_ACCEPT_MARK;
          }
          break;
        case TRELLIS_ANSWER_FORWARD:
        default:
          /* Its answer is read (quiet hours, allow-list mode: net-policy.c),
           * and placed by this query's flow.  Not known (no plan yet):
           * recorded all the same. */
          if (!returned && !(w->flows[k].uid & DEVICE_PRINCIPAL_BIT)
              && (s->learn_uids == NULL
                  || g_hash_table_contains (s->learn_uids, GUINT_TO_POINTER (w->flows[k].uid))))
            {
              if (mono == 0)
                mono = g_get_monotonic_time ();
              trellis_flow_table_record (daemon->flows, &w->keys[k], &w->flows[k], mono);
            }
          verdicts[i] = returned ? TRELLIS_QUEUE_DROP : TRELLIS_QUEUE_ACCEPT;
          break;
        }
    }

  /* The answers of the read, a call per family.  One that does not go
   * leaves its query to NAT and the answerer instead: never unanswered. */
  for (guint f = 0; f < 2; f++)
    {
      int sent;

      if (n_out[f] == 0)
        continue;
      sent = trellis_raw_send (f == 0 ? w->raw4 : w->raw6, out[f], out_len[f], n_out[f]);
      if (sent < (int) n_out[f])
        {
          if (!w->raw_told)
            g_warning ("cannot answer a blocked query in the server's name (a raw socket): %s; "
                       "such queries go to the answerer by NAT instead (logged once)",
                       g_strerror (sent < 0 ? -sent : EIO));
          w->raw_told = TRUE;
          for (guint j = (guint) MAX (sent, 0); j < n_out[f]; j++)
            if (packets[out_slot[f][j]]->mark != daemon->config.mark)
              verdicts[out_slot[f][j]] = TRELLIS_QUEUE_ACCEPT_MARK;
        }
    }
}

static QueueWorker *
worker_new (TrellisDaemon *daemon)
{
  QueueWorker *w = g_new0 (QueueWorker, 1);

  w->daemon = daemon;
  w->raw4 = trellis_raw_socket_open (AF_INET);
  w->raw6 = trellis_raw_socket_open (AF_INET6);
  return w;
}

static void
worker_free (QueueWorker *w)
{
  /* The queue first: its thread is the one that uses the rest. */
  g_clear_pointer (&w->queue, trellis_queue_free);
  if (w->raw4 >= 0)
    close (w->raw4);
  if (w->raw6 >= 0)
    close (w->raw6);
  g_clear_pointer (&w->snapshot, snapshot_release);
  g_clear_pointer (&w->now_utc, g_date_time_unref);
  g_clear_pointer (&w->now_local, g_date_time_unref);
  g_free (w);
}

TrellisDaemonJudge *
trellis_daemon_judge_new (TrellisDaemon *daemon)
{
  return worker_new (daemon);
}

void
trellis_daemon_judge_run (TrellisDaemonJudge *judge,
                          const TrellisQueuePacket *const *packets,
                          guint n_packets,
                          TrellisQueueVerdict *ret_verdicts)
{
  for (guint i = 0; i < n_packets; i += TRELLIS_QUEUE_BATCH)
    queue_judge (packets + i, MIN (n_packets - i, TRELLIS_QUEUE_BATCH), ret_verdicts + i, judge);
}

void
trellis_daemon_judge_free (TrellisDaemonJudge *judge)
{
  if (judge != NULL)
    worker_free (judge);
}

/* Lets every queue go (the threads end first), saying what they did. */
static void
queues_free (TrellisDaemon *daemon)
{
  if (daemon->queues == NULL)
    return;
  for (guint i = 0; i < daemon->queues->len; i++)
    {
      QueueWorker *w = g_ptr_array_index (daemon->queues, i);
      TrellisQueueStats stats;

      if (w->queue == NULL)
        continue;
      trellis_queue_get_stats (w->queue, &stats);
      g_debug ("queue %u: %" G_GUINT64_FORMAT " packets in %" G_GUINT64_FORMAT " reads, %" G_GUINT64_FORMAT " verdict messages, %" G_GUINT64_FORMAT " unreadable",

               trellis_queue_get_num (w->queue), stats.packets, stats.reads,
               stats.verdict_messages, stats.unreadable);
    }
  g_clear_pointer (&daemon->queues, g_ptr_array_unref);
}

/*
 * Binds queues queue_num, queue_num + 1, ... (one thread each).  The kernel
 * hands a packet to queue (CPU % n_queues), the CPU that queued it; each
 * thread runs on those of its CPUs that trellisd may use, so that it is
 * woken where the packet is, without interrupting another CPU.  A thread
 * with none of them runs anywhere.
 */
static gboolean
queues_start (TrellisDaemon *daemon, guint n_queues, GError **error)
{
  cpu_set_t allowed;
  gboolean have_allowed = sched_getaffinity (0, sizeof allowed, &allowed) == 0;

  daemon->queues = g_ptr_array_new_with_free_func ((GDestroyNotify) worker_free);
  for (guint i = 0; i < n_queues; i++)
    {
      QueueWorker *w = worker_new (daemon);
      cpu_set_t cpus;
      TrellisQueueConfig config = {
        .queue_num = (guint16) (daemon->config.queue_num + i),
        .mark = daemon->config.mark,
        .copy_range = TRELLIS_QUEUE_COPY_RANGE_DNS,
        .handler = queue_judge,
        .idle = worker_idle,
        .user_data = w,
        .failed = queue_failed,
        .cpus = &cpus,
      };

      CPU_ZERO (&cpus); /* none: anywhere */
      for (guint cpu = i; have_allowed && n_queues > 1 && cpu < CPU_SETSIZE; cpu += n_queues)
        if (CPU_ISSET (cpu, &allowed))
          CPU_SET (cpu, &cpus);

      g_ptr_array_add (daemon->queues, w);
      if (i == 0 && (w->raw4 < 0 || w->raw6 < 0))
        g_message ("no raw socket for %s (%s): blocked queries are answered by the answerer, "
                   "through NAT",
                   w->raw4 < 0 ? "IPv4" : "IPv6",
                   g_strerror (-(w->raw4 < 0 ? w->raw4 : w->raw6)));
      w->queue = trellis_queue_new_full (&config, error);
      if (w->queue == NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
trellis_daemon_verdicts_alive (TrellisDaemon *daemon, gint64 max_quiet_usec)
{
  GPtrArray *queues = daemon->queues;
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; queues != NULL && i < queues->len; i++)
    {
      QueueWorker *w = g_ptr_array_index (queues, i);

      if (w->queue != NULL && now - trellis_queue_get_progress (w->queue) > max_quiet_usec)
        return FALSE;
    }
  return TRUE;
}

static void
answerer_decide (const TrellisFlow *flow, const TrellisFlowKey *key, guint8 proto,
                 const TrellisDnsQuery *query, TrellisAnswer *ret_answer, gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  g_autoptr(Snapshot) s = snapshot_acquire (daemon);
  Device device;

  /* A UDP query here was decided (and recorded) in the queue already; a TCP
   * query is decided only here. */
  decide (daemon, s, flow->uid, device_of (flow, key, &device), query->qname,
          proto == IPPROTO_TCP, ret_answer);
}

/* libnss_trellis asks (daemon/nss-server.c, its own thread): a lookup by
 * name that never reaches port 53 (nss-resolve), decided as its query
 * would be, and kept in the log when blocked. */
static TrellisNssVerdict
nss_decide (uid_t uid, const char *qname, char *ret_rule, gsize rule_size, gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  g_autoptr(Snapshot) s = snapshot_acquire (daemon);
  const TrellisChild *child = g_hash_table_lookup (s->uid_children, GUINT_TO_POINTER (uid));
  TrellisAnswer answer;

  if (child == NULL)
    return TRELLIS_NSS_VERDICT_OUTSIDE;
  if (qname == NULL)
    {
      /* as the queue drops a query it cannot read */
      g_strlcpy (ret_rule, "malformed name", rule_size);
      return TRELLIS_NSS_VERDICT_BLOCK;
    }
  decide_child (daemon, s, child, NULL, qname, TRUE, NULL, &answer);
  if (answer.action == TRELLIS_ANSWER_SAFE_SEARCH)
    {
      g_strlcpy (ret_rule, answer.target, rule_size);
      return TRELLIS_NSS_VERDICT_SAFE;
    }
  if (answer.action != TRELLIS_ANSWER_BLOCK)
    return TRELLIS_NSS_VERDICT_ALLOW;
  g_strlcpy (ret_rule, answer.ede_text, rule_size);
  return TRELLIS_NSS_VERDICT_BLOCK;
}

/* The days of a purge under way, for its message. */
typedef struct {
  guint days;
} PurgeDays;

/* In the event log's worker thread (g_message is thread-safe). */
static void
events_purged (guint deleted, char **removed, GError *error, gpointer user_data)
{
  g_autofree PurgeDays *purge = user_data;
  g_auto(GStrv) files = removed;
  g_autoptr(GError) owned = error;

  if (owned != NULL)
    {
      if (!g_error_matches (owned, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_CLOSED))
        g_warning ("cannot purge old events: %s", owned->message);
      return;
    }
  if (deleted > 0)
    g_message ("purged %u event(s) older than %u day(s)", deleted, purge->days);
  for (guint i = 0; files != NULL && files[i] != NULL; i++)
    g_message ("removed %s: a damaged event log set aside more than %u day(s) ago",
               files[i], purge->days);
}

/* Drops events older than the household's log-retention-days (§55, §69),
 * and damaged logs set aside before then, in the event log's worker: the
 * main loop gives verdicts meanwhile. */
static gboolean
events_purge (gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  g_autoptr(Snapshot) s = NULL;
  PurgeDays *purge;

  if (daemon->events == NULL)
    return G_SOURCE_CONTINUE;
  s = snapshot_acquire (daemon);
  purge = g_new0 (PurgeDays, 1);
  purge->days = trellis_policy_get_log_retention_days (s->policy);
  trellis_event_log_purge_async (daemon->events,
                                 g_get_real_time () / G_USEC_PER_SEC - (gint64) purge->days * 86400,
                                 events_purged, purge);
  return G_SOURCE_CONTINUE;
}

static gboolean
flows_expire (gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  guint64 malformed = __atomic_load_n (&daemon->n_malformed, __ATOMIC_RELAXED);

  trellis_flow_table_expire (daemon->flows, g_get_monotonic_time ());
  /* Counted by the queue threads, said here: never a line per packet. */
  if (malformed != daemon->n_malformed_told)
    g_debug ("dropped %" G_GUINT64_FORMAT " malformed DNS queries (%" G_GUINT64_FORMAT " so far)",
             malformed - daemon->n_malformed_told, malformed);
  daemon->n_malformed_told = malformed;
  return G_SOURCE_CONTINUE;
}


/* ---- the network policy at run time --------------------------------------- */

/* The daemon's clock (real time, or a test's fake one), unix µs. */
static gint64
daemon_now_us (TrellisDaemon *daemon)
{
  return g_get_real_time () + daemon->clock_offset_us;
}

/* The uids of @child under @s, sorted. */
static GArray *
child_uids (Snapshot *s, const char *child)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint32));
  GHashTableIter iter;
  gpointer uid, c;

  g_hash_table_iter_init (&iter, s->uid_children);
  while (g_hash_table_iter_next (&iter, &uid, &c))
    if (strcmp (trellis_child_get_name (c), child) == 0
        && !(GPOINTER_TO_UINT (uid) & DEVICE_PRINCIPAL_BIT)) /* a uid set: uids only */
      {
        guint32 u = GPOINTER_TO_UINT (uid);

        g_array_append_val (out, u);
      }
  g_array_sort (out, uid_compare);
  return out;
}

/* A parent paused @child until @until (unix seconds; past: resumed): the
 * kernel's network policy follows. */
static void
pause_changed (TrellisDaemon *daemon,
               const char *child,
               gint64 until)
{
  g_autoptr(Snapshot) s = NULL;
  g_autoptr(GArray) uids = NULL;
  int r;

  if (daemon->net == NULL)
    return;
  s = snapshot_acquire (daemon);
  uids = child_uids (s, child);
  r = trellis_net_policy_pause (daemon->net, (const guint32 *) (gpointer) uids->data, uids->len, until);
  if (r < 0)
    g_warning ("child %s: the kernel did not take the pause: %s", child, g_strerror (-r));
}

/* What an answer teaches (net-policy.c asks, in the answers queue's thread). */
static TrellisLearn
net_classify (uid_t uid, const char *qname, char **ret_child, gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  g_autoptr(Snapshot) s = snapshot_acquire (daemon);
  const TrellisChild *child = g_hash_table_lookup (s->uid_children, GUINT_TO_POINTER (uid));
  g_autoptr(GDateTime) now = NULL;
  TrellisDecision decision;
  TrellisAnswer answer;
  gboolean allowlist = FALSE;

  if (child == NULL)
    return TRELLIS_LEARN_NONE;
  decide_child (daemon, s, child, NULL, qname, FALSE, &decision, &answer);
  if (decision.rule->kind == TRELLIS_RULE_KIND_HELPLINE)
    return TRELLIS_LEARN_HELPLINE;
  if (decision.verdict == TRELLIS_VERDICT_BLOCK)
    return TRELLIS_LEARN_NONE;
  now = g_date_time_new_from_unix_utc (daemon_now_us (daemon) / G_USEC_PER_SEC);
  if (trellis_child_get_profile (s->policy, child, now, NULL, NULL, &allowlist) == NULL || !allowlist)
    return TRELLIS_LEARN_NONE;
  *ret_child = g_strdup (trellis_child_get_name (child));
  return TRELLIS_LEARN_CHILD;
}

/* Another process changed our table: put it back as it was, at once. */
static void
net_repair (guint32 pid, gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  gint64 start = g_get_monotonic_time ();
  int r;

  if (!daemon->table_applied || daemon->applied == NULL)
    return;
  r = trellis_nft_apply_plan (daemon->applied);
  if (r < 0)
    {
      g_warning ("table inet %s was changed by another process (pid %u) and could not be put back: %s",
                 daemon->config.table, pid, g_strerror (-r));
      return;
    }
  if (daemon->net != NULL)
    trellis_net_policy_table_replaced (daemon->net);
  daemon->n_repairs++;
  g_warning ("table inet %s was changed by another process (pid %u): put back in %.1f ms (%u so far)",
             daemon->config.table, pid, (g_get_monotonic_time () - start) / 1000.0, daemon->n_repairs);
}

static void quiet_timer_arm (TrellisDaemon *daemon);
static int kernel_update (TrellisDaemon *daemon, const TrellisNftPlan *plan);

static gint32
zone_offset_at (GTimeZone *tz, gint64 unix_s)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (unix_s);
  g_autoptr(GDateTime) local = t != NULL ? g_date_time_to_timezone (t, tz) : NULL;

  return local != NULL ? (gint32) (g_date_time_get_utc_offset (local) / G_USEC_PER_SEC) : 0;
}

/* Plans the kernel again for now (the quiet times move on with the days)
 * and arms the timer for the next time. */
static gboolean
quiet_timer_due (gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  g_autoptr(Snapshot) s = snapshot_acquire (daemon);
  g_autoptr(TrellisNftPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  GTimeZone *tz = trellis_policy_get_timezone (s->policy);
  gint32 offset = zone_offset_at (tz, daemon_now_us (daemon) / G_USEC_PER_SEC);
  int r;

  g_clear_pointer (&daemon->quiet_timer, g_source_unref);
  plan = nft_plan_build (daemon, s, &error);
  if (plan == NULL)
    g_warning ("quiet hours not planned again: %s", error->message);
  else if ((r = kernel_update (daemon, plan)) < 0)
    g_warning ("quiet hours not planned again: the kernel refused: %s", g_strerror (-r));
  else
    {
      if (r == 1 && daemon->net != NULL)
        trellis_net_policy_table_replaced (daemon->net);
      g_clear_pointer (&daemon->applied, trellis_nft_plan_free);
      daemon->applied = g_steal_pointer (&plan);
      g_message ("quiet hours planned again in %s (UTC%+03d:%02d)",
                 trellis_policy_get_timezone_name (s->policy) != NULL
                   ? trellis_policy_get_timezone_name (s->policy)
                   : "the system's zone",
                 offset / 3600, (ABS (offset) / 60) % 60);
    }
  quiet_timer_arm (daemon);
  return G_SOURCE_REMOVE;
}

/* The next time the plan's quiet times need a new look: the household's
 * next local midnight (the plan's horizon moves a day), or the next change
 * of the zone's offset (summer time) before it, whichever comes first. */
static void
quiet_timer_arm (TrellisDaemon *daemon)
{
  g_autoptr(Snapshot) s = snapshot_acquire (daemon);
  GTimeZone *tz = trellis_policy_get_timezone (s->policy);
  gint64 now_s = daemon_now_us (daemon) / G_USEC_PER_SEC;
  gint64 from_us, to_us, next;
  gint32 offset_now;

  if (daemon->quiet_timer != NULL)
    {
      g_source_destroy (daemon->quiet_timer);
      g_clear_pointer (&daemon->quiet_timer, g_source_unref);
    }
  trellis_nft_quiet_horizon (s->policy, now_s * G_USEC_PER_SEC, &from_us, &to_us);
  /* the midnight after today's: from + 2 days */
  next = from_us / G_USEC_PER_SEC + 2 * 86400;
  {
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (from_us / G_USEC_PER_SEC);
    g_autoptr(GDateTime) l = g_date_time_to_timezone (t, tz);
    g_autoptr(GDateTime) m = g_date_time_add_days (l, 2);

    next = g_date_time_to_unix (m);
  }
  offset_now = zone_offset_at (tz, now_s);
  if (zone_offset_at (tz, next) != offset_now)
    {
      /* the second the offset changes, by halves */
      gint64 lo = now_s, hi = next;

      while (hi - lo > 1)
        {
          gint64 mid = lo + (hi - lo) / 2;

          if (zone_offset_at (tz, mid) == offset_now)
            lo = mid;
          else
            hi = mid;
        }
      next = hi;
    }
  if (next <= now_s)
    next = now_s + 1;
  daemon->quiet_timer = g_timeout_source_new ((guint) MIN ((next - now_s) * 1000 + 50, 86400 * 1000));
  g_source_set_callback (daemon->quiet_timer, quiet_timer_due, daemon, NULL);
  g_source_attach (daemon->quiet_timer, g_main_context_get_thread_default ());
}

static void
localtime_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
                   gpointer user_data)
{
  TrellisDaemon *daemon = user_data;

  if (event != G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT && event != G_FILE_MONITOR_EVENT_CREATED
      && event != G_FILE_MONITOR_EVENT_DELETED && event != G_FILE_MONITOR_EVENT_RENAMED
      && event != G_FILE_MONITOR_EVENT_MOVED_IN)
    return;
  g_message ("the system's time zone changed: reading the household again");
  trellis_daemon_reload (daemon);
}

static gboolean
net_start (TrellisDaemon *daemon, GError **error)
{
  const TrellisNetPolicyHooks hooks = { net_classify, net_repair };
  TrellisNetPolicyConfig config = {
    .table = daemon->config.table,
    /* the first after the queries' queues, as the plan says */
    .answers_queue_num = daemon->config.answers_queue_num != 0
                           ? daemon->config.answers_queue_num
                           : (guint16) (daemon->config.queue_num + daemon->config.queue_threads),
    .mark = daemon->config.mark,
    .ttl_min = daemon->config.learn_ttl_min != 0 ? daemon->config.learn_ttl_min : 120,
    .ttl_max = daemon->config.learn_ttl_max != 0 ? daemon->config.learn_ttl_max : 21600,
    .resolvers = (const char *const *) daemon->config.resolvers,
  };
  g_autoptr(GHashTable) pauses = NULL;
  GHashTableIter iter;
  gpointer name, until;

  daemon->net = trellis_net_policy_new (&config, daemon->flows, &hooks, daemon, error);
  if (daemon->net == NULL)
    return FALSE;
  trellis_net_policy_set_doh_names (daemon->net, trellis_policy_get_doh_names (daemon->snapshot->policy));
  /* A copy: the kernel is told without the grants' lock held. */
  pauses = trellis_grants_dup_pauses (daemon->grants);
  g_hash_table_iter_init (&iter, pauses);
  while (g_hash_table_iter_next (&iter, &name, &until))
    pause_changed (daemon, name, *(gint64 *) until);
  quiet_timer_arm (daemon);
  {
    g_autoptr(GFile) lt = g_file_new_for_path ("/etc/localtime");

    daemon->localtime_monitor = g_file_monitor_file (lt, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
    if (daemon->localtime_monitor != NULL)
      g_signal_connect (daemon->localtime_monitor, "changed", G_CALLBACK (localtime_changed), daemon);
  }
  return TRUE;
}

static void
net_stop (TrellisDaemon *daemon)
{
  if (daemon->quiet_timer != NULL)
    {
      g_source_destroy (daemon->quiet_timer);
      g_clear_pointer (&daemon->quiet_timer, g_source_unref);
    }
  if (daemon->localtime_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (daemon->localtime_monitor, daemon);
      g_clear_object (&daemon->localtime_monitor);
    }
  g_clear_pointer (&daemon->net, trellis_net_policy_free);
}

/* ---- the system bus --------------------------------------------------------- */

#define BUS_RETRY_FIRST_MS 250
#define BUS_RETRY_MAX_MS   5000

static void bus_connect (TrellisDaemon *daemon);

static gboolean
bus_retry_due (gpointer user_data)
{
  TrellisDaemon *daemon = user_data;

  g_clear_pointer (&daemon->bus_retry, g_source_unref);
  bus_connect (daemon);
  return G_SOURCE_REMOVE;
}

/* Tries again in a while: from 250 ms, doubling, to every 5 s. */
static void
bus_retry_later (TrellisDaemon *daemon)
{
  daemon->bus_retry_ms = daemon->bus_retry_ms == 0
                           ? BUS_RETRY_FIRST_MS
                           : MIN (daemon->bus_retry_ms * 2, BUS_RETRY_MAX_MS);
  daemon->bus_retry = g_timeout_source_new (daemon->bus_retry_ms);
  g_source_set_callback (daemon->bus_retry, bus_retry_due, daemon, NULL);
  g_source_attach (daemon->bus_retry, NULL);
}

/* Drops the service and the connection, if there are any. */
static void
bus_drop (TrellisDaemon *daemon)
{
  TrellisDBusService *service = daemon->dbus; /* only this thread writes it */

  g_atomic_pointer_set (&daemon->dbus, NULL);
  daemon->backend.service = NULL;
  g_clear_pointer (&service, trellis_dbus_service_free);
  if (daemon->bus != NULL)
    {
      g_signal_handlers_disconnect_by_data (daemon->bus, daemon);
      g_clear_object (&daemon->bus);
    }
}

static void
bus_closed (GDBusConnection *connection,
            gboolean remote_peer_vanished,
            GError *error,
            gpointer user_data)
{
  TrellisDaemon *daemon = user_data;

  g_warning ("the system bus went away (%s): filtering goes on; connecting again when it is back",
             error != NULL ? error->message : "closed");
  bus_drop (daemon);
  daemon->bus_retry_ms = 0;
  daemon->bus_told_missing = TRUE;
  bus_retry_later (daemon);
}

/* The D-Bus backend's way to the policy in force: a reference of its own. */
static TrellisPolicy *
backend_policy_get (gpointer data)
{
  g_autoptr(Snapshot) s = snapshot_acquire (data);

  return trellis_policy_ref (s->policy);
}

static void
backend_reload (gpointer data)
{
  trellis_daemon_reload (data);
}

static void daemon_reload_then (TrellisDaemon *daemon,
                                void (*done) (const GError *error, gpointer user_data),
                                gpointer user_data);

static void
backend_reload_then (gpointer data,
                     void (*done) (const GError *error, gpointer user_data),
                     gpointer user_data)
{
  daemon_reload_then (data, done, user_data);
}

/* Why's decision: the one a query would get now, by the daemon's clock. */
static void
backend_decide (gpointer data,
                TrellisPolicy *policy,
                const TrellisChild *child,
                const char *qname,
                TrellisDecision *ret_decision)
{
  TrellisDaemon *daemon = data;
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc (daemon_now_us (daemon) / G_USEC_PER_SEC);

  decide_at (daemon, policy, child, qname, now, ret_decision);
}

static void
backend_pause_changed (gpointer data, const char *child, gint64 until)
{
  pause_changed (data, child, until);
}

static void
bus_connected (GObject *source,
               GAsyncResult *result,
               gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_dbus_connection_new_for_address_finish (result, &error);
  TrellisDaemon *daemon = user_data;
  TrellisDBusService *service;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the daemon is stopping: not to be touched */
  daemon->bus_connecting = FALSE;
  if (bus == NULL)
    {
      if (!daemon->bus_told_missing)
        g_warning ("no system bus yet (%s): filtering goes on, but trellis cannot ask; "
                   "connecting when it appears",
                   error->message);
      else
        g_debug ("no system bus yet: %s", error->message);
      daemon->bus_told_missing = TRUE;
      bus_retry_later (daemon);
      return;
    }
  /* A bus that restarts must not take the filter down with it. */
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  daemon->backend = (TrellisDBusBackendContext) {
    .policy_get = backend_policy_get,
    .reload = backend_reload,
    .reload_then = backend_reload_then,
    .decide = backend_decide,
    .pause_changed = backend_pause_changed,
    .lists_get = backend_lists_get,
    .update_lists = backend_update_lists,
    .daemon = daemon,
    .grants = daemon->grants,
    .events = daemon->events,
    .household_path = daemon->config.household_path,
    .data_dir = daemon->config.data_dir,
    .edit_lock = &daemon->edit_lock,
  };
  service = trellis_dbus_service_new (bus, &trellis_dbus_backend, &daemon->backend, &error);
  if (service == NULL)
    {
      g_warning ("no D-Bus service (%s): filtering goes on, but trellis cannot ask; "
                 "trying again",
                 error->message);
      g_dbus_connection_close (bus, NULL, NULL, NULL);
      bus_retry_later (daemon);
      return;
    }
  if (daemon->bus_told_missing)
    g_message ("connected to the system bus; asking for org.trellis.Trellis1");
  daemon->bus_told_missing = FALSE;
  daemon->bus_retry_ms = 0;
  daemon->bus = g_steal_pointer (&bus);
  g_signal_connect (daemon->bus, "closed", G_CALLBACK (bus_closed), daemon);
  daemon->backend.service = service;
  g_atomic_pointer_set (&daemon->dbus, service);
}

/* Connects to the system bus (a connection of our own, not GIO's shared
 * one, so that a closed bus is simply dropped and made again). */
static void
bus_connect (TrellisDaemon *daemon)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SYSTEM, NULL, &error);

  if (address == NULL)
    {
      g_warning ("no address for the system bus (%s): filtering goes on, but trellis cannot ask",
                 error->message);
      return;
    }
  daemon->bus_connecting = TRUE;
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                       | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, daemon->bus_cancellable, bus_connected, daemon);
}

static void
bus_disconnect (TrellisDaemon *daemon)
{
  if (daemon->bus_cancellable != NULL)
    g_cancellable_cancel (daemon->bus_cancellable);
  daemon->bus_connecting = FALSE;
  if (daemon->bus_retry != NULL)
    {
      g_source_destroy (daemon->bus_retry);
      g_clear_pointer (&daemon->bus_retry, g_source_unref);
    }
  bus_drop (daemon);
}

/* ---- accounts ----------------------------------------------------------------- */

#define PASSWD_PATH              "/etc/passwd"
#define ACCOUNTS_SETTLE_MS       500      /* useradd writes several files */
#define ACCOUNTS_RECHECK_SECONDS (5 * 60) /* accounts that come from elsewhere than files */

static gboolean
accounts_refresh_due (gpointer user_data)
{
  TrellisDaemon *daemon = user_data;

  g_clear_pointer (&daemon->accounts_settle, g_source_unref);
  trellis_daemon_refresh_accounts (daemon);
  return G_SOURCE_REMOVE;
}

static gboolean
accounts_recheck (gpointer user_data)
{
  trellis_daemon_refresh_accounts (user_data);
  return G_SOURCE_CONTINUE;
}

/* /etc/passwd changed (it is replaced by a rename; GFileMonitor watches
 * the folder and reports that too): resolve the accounts again once the
 * writes settle. */
static void
passwd_changed (GFileMonitor *monitor,
                GFile *file,
                GFile *other,
                GFileMonitorEvent event,
                gpointer user_data)
{
  TrellisDaemon *daemon = user_data;

  if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED || daemon->accounts_settle != NULL)
    return;
  daemon->accounts_settle = g_timeout_source_new (ACCOUNTS_SETTLE_MS);
  g_source_set_callback (daemon->accounts_settle, accounts_refresh_due, daemon, NULL);
  g_source_attach (daemon->accounts_settle, NULL);
}

static void
accounts_watch_start (TrellisDaemon *daemon)
{
  g_autoptr(GFile) passwd = g_file_new_for_path (PASSWD_PATH);
  g_autoptr(GError) error = NULL;

  daemon->passwd_monitor = g_file_monitor_file (passwd, G_FILE_MONITOR_NONE, NULL, &error);
  if (daemon->passwd_monitor == NULL)
    g_warning ("cannot watch %s (%s): accounts added later are found within %d minutes",
               PASSWD_PATH, error->message, ACCOUNTS_RECHECK_SECONDS / 60);
  else
    g_signal_connect (daemon->passwd_monitor, "changed", G_CALLBACK (passwd_changed), daemon);
  /* NSS may have accounts from elsewhere (LDAP, systemd-homed): look again
   * now and then; the kernel is only touched when a uid changed. */
  daemon->accounts_timer = g_timeout_source_new_seconds (ACCOUNTS_RECHECK_SECONDS);
  g_source_set_callback (daemon->accounts_timer, accounts_recheck, daemon, NULL);
  g_source_attach (daemon->accounts_timer, NULL);
}

static void
accounts_watch_stop (TrellisDaemon *daemon)
{
  if (daemon->passwd_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (daemon->passwd_monitor, daemon);
      g_file_monitor_cancel (daemon->passwd_monitor);
      g_clear_object (&daemon->passwd_monitor);
    }
  if (daemon->accounts_settle != NULL)
    {
      g_source_destroy (daemon->accounts_settle);
      g_clear_pointer (&daemon->accounts_settle, g_source_unref);
    }
  if (daemon->accounts_timer != NULL)
    {
      g_source_destroy (daemon->accounts_timer);
      g_clear_pointer (&daemon->accounts_timer, g_source_unref);
    }
}

/* ---- life cycle ------------------------------------------------------------ */

static gboolean
set_errno_error (GError **error, int err, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err), "%s: %s%s", what,
               g_strerror (err),
               err == EPERM ? " (trellisd needs CAP_NET_ADMIN: run it as root)" : "");
  return FALSE;
}

TrellisDaemon *
trellis_daemon_new (const TrellisDaemonConfig *config, GError **error)
{
  g_autoptr(TrellisDaemon) daemon = g_new0 (TrellisDaemon, 1);

  daemon->config.household_path = g_strdup (config->household_path);
  daemon->config.state_dir = g_strdup (config->state_dir);
  daemon->config.data_dir = g_strdup (config->data_dir);
  daemon->config.table = g_strdup (config->table != NULL ? config->table
                                                         : TRELLIS_NFT_TABLE_DEFAULT);
  daemon->config.lists_dir = g_strdup (config->lists_dir != NULL ? config->lists_dir : TRELLIS_LISTSDIR);
  daemon->config.updater = g_strdup (config->updater);
  daemon->config.updater_config = g_strdup (config->updater_config);
  daemon->update_waiters = g_ptr_array_new_with_free_func (g_free);
  daemon->config.queue_num = config->queue_num;
  daemon->config.queue_threads = config->queue_threads != 0 ? config->queue_threads
                                                            : trellis_nft_queue_total_default ();
  daemon->config.answer_port = config->answer_port;
  daemon->config.mark = config->mark != 0 ? config->mark : TRELLIS_NFT_MARK_DEFAULT;
  daemon->config.ready = config->ready;
  daemon->config.ready_data = config->ready_data;
  daemon->config.answers_queue_num = config->answers_queue_num;
  daemon->config.fake_time = config->fake_time;
  daemon->config.learn_ttl_min = config->learn_ttl_min;
  daemon->config.learn_ttl_max = config->learn_ttl_max;
  daemon->config.resolvers = g_strdupv (config->resolvers);
  daemon->config.runtime_dir = g_strdup (config->runtime_dir);
  if (config->fake_time != 0)
    daemon->clock_offset_us = config->fake_time * G_USEC_PER_SEC - g_get_real_time ();
  g_mutex_init (&daemon->lock);
  g_mutex_init (&daemon->signal_lock);
  g_mutex_init (&daemon->edit_lock);
  daemon->reload_waiters = g_array_new (FALSE, FALSE, sizeof (ReloadWaiter));
  daemon->reload_waiters_next = g_array_new (FALSE, FALSE, sizeof (ReloadWaiter));
  daemon->signal_last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  daemon->grants = trellis_grants_new ();
  daemon->flows = trellis_flow_table_new ();
  daemon->bus_cancellable = g_cancellable_new ();

  if (daemon->config.answer_port == 53 || daemon->config.answer_port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the answer port must be a free local port other than 53");
      return NULL;
    }
  if (daemon->config.queue_threads > TRELLIS_NFT_QUEUE_TOTAL_MAX
      || (guint) daemon->config.queue_num + daemon->config.queue_threads - 1 > G_MAXUINT16)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "1 to %u queue threads, and queue numbers up to 65535",
                   TRELLIS_NFT_QUEUE_TOTAL_MAX);
      return NULL;
    }
  /* The state directory is trellisd's alone: what is in it about a child
   * is for that child and the parents, through trellisd. */
  if (g_mkdir_with_parents (daemon->config.state_dir, 0700) < 0
      || g_chmod (daemon->config.state_dir, 0700) < 0)
    {
      set_errno_error (error, errno, "cannot create the state directory (mode 0700)");
      return NULL;
    }
  daemon->snapshot = snapshot_load (&daemon->config, daemon->config.household_path,
                                    &daemon->lists_problem, error);
  if (daemon->snapshot == NULL)
    {
      g_autofree char *last_good = last_good_path (&daemon->config);
      g_autoptr(GError) last_error = NULL;

      /* Refused, with its errors; but if the parents' last good file is
       * there, filter by it rather than not at all. */
      if (!g_file_test (last_good, G_FILE_TEST_IS_REGULAR))
        return NULL;
      daemon->snapshot = snapshot_load (&daemon->config, last_good, &daemon->lists_problem, &last_error);
      if (daemon->snapshot == NULL)
        return NULL;
      g_warning ("the household file does not compile; filtering with the last one that did "
                 "(%s) until it is fixed:\n%s",
                 last_good, (*error)->message);
      g_clear_error (error);
      daemon->using_last_good = TRUE;
    }
  return g_steal_pointer (&daemon);
}

gboolean
trellis_daemon_start (TrellisDaemon *daemon, GError **error)
{
  g_autoptr(TrellisNftPlan) plan = NULL;
  int r;

  /* The answerer asks servers from privileged source ports, which children's
   * sockets cannot take; that only holds while unprivileged ports start at
   * 1024 (see answerer.c). */
  {
    g_autofree char *start = NULL;

    if (g_file_get_contents ("/proc/sys/net/ipv4/ip_unprivileged_port_start", &start, NULL, NULL)
        && g_ascii_strtoll (start, NULL, 10) < 1024)
      g_warning ("net.ipv4.ip_unprivileged_port_start is %s: children can bind ports "
                 "below 1024, and a query trellisd passes on may meet one of theirs",
                 g_strstrip (start));
  }

  r = trellis_nft_probe_queue_expr (&daemon->queue_expr);
  if (r < 0)
    return set_errno_error (error, -r, "cannot ask the kernel which queue expression it has");
  g_message ("queueing with %s",
             daemon->queue_expr == TRELLIS_QUEUE_EXPR_NATIVE
               ? "the nft queue expression"
               : "the xtables NFQUEUE target (this kernel has no nft queue expression)");
  /* The plan before the queues: the snapshot learns from it whose answers
   * are read, before a queue thread can look. */
  plan = nft_plan_build (daemon, daemon->snapshot, error);
  if (plan == NULL)
    return FALSE;
  snapshot_learn_uids_set (daemon->snapshot, plan);

  /* The answerer first, so that nothing redirected finds no one there. */
  /* A gateway's answerer listens on every address as well: NAT in
   * prerouting sends a device's blocked query to the address it came in on. */
  daemon->answerer = trellis_answerer_new_full (daemon->config.answer_port,
                                                trellis_policy_get_gateway_interfaces (daemon->snapshot->policy)[0] != NULL,
                                                daemon->flows, answerer_decide, daemon, error);
  if (daemon->answerer == NULL)
    return FALSE;
  if (!queues_start (daemon, daemon->config.queue_threads, error))
    return FALSE;

  r = trellis_nft_apply_plan (plan);
  if (r < 0)
    return set_errno_error (error, -r, "the kernel refused the table");
  daemon->table_applied = TRUE;
  daemon->applied = g_steal_pointer (&plan);
  if (!daemon->using_last_good)
    last_good_save (&daemon->config);
  /* Filtering is in force from here on; the log and the bus come after. */
  if (daemon->config.ready != NULL)
    daemon->config.ready (g_main_context_get_thread_default (), daemon->config.ready_data);

  {
    g_autofree char *path = g_build_filename (daemon->config.state_dir, "events.db", NULL);
    g_autoptr(GError) log_error = NULL;
    gboolean recreated = FALSE;

    daemon->events = trellis_event_log_open_full (path, &recreated, &log_error);
    if (daemon->events == NULL)
      g_warning ("no event log (%s); filtering goes on without one", log_error->message);
    else if (recreated)
      g_warning ("the event log %s was damaged; it was set aside as %s.corrupt-<time> and a new "
                 "one started (the damaged copy is removed after log-retention-days)",
                 path, path);
    events_purge (daemon);
    trellis_grants_load (daemon->grants, daemon->events, daemon->snapshot->policy);
    daemon->purge = g_timeout_source_new_seconds (24 * 3600);
    g_source_set_callback (daemon->purge, events_purge, daemon, NULL);
    g_source_attach (daemon->purge, g_main_context_get_thread_default ());
  }

  if (!net_start (daemon, error))
    return FALSE;

  /* Lookups that never reach port 53 (libnss_trellis): without the
   * socket, the module lets the kernel decide, and filtering goes on. */
  if (daemon->config.runtime_dir != NULL)
    {
      g_autoptr(GError) nss_error = NULL;

      daemon->nss = trellis_nss_server_new (daemon->config.runtime_dir, nss_decide, daemon, &nss_error);
      if (daemon->nss == NULL)
        g_warning ("no socket for the NSS module (%s): lookups through nss-resolve are "
                   "decided by the kernel alone",
                   nss_error->message);
    }

  daemon->expire = g_timeout_source_new_seconds (10);
  g_source_set_callback (daemon->expire, flows_expire, daemon, NULL);
  g_source_attach (daemon->expire, g_main_context_get_thread_default ());

  /* The passwd database: an account added after start is protected from
   * the moment it exists, without a restart or an apply. */
  accounts_watch_start (daemon);
  /* The updater's folder: what it compiles goes in force without a signal. */
  lists_watch_start (daemon);
  {
    TrellisListsIndex *lists = trellis_policy_get_lists (daemon->snapshot->policy);

    if (daemon->lists_problem != NULL)
      g_warning ("the updater's newest lists are not in force: %s", daemon->lists_problem);
    if (lists != NULL)
      g_message ("lists of generation %" G_GUINT64_FORMAT " in force (compiled by the updater)",
                 trellis_lists_index_get_generation (lists));
    else
      g_message ("the shipped lists are in force (the updater has compiled none)");
  }

  /* The system bus, for trellis and the session agents.  Filtering does not
   * depend on it: without a bus (with DefaultDependencies=no it may come
   * later), trellisd filters, says so, and connects when it appears. */
  bus_connect (daemon);
  {
    /* Wait (a little) for the name, so that "ready" means reachable. */
    gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
    GSource *tick = g_timeout_source_new (50); /* wakes the wait below */

    g_source_set_dummy_callback (tick);
    g_source_attach (tick, NULL);
    while ((daemon->bus_connecting
            || (daemon->dbus != NULL && !trellis_dbus_service_has_name (daemon->dbus)))
           && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
    g_source_destroy (tick);
    g_source_unref (tick);
    if (daemon->dbus != NULL && !trellis_dbus_service_has_name (daemon->dbus))
      g_warning ("the bus has not given us the name org.trellis.Trellis1 (yet)");
  }

  {
    g_autofree char *queues = daemon->config.queue_threads > 1
                                ? g_strdup_printf ("queues %u-%u, a thread each",
                                                   daemon->config.queue_num,
                                                   daemon->config.queue_num + daemon->config.queue_threads - 1)
                                : g_strdup_printf ("queue %u", daemon->config.queue_num);

    g_message ("protecting %u account(s); %s, answerer on port %u, on-failure=%s",
               daemon->snapshot->uids->len, queues,
               daemon->config.answer_port,
               trellis_policy_get_on_failure_open (daemon->snapshot->policy) ? "open" : "closed");
  }
  return TRUE;
}

/* Puts @next in force; returns the snapshot it replaces (transfer full). */
static Snapshot *
snapshot_swap (TrellisDaemon *daemon, Snapshot *next)
{
  Snapshot *old;

  g_mutex_lock (&daemon->lock);
  old = daemon->snapshot;
  daemon->snapshot = next;
  g_atomic_int_inc (&daemon->snapshot_generation);
  g_mutex_unlock (&daemon->lock);
  return old;
}

/* Brings the kernel to @plan with as little as it takes: nothing when it
 * is already there; only set elements when the chains stay the same (a
 * chain replaced would drop the packets waiting in the queue at that
 * instant); the whole table otherwise.  Each is one transaction.
 * Returns: 1 when the whole table was replaced, 0, or -errno. */
static int
kernel_update (TrellisDaemon *daemon, const TrellisNftPlan *plan)
{
  const TrellisNftPlan *applied = daemon->applied;
  gboolean same_sets = TRUE;

  if (applied == NULL || !trellis_nft_plan_same_shape (applied, plan))
    {
      int r = trellis_nft_apply_plan (plan);

      return r < 0 ? r : 1;
    }
  for (size_t i = 0; i < plan->n_sets; i++)
    same_sets = same_sets && trellis_nft_set_same_elements (&applied->sets[i], &plan->sets[i]);
  return same_sets ? 0 : trellis_nft_update_sets (plan);
}

/* What a reload computes off the main thread: the new snapshot and plan.
 * A reload reads the household file again; an accounts refresh resolves
 * the accounts of the policy in force again (the passwd database
 * changed), and has nothing to do (@next NULL) when every account has the
 * uid it had. */
typedef struct {
  gboolean accounts_only;
  Snapshot *next;       /* (owned) (nullable) */
  TrellisNftPlan *plan; /* (owned) (nullable) */
  char *lists_problem;  /* (owned) (nullable) */
} Reload;

static void
reload_free (Reload *r)
{
  if (r->next != NULL)
    snapshot_release (r->next);
  g_clear_pointer (&r->plan, trellis_nft_plan_free);
  g_free (r->lists_problem);
  g_free (r);
}

/* In a worker thread: compile the household (or resolve the accounts) and
 * plan the kernel.  This is the slow part (reading lists, writing the
 * index, syncing files, asking NSS), and the main thread keeps answering
 * queries meanwhile.  Jobs run one at a time, so the snapshot in force is
 * not replaced under an accounts refresh. */
static void
reload_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TrellisDaemon *daemon = g_object_get_data (G_OBJECT (task), "daemon");
  g_autoptr(GError) error = NULL;
  Reload *r = g_new0 (Reload, 1);

  r->accounts_only = GPOINTER_TO_INT (task_data);
  if (r->accounts_only)
    {
      g_autoptr(Snapshot) current = snapshot_acquire (daemon);

      r->next = snapshot_resolve (current->policy, TRUE, &error);
      if (r->next != NULL && snapshot_same_accounts (current, r->next))
        {
          g_clear_pointer (&r->next, snapshot_release);
          g_task_return_pointer (task, r, (GDestroyNotify) reload_free);
          return;
        }
    }
  else
    r->next = snapshot_load (&daemon->config, daemon->config.household_path, &r->lists_problem, &error);
  if (r->next != NULL && daemon->table_applied)
    {
      r->plan = nft_plan_build (daemon, r->next, &error);
      /* not in force yet: the queue threads cannot see it */
      if (r->plan != NULL)
        snapshot_learn_uids_set (r->next, r->plan);
    }
  if (r->next == NULL || (daemon->table_applied && r->plan == NULL))
    {
      reload_free (r);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!r->accounts_only)
    last_good_save (&daemon->config);
  g_task_return_pointer (task, r, (GDestroyNotify) reload_free);
}

/* On the main thread: put the new policy in force in one step. */
static void lists_report (TrellisDaemon *daemon, const char *problem);
static void lists_update_start (TrellisDaemon *daemon);

static gboolean
reload_finish (TrellisDaemon *daemon, Reload *r, GError **error)
{
  Snapshot *old;
  int ret;
  gboolean lists_changed = FALSE, sources_changed = FALSE;

  if (r->next == NULL)
    return TRUE; /* an accounts refresh that changed nothing */
  if (!r->accounts_only)
    {
      TrellisListsIndex *was = trellis_policy_get_lists (daemon->snapshot->policy);
      TrellisListsIndex *now = trellis_policy_get_lists (r->next->policy);
      g_autofree char *sources_before = sources_key (daemon->snapshot->policy);
      g_autofree char *sources_now = sources_key (r->next->policy);

      lists_changed = (was == NULL) != (now == NULL)
                      || (now != NULL && trellis_lists_index_get_generation (now) != trellis_lists_index_get_generation (was));
      sources_changed = strcmp (sources_before, sources_now) != 0;
    }
  /* The new decisions first: a child added now is decided by the new policy
   * from their first queued packet on; a child removed is no longer queued
   * once the kernel follows, and until then is let through as not ours. */
  old = snapshot_swap (daemon, g_steal_pointer (&r->next));
  if (r->plan != NULL)
    {
      ret = kernel_update (daemon, r->plan);
      if (ret < 0)
        {
          snapshot_release (snapshot_swap (daemon, old));
          return set_errno_error (error, -ret,
                                  "the kernel refused the new table; the old policy stays");
        }
      if (ret == 1 && daemon->net != NULL)
        trellis_net_policy_table_replaced (daemon->net);
      g_clear_pointer (&daemon->applied, trellis_nft_plan_free);
      daemon->applied = g_steal_pointer (&r->plan);
    }
  snapshot_release (old);
  if (daemon->net != NULL)
    {
      trellis_net_policy_set_doh_names (daemon->net, trellis_policy_get_doh_names (daemon->snapshot->policy));
      quiet_timer_arm (daemon);
    }
  if (r->accounts_only)
    {
      g_message ("the accounts changed: protecting %u account(s)", daemon->snapshot->uids->len);
      return TRUE;
    }
  daemon->using_last_good = FALSE;
  lists_report (daemon, r->lists_problem);
  if (lists_changed)
    {
      TrellisListsIndex *lists = trellis_policy_get_lists (daemon->snapshot->policy);

      if (lists != NULL)
        g_message ("lists of generation %" G_GUINT64_FORMAT " in force (compiled by the updater)",
                   trellis_lists_index_get_generation (lists));
      else
        g_message ("the shipped lists are in force");
    }
  g_message ("household reloaded: protecting %u account(s)", daemon->snapshot->uids->len);
  /* The household chose other published lists: fetch them now, not at
   * the next timer. */
  if (sources_changed)
    lists_update_start (daemon);
  return TRUE;
}

static void reload_start (TrellisDaemon *daemon, gboolean accounts_only);
static void lists_answer_waiters (TrellisDaemon *daemon);

/* The waiters of the file reload that just ended, told how it went.  A
 * waiter may ask for another reload: it then waits for the next one. */
static void
reload_waiters_tell (TrellisDaemon *daemon, const GError *error)
{
  g_autoptr(GArray) waiters = daemon->reload_waiters;

  daemon->reload_waiters = g_array_new (FALSE, FALSE, sizeof (ReloadWaiter));
  for (guint i = 0; i < waiters->len; i++)
    {
      const ReloadWaiter *w = &g_array_index (waiters, ReloadWaiter, i);

      w->done (error, w->user_data);
    }
}

static void
reload_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  g_autoptr(GError) error = NULL;
  gboolean accounts_only = GPOINTER_TO_INT (g_task_get_task_data (G_TASK (result)));
  guint64 seq = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (result), "seq"));
  Reload *r = g_task_propagate_pointer (G_TASK (result), &error);

  daemon->reloading = FALSE;
  if (r == NULL || !reload_finish (daemon, r, &error))
    {
      if (accounts_only)
        g_warning ("the accounts were not resolved again, the ones in force stay:\n%s",
                   error->message);
      else
        g_warning ("household not reloaded, the policy in force stays:\n%s", error->message);
    }
  if (r != NULL)
    reload_free (r);
  /* An update's callers hear back once what it compiled is in force. */
  if (!accounts_only && daemon->answer_after != 0 && seq >= daemon->answer_after)
    lists_answer_waiters (daemon);
  if (!accounts_only)
    reload_waiters_tell (daemon, error);
  /* A reload resolves the accounts too. */
  if (daemon->reload_again)
    {
      GArray *next = daemon->reload_waiters_next;

      daemon->reload_again = daemon->accounts_again = FALSE;
      daemon->reload_waiters_next = daemon->reload_waiters;
      daemon->reload_waiters = next;
      reload_start (daemon, FALSE);
    }
  else if (daemon->accounts_again)
    {
      daemon->accounts_again = FALSE;
      reload_start (daemon, TRUE);
    }
}

static void
reload_start (TrellisDaemon *daemon, gboolean accounts_only)
{
  g_autoptr(GTask) task = NULL;

  if (daemon->reloading)
    {
      /* The file (or the passwd database) changed again while we read it:
       * read it once more after. */
      if (accounts_only)
        daemon->accounts_again = TRUE;
      else
        daemon->reload_again = TRUE;
      return;
    }
  daemon->reloading = TRUE;
  if (!accounts_only)
    daemon->reload_seq++;
  task = g_task_new (NULL, NULL, reload_done, daemon);
  g_object_set_data (G_OBJECT (task), "seq", GSIZE_TO_POINTER (daemon->reload_seq));
  g_task_set_source_tag (task, reload_start);
  g_task_set_task_data (task, GINT_TO_POINTER (accounts_only), NULL);
  /* The daemon is no GObject: it rides on the task. */
  g_object_set_data (G_OBJECT (task), "daemon", daemon);
  g_task_run_in_thread (task, reload_thread);
}

void
trellis_daemon_reload (TrellisDaemon *daemon)
{
  reload_start (daemon, FALSE);
}

/* A reload that reads the file as it is after this call, and @done when
 * it ends: the one being compiled may have read it before. */
static void
daemon_reload_then (TrellisDaemon *daemon,
                    void (*done) (const GError *error, gpointer user_data),
                    gpointer user_data)
{
  ReloadWaiter w = { done, user_data };

  if (daemon->reloading)
    {
      g_array_append_val (daemon->reload_waiters_next, w);
      daemon->reload_again = TRUE;
      return;
    }
  g_array_append_val (daemon->reload_waiters, w);
  reload_start (daemon, FALSE);
}

void
trellis_daemon_refresh_accounts (TrellisDaemon *daemon)
{
  reload_start (daemon, TRUE);
}

/* ---- the published lists ----------------------------------------------------- */

#define LISTS_SETTLE_MS       50 /* the updater writes the manifest last, in one rename */
#define LISTS_RECHECK_SECONDS 60 /* a folder that appears later, a missed event */
#define SYSTEMD_RUNNING       "/run/systemd/system"

typedef struct {
  TrellisDaemonUpdateDone done;
  gpointer user_data;
} UpdateWaiter;

/* Why the updater's newest lists are not in force; (transfer full) (nullable). */
static char *
lists_problem_get (TrellisDaemon *daemon)
{
  char *problem;

  g_mutex_lock (&daemon->lock);
  problem = g_strdup (daemon->lists_problem);
  g_mutex_unlock (&daemon->lock);
  return problem;
}

/* GetLists: the lists @policy decides with, and how their updates went. */
static GVariant *
backend_lists_get (gpointer data,
                   TrellisPolicy *policy)
{
  TrellisDaemon *daemon = data;
  g_autofree char *problem = lists_problem_get (daemon);

  return g_variant_ref_sink (trellis_list_updates_describe (policy, daemon->config.lists_dir, problem,
                                                            daemon->updater != NULL));
}

/* Logs a new reason (or its end) once. */
static void
lists_report (TrellisDaemon *daemon, const char *problem)
{
  g_mutex_lock (&daemon->lock);
  if (g_strcmp0 (problem, daemon->lists_problem) != 0)
    {
      if (problem != NULL)
        g_warning ("the updater's newest lists are not in force: %s", problem);
      g_free (daemon->lists_problem);
      daemon->lists_problem = g_strdup (problem);
    }
  g_mutex_unlock (&daemon->lock);
}

static void
lists_answer_waiters (TrellisDaemon *daemon)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&daemon->update_waiters);

  daemon->update_waiters = g_ptr_array_new_with_free_func (g_free);
  daemon->answer_after = 0;
  for (guint i = 0; i < waiters->len; i++)
    {
      UpdateWaiter *w = waiters->pdata[i];

      w->done (daemon->update_status, daemon->update_output != NULL ? daemon->update_output : "",
               NULL, w->user_data);
    }
}

static void
lists_update_done (int status, const char *output, gpointer user_data)
{
  TrellisDaemon *daemon = user_data;
  g_autofree char *last = g_strstrip (g_strdup (output));
  char *nl;

  g_clear_pointer (&daemon->updater, trellis_list_updater_free);
  daemon->update_status = status;
  g_free (daemon->update_output);
  daemon->update_output = g_strdup (output);
  /* Its last line says what it did; the details are in trellis lists. */
  nl = strrchr (last, '\n');
  if (status == 0 || status == 1)
    g_message ("list update done (exit %d): %s", status, nl != NULL ? nl + 1 : last);
  else
    g_warning ("list update failed (exit %d): %s", status, last);
  /* What it compiled goes in force with the next reload; callers hear
   * back after that one. */
  daemon->answer_after = daemon->reload_seq + 1;
  reload_start (daemon, FALSE);
}

static void
lists_update_start (TrellisDaemon *daemon)
{
  g_autoptr(GError) error = NULL;
  TrellisListUpdaterOptions options = {
    .updater = daemon->config.updater != NULL ? daemon->config.updater
                                              : TRELLIS_LIBEXECDIR "/trellis-lists-update",
    .lists_dir = daemon->config.lists_dir,
    .data_dir = daemon->config.data_dir,
    .config = daemon->config.updater_config,
    .household_path = daemon->config.household_path,
    .state_dir = daemon->config.state_dir,
    .use_systemd = daemon->config.updater == NULL && g_file_test (SYSTEMD_RUNNING, G_FILE_TEST_IS_DIR),
  };

  if (daemon->updater != NULL)
    return; /* one run at a time; its callers are answered together */
  g_message ("list update started%s", options.use_systemd ? " (asked trellis-lists-update.path)" : "");
  daemon->updater = trellis_list_updater_start (&options, lists_update_done, daemon, &error);
  if (daemon->updater == NULL)
    {
      g_warning ("cannot run the list updater: %s", error->message);
      daemon->update_status = -1;
      g_free (daemon->update_output);
      daemon->update_output = g_strdup (error->message);
      lists_answer_waiters (daemon);
    }
}

void
trellis_daemon_update_lists (TrellisDaemon *daemon,
                             TrellisDaemonUpdateDone done,
                             gpointer user_data)
{
  UpdateWaiter *w = g_new0 (UpdateWaiter, 1);

  w->done = done;
  w->user_data = user_data;
  g_ptr_array_add (daemon->update_waiters, w);
  /* A run already going on: this call waits for it (answer_after, set
   * when it ends, covers every waiter). */
  if (daemon->updater == NULL && daemon->answer_after == 0)
    lists_update_start (daemon);
}

typedef struct {
  TrellisDBusReplyFunc reply;
  gpointer reply_data;
} UpdateCall;

static void
update_call_done (int status, const char *output, GError *error, gpointer user_data)
{
  g_autofree UpdateCall *call = user_data;

  if (error != NULL)
    call->reply (NULL, error, call->reply_data);
  else
    call->reply (g_variant_ref_sink (g_variant_new ("(is)", status, output)), NULL, call->reply_data);
}

/* UpdateLists: the run's words once what it compiled is in force. */
static void
backend_update_lists (gpointer data,
                      TrellisDBusReplyFunc reply,
                      gpointer reply_data)
{
  UpdateCall *call = g_new0 (UpdateCall, 1);

  call->reply = reply;
  call->reply_data = reply_data;
  trellis_daemon_update_lists (data, update_call_done, call);
}

/* The manifest's identity as the file system sees it: changes with every
 * rename the updater makes. */
static char *
lists_manifest_seen (TrellisDaemon *daemon)
{
  g_autofree char *path = g_build_filename (daemon->config.lists_dir, "manifest", NULL);
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return NULL;
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                          (guint64) st.st_ino, (gint64) st.st_mtime, (gint64) st.st_size);
}

static gboolean
lists_settled (gpointer user_data)
{
  TrellisDaemon *daemon = user_data;

  g_clear_pointer (&daemon->lists_settle, g_source_unref);
  g_debug ("the updater's manifest changed: reloading");
  reload_start (daemon, FALSE);
  return G_SOURCE_REMOVE;
}

static void lists_watch_ensure (TrellisDaemon *daemon);

/* A reload when the updater wrote a new manifest. */
static void
lists_check (TrellisDaemon *daemon)
{
  g_autofree char *seen = lists_manifest_seen (daemon);

  lists_watch_ensure (daemon);
  if (g_strcmp0 (seen, daemon->lists_seen) == 0 || daemon->lists_settle != NULL)
    return;
  g_free (daemon->lists_seen);
  daemon->lists_seen = g_steal_pointer (&seen);
  daemon->lists_settle = g_timeout_source_new (LISTS_SETTLE_MS);
  g_source_set_callback (daemon->lists_settle, lists_settled, daemon, NULL);
  g_source_attach (daemon->lists_settle, NULL);
}

static void
lists_changed (GFileMonitor *monitor,
               GFile *file,
               GFile *other,
               GFileMonitorEvent event,
               gpointer user_data)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *other_name = other != NULL ? g_file_get_basename (other) : NULL;

  if (g_strcmp0 (name, "manifest") == 0 || g_strcmp0 (other_name, "manifest") == 0)
    lists_check (user_data);
}

static gboolean
lists_recheck (gpointer user_data)
{
  lists_check (user_data);
  return G_SOURCE_CONTINUE;
}

/* Watches the lists folder once it exists. */
static void
lists_watch_ensure (TrellisDaemon *daemon)
{
  g_autoptr(GFile) dir = NULL;
  g_autoptr(GError) error = NULL;

  if (daemon->lists_monitor != NULL || !g_file_test (daemon->config.lists_dir, G_FILE_TEST_IS_DIR))
    return;
  dir = g_file_new_for_path (daemon->config.lists_dir);
  daemon->lists_monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
  if (daemon->lists_monitor == NULL)
    {
      g_debug ("cannot watch %s (%s): looking every %d s", daemon->config.lists_dir, error->message,
               LISTS_RECHECK_SECONDS);
      return;
    }
  g_signal_connect (daemon->lists_monitor, "changed", G_CALLBACK (lists_changed), daemon);
}

static void
lists_watch_start (TrellisDaemon *daemon)
{
  daemon->lists_seen = lists_manifest_seen (daemon);
  lists_watch_ensure (daemon);
  daemon->lists_timer = g_timeout_source_new_seconds (LISTS_RECHECK_SECONDS);
  g_source_set_callback (daemon->lists_timer, lists_recheck, daemon, NULL);
  g_source_attach (daemon->lists_timer, NULL);
}

static void
lists_watch_stop (TrellisDaemon *daemon)
{
  if (daemon->lists_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (daemon->lists_monitor, daemon);
      g_file_monitor_cancel (daemon->lists_monitor);
      g_clear_object (&daemon->lists_monitor);
    }
  if (daemon->lists_settle != NULL)
    {
      g_source_destroy (daemon->lists_settle);
      g_clear_pointer (&daemon->lists_settle, g_source_unref);
    }
  if (daemon->lists_timer != NULL)
    {
      g_source_destroy (daemon->lists_timer);
      g_clear_pointer (&daemon->lists_timer, g_source_unref);
    }
}

void
trellis_daemon_stop (TrellisDaemon *daemon)
{
  int r;

  /* A reload being compiled reads the daemon's config: let it end. */
  while (daemon->reloading)
    g_main_context_iteration (NULL, TRUE);

  /* The NSS module's socket: without it the module asks the kernel. */
  g_clear_pointer (&daemon->nss, trellis_nss_server_free);
  /* The table's guard first: removing the table ourselves is no damage. */
  net_stop (daemon);
  /* The table first: with it gone nothing is queued, so letting the queue
   * go after cannot drop a child's query. */
  if (daemon->table_applied)
    {
      r = trellis_nft_delete_table (daemon->config.table);
      if (r < 0)
        g_warning ("cannot remove table inet %s: %s", daemon->config.table, g_strerror (-r));
      daemon->table_applied = FALSE;
    }
  queues_free (daemon);
  g_clear_pointer (&daemon->answerer, trellis_answerer_free);
  if (daemon->expire != NULL)
    {
      g_source_destroy (daemon->expire);
      g_clear_pointer (&daemon->expire, g_source_unref);
    }
  if (daemon->purge != NULL)
    {
      g_source_destroy (daemon->purge);
      g_clear_pointer (&daemon->purge, g_source_unref);
    }
  accounts_watch_stop (daemon);
  lists_watch_stop (daemon);
  /* A run going on is left to end; nobody waits for it now. */
  g_clear_pointer (&daemon->updater, trellis_list_updater_free);
  bus_disconnect (daemon);
  /* Commits what is queued. */
  g_clear_pointer (&daemon->events, trellis_event_log_free);
}

void
trellis_daemon_stop_for_restart (TrellisDaemon *daemon)
{
  /* Not ours to remove any more: the next trellisd's. */
  daemon->table_applied = FALSE;
  trellis_daemon_stop (daemon);
}

void
trellis_daemon_free (TrellisDaemon *daemon)
{
  if (daemon == NULL)
    return;
  g_clear_pointer (&daemon->nss, trellis_nss_server_free);
  net_stop (daemon);
  queues_free (daemon);
  g_clear_pointer (&daemon->answerer, trellis_answerer_free);
  if (daemon->expire != NULL)
    {
      g_source_destroy (daemon->expire);
      g_source_unref (daemon->expire);
    }
  if (daemon->snapshot != NULL)
    snapshot_release (daemon->snapshot);
  g_clear_pointer (&daemon->applied, trellis_nft_plan_free);
  if (daemon->purge != NULL)
    {
      g_source_destroy (daemon->purge);
      g_source_unref (daemon->purge);
    }
  accounts_watch_stop (daemon);
  lists_watch_stop (daemon);
  bus_disconnect (daemon);
  {
    g_autoptr(GError) stopping = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                       "trellisd is stopping");

    reload_waiters_tell (daemon, stopping);
    g_array_append_vals (daemon->reload_waiters, daemon->reload_waiters_next->data,
                         daemon->reload_waiters_next->len);
    reload_waiters_tell (daemon, stopping);
    g_array_unref (daemon->reload_waiters);
    g_array_unref (daemon->reload_waiters_next);
  }
  g_clear_object (&daemon->bus_cancellable);
  g_clear_pointer (&daemon->events, trellis_event_log_free);
  trellis_grants_free (daemon->grants);
  g_hash_table_unref (daemon->signal_last);
  g_mutex_clear (&daemon->signal_lock);
  trellis_flow_table_free (daemon->flows);
  g_mutex_clear (&daemon->lock);
  g_mutex_clear (&daemon->edit_lock);
  g_free (daemon->config.household_path);
  g_free (daemon->config.state_dir);
  g_free (daemon->config.data_dir);
  g_free (daemon->config.table);
  g_free (daemon->config.lists_dir);
  g_free (daemon->config.updater);
  g_free (daemon->config.updater_config);
  g_free (daemon->lists_problem);
  g_free (daemon->update_output);
  g_free (daemon->lists_seen);
  g_clear_pointer (&daemon->updater, trellis_list_updater_free);
  for (guint i = 0; daemon->update_waiters != NULL && i < daemon->update_waiters->len; i++)
    {
      UpdateWaiter *w = daemon->update_waiters->pdata[i];

      w->done (-1, NULL, g_error_new_literal (TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED, "The service is shutting down."),
               w->user_data);
    }
  g_clear_pointer (&daemon->update_waiters, g_ptr_array_unref);
  g_strfreev (daemon->config.resolvers);
  g_free (daemon->config.runtime_dir);
  g_free (daemon);
}
