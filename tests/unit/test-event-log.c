/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event log: files and modes, batching, privacy between siblings,
 * retention, requests, pauses, corruption, bad strings, write failures,
 * a crash in the middle of writing; folding, the per-child cap, missed
 * blocks, paging, the upgrade from schema 1, the purge of damaged logs set
 * aside, and the worker's jobs.  Each test works in a fresh
 * g_dir_make_tmp directory.
 */
#include "tests/unit/test-common.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daemon/event-log.h"

typedef struct {
  char *dir;  /* (owned) */
  char *path; /* (owned) dir/log/events.db: the log/ part does not exist yet */
} Fixture;

static int
setup (void **state)
{
  Fixture *fx = g_new0 (Fixture, 1);
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("trellis-event-log-XXXXXX", &error);
  assert_null (error);
  fx->path = g_build_filename (fx->dir, "log", "events.db", NULL);
  *state = fx;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *fx = *state;

  trellis_test_remove_tree (fx->dir);
  g_free (fx->dir);
  g_free (fx->path);
  g_free (fx);
  return 0;
}

static TrellisEventLog *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  TrellisEventLog *log = trellis_event_log_open (path, &error);

  if (error != NULL)
    fail_msg ("open %s: %s", path, error->message);
  assert_non_null (log);
  return log;
}

/* Blocks stored for @child (NULL: everyone): the sum of the entries' counts. */
static guint64
count_events (TrellisEventLog *log,
              const char *child)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = trellis_event_log_list (log, child, 0, &error);
  guint64 n = 0;

  assert_null (error);
  assert_non_null (events);
  for (guint i = 0; i < events->len; i++)
    n += ((TrellisEvent *) events->pdata[i])->count;
  return n;
}

/* Entries stored for @child (NULL: everyone). */
static guint
count_entries (TrellisEventLog *log,
               const char *child)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = trellis_event_log_list (log, child, 0, &error);

  assert_null (error);
  assert_non_null (events);
  return events->len;
}

static TrellisEventLogSummary
summary_of (TrellisEventLog *log,
            const char *child)
{
  g_autoptr(GError) error = NULL;
  TrellisEventLogSummary sum = { 0 };

  if (!trellis_event_log_get_summary (log, child, &sum, &error))
    fail_msg ("summary of %s: %s", child, error->message);
  return sum;
}

/* ------------------------------------------------------------------------ */

static void
test_open_creates_private_file (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = NULL;
  g_autofree char *dir = g_path_get_dirname (fx->path);
  g_autofree char *wal = g_strconcat (fx->path, "-wal", NULL);
  struct stat st;

  log = open_ok (fx->path);
  assert_int_equal (stat (dir, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  assert_int_equal (stat (fx->path, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0600);

  /* The WAL exists once something is written, with the database's mode. */
  trellis_event_log_add_blocked (log, 1, "alice", "a.example", NULL, NULL);
  trellis_event_log_flush (log);
  assert_int_equal (stat (wal, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
}

static void
test_open_tightens_file_refuses_open_dir (void **state)
{
  Fixture *fx = *state;
  g_autofree char *dir = g_path_get_dirname (fx->path);
  g_autoptr(GError) error = NULL;
  TrellisEventLog *log;
  struct stat st;

  assert_int_equal (g_mkdir (dir, 0700), 0);
  assert_true (g_file_set_contents (fx->path, "", 0, NULL));
  assert_int_equal (chmod (fx->path, 0644), 0);
  log = open_ok (fx->path);
  trellis_event_log_free (log);
  assert_int_equal (stat (fx->path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);

  /* A directory others may write is refused, clearly. */
  assert_int_equal (chmod (dir, 0777), 0);
  log = trellis_event_log_open (fx->path, &error);
  assert_null (log);
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_PERMISSION));
  assert_non_null (strstr (error->message, "writable by others"));
}

static void
test_thousand_newest_first (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  TrellisEventLogStats stats;
  guint i;

  for (i = 0; i < 1000; i++)
    {
      g_autofree char *name = g_strdup_printf ("site%u.example", i);

      trellis_event_log_add_blocked (log, 1700000000 + i, "alice", name,
                                     i % 2 ? "category" : "deny", i % 2 ? "gambling" : NULL);
    }
  trellis_event_log_flush (log);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.queued, 1000);
  assert_int_equal (stats.written, 1000);
  assert_int_equal (stats.dropped, 0);
  assert_int_equal (stats.lost, 0);
  assert_int_equal (stats.pending, 0);

  events = trellis_event_log_list (log, NULL, 0, &error);
  assert_null (error);
  assert_int_equal (events->len, 1000);
  for (i = 0; i < 1000; i++)
    {
      const TrellisEvent *ev = g_ptr_array_index (events, i);
      guint n = 999 - i;
      g_autofree char *name = g_strdup_printf ("site%u.example", n);

      assert_int_equal (ev->time, 1700000000 + n);
      assert_string_equal (ev->child, "alice");
      assert_string_equal (ev->name, name);
      assert_string_equal (ev->rule, n % 2 ? "category" : "deny");
      if (n % 2)
        assert_string_equal (ev->category, "gambling");
      else
        assert_null (ev->category);
    }

  /* A limit keeps the newest. */
  g_clear_pointer (&events, g_ptr_array_unref);
  events = trellis_event_log_list (log, "alice", 3, &error);
  assert_int_equal (events->len, 3);
  assert_string_equal (((TrellisEvent *) events->pdata[0])->name, "site999.example");
  assert_string_equal (((TrellisEvent *) events->pdata[2])->name, "site997.example");
}

static void
test_siblings_never_leak (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint deleted = 0;
  guint i;

  for (i = 0; i < 30; i++)
    trellis_event_log_add_blocked (log, 100 + i, i % 3 ? "alice" : "bob",
                                   i % 3 ? "alice.example" : "bob.example", "deny", NULL);
  trellis_event_log_flush (log);

  /* Ten blocks of one name within the fold interval: one entry. */
  events = trellis_event_log_list (log, "bob", 0, &error);
  assert_null (error);
  assert_int_equal (events->len, 1);
  for (i = 0; i < events->len; i++)
    {
      const TrellisEvent *ev = g_ptr_array_index (events, i);

      assert_string_equal (ev->child, "bob");
      assert_string_equal (ev->name, "bob.example");
      assert_int_equal (ev->count, 10);
    }
  assert_int_equal (count_events (log, "alice"), 20);
  assert_int_equal (count_entries (log, "alice"), 1);
  assert_int_equal (count_events (log, "carol"), 0);
  /* A prefix is not a match. */
  assert_int_equal (count_events (log, "ali"), 0);

  /* Clearing bob leaves alice; an event queued just before the clear goes too. */
  trellis_event_log_add_blocked (log, 200, "bob", "late.example", NULL, NULL);
  assert_true (trellis_event_log_clear (log, "bob", &deleted, &error));
  assert_null (error);
  assert_int_equal (deleted, 2);
  assert_int_equal (count_events (log, "bob"), 0);
  assert_int_equal (count_events (log, "alice"), 20);

  assert_true (trellis_event_log_clear (log, NULL, &deleted, &error));
  assert_int_equal (deleted, 1);
  assert_int_equal (count_events (log, NULL), 0);
}

static void
test_purge_by_time (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GError) error = NULL;
  guint32 old_id = 0, granted_id = 0, pending_id = 0;
  guint deleted = 0;
  gint64 t;

  /* A name a second: 100 entries. */
  for (t = 1000; t < 1100; t++)
    {
      g_autofree char *name = g_strdup_printf ("x%" G_GINT64_FORMAT ".example", t);

      trellis_event_log_add_blocked (log, t, "alice", name, NULL, NULL);
    }
  trellis_event_log_flush (log);

  assert_true (trellis_event_log_request_add (log, "alice", "old.example", NULL, 900, &old_id, &error));
  assert_true (trellis_event_log_request_answer (log, old_id, "declined", NULL, 950, 0, &error));
  assert_true (trellis_event_log_request_add (log, "alice", "g.example", NULL, 900, &granted_id, &error));
  assert_true (trellis_event_log_request_answer (log, granted_id, "approved", NULL, 950, 5000, &error));
  assert_true (trellis_event_log_request_add (log, "alice", "p.example", NULL, 900, &pending_id, &error));
  assert_true (trellis_event_log_pause_set (log, "alice", 1010, &error));
  assert_true (trellis_event_log_pause_set (log, "bob", 9000, &error));

  /* Events before 1050 (50), the declined request (1), alice's pause (1). */
  assert_true (trellis_event_log_purge (log, 1050, &deleted, NULL, &error));
  assert_null (error);
  assert_int_equal (deleted, 52);

  events = trellis_event_log_list (log, NULL, 0, &error);
  assert_int_equal (events->len, 50);
  assert_int_equal (((TrellisEvent *) events->pdata[0])->time, 1099);
  assert_int_equal (((TrellisEvent *) events->pdata[49])->time, 1050);

  requests = trellis_event_log_request_list (log, NULL, &error);
  assert_int_equal (requests->len, 2);
  assert_int_equal (trellis_event_log_pause_get (log, "alice"), 0);
  assert_int_equal (trellis_event_log_pause_get (log, "bob"), 9000);
}

static void
test_requests (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(TrellisRequest) req = NULL;
  g_autoptr(GError) error = NULL;
  guint32 first = 0, id = 0;
  guint i;

  assert_true (trellis_event_log_request_add (log, "alice", "scratch.mit.edu",
                                              "for school, please", 500, &first, &error));
  assert_null (error);
  assert_true (first > 0);

  assert_true (trellis_event_log_request_get (log, first, &req, &error));
  assert_int_equal (req->id, first);
  assert_string_equal (req->child, "alice");
  assert_string_equal (req->name, "scratch.mit.edu");
  assert_string_equal (req->message, "for school, please");
  assert_string_equal (req->state, "pending");
  assert_int_equal (req->created, 500);
  assert_int_equal (req->answered, 0);
  assert_null (req->answer);
  assert_int_equal (req->grant_until, 0);
  g_clear_pointer (&req, trellis_request_free);

  /* Answered once; the second answer fails and changes nothing. */
  assert_true (trellis_event_log_request_answer (log, first, "approved", "ok, for an hour",
                                                 600, 4200, &error));
  assert_false (trellis_event_log_request_answer (log, first, "declined", "no", 700, 0, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_PENDING));
  g_clear_error (&error);
  assert_true (trellis_event_log_request_get (log, first, &req, &error));
  assert_string_equal (req->state, "approved");
  assert_string_equal (req->answer, "ok, for an hour");
  assert_int_equal (req->answered, 600);
  assert_int_equal (req->grant_until, 4200);
  g_clear_pointer (&req, trellis_request_free);

  assert_false (trellis_event_log_request_answer (log, 999999, "declined", NULL, 700, 0, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_FOUND));
  g_clear_error (&error);
  assert_false (trellis_event_log_request_get (log, 999999, &req, &error));
  assert_null (req);
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_FOUND));
  g_clear_error (&error);
  assert_false (trellis_event_log_request_answer (log, first, "maybe", NULL, 700, 0, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID));
  g_clear_error (&error);

  /* 20 pending per child; the 21st is refused; a sibling is not affected. */
  for (i = 0; i < TRELLIS_EVENT_LOG_PENDING_MAX; i++)
    assert_true (trellis_event_log_request_add (log, "alice", "a.example", NULL, 800 + i, &id, &error));
  id = 12345;
  assert_false (trellis_event_log_request_add (log, "alice", "b.example", NULL, 900, &id, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_LIMIT));
  assert_int_equal (id, 12345);
  g_clear_error (&error);
  assert_true (trellis_event_log_request_add (log, "bob", "b.example", NULL, 900, &id, &error));

  /* Answering one frees a slot. */
  assert_true (trellis_event_log_request_answer (log, id - 1, "declined", NULL, 950, 0, &error));
  assert_true (trellis_event_log_request_add (log, "alice", "c.example", NULL, 960, &id, &error));

  list = trellis_event_log_request_list (log, "alice", &error);
  assert_null (error);
  assert_int_equal (list->len, 22);
  assert_string_equal (((TrellisRequest *) list->pdata[0])->name, "c.example");
  for (i = 0; i < list->len; i++)
    assert_string_equal (((TrellisRequest *) list->pdata[i])->child, "alice");
  g_clear_pointer (&list, g_ptr_array_unref);
  list = trellis_event_log_request_list (log, "bob", &error);
  assert_int_equal (list->len, 1);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = trellis_event_log_request_list (log, NULL, &error);
  assert_int_equal (list->len, 23);
}

