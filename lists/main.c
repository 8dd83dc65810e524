/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellis-lists-update — fetches the published category lists the
 * household uses, checks them, and compiles them for trellisd.  It never
 * runs as root: started as root (by hand), it becomes the owner of the
 * lists folder first.  This file reads the options and the household;
 * lists/updater.c does the work.
 *
 *   trellis-lists-update [--household FILE | --household-fd N]
 *                        [--data-dir DIR] [--lists-dir DIR] [--config FILE]
 *                        [--source ID]... [--offline] [--full]
 *
 * Exit status: 0 every list is current; 1 some lists failed (their last
 * good lists stay, the errors are in the status file); 2 a usage error;
 * 3 nothing was done (the household file, the configuration, the lists
 * folder, another run, a compile that failed).
 */
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <libintl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>

#include "lists/list-fetch.h"
#include "lists/updater.h"
#include "policy/trellis-policy.h"

#define DEFAULT_LISTS_DIR TRELLIS_LISTSDIR

enum {
  EXIT_ALL_CURRENT = 0,
  EXIT_SOME_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_NOTHING_DONE = 3,
};

/* Root never fetches or unpacks anything from the network: become the
 * lists folder's owner, or refuse. */
static gboolean
drop_root (const char *lists_dir,
           GError **error)
{
  struct stat st;

  if (geteuid () != 0 && getuid () != 0)
    return TRUE;
  if (stat (lists_dir, &st) != 0 || st.st_uid == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the list updater does not run as root, and %s does not belong to another account "
                   "(the systemd unit runs it as its own account; trellis lists update asks trellisd)",
                   lists_dir);
      return FALSE;
    }
  if (setgroups (0, NULL) != 0 || setresgid (st.st_gid, st.st_gid, st.st_gid) != 0
      || setresuid (st.st_uid, st.st_uid, st.st_uid) != 0
      || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
      || setuid (0) == 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot give up root: %s", g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/* What the run says: printed (stdout, or stderr for @error), and kept for
 * the run file. */
static void G_GNUC_PRINTF (3, 4)
  say (GString *said,
       gboolean error,
       const char *format,
       ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (error)
    g_printerr ("%s", text);
  else
    g_print ("%s", text);
  g_string_append (said, text);
}

static char *
read_fd (int fd,
         gsize *ret_length,
         GError **error)
{
  g_autoptr(GInputStream) in = g_unix_input_stream_new (fd, TRUE);
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

  if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, error) < 0
      || !g_output_stream_write_all (out, "", 1, NULL, NULL, error)
      || !g_output_stream_close (out, NULL, error))
    return NULL;
  *ret_length = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)) - 1;
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out));
}

