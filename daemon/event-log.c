/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * event-log.c — blocked events, review requests and pauses in SQLite.
 *
 * One connection, opened SQLITE_OPEN_NOMUTEX and serialised by db_lock.
 * The queue of blocked events has a lock of its own (queue_lock) that is
 * never held across disk I/O, so add_blocked() only ever waits for the
 * writer to swap two arrays.  Lock order: never both at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "daemon/event-log.h"

G_DEFINE_QUARK (trellis-event-log-error-quark, trellis_event_log_error)

/* A queued event: the strings live in one allocation with the struct. */
typedef struct {
  gint64      time;
  const char *child;
  const char *name;
  const char *rule;      /* (nullable) */
  const char *category;  /* (nullable) */
  char        buf[];
} QueuedEvent;

struct _TrellisEventLog {
  char         *path;          /* (owned) */

  GMutex        db_lock;
  sqlite3      *db;            /* (owned) guarded by db_lock */
  sqlite3_stmt *insert_event;  /* (owned) used by the writer under db_lock */

  GMutex        queue_lock;
  GCond         queue_cond;    /* writer: work arrived, flush asked, stop */
  GCond         done_cond;     /* flushers: a batch finished */
  GPtrArray    *queue;         /* (owned) QueuedEvent, guarded by queue_lock */
  gint64        first_usec;    /* monotonic time the oldest queued event arrived */
  guint64       seq_queued;    /* events accepted so far */
  guint64       seq_done;      /* events committed or lost so far */
  guint         flushers;
  gboolean      stop;
  TrellisEventLogStats stats;
  GError       *last_error;    /* (owned) (nullable) */

  GThread      *writer;        /* (owned) */
};

/* ------------------------------------------------------------------------ */
/* Errors and strings                                                       */

static int
code_from_sqlite (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_FULL:
      return TRELLIS_EVENT_LOG_ERROR_NO_SPACE;
    case SQLITE_IOERR:
      return TRELLIS_EVENT_LOG_ERROR_IO;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return TRELLIS_EVENT_LOG_ERROR_CORRUPT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_CANTOPEN:
      return TRELLIS_EVENT_LOG_ERROR_PERMISSION;
    default:
      return TRELLIS_EVENT_LOG_ERROR_FAILED;
    }
}

static gboolean
set_sqlite_error (GError     **error,
                  sqlite3     *db,
                  int          rc,
                  const char  *what)
{
  g_set_error (error, TRELLIS_EVENT_LOG_ERROR, code_from_sqlite (rc),
               "%s: %s", what, db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  return FALSE;
}

static gboolean
is_corrupt (int rc)
{
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

static gboolean
string_ok (const char *s,
           gsize       max,
           gboolean    nullable)
{
  gsize len;

  if (s == NULL)
    return nullable;
  len = strlen (s);
  if (len > max || (!nullable && len == 0))
    return FALSE;
  return g_utf8_validate (s, len, NULL);
}

static gboolean
check_string (const char  *what,
              const char  *s,
              gsize        max,
              gboolean     nullable,
              GError     **error)
{
  if (string_ok (s, max, nullable))
    return TRUE;
  g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID,
               "%s must be %svalid UTF-8 of at most %" G_GSIZE_FORMAT " bytes",
               what, nullable ? "" : "non-empty ", max);
  return FALSE;
}

void
trellis_event_free (TrellisEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->child);
  g_free (event->name);
  g_free (event->rule);
  g_free (event->category);
  g_free (event);
}

void
trellis_request_free (TrellisRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->child);
  g_free (request->name);
  g_free (request->message);
  g_free (request->state);
  g_free (request->answer);
  g_free (request);
}

static char *
column_strdup (sqlite3_stmt *stmt,
               int           col)
{
  const unsigned char *s = sqlite3_column_text (stmt, col);

  return s != NULL ? g_strdup ((const char *) s) : NULL;
}

/* Binds NULL for a NULL string; SQLITE_TRANSIENT is not needed: every
 * statement here is stepped while the caller's strings are alive. */
static int
bind_text (sqlite3_stmt *stmt,
           int           idx,
           const char   *s)
{
  if (s == NULL)
    return sqlite3_bind_null (stmt, idx);
  return sqlite3_bind_text (stmt, idx, s, -1, SQLITE_STATIC);
}

/* ------------------------------------------------------------------------ */
/* Schema                                                                   */