static void
test_grants_active (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GPtrArray) grants = NULL;
  g_autoptr(GError) error = NULL;
  guint32 a = 0, b = 0, c = 0;

  assert_true (trellis_event_log_request_add (log, "alice", "a.example", NULL, 10, &a, &error));
  assert_true (trellis_event_log_request_add (log, "alice", "b.example", NULL, 10, &b, &error));
  assert_true (trellis_event_log_request_add (log, "bob", "c.example", NULL, 10, &c, &error));
  assert_true (trellis_event_log_request_answer (log, a, "approved", NULL, 20, 100, &error));
  assert_true (trellis_event_log_request_answer (log, b, "approved", NULL, 20, 200, &error));
  /* A decline's grant_until is ignored. */
  assert_true (trellis_event_log_request_answer (log, c, "declined", NULL, 20, 300, &error));

  grants = trellis_event_log_grants_active (log, 50, &error);
  assert_null (error);
  assert_int_equal (grants->len, 2);
  assert_int_equal (((TrellisRequest *) grants->pdata[0])->id, a);
  assert_int_equal (((TrellisRequest *) grants->pdata[1])->id, b);
  g_clear_pointer (&grants, g_ptr_array_unref);

  grants = trellis_event_log_grants_active (log, 100, &error);
  assert_int_equal (grants->len, 1);
  assert_string_equal (((TrellisRequest *) grants->pdata[0])->name, "b.example");
  g_clear_pointer (&grants, g_ptr_array_unref);

  grants = trellis_event_log_grants_active (log, 200, &error);
  assert_int_equal (grants->len, 0);
}

static void
test_pauses (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GError) error = NULL;

  assert_int_equal (trellis_event_log_pause_get (log, "alice"), 0);
  assert_true (trellis_event_log_pause_set (log, "alice", 5000, &error));
  assert_int_equal (trellis_event_log_pause_get (log, "alice"), 5000);
  assert_int_equal (trellis_event_log_pause_get (log, "bob"), 0);
  assert_true (trellis_event_log_pause_set (log, "alice", 7000, &error));
  assert_int_equal (trellis_event_log_pause_get (log, "alice"), 7000);
  assert_true (trellis_event_log_pause_set (log, "alice", 0, &error));
  assert_int_equal (trellis_event_log_pause_get (log, "alice"), 0);
  assert_null (error);
}

