/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellis — the unprivileged command line, for children and parents.  This
 * file reads the options and hands over to the command (cmd-*.c).
 */
#include <locale.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "cli/cli.h"
#include "policy/data-dir.h"

const char *
trellis_cli_household_path (const TrellisCliOptions *options)
{
  return options->household != NULL ? options->household : TRELLIS_CLI_DEFAULT_HOUSEHOLD;
}

char *
trellis_cli_caller_account (void)
{
  struct passwd *pw = getpwuid (getuid ());

  return pw != NULL ? g_strdup (pw->pw_name) : NULL;
}

TrellisPolicy *
trellis_cli_policy_load (const TrellisCliOptions *options, const char *path)
{
  g_autoptr(GError) error = NULL;
  TrellisPolicy *policy;

  policy = trellis_policy_load_file (path, options->data_dir, &error);
  if (policy == NULL)
    {
      if (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO))
        g_printerr ("trellis: %s\n", error->message);
      else
        g_printerr (_ ("trellis: the household file has errors:\n%s\n"), error->message);
      trellis_cli_data_dir_hint (options, error);
    }
  return policy;
}

void
trellis_cli_data_dir_hint (const TrellisCliOptions *options,
                           const GError *error)
{
  if (options->data_dir_given || error == NULL
      || !g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO)
      || strstr (error->message, options->data_dir) == NULL)
    return;
  /* Translators: %s is a folder. */
  g_printerr (_ ("trellis: the shipped data was looked for in %s; give another folder with --data-dir DIR\n"),
              options->data_dir);
}

gboolean
trellis_cli_duration_parse (const char *text,
                            gint64 *ret_seconds,
                            GError **error)
{
  g_autofree char *number = NULL;
  guint64 value = 0;
  gint64 unit = 1;
  gsize len = text != NULL ? strlen (text) : 0;

  if (len > 0)
    {
      switch (text[len - 1])
        {
        case 's':
          unit = 1;
          len--;
          break;
        case 'm':
          unit = 60;
          len--;
          break;
        case 'h':
          unit = 3600;
          len--;
          break;
        case 'd':
          unit = 24 * 3600;
          len--;
          break;
        default: break;
        }
    }
  number = g_strndup (text != NULL ? text : "", len);
  if (len == 0
      || !g_ascii_string_to_unsigned (number, 10, 1, G_MAXINT64 / (24 * 3600), &value, NULL))
    {
      /* Translators: %s is what the user wrote after --for; keep 30m, 2h, 1d as they are. */
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("“%s” is not a duration: write for example 30m, 2h or 1d"),
                   text != NULL ? text : "");
      return FALSE;
    }
  *ret_seconds = (gint64) value * unit;
  return TRUE;
}

char *
trellis_cli_time_format_as (gint64 unix_time,
                            const char *format)
{
  g_autoptr(GDateTime) local = g_date_time_new_from_unix_local (unix_time);

  if (local == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT, unix_time);
  return g_date_time_format (local, format);
}

char *
trellis_cli_time_format (gint64 unix_time)
{
  return trellis_cli_time_format_as (unix_time, "%Y-%m-%d %H:%M:%S");
}

