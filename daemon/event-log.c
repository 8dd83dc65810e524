/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * event-log.c — blocked events, review requests and pauses in SQLite.
 *
 * Two connections, both opened SQLITE_OPEN_NOMUTEX.  The writing one is
 * serialised by db_lock: the writer thread, the requests and pauses, and
 * the chunks of clears and purges.  The reading one (read-only) is
 * serialised by read_lock, so a long read holds up no write: in WAL mode a
 * reader sees the last commit before its transaction and blocks no one.
 * The queue of blocked events has a lock of its own (queue_lock) that is
 * never held across disk I/O, so add_blocked() only ever waits for the
 * writer to swap the queue.  Lock order: never two at once.
 *
 * The _async jobs run one at a time in a thread pool of one thread of its
 * own (jobs), which calls each job's function when it is done.
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

/* clang-format off */  /* the quark's name is one word, with its dashes */
G_DEFINE_QUARK (trellis-event-log-error-quark, trellis_event_log_error)
/* clang-format on */

/* A queued entry: the strings live in one allocation with the struct. */
typedef struct {
  gint64 first;  /* the first block's time */
  gint64 last;   /* the last block's time */
  gint64 slot;   /* the fold interval: floor (first / FOLD_SECONDS) */
  guint64 count; /* blocks folded into it */
  const char *child;
  const char *name;
  const char *rule;     /* (nullable) */
  const char *category; /* (nullable) */
  const char *mac;      /* (nullable) a gateway's device */
  const char *address;  /* (nullable) a gateway's device */
  char buf[];
} QueuedEvent;

/* Blocks a child lost because the queue was full. */
typedef struct {
  guint64 count;
  gint64 until; /* the newest of their times */
} Missed;

/* At most this many children's missed counts wait in memory. */
#define MISSED_CHILDREN_MAX 256

/* The writer's statements, prepared once. */
enum {
  W_FIND,
  W_BUMP,
  W_INSERT,
  W_NEXT_SEQ,
  W_COUNT,
  W_OLDEST,
  W_DROP,
  W_LOSS,
  W_N
};

static const char *const writer_sql[W_N] = {
  [W_FIND] = "SELECT id FROM events WHERE child = ?1 AND slot = ?2 AND name = ?3 AND rule IS ?4 "
             "AND mac IS ?5 AND address IS ?6",
  [W_BUMP] = "UPDATE events SET count = count + ?2, time = min (time, ?3), last = max (last, ?4) "
             "WHERE id = ?1",
  [W_INSERT] = "INSERT INTO events (child, seq, time, last, slot, name, rule, category, count, "
               "mac, address) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
  [W_NEXT_SEQ] = "SELECT ifnull (max (seq), 0) + 1 FROM events WHERE child = ?1",
  [W_COUNT] = "SELECT count (*) FROM events WHERE child = ?1",
  /* The oldest: those whose last block is oldest (an entry still blocked
   * again and again is not old), then the first made. */
  [W_OLDEST] = "SELECT count (*), ifnull (sum (count), 0), ifnull (max (last), 0) FROM "
               "(SELECT count, last FROM events WHERE child = ?1 ORDER BY last, seq LIMIT ?2)",
  [W_DROP] = "DELETE FROM events WHERE id IN "
             "(SELECT id FROM events WHERE child = ?1 ORDER BY last, seq LIMIT ?2)",
  [W_LOSS] = "INSERT INTO losses (child, dropped_entries, dropped_blocked, missed, until) "
             "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (child) DO UPDATE SET "
             "dropped_entries = dropped_entries + excluded.dropped_entries, "
             "dropped_blocked = dropped_blocked + excluded.dropped_blocked, "
             "missed = missed + excluded.missed, until = max (until, excluded.until)",
};

struct _TrellisEventLog {
  char *path; /* (owned) */

  GMutex db_lock;
  sqlite3 *db;          /* (owned) guarded by db_lock */
  sqlite3_stmt *w[W_N]; /* (owned) used by the writer under db_lock */

  GMutex read_lock;
  sqlite3 *rdb; /* (owned) read-only, guarded by read_lock */

  GMutex queue_lock;
  GCond queue_cond;   /* writer: work arrived, flush asked, stop */
  GCond done_cond;    /* flushers: a batch finished */
  GPtrArray *queue;   /* (owned) QueuedEvent in arrival order, guarded by queue_lock */
  GTree *queued;      /* (owned) the same entries by fold key */
  GHashTable *missed; /* (owned) child → Missed, guarded by queue_lock */
  gint64 first_usec;  /* monotonic time the oldest queued entry arrived */
  guint64 seq_queued; /* blocks accepted so far */
  guint64 seq_done;   /* blocks committed or lost so far */
  guint flushers;
  gboolean stop;
  TrellisEventLogStats stats;
  GError *last_error; /* (owned) (nullable) */

  GThread *writer;   /* (owned) */
  GThreadPool *jobs; /* (owned) the _async jobs, one at a time */
  gint closing;      /* atomic: free() has begun */
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
set_sqlite_error (GError **error,
                  sqlite3 *db,
                  int rc,
                  const char *what)
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
           gsize max,
           gboolean nullable)
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
check_string (const char *what,
              const char *s,
              gsize max,
              gboolean nullable,
              GError **error)
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
  g_free (event->mac);
  g_free (event->address);
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
               int col)
{
  const unsigned char *s = sqlite3_column_text (stmt, col);

  return s != NULL ? g_strdup ((const char *) s) : NULL;
}

/* Binds NULL for a NULL string; SQLITE_TRANSIENT is not needed: every
 * statement here is stepped while the caller's strings are alive. */
static int
bind_text (sqlite3_stmt *stmt,
           int idx,
           const char *s)
{
  if (s == NULL)
    return sqlite3_bind_null (stmt, idx);
  return sqlite3_bind_text (stmt, idx, s, -1, SQLITE_STATIC);
}

/* ------------------------------------------------------------------------ */
/* Schema                                                                   */