static void
test_corrupt_moved_aside (void **state)
{
  Fixture *fx = *state;
  g_autofree char *dir = g_path_get_dirname (fx->path);
  static const char *const garbage[] = {
    "this is not a database at all",
    NULL, /* a valid header, then garbage pages */
  };
  guint round;

  assert_int_equal (g_mkdir (dir, 0700), 0);
  for (round = 0; round < G_N_ELEMENTS (garbage); round++)
    {
      g_autoptr(TrellisEventLog) log = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *contents = NULL;
      gsize len;
      GDir *d;
      const char *name;
      guint aside = 0;
      gboolean recreated = FALSE;

      if (garbage[round] != NULL)
        {
          contents = g_strdup (garbage[round]);
          len = strlen (contents);
        }
      else
        {
          /* Make a real database, then smash everything after its header. */
          log = open_ok (fx->path);
          trellis_event_log_add_blocked (log, 1, "alice", "a.example", NULL, NULL);
          g_clear_pointer (&log, trellis_event_log_free);
          assert_true (g_file_get_contents (fx->path, &contents, &len, NULL));
          assert_true (len > 200);
          memset (contents + 100, 0xa5, len - 100);
        }
      assert_true (g_file_set_contents (fx->path, contents, len, NULL));

      log = trellis_event_log_open_full (fx->path, &recreated, &error);
      if (error != NULL)
        fail_msg ("round %u: %s", round, error->message);
      assert_true (recreated);
      assert_int_equal (count_events (log, NULL), 0);
      trellis_event_log_add_blocked (log, 2, "bob", "b.example", NULL, NULL);
      trellis_event_log_flush (log);
      assert_int_equal (count_events (log, "bob"), 1);

      /* The old file is kept aside, byte for byte. */
      d = g_dir_open (dir, 0, NULL);
      while ((name = g_dir_read_name (d)) != NULL)
        if (g_str_has_prefix (name, "events.db.corrupt-") && !g_str_has_suffix (name, "-wal"))
          {
            g_autofree char *p = g_build_filename (dir, name, NULL);
            g_autofree char *kept = NULL;
            gsize kept_len;

            aside++;
            assert_true (g_file_get_contents (p, &kept, &kept_len, NULL));
            if (kept_len == len && memcmp (kept, contents, len) == 0)
              aside += 100;
          }
      g_dir_close (d);
      assert_int_equal (aside, round + 1 + 100);

      /* The next open of the healthy file is not "recreated". */
      g_clear_pointer (&log, trellis_event_log_free);
      log = trellis_event_log_open_full (fx->path, &recreated, &error);
      assert_non_null (log);
      assert_false (recreated);
      assert_int_equal (count_events (log, "bob"), 1);
      g_clear_pointer (&log, trellis_event_log_free);
      trellis_test_remove_tree (fx->path);
      {
        g_autofree char *wal = g_strconcat (fx->path, "-wal", NULL);
        g_autofree char *shm = g_strconcat (fx->path, "-shm", NULL);

        g_unlink (wal);
        g_unlink (shm);
      }
    }
}

static void
test_bad_strings_refused (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GError) error = NULL;
  g_autofree char *long_name = g_strnfill (254, 'a');
  g_autofree char *max_name = g_strnfill (253, 'a');
  g_autofree char *long_child = g_strnfill (65, 'c');
  g_autofree char *long_msg = g_strnfill (501, 'm');
  g_autofree char *max_msg = g_strnfill (500, 'm');
  TrellisEventLogStats stats;
  guint32 id = 0;

  assert_false (trellis_event_log_request_add (log, "alice", long_name, NULL, 1, &id, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID));
  g_clear_error (&error);
  assert_false (trellis_event_log_request_add (log, long_child, "a.example", NULL, 1, &id, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID));
  g_clear_error (&error);
  assert_false (trellis_event_log_request_add (log, "alice", "a.example", long_msg, 1, &id, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID));
  g_clear_error (&error);
  assert_false (trellis_event_log_request_add (log, "alice", "a.example", "caf\xc3", 1, &id, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID));
  g_clear_error (&error);
  assert_false (trellis_event_log_request_add (log, "", "a.example", NULL, 1, &id, &error));
  g_clear_error (&error);
  assert_false (trellis_event_log_request_add (log, "alice", NULL, NULL, 1, &id, &error));
  g_clear_error (&error);
  assert_false (trellis_event_log_pause_set (log, long_child, 5, &error));
  g_clear_error (&error);
  assert_null (trellis_event_log_list (log, long_child, 0, &error));
  g_clear_error (&error);
  assert_int_equal (id, 0);

  /* At the bounds is fine: a 500-byte message and a "café" in UTF-8. */
  assert_true (trellis_event_log_request_add (log, "alice", max_name, max_msg, 1, &id, &error));
  assert_true (trellis_event_log_request_add (log, "alice", "a.example", "caf\xc3\xa9", 1, &id, &error));
  assert_null (error);

  /* Blocked events: refused ones are counted, never stored. */
  trellis_event_log_add_blocked (log, 1, "alice", long_name, NULL, NULL);
  trellis_event_log_add_blocked (log, 1, long_child, "a.example", NULL, NULL);
  trellis_event_log_add_blocked (log, 1, "alice", "\xff\xfe.example", NULL, NULL);
  trellis_event_log_add_blocked (log, 1, "alice", "a.example", long_msg, NULL);
  trellis_event_log_add_blocked (log, 1, NULL, "a.example", NULL, NULL);
  trellis_event_log_add_blocked (log, 1, "alice", max_name, "deny", "x");
  trellis_event_log_flush (log);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.invalid, 5);
  assert_int_equal (stats.queued, 1);
  assert_int_equal (stats.written, 1);
  assert_int_equal (count_events (log, NULL), 1);
}

static void
test_unusable_location (void **state)
{
  Fixture *fx = *state;
  g_autofree char *file = g_build_filename (fx->dir, "plain-file", NULL);
  g_autofree char *under_file = g_build_filename (file, "events.db", NULL);
  g_autofree char *deep_under_file = g_build_filename (file, "sub", "events.db", NULL);
  g_autofree char *ro_dir = g_build_filename (fx->dir, "ro", NULL);
  g_autofree char *in_ro = g_build_filename (ro_dir, "events.db", NULL);
  g_autoptr(GError) error = NULL;
  TrellisEventLog *log;

  assert_true (g_file_set_contents (file, "x", 1, NULL));

  /* The parent is a file: a clear error, no crash. */
  log = trellis_event_log_open (under_file, &error);
  assert_null (log);
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_IO));
  assert_non_null (strstr (error->message, "not a directory"));
  g_clear_error (&error);
  log = trellis_event_log_open (deep_under_file, &error);
  assert_null (log);
  assert_non_null (error);
  assert_non_null (strstr (error->message, "directory"));
  g_clear_error (&error);

  /* The database path is a directory. */
  log = trellis_event_log_open (fx->dir, &error);
  assert_null (log);
  assert_non_null (error);
  g_clear_error (&error);

  /* A read-only directory; root writes anyway, so only a non-root run can check it. */
  assert_int_equal (g_mkdir (ro_dir, 0500), 0);
  log = trellis_event_log_open (in_ro, &error);
  if (geteuid () != 0)
    {
      assert_null (log);
      assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_PERMISSION));
    }
  else
    trellis_event_log_free (log);
  chmod (ro_dir, 0700);
}

/* The disk fills: commits fail, are counted, the caller never notices, and
 * writing resumes once there is room.  RLIMIT_FSIZE stands in for a full disk. */
static void
test_write_errors_counted (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GError) last = NULL;
  g_autofree char *rule = g_strnfill (250, 'r');
  TrellisEventLogStats stats;
  struct rlimit old, lim;
  void (*old_handler) (int);
  guint i;

  trellis_event_log_add_blocked (log, 1, "alice", "before.example", NULL, NULL);
  trellis_event_log_flush (log);
  assert_null (trellis_event_log_get_last_error (log));

  assert_int_equal (getrlimit (RLIMIT_FSIZE, &old), 0);
  old_handler = signal (SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = 256 * 1024;
  assert_int_equal (setrlimit (RLIMIT_FSIZE, &lim), 0);

  for (i = 0; i < 5000; i++)
    {
      g_autofree char *name = g_strdup_printf ("full%u.example", i);

      trellis_event_log_add_blocked (log, 2, "alice", name, rule, rule);
    }
  trellis_event_log_flush (log);

  assert_int_equal (setrlimit (RLIMIT_FSIZE, &old), 0);
  signal (SIGXFSZ, old_handler);

  trellis_event_log_get_stats (log, &stats);
  assert_true (stats.write_errors > 0);
  assert_true (stats.lost > 0);
  assert_int_equal (stats.queued, stats.written + stats.lost + stats.pending);
  last = trellis_event_log_get_last_error (log);
  assert_non_null (last);
  assert_true (last->code == TRELLIS_EVENT_LOG_ERROR_NO_SPACE
               || last->code == TRELLIS_EVENT_LOG_ERROR_IO);

  /* Room again: the next batch is written. */
  trellis_event_log_add_blocked (log, 3, "alice", "after.example", NULL, NULL);
  trellis_event_log_flush (log);
  {
    TrellisEventLogStats after;
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GError) error = NULL;

    trellis_event_log_get_stats (log, &after);
    assert_int_equal (after.written, stats.written + 1);
    events = trellis_event_log_list (log, NULL, 1, &error);
    assert_null (error);
    assert_string_equal (((TrellisEvent *) events->pdata[0])->name, "after.example");
  }
}

