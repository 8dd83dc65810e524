/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * event-log.h — trellisd's record of BLOCKED queries, children's review
 * requests, parents' pauses: one SQLite database (WAL) under
 * /var/lib/trellis (GC25 §55/69/72/75/76/77).
 *
 * Allowed lookups are never stored; helplines never reach this file.
 *
 * Blocked events are folded and batched.  trellis_event_log_add_blocked()
 * copies the event into a bounded in-memory queue and returns at once; it
 * never waits on the disk.  Blocks of the same name by the same rule for the
 * same child within one fold interval (TRELLIS_EVENT_LOG_FOLD_SECONDS, a
 * fixed slot of the clock) are one ENTRY with a count: a repeat only counts,
 * in the queue and in the database.  A writer thread commits the queue in one
 * transaction every second or as soon as TRELLIS_EVENT_LOG_BATCH entries
 * wait.  Beyond TRELLIS_EVENT_LOG_QUEUE_MAX waiting entries, a block that
 * would need a new one is counted as dropped, and as MISSED for its child,
 * which the child's log says.  A failed commit (disk full, I/O error) drops
 * its batch: the events are counted as lost, the failure as a write error,
 * and the error is kept for trellis_event_log_get_last_error(); the next
 * batch tries again.
 *
 * Each child's log holds at most TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX
 * entries.  When new ones take a child past it, the writer removes that
 * child's oldest entries, those whose last block is oldest (at most
 * TRELLIS_EVENT_LOG_TRIM_MAX a batch, so a
 * log larger than the cap, such as one from schema 1, shrinks over a few
 * batches) and counts them, and the blocks in them, as DROPPED for that
 * child; the child's log says that too.  So one child can fill neither the
 * disk nor a sibling's log.
 *
 * Reads see committed rows only: an event shows up within a second of
 * add_blocked(), or at once after trellis_event_log_flush().  They use a
 * connection of their own, so a long read never holds up the writer, nor
 * the requests and pauses.  The _async functions run in the log's worker
 * thread (one, jobs in order) and call back from there: a daemon's main
 * loop never waits on a read, a clear or a purge, nor touches their rows.
 * trellis_event_log_clear() flushes first, so an event queued before the
 * clear cannot reappear after it.  Clears and purges delete in chunks of
 * TRELLIS_EVENT_LOG_DELETE_CHUNK rows, each its own transaction, so nothing
 * waits long for the database.
 *
 * Files: the database is created mode 0600 (an existing file with looser
 * permissions is tightened to 0600; SQLite gives its -wal and -shm files the
 * database's mode).  A missing parent directory is created mode 0700; an
 * existing parent directory that group or others may write is refused
 * (TRELLIS_EVENT_LOG_ERROR_PERMISSION): someone else could swap the file.
 * A database that is not a database or is malformed is renamed to
 * PATH.corrupt-<unix time> (with its -wal) and a new one is started;
 * trellis_event_log_open_full() reports that so the daemon can log it.  The
 * damaged copy holds events like any other, so the retention purge removes
 * it once that time is older than its cutoff.  The write-ahead log is
 * checkpointed every TRELLIS_EVENT_LOG_WAL_PAGES pages and truncated to
 * TRELLIS_EVENT_LOG_WAL_MAX bytes after each checkpoint.
 *
 * Every function is thread-safe.  None logs.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRELLIS_EVENT_LOG_ERROR (trellis_event_log_error_quark ())
GQuark trellis_event_log_error_quark (void);

typedef enum {
  TRELLIS_EVENT_LOG_ERROR_FAILED,      /* anything else SQLite reports */
  TRELLIS_EVENT_LOG_ERROR_INVALID,     /* a string too long, not UTF-8, or missing */
  TRELLIS_EVENT_LOG_ERROR_LIMIT,       /* too many pending requests for one child */
  TRELLIS_EVENT_LOG_ERROR_NOT_FOUND,   /* no request with that id */
  TRELLIS_EVENT_LOG_ERROR_NOT_PENDING, /* the request was already answered */
  TRELLIS_EVENT_LOG_ERROR_PERMISSION,  /* unsafe directory, or not writable */
  TRELLIS_EVENT_LOG_ERROR_NO_SPACE,    /* SQLITE_FULL: disk or quota full */
  TRELLIS_EVENT_LOG_ERROR_IO,          /* SQLITE_IOERR, or a failing syscall */
  TRELLIS_EVENT_LOG_ERROR_CORRUPT,     /* still corrupt after starting afresh */
  TRELLIS_EVENT_LOG_ERROR_VERSION,     /* written by a newer trellisd */
  TRELLIS_EVENT_LOG_ERROR_CLOSED,      /* a job queued when the log was closed */
} TrellisEventLogError;

/* The schema this code writes (PRAGMA user_version).  1: one row per
 * block.  2: entries with a count, per-child sequence numbers, losses.
 * 3: a gateway's entries name the device (MAC, address) that asked. */
#define TRELLIS_EVENT_LOG_SCHEMA_VERSION 3

/* Bounds on stored strings, in bytes; all must be valid UTF-8. */
#define TRELLIS_EVENT_LOG_CHILD_MAX   64
#define TRELLIS_EVENT_LOG_NAME_MAX    253
#define TRELLIS_EVENT_LOG_RULE_MAX    256 /* rule and category */
#define TRELLIS_EVENT_LOG_MESSAGE_MAX 500 /* request message and answer */
#define TRELLIS_EVENT_LOG_DEVICE_MAX  64  /* a device's MAC or address, as text */

/* Batching of blocked events (counted in entries). */
#define TRELLIS_EVENT_LOG_BATCH      512
#define TRELLIS_EVENT_LOG_BATCH_USEC G_USEC_PER_SEC
#define TRELLIS_EVENT_LOG_QUEUE_MAX  10000

/* Folding: one entry per child, name and rule per slot of this many
 * seconds of the clock (time / FOLD_SECONDS). */
#define TRELLIS_EVENT_LOG_FOLD_SECONDS 600

/* At most this many entries per child; the oldest (by their last block) go first. */
#define TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX 10000
/* At most this many of a child's oldest entries are removed per batch. */
#define TRELLIS_EVENT_LOG_TRIM_MAX 4096

/* Rows per transaction when clearing or purging. */
#define TRELLIS_EVENT_LOG_DELETE_CHUNK 2000

/* Pages of a child's log: a limit of 0 reads PAGE_DEFAULT entries, and no
 * page is longer than PAGE_MAX. */
#define TRELLIS_EVENT_LOG_PAGE_DEFAULT 500
#define TRELLIS_EVENT_LOG_PAGE_MAX     1000

/* The write-ahead log is checkpointed at WAL_PAGES pages (of 4 KiB) and
 * cut back to WAL_MAX bytes after a checkpoint. */
#define TRELLIS_EVENT_LOG_WAL_PAGES 256
#define TRELLIS_EVENT_LOG_WAL_MAX   1048576 /* 1 MiB */

/* At most this many pending review requests per child. */
#define TRELLIS_EVENT_LOG_PENDING_MAX 20

typedef struct _TrellisEventLog TrellisEventLog;

/* One entry: the blocks of one name by one rule for one child (or a
 * gateway's group) and one device in one fold interval. */
typedef struct {
  gint64 time;    /* the first block, unix seconds */
  gint64 last;    /* the last block, unix seconds (>= time) */
  guint64 count;  /* how many blocks, at least 1 */
  guint64 seq;    /* its place in its child's log, growing; the paging cursor */
  guint64 id;     /* its place in the whole log: the cursor of read_devices */
  char *child;    /* (owned) */
  char *name;     /* (owned) */
  char *rule;     /* (owned) (nullable) */
  char *category; /* (owned) (nullable) */
  char *mac;      /* (owned) (nullable) the gateway's device that asked */
  char *address;  /* (owned) (nullable) its address */
} TrellisEvent;

/* The report: blocks of one child or group in one category (NULL: the
 * household's own rules and the integrity rules) in a period. */
typedef struct {
  char *child;     /* (owned) */
  char *category;  /* (owned) (nullable) */
  guint64 entries; /* entries */
  guint64 blocked; /* blocks in them */
  guint64 devices; /* distinct devices among them (0: desktop accounts only) */
} TrellisEventLogCount;

/* What a child's log holds, and what it lost. */
typedef struct {
  guint64 entries;         /* entries in the log now */
  guint64 blocked;         /* blocks in them: the sum of their counts */
  guint64 dropped_entries; /* oldest entries removed because the log was full */
  guint64 dropped_blocked; /* the blocks in those entries */
  guint64 missed;          /* blocks never recorded: too many came at once */
  gint64 losses_until;     /* unix time of the newest dropped or missed block; 0: none */
} TrellisEventLogSummary;

/* One page of a child's log, newest first. */
typedef struct {
  GPtrArray *events;    /* (owned) TrellisEvent */
  guint64 next;         /* the cursor of the next page; 0: this is the last */
  gboolean has_summary; /* the first page (before == 0) carries it */
  TrellisEventLogSummary summary;
} TrellisEventLogPage;

/* One review request ("please unblock NAME"). */
typedef struct {
  guint32 id;
  char *child;        /* (owned) */
  char *name;         /* (owned) */
  char *message;      /* (owned) (nullable) the child's words */
  char *state;        /* (owned) "pending", "approved" or "declined" */
  gint64 created;     /* unix seconds */
  gint64 answered;    /* unix seconds; 0 while pending */
  char *answer;       /* (owned) (nullable) the parent's words */
  gint64 grant_until; /* unix seconds; 0 unless approved */
} TrellisRequest;

/* Counters since open, in blocks (events) unless said otherwise.  After a
 * flush: queued == written + lost. */
typedef struct {
  guint64 queued;       /* accepted by add_blocked */
  guint64 folded;       /* of those, counted into an entry already queued */
  guint64 written;      /* committed */
  guint64 dropped;      /* refused: the queue was full */
  guint64 invalid;      /* refused: bad strings */
  guint64 lost;         /* accepted, then in a batch whose commit failed */
  guint64 write_errors; /* failed commits */
  guint64 trimmed;      /* entries removed to keep children under the cap */
  guint pending;        /* entries waiting in the queue now */
} TrellisEventLogStats;

void trellis_event_free (TrellisEvent *event);
void trellis_event_log_count_free (TrellisEventLogCount *count);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisEventLogCount, trellis_event_log_count_free)
void trellis_event_log_page_free (TrellisEventLogPage *page);
void trellis_request_free (TrellisRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisEvent, trellis_event_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisEventLogPage, trellis_event_log_page_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisRequest, trellis_request_free)