#define FOLD G_STRINGIFY (TRELLIS_EVENT_LOG_FOLD_SECONDS)

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

  /* 1 → 2: one row per block becomes one entry per child, name, rule and
   * fold interval, with the count of its blocks; every block is kept.  An
   * entry's seq numbers it within its child's log (the order of the rows
   * before); losses says what a child's log dropped or missed. */
  "ALTER TABLE events RENAME TO events_v1;"
  "DROP INDEX events_child_time;"
  "DROP INDEX events_time;"
  "CREATE TABLE events ("
  "  id INTEGER PRIMARY KEY,"
  "  child TEXT NOT NULL,"
  "  seq INTEGER NOT NULL,"
  "  time INTEGER NOT NULL,"
  "  last INTEGER NOT NULL,"
  "  slot INTEGER NOT NULL,"
  "  name TEXT NOT NULL,"
  "  rule TEXT,"
  "  category TEXT,"
  "  count INTEGER NOT NULL DEFAULT 1 CHECK (count > 0));"
  "INSERT INTO events (child, seq, time, last, slot, name, rule, category, count)"
  "  SELECT child, row_number () OVER (PARTITION BY child ORDER BY min (id)),"
  "         min (time), max (time), slot, name, rule, max (category), count (*)"
  "  FROM (SELECT id, child, time, name, rule, category,"
  "               (time - (time % " FOLD " + " FOLD ") % " FOLD ") / " FOLD " AS slot"
  "        FROM events_v1)"
  "  GROUP BY child, slot, name, rule"
  "  ORDER BY min (id);"
  "DROP TABLE events_v1;"
  "CREATE UNIQUE INDEX events_child_seq ON events (child, seq);"
  "CREATE INDEX events_fold ON events (child, slot, name);"
  "CREATE INDEX events_child_last ON events (child, last);"
  "CREATE INDEX events_time ON events (time);"
  "CREATE TABLE losses ("
  "  child TEXT PRIMARY KEY,"
  "  dropped_entries INTEGER NOT NULL DEFAULT 0,"
  "  dropped_blocked INTEGER NOT NULL DEFAULT 0,"
  "  missed INTEGER NOT NULL DEFAULT 0,"
  "  until INTEGER NOT NULL DEFAULT 0);",

  /* 2 → 3: a gateway's blocks name the device that asked, by its MAC and
   * its address (either may be unknown); desktop blocks have neither. */
  "ALTER TABLE events ADD COLUMN mac TEXT;"
  "ALTER TABLE events ADD COLUMN address TEXT;"
  "CREATE INDEX events_mac ON events (mac) WHERE mac IS NOT NULL;"
  "CREATE INDEX events_address ON events (address) WHERE address IS NOT NULL;",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == TRELLIS_EVENT_LOG_SCHEMA_VERSION);

/* The fold interval of a block at @time (floor, for any sign). */
static gint64
fold_slot (gint64 time)
{
  gint64 f = TRELLIS_EVENT_LOG_FOLD_SECONDS;

  return (time - ((time % f) + f) % f) / f;
}

static int
exec_simple (sqlite3 *db,
             const char *sql)
{
  return sqlite3_exec (db, sql, NULL, NULL, NULL);
}