/* A flood: the caller only queues; everything is written or counted. */
static void
test_flood_accounted (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  TrellisEventLogStats stats;
  guint i;

  for (i = 0; i < 100000; i++)
    trellis_event_log_add_blocked (log, i, i % 2 ? "alice" : "bob", "flood.example", "deny", NULL);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.queued + stats.dropped, 100000);
  assert_true (stats.pending <= TRELLIS_EVENT_LOG_QUEUE_MAX);

  trellis_event_log_flush (log);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.queued + stats.dropped, 100000);
  assert_int_equal (stats.pending, 0);
  assert_int_equal (stats.lost, 0);
  assert_int_equal (stats.written, stats.queued);
  assert_true (stats.written >= TRELLIS_EVENT_LOG_QUEUE_MAX);
  assert_int_equal (count_events (log, NULL), stats.written);
}

/* Without a flush, the writer still commits within a second. */
static void
test_batch_timer (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  TrellisEventLogStats stats;
  guint waited;

  trellis_event_log_add_blocked (log, 1, "alice", "a.example", NULL, NULL);
  for (waited = 0; waited < 50; waited++)
    {
      trellis_event_log_get_stats (log, &stats);
      if (stats.written == 1)
        break;
      g_usleep (100 * 1000);
    }
  assert_int_equal (stats.written, 1);
  assert_int_equal (count_events (log, "alice"), 1);
}

static void
test_reopen_keeps_data (void **state)
{
  Fixture *fx = *state;
  TrellisEventLog *log = open_ok (fx->path);
  g_autoptr(GError) error = NULL;
  guint32 id = 0;
  guint i;

  for (i = 0; i < 100; i++)
    trellis_event_log_add_blocked (log, i, "alice", "a.example", NULL, NULL);
  assert_true (trellis_event_log_request_add (log, "alice", "r.example", NULL, 1, &id, &error));
  assert_true (trellis_event_log_pause_set (log, "alice", 77, &error));
  /* No flush: closing commits what is queued. */
  trellis_event_log_free (log);

  log = open_ok (fx->path);
  assert_int_equal (count_events (log, "alice"), 100);
  assert_int_equal (trellis_event_log_pause_get (log, "alice"), 77);
  {
    g_autoptr(TrellisRequest) req = NULL;

    assert_true (trellis_event_log_request_get (log, id, &req, &error));
    assert_string_equal (req->name, "r.example");
  }
  trellis_event_log_free (log);
}

/* A crash while writing: a child process floods the log and is killed; the
 * database opens clean (not recreated), integrity_check says ok, and
 * everything flushed before the kill is there. */
static void
test_crash_never_corrupts (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = NULL;
  g_autoptr(GError) error = NULL;
  int pipefd[2];
  char c = 0;
  gboolean recreated = TRUE;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  pid_t pid;
  int status;

  assert_int_equal (pipe (pipefd), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      TrellisEventLog *clog;
      guint i;

      close (pipefd[0]);
      clog = trellis_event_log_open (fx->path, NULL);
      if (clog == NULL)
        _exit (1);
      for (i = 0; i < 1000; i++)
        trellis_event_log_add_blocked (clog, 1, "alice", "flushed.example", NULL, NULL);
      trellis_event_log_flush (clog);
      if (write (pipefd[1], "x", 1) != 1)
        _exit (1);
      for (;;)
        trellis_event_log_add_blocked (clog, 2, "alice", "flood.example", NULL, NULL);
    }
  close (pipefd[1]);
  assert_int_equal (read (pipefd[0], &c, 1), 1);
  close (pipefd[0]);
  g_usleep (300 * 1000); /* let the writer be mid-transaction, likely */
  kill (pid, SIGKILL);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSIGNALED (status));

  log = trellis_event_log_open_full (fx->path, &recreated, &error);
  assert_null (error);
  assert_false (recreated);
  {
    g_autoptr(GPtrArray) events = trellis_event_log_list (log, "alice", 0, &error);
    guint flushed = 0, i;

    assert_null (error);
    for (i = 0; i < events->len; i++)
      if (strcmp (((TrellisEvent *) events->pdata[i])->name, "flushed.example") == 0)
        flushed += ((TrellisEvent *) events->pdata[i])->count;
    assert_int_equal (flushed, 1000);
  }
  g_clear_pointer (&log, trellis_event_log_free);

  /* An independent look with SQLite itself. */
  assert_int_equal (sqlite3_open_v2 (fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
  assert_string_equal ((const char *) sqlite3_column_text (stmt, 0), "ok");
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
test_newer_schema_refused (void **state)
{
  Fixture *fx = *state;
  g_autofree char *dir = g_path_get_dirname (fx->path);
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;
  TrellisEventLog *log;

  assert_int_equal (g_mkdir (dir, 0700), 0);
  assert_int_equal (sqlite3_open (fx->path, &db), SQLITE_OK);
  assert_int_equal (sqlite3_exec (db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (db);

  log = trellis_event_log_open (fx->path, &error);
  assert_null (log);
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_VERSION));
  /* Not mistaken for corruption: the file stays where it is. */
  assert_true (g_file_test (fx->path, G_FILE_TEST_IS_REGULAR));
}

/* ------------------------------------------------------------------------ */
/* Folding, the cap, losses, paging, migration, the worker                  */

static TrellisEvent *
entry_named (GPtrArray *events,
             const char *name,
             gint64 time)
{
  for (guint i = 0; i < events->len; i++)
    {
      TrellisEvent *ev = events->pdata[i];

      if (strcmp (ev->name, name) == 0 && (time < 0 || ev->time == time))
        return ev;
    }
  return NULL;
}

/* Repeats of one name by one rule within one fold interval are one entry
 * with their count, in the queue and across batches; another rule, another
 * interval or another child is another entry. */
static void
test_fold_repeats (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  const gint64 t0 = 1700000400; /* a fold interval starts here (a multiple of 600) */
  TrellisEventLogStats stats;
  TrellisEvent *ev;
  guint i;

  G_STATIC_ASSERT (1700000400 % TRELLIS_EVENT_LOG_FOLD_SECONDS == 0);
  for (i = 0; i < 53; i++)
    trellis_event_log_add_blocked (log, t0 + 10 + i, "alice", "game.example", "deny", NULL);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.queued, 53);
  assert_int_equal (stats.folded, 52);
  assert_int_equal (stats.pending, 1);
  trellis_event_log_flush (log);
  /* The next batch folds into the stored entry. */
  trellis_event_log_add_blocked (log, t0 + 5, "alice", "game.example", "deny", NULL);
  trellis_event_log_add_blocked (log, t0 + 599, "alice", "game.example", "deny", NULL);
  /* Another interval, another rule, no rule, another child. */
  trellis_event_log_add_blocked (log, t0 + 600, "alice", "game.example", "deny", NULL);
  trellis_event_log_add_blocked (log, t0 + 20, "alice", "game.example", "category", "games");
  trellis_event_log_add_blocked (log, t0 + 21, "alice", "game.example", NULL, NULL);
  trellis_event_log_add_blocked (log, t0 + 22, "alice", "game.example", NULL, NULL);
  trellis_event_log_add_blocked (log, t0 + 23, "bob", "game.example", "deny", NULL);
  trellis_event_log_flush (log);

  events = trellis_event_log_list (log, "alice", 0, &error);
  assert_null (error);
  assert_int_equal (events->len, 4);
  ev = entry_named (events, "game.example", t0 + 5);
  assert_non_null (ev);
  assert_int_equal (ev->count, 55);
  assert_int_equal (ev->last, t0 + 599);
  assert_string_equal (ev->rule, "deny");
  ev = entry_named (events, "game.example", t0 + 600);
  assert_non_null (ev);
  assert_int_equal (ev->count, 1);
  assert_int_equal (ev->last, t0 + 600);
  assert_int_equal (count_events (log, "alice"), 55 + 1 + 1 + 2);
  assert_int_equal (count_events (log, "bob"), 1);
  for (i = 0; i < events->len; i++)
    {
      ev = events->pdata[i];
      if (ev->rule == NULL)
        assert_int_equal (ev->count, 2);
      else if (strcmp (ev->rule, "category") == 0)
        assert_string_equal (ev->category, "games");
    }

  /* The summary adds it up. */
  {
    TrellisEventLogSummary sum = summary_of (log, "alice");

    assert_int_equal (sum.entries, 4);
    assert_int_equal (sum.blocked, 59);
    assert_int_equal (sum.dropped_entries, 0);
    assert_int_equal (sum.missed, 0);
    assert_int_equal (sum.losses_until, 0);
  }
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.written, 60);
  assert_int_equal (stats.queued, 60);
}