/** trellis_event_log_open: trellis_event_log_open_full() without the flag. */
TrellisEventLog *trellis_event_log_open (const char *path,
                                         GError **error);

/**
 * trellis_event_log_open_full: opens or creates the database at @path and
 * starts its writer thread.  @ret_recreated (nullable) is set TRUE when a
 * corrupt file was moved aside and a new database started, FALSE otherwise.
 * NULL and @error when the log cannot be used at all: the filter must go on
 * without it.
 */
TrellisEventLog *trellis_event_log_open_full (const char *path,
                                              gboolean *ret_recreated,
                                              GError **error);

/**
 * trellis_event_log_free: finishes the worker's jobs (those not started
 * with TRELLIS_EVENT_LOG_ERROR_CLOSED), commits what is queued, stops the
 * writer, closes.
 */
void trellis_event_log_free (TrellisEventLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisEventLog, trellis_event_log_free)

/**
 * trellis_event_log_add_blocked: queues one blocked query and returns at
 * once; never touches the disk.  @child and @name are required; @rule and
 * @category may be NULL.  Strings over the bounds or not UTF-8 are counted
 * as invalid.  A block that folds into a queued entry only counts; a full
 * queue counts the event as dropped (and missed for @child).
 */
void trellis_event_log_add_blocked (TrellisEventLog *log,
                                    gint64 time,
                                    const char *child,
                                    const char *name,
                                    const char *rule,
                                    const char *category);