/* Reads one integer from a single-row statement such as a PRAGMA. */
static int
query_int (sqlite3 *db,
           const char *sql,
           gint64 *ret_value)
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
setup_db (sqlite3 *db,
          GError **error)
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
    rc = exec_simple (db, "PRAGMA journal_size_limit=" G_STRINGIFY (TRELLIS_EVENT_LOG_WAL_MAX));
  if (rc == SQLITE_OK)
    rc = exec_simple (db, "PRAGMA wal_autocheckpoint=" G_STRINGIFY (TRELLIS_EVENT_LOG_WAL_PAGES));
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
prepare_directory (const char *path,
                   GError **error)
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
                         ? TRELLIS_EVENT_LOG_ERROR_PERMISSION
                         : TRELLIS_EVENT_LOG_ERROR_IO,
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
                   "it must not be",
                   dir, (unsigned) (st.st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

/* Creates the database file 0600, or tightens an existing one to 0600. */
static gboolean
prepare_file (const char *path,
              GError **error)
{
  struct stat st;
  int fd;

  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, TRELLIS_EVENT_LOG_ERROR,
                   saved == EACCES || saved == EPERM || saved == EROFS
                     ? TRELLIS_EVENT_LOG_ERROR_PERMISSION
                     : TRELLIS_EVENT_LOG_ERROR_IO,
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
move_aside (const char *path,
            GError **error)
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
open_db (const char *path,
         sqlite3 **ret_db,
         GError **error)
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

/*
 * Removes the databases move_aside() set aside next to @path (PATH.corrupt-
 * <time>, PATH.corrupt-<time>.<n>, and their -wal) whose <time> is before
 * @older_than, adding each removed path to @removed.  Anything else in the
 * directory, and anything not a regular file, is left alone.
 */
static gboolean
purge_set_aside (const char *path,
                 gint64 older_than,
                 GPtrArray *removed,
                 GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strconcat (base, ".corrupt-", NULL);
  gsize prefix_len = strlen (prefix);
  g_autoptr(GError) local_error = NULL;
  int saved = 0;
  const char *name;
  GDir *d;

  d = g_dir_open (dir, 0, &local_error);
  if (d == NULL)
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_IO,
                   "Cannot look for damaged event logs in %s: %s", dir, local_error->message);
      return FALSE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *full = NULL;
      const char *p;
      gint64 when = 0;
      guint digits = 0;
      struct stat st;

      if (strncmp (name, prefix, prefix_len) != 0)
        continue;
      for (p = name + prefix_len; g_ascii_isdigit (*p) && digits < 18; p++, digits++)
        when = when * 10 + (*p - '0');
      if (digits == 0 || g_ascii_isdigit (*p))
        continue;
      if (*p == '.')
        {
          guint n = 0;

          for (p++; g_ascii_isdigit (*p) && n < 4; p++)
            n++;
          if (n == 0 || g_ascii_isdigit (*p))
            continue;
        }
      if (*p != '\0' && strcmp (p, "-wal") != 0)
        continue;
      if (when >= older_than)
        continue;
      full = g_build_filename (dir, name, NULL);
      if (lstat (full, &st) < 0 || !S_ISREG (st.st_mode))
        continue;
      if (unlink (full) < 0)
        {
          if (errno != ENOENT && saved == 0)
            saved = errno;
          continue;
        }
      g_ptr_array_add (removed, g_steal_pointer (&full));
    }
  g_dir_close (d);
  if (saved != 0)
    {
      g_set_error (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_IO,
                   "Cannot remove a damaged event log in %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* The second connection, for reads only.  Opened after setup_db(), so the
 * schema is current. */
static int
open_reader (const char *path,
             sqlite3 **ret_db,
             GError **error)
{
  sqlite3 *db = NULL;
  int rc;

  rc = sqlite3_open_v2 (path, &db,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "Opening the event log for reading");
      sqlite3_close (db);
      return rc;
    }
  sqlite3_busy_timeout (db, 5000);
  sqlite3_extended_result_codes (db, 1);
  *ret_db = db;
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------ */
/* The writer                                                               */

/* A child's part of one batch. */
typedef struct {
  gint64 next_seq; /* 0 until read from the database */
  guint inserted;
} ChildBatch;

static sqlite3_stmt *
wstmt (TrellisEventLog *log,
       int which)
{
  sqlite3_stmt *stmt = log->w[which];

  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return stmt;
}

/* Steps @stmt, which must give one row, into @ret_value (its column 0). */
static int
step_int (sqlite3_stmt *stmt,
          gint64 *ret_value)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    {
      *ret_value = sqlite3_column_int64 (stmt, 0);
      rc = SQLITE_OK;
    }
  else if (rc == SQLITE_DONE)
    rc = SQLITE_ERROR;
  sqlite3_reset (stmt);
  return rc;
}

static int
step_done (sqlite3_stmt *stmt)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Adds to what @child's log lost. */
static int
add_loss (TrellisEventLog *log,
          const char *child,
          guint64 dropped_entries,
          guint64 dropped_blocked,
          guint64 missed,
          gint64 until)
{
  sqlite3_stmt *stmt = wstmt (log, W_LOSS);

  bind_text (stmt, 1, child);
  sqlite3_bind_int64 (stmt, 2, (gint64) MIN (dropped_entries, G_MAXINT64));
  sqlite3_bind_int64 (stmt, 3, (gint64) MIN (dropped_blocked, G_MAXINT64));
  sqlite3_bind_int64 (stmt, 4, (gint64) MIN (missed, G_MAXINT64));
  sqlite3_bind_int64 (stmt, 5, until);
  return step_done (stmt);
}

/* Counts @ev into the entry it folds into, or makes a new entry. */
static int
fold_one (TrellisEventLog *log,
          const QueuedEvent *ev,
          GHashTable *children)
{
  ChildBatch *cb = g_hash_table_lookup (children, ev->child);
  sqlite3_stmt *stmt;
  gint64 id = 0;
  int rc;

  stmt = wstmt (log, W_FIND);
  bind_text (stmt, 1, ev->child);
  sqlite3_bind_int64 (stmt, 2, ev->slot);
  bind_text (stmt, 3, ev->name);
  bind_text (stmt, 4, ev->rule);
  bind_text (stmt, 5, ev->mac);
  bind_text (stmt, 6, ev->address);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return rc;
  if (rc == SQLITE_ROW)
    {
      stmt = wstmt (log, W_BUMP);
      sqlite3_bind_int64 (stmt, 1, id);
      sqlite3_bind_int64 (stmt, 2, (gint64) ev->count);
      sqlite3_bind_int64 (stmt, 3, ev->first);
      sqlite3_bind_int64 (stmt, 4, ev->last);
      return step_done (stmt);
    }

  if (cb == NULL)
    {
      cb = g_new0 (ChildBatch, 1);
      g_hash_table_insert (children, (gpointer) ev->child, cb);
    }
  if (cb->next_seq == 0)
    {
      stmt = wstmt (log, W_NEXT_SEQ);
      bind_text (stmt, 1, ev->child);
      rc = step_int (stmt, &cb->next_seq);
      if (rc != SQLITE_OK)
        return rc;
    }
  stmt = wstmt (log, W_INSERT);
  bind_text (stmt, 1, ev->child);
  sqlite3_bind_int64 (stmt, 2, cb->next_seq);
  sqlite3_bind_int64 (stmt, 3, ev->first);
  sqlite3_bind_int64 (stmt, 4, ev->last);
  sqlite3_bind_int64 (stmt, 5, ev->slot);
  bind_text (stmt, 6, ev->name);
  bind_text (stmt, 7, ev->rule);
  bind_text (stmt, 8, ev->category);
  sqlite3_bind_int64 (stmt, 9, (gint64) ev->count);
  bind_text (stmt, 10, ev->mac);
  bind_text (stmt, 11, ev->address);
  rc = step_done (stmt);
  if (rc == SQLITE_OK)
    {
      cb->next_seq++;
      cb->inserted++;
    }
  return rc;
}

/* Keeps @child under the cap: removes its oldest entries (at most
 * TRIM_MAX) and says so in losses.  @ret_trimmed gets how many went. */
static int
trim_child (TrellisEventLog *log,
            const char *child,
            guint64 *ret_trimmed)
{
  sqlite3_stmt *stmt;
  gint64 n = 0, excess, blocked = 0, until = 0;
  guint64 removed;
  int rc;

  stmt = wstmt (log, W_COUNT);
  bind_text (stmt, 1, child);
  rc = step_int (stmt, &n);
  if (rc != SQLITE_OK || n <= TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX)
    return rc;
  excess = MIN (n - TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX, TRELLIS_EVENT_LOG_TRIM_MAX);

  /* What goes, then the same rows (the same query, in one transaction). */
  stmt = wstmt (log, W_OLDEST);
  bind_text (stmt, 1, child);
  sqlite3_bind_int64 (stmt, 2, excess);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      blocked = sqlite3_column_int64 (stmt, 1);
      until = sqlite3_column_int64 (stmt, 2);
      rc = SQLITE_OK;
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_OK)
    return rc;

  stmt = wstmt (log, W_DROP);
  bind_text (stmt, 1, child);
  sqlite3_bind_int64 (stmt, 2, excess);
  rc = step_done (stmt);
  if (rc != SQLITE_OK)
    return rc;
  removed = (guint64) sqlite3_changes (log->db);
  *ret_trimmed += removed;
  return add_loss (log, child, removed, (guint64) MAX (blocked, 0), 0, until);
}

/* Commits @batch (and the @missed counts) in one transaction.  Called with
 * db_lock held.  @ret_trimmed gets the entries removed for the cap. */
static int
write_batch (TrellisEventLog *log,
             GPtrArray *batch,
             GHashTable *missed,
             guint64 *ret_trimmed)
{
  g_autoptr(GHashTable) children = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  GHashTableIter iter;
  gpointer key, value;
  guint64 trimmed = 0;
  guint i;
  int rc;

  rc = exec_simple (log->db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK)
    return rc;
  for (i = 0; i < batch->len && rc == SQLITE_OK; i++)
    rc = fold_one (log, g_ptr_array_index (batch, i), children);
  g_hash_table_iter_init (&iter, children);
  while (rc == SQLITE_OK && g_hash_table_iter_next (&iter, &key, &value))
    if (((ChildBatch *) value)->inserted > 0)
      rc = trim_child (log, key, &trimmed);
  g_hash_table_iter_init (&iter, missed);
  while (rc == SQLITE_OK && g_hash_table_iter_next (&iter, &key, &value))
    {
      const Missed *m = value;

      rc = add_loss (log, key, 0, 0, m->count, m->until);
    }
  if (rc == SQLITE_OK)
    rc = exec_simple (log->db, "COMMIT");
  if (rc != SQLITE_OK)
    {
      /* Keep the first error: the rollback's own result does not matter. */
      if (!sqlite3_get_autocommit (log->db))
        exec_simple (log->db, "ROLLBACK");
      return rc;
    }
  *ret_trimmed = trimmed;
  return SQLITE_OK;
}

static gint
queued_compare (gconstpointer a,
                gconstpointer b,
                gpointer user_data)
{
  const QueuedEvent *x = a;
  const QueuedEvent *y = b;
  int c;

  if (x->slot != y->slot)
    return x->slot < y->slot ? -1 : 1;
  if ((c = strcmp (x->child, y->child)) != 0)
    return c;
  if ((c = strcmp (x->name, y->name)) != 0)
    return c;
  if ((c = g_strcmp0 (x->mac, y->mac)) != 0)
    return c;
  if ((c = g_strcmp0 (x->address, y->address)) != 0)
    return c;
  return g_strcmp0 (x->rule, y->rule);
}

/* A fresh, empty queue.  Called with queue_lock held (or before the writer). */
static void
queue_reset (TrellisEventLog *log)
{
  log->queue = g_ptr_array_new_with_free_func (g_free);
  /* Keys only: the array owns the entries.  A balanced tree, not a hash
   * table: the names are the children's, and must not choose its shape. */
  log->queued = g_tree_new_full (queued_compare, NULL, NULL, NULL);
  log->missed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static gpointer
writer_thread (gpointer data)
{
  TrellisEventLog *log = data;

  g_mutex_lock (&log->queue_lock);
  for (;;)
    {
      g_autoptr(GPtrArray) batch = NULL;
      g_autoptr(GTree) tree = NULL;
      g_autoptr(GHashTable) missed = NULL;
      GError *error = NULL;
      guint64 events = 0, trimmed = 0;
      guint i;
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
      tree = g_steal_pointer (&log->queued);
      missed = g_steal_pointer (&log->missed);
      queue_reset (log);
      g_mutex_unlock (&log->queue_lock);

      for (i = 0; i < batch->len; i++)
        events += ((const QueuedEvent *) g_ptr_array_index (batch, i))->count;

      g_mutex_lock (&log->db_lock);
      rc = write_batch (log, batch, missed, &trimmed);
      if (rc != SQLITE_OK)
        set_sqlite_error (&error, log->db, rc, "Writing blocked events");
      g_mutex_unlock (&log->db_lock);

      g_mutex_lock (&log->queue_lock);
      if (rc == SQLITE_OK)
        {
          log->stats.written += events;
          log->stats.trimmed += trimmed;
        }
      else
        {
          log->stats.lost += events;
          log->stats.write_errors++;
          g_clear_error (&log->last_error);
          log->last_error = error;
        }
      log->seq_done += events;
      g_cond_broadcast (&log->done_cond);
    }
  g_mutex_unlock (&log->queue_lock);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The worker: reads, clears and purges off the caller's thread             */

typedef enum {
  JOB_READ_PAGE,
  JOB_READ_DEVICES,
  JOB_REPORT,
  JOB_CLEAR,
  JOB_PURGE,
} JobKind;

typedef struct {
  JobKind kind;
  char *child;  /* (owned) (nullable) */
  char *device; /* (owned) (nullable) */
  gboolean with_devices;
  guint64 before;
  guint limit;
  gint64 older_than;
  gpointer func; /* a TrellisEventLog*Func for kind */
  gpointer user_data;
} Job;

/* Runs in the worker thread: the job, then its function, once. */
static void
job_run (gpointer data,
         gpointer user_data)
{
  Job *job = data;
  TrellisEventLog *log = user_data;
  GError *error = NULL;

  if (g_atomic_int_get (&log->closing))
    g_set_error_literal (&error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_CLOSED,
                         "The event log is closing");

  switch (job->kind)
    {
    case JOB_READ_PAGE:
      {
        TrellisEventLogPage *page = NULL;

        if (error == NULL)
          {
            /* What was blocked a moment ago is there. */
            trellis_event_log_flush (log);
            page = trellis_event_log_read_page_full (log, job->child, job->with_devices, job->before,
                                                     job->limit, &error);
          }
        ((TrellisEventLogPageFunc) job->func) (page, error, job->user_data);
      }
      break;
    case JOB_READ_DEVICES:
      {
        TrellisEventLogPage *page = NULL;

        if (error == NULL)
          {
            trellis_event_log_flush (log);
            page = trellis_event_log_read_devices (log, job->child, job->device, job->before,
                                                   job->limit, &error);
          }
        ((TrellisEventLogPageFunc) job->func) (page, error, job->user_data);
      }
      break;
    case JOB_REPORT:
      {
        GPtrArray *counts = NULL;

        if (error == NULL)
          {
            trellis_event_log_flush (log);
            counts = trellis_event_log_report (log, job->older_than, &error);
          }
        ((TrellisEventLogReportFunc) job->func) (counts, error, job->user_data);
      }
      break;
    case JOB_CLEAR:
      {
        guint deleted = 0;

        if (error == NULL)
          trellis_event_log_clear (log, job->child, &deleted, &error);
        ((TrellisEventLogClearFunc) job->func) (error == NULL ? deleted : 0, error,
                                                job->user_data);
      }
      break;
    case JOB_PURGE:
      {
        char **removed = NULL;
        guint deleted = 0;

        if (error == NULL)
          trellis_event_log_purge (log, job->older_than, &deleted, &removed, &error);
        ((TrellisEventLogPurgeFunc) job->func) (error == NULL ? deleted : 0, removed, error,
                                                job->user_data);
      }
      break;
    }
  g_free (job->child);
  g_free (job->device);
  g_free (job);
}

/* Queues a job for the worker. */
static Job *
job_push (TrellisEventLog *log,
          JobKind kind,
          const char *child,
          guint64 before,
          guint limit,
          gint64 older_than,
          gpointer func,
          gpointer user_data)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  job->child = g_strdup (child);
  job->before = before;
  job->limit = limit;
  job->older_than = older_than;
  job->func = func;
  job->user_data = user_data;
  job->with_devices = TRUE;
  return job;
}

/* Hands @job to the worker. */
static void
job_start (TrellisEventLog *log,
           Job *job)
{
  /* An exclusive pool's thread is there already: this cannot fail. */
  g_thread_pool_push (log->jobs, job, NULL);
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

TrellisEventLog *
trellis_event_log_open (const char *path,
                        GError **error)
{
  return trellis_event_log_open_full (path, NULL, error);
}

TrellisEventLog *
trellis_event_log_open_full (const char *path,
                             gboolean *ret_recreated,
                             GError **error)
{
  g_autoptr(GError) local_error = NULL;
  TrellisEventLog *log;
  sqlite3 *db = NULL, *rdb = NULL;
  sqlite3_stmt *w[W_N] = { NULL };
  gboolean recreated = FALSE;
  guint i;
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

  for (i = 0; i < W_N; i++)
    {
      rc = sqlite3_prepare_v3 (db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &w[i], NULL);
      if (rc != SQLITE_OK)
        break;
    }
  if (rc == SQLITE_OK)
    rc = open_reader (path, &rdb, &local_error);
  else
    set_sqlite_error (&local_error, db, rc, "Preparing the event log");
  if (rc != SQLITE_OK)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      for (i = 0; i < W_N; i++)
        sqlite3_finalize (w[i]);
      sqlite3_close (db);
      return NULL;
    }

  log = g_new0 (TrellisEventLog, 1);
  log->path = g_strdup (path);
  log->db = db;
  log->rdb = rdb;
  memcpy (log->w, w, sizeof w);
  g_mutex_init (&log->db_lock);
  g_mutex_init (&log->read_lock);
  g_mutex_init (&log->queue_lock);
  g_cond_init (&log->queue_cond);
  g_cond_init (&log->done_cond);
  queue_reset (log);
  log->writer = g_thread_new ("trellis-eventlog", writer_thread, log);
  /* Exclusive: one thread of its own, there from now on. */
  log->jobs = g_thread_pool_new (job_run, log, 1, TRUE, NULL);

  if (ret_recreated != NULL)
    *ret_recreated = recreated;
  return log;
}

void
trellis_event_log_free (TrellisEventLog *log)
{
  guint i;

  if (log == NULL)
    return;

  /* Jobs first: a read flushes, which needs the writer.  Those not yet
   * started are told the log is closing. */
  g_atomic_int_set (&log->closing, 1);
  g_thread_pool_free (log->jobs, FALSE, TRUE);

  g_mutex_lock (&log->queue_lock);
  log->stop = TRUE;
  g_cond_signal (&log->queue_cond);
  g_mutex_unlock (&log->queue_lock);
  g_thread_join (log->writer);

  for (i = 0; i < W_N; i++)
    sqlite3_finalize (log->w[i]);
  sqlite3_close (log->rdb);
  /* Closing the last connection checkpoints the WAL into the database. */
  sqlite3_close (log->db);

  g_ptr_array_unref (log->queue);
  g_tree_unref (log->queued);
  g_hash_table_unref (log->missed);
  g_clear_error (&log->last_error);
  g_mutex_clear (&log->db_lock);
  g_mutex_clear (&log->read_lock);
  g_mutex_clear (&log->queue_lock);
  g_cond_clear (&log->queue_cond);
  g_cond_clear (&log->done_cond);
  g_free (log->path);
  g_free (log);
}

/* ------------------------------------------------------------------------ */
/* Blocked events                                                           */

static char *
pack (char *dst,
      const char *s,
      gsize len)
{
  memcpy (dst, s, len);
  dst[len] = '\0';
  return dst + len + 1;
}

/* Counts a block that found no room.  Called with queue_lock held. */
static void
count_missed (TrellisEventLog *log,
              const char *child,
              gint64 time)
{
  Missed *m;

  log->stats.dropped++;
  m = g_hash_table_lookup (log->missed, child);
  if (m == NULL)
    {
      if (g_hash_table_size (log->missed) >= MISSED_CHILDREN_MAX)
        return;
      m = g_new0 (Missed, 1);
      m->until = time;
      g_hash_table_insert (log->missed, g_strdup (child), m);
    }
  m->count++;
  m->until = MAX (m->until, time);
}

void
trellis_event_log_add_blocked (TrellisEventLog *log,
                               gint64 time,
                               const char *child,
                               const char *name,
                               const char *rule,
                               const char *category)
{
  trellis_event_log_add_blocked_device (log, time, child, NULL, NULL, name, rule, category);
}

void
trellis_event_log_add_blocked_device (TrellisEventLog *log,
                                      gint64 time,
                                      const char *child,
                                      const char *mac,
                                      const char *address,
                                      const char *name,
                                      const char *rule,
                                      const char *category)
{
  gsize child_len, name_len, rule_len, category_len, mac_len, address_len;
  QueuedEvent probe = { 0 };
  QueuedEvent *ev;
  char *p;

  g_return_if_fail (log != NULL);

  if (!string_ok (child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE)
      || !string_ok (name, TRELLIS_EVENT_LOG_NAME_MAX, FALSE)
      || !string_ok (rule, TRELLIS_EVENT_LOG_RULE_MAX, TRUE)
      || !string_ok (category, TRELLIS_EVENT_LOG_RULE_MAX, TRUE)
      || !string_ok (mac, TRELLIS_EVENT_LOG_DEVICE_MAX, TRUE)
      || !string_ok (address, TRELLIS_EVENT_LOG_DEVICE_MAX, TRUE))
    {
      g_mutex_lock (&log->queue_lock);
      log->stats.invalid++;
      g_mutex_unlock (&log->queue_lock);
      return;
    }

  probe.slot = fold_slot (time);
  probe.child = child;
  probe.name = name;
  probe.rule = rule;
  probe.mac = mac;
  probe.address = address;

  g_mutex_lock (&log->queue_lock);
  ev = g_tree_lookup (log->queued, &probe);
  if (ev != NULL)
    {
      /* A repeat: it only counts. */
      ev->count++;
      ev->first = MIN (ev->first, time);
      ev->last = MAX (ev->last, time);
      log->stats.queued++;
      log->stats.folded++;
      log->seq_queued++;
      g_mutex_unlock (&log->queue_lock);
      return;
    }
  if (log->queue->len >= TRELLIS_EVENT_LOG_QUEUE_MAX)
    {
      count_missed (log, child, time);
      g_mutex_unlock (&log->queue_lock);
      return;
    }

  child_len = strlen (child);
  name_len = strlen (name);
  rule_len = rule != NULL ? strlen (rule) : 0;
  category_len = category != NULL ? strlen (category) : 0;
  mac_len = mac != NULL ? strlen (mac) : 0;
  address_len = address != NULL ? strlen (address) : 0;
  ev = g_malloc (sizeof *ev + child_len + name_len + rule_len + category_len + mac_len
                 + address_len + 6);
  ev->first = ev->last = time;
  ev->slot = probe.slot;
  ev->count = 1;
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
    p = pack (p, category, category_len);
  ev->mac = mac != NULL ? p : NULL;
  if (mac != NULL)
    p = pack (p, mac, mac_len);
  ev->address = address != NULL ? p : NULL;
  if (address != NULL)
    pack (p, address, address_len);

  g_ptr_array_add (log->queue, ev);
  g_tree_insert (log->queued, ev, ev);
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
trellis_event_log_get_stats (TrellisEventLog *log,
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
/* Reads (read_lock held by the public wrappers)                            */

static sqlite3_stmt *
prepare_on (sqlite3 *db,
            const char *sql,
            GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "Preparing a query on the event log");
      return NULL;
    }
  return stmt;
}

/* On the writing connection (db_lock held). */
static sqlite3_stmt *
prepare (TrellisEventLog *log,
         const char *sql,
         GError **error)
{
  return prepare_on (log->db, sql, error);
}

#define EVENT_COLUMNS "seq, time, last, count, child, name, rule, category, mac, address, id"

static TrellisEvent *
event_from_row (sqlite3_stmt *stmt)
{
  TrellisEvent *ev = g_new0 (TrellisEvent, 1);

  ev->seq = (guint64) sqlite3_column_int64 (stmt, 0);
  ev->time = sqlite3_column_int64 (stmt, 1);
  ev->last = sqlite3_column_int64 (stmt, 2);
  ev->count = (guint64) MAX (sqlite3_column_int64 (stmt, 3), 1);
  ev->child = column_strdup (stmt, 4);
  ev->name = column_strdup (stmt, 5);
  ev->rule = column_strdup (stmt, 6);
  ev->category = column_strdup (stmt, 7);
  ev->mac = column_strdup (stmt, 8);
  ev->address = column_strdup (stmt, 9);
  ev->id = (guint64) sqlite3_column_int64 (stmt, 10);
  return ev;
}

/* Steps @stmt to the end, collecting entries; finalizes it. */
static GPtrArray *
collect_events (sqlite3 *db,
                sqlite3_stmt *stmt,
                GError **error)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) trellis_event_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (events, event_from_row (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, "Reading the event log");
      return NULL;
    }
  return g_steal_pointer (&events);
}

