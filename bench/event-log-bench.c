/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * event-log-bench.c — what logging blocked queries costs the caller (the
 * NFQUEUE callback) and the machine, and what reading the log costs.  Not a
 * test: it prints numbers.
 *
 *   event-log-bench [--events N] [--names M] [--upgrade R] [--dir DIR]
 *
 * In a fresh database in DIR (default: a new temporary directory, removed
 * afterwards), four runs:
 *
 *   distinct  N blocks (default 100,000) of N different names, three
 *             children: each child's log fills to the cap and drops its
 *             oldest entries;
 *   repeats   N blocks of M names (default 1,000), one child: folded;
 *   read      the cap-full log of one child paged through with
 *             read_page() (500 an entry page), and one page read while
 *             another thread adds blocks;
 *   upgrade   a schema-1 database of R rows (default 200,000, one child,
 *             5,000 names over three days) opened (the migration), then
 *             paged through.
 *
 * For the runs that write: the wall time of the add_blocked() calls, the
 * time until flush() returns, the entries and bytes on disk (database +
 * -wal + -shm), and the growth of VmRSS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "daemon/event-log.h"

static gint64
vm_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmRSS:");
  if (line == NULL)
    return -1;
  return g_ascii_strtoll (line + strlen ("VmRSS:"), NULL, 10);
}

static gint64
file_size (const char *path,
           const char *suffix)
{
  g_autofree char *p = g_strconcat (path, suffix, NULL);
  struct stat st;

  return stat (p, &st) == 0 ? (gint64) st.st_size : 0;
}

static gint64
disk_bytes (const char *path)
{
  return file_size (path, "") + file_size (path, "-wal") + file_size (path, "-shm");
}

static void
remove_db (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
}

static double
ms (gint64 usec)
{
  return usec / 1000.0;
}

/* Logs @names[i % n] for @events blocks and prints what it cost. */
static gboolean
run_writes (const char *label,
            const char *path,
            GPtrArray *names,
            gint events,
            gboolean three_children)
{
  static const char *const children[] = { "alice", "bob", "carol" };
  static const char *const categories[] = { "gambling", "adult", "social", NULL };
  g_autoptr(GError) error = NULL;
  TrellisEventLog *log;
  TrellisEventLogStats stats;
  gint64 rss_before, rss_after, t0, t1, t2, t3, disk_flush, disk_close, entries = 0;
  guint64 dropped_entries = 0;
  gint i;

  remove_db (path);
  log = trellis_event_log_open (path, &error);
  if (log == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }

  rss_before = vm_rss_kib ();
  t0 = g_get_monotonic_time ();
  for (i = 0; i < events; i++)
    trellis_event_log_add_blocked (log, 1700000000 + i / 100,
                                   three_children ? children[i % 3] : "alice",
                                   g_ptr_array_index (names, (guint) i % names->len),
                                   "category", categories[i % 4]);
  t1 = g_get_monotonic_time ();
  rss_after = vm_rss_kib ();
  trellis_event_log_flush (log);
  t2 = g_get_monotonic_time ();
  trellis_event_log_get_stats (log, &stats);
  disk_flush = disk_bytes (path);
  for (i = 0; i < (three_children ? 3 : 1); i++)
    {
      TrellisEventLogSummary sum = { 0 };

      if (trellis_event_log_get_summary (log, children[i], &sum, NULL))
        {
          entries += (gint64) sum.entries;
          dropped_entries += sum.dropped_entries;
        }
    }
  trellis_event_log_free (log);
  t3 = g_get_monotonic_time ();
  disk_close = disk_bytes (path);

  printf ("%s: %d blocks of %u names, %s\n", label, events, names->len,
          three_children ? "three children" : "one child");
  printf ("  add_blocked calls:      %.3f ms total, %.3f us per call\n",
          ms (t1 - t0), (double) (t1 - t0) / events);
  printf ("  flush after the calls:  %.3f ms\n", ms (t2 - t1));
  printf ("  close (checkpoint):     %.3f ms\n", ms (t3 - t2));
  printf ("  queued/folded/written/dropped: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
          "/%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " (lost %" G_GUINT64_FORMAT ")\n",
          stats.queued, stats.folded, stats.written, stats.dropped, stats.lost);
  printf ("  entries kept/dropped:   %" G_GINT64_FORMAT "/%" G_GUINT64_FORMAT "\n",
          entries, dropped_entries);
  printf ("  on disk after flush:    %" G_GINT64_FORMAT " bytes (db + wal + shm)\n", disk_flush);
  printf ("  on disk after close:    %" G_GINT64_FORMAT " bytes (%.1f per entry)\n",
          disk_close, (double) disk_close / (double) MAX (entries, 1));
  printf ("  VmRSS growth (calls):   %" G_GINT64_FORMAT " KiB\n", rss_after - rss_before);
  return TRUE;
}