/* Migration i takes the schema from version i to i + 1. */
static const char *const migrations[] = {
  /* 0 → 1 */
  "CREATE TABLE events ("
  "  id INTEGER PRIMARY KEY,"
  "  time INTEGER NOT NULL,"
  "  child TEXT NOT NULL,"
  "  name TEXT NOT NULL,"
  "  rule TEXT,"
  "  category TEXT);"
  "CREATE INDEX events_child_time ON events (child, time);"
  "CREATE INDEX events_time ON events (time);"
  "CREATE TABLE requests ("
  "  id INTEGER PRIMARY KEY,"
  "  child TEXT NOT NULL,"
  "  name TEXT NOT NULL,"
  "  message TEXT,"
  "  state TEXT NOT NULL CHECK (state IN ('pending','approved','declined')),"
  "  created INTEGER NOT NULL,"
  "  answered INTEGER,"
  "  answer TEXT,"
  "  grant_until INTEGER);"
  "CREATE INDEX requests_child_state ON requests (child, state);"
  "CREATE TABLE pauses ("
  "  child TEXT PRIMARY KEY,"
  "  until INTEGER NOT NULL);",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == TRELLIS_EVENT_LOG_SCHEMA_VERSION);

static int
exec_simple (sqlite3    *db,
             const char *sql)
{
  return sqlite3_exec (db, sql, NULL, NULL, NULL);
}

/* Reads one integer from a single-row statement such as a PRAGMA. */
static int
query_int (sqlite3    *db,
           const char *sql,
           gint64     *ret_value)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *ret_value = sqlite3_column_int64 (stmt, 0);
      rc = SQLITE_OK;
    }
  else if (rc == SQLITE_DONE)
    rc = SQLITE_ERROR;
  sqlite3_finalize (stmt);
  return rc;
}

/* SQLITE_OK when "PRAGMA quick_check" says ok, SQLITE_CORRUPT when it does not. */
static int
quick_check (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check(1)", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      const unsigned char *s = sqlite3_column_text (stmt, 0);

      rc = (s != NULL && strcmp ((const char *) s, "ok") == 0) ? SQLITE_OK : SQLITE_CORRUPT;
    }
  sqlite3_finalize (stmt);
  return rc;
}

/*
 * Configures the connection and brings the schema up to date.  On failure
 * returns the SQLite code (so the caller can tell corruption) and sets
 * @error.
 */
static int
setup_db (sqlite3  *db,
          GError  **error)
{
  gint64 version = 0;
  int rc;

  sqlite3_busy_timeout (db, 5000);
  sqlite3_extended_result_codes (db, 1);

  rc = quick_check (db);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "Checking the event log");
      return rc;
    }
  rc = exec_simple (db, "PRAGMA journal_mode=WAL");
  if (rc == SQLITE_OK)
    rc = exec_simple (db, "PRAGMA synchronous=NORMAL");
  if (rc == SQLITE_OK)
    rc = exec_simple (db, "PRAGMA foreign_keys=ON");
  if (rc == SQLITE_OK)
    rc = query_int (db, "PRAGMA user_version", &version);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "Configuring the event log");
      return rc;
    }
  if (version > TRELLIS_EVENT_LOG_SCHEMA_VERSION || version < 0)
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_VERSION,
                   "The event log has schema version %" G_GINT64_FORMAT
                   ", newer than this trellisd knows (%d)",
                   version, TRELLIS_EVENT_LOG_SCHEMA_VERSION);
      return SQLITE_ERROR;
    }

  /* Each step in its own transaction, with the version bump inside it. */
  for (; version < TRELLIS_EVENT_LOG_SCHEMA_VERSION; version++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version=%" G_GINT64_FORMAT,
                                               version + 1);

      rc = exec_simple (db, "BEGIN IMMEDIATE");
      if (rc == SQLITE_OK)
        rc = exec_simple (db, migrations[version]);
      if (rc == SQLITE_OK)
        rc = exec_simple (db, bump);
      if (rc == SQLITE_OK)
        rc = exec_simple (db, "COMMIT");
      if (rc != SQLITE_OK)
        {
          set_sqlite_error (error, db, rc, "Updating the event log's schema");
          exec_simple (db, "ROLLBACK");
          return rc;
        }
    }
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */

static gboolean
prepare_directory (const char  *path,
                   GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;

  if (stat (dir, &st) < 0)
    {
      int saved = errno;

      if (saved != ENOENT || g_mkdir_with_parents (dir, 0700) < 0)
        {
          if (saved == ENOENT)
            saved = errno;
          g_set_error (error, TRELLIS_EVENT_LOG_ERROR,
                       saved == EACCES || saved == EPERM || saved == EROFS
                         ? TRELLIS_EVENT_LOG_ERROR_PERMISSION : TRELLIS_EVENT_LOG_ERROR_IO,
                       "Cannot create the event log's directory %s: %s", dir,
                       g_strerror (saved));
          return FALSE;
        }
      return TRUE;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_IO,
                   "The event log's directory %s is not a directory", dir);
      return FALSE;
    }
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_PERMISSION,
                   "The event log's directory %s is writable by others (mode %04o); "
                   "it must not be", dir, (unsigned) (st.st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

/* Creates the database file 0600, or tightens an existing one to 0600. */
static gboolean
prepare_file (const char  *path,
              GError     **error)
{
  struct stat st;
  int fd;

  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, TRELLIS_EVENT_LOG_ERROR,
                   saved == EACCES || saved == EPERM || saved == EROFS
                     ? TRELLIS_EVENT_LOG_ERROR_PERMISSION : TRELLIS_EVENT_LOG_ERROR_IO,
                   "Cannot open the event log %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_IO,
                   "The event log %s is not a regular file", path);
      close (fd);
      return FALSE;
    }
  if ((st.st_mode & 0777) != 0600 && fchmod (fd, 0600) < 0)
    {
      int saved = errno;

      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_PERMISSION,
                   "Cannot make the event log %s private: %s", path, g_strerror (saved));
      close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Renames @path (and its -wal) to PATH.corrupt-<now>; drops its -shm. */
static gboolean
move_aside (const char  *path,
            GError     **error)
{
  g_autofree char *aside = NULL;
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint i;

  for (i = 0; i < 100; i++)
    {
      g_free (aside);
      aside = i == 0
        ? g_strdup_printf ("%s.corrupt-%" G_GINT64_FORMAT, path, now)
        : g_strdup_printf ("%s.corrupt-%" G_GINT64_FORMAT ".%u", path, now, i);
      if (!g_file_test (aside, G_FILE_TEST_EXISTS))
        break;
    }
  if (rename (path, aside) < 0)
    {
      int saved = errno;

      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_IO,
                   "Cannot move the corrupt event log %s aside: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  if (g_file_test (wal, G_FILE_TEST_EXISTS))
    {
      g_autofree char *aside_wal = g_strconcat (aside, "-wal", NULL);

      if (rename (wal, aside_wal) < 0)
        unlink (wal);
    }
  unlink (shm);
  return TRUE;
}

static int
open_db (const char  *path,
         sqlite3    **ret_db,
         GError     **error)
{
  sqlite3 *db = NULL;
  int rc;

  if (!prepare_file (path, error))
    return SQLITE_CANTOPEN;
  rc = sqlite3_open_v2 (path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "Opening the event log");
      sqlite3_close (db);
      return rc;
    }
  rc = setup_db (db, error);
  if (rc != SQLITE_OK)
    {
      sqlite3_close (db);
      return rc;
    }
  *ret_db = db;
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------ */
/* The writer                                                               */

/* Commits @batch in one transaction.  Called with db_lock held. */
static int
write_batch (TrellisEventLog *log,
             GPtrArray       *batch)
{
  sqlite3_stmt *stmt = log->insert_event;
  guint i;
  int rc;

  rc = exec_simple (log->db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK)
    return rc;
  for (i = 0; i < batch->len; i++)
    {
      const QueuedEvent *ev = g_ptr_array_index (batch, i);

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, ev->time);
      bind_text (stmt, 2, ev->child);
      bind_text (stmt, 3, ev->name);
      bind_text (stmt, 4, ev->rule);
      bind_text (stmt, 5, ev->category);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_DONE)
        break;
      rc = SQLITE_OK;
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc == SQLITE_OK)
    rc = exec_simple (log->db, "COMMIT");
  if (rc != SQLITE_OK)
    {
      /* Keep the first error: the rollback's own result does not matter. */
      if (!sqlite3_get_autocommit (log->db))
        exec_simple (log->db, "ROLLBACK");
    }
  return rc;
}