static void
options_clear (TrellisCliOptions *options)
{
  g_clear_pointer (&options->household, g_free);
  g_clear_pointer (&options->data_dir, g_free);
  g_clear_pointer (&options->account, g_free);
  g_clear_pointer (&options->child, g_free);
  g_clear_pointer (&options->duration, g_free);
  g_clear_pointer (&options->age, g_free);
  g_clear_pointer (&options->birth, g_free);
  g_clear_pointer (&options->device, g_free);
  g_clear_pointer (&options->group, g_free);
  g_clear_pointer (&options->since, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrellisCliOptions, options_clear)

int
main (int argc,
      char *argv[])
{
  g_auto(TrellisCliOptions) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *help = NULL;
  g_autofree char *description = NULL;
  const char *localedir;
  gboolean version = FALSE;
  char *set_value = NULL;
  g_autofree char **set_args = NULL;
  const GOptionEntry entries[] = {
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &options.household,
      N_ ("Read this household file instead of the system's"), N_ ("FILE") },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.data_dir,
      N_ ("The folder with Trellis's data, such as the helplines"), N_ ("DIR") },
    { "account", 0, 0, G_OPTION_ARG_STRING, &options.account,
      N_ ("Ask about another account (parents and root only); child add: the child's account"),
      N_ ("NAME") },
    { "age", 0, 0, G_OPTION_ARG_STRING, &options.age,
      N_ ("child add: the child's age"), N_ ("N") },
    { "birth", 0, 0, G_OPTION_ARG_STRING, &options.birth,
      N_ ("child add: the child's birth month, so the age band moves by itself"), N_ ("YYYY-MM") },
    { "always", 0, 0, G_OPTION_ARG_NONE, &options.always,
      N_ ("approve: allow the site for good (allow= in the household file)"), NULL },
    { "nft", 0, 0, G_OPTION_ARG_NONE, &options.nft,
      N_ ("policy show: print the kernel's rules as nft text"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
      N_ ("Print listings as JSON"), NULL },
    { "child", 0, 0, G_OPTION_ARG_STRING, &options.child,
      N_ ("status, log, requests, allow, deny: about this child (parents only)"), N_ ("NAME") },
    { "for", 0, 0, G_OPTION_ARG_STRING, &options.duration,
      N_ ("approve, pause: for how long, e.g. 30m, 2h, 1d"), N_ ("DURATION") },
    { "clear", 0, 0, G_OPTION_ARG_NONE, &options.clear,
      N_ ("log: delete the log"), NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &options.device,
      N_ ("log: what a gateway's device asked, by its MAC or address (parents only)"), N_ ("ADDR|MAC") },
    { "group", 0, 0, G_OPTION_ARG_STRING, &options.group,
      N_ ("log: what a gateway's group of devices asked (parents only)"), N_ ("NAME") },
    { "since", 0, 0, G_OPTION_ARG_STRING, &options.since,
      N_ ("report: the last DAYS days (default: 7)"), N_ ("DAYS") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version,
      N_ ("Print the version and exit"), NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  /* TRELLIS_LOCALEDIR: the tests' catalogs, compiled before installation. */
  localedir = g_getenv ("TRELLIS_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Translators: the command line's synopsis; "COMMAND" stands for one of
   * the commands listed below it. */
  context = g_option_context_new (_ ("COMMAND — what Trellis filters for you, and why"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                /* Translators: keep the command words (status, log, why,
                                 * ask, requests, approve, decline, pause, helplines, lists,
                                 * lists update, child add, child remove, child set, allow, report,
                                 * deny, policy check, policy show, policy apply), the keys and
                                 * the options as they are: they are typed. */
                                _ ("Trellis keeps some websites away from children's accounts and tells them why.\n"
                                   "Commands for everyone:\n"
                                   "  status                your profile, and exactly what your parents can see (the default)\n"
                                   "  log [--clear]         what was blocked for you, and by which rule; --clear deletes it\n"
                                   "  why NAME              whether NAME is blocked for you, by which rule, and why\n"
                                   "  ask NAME [MESSAGE]    ask your parents to allow NAME\n"
                                   "  requests              your requests and your parents' answers\n"
                                   "  helplines             helplines: always open, never logged\n"
                                   "  lists                 where the category lists come from, and how their updates went\n"
                                   "Commands for parents:\n"
                                   "  log --child NAME      a child's log (also status --child NAME)\n"
                                   "  log --group NAME      a gateway's group: what its devices asked\n"
                                   "  log --device ADDR|MAC what one device behind a gateway asked\n"
                                   "  report [--since DAYS] blocks per group and category, no names\n"
                                   "  requests              every child's requests, pending first\n"
                                   "  approve ID [--for DURATION]  allow a request's site for a while (default 1h)\n"
                                   "  approve ID --always   allow a request's site for good (allow= in the household file)\n"
                                   "  decline ID [MESSAGE]  decline a request, with a word for the child\n"
                                   "  pause NAME --for DURATION    no filtering for child NAME for a while\n"
                                   "  child add NAME --age N|--birth YYYY-MM --account USER  protect a new child\n"
                                   "  child remove NAME     take a child out of the household file\n"
                                   "  child set NAME KEY VALUE  age, birth, quiet-hours, safe-search, mode or block\n"
                                   "  allow NAME --child C  allow NAME for child C for good\n"
                                   "  deny NAME --child C   block NAME for child C\n"
                                   "  policy apply          read the household file again and put it in force\n"
                                   "  lists update          fetch the category lists from their publishers now\n"
                                   "  policy check [FILE]   check a household file and summarise it\n"
                                   "  policy show NAME      a child's profile; with --nft, the kernel's rules\n"
                                   "Durations: 90s, 30m, 2h, 1d.  --json prints listings as JSON."));
  /* Translators: %s is the path of the system's household file. */
  description = g_strdup_printf (_ ("The household file is %s unless --household says otherwise.\n"
                                    "Exit status: 0 done (why: the name is not blocked), "
                                    "1 why: the name is blocked, policy check: the file has errors, "
                                    "lists update: some lists failed and kept their last good ones, "
                                    "2 a usage error, a household file that cannot be read, "
                                    "or trellisd refused (not allowed, a bad argument, not found), "
                                    "3 trellisd is not running."),
                                 TRELLIS_CLI_DEFAULT_HOUSEHOLD);
  g_option_context_set_description (context, description);

  /* "trellis child set sam block -social": the value is no option. */
  if (argc >= 6 && strcmp (argv[1], "child") == 0 && strcmp (argv[2], "set") == 0
      && argv[5][0] == '-')
    {
      set_value = argv[5];
      memmove (argv + 5, argv + 6, (argc - 6 + 1) * sizeof (char *));
      argc--;
    }
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("trellis: %s\n", error->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (set_value != NULL)
    {
      /* Back after NAME KEY, where it was. */
      set_args = g_new0 (char *, argc + 2);
      memcpy (set_args, argv, MIN (argc, 5) * sizeof (char *));
      set_args[MIN (argc, 5)] = set_value;
      if (argc > 5)
        memcpy (set_args + 6, argv + 5, (argc - 5) * sizeof (char *));
      argc++;
      argv = set_args;
    }
  options.data_dir_given = options.data_dir != NULL;
  if (!options.data_dir_given)
    options.data_dir = trellis_data_dir_default (NULL);

  if (version)
    {
      g_print ("trellis %s\n", PACKAGE_VERSION);
      return 0;
    }
  help = g_option_context_get_help (context, TRUE, NULL);
  if (argc < 2)
    return trellis_cli_status (&options, 0, argv + 1);
  if (strcmp (argv[1], "status") == 0)
    return trellis_cli_status (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "log") == 0)
    return trellis_cli_log (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "report") == 0)
    return trellis_cli_report (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "ask") == 0)
    return trellis_cli_ask (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "requests") == 0)
    return trellis_cli_requests (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "approve") == 0)
    return trellis_cli_approve (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "decline") == 0)
    return trellis_cli_decline (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "pause") == 0)
    return trellis_cli_pause (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "child") == 0)
    return trellis_cli_child (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "allow") == 0)
    return trellis_cli_allow (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "deny") == 0)
    return trellis_cli_deny (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "helplines") == 0)
    return trellis_cli_helplines (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "lists") == 0)
    return trellis_cli_lists (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "policy") == 0 && argc >= 3 && strcmp (argv[2], "apply") == 0)
    return trellis_cli_policy_apply (&options, argc - 3, argv + 3);
  if (strcmp (argv[1], "why") == 0)
    return trellis_cli_why (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "policy") == 0 && argc >= 3 && strcmp (argv[2], "check") == 0)
    return trellis_cli_policy_check (&options, argc - 3, argv + 3);
  if (strcmp (argv[1], "policy") == 0 && argc >= 3 && strcmp (argv[2], "show") == 0)
    return trellis_cli_policy_show (&options, argc - 3, argv + 3);

  g_printerr (_ ("trellis: unknown command “%s”\n"), argv[1]);
  g_printerr ("%s", help);
  return TRELLIS_CLI_EXIT_USAGE;
}