/**
 * trellis_event_log_add_blocked_device: as add_blocked, for a gateway's
 * device: @mac and @address (nullable each, at most
 * TRELLIS_EVENT_LOG_DEVICE_MAX bytes) name the device that asked.  Blocks
 * of two devices are never folded into one entry.
 */
void trellis_event_log_add_blocked_device (TrellisEventLog *log,
                                           gint64 time,
                                           const char *child,
                                           const char *mac,
                                           const char *address,
                                           const char *name,
                                           const char *rule,
                                           const char *category);

/** trellis_event_log_flush: waits until every event queued so far is committed or lost. */
void trellis_event_log_flush (TrellisEventLog *log);

/** trellis_event_log_get_stats: the counters in @ret_stats. */
void trellis_event_log_get_stats (TrellisEventLog *log,
                                  TrellisEventLogStats *ret_stats);

/** trellis_event_log_get_last_error: (transfer full) (nullable) the writer's last failure. */
GError *trellis_event_log_get_last_error (TrellisEventLog *log);

/**
 * trellis_event_log_list: committed entries of @child (NULL: every child),
 * newest first, at most @limit (0: no limit).  A GPtrArray of TrellisEvent.
 */
GPtrArray *trellis_event_log_list (TrellisEventLog *log,
                                   const char *child,
                                   guint limit,
                                   GError **error);