static gpointer
writer_thread (gpointer data)
{
  TrellisEventLog *log = data;

  g_mutex_lock (&log->queue_lock);
  for (;;)
    {
      g_autoptr(GPtrArray) batch = NULL;
      GError *error = NULL;
      int rc;

      if (log->queue->len == 0)
        {
          if (log->stop)
            break;
          g_cond_wait (&log->queue_cond, &log->queue_lock);
          continue;
        }
      if (log->queue->len < TRELLIS_EVENT_LOG_BATCH && !log->stop && log->flushers == 0
          && g_get_monotonic_time () < log->first_usec + TRELLIS_EVENT_LOG_BATCH_USEC)
        {
          g_cond_wait_until (&log->queue_cond, &log->queue_lock,
                             log->first_usec + TRELLIS_EVENT_LOG_BATCH_USEC);
          continue;
        }

      batch = g_steal_pointer (&log->queue);
      log->queue = g_ptr_array_new_with_free_func (g_free);
      g_mutex_unlock (&log->queue_lock);

      g_mutex_lock (&log->db_lock);
      rc = write_batch (log, batch);
      if (rc != SQLITE_OK)
        set_sqlite_error (&error, log->db, rc, "Writing blocked events");
      g_mutex_unlock (&log->db_lock);

      g_mutex_lock (&log->queue_lock);
      if (rc == SQLITE_OK)
        log->stats.written += batch->len;
      else
        {
          log->stats.lost += batch->len;
          log->stats.write_errors++;
          g_clear_error (&log->last_error);
          log->last_error = error;
        }
      log->seq_done += batch->len;
      g_cond_broadcast (&log->done_cond);
    }
  g_mutex_unlock (&log->queue_lock);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

TrellisEventLog *
trellis_event_log_open (const char  *path,
                        GError     **error)
{
  return trellis_event_log_open_full (path, NULL, error);
}

TrellisEventLog *
trellis_event_log_open_full (const char  *path,
                             gboolean    *ret_recreated,
                             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  TrellisEventLog *log;
  sqlite3 *db = NULL;
  sqlite3_stmt *insert = NULL;
  gboolean recreated = FALSE;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  if (!prepare_directory (path, error))
    return NULL;

  rc = open_db (path, &db, &local_error);
  if (is_corrupt (rc))
    {
      g_clear_error (&local_error);
      if (!move_aside (path, error))
        return NULL;
      recreated = TRUE;
      rc = open_db (path, &db, &local_error);
    }
  if (rc != SQLITE_OK)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  rc = sqlite3_prepare_v3 (db,
                           "INSERT INTO events (time, child, name, rule, category) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, SQLITE_PREPARE_PERSISTENT, &insert, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "Preparing the event log");
      sqlite3_close (db);
      return NULL;
    }

  log = g_new0 (TrellisEventLog, 1);
  log->path = g_strdup (path);
  log->db = db;
  log->insert_event = insert;
  g_mutex_init (&log->db_lock);
  g_mutex_init (&log->queue_lock);
  g_cond_init (&log->queue_cond);
  g_cond_init (&log->done_cond);
  log->queue = g_ptr_array_new_with_free_func (g_free);
  log->writer = g_thread_new ("trellis-eventlog", writer_thread, log);

  if (ret_recreated != NULL)
    *ret_recreated = recreated;
  return log;
}

void
trellis_event_log_free (TrellisEventLog *log)
{
  if (log == NULL)
    return;

  g_mutex_lock (&log->queue_lock);
  log->stop = TRUE;
  g_cond_signal (&log->queue_cond);
  g_mutex_unlock (&log->queue_lock);
  g_thread_join (log->writer);

  sqlite3_finalize (log->insert_event);
  /* Closing the last connection checkpoints the WAL into the database. */
  sqlite3_close (log->db);

  g_ptr_array_unref (log->queue);
  g_clear_error (&log->last_error);
  g_mutex_clear (&log->db_lock);
  g_mutex_clear (&log->queue_lock);
  g_cond_clear (&log->queue_cond);
  g_cond_clear (&log->done_cond);
  g_free (log->path);
  g_free (log);
}

/* ------------------------------------------------------------------------ */
/* Blocked events                                                           */

static char *
pack (char       *dst,
      const char *s,
      gsize       len)
{
  memcpy (dst, s, len);
  dst[len] = '\0';
  return dst + len + 1;
}

void
trellis_event_log_add_blocked (TrellisEventLog *log,
                               gint64           time,
                               const char      *child,
                               const char      *name,
                               const char      *rule,
                               const char      *category)
{
  gsize child_len, name_len, rule_len, category_len;
  QueuedEvent *ev;
  char *p;

  g_return_if_fail (log != NULL);

  if (!string_ok (child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE)
      || !string_ok (name, TRELLIS_EVENT_LOG_NAME_MAX, FALSE)
      || !string_ok (rule, TRELLIS_EVENT_LOG_RULE_MAX, TRUE)
      || !string_ok (category, TRELLIS_EVENT_LOG_RULE_MAX, TRUE))
    {
      g_mutex_lock (&log->queue_lock);
      log->stats.invalid++;
      g_mutex_unlock (&log->queue_lock);
      return;
    }

  /* Copy before taking the lock: the lock only guards the array. */
  child_len = strlen (child);
  name_len = strlen (name);
  rule_len = rule != NULL ? strlen (rule) : 0;
  category_len = category != NULL ? strlen (category) : 0;
  ev = g_malloc (sizeof *ev + child_len + name_len + rule_len + category_len + 4);
  ev->time = time;
  p = ev->buf;
  ev->child = p;
  p = pack (p, child, child_len);
  ev->name = p;
  p = pack (p, name, name_len);
  ev->rule = rule != NULL ? p : NULL;
  if (rule != NULL)
    p = pack (p, rule, rule_len);
  ev->category = category != NULL ? p : NULL;
  if (category != NULL)
    pack (p, category, category_len);

  g_mutex_lock (&log->queue_lock);
  if (log->queue->len >= TRELLIS_EVENT_LOG_QUEUE_MAX)
    {
      log->stats.dropped++;
      g_mutex_unlock (&log->queue_lock);
      g_free (ev);
      return;
    }
  g_ptr_array_add (log->queue, ev);
  log->stats.queued++;
  log->seq_queued++;
  /* Wake the writer only when it has something new to decide. */
  if (log->queue->len == 1)
    {
      log->first_usec = g_get_monotonic_time ();
      g_cond_signal (&log->queue_cond);
    }
  else if (log->queue->len == TRELLIS_EVENT_LOG_BATCH)
    g_cond_signal (&log->queue_cond);
  g_mutex_unlock (&log->queue_lock);
}

void
trellis_event_log_flush (TrellisEventLog *log)
{
  guint64 target;

  g_return_if_fail (log != NULL);

  g_mutex_lock (&log->queue_lock);
  target = log->seq_queued;
  log->flushers++;
  g_cond_signal (&log->queue_cond);
  while (log->seq_done < target)
    g_cond_wait (&log->done_cond, &log->queue_lock);
  log->flushers--;
  g_mutex_unlock (&log->queue_lock);
}

void
trellis_event_log_get_stats (TrellisEventLog      *log,
                             TrellisEventLogStats *ret_stats)
{
  g_return_if_fail (log != NULL);
  g_return_if_fail (ret_stats != NULL);

  g_mutex_lock (&log->queue_lock);
  *ret_stats = log->stats;
  ret_stats->pending = log->queue->len;
  g_mutex_unlock (&log->queue_lock);
}

GError *
trellis_event_log_get_last_error (TrellisEventLog *log)
{
  GError *copy;

  g_return_val_if_fail (log != NULL, NULL);

  g_mutex_lock (&log->queue_lock);
  copy = log->last_error != NULL ? g_error_copy (log->last_error) : NULL;
  g_mutex_unlock (&log->queue_lock);
  return copy;
}

/* ------------------------------------------------------------------------ */
/* Reads and deletes (db_lock held by the public wrappers)                  */

static sqlite3_stmt *
prepare (TrellisEventLog  *log,
         const char       *sql,
         GError          **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (log->db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, log->db, rc, "Preparing a query on the event log");
      return NULL;
    }
  return stmt;
}