/* Pages through @child's log; prints the first page's time, the total and
 * the slowest page. */
static void
page_through (TrellisEventLog *log,
              const char *child,
              const char *label)
{
  guint64 before = 0, entries = 0;
  gint64 t0 = g_get_monotonic_time (), first = 0, slowest = 0;
  guint pages = 0;

  do
    {
      g_autoptr(GError) error = NULL;
      gint64 p0 = g_get_monotonic_time ();
      g_autoptr(TrellisEventLogPage) page = trellis_event_log_read_page (log, child, before, 0,
                                                                          &error);
      gint64 took = g_get_monotonic_time () - p0;

      if (page == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return;
        }
      if (pages == 0)
        first = took;
      slowest = MAX (slowest, took);
      entries += page->events->len;
      before = page->next;
      pages++;
    }
  while (before != 0);
  printf ("  %s: %" G_GUINT64_FORMAT " entries in %u pages: %.3f ms in all, first page "
          "(with the summary) %.3f ms, slowest page %.3f ms\n",
          label, entries, pages, ms (g_get_monotonic_time () - t0), ms (first), ms (slowest));
}

typedef struct {
  TrellisEventLog *log;
  gint stop;
  guint added;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  char name[64];

  while (!g_atomic_int_get (&w->stop))
    {
      g_snprintf (name, sizeof name, "w%u.example", w->added++ % 50000);
      trellis_event_log_add_blocked (w->log, 1800000000 + w->added / 1000, "bob", name,
                                     "deny", NULL);
      if (w->added % 1000 == 0)
        g_usleep (1000);
    }
  return NULL;
}

