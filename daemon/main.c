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
#include <unistd.h>

#include "daemon/service-notify.h"
#include "daemon/trellisd.h"
#include "policy/data-dir.h"

#define DEFAULT_QUEUE_NUM   TRELLIS_NFT_QUEUE_NUM_DEFAULT
#define DEFAULT_ANSWER_PORT TRELLIS_NFT_ANSWER_PORT_DEFAULT

typedef struct {
  GMainLoop *loop;
  TrellisDaemon *daemon;
  GSource *watchdog; /* (owned) (nullable) */
  gboolean handover; /* SIGUSR2: leave the table to the next trellisd */
  int status;
} Context;

/* The table and the queue are in place: tell systemd, and keep its
 * watchdog in the thread that gives the verdicts. */
static void
on_ready (GMainContext *verdicts, gpointer user_data)
{
  Context *ctx = user_data;

  if (ctx->watchdog == NULL)
    ctx->watchdog = trellis_watchdog_attach (verdicts);
  trellis_service_notify ("READY=1\nSTATUS=filtering: the table and the queue are in place");
}

static gboolean
on_terminate (gpointer user_data)
{
  Context *ctx = user_data;

  g_message ("stopping");
  trellis_service_notify ("STOPPING=1");
  g_main_loop_quit (ctx->loop);
  return G_SOURCE_CONTINUE;
}

/* SIGUSR2, from the package's postinst on an upgrade: exit keeping the
 * table; systemd (Restart=always) starts the new trellisd, which takes the
 * queue back.  A stop (SIGTERM) would remove the table, and the children
 * would be unfiltered until the new one put it back. */