static GPtrArray *
list_locked (TrellisEventLog  *log,
             const char       *child,
             guint             limit,
             GError          **error)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) trellis_event_free);
  sqlite3_stmt *stmt;
  int rc;

  /* LIMIT -1 is SQLite's "no limit". */
  stmt = prepare (log,
                  child != NULL
                    ? "SELECT time, child, name, rule, category FROM events "
                      "WHERE child = ?1 ORDER BY time DESC, id DESC LIMIT ?2"
                    : "SELECT time, child, name, rule, category FROM events "
                      "ORDER BY time DESC, id DESC LIMIT ?2",
                  error);
  if (stmt == NULL)
    return NULL;
  if (child != NULL)
    bind_text (stmt, 1, child);
  sqlite3_bind_int64 (stmt, 2, limit > 0 ? (gint64) limit : -1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TrellisEvent *ev = g_new0 (TrellisEvent, 1);

      ev->time = sqlite3_column_int64 (stmt, 0);
      ev->child = column_strdup (stmt, 1);
      ev->name = column_strdup (stmt, 2);
      ev->rule = column_strdup (stmt, 3);
      ev->category = column_strdup (stmt, 4);
      g_ptr_array_add (events, ev);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, log->db, rc, "Reading the event log");
      return NULL;
    }
  return g_steal_pointer (&events);
}