int
main (int argc,
      char *argv[])
{
  g_autofree char *household = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *lists_dir = NULL;
  g_autofree char *config_path = NULL;
  g_auto(GStrv) only = NULL;
  gint household_fd = -1;
  gboolean offline = FALSE, full = FALSE;
  GOptionEntry entries[] = {
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &household,
      "The household file (default $CREDENTIALS_DIRECTORY/household.conf, else " TRELLIS_SYSCONFDIR "/household.conf)", "FILE" },
    { "household-fd", 0, 0, G_OPTION_ARG_INT, &household_fd,
      "Read the household file from this file descriptor", "N" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
      "The shipped data (default " TRELLIS_DATADIR ")", "DIR" },
    { "lists-dir", 0, 0, G_OPTION_ARG_FILENAME, &lists_dir,
      "Where the lists are kept (default " DEFAULT_LISTS_DIR ")", "DIR" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
      "The updater's configuration, root's (default " TRELLIS_SYSCONFDIR "/lists.conf)", "FILE" },
    { "source", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only,
      "Fetch only this source (again for more)", "ID" },
    { "offline", 0, 0, G_OPTION_ARG_NONE, &offline,
      "Fetch nothing: compile the lists already kept", NULL },
    { "full", 0, 0, G_OPTION_ARG_NONE, &full,
      "Compile every name again rather than patch the index in force", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *name = NULL;
  TrellisUpdaterConfig config;
  TrellisUpdaterSummary summary = { 0 };
  TrellisPolicyLoadOptions load = { 0 };
  g_autoptr(GString) said = g_string_new (NULL);
  gsize length = 0;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TRELLIS_LOCALEDIR") != NULL
                                     ? g_getenv ("TRELLIS_LOCALEDIR")
                                     : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  options = g_option_context_new ("— fetch and compile the published category lists");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || argc > 1)
    {
      g_printerr ("trellis-lists-update: %s\n", error != NULL ? error->message : "unexpected argument");
      return EXIT_USAGE;
    }
  if (lists_dir == NULL)
    lists_dir = g_strdup (DEFAULT_LISTS_DIR);

  /* The household first (it may be a file only root reads, or a
   * descriptor trellisd opened), then root is given up. */
  if (household_fd >= 0)
    {
      contents = read_fd (household_fd, &length, &error);
      name = g_strdup ("household.conf");
    }
  else
    {
      if (household == NULL && g_getenv ("CREDENTIALS_DIRECTORY") != NULL)
        household = g_build_filename (g_getenv ("CREDENTIALS_DIRECTORY"), "household.conf", NULL);
      if (household == NULL)
        household = g_strdup (TRELLIS_SYSCONFDIR "/household.conf");
      if (g_file_get_contents (household, &contents, &length, &error))
        name = g_strdup (household);
    }
  if (contents == NULL)
    {
      g_printerr ("trellis-lists-update: cannot read the household file: %s\n", error->message);
      return EXIT_NOTHING_DONE;
    }

  trellis_updater_config_init (&config, lists_dir);
  config.data_dir = g_strdup (data_dir);
  config.offline = offline;
  config.full = full;
  if (!trellis_updater_config_load (&config, config_path != NULL ? config_path : TRELLIS_SYSCONFDIR "/lists.conf",
                                    config_path == NULL, &error)
      || !drop_root (lists_dir, &error))
    {
      g_printerr ("trellis-lists-update: %s\n", error->message);
      trellis_updater_config_clear (&config);
      return EXIT_NOTHING_DONE;
    }

  /* From here the run file says how each run ended (the folder is the
   * updater's now): trellisd answers a parent's trellis lists update with
   * it when systemd ran the updater. */
  load.data_dir = data_dir;
  load.no_index = TRUE;
  policy = trellis_policy_load_data_with_options (contents, (gssize) length, name, &load, &error);
  if (policy == NULL)
    {
      say (said, TRUE, "trellis-lists-update: the household file has errors, so no list is fetched:\n%s\n",
           error->message);
      status = EXIT_NOTHING_DONE;
      goto out;
    }

  trellis_list_fetch_init ();
  if (!trellis_updater_run (&config, policy, (const char *const *) only, &summary, &error))
    {
      say (said, TRUE, "trellis-lists-update: %s\n", error->message);
      status = EXIT_NOTHING_DONE;
      /* Another run's file is that run's. */
      if (g_error_matches (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_BUSY))
        {
          trellis_updater_config_clear (&config);
          return status;
        }
      goto out;
    }
  {
    g_autofree char *took = summary.compiled
                              ? g_strdup_printf (" (%.2f s, %.2f s of CPU)", summary.compile_seconds,
                                                 summary.compile_cpu_seconds)
                              : g_strdup ("");

    say (said, FALSE, "memory: at most %" G_GUINT64_FORMAT " MiB anonymous and %" G_GUINT64_FORMAT " MiB of mapped files (page cache)\n",
         summary.peak_anon_kib / 1024, summary.peak_file_kib / 1024);
    /* The last line: trellisd logs it. */
    say (said, FALSE, "%u source(s): %u fetched, %u not modified, %u failed; %s generation %" G_GUINT64_FORMAT " in force, %u names%s\n",
         summary.n_sources, summary.n_fetched, summary.n_current, summary.n_failed,
         summary.compiled ? (summary.patched ? "patched into" : "compiled into") : "nothing to compile;",
         summary.generation, summary.n_entries, took);
  }
  status = summary.n_failed > 0 ? EXIT_SOME_FAILED : EXIT_ALL_CURRENT;

out:
  (void) trellis_updater_record_run (&config, status, said->str);
  trellis_updater_config_clear (&config);
  return status;
}