GPtrArray *
trellis_event_log_list (TrellisEventLog *log,
                        const char *child,
                        guint limit,
                        GError **error)
{
  sqlite3_stmt *stmt;
  GPtrArray *events = NULL;

  g_return_val_if_fail (log != NULL, NULL);
  if (child != NULL && !check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return NULL;

  g_mutex_lock (&log->read_lock);
  /* LIMIT -1 is SQLite's "no limit". */
  stmt = prepare_on (log->rdb,
                     child != NULL
                       ? "SELECT " EVENT_COLUMNS " FROM events WHERE child = ?1 "
                         "ORDER BY seq DESC LIMIT ?2"
                       : "SELECT " EVENT_COLUMNS " FROM events ORDER BY id DESC LIMIT ?2",
                     error);
  if (stmt != NULL)
    {
      if (child != NULL)
        bind_text (stmt, 1, child);
      sqlite3_bind_int64 (stmt, 2, limit > 0 ? (gint64) limit : -1);
      events = collect_events (log->rdb, stmt, error);
    }
  g_mutex_unlock (&log->read_lock);
  return events;
}

/* A child's own reads leave out what a gateway's devices asked: a device is
 * known by a MAC and an address anyone on the network can take, so what
 * it asked is shown to the parents only. */
#define ACCOUNTS_ONLY "(?9 OR (mac IS NULL AND address IS NULL))"

static gboolean
summary_locked (TrellisEventLog *log,
                const char *child,
                gboolean with_devices,
                TrellisEventLogSummary *ret_summary,
                GError **error)
{
  TrellisEventLogSummary summary = { 0 };
  sqlite3_stmt *stmt;
  int rc;

  stmt = prepare_on (log->rdb, "SELECT count (*), ifnull (sum (count), 0) FROM events "
                               "WHERE child = ?1 AND " ACCOUNTS_ONLY,
                     error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, child);
  sqlite3_bind_int (stmt, 9, with_devices);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      summary.entries = (guint64) sqlite3_column_int64 (stmt, 0);
      summary.blocked = (guint64) sqlite3_column_int64 (stmt, 1);
      rc = SQLITE_DONE;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, log->rdb, rc, "Counting the event log");

  stmt = prepare_on (log->rdb, "SELECT dropped_entries, dropped_blocked, missed, until "
                               "FROM losses WHERE child = ?1",
                     error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, child);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      summary.dropped_entries = (guint64) sqlite3_column_int64 (stmt, 0);
      summary.dropped_blocked = (guint64) sqlite3_column_int64 (stmt, 1);
      summary.missed = (guint64) sqlite3_column_int64 (stmt, 2);
      summary.losses_until = sqlite3_column_int64 (stmt, 3);
      rc = SQLITE_DONE;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, log->rdb, rc, "Reading what the event log lost");
  *ret_summary = summary;
  return TRUE;
}