GPtrArray *
trellis_event_log_list (TrellisEventLog  *log,
                        const char       *child,
                        guint             limit,
                        GError          **error)
{
  GPtrArray *events;

  g_return_val_if_fail (log != NULL, NULL);
  if (child != NULL && !check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return NULL;

  g_mutex_lock (&log->db_lock);
  events = list_locked (log, child, limit, error);
  g_mutex_unlock (&log->db_lock);
  return events;
}

/* Runs one bound DELETE/UPDATE; @ret_changes gets the row count. */
static gboolean
run_change (TrellisEventLog  *log,
            sqlite3_stmt     *stmt,
            const char       *what,
            guint            *ret_changes,
            GError          **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, log->db, rc, what);
  if (ret_changes != NULL)
    *ret_changes = (guint) sqlite3_changes (log->db);
  return TRUE;
}

gboolean
trellis_event_log_clear (TrellisEventLog  *log,
                         const char       *child,
                         guint            *ret_deleted,
                         GError          **error)
{
  sqlite3_stmt *stmt;
  guint deleted = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (log != NULL, FALSE);
  if (child != NULL && !check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return FALSE;

  /* Whatever was queued before the clear is cleared too. */
  trellis_event_log_flush (log);

  g_mutex_lock (&log->db_lock);
  stmt = prepare (log,
                  child != NULL ? "DELETE FROM events WHERE child = ?1" : "DELETE FROM events",
                  error);
  if (stmt != NULL)
    {
      if (child != NULL)
        bind_text (stmt, 1, child);
      ok = run_change (log, stmt, "Clearing the event log", &deleted, error);
    }
  g_mutex_unlock (&log->db_lock);

  if (ok && ret_deleted != NULL)
    *ret_deleted = deleted;
  return ok;
}

gboolean
trellis_event_log_purge (TrellisEventLog  *log,
                         gint64            older_than,
                         guint            *ret_deleted,
                         GError          **error)
{
  static const char *const sql[] = {
    "DELETE FROM events WHERE time < ?1",
    "DELETE FROM requests WHERE state != 'pending' AND answered < ?1 "
    "AND COALESCE (grant_until, 0) < ?1",
    "DELETE FROM pauses WHERE until < ?1",
  };
  guint total = 0;
  guint i;
  int rc;

  g_return_val_if_fail (log != NULL, FALSE);

  g_mutex_lock (&log->db_lock);
  rc = exec_simple (log->db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, log->db, rc, "Purging the event log");
      g_mutex_unlock (&log->db_lock);
      return FALSE;
    }
  for (i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      sqlite3_stmt *stmt = prepare (log, sql[i], error);
      guint n = 0;

      if (stmt == NULL)
        break;
      sqlite3_bind_int64 (stmt, 1, older_than);
      if (!run_change (log, stmt, "Purging the event log", &n, error))
        break;
      total += n;
    }
  if (i == G_N_ELEMENTS (sql))
    {
      rc = exec_simple (log->db, "COMMIT");
      if (rc != SQLITE_OK)
        set_sqlite_error (error, log->db, rc, "Purging the event log");
    }
  else
    rc = SQLITE_ERROR;
  if (rc != SQLITE_OK && !sqlite3_get_autocommit (log->db))
    exec_simple (log->db, "ROLLBACK");
  g_mutex_unlock (&log->db_lock);

  if (rc != SQLITE_OK)
    return FALSE;
  if (ret_deleted != NULL)
    *ret_deleted = total;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

#define REQUEST_COLUMNS \
  "id, child, name, message, state, created, answered, answer, grant_until"

static TrellisRequest *
request_from_row (sqlite3_stmt *stmt)
{
  TrellisRequest *req = g_new0 (TrellisRequest, 1);

  req->id = (guint32) sqlite3_column_int64 (stmt, 0);
  req->child = column_strdup (stmt, 1);
  req->name = column_strdup (stmt, 2);
  req->message = column_strdup (stmt, 3);
  req->state = column_strdup (stmt, 4);
  req->created = sqlite3_column_int64 (stmt, 5);
  req->answered = sqlite3_column_int64 (stmt, 6);   /* NULL reads as 0 */
  req->answer = column_strdup (stmt, 7);
  req->grant_until = sqlite3_column_int64 (stmt, 8);
  return req;
}

/* Steps @stmt to the end, collecting requests; finalizes it. */
static GPtrArray *
collect_requests (TrellisEventLog  *log,
                  sqlite3_stmt     *stmt,
                  GError          **error)
{
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func ((GDestroyNotify) trellis_request_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (requests, request_from_row (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, log->db, rc, "Reading requests");
      return NULL;
    }
  return g_steal_pointer (&requests);
}

static gboolean
request_add_locked (TrellisEventLog  *log,
                    const char       *child,
                    const char       *name,
                    const char       *message,
                    gint64            now,
                    guint32          *ret_id,
                    GError          **error)
{
  sqlite3_stmt *stmt;
  gint64 pending = 0;
  gint64 id;
  int rc;

  stmt = prepare (log, "SELECT count(*) FROM requests WHERE child = ?1 AND state = 'pending'",
                  error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, child);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    pending = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return set_sqlite_error (error, log->db, rc, "Counting requests");
  if (pending >= TRELLIS_EVENT_LOG_PENDING_MAX)
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_LIMIT,
                   "%s already has %d requests waiting for an answer",
                   child, TRELLIS_EVENT_LOG_PENDING_MAX);
      return FALSE;
    }

  stmt = prepare (log,
                  "INSERT INTO requests (child, name, message, state, created) "
                  "VALUES (?1, ?2, ?3, 'pending', ?4)",
                  error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, child);
  bind_text (stmt, 2, name);
  bind_text (stmt, 3, message);
  sqlite3_bind_int64 (stmt, 4, now);
  if (!run_change (log, stmt, "Storing a request", NULL, error))
    return FALSE;
  id = sqlite3_last_insert_rowid (log->db);
  if (id <= 0 || id > G_MAXUINT32)
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_FAILED,
                   "Request id %" G_GINT64_FORMAT " out of range", id);
      return FALSE;
    }
  *ret_id = (guint32) id;
  return TRUE;
}

