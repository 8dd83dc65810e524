/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellisd.h — the daemon's context: the policy in force, the kernel table,
 * the queue and the answerer, tied together on one GLib main loop.
 */
#pragma once

#include <glib.h>

#include "daemon/nft.h"

G_BEGIN_DECLS

typedef struct {
  char *household_path; /* (owned) */
  char *state_dir;      /* (owned) */
  char *data_dir;       /* (owned) (nullable) shipped data; NULL: built-in */
  char *table;          /* (owned) nft table name, family inet */
  char *lists_dir;      /* (owned) (nullable) the list updater's folder; NULL: the built-in one */
  char *updater;        /* (owned) (nullable) the list updater to run; NULL: the installed
                              * one, through systemd when systemd is PID 1 */
  char *updater_config; /* (owned) (nullable) its configuration file */
  guint16 queue_num;
  guint16 answer_port;
  guint32 mark;
  /* (nullable) Called once, when the table and the queue are in place:
   * filtering is in force.  @verdicts is the context of the thread that
   * gives the queue's verdicts (main.c tells systemd READY=1 and keeps its
   * watchdog there). */
  void (*ready) (GMainContext *verdicts, gpointer user_data);
  gpointer ready_data;
  guint16 answers_queue_num; /* 0: queue_num + 1 */
  gint64 fake_time;          /* tests: unix seconds the daemon's clock starts at; 0: the real clock */
  guint learn_ttl_min;       /* seconds; 0: 120 */
  guint learn_ttl_max;       /* seconds; 0: 21600 */
  char **resolvers;          /* (owned) (nullable) servers for the DoH endpoints; NULL: resolv.conf */
  char *runtime_dir;         /* (owned) (nullable) the NSS module's socket's folder; NULL: none */
} TrellisDaemonConfig;

typedef struct _TrellisDaemon TrellisDaemon;

/**
 * trellis_daemon_new:
 * Loads the household; fails with its errors when it does not compile.
 * Touches neither the kernel nor the network.  @config is copied.
 */
TrellisDaemon *trellis_daemon_new (const TrellisDaemonConfig *config,
                                   GError **error);

/**
 * trellis_daemon_start:
 * Binds the answerer and the queue, then replaces the kernel table in one
 * transaction.  After a crash the old table is still there: taking the queue
 * back resumes filtering, and the replacement leaves no moment unfiltered.
 */
gboolean trellis_daemon_start (TrellisDaemon *daemon,
                               GError **error);

/**
 * trellis_daemon_reload:
 * Reads the household file again, compiling it in a worker thread while
 * the main loop keeps answering, then puts it in force in one step and
 * logs "household reloaded".  A file that does not compile, or a table the
 * kernel refuses, changes nothing: the policy in force stays, and the
 * errors are logged.  A reload asked for during another runs after it.
 */
void trellis_daemon_reload (TrellisDaemon *daemon);

/**
 * trellis_daemon_refresh_accounts:
 * Resolves the accounts of the policy in force again (the passwd database
 * changed; trellisd watches it itself), in a worker thread, and puts the
 * result in force as a reload does: an account that appeared is protected,
 * one that went is no longer queued.  Nothing changes when every account
 * has the uid it had.
 */
void trellis_daemon_refresh_accounts (TrellisDaemon *daemon);

/* How an UpdateLists call ends: the updater's exit status and words, or
 * (transfer full) @error when the daemon stops before the run is in force. */
typedef void (*TrellisDaemonUpdateDone) (int status,
                                         const char *output,
                                         GError *error,
                                         gpointer user_data);

/**
 * trellis_daemon_update_lists:
 * Runs the list updater (one run at a time: a call during a run waits for
 * it), then puts what it compiled in force, and then calls @done once on
 * the main context (or from trellis_daemon_free(), with an error).
 */
void trellis_daemon_update_lists (TrellisDaemon *daemon,
                                  TrellisDaemonUpdateDone done,
                                  gpointer user_data);

/** trellis_daemon_stop: removes the kernel table and lets the queue go. */
void trellis_daemon_stop (TrellisDaemon *daemon);

/**
 * trellis_daemon_stop_for_restart:
 * Lets the queue go but leaves the kernel table, for the trellisd that
 * follows (an upgrade): it takes the queue back and replaces the table in
 * one transaction, so the table is never gone; meanwhile the children's
 * lookups do what on-failure= says, as after a crash.
 */
void trellis_daemon_stop_for_restart (TrellisDaemon *daemon);

void trellis_daemon_free (TrellisDaemon *daemon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisDaemon, trellis_daemon_free)

G_END_DECLS