static gboolean
on_handover (gpointer user_data)
{
  Context *ctx = user_data;

  g_message ("exiting for the next trellisd; the table stays");
  ctx->handover = TRUE;
  g_main_loop_quit (ctx->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload (gpointer user_data)
{
  Context *ctx = user_data;

  /* The daemon logs how the reload ends; READY=1 here only tells systemd
   * that the signal was taken. */
  trellis_service_notify ("RELOADING=1");
  trellis_daemon_reload (ctx->daemon);
  trellis_service_notify ("READY=1");
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
  g_autofree char *lists_dir = NULL;
  g_autofree char *updater = NULL;
  g_autofree char *updater_config = NULL;
  gint queue_num = DEFAULT_QUEUE_NUM;
  gint answer_port = DEFAULT_ANSWER_PORT;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  gboolean remove_table = FALSE;
  gint answers_queue = 0;
  g_autofree char *fake_time = NULL;
  gint ttl_min = 0, ttl_max = 0;
  g_auto(GStrv) resolvers = NULL;
  g_autofree char *runtime_dir = NULL;
  gboolean no_nss = FALSE;
  GOptionEntry entries[] = {
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &household,
      "The household file (default " TRELLIS_SYSCONFDIR "/household.conf)", "FILE" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "Where state is kept (default " TRELLIS_STATEDIR ")", "DIR" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Shipped data: helplines, categories (default " TRELLIS_DATADIR ", or the source tree's when run from a build tree)", "DIR" },
    { "queue-num", 0, 0, G_OPTION_ARG_INT, &queue_num,
      "The NFQUEUE number (default 5353)", "N" },
    { "answer-port", 0, 0, G_OPTION_ARG_INT, &answer_port,
      "The answerer's local UDP and TCP port (default 5354)", "PORT" },
    { "table", 0, 0, G_OPTION_ARG_STRING, &table,
      "The nftables table (family inet) (default trellis)", "NAME" },
    { "lists-dir", 0, 0, G_OPTION_ARG_FILENAME, &lists_dir,
      "The list updater's folder (default " TRELLIS_LISTSDIR ")", "DIR" },
    { "updater", 0, 0, G_OPTION_ARG_FILENAME, &updater,
      "Run this list updater itself, as the owner of the lists folder (default: the installed one, "
      "through systemd when it runs)",
      "PATH" },
    { "updater-config", 0, 0, G_OPTION_ARG_FILENAME, &updater_config,
      "The list updater's configuration file", "FILE" },
    { "answers-queue-num", 0, 0, G_OPTION_ARG_INT, &answers_queue,
      "The NFQUEUE of the DNS answers trellisd learns from (default: --queue-num + 1)", "N" },
    { "resolver", 0, 0, G_OPTION_ARG_STRING_ARRAY, &resolvers,
      "A DNS server trellisd asks for the DNS-over-HTTPS endpoints' addresses (repeatable; default: /etc/resolv.conf's)", "ADDRESS" },
    { "runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &runtime_dir,
      "Where the NSS module's socket is made (default " TRELLIS_RUNDIR ")", "DIR" },
    { "no-nss", 0, 0, G_OPTION_ARG_NONE, &no_nss,
      "Make no socket for the NSS module", NULL },
    { "learn-ttl-min", 0, 0, G_OPTION_ARG_INT, &ttl_min,
      "Seconds an address learned from an answer is kept at least (default 120)", "S" },
    { "learn-ttl-max", 0, 0, G_OPTION_ARG_INT, &ttl_max,
      "Seconds an address learned from an answer is kept at most (default 21600)", "S" },
    { "fake-time", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &fake_time,
      "Tests: start the daemon's clock at this moment (ISO 8601 with a zone) instead of now", "TIME" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages (the names a child looks up are never logged)", NULL },
    { "remove-table", 0, 0, G_OPTION_ARG_NONE, &remove_table,
      "Remove the nftables table a stopped trellisd left (children are then unfiltered) and exit", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
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
                                     ? g_getenv ("TRELLIS_LOCALEDIR")
                                     : LOCALEDIR);
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
  if (!parse_port ("--queue-num", queue_num, &config.queue_num, &error)
      || !parse_port ("--answer-port", answer_port, &config.answer_port, &error))
    {
      g_printerr ("trellisd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("trellisd %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (remove_table)
    {
      /* What removing the package does when trellisd is not running to do
       * it on its way out: a table left behind with on-failure=closed
       * would hold children's DNS for good. */
      int r = trellis_nft_delete_table (table != NULL ? table : TRELLIS_NFT_TABLE_DEFAULT);

      if (r < 0)
        {
          g_printerr ("trellisd: cannot remove table inet %s: %s\n",
                      table != NULL ? table : TRELLIS_NFT_TABLE_DEFAULT, g_strerror (-r));
          return 1;
        }
      return 0;
    }
  if (!parse_port ("--answers-queue-num", answers_queue, &config.answers_queue_num, &error))
    {
      g_printerr ("trellisd: %s\n", error->message);
      return 2;
    }
  if (ttl_min < 0 || ttl_max < 0 || (ttl_max > 0 && ttl_max < ttl_min))
    {
      g_printerr ("trellisd: --learn-ttl-min and --learn-ttl-max must be seconds, the minimum not above the maximum\n");
      return 2;
    }
  config.learn_ttl_min = (guint) ttl_min;
  config.learn_ttl_max = (guint) ttl_max;
  config.resolvers = resolvers;
  config.runtime_dir = no_nss ? NULL : runtime_dir != NULL ? runtime_dir
                                                           : (char *) TRELLIS_RUNDIR;
  if (fake_time != NULL)
    {
      g_autoptr(GDateTime) t = g_date_time_new_from_iso8601 (fake_time, NULL);

      if (t == NULL)
        {
          g_printerr ("trellisd: --fake-time: “%s” is not an ISO 8601 time with a zone\n", fake_time);
          return 2;
        }
      config.fake_time = g_date_time_to_unix (t);
    }
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
  config.lists_dir = lists_dir;
  config.updater = updater;
  config.updater_config = updater_config;
  config.ready = on_ready;
  config.ready_data = &ctx;

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
  g_unix_signal_add (SIGUSR2, on_handover, &ctx);

  if (!trellis_daemon_start (daemon, &error))
    {
      g_printerr ("trellisd: %s\n", error->message);
      trellis_daemon_stop (daemon);
      return 1;
    }
  g_message ("trellisd ready");

  g_main_loop_run (loop);

  if (ctx.handover)
    trellis_daemon_stop_for_restart (daemon);
  else
    trellis_daemon_stop (daemon);
  if (ctx.watchdog != NULL)
    {
      g_source_destroy (ctx.watchdog);
      g_source_unref (ctx.watchdog);
    }
  return ctx.status;
}