gboolean
trellis_event_log_request_add (TrellisEventLog  *log,
                               const char       *child,
                               const char       *name,
                               const char       *message,
                               gint64            now,
                               guint32          *ret_id,
                               GError          **error)
{
  guint32 id = 0;
  gboolean ok;
  int rc;

  g_return_val_if_fail (log != NULL, FALSE);
  if (!check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error)
      || !check_string ("name", name, TRELLIS_EVENT_LOG_NAME_MAX, FALSE, error)
      || !check_string ("message", message, TRELLIS_EVENT_LOG_MESSAGE_MAX, TRUE, error))
    return FALSE;

  /* Count and insert in one write transaction, so the limit holds. */
  g_mutex_lock (&log->db_lock);
  rc = exec_simple (log->db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK)
    ok = set_sqlite_error (error, log->db, rc, "Storing a request");
  else
    {
      ok = request_add_locked (log, child, name, message, now, &id, error);
      if (ok)
        {
          rc = exec_simple (log->db, "COMMIT");
          if (rc != SQLITE_OK)
            ok = set_sqlite_error (error, log->db, rc, "Storing a request");
        }
      if (!ok && !sqlite3_get_autocommit (log->db))
        exec_simple (log->db, "ROLLBACK");
    }
  g_mutex_unlock (&log->db_lock);

  if (ok && ret_id != NULL)
    *ret_id = id;
  return ok;
}

GPtrArray *
trellis_event_log_request_list (TrellisEventLog  *log,
                                const char       *child,
                                GError          **error)
{
  sqlite3_stmt *stmt;
  GPtrArray *requests = NULL;

  g_return_val_if_fail (log != NULL, NULL);
  if (child != NULL && !check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return NULL;

  g_mutex_lock (&log->db_lock);
  stmt = prepare (log,
                  child != NULL
                    ? "SELECT " REQUEST_COLUMNS " FROM requests WHERE child = ?1 "
                      "ORDER BY created DESC, id DESC"
                    : "SELECT " REQUEST_COLUMNS " FROM requests ORDER BY created DESC, id DESC",
                  error);
  if (stmt != NULL)
    {
      if (child != NULL)
        bind_text (stmt, 1, child);
      requests = collect_requests (log, stmt, error);
    }
  g_mutex_unlock (&log->db_lock);
  return requests;
}

gboolean
trellis_event_log_request_get (TrellisEventLog  *log,
                               guint32           id,
                               TrellisRequest  **ret_request,
                               GError          **error)
{
  g_autoptr(GPtrArray) found = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (log != NULL, FALSE);
  g_return_val_if_fail (ret_request != NULL, FALSE);

  g_mutex_lock (&log->db_lock);
  stmt = prepare (log, "SELECT " REQUEST_COLUMNS " FROM requests WHERE id = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      found = collect_requests (log, stmt, error);
    }
  g_mutex_unlock (&log->db_lock);

  if (found == NULL)
    return FALSE;
  if (found->len == 0)
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_FOUND,
                   "No request %u", id);
      return FALSE;
    }
  *ret_request = g_ptr_array_steal_index (found, 0);
  return TRUE;
}