/* A child's log keeps TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX entries: the
 * oldest go (those whose last block is oldest: a name blocked again and
 * again stays), the log says how many (and how many blocks they held), and
 * a sibling's log loses nothing. */
static void
test_cap_drops_oldest (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  const guint over = 700;
  const guint n = TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX + over;
  const gint64 t0 = 1700000400; /* one fold interval: t0 .. t0 + 599 */
  TrellisEventLogSummary sum;
  TrellisEventLogStats stats;
  guint deleted = 0, hot = 0;
  guint i;

  for (i = 0; i < 30; i++)
    {
      g_autofree char *name = g_strdup_printf ("b%u.example", i);

      trellis_event_log_add_blocked (log, t0 + i, "bob", name, "deny", NULL);
    }
  /* Each of alice's names twice: every entry holds two blocks; and one
   * name again and again, all along. */
  for (i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("a%u.example", i);
      gint64 t = t0 + (gint64) i * 598 / n;

      trellis_event_log_add_blocked (log, t, "alice", name, "deny", NULL);
      trellis_event_log_add_blocked (log, t, "alice", name, "deny", NULL);
      if (i % 1000 == 0)
        {
          trellis_event_log_add_blocked (log, t, "alice", "hot.example", "deny", NULL);
          hot++;
          trellis_event_log_flush (log);
        }
    }
  trellis_event_log_flush (log);

  assert_int_equal (count_entries (log, "alice"), TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX);
  assert_int_equal (count_entries (log, "bob"), 30);
  events = trellis_event_log_list (log, "alice", 0, &error);
  assert_null (error);
  /* Newest first; the oldest kept is the first one not dropped. */
  assert_string_equal (((TrellisEvent *) events->pdata[0])->name, "a10699.example");
  {
    g_autofree char *oldest = g_strdup_printf ("a%u.example", over + 1);
    TrellisEvent *h = entry_named (events, "hot.example", -1);

    assert_string_equal (((TrellisEvent *) events->pdata[events->len - 2])->name, oldest);
    /* The name blocked all along is kept, though it came first. */
    assert_non_null (h);
    assert_int_equal (h->count, hot);
    assert_true (h == events->pdata[events->len - 1]);
  }
  sum = summary_of (log, "alice");
  assert_int_equal (sum.entries, TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX);
  assert_int_equal (sum.blocked, 2 * (TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX - 1) + hot);
  assert_int_equal (sum.dropped_entries, over + 1);
  assert_int_equal (sum.dropped_blocked, 2 * (over + 1));
  assert_int_equal (sum.losses_until, t0 + (gint64) over * 598 / n);
  sum = summary_of (log, "bob");
  assert_int_equal (sum.dropped_entries, 0);
  assert_int_equal (sum.entries, 30);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.trimmed, over + 1);
  assert_int_equal (stats.written, 2 * n + hot + 30);

  /* Clearing the log clears what it said it lost. */
  assert_true (trellis_event_log_clear (log, "alice", &deleted, &error));
  assert_int_equal (deleted, TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX);
  sum = summary_of (log, "alice");
  assert_int_equal (sum.entries, 0);
  assert_int_equal (sum.dropped_entries, 0);
  assert_int_equal (count_entries (log, "bob"), 30);
}

/* When the writer cannot keep up, the queue holds QUEUE_MAX entries and
 * the blocks that found no room are counted as missed for their child.  A
 * second connection's write lock stands in for a slow disk. */