gboolean
trellis_event_log_get_summary (TrellisEventLog *log,
                               const char *child,
                               TrellisEventLogSummary *ret_summary,
                               GError **error)
{
  gboolean ok;

  g_return_val_if_fail (log != NULL, FALSE);
  g_return_val_if_fail (ret_summary != NULL, FALSE);
  if (!check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return FALSE;

  g_mutex_lock (&log->read_lock);
  ok = summary_locked (log, child, TRUE, ret_summary, error);
  g_mutex_unlock (&log->read_lock);
  return ok;
}

void
trellis_event_log_page_free (TrellisEventLogPage *page)
{
  if (page == NULL)
    return;
  g_clear_pointer (&page->events, g_ptr_array_unref);
  g_free (page);
}

static TrellisEventLogPage *
read_page_locked (TrellisEventLog *log,
                  const char *child,
                  gboolean with_devices,
                  guint64 before,
                  guint limit,
                  GError **error)
{
  g_autoptr(TrellisEventLogPage) page = g_new0 (TrellisEventLogPage, 1);
  sqlite3_stmt *stmt;

  if (before == 0 && !summary_locked (log, child, with_devices, &page->summary, error))
    return NULL;
  page->has_summary = before == 0;

  stmt = prepare_on (log->rdb,
                     "SELECT " EVENT_COLUMNS " FROM events WHERE child = ?1 AND seq < ?2 "
                     "AND " ACCOUNTS_ONLY " ORDER BY seq DESC LIMIT ?3",
                     error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, child);
  sqlite3_bind_int (stmt, 9, with_devices);
  sqlite3_bind_int64 (stmt, 2, before > 0 && before <= G_MAXINT64 ? (gint64) before : G_MAXINT64);
  /* One more than asked: whether there is a next page. */
  sqlite3_bind_int64 (stmt, 3, (gint64) limit + 1);
  page->events = collect_events (log->rdb, stmt, error);
  if (page->events == NULL)
    return NULL;
  if (page->events->len > limit)
    {
      g_ptr_array_set_size (page->events, limit);
      page->next = ((TrellisEvent *) g_ptr_array_index (page->events, limit - 1))->seq;
    }
  return g_steal_pointer (&page);
}

TrellisEventLogPage *
trellis_event_log_read_page (TrellisEventLog *log,
                             const char *child,
                             guint64 before,
                             guint limit,
                             GError **error)
{
  return trellis_event_log_read_page_full (log, child, TRUE, before, limit, error);
}

TrellisEventLogPage *
trellis_event_log_read_page_full (TrellisEventLog *log,
                                  const char *child,
                                  gboolean with_devices,
                                  guint64 before,
                                  guint limit,
                                  GError **error)
{
  TrellisEventLogPage *page;
  int rc;

  g_return_val_if_fail (log != NULL, NULL);
  if (!check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return NULL;
  if (limit == 0)
    limit = TRELLIS_EVENT_LOG_PAGE_DEFAULT;
  limit = MIN (limit, TRELLIS_EVENT_LOG_PAGE_MAX);

  g_mutex_lock (&log->read_lock);
  /* One read transaction: the summary and the page agree. */
  rc = exec_simple (log->rdb, "BEGIN");
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, log->rdb, rc, "Reading the event log");
      g_mutex_unlock (&log->read_lock);
      return NULL;
    }
  page = read_page_locked (log, child, with_devices, before, limit, error);
  exec_simple (log->rdb, "COMMIT");
  g_mutex_unlock (&log->read_lock);
  return page;
}