/**
 * trellis_event_log_read_page: one page of @child's committed entries,
 * newest first: at most @limit (0: TRELLIS_EVENT_LOG_PAGE_DEFAULT; more
 * than TRELLIS_EVENT_LOG_PAGE_MAX reads PAGE_MAX) entries older than the
 * cursor @before (0: from the newest).  Pass the page's next as @before for
 * the page after it.  The first page (@before 0) carries the summary.
 */
TrellisEventLogPage *trellis_event_log_read_page (TrellisEventLog *log,
                                                  const char *child,
                                                  guint64 before,
                                                  guint limit,
                                                  GError **error);

/**
 * trellis_event_log_read_page_full: as read_page; without @with_devices,
 * the entries a gateway's devices made are left out, of the page and of
 * the summary (a child's own view: those are the parents' only).
 */
TrellisEventLogPage *trellis_event_log_read_page_full (TrellisEventLog *log,
                                                       const char *child,
                                                       gboolean with_devices,
                                                       guint64 before,
                                                       guint limit,
                                                       GError **error);

/**
 * trellis_event_log_read_devices: the parents' view of a gateway: one page
 * of the entries of @child (NULL: any) made by @device (NULL: any; a MAC or
 * an address as stored, matched against both), newest first, at most
 * @limit (as read_page) older than the cursor @before (an entry's id; 0:
 * from the newest).  The first page's summary counts entries and blocks
 * for the same filter (nothing on losses).
 */
TrellisEventLogPage *trellis_event_log_read_devices (TrellisEventLog *log,
                                                     const char *child,
                                                     const char *device,
                                                     guint64 before,
                                                     guint limit,
                                                     GError **error);

/**
 * trellis_event_log_report: a GPtrArray of TrellisEventLogCount, one per
 * child (or group) and category, for the entries whose last block is at
 * or after @since; by child, then category.  Counts only, never a name.
 */
GPtrArray *trellis_event_log_report (TrellisEventLog *log,
                                     gint64 since,
                                     GError **error);

/** trellis_event_log_get_summary: what @child's log holds and lost, in @ret_summary. */
gboolean trellis_event_log_get_summary (TrellisEventLog *log,
                                        const char *child,
                                        TrellisEventLogSummary *ret_summary,
                                        GError **error);

/*
 * The _async functions queue a job for the log's worker thread, one job at
 * a time in order, and return at once.  Each calls its function exactly
 * once, IN THE WORKER THREAD, with the result or an error (both owned by
 * the function); so the function must be thread-safe, and a daemon's main
 * loop never touches the result.  A job not started when
 * trellis_event_log_free() begins gets TRELLIS_EVENT_LOG_ERROR_CLOSED;
 * every function has been called when free() returns.
 */

/** TrellisEventLogPageFunc: gets @page (nullable) or @error (nullable), and owns them. */
typedef void (*TrellisEventLogPageFunc) (TrellisEventLogPage *page,
                                         GError *error,
                                         gpointer user_data);
/** TrellisEventLogClearFunc: @deleted entries, or @error (owned). */
typedef void (*TrellisEventLogClearFunc) (guint deleted,
                                          GError *error,
                                          gpointer user_data);
/** TrellisEventLogPurgeFunc: as trellis_event_log_purge()'s results (owned), or @error. */
typedef void (*TrellisEventLogPurgeFunc) (guint deleted,
                                          char **removed,
                                          GError *error,
                                          gpointer user_data);

/** TrellisEventLogReportFunc: gets @counts (nullable, owned) or @error (owned). */
typedef void (*TrellisEventLogReportFunc) (GPtrArray *counts,
                                           GError *error,
                                           gpointer user_data);

/** trellis_event_log_read_page_full_async: flushes, then trellis_event_log_read_page_full(). */
void trellis_event_log_read_page_full_async (TrellisEventLog *log,
                                             const char *child,
                                             gboolean with_devices,
                                             guint64 before,
                                             guint limit,
                                             TrellisEventLogPageFunc func,
                                             gpointer user_data);