static void
test_missed_when_queue_full (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  /* The writer takes one batch (at most QUEUE_MAX entries) and waits with
   * it; then the queue fills again, and the rest find no room. */
  const guint n = 2 * TRELLIS_EVENT_LOG_QUEUE_MAX + 1000;
  TrellisEventLogSummary sum;
  TrellisEventLogStats stats;
  sqlite3 *blocker = NULL;
  guint i;

  assert_int_equal (sqlite3_open (fx->path, &blocker), SQLITE_OK);
  assert_int_equal (sqlite3_exec (blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  for (i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("m%u.example", i);

      trellis_event_log_add_blocked (log, 5000 + i, "alice", name, "deny", NULL);
    }
  /* A repeat of a queued name still counts, full queue or not. */
  trellis_event_log_add_blocked (log, 5000, "alice", "m0.example", "deny", NULL);
  trellis_event_log_get_stats (log, &stats);
  assert_true (stats.dropped >= 1000);
  assert_int_equal (stats.queued + stats.dropped, n + 1);
  assert_int_equal (sqlite3_exec (blocker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (blocker);

  trellis_event_log_flush (log);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.lost, 0);
  sum = summary_of (log, "alice");
  assert_int_equal (sum.missed, stats.dropped);
  /* Every block is stored, dropped for the cap, or missed: none unaccounted.
   * How many got into the queue depends on when the writer took its first
   * batch (at once, or only once the queue was full, on a busy machine);
   * past the cap, the oldest went. */
  if (sum.dropped_entries == 0)
    assert_true (sum.entries <= TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX);
  assert_int_equal (sum.blocked + sum.dropped_blocked + sum.missed, n + 1);
  assert_true (sum.losses_until >= 5000 + TRELLIS_EVENT_LOG_QUEUE_MAX);
  assert_int_equal (summary_of (log, "bob").missed, 0);
}

/* Paging: every entry once, newest first, whatever arrives meanwhile; the
 * cursor numbers a child's own entries only; limits are bounded. */
static void
test_paging (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  const guint n = 1234;
  guint64 before = 0, last_seq = G_MAXUINT64;
  guint pages = 0, total = 0;
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autofree char *a = g_strdup_printf ("p%u.example", i);

      trellis_event_log_add_blocked (log, 10000 + i, "alice", a, "deny", NULL);
      if (i % 10 == 0)
        trellis_event_log_add_blocked (log, 10000 + i, "bob", a, "deny", NULL);
    }
  trellis_event_log_flush (log);

  do
    {
      g_autoptr(TrellisEventLogPage) page = trellis_event_log_read_page (log, "alice", before, 100,
                                                                          &error);

      assert_null (error);
      assert_non_null (page);
      assert_int_equal (page->has_summary, before == 0);
      if (before == 0)
        {
          assert_int_equal (page->summary.entries, n);
          assert_int_equal (page->summary.blocked, n);
        }
      assert_true (page->events->len <= 100);
      for (i = 0; i < page->events->len; i++)
        {
          TrellisEvent *ev = page->events->pdata[i];

          assert_string_equal (ev->child, "alice");
          assert_true (ev->seq < last_seq);
          last_seq = ev->seq;
          assert_true (g_hash_table_add (seen, g_strdup (ev->name)));
          total++;
        }
      /* New blocks while paging are not in the older pages. */
      if (pages == 3)
        {
          trellis_event_log_add_blocked (log, 99999, "alice", "new.example", "deny", NULL);
          trellis_event_log_flush (log);
        }
      before = page->next;
      pages++;
    }
  while (before != 0);
  assert_int_equal (total, n);
  assert_int_equal (pages, 13);
  assert_false (g_hash_table_contains (seen, "new.example"));

  /* bob's cursor is his own: his entries are numbered from 1. */
  {
    g_autoptr(TrellisEventLogPage) page = trellis_event_log_read_page (log, "bob", 0, 0, &error);

    assert_non_null (page);
    assert_int_equal (page->events->len, 124);
    assert_int_equal (page->next, 0);
    assert_int_equal (((TrellisEvent *) page->events->pdata[123])->seq, 1);
    assert_int_equal (((TrellisEvent *) page->events->pdata[0])->seq, 124);
  }
  /* 0 is the default page, and no page is longer than PAGE_MAX. */
  {
    g_autoptr(TrellisEventLogPage) p0 = trellis_event_log_read_page (log, "alice", 0, 0, &error);
    g_autoptr(TrellisEventLogPage) pmax = trellis_event_log_read_page (log, "alice", 0, 100000,
                                                                        &error);

    assert_int_equal (p0->events->len, TRELLIS_EVENT_LOG_PAGE_DEFAULT);
    assert_int_equal (pmax->events->len, TRELLIS_EVENT_LOG_PAGE_MAX);
    assert_string_equal (((TrellisEvent *) p0->events->pdata[0])->name, "new.example");
  }
  /* A cursor from nowhere: an empty last page, no error. */
  {
    g_autoptr(TrellisEventLogPage) p = trellis_event_log_read_page (log, "alice", 1, 10, &error);
    g_autoptr(TrellisEventLogPage) q = trellis_event_log_read_page (log, "alice", G_MAXUINT64, 10,
                                                                     &error);

    assert_int_equal (p->events->len, 0);
    assert_int_equal (p->next, 0);
    assert_int_equal (q->events->len, 10);
  }
  /* A bad child is refused; no child is not "everyone". */
  assert_null (trellis_event_log_read_page (log, NULL, 0, 10, &error));
  assert_true (g_error_matches (error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_INVALID));
  g_clear_error (&error);
}

/* A log of schema 1 (one row per block) is taken over: every block is kept,
 * the repeats within one fold interval folded, the rows of a child
 * numbered in their old order, requests and pauses untouched, and a child
 * over the cap is not cut at the upgrade but as new entries come. */
static void
test_migration_from_v1 (void **state)
{
  Fixture *fx = *state;
  g_autofree char *dir = g_path_get_dirname (fx->path);
  g_autoptr(TrellisEventLog) log = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisRequest) req = NULL;
  const guint big = TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX + 5000;
  TrellisEventLogSummary sum;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 version = 0;
  TrellisEvent *ev;
  guint i;

  assert_int_equal (g_mkdir (dir, 0700), 0);
  assert_int_equal (sqlite3_open (fx->path, &db), SQLITE_OK);
  assert_int_equal (sqlite3_exec (db,
                                  "CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, child TEXT NOT NULL,"
                                  "  name TEXT NOT NULL, rule TEXT, category TEXT);"
                                  "CREATE INDEX events_child_time ON events (child, time);"
                                  "CREATE INDEX events_time ON events (time);"
                                  "CREATE TABLE requests (id INTEGER PRIMARY KEY, child TEXT NOT NULL, name TEXT NOT NULL,"
                                  "  message TEXT, state TEXT NOT NULL CHECK (state IN ('pending','approved','declined')),"
                                  "  created INTEGER NOT NULL, answered INTEGER, answer TEXT, grant_until INTEGER);"
                                  "CREATE INDEX requests_child_state ON requests (child, state);"
                                  "CREATE TABLE pauses (child TEXT PRIMARY KEY, until INTEGER NOT NULL);"
                                  "PRAGMA user_version=1;"
                                  "INSERT INTO events (time, child, name, rule, category) VALUES"
                                  "  (1200, 'alice', 'a.example', 'deny', NULL),"
                                  "  (1300, 'alice', 'a.example', 'deny', NULL),"
                                  "  (1799, 'alice', 'a.example', 'deny', NULL),"
                                  "  (1800, 'alice', 'a.example', 'deny', NULL),"
                                  "  (1810, 'alice', 'a.example', 'category', 'games'),"
                                  "  (1820, 'alice', 'b.example', NULL, NULL),"
                                  "  (1830, 'alice', 'b.example', NULL, NULL),"
                                  "  (1840, 'bob', 'a.example', 'deny', NULL);"
                                  "INSERT INTO requests (child, name, message, state, created)"
                                  "  VALUES ('alice', 'a.example', 'please', 'pending', 1900);"
                                  "INSERT INTO pauses (child, until) VALUES ('bob', 99999);",
                                  NULL, NULL, NULL),
                    SQLITE_OK);
  /* carol: more distinct names than the cap allows. */
  assert_int_equal (sqlite3_exec (db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_prepare_v2 (db, "INSERT INTO events (time, child, name, rule) "
                                            "VALUES (?1, 'carol', ?2, 'deny')",
                                        -1, &stmt, NULL),
                    SQLITE_OK);
  for (i = 0; i < big; i++)
    {
      g_autofree char *name = g_strdup_printf ("c%u.example", i);

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, 3000 + i);
      sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
      assert_int_equal (sqlite3_step (stmt), SQLITE_DONE);
    }
  sqlite3_finalize (stmt);
  assert_int_equal (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (db);

  log = open_ok (fx->path);

  assert_int_equal (sqlite3_open_v2 (fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
  version = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  assert_int_equal (version, TRELLIS_EVENT_LOG_SCHEMA_VERSION);

  events = trellis_event_log_list (log, "alice", 0, &error);
  assert_null (error);
  /* a.example/deny in 1200-1799 (3), 1800 (1); a.example/category; b.example (2). */
  assert_int_equal (events->len, 4);
  assert_int_equal (count_events (log, "alice"), 7);
  ev = entry_named (events, "a.example", 1200);
  assert_non_null (ev);
  assert_int_equal (ev->count, 3);
  assert_int_equal (ev->last, 1799);
  assert_int_equal (ev->seq, 1);
  ev = entry_named (events, "b.example", -1);
  assert_non_null (ev);
  assert_null (ev->rule);
  assert_int_equal (ev->count, 2);
  assert_int_equal (ev->seq, 4);
  assert_string_equal (((TrellisEvent *) events->pdata[0])->name, "b.example");
  assert_int_equal (count_events (log, "bob"), 1);
  assert_true (trellis_event_log_request_get (log, 1, &req, &error));
  assert_string_equal (req->message, "please");
  assert_int_equal (trellis_event_log_pause_get (log, "bob"), 99999);

  /* carol keeps every row at the upgrade ... */
  assert_int_equal (count_entries (log, "carol"), big);
  /* ... and new entries take her back under the cap, TRIM_MAX a batch. */
  trellis_event_log_add_blocked (log, 90000, "carol", "new1.example", "deny", NULL);
  trellis_event_log_flush (log);
  assert_int_equal (count_entries (log, "carol"), big + 1 - TRELLIS_EVENT_LOG_TRIM_MAX);
  trellis_event_log_add_blocked (log, 90001, "carol", "new2.example", "deny", NULL);
  trellis_event_log_flush (log);
  assert_int_equal (count_entries (log, "carol"), TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX);
  sum = summary_of (log, "carol");
  assert_int_equal (sum.dropped_entries, big + 2 - TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX);
  assert_int_equal (sum.blocked + sum.dropped_blocked, big + 2);
  /* The new ones follow the old ones. */
  g_clear_pointer (&events, g_ptr_array_unref);
  events = trellis_event_log_list (log, "carol", 1, &error);
  assert_string_equal (((TrellisEvent *) events->pdata[0])->name, "new2.example");
  assert_int_equal (((TrellisEvent *) events->pdata[0])->seq, big + 2);
}

/* A damaged log set aside is kept until retention reaches its time, then
 * removed with the other old events; nothing else is touched. */
static void
test_corrupt_purged_on_retention (void **state)
{
  Fixture *fx = *state;
  g_autofree char *dir = g_path_get_dirname (fx->path);
  g_autofree char *outside = g_build_filename (fx->dir, "not-ours", NULL);
  g_autoptr(TrellisEventLog) log = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) removed = NULL;
  static const char *const old_ones[] = {
    "events.db.corrupt-100", "events.db.corrupt-100-wal", "events.db.corrupt-100.1",
    "events.db.corrupt-999"
  };
  static const char *const kept[] = {
    "events.db.corrupt-1000", /* not older than the cutoff */
    "events.db.corrupt-5000",
    "events.db.corrupt-abc", /* not ours: no time */
    "events.db.corrupt-",
    "events.db.corrupt-100x",
    "events.db.corrupt-100.1.2",
    "events.db.corrupt-100-shm",
    "other.db.corrupt-100",
    "events.db.old",
  };
  g_autofree char *link = g_build_filename (dir, "events.db.corrupt-50", NULL);
  g_autofree char *subdir = g_build_filename (dir, "events.db.corrupt-60", NULL);
  gboolean recreated = FALSE;
  guint deleted = 99;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint i;

  assert_int_equal (g_mkdir (dir, 0700), 0);
  for (i = 0; i < G_N_ELEMENTS (old_ones); i++)
    {
      g_autofree char *p = g_build_filename (dir, old_ones[i], NULL);

      assert_true (g_file_set_contents (p, "old", -1, NULL));
    }
  for (i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_autofree char *p = g_build_filename (dir, kept[i], NULL);

      assert_true (g_file_set_contents (p, "keep", -1, NULL));
    }
  /* A link and a directory with an old name are not ours to remove. */
  assert_true (g_file_set_contents (outside, "x", -1, NULL));
  assert_int_equal (symlink (outside, link), 0);
  assert_int_equal (g_mkdir (subdir, 0700), 0);

  log = open_ok (fx->path);
  assert_true (trellis_event_log_purge (log, 1000, &deleted, &removed, &error));
  assert_null (error);
  assert_int_equal (deleted, 0);
  assert_int_equal (g_strv_length (removed), G_N_ELEMENTS (old_ones));
  for (i = 0; i < G_N_ELEMENTS (old_ones); i++)
    {
      g_autofree char *p = g_build_filename (dir, old_ones[i], NULL);

      assert_false (g_file_test (p, G_FILE_TEST_EXISTS));
      assert_true (g_strv_contains ((const char *const *) removed, p));
    }
  for (i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_autofree char *p = g_build_filename (dir, kept[i], NULL);

      assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));
    }
  assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  assert_true (g_file_test (outside, G_FILE_TEST_IS_REGULAR));
  assert_true (g_file_test (subdir, G_FILE_TEST_IS_DIR));
  assert_true (g_file_test (fx->path, G_FILE_TEST_IS_REGULAR));
  g_clear_pointer (&removed, g_strfreev);

  /* A file trellisd really set aside: kept through its retention, then gone. */
  g_clear_pointer (&log, trellis_event_log_free);
  for (i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_autofree char *p = g_build_filename (dir, kept[i], NULL);

      g_unlink (p);
    }
  {
    g_autofree char *wal = g_strconcat (fx->path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (fx->path, "-shm", NULL);

    g_unlink (wal);
    g_unlink (shm);
  }
  assert_true (g_file_set_contents (fx->path, "this is not a database at all", -1, NULL));
  log = trellis_event_log_open_full (fx->path, &recreated, &error);
  assert_non_null (log);
  assert_true (recreated);
  assert_true (trellis_event_log_purge (log, now - 7 * 86400, NULL, &removed, &error));
  assert_int_equal (g_strv_length (removed), 0);
  g_clear_pointer (&removed, g_strfreev);
  assert_true (trellis_event_log_purge (log, now + 2, NULL, &removed, &error));
  assert_int_equal (g_strv_length (removed), 1);
  assert_true (g_str_has_prefix (removed[0], fx->path));
  assert_non_null (strstr (removed[0], ".corrupt-"));
  assert_false (g_file_test (removed[0], G_FILE_TEST_EXISTS));
  /* The live log is not among them, and still works. */
  trellis_event_log_add_blocked (log, now, "alice", "a.example", NULL, NULL);
  trellis_event_log_flush (log);
  assert_int_equal (count_events (log, "alice"), 1);
}

/* The _async jobs call back once each, in the worker thread, and all of
 * them before free() returns. */
typedef struct {
  gint done; /* atomic */
  GThread *thread;
  TrellisEventLogPage *page;
  guint deleted;
  char **removed;
  GError *error;
} AsyncResult;

static void
async_page_done (TrellisEventLogPage *page, GError *error, gpointer data)
{
  AsyncResult *r = data;

  r->thread = g_thread_self ();
  r->page = page;
  r->error = error;
  g_atomic_int_set (&r->done, 1);
}

static void
async_clear_done (guint deleted, GError *error, gpointer data)
{
  AsyncResult *r = data;

  r->thread = g_thread_self ();
  r->deleted = deleted;
  r->error = error;
  g_atomic_int_set (&r->done, 1);
}

static void
async_purge_done (guint deleted, char **removed, GError *error, gpointer data)
{
  AsyncResult *r = data;

  r->thread = g_thread_self ();
  r->deleted = deleted;
  r->removed = removed;
  r->error = error;
  g_atomic_int_set (&r->done, 1);
}

static void
async_wait (AsyncResult *r)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (&r->done) && g_get_monotonic_time () < end)
    g_usleep (1000);
  assert_true (g_atomic_int_get (&r->done));
}