/* The parents' view of a gateway: the entries of @child and/or of the
 * device @device, by the entry's id (the cursor), newest first. */
static TrellisEventLogPage *
read_devices_locked (TrellisEventLog *log,
                     const char *child,
                     const char *device,
                     guint64 before,
                     guint limit,
                     GError **error)
{
  g_autoptr(TrellisEventLogPage) page = g_new0 (TrellisEventLogPage, 1);
  sqlite3_stmt *stmt;
  int rc;

#define DEVICE_WHERE "(?1 IS NULL OR child = ?1) AND (?2 IS NULL OR mac = ?2 OR address = ?2)"
  if (before == 0)
    {
      stmt = prepare_on (log->rdb, "SELECT count (*), ifnull (sum (count), 0) FROM events WHERE " DEVICE_WHERE,
                         error);
      if (stmt == NULL)
        return NULL;
      bind_text (stmt, 1, child);
      bind_text (stmt, 2, device);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          page->summary.entries = (guint64) sqlite3_column_int64 (stmt, 0);
          page->summary.blocked = (guint64) sqlite3_column_int64 (stmt, 1);
          rc = SQLITE_DONE;
        }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE)
        {
          set_sqlite_error (error, log->rdb, rc, "Counting the event log");
          return NULL;
        }
      page->has_summary = TRUE;
    }
  stmt = prepare_on (log->rdb,
                     "SELECT " EVENT_COLUMNS " FROM events WHERE " DEVICE_WHERE " AND id < ?3 "
                     "ORDER BY id DESC LIMIT ?4",
                     error);
