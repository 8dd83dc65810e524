/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellisd-private.h — the daemon's context, shared by trellisd.c and the
 * D-Bus backend (dbus-backend.c), and by nothing else.
 */
#pragma once

#include <gio/gio.h>

#include "daemon/answerer.h"
#include "daemon/dbus-service.h"
#include "daemon/event-log.h"
#include "daemon/flows.h"
#include "daemon/net-policy.h"
#include "daemon/queue.h"
#include "daemon/trellisd.h"
#include "policy/nft-plan.h"
#include "policy/trellis-policy.h"

G_BEGIN_DECLS

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

/* A parent's temporary grant: @domain and the names below it, until @until. */
typedef struct {
  char *domain; /* (owned) normalized */
  gint64 until; /* unix seconds */
} Grant;

struct _TrellisDaemon {
  TrellisDaemonConfig config;
  TrellisQueueExpr queue_expr;

  GMutex lock;              /* protects snapshot */
  Snapshot *snapshot;       /* (owned) an rc box */
  gint snapshot_generation; /* atomic: bumped by each swap, so that
                                    * the queue threads, which keep a reference
                                    * of their own, know to take the new one */

  GMutex signal_lock;      /* protects signal_last, signal_window */
  GHashTable *signal_last; /* (owned) "child\nname" → gint64* last signalled (usec) */
  gint64 signal_window;    /* start of the current second (usec) */
  guint signal_count;      /* signals sent in it */

  GMutex grants_lock; /* protects grants and pauses */
  GHashTable *grants; /* (owned) child name → GPtrArray of Grant */
  GHashTable *pauses; /* (owned) child name → gint64* until */

  TrellisFlowTable *flows;       /* (owned) */
  TrellisEventLog *events;       /* (owned) (nullable) the filter works without it */
  GSource *purge;                /* (owned) (nullable) daily retention */
  TrellisAnswerer *answerer;     /* (owned) (nullable) */
  GPtrArray *queues;             /* (owned) (nullable) QueueWorker*: one thread
                                    * per queue, from config.queue_num on */
  GSource *expire;               /* (owned) (nullable) */
  GDBusConnection *bus;          /* (owned) (nullable) the system bus, our own connection */
  TrellisDBusService *dbus;      /* (owned) (nullable) set and read atomically: other
                                    * threads only look whether there is one */
  GCancellable *bus_cancellable; /* (owned) cancelled when stopping */
  GSource *bus_retry;            /* (owned) (nullable) the next try to connect */
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
  gboolean using_last_good;

  guint64 n_malformed;      /* atomic: malformed queries dropped */
  guint64 n_malformed_told; /* the main loop's: as many logged */

  gint64 clock_offset_us;          /* the daemon's clock less the real one (tests) */
  TrellisNetPolicy *net;           /* (owned) (nullable) */
  GSource *quiet_timer;            /* (owned) (nullable) the next local midnight or change of offset */
  GFileMonitor *localtime_monitor; /* (owned) (nullable) */
  guint n_repairs;
};

/** trellis_daemon_now_us: the daemon's clock (real time, or a test's fake one), unix µs. */
gint64 trellis_daemon_now_us (TrellisDaemon *daemon);

/**
 * trellis_daemon_pause_changed:
 * A parent paused @child until @until (unix seconds; past: resumed): the
 * kernel's network policy follows.
 */
void trellis_daemon_pause_changed (TrellisDaemon *daemon,
                                   const char *child,
                                   gint64 until);

Snapshot *snapshot_acquire (TrellisDaemon *daemon);
void snapshot_release (Snapshot *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Snapshot, snapshot_release)

/**
 * trellis_daemon_decide_child:
 * Decides @qname for @child now, as a query would be: the policy, then a
 * pause or a grant that lifts a block.  @record: write a block to the
 * event log and signal it.  Fills @ret_decision (nullable) and @ret_answer.
 */
void trellis_daemon_decide_child (TrellisDaemon *daemon,
                                  Snapshot *s,
                                  const TrellisChild *child,
                                  const char *qname,
                                  gboolean record,
                                  TrellisDecision *ret_decision,
                                  TrellisAnswer *ret_answer);

/*
 * The queue threads' judging, without a queue: for the bench of the
 * daemon's own path (bench/queue-path-bench) and the tests.  A judge has
 * the state of one queue thread (its snapshot, its time, its raw sockets)
 * and must be used from one thread at a time.
 */
typedef struct _TrellisDaemonJudge TrellisDaemonJudge;

/** trellis_daemon_judge_new: a judge for @daemon (which need not be started). */
TrellisDaemonJudge *trellis_daemon_judge_new (TrellisDaemon *daemon);

/**
 * trellis_daemon_judge_run:
 * Judges @packets as the queue's handler does, answers included (blocked
 * UDP is answered in the server's name on a raw socket, where it can be
 * opened), and writes their verdicts.
 */
void trellis_daemon_judge_run (TrellisDaemonJudge *judge,
                               const TrellisQueuePacket *const *packets,
                               guint n_packets,
                               TrellisQueueVerdict *ret_verdicts);
void trellis_daemon_judge_free (TrellisDaemonJudge *judge);

/** trellis_daemon_grants_load: reads active grants and pauses from the event log. */
void trellis_daemon_grants_load (TrellisDaemon *daemon);

/** trellis_dbus_backend: the daemon's side of the D-Bus service. */
extern const TrellisDBusBackend trellis_dbus_backend;

G_END_DECLS
