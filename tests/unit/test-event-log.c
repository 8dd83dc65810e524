/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event log: files and modes, batching, privacy between siblings,
 * retention, requests, pauses, corruption, bad strings, write failures,
 * and a crash in the middle of writing.  Each test works in a fresh
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
  char *dir;   /* (owned) */
  char *path;  /* (owned) dir/log/events.db: the log/ part does not exist yet */
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

static guint
count_events (TrellisEventLog *log,
              const char      *child)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = trellis_event_log_list (log, child, 0, &error);

  assert_null (error);
  assert_non_null (events);
  return events->len;
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

  events = trellis_event_log_list (log, "bob", 0, &error);
  assert_null (error);
  assert_int_equal (events->len, 10);
  for (i = 0; i < events->len; i++)
    {
      const TrellisEvent *ev = g_ptr_array_index (events, i);

      assert_string_equal (ev->child, "bob");
      assert_string_equal (ev->name, "bob.example");
    }
  assert_int_equal (count_events (log, "alice"), 20);
  assert_int_equal (count_events (log, "carol"), 0);
  /* A prefix is not a match. */
  assert_int_equal (count_events (log, "ali"), 0);

  /* Clearing bob leaves alice; an event queued just before the clear goes too. */
  trellis_event_log_add_blocked (log, 200, "bob", "late.example", NULL, NULL);
  assert_true (trellis_event_log_clear (log, "bob", &deleted, &error));
  assert_null (error);
  assert_int_equal (deleted, 11);
  assert_int_equal (count_events (log, "bob"), 0);
  assert_int_equal (count_events (log, "alice"), 20);

  assert_true (trellis_event_log_clear (log, NULL, &deleted, &error));
  assert_int_equal (deleted, 20);
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

  for (t = 1000; t < 1100; t++)
    trellis_event_log_add_blocked (log, t, "alice", "x.example", NULL, NULL);
  trellis_event_log_flush (log);

  assert_true (trellis_event_log_request_add (log, "alice", "old.example", NULL, 900, &old_id, &error));
  assert_true (trellis_event_log_request_answer (log, old_id, "declined", NULL, 950, 0, &error));
  assert_true (trellis_event_log_request_add (log, "alice", "g.example", NULL, 900, &granted_id, &error));
  assert_true (trellis_event_log_request_answer (log, granted_id, "approved", NULL, 950, 5000, &error));
  assert_true (trellis_event_log_request_add (log, "alice", "p.example", NULL, 900, &pending_id, &error));
  assert_true (trellis_event_log_pause_set (log, "alice", 1010, &error));
  assert_true (trellis_event_log_pause_set (log, "bob", 9000, &error));

  /* Events before 1050 (50), the declined request (1), alice's pause (1). */
  assert_true (trellis_event_log_purge (log, 1050, &deleted, &error));
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
    NULL,   /* a valid header, then garbage pages */
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
    trellis_event_log_add_blocked (log, 2, "alice", "full.example", rule, rule);
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
  g_usleep (300 * 1000);   /* let the writer be mid-transaction, likely */
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
        flushed++;
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
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