#undef DEVICE_WHERE
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, child);
  bind_text (stmt, 2, device);
  sqlite3_bind_int64 (stmt, 3, before > 0 && before <= G_MAXINT64 ? (gint64) before : G_MAXINT64);
  sqlite3_bind_int64 (stmt, 4, (gint64) limit + 1);
  page->events = collect_events (log->rdb, stmt, error);
  if (page->events == NULL)
    return NULL;
  if (page->events->len > limit)
    {
      g_ptr_array_set_size (page->events, limit);
      page->next = ((TrellisEvent *) g_ptr_array_index (page->events, limit - 1))->id;
    }
  return g_steal_pointer (&page);
}

TrellisEventLogPage *
trellis_event_log_read_devices (TrellisEventLog *log,
                                const char *child,
                                const char *device,
                                guint64 before,
                                guint limit,
                                GError **error)
{
  TrellisEventLogPage *page;
  int rc;

  g_return_val_if_fail (log != NULL, NULL);
  if (child != NULL && !check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return NULL;
  if (device != NULL && !check_string ("device", device, TRELLIS_EVENT_LOG_DEVICE_MAX, FALSE, error))
    return NULL;
  if (limit == 0)
    limit = TRELLIS_EVENT_LOG_PAGE_DEFAULT;
  limit = MIN (limit, TRELLIS_EVENT_LOG_PAGE_MAX);

  g_mutex_lock (&log->read_lock);
  rc = exec_simple (log->rdb, "BEGIN");
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, log->rdb, rc, "Reading the event log");
      g_mutex_unlock (&log->read_lock);
      return NULL;
    }
  page = read_devices_locked (log, child, device, before, limit, error);
  exec_simple (log->rdb, "COMMIT");
  g_mutex_unlock (&log->read_lock);
  return page;
}

void
trellis_event_log_count_free (TrellisEventLogCount *count)
{
  if (count == NULL)
    return;
  g_free (count->child);
  g_free (count->category);
  g_free (count);
}

GPtrArray *
trellis_event_log_report (TrellisEventLog *log,
                          gint64 since,
                          GError **error)
{
  g_autoptr(GPtrArray) counts = g_ptr_array_new_with_free_func ((GDestroyNotify) trellis_event_log_count_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (log != NULL, NULL);

  g_mutex_lock (&log->read_lock);
  /* Counts only: no name, no rule's text (a deny= rule names its site),
   * and devices counted, never named. */
  stmt = prepare_on (log->rdb,
                     "SELECT child, category, count (*), ifnull (sum (count), 0), "
                     "count (DISTINCT ifnull (mac, address)) FROM events WHERE last >= ?1 "
                     "GROUP BY child, category ORDER BY child, category",
                     error);
  if (stmt == NULL)
    {
      g_mutex_unlock (&log->read_lock);
      return NULL;
    }
  sqlite3_bind_int64 (stmt, 1, since);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TrellisEventLogCount *c = g_new0 (TrellisEventLogCount, 1);

      c->child = column_strdup (stmt, 0);
      c->category = column_strdup (stmt, 1);
      c->entries = (guint64) sqlite3_column_int64 (stmt, 2);
      c->blocked = (guint64) sqlite3_column_int64 (stmt, 3);
      c->devices = (guint64) sqlite3_column_int64 (stmt, 4);
      g_ptr_array_add (counts, c);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, log->rdb, rc, "Counting the event log");
      g_mutex_unlock (&log->read_lock);
      return NULL;
    }
  g_mutex_unlock (&log->read_lock);
  return g_steal_pointer (&counts);
}

/* ------------------------------------------------------------------------ */
/* Deletes: in chunks, each its own transaction, db_lock held per chunk     */

/* Runs one bound DELETE/UPDATE; @ret_changes gets the row count. */
static gboolean
run_change (TrellisEventLog *log,
            sqlite3_stmt *stmt,
            const char *what,
            guint *ret_changes,
            GError **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, log->db, rc, what);
  if (ret_changes != NULL)
    *ret_changes = (guint) sqlite3_changes (log->db);
  return TRUE;
}

/*
 * Runs @sql, a DELETE of at most TRELLIS_EVENT_LOG_DELETE_CHUNK rows with
 * the text ?1 (nullable) and the integer ?2, until it deletes nothing,
 * taking db_lock for each chunk only.  @ret_deleted counts the rows.
 */
static gboolean
delete_chunked (TrellisEventLog *log,
                const char *sql,
                const char *text,
                gint64 value,
                const char *what,
                guint *ret_deleted,
                GError **error)
{
  guint total = 0;

  for (;;)
    {
      sqlite3_stmt *stmt;
      guint n = 0;
      gboolean ok;

      g_mutex_lock (&log->db_lock);
      stmt = prepare (log, sql, error);
      ok = stmt != NULL;
      if (ok)
        {
          if (text != NULL)
            bind_text (stmt, 1, text);
          sqlite3_bind_int64 (stmt, 2, value);
          ok = run_change (log, stmt, what, &n, error);
        }
      g_mutex_unlock (&log->db_lock);
      if (!ok)
        return FALSE;
      total += n;
      if (n < TRELLIS_EVENT_LOG_DELETE_CHUNK)
        break;
    }
  *ret_deleted = total;
  return TRUE;
}

#define CHUNK G_STRINGIFY (TRELLIS_EVENT_LOG_DELETE_CHUNK)