static gboolean
run_read (const char *path)
{
  g_autoptr(GError) error = NULL;
  TrellisEventLog *log;
  Writer w = { 0 };
  GThread *thread;
  guint i;

  remove_db (path);
  log = trellis_event_log_open (path, &error);
  if (log == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  for (i = 0; i < TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX; i++)
    {
      char name[64];

      g_snprintf (name, sizeof name, "r%u.blocked-site-%u.example", i, i % 997);
      trellis_event_log_add_blocked (log, 1700000000 + i, "alice", name, "category", "gambling");
    }
  trellis_event_log_flush (log);
  printf ("read: one child's log at the cap\n");
  page_through (log, "alice", "paged");
  w.log = log;
  thread = g_thread_new ("bench-writer", writer_thread, &w);
  g_usleep (100 * 1000);
  page_through (log, "alice", "paged while another child's blocks are written");
  g_atomic_int_set (&w.stop, 1);
  g_thread_join (thread);
  printf ("  (blocks added meanwhile: %u)\n", w.added);
  trellis_event_log_free (log);
  return TRUE;
}

static gint
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gboolean
run_upgrade (const char *path,
             gint rows)
{
  g_autoptr(GError) error = NULL;
  TrellisEventLog *log;
  TrellisEventLogSummary sum = { 0 };
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (25);
  g_autoptr(GArray) times = g_array_sized_new (FALSE, FALSE, sizeof (gint64), (guint) rows);
  gint64 t0, t1;
  gint i;

  remove_db (path);
  if (sqlite3_open (path, &db) != SQLITE_OK
      || sqlite3_exec (db,
                       "CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
                       "  child TEXT NOT NULL, name TEXT NOT NULL, rule TEXT, category TEXT);"
                       "CREATE INDEX events_child_time ON events (child, time);"
                       "CREATE INDEX events_time ON events (time);"
                       "CREATE TABLE requests (id INTEGER PRIMARY KEY, child TEXT NOT NULL,"
                       "  name TEXT NOT NULL, message TEXT, state TEXT NOT NULL,"
                       "  created INTEGER NOT NULL, answered INTEGER, answer TEXT, grant_until INTEGER);"
                       "CREATE INDEX requests_child_state ON requests (child, state);"
                       "CREATE TABLE pauses (child TEXT PRIMARY KEY, until INTEGER NOT NULL);"
                       "PRAGMA user_version=1; BEGIN;",
                       NULL, NULL, NULL)
           != SQLITE_OK
      || sqlite3_prepare_v2 (db, "INSERT INTO events (time, child, name, rule) "
                                 "VALUES (?1, 'sam', ?2, 'deny example-game.com')",
                             -1, &stmt, NULL)
           != SQLITE_OK)
    {
      fprintf (stderr, "cannot make a schema-1 database: %s\n", sqlite3_errmsg (db));
      sqlite3_close (db);
      return FALSE;
    }
  for (i = 0; i < rows; i++)
    {
      gint64 t = 1700000000 + g_rand_int_range (rand, 0, 3 * 86400);

      g_array_append_val (times, t);
    }
  /* In time order, as trellisd wrote them. */
  g_array_sort (times, compare_int64);
  for (i = 0; i < rows; i++)
    {
      char name[64];

      g_snprintf (name, sizeof name, "www%d.example-game.com", g_rand_int_range (rand, 0, 5000));
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, g_array_index (times, gint64, i));
      sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
      sqlite3_step (stmt);
    }
  sqlite3_finalize (stmt);
  sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (db);

  t0 = g_get_monotonic_time ();
  log = trellis_event_log_open (path, &error);
  t1 = g_get_monotonic_time ();
  if (log == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  trellis_event_log_get_summary (log, "sam", &sum, NULL);
  printf ("upgrade: a schema-1 log of %d rows (one child, 5,000 names, three days)\n", rows);
  printf ("  open (the migration):   %.3f ms; %" G_GUINT64_FORMAT " entries hold %" G_GUINT64_FORMAT
          " blocks\n",
          ms (t1 - t0), sum.entries, sum.blocked);
  page_through (log, "sam", "paged");
  trellis_event_log_free (log);
  printf ("  on disk after close:    %" G_GINT64_FORMAT " bytes\n", disk_bytes (path));
  return TRUE;
}

int
main (int argc,
      char *argv[])
{
  gint events = 100000;
  gint n_names = 1000;
  gint upgrade = 200000;
  g_autofree char *dir = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GPtrArray) distinct = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const GOptionEntry entries[] = {
    { "events", 0, 0, G_OPTION_ARG_INT, &events, "Blocked events to log", "N" },
    { "names", 0, 0, G_OPTION_ARG_INT, &n_names, "Names the repeats run uses", "M" },
    { "upgrade", 0, 0, G_OPTION_ARG_INT, &upgrade, "Rows of the schema-1 log", "R" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "Directory for the database", "DIR" },
    { NULL }
  };
  gboolean ok;
  gint i;

  context = g_option_context_new ("— cost of the blocked-event log");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)
      || events <= 0 || n_names <= 0 || upgrade <= 0)
    {
      fprintf (stderr, "%s\n",
               error != NULL ? error->message : "--events, --names and --upgrade must be positive");
      return 2;
    }
  if (dir == NULL)
    {
      tmp = g_dir_make_tmp ("trellis-event-log-bench-XXXXXX", &error);
      if (tmp == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
    }
  path = g_build_filename (dir != NULL ? dir : tmp, "events.db", NULL);

  /* Names made before the clock starts, so the calls are all we time. */
  distinct = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < events; i++)
    g_ptr_array_add (distinct, g_strdup_printf ("host%d.blocked-site-%d.example", i, i % 997));
  names = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < n_names; i++)
    g_ptr_array_add (names, g_strdup_printf ("host%d.blocked-site-%d.example", i, i % 997));

  ok = run_writes ("distinct", path, distinct, events, TRUE)
       && run_writes ("repeats", path, names, events, FALSE)
       && run_read (path)
       && run_upgrade (path, upgrade);

  remove_db (path);
  if (tmp != NULL)
    g_rmdir (tmp);
  return ok ? 0 : 1;
}