/* A gateway's devices: their blocks are kept apart per device, read by
 * device (MAC or address) and by group, left out of a child's own view,
 * and counted, never named, in the report. */
static void
test_devices_and_report (void **state)
{
  Fixture *fx = *state;
  g_autoptr(TrellisEventLog) log = open_ok (fx->path);
  g_autoptr(TrellisEventLogPage) by_mac = NULL, by_addr = NULL, group = NULL, own = NULL,
                                  parent = NULL, page2 = NULL, none = NULL;
  g_autoptr(GPtrArray) counts = NULL;
  g_autoptr(GError) error = NULL;
  const gint64 t0 = 1700000400;
  TrellisEventLogStats stats;
  guint i;

  /* Two devices of year3 blocked the same name in the same interval. */
  for (i = 0; i < 3; i++)
    trellis_event_log_add_blocked_device (log, t0 + i, "year3", "02:00:00:00:03:10", "10.42.3.10",
                                          "casino.example", "category", "gambling");
  trellis_event_log_add_blocked_device (log, t0 + 5, "year3", "02:00:00:00:03:11", "10.42.3.11",
                                        "casino.example", "category", "gambling");
  trellis_event_log_add_blocked_device (log, t0 + 6, "year3", NULL, "fd42::3:12", "game.example",
                                        "deny game.example (household.conf:9)", NULL);
  /* Sam has an account and a laptop. */
  trellis_event_log_add_blocked (log, t0 + 7, "sam", "adult.example", "category", "adult");
  trellis_event_log_add_blocked_device (log, t0 + 8, "sam", "02:00:00:00:11:01", "10.42.11.1",
                                        "adult.example", "category", "adult");
  /* Too long a device is refused, as any bad string. */
  trellis_event_log_add_blocked_device (log, t0 + 9, "year3", "0123456789012345678901234567890123456789012345678901234567890123456789",
                                        NULL, "x.example", NULL, NULL);
  trellis_event_log_flush (log);
  trellis_event_log_get_stats (log, &stats);
  assert_int_equal (stats.invalid, 1);

  by_mac = trellis_event_log_read_devices (log, NULL, "02:00:00:00:03:10", 0, 0, &error);
  assert_null (error);
  assert_int_equal (by_mac->events->len, 1);
  assert_int_equal (((TrellisEvent *) by_mac->events->pdata[0])->count, 3);
  assert_string_equal (((TrellisEvent *) by_mac->events->pdata[0])->address, "10.42.3.10");
  assert_string_equal (((TrellisEvent *) by_mac->events->pdata[0])->child, "year3");
  assert_int_equal (by_mac->summary.blocked, 3);
  by_addr = trellis_event_log_read_devices (log, NULL, "fd42::3:12", 0, 0, &error);
  assert_int_equal (by_addr->events->len, 1);
  assert_null (((TrellisEvent *) by_addr->events->pdata[0])->mac);
  none = trellis_event_log_read_devices (log, "sam", "02:00:00:00:03:10", 0, 0, &error);
  assert_int_equal (none->events->len, 0);

  group = trellis_event_log_read_devices (log, "year3", NULL, 0, 2, &error);
  assert_int_equal (group->events->len, 2);
  assert_int_equal (group->summary.entries, 3);
  assert_int_equal (group->summary.blocked, 5);
  assert_true (group->next > 0);
  page2 = trellis_event_log_read_devices (log, "year3", NULL, group->next, 2, &error);
  assert_int_equal (page2->events->len, 1);
  assert_int_equal (page2->next, 0);
  assert_false (page2->has_summary);

  /* Sam's own view: his account's block only; the parents see both. */
  own = trellis_event_log_read_page_full (log, "sam", FALSE, 0, 0, &error);
  assert_int_equal (own->events->len, 1);
  assert_null (((TrellisEvent *) own->events->pdata[0])->mac);
  assert_int_equal (own->summary.entries, 1);
  parent = trellis_event_log_read_page_full (log, "sam", TRUE, 0, 0, &error);
  assert_int_equal (parent->events->len, 2);
  assert_int_equal (parent->summary.blocked, 2);

  counts = trellis_event_log_report (log, t0, &error);
  assert_null (error);
  assert_int_equal (counts->len, 3); /* sam/adult, year3/NULL, year3/gambling */
  for (i = 0; i < counts->len; i++)
    {
      const TrellisEventLogCount *c = counts->pdata[i];

      if (strcmp (c->child, "sam") == 0)
        {
          assert_string_equal (c->category, "adult");
          assert_int_equal (c->blocked, 2);
          assert_int_equal (c->devices, 1);
        }
      else if (c->category == NULL)
        {
          assert_int_equal (c->blocked, 1);
          assert_int_equal (c->devices, 1);
        }
      else
        {
          assert_string_equal (c->category, "gambling");
          assert_int_equal (c->entries, 2);
          assert_int_equal (c->blocked, 4);
          assert_int_equal (c->devices, 2);
        }
    }
  g_clear_pointer (&counts, g_ptr_array_unref);
  /* A period after every block: nothing. */
  counts = trellis_event_log_report (log, t0 + 3600, &error);
  assert_int_equal (counts->len, 0);
}

