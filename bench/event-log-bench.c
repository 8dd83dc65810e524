/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * event-log-bench.c — what logging blocked queries costs the caller (the
 * NFQUEUE callback) and the machine.  Not a test: it prints numbers.
 *
 *   event-log-bench [--events N] [--dir DIR]
 *
 * Logs N (default 10,000) blocked events through add_blocked() into a fresh
 * database in DIR (default: a new temporary directory, removed afterwards)
 * and prints the wall time of the N calls, the time until flush() returns,
 * the bytes on disk (database + -wal + -shm) and the growth of VmRSS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>

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

int
main (int   argc,
      char *argv[])
{
  gint events = 10000;
  g_autofree char *dir = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const GOptionEntry entries[] = {
    { "events", 0, 0, G_OPTION_ARG_INT, &events, "Blocked events to log", "N" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "Directory for the database", "DIR" },
    { NULL }
  };
  static const char *const children[] = { "alice", "bob", "carol" };
  static const char *const categories[] = { "gambling", "adult", "social", NULL };
  TrellisEventLog *log;
  TrellisEventLogStats stats;
  gint64 rss_before, rss_after, t0, t1, t2, t3, disk_flush, disk_close;
  gint i;

  context = g_option_context_new ("— cost of the blocked-event log");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || events <= 0)
    {
      fprintf (stderr, "%s\n", error != NULL ? error->message : "--events must be positive");
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
  names = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < events; i++)
    g_ptr_array_add (names, g_strdup_printf ("host%d.blocked-site-%d.example", i, i % 997));

  log = trellis_event_log_open (path, &error);
  if (log == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  rss_before = vm_rss_kib ();
  t0 = g_get_monotonic_time ();
  for (i = 0; i < events; i++)
    trellis_event_log_add_blocked (log, 1700000000 + i, children[i % 3],
                                   g_ptr_array_index (names, i), "category",
                                   categories[i % 4]);
  t1 = g_get_monotonic_time ();
  rss_after = vm_rss_kib ();
  trellis_event_log_flush (log);
  t2 = g_get_monotonic_time ();
  trellis_event_log_get_stats (log, &stats);
  disk_flush = file_size (path, "") + file_size (path, "-wal") + file_size (path, "-shm");
  trellis_event_log_free (log);
  t3 = g_get_monotonic_time ();
  disk_close = file_size (path, "") + file_size (path, "-wal") + file_size (path, "-shm");

  printf ("events:                 %d\n", events);
  printf ("add_blocked calls:      %.3f ms total, %.3f us per call\n",
          (t1 - t0) / 1000.0, (double) (t1 - t0) / events);
  printf ("flush after the calls:  %.3f ms\n", (t2 - t1) / 1000.0);
  printf ("close (checkpoint):     %.3f ms\n", (t3 - t2) / 1000.0);
  printf ("queued/written/dropped: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
          " (lost %" G_GUINT64_FORMAT ", write errors %" G_GUINT64_FORMAT ")\n",
          stats.queued, stats.written, stats.dropped, stats.lost, stats.write_errors);
  printf ("on disk after flush:    %" G_GINT64_FORMAT " bytes (db + wal + shm)\n", disk_flush);
  printf ("on disk after close:    %" G_GINT64_FORMAT " bytes (%.1f per event)\n",
          disk_close, (double) disk_close / (double) MAX (stats.written, 1));
  printf ("VmRSS growth (calls):   %" G_GINT64_FORMAT " KiB (%" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ")\n",
          rss_after - rss_before, rss_before, rss_after);

  if (tmp != NULL)
    {
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);
      g_autofree char *shm = g_strconcat (path, "-shm", NULL);

      g_unlink (path);
      g_unlink (wal);
      g_unlink (shm);
      g_rmdir (tmp);
    }
  return 0;
}
