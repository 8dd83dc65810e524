/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * event-log.h — trellisd's record of BLOCKED queries, children's review
 * requests, parents' pauses: one SQLite database (WAL) under
 * /var/lib/trellis (GC25 §55/69/72/75/76/77).
 *
 * Allowed lookups are never stored; helplines never reach this file.
 *
 * Blocked events are batched: trellis_event_log_add_blocked() copies the
 * event into a bounded in-memory queue and returns at once; it never waits
 * on the disk.  A writer thread commits the queue in one transaction every
 * second or as soon as TRELLIS_EVENT_LOG_BATCH events wait, whichever comes
 * first.  Beyond TRELLIS_EVENT_LOG_QUEUE_MAX waiting events, new events are
 * counted as dropped.  A failed commit (disk full, I/O error) drops its
 * batch: the events are counted as lost, the failure as a write error, and
 * the error is kept for trellis_event_log_get_last_error(); the next batch
 * tries again.  Nothing is deduplicated or coalesced: every block is a row
 * (the queue bound is what caps a flood).
 *
 * Reads see committed rows only: an event shows up in trellis_event_log_list()
 * within a second of add_blocked(), or at once after trellis_event_log_flush().
 * trellis_event_log_clear() flushes first, so an event queued before the
 * clear cannot reappear after it.
 *
 * Files: the database is created mode 0600 (an existing file with looser
 * permissions is tightened to 0600; SQLite gives its -wal and -shm files the
 * database's mode).  A missing parent directory is created mode 0700; an
 * existing parent directory that group or others may write is refused
 * (TRELLIS_EVENT_LOG_ERROR_PERMISSION): someone else could swap the file.
 * A database that is not a database or is malformed is renamed to
 * PATH.corrupt-<unix time> (with its -wal) and a new one is started;
 * trellis_event_log_open_full() reports that so the daemon can log it.
 *
 * Every function is thread-safe.  None logs.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRELLIS_EVENT_LOG_ERROR (trellis_event_log_error_quark ())
GQuark trellis_event_log_error_quark (void);

typedef enum {
  TRELLIS_EVENT_LOG_ERROR_FAILED,       /* anything else SQLite reports */
  TRELLIS_EVENT_LOG_ERROR_INVALID,      /* a string too long, not UTF-8, or missing */
  TRELLIS_EVENT_LOG_ERROR_LIMIT,        /* too many pending requests for one child */
  TRELLIS_EVENT_LOG_ERROR_NOT_FOUND,    /* no request with that id */
  TRELLIS_EVENT_LOG_ERROR_NOT_PENDING,  /* the request was already answered */
  TRELLIS_EVENT_LOG_ERROR_PERMISSION,   /* unsafe directory, or not writable */
  TRELLIS_EVENT_LOG_ERROR_NO_SPACE,     /* SQLITE_FULL: disk or quota full */
  TRELLIS_EVENT_LOG_ERROR_IO,           /* SQLITE_IOERR, or a failing syscall */
  TRELLIS_EVENT_LOG_ERROR_CORRUPT,      /* still corrupt after starting afresh */
  TRELLIS_EVENT_LOG_ERROR_VERSION,      /* written by a newer trellisd */
} TrellisEventLogError;

/* The schema this code writes (PRAGMA user_version). */
#define TRELLIS_EVENT_LOG_SCHEMA_VERSION  1

/* Bounds on stored strings, in bytes; all must be valid UTF-8. */
#define TRELLIS_EVENT_LOG_CHILD_MAX    64
#define TRELLIS_EVENT_LOG_NAME_MAX     253
#define TRELLIS_EVENT_LOG_RULE_MAX     256   /* rule and category */
#define TRELLIS_EVENT_LOG_MESSAGE_MAX  500   /* request message and answer */

/* Batching of blocked events. */
#define TRELLIS_EVENT_LOG_BATCH         512
#define TRELLIS_EVENT_LOG_BATCH_USEC    G_USEC_PER_SEC
#define TRELLIS_EVENT_LOG_QUEUE_MAX     10000

/* At most this many pending review requests per child. */
#define TRELLIS_EVENT_LOG_PENDING_MAX   20

typedef struct _TrellisEventLog TrellisEventLog;

/* One blocked query. */
typedef struct {
  gint64  time;      /* unix seconds */
  char   *child;     /* (owned) */
  char   *name;      /* (owned) */
  char   *rule;      /* (owned) (nullable) */
  char   *category;  /* (owned) (nullable) */
} TrellisEvent;

/* One review request ("please unblock NAME"). */
typedef struct {
  guint32  id;
  char    *child;        /* (owned) */
  char    *name;         /* (owned) */
  char    *message;      /* (owned) (nullable) the child's words */
  char    *state;        /* (owned) "pending", "approved" or "declined" */
  gint64   created;      /* unix seconds */
  gint64   answered;     /* unix seconds; 0 while pending */
  char    *answer;       /* (owned) (nullable) the parent's words */
  gint64   grant_until;  /* unix seconds; 0 unless approved */
} TrellisRequest;

/* Counters since open.  After a flush: queued == written + lost. */
typedef struct {
  guint64 queued;        /* accepted by add_blocked */
  guint64 written;       /* committed */
  guint64 dropped;       /* refused: the queue was full */
  guint64 invalid;       /* refused: bad strings */
  guint64 lost;          /* accepted, then in a batch whose commit failed */
  guint64 write_errors;  /* failed commits */
  guint   pending;       /* waiting in the queue now */
} TrellisEventLogStats;

void trellis_event_free   (TrellisEvent   *event);
void trellis_request_free (TrellisRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisEvent, trellis_event_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisRequest, trellis_request_free)

/** trellis_event_log_open: trellis_event_log_open_full() without the flag. */
TrellisEventLog *trellis_event_log_open      (const char  *path,
                                              GError     **error);

/**
 * trellis_event_log_open_full: opens or creates the database at @path and
 * starts its writer thread.  @ret_recreated (nullable) is set TRUE when a
 * corrupt file was moved aside and a new database started, FALSE otherwise.
 * NULL and @error when the log cannot be used at all: the filter must go on
 * without it.
 */
TrellisEventLog *trellis_event_log_open_full (const char  *path,
                                              gboolean    *ret_recreated,
                                              GError     **error);

/** trellis_event_log_free: commits what is queued, stops the writer, closes. */
void trellis_event_log_free (TrellisEventLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisEventLog, trellis_event_log_free)

/**
 * trellis_event_log_add_blocked: queues one blocked query and returns at
 * once; never touches the disk.  @child and @name are required; @rule and
 * @category may be NULL.  Strings over the bounds or not UTF-8 are counted
 * as invalid; a full queue counts the event as dropped.
 */
void trellis_event_log_add_blocked (TrellisEventLog *log,
                                    gint64           time,
                                    const char      *child,
                                    const char      *name,
                                    const char      *rule,
                                    const char      *category);

/** trellis_event_log_flush: waits until every event queued so far is committed or lost. */
void trellis_event_log_flush (TrellisEventLog *log);

/** trellis_event_log_get_stats: the counters in @ret_stats. */
void trellis_event_log_get_stats (TrellisEventLog      *log,
                                  TrellisEventLogStats *ret_stats);

/** trellis_event_log_get_last_error: (transfer full) (nullable) the writer's last failure. */
GError *trellis_event_log_get_last_error (TrellisEventLog *log);

/**
 * trellis_event_log_list: committed events of @child (NULL: every child),
 * newest first, at most @limit (0: no limit).  A GPtrArray of TrellisEvent.
 */
GPtrArray *trellis_event_log_list (TrellisEventLog  *log,
                                   const char       *child,
                                   guint             limit,
                                   GError          **error);

/** trellis_event_log_clear: deletes the events of @child (NULL: all). */
gboolean trellis_event_log_clear (TrellisEventLog  *log,
                                  const char       *child,
                                  guint            *ret_deleted,
                                  GError          **error);

/**
 * trellis_event_log_purge: retention.  Deletes events older than
 * @older_than, answered requests answered before it whose grant (if any)
 * ended before it, and pauses that ended before it.  @ret_deleted counts
 * every deleted row.
 */
gboolean trellis_event_log_purge (TrellisEventLog  *log,
                                  gint64            older_than,
                                  guint            *ret_deleted,
                                  GError          **error);

/**
 * trellis_event_log_request_add: stores a pending request of @child for
 * @name with an optional @message.  TRELLIS_EVENT_LOG_ERROR_LIMIT when
 * @child already has TRELLIS_EVENT_LOG_PENDING_MAX pending.
 */
gboolean trellis_event_log_request_add (TrellisEventLog  *log,
                                        const char       *child,
                                        const char       *name,
                                        const char       *message,
                                        gint64            now,
                                        guint32          *ret_id,
                                        GError          **error);

/** trellis_event_log_request_list: requests of @child (NULL: all), newest first. */
GPtrArray *trellis_event_log_request_list (TrellisEventLog  *log,
                                           const char       *child,
                                           GError          **error);

/** trellis_event_log_request_get: the request @id, or TRELLIS_EVENT_LOG_ERROR_NOT_FOUND. */
gboolean trellis_event_log_request_get (TrellisEventLog  *log,
                                        guint32           id,
                                        TrellisRequest  **ret_request,
                                        GError          **error);

/**
 * trellis_event_log_request_answer: answers the pending request @id with
 * @state "approved" (the grant lasts until @grant_until) or "declined"
 * (@grant_until ignored) and an optional @answer.  NOT_FOUND or NOT_PENDING
 * otherwise: a request is answered once.
 */
gboolean trellis_event_log_request_answer (TrellisEventLog  *log,
                                           guint32           id,
                                           const char       *state,
                                           const char       *answer,
                                           gint64            now,
                                           gint64            grant_until,
                                           GError          **error);

/** trellis_event_log_grants_active: approved requests with grant_until > @now. */
GPtrArray *trellis_event_log_grants_active (TrellisEventLog  *log,
                                            gint64            now,
                                            GError          **error);

/** trellis_event_log_pause_set: pauses @child's filter until @until (0: unpause). */
gboolean trellis_event_log_pause_set (TrellisEventLog  *log,
                                      const char       *child,
                                      gint64            until,
                                      GError          **error);

/** trellis_event_log_pause_get: @child's pause end, 0 when none (or on error). */
gint64 trellis_event_log_pause_get (TrellisEventLog *log,
                                    const char      *child);

G_END_DECLS