/** trellis_event_log_read_devices_async: flushes, then trellis_event_log_read_devices(). */
void trellis_event_log_read_devices_async (TrellisEventLog *log,
                                           const char *child,
                                           const char *device,
                                           guint64 before,
                                           guint limit,
                                           TrellisEventLogPageFunc func,
                                           gpointer user_data);

/** trellis_event_log_report_async: flushes, then trellis_event_log_report(). */
void trellis_event_log_report_async (TrellisEventLog *log,
                                     gint64 since,
                                     TrellisEventLogReportFunc func,
                                     gpointer user_data);

/** trellis_event_log_read_page_async: flushes, then trellis_event_log_read_page(). */
void trellis_event_log_read_page_async (TrellisEventLog *log,
                                        const char *child,
                                        guint64 before,
                                        guint limit,
                                        TrellisEventLogPageFunc func,
                                        gpointer user_data);

/**
 * trellis_event_log_clear: deletes the entries of @child (NULL: all) and
 * what the log said it lost for them.  @ret_deleted counts the entries.
 */
gboolean trellis_event_log_clear (TrellisEventLog *log,
                                  const char *child,
                                  guint *ret_deleted,
                                  GError **error);

/** trellis_event_log_clear_async: trellis_event_log_clear() in the worker. */
void trellis_event_log_clear_async (TrellisEventLog *log,
                                    const char *child,
                                    TrellisEventLogClearFunc func,
                                    gpointer user_data);

/**
 * trellis_event_log_purge: retention.  Deletes entries whose first block
 * is older than @older_than, answered requests answered before it whose
 * grant (if any) ended before it, pauses that ended before it, and what
 * the log said it lost before it; then removes the damaged databases set
 * aside (PATH.corrupt-<time>, and their -wal) at a time before it.
 * @ret_deleted (nullable) counts every deleted row; @ret_removed
 * (nullable) gets the paths of the removed files (an empty array when
 * none), to be freed with g_strfreev().
 */
gboolean trellis_event_log_purge (TrellisEventLog *log,
                                  gint64 older_than,
                                  guint *ret_deleted,
                                  char ***ret_removed,
                                  GError **error);

/** trellis_event_log_purge_async: trellis_event_log_purge() in the worker. */
void trellis_event_log_purge_async (TrellisEventLog *log,
                                    gint64 older_than,
                                    TrellisEventLogPurgeFunc func,
                                    gpointer user_data);

/**
 * trellis_event_log_request_add: stores a pending request of @child for
 * @name with an optional @message.  TRELLIS_EVENT_LOG_ERROR_LIMIT when
 * @child already has TRELLIS_EVENT_LOG_PENDING_MAX pending.
 */
gboolean trellis_event_log_request_add (TrellisEventLog *log,
                                        const char *child,
                                        const char *name,
                                        const char *message,
                                        gint64 now,
                                        guint32 *ret_id,
                                        GError **error);

/** trellis_event_log_request_list: requests of @child (NULL: all), newest first. */
GPtrArray *trellis_event_log_request_list (TrellisEventLog *log,
                                           const char *child,
                                           GError **error);

/** trellis_event_log_request_get: the request @id, or TRELLIS_EVENT_LOG_ERROR_NOT_FOUND. */
gboolean trellis_event_log_request_get (TrellisEventLog *log,
                                        guint32 id,
                                        TrellisRequest **ret_request,
                                        GError **error);

/**
 * trellis_event_log_request_answer: answers the pending request @id with
 * @state "approved" (the grant lasts until @grant_until) or "declined"
 * (@grant_until ignored) and an optional @answer.  NOT_FOUND or NOT_PENDING
 * otherwise: a request is answered once.
 */
gboolean trellis_event_log_request_answer (TrellisEventLog *log,
                                           guint32 id,
                                           const char *state,
                                           const char *answer,
                                           gint64 now,
                                           gint64 grant_until,
                                           GError **error);

/** trellis_event_log_grants_active: approved requests with grant_until > @now. */
GPtrArray *trellis_event_log_grants_active (TrellisEventLog *log,
                                            gint64 now,
                                            GError **error);

/** trellis_event_log_pause_set: pauses @child's filter until @until (0: unpause). */
gboolean trellis_event_log_pause_set (TrellisEventLog *log,
                                      const char *child,
                                      gint64 until,
                                      GError **error);

/** trellis_event_log_pause_get: @child's pause end, 0 when none (or on error). */
gint64 trellis_event_log_pause_get (TrellisEventLog *log,
                                    const char *child);

G_END_DECLS