gboolean
trellis_event_log_request_answer (TrellisEventLog  *log,
                                  guint32           id,
                                  const char       *state,
                                  const char       *answer,
                                  gint64            now,
                                  gint64            grant_until,
                                  GError          **error)
{
  sqlite3_stmt *stmt;
  guint changed = 0;
  gboolean approved;
  gboolean ok = FALSE;

  g_return_val_if_fail (log != NULL, FALSE);
  if (g_strcmp0 (state, "approved") != 0 && g_strcmp0 (state, "declined") != 0)
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID,
                   "A request is answered \"approved\" or \"declined\"");
      return FALSE;
    }
  if (!check_string ("answer", answer, TRELLIS_EVENT_LOG_MESSAGE_MAX, TRUE, error))
    return FALSE;
  approved = strcmp (state, "approved") == 0;

  g_mutex_lock (&log->db_lock);
  /* The WHERE clause makes the answer once-only without a read first. */
  stmt = prepare (log,
                  "UPDATE requests SET state = ?2, answer = ?3, answered = ?4, grant_until = ?5 "
                  "WHERE id = ?1 AND state = 'pending'",
                  error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      bind_text (stmt, 2, state);
      bind_text (stmt, 3, answer);
      sqlite3_bind_int64 (stmt, 4, now);
      if (approved)
        sqlite3_bind_int64 (stmt, 5, grant_until);
      else
        sqlite3_bind_null (stmt, 5);
      ok = run_change (log, stmt, "Answering a request", &changed, error);
    }
  if (ok && changed == 0)
    {
      gint64 exists = 0;

      stmt = prepare (log, "SELECT count(*) FROM requests WHERE id = ?1", error);
      ok = FALSE;
      if (stmt != NULL)
        {
          sqlite3_bind_int64 (stmt, 1, id);
          if (sqlite3_step (stmt) == SQLITE_ROW)
            exists = sqlite3_column_int64 (stmt, 0);
          sqlite3_finalize (stmt);
          if (exists > 0)
            g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_PENDING,
                         "Request %u was already answered", id);
          else
            g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_FOUND,
                         "No request %u", id);
        }
    }
  g_mutex_unlock (&log->db_lock);
  return ok;
}

GPtrArray *
trellis_event_log_grants_active (TrellisEventLog  *log,
                                 gint64            now,
                                 GError          **error)
{
  sqlite3_stmt *stmt;
  GPtrArray *requests = NULL;

  g_return_val_if_fail (log != NULL, NULL);

  g_mutex_lock (&log->db_lock);
  stmt = prepare (log,
                  "SELECT " REQUEST_COLUMNS " FROM requests "
                  "WHERE state = 'approved' AND grant_until > ?1 ORDER BY id",
                  error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, now);
      requests = collect_requests (log, stmt, error);
    }
  g_mutex_unlock (&log->db_lock);
  return requests;
}

/* ------------------------------------------------------------------------ */
/* Pauses                                                                   */

gboolean
trellis_event_log_pause_set (TrellisEventLog  *log,
                             const char       *child,
                             gint64            until,
                             GError          **error)
{
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  g_return_val_if_fail (log != NULL, FALSE);
  if (!check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return FALSE;

  g_mutex_lock (&log->db_lock);
  stmt = prepare (log,
                  until > 0
                    ? "INSERT INTO pauses (child, until) VALUES (?1, ?2) "
                      "ON CONFLICT (child) DO UPDATE SET until = excluded.until"
                    : "DELETE FROM pauses WHERE child = ?1",
                  error);
  if (stmt != NULL)
    {
      bind_text (stmt, 1, child);
      if (until > 0)
        sqlite3_bind_int64 (stmt, 2, until);
      ok = run_change (log, stmt, "Storing a pause", NULL, error);
    }
  g_mutex_unlock (&log->db_lock);
  return ok;
}

gint64
trellis_event_log_pause_get (TrellisEventLog *log,
                             const char      *child)
{
  sqlite3_stmt *stmt;
  gint64 until = 0;

  g_return_val_if_fail (log != NULL, 0);
  if (!string_ok (child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE))
    return 0;

  g_mutex_lock (&log->db_lock);
  stmt = prepare (log, "SELECT until FROM pauses WHERE child = ?1", NULL);
  if (stmt != NULL)
    {
      bind_text (stmt, 1, child);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        until = sqlite3_column_int64 (stmt, 0);
      sqlite3_finalize (stmt);
    }
  g_mutex_unlock (&log->db_lock);
  return until;
}
