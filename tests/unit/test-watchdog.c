/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What trellisd tells systemd: READY=1 and the watchdog's WATCHDOG=1,
 * received on a notify socket of our own, as systemd would receive them.
 * The pings come only while the verdicts' context is iterated: a context
 * that hangs stops them.  A watchdog meant for another process, or none,
 * attaches nothing; a notify socket that is not there harms nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "daemon/service-notify.h"

#define INTERVAL_USEC 100000 /* WATCHDOG_USEC: pings every 50 ms */

typedef struct {
  char *dir;  /* (owned) */
  char *path; /* (owned) the notify socket */
  int fd;     /* where "systemd" reads */
} Fixture;

static int
setup (void **state)
{
  Fixture *fx = g_new0 (Fixture, 1);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());

  fx->dir = g_dir_make_tmp ("trellis-watchdog-XXXXXX", &error);
  assert_null (error);
  fx->path = g_build_filename (fx->dir, "notify", NULL);
  assert_true (strlen (fx->path) < sizeof sa.sun_path);
  strcpy (sa.sun_path, fx->path);
  fx->fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  assert_true (fx->fd >= 0);
  assert_int_equal (bind (fx->fd, (struct sockaddr *) &sa, sizeof sa), 0);

  g_setenv ("NOTIFY_SOCKET", fx->path, TRUE);
  g_setenv ("WATCHDOG_PID", pid, TRUE);
  g_setenv ("WATCHDOG_USEC", G_STRINGIFY (INTERVAL_USEC), TRUE);
  *state = fx;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *fx = *state;

  g_unsetenv ("NOTIFY_SOCKET");
  g_unsetenv ("WATCHDOG_PID");
  g_unsetenv ("WATCHDOG_USEC");
  close (fx->fd);
  g_unlink (fx->path);
  g_rmdir (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
  g_free (fx);
  return 0;
}

/* Reads every datagram waiting; returns how many said exactly @state. */
static guint
drain (Fixture *fx, const char *state, guint *ret_other)
{
  char buf[256];
  guint n = 0, other = 0;
  ssize_t len;

  while ((len = recv (fx->fd, buf, sizeof buf - 1, 0)) >= 0)
    {
      buf[len] = '\0';
      if (strcmp (buf, state) == 0)
        n++;
      else
        other++;
    }
  assert_true (errno == EAGAIN || errno == EWOULDBLOCK);
  if (ret_other != NULL)
    *ret_other = other;
  return n;
}

static void
test_notify_reaches_the_socket (void **state)
{
  Fixture *fx = *state;
  guint other = 0;

  trellis_service_notify ("READY=1");
  assert_int_equal (drain (fx, "READY=1", &other), 1);
  assert_int_equal (other, 0);
}

static void
test_pings_only_while_the_context_runs (void **state)
{
  Fixture *fx = *state;
  g_autoptr(GMainContext) context = g_main_context_new ();
  GSource *watchdog = trellis_watchdog_attach (context);
  guint pings = 0, other = 0;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  assert_non_null (watchdog);
  /* The thread runs: pings arrive (three, however slow the machine). */
  while (pings < 3 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (context, TRUE);
      pings += drain (fx, "WATCHDOG=1", &other);
    }
  assert_true (pings >= 3);
  assert_int_equal (other, 0);

  /* The thread hangs (nothing iterates the context): not one ping in five
   * intervals, so systemd's timer runs out. */
  g_usleep (5 * INTERVAL_USEC);
  assert_int_equal (drain (fx, "WATCHDOG=1", NULL), 0);

  /* And it is back as soon as the thread is. */
  pings = 0;
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (pings < 1 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (context, TRUE);
      pings += drain (fx, "WATCHDOG=1", NULL);
    }
  assert_true (pings >= 1);

  g_source_destroy (watchdog);
  g_source_unref (watchdog);
}

static gboolean
threads_alive (gint64 max_quiet_usec, gpointer user_data)
{
  gboolean *alive = user_data;

  /* half of WATCHDOG_USEC, but never below 2 s */
  assert_int_equal (max_quiet_usec, 2 * G_USEC_PER_SEC);
  return *alive;
}

/* Verdicts given in other threads: the main loop runs all along, but a
 * verdict thread that stops coming round stops the pings. */
static void
test_pings_only_while_the_verdict_threads_do (void **state)
{
  Fixture *fx = *state;
  g_autoptr(GMainContext) context = g_main_context_new ();
  gboolean alive = TRUE;
  GSource *watchdog = trellis_watchdog_attach_full (context, threads_alive, &alive);
  guint pings = 0;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  assert_non_null (watchdog);
  while (pings < 2 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (context, TRUE);
      pings += drain (fx, "WATCHDOG=1", NULL);
    }
  assert_true (pings >= 2);

  /* A thread hangs: the context keeps running, no ping in five intervals. */
  alive = FALSE;
  deadline = g_get_monotonic_time () + 5 * INTERVAL_USEC;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  assert_int_equal (drain (fx, "WATCHDOG=1", NULL), 0);

  alive = TRUE;
  pings = 0;
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (pings < 1 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (context, TRUE);
      pings += drain (fx, "WATCHDOG=1", NULL);
    }
  assert_true (pings >= 1);

  g_source_destroy (watchdog);
  g_source_unref (watchdog);
}

static void
test_no_watchdog_attaches_nothing (void **state)
{
  Fixture *fx = *state;
  g_autoptr(GMainContext) context = g_main_context_new ();

  /* WatchdogSec= not set. */
  g_unsetenv ("WATCHDOG_USEC");
  assert_null (trellis_watchdog_attach (context));
  /* A watchdog meant for another process (a child that inherited the
   * environment). */
  g_setenv ("WATCHDOG_USEC", G_STRINGIFY (INTERVAL_USEC), TRUE);
  g_setenv ("WATCHDOG_PID", "1", TRUE);
  assert_null (trellis_watchdog_attach (context));
  /* Nonsense from the environment. */
  g_setenv ("WATCHDOG_PID", "not-a-pid", TRUE);
  assert_null (trellis_watchdog_attach (context));
  g_setenv ("WATCHDOG_USEC", "-5", TRUE);
  assert_null (trellis_watchdog_attach (context));
  assert_false (g_main_context_pending (context));
  assert_int_equal (drain (fx, "WATCHDOG=1", NULL), 0);
}

static void
test_missing_socket_harms_nothing (void **state)
{
  Fixture *fx = *state;

  /* Not under systemd, or a socket that went away: nothing happens. */
  g_unsetenv ("NOTIFY_SOCKET");
  trellis_service_notify ("READY=1");
  g_setenv ("NOTIFY_SOCKET", "/nonexistent/trellis/notify", TRUE);
  trellis_service_notify ("READY=1");
  g_setenv ("NOTIFY_SOCKET", "relative/is/refused", TRUE);
  trellis_service_notify ("READY=1");
  assert_int_equal (drain (fx, "READY=1", NULL), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_notify_reaches_the_socket, setup, teardown),
    cmocka_unit_test_setup_teardown (test_pings_only_while_the_context_runs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_pings_only_while_the_verdict_threads_do, setup, teardown),
    cmocka_unit_test_setup_teardown (test_no_watchdog_attaches_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missing_socket_harms_nothing, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
