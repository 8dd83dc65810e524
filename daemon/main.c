/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellisd — filters the DNS of children's accounts.  This file only reads
 * the options, wires the signals and runs the loop; daemon/trellisd.c does
 * the work.
 */
#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <libintl.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/trellisd.h"
#include "policy/data-dir.h"

#define DEFAULT_QUEUE_NUM   TRELLIS_NFT_QUEUE_NUM_DEFAULT
#define DEFAULT_ANSWER_PORT TRELLIS_NFT_ANSWER_PORT_DEFAULT

typedef struct {
  GMainLoop     *loop;
  TrellisDaemon *daemon;
  int            status;
} Context;

/* Tells systemd (Type=notify) that we are up; nothing when not under it. */
static void
notify_systemd (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t len;
  int fd;

  if (path == NULL || (path[0] != '/' && path[0] != '@'))
    return;
  len = strlen (path);
  if (len >= sizeof sa.sun_path)
    return;
  memcpy (sa.sun_path, path, len);
  if (sa.sun_path[0] == '@')
    sa.sun_path[0] = '\0';
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &sa,
          (socklen_t) (offsetof (struct sockaddr_un, sun_path) + len));
  close (fd);
}

static gboolean
on_terminate (gpointer user_data)
{
  Context *ctx = user_data;

  g_message ("stopping");
  notify_systemd ("STOPPING=1");
  g_main_loop_quit (ctx->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload (gpointer user_data)
{
  Context *ctx = user_data;

  /* The daemon logs how the reload ends; READY=1 here only tells systemd
   * that the signal was taken. */
  notify_systemd ("RELOADING=1");
  trellis_daemon_reload (ctx->daemon);
  notify_systemd ("READY=1");
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_port (const char *what, gint value, guint16 *ret, GError **error)
{
  if (value < 0 || value > 65535)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s must be between 0 and 65535, not %d", what, value);
      return FALSE;
    }
  *ret = (guint16) value;
  return TRUE;
}

int
main (int argc, char *argv[])
{
  g_autofree char *household = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *table = NULL;
  gint queue_num = DEFAULT_QUEUE_NUM;
  gint queue_threads = 0;
  gint answer_port = DEFAULT_ANSWER_PORT;
  gboolean verbose = FALSE;
  GOptionEntry entries[] = {
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &household,
      "The household file (default " TRELLIS_SYSCONFDIR "/household.conf)", "FILE" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "Where state is kept (default " TRELLIS_STATEDIR ")", "DIR" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Shipped data: helplines, categories (default " TRELLIS_DATADIR ", or the source tree's when run from a build tree)", "DIR" },
    { "queue-num", 0, 0, G_OPTION_ARG_INT, &queue_num,
      "The NFQUEUE number (default 5353)", "N" },
    { "queue-threads", 0, 0, G_OPTION_ARG_INT, &queue_threads,
      "Queues (from --queue-num on) and threads that judge queries, spread by CPU "
      "(default: one per CPU, at most 16)", "N" },
    { "answer-port", 0, 0, G_OPTION_ARG_INT, &answer_port,
      "The answerer's local UDP and TCP port (default 5354)", "PORT" },
    { "table", 0, 0, G_OPTION_ARG_STRING, &table,
      "The nftables table (family inet) (default trellis)", "NAME" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages (the names a child looks up are never logged)", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisDaemon) daemon = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  TrellisDaemonConfig config = { 0 };
  Context ctx = { 0 };

  setlocale (LC_ALL, "");
  /* Explanations are translated for the child who asks (Why carries the
   * caller's locale); TRELLIS_LOCALEDIR: catalogs not yet installed. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TRELLIS_LOCALEDIR") != NULL
                                   ? g_getenv ("TRELLIS_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  options = g_option_context_new ("— filter the DNS of children's accounts");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("trellisd: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("trellisd: unexpected argument “%s”\n", argv[1]);
      return 2;
    }
  if (!parse_port ("--queue-num", queue_num, &config.queue_num, &error) ||
      !parse_port ("--answer-port", answer_port, &config.answer_port, &error))
    {
      g_printerr ("trellisd: %s\n", error->message);
      return 2;
    }
  if (queue_threads < 0 || queue_threads > TRELLIS_NFT_QUEUE_TOTAL_MAX)
    {
      g_printerr ("trellisd: --queue-threads must be between 1 and %u, not %d\n",
                  TRELLIS_NFT_QUEUE_TOTAL_MAX, queue_threads);
      return 2;
    }
  config.queue_threads = (guint) queue_threads;
  if (verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);

  /* A peer that closes on us must not kill the daemon. */
  signal (SIGPIPE, SIG_IGN);

  config.household_path = household != NULL ? household : (char *) TRELLIS_SYSCONFDIR "/household.conf";
  config.state_dir = state_dir != NULL ? state_dir : (char *) TRELLIS_STATEDIR;
  if (data_dir == NULL)
    {
      gboolean uninstalled = FALSE;

      data_dir = trellis_data_dir_default (&uninstalled);
      if (uninstalled)
        g_message ("run from a build tree: the shipped data is %s", data_dir);
    }
  config.data_dir = data_dir;
  config.table = table;

  daemon = trellis_daemon_new (&config, &error);
  if (daemon == NULL)
    {
      g_printerr ("trellisd: the household file does not compile:\n%s\n", error->message);
      if (strstr (error->message, data_dir) != NULL)
        g_printerr ("trellisd: the shipped data was looked for in %s; give another folder with --data-dir DIR\n",
                    data_dir);
      return 1;
    }

  loop = g_main_loop_new (NULL, FALSE);
  ctx.loop = loop;
  ctx.daemon = daemon;
  g_unix_signal_add (SIGTERM, on_terminate, &ctx);
  g_unix_signal_add (SIGINT, on_terminate, &ctx);
  g_unix_signal_add (SIGHUP, on_reload, &ctx);

  if (!trellis_daemon_start (daemon, &error))
    {
      g_printerr ("trellisd: %s\n", error->message);
      trellis_daemon_stop (daemon);
      return 1;
    }
  g_message ("trellisd ready");
  notify_systemd ("READY=1");

  g_main_loop_run (loop);

  trellis_daemon_stop (daemon);
  return ctx.status;
}