static void
test_async_jobs (void **state)
{
  Fixture *fx = *state;
  TrellisEventLog *log = open_ok (fx->path);
  AsyncResult page = { 0 }, bad = { 0 }, clear = { 0 }, purge = { 0 };
  AsyncResult many[8] = { { 0 } };
  guint i;

  for (i = 0; i < 50; i++)
    {
      g_autofree char *name = g_strdup_printf ("j%u.example", i);

      trellis_event_log_add_blocked (log, 100 + i, "alice", name, "deny", NULL);
    }
  /* No flush: the read flushes first. */
  trellis_event_log_read_page_async (log, "alice", 0, 20, async_page_done, &page);
  async_wait (&page);
  assert_null (page.error);
  assert_true (page.thread != g_thread_self ());
  assert_int_equal (page.page->events->len, 20);
  assert_true (page.page->has_summary);
  assert_int_equal (page.page->summary.entries, 50);
  assert_true (page.page->next > 0);
  g_clear_pointer (&page.page, trellis_event_log_page_free);

  /* A bad child is an error, in the callback. */
  trellis_event_log_read_page_async (log, "", 0, 20, async_page_done, &bad);
  async_wait (&bad);
  assert_null (bad.page);
  assert_true (g_error_matches (bad.error, TRELLIS_EVENT_LOG_ERROR,
                                TRELLIS_EVENT_LOG_ERROR_INVALID));
  g_clear_error (&bad.error);

  trellis_event_log_purge_async (log, 120, async_purge_done, &purge);
  async_wait (&purge);
  assert_null (purge.error);
  assert_true (purge.thread == page.thread);
  assert_int_equal (purge.deleted, 20);
  assert_non_null (purge.removed);
  g_strfreev (purge.removed);

  trellis_event_log_clear_async (log, "alice", async_clear_done, &clear);
  async_wait (&clear);
  assert_null (clear.error);
  assert_int_equal (clear.deleted, 30);
  assert_int_equal (count_entries (log, "alice"), 0);

  /* Freed with jobs waiting: every one has answered (a page, or "closed")
   * when free() returns, and nothing leaks (ASan). */
  for (i = 0; i < G_N_ELEMENTS (many); i++)
    trellis_event_log_read_page_async (log, "alice", 0, 10, async_page_done, &many[i]);
  trellis_event_log_free (log);
  for (i = 0; i < G_N_ELEMENTS (many); i++)
    {
      assert_true (g_atomic_int_get (&many[i].done));
      if (many[i].page == NULL)
        {
          assert_true (g_error_matches (many[i].error, TRELLIS_EVENT_LOG_ERROR,
                                        TRELLIS_EVENT_LOG_ERROR_CLOSED));
        }
      g_clear_pointer (&many[i].page, trellis_event_log_page_free);
      g_clear_error (&many[i].error);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_open_creates_private_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_open_tightens_file_refuses_open_dir, setup, teardown),
    cmocka_unit_test_setup_teardown (test_thousand_newest_first, setup, teardown),
    cmocka_unit_test_setup_teardown (test_siblings_never_leak, setup, teardown),
    cmocka_unit_test_setup_teardown (test_purge_by_time, setup, teardown),
    cmocka_unit_test_setup_teardown (test_requests, setup, teardown),
    cmocka_unit_test_setup_teardown (test_grants_active, setup, teardown),
    cmocka_unit_test_setup_teardown (test_pauses, setup, teardown),
    cmocka_unit_test_setup_teardown (test_corrupt_moved_aside, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_strings_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unusable_location, setup, teardown),
    cmocka_unit_test_setup_teardown (test_write_errors_counted, setup, teardown),
    cmocka_unit_test_setup_teardown (test_flood_accounted, setup, teardown),
    cmocka_unit_test_setup_teardown (test_batch_timer, setup, teardown),
    cmocka_unit_test_setup_teardown (test_reopen_keeps_data, setup, teardown),
    cmocka_unit_test_setup_teardown (test_crash_never_corrupts, setup, teardown),
    cmocka_unit_test_setup_teardown (test_newer_schema_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_fold_repeats, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cap_drops_oldest, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missed_when_queue_full, setup, teardown),
    cmocka_unit_test_setup_teardown (test_paging, setup, teardown),
    cmocka_unit_test_setup_teardown (test_migration_from_v1, setup, teardown),
    cmocka_unit_test_setup_teardown (test_corrupt_purged_on_retention, setup, teardown),
    cmocka_unit_test_setup_teardown (test_async_jobs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_devices_and_report, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