gboolean
trellis_event_log_clear (TrellisEventLog *log,
                         const char *child,
                         guint *ret_deleted,
                         GError **error)
{
  sqlite3_stmt *stmt;
  gint64 max_id = 0;
  guint deleted = 0;
  gboolean ok = FALSE;
  int rc;

  g_return_val_if_fail (log != NULL, FALSE);
  if (child != NULL && !check_string ("child", child, TRELLIS_EVENT_LOG_CHILD_MAX, FALSE, error))
    return FALSE;

  /* Whatever was queued before the clear is cleared too; whatever comes
   * after it (a larger id) stays. */
  trellis_event_log_flush (log);

  g_mutex_lock (&log->db_lock);
  rc = query_int (log->db, "SELECT ifnull (max (id), 0) FROM events", &max_id);
  if (rc != SQLITE_OK)
    set_sqlite_error (error, log->db, rc, "Clearing the event log");
  g_mutex_unlock (&log->db_lock);
  if (rc != SQLITE_OK)
    return FALSE;

  if (!delete_chunked (log,
                       child != NULL
                         ? "DELETE FROM events WHERE id IN (SELECT id FROM events "
                           "WHERE child = ?1 AND id <= ?2 LIMIT " CHUNK ")"
                         : "DELETE FROM events WHERE id IN (SELECT id FROM events "
                           "WHERE id <= ?2 LIMIT " CHUNK ")",
                       child, max_id, "Clearing the event log", &deleted, error))
    return FALSE;

  g_mutex_lock (&log->db_lock);
  stmt = prepare (log,
                  child != NULL ? "DELETE FROM losses WHERE child = ?1" : "DELETE FROM losses",
                  error);
  if (stmt != NULL)
    {
      if (child != NULL)
        bind_text (stmt, 1, child);
      ok = run_change (log, stmt, "Clearing the event log", NULL, error);
    }
  g_mutex_unlock (&log->db_lock);

  if (ok && ret_deleted != NULL)
    *ret_deleted = deleted;
  return ok;
}

gboolean
trellis_event_log_purge (TrellisEventLog *log,
                         gint64 older_than,
                         guint *ret_deleted,
                         char ***ret_removed,
                         GError **error)
{
  static const char *const sql[] = {
    "DELETE FROM requests WHERE state != 'pending' AND answered < ?1 "
    "AND COALESCE (grant_until, 0) < ?1",
    "DELETE FROM pauses WHERE until < ?1",
    "DELETE FROM losses WHERE until < ?1",
  };
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  guint total = 0;
  guint i;
  int rc;

  g_return_val_if_fail (log != NULL, FALSE);

  /* The entries, chunk by chunk: there may be many. */
  if (!delete_chunked (log,
                       "DELETE FROM events WHERE id IN (SELECT id FROM events "
                       "WHERE time < ?2 LIMIT " CHUNK ")",
                       NULL, older_than, "Purging the event log", &total, error))
    return FALSE;

  /* The rest is small: one transaction. */
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

  /* A damaged log set aside holds events too: its time is up with theirs. */
  if (!purge_set_aside (log->path, older_than, removed, error))
    return FALSE;

  if (ret_deleted != NULL)
    *ret_deleted = total;
  if (ret_removed != NULL)
    {
      g_ptr_array_add (removed, NULL);
      *ret_removed = (char **) g_ptr_array_free (g_steal_pointer (&removed), FALSE);
    }
  return TRUE;
}

void
trellis_event_log_read_page_async (TrellisEventLog *log,
                                   const char *child,
                                   guint64 before,
                                   guint limit,
                                   TrellisEventLogPageFunc func,
                                   gpointer user_data)
{
  g_return_if_fail (log != NULL);
  g_return_if_fail (func != NULL);

  job_start (log, job_push (log, JOB_READ_PAGE, child, before, limit, 0, func, user_data));
}

void
trellis_event_log_read_page_full_async (TrellisEventLog *log,
                                        const char *child,
                                        gboolean with_devices,
                                        guint64 before,
                                        guint limit,
                                        TrellisEventLogPageFunc func,
                                        gpointer user_data)
{
  Job *job;

  g_return_if_fail (log != NULL);
  g_return_if_fail (func != NULL);

  job = job_push (log, JOB_READ_PAGE, child, before, limit, 0, func, user_data);
  job->with_devices = with_devices;
  job_start (log, job);
}

void
trellis_event_log_read_devices_async (TrellisEventLog *log,
                                      const char *child,
                                      const char *device,
                                      guint64 before,
                                      guint limit,
                                      TrellisEventLogPageFunc func,
                                      gpointer user_data)
{
  Job *job;

  g_return_if_fail (log != NULL);
  g_return_if_fail (func != NULL);

  job = job_push (log, JOB_READ_DEVICES, child, before, limit, 0, func, user_data);
  job->device = g_strdup (device);
  job_start (log, job);
}

void
trellis_event_log_report_async (TrellisEventLog *log,
                                gint64 since,
                                TrellisEventLogReportFunc func,
                                gpointer user_data)
{
  g_return_if_fail (log != NULL);
  g_return_if_fail (func != NULL);

  job_start (log, job_push (log, JOB_REPORT, NULL, 0, 0, since, func, user_data));
}

void
trellis_event_log_clear_async (TrellisEventLog *log,
                               const char *child,
                               TrellisEventLogClearFunc func,
                               gpointer user_data)
{
  g_return_if_fail (log != NULL);
  g_return_if_fail (func != NULL);

  job_start (log, job_push (log, JOB_CLEAR, child, 0, 0, 0, func, user_data));
}

void
trellis_event_log_purge_async (TrellisEventLog *log,
                               gint64 older_than,
                               TrellisEventLogPurgeFunc func,
                               gpointer user_data)
{
  g_return_if_fail (log != NULL);
  g_return_if_fail (func != NULL);

  job_start (log, job_push (log, JOB_PURGE, NULL, 0, 0, older_than, func, user_data));
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
  req->answered = sqlite3_column_int64 (stmt, 6); /* NULL reads as 0 */
  req->answer = column_strdup (stmt, 7);
  req->grant_until = sqlite3_column_int64 (stmt, 8);
  return req;
}

/* Steps @stmt to the end, collecting requests; finalizes it. */
static GPtrArray *
collect_requests (TrellisEventLog *log,
                  sqlite3_stmt *stmt,
                  GError **error)
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
request_add_locked (TrellisEventLog *log,
                    const char *child,
                    const char *name,
                    const char *message,
                    gint64 now,
                    guint32 *ret_id,
                    GError **error)
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
trellis_event_log_request_add (TrellisEventLog *log,
                               const char *child,
                               const char *name,
                               const char *message,
                               gint64 now,
                               guint32 *ret_id,
                               GError **error)
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
trellis_event_log_request_list (TrellisEventLog *log,
                                const char *child,
                                GError **error)
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
trellis_event_log_request_get (TrellisEventLog *log,
                               guint32 id,
                               TrellisRequest **ret_request,
                               GError **error)
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
trellis_event_log_request_answer (TrellisEventLog *log,
                                  guint32 id,
                                  const char *state,
                                  const char *answer,
                                  gint64 now,
                                  gint64 grant_until,
                                  GError **error)
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
trellis_event_log_grants_active (TrellisEventLog *log,
                                 gint64 now,
                                 GError **error)
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
trellis_event_log_pause_set (TrellisEventLog *log,
                             const char *child,
                             gint64 until,
                             GError **error)
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
                             const char *child)
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
