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
        g_printerr (_("trellis: the household file has errors:\n%s\n"), error->message);
    }
  return policy;
}

static void
options_clear (TrellisCliOptions *options)
{
  g_clear_pointer (&options->household, g_free);
  g_clear_pointer (&options->data_dir, g_free);
  g_clear_pointer (&options->account, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrellisCliOptions, options_clear)

int
main (int   argc,
      char *argv[])
{
  g_auto(TrellisCliOptions) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *help = NULL;
  g_autofree char *description = NULL;
  const GOptionEntry entries[] = {
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &options.household,
      N_("Read this household file instead of the system's"), N_("FILE") },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.data_dir,
      N_("The folder with Trellis's data, such as the helplines"), N_("DIR") },
    { "account", 0, 0, G_OPTION_ARG_STRING, &options.account,
      N_("Ask about another account (parents and root only)"), N_("NAME") },
    { "nft", 0, 0, G_OPTION_ARG_NONE, &options.nft,
      N_("policy show: print the kernel's rules as nft text"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
      N_("Print listings as JSON"), NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Translators: the command line's synopsis; "COMMAND" stands for one of
   * the commands listed below it. */
  context = g_option_context_new (_("COMMAND — what Trellis filters for you, and why"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                /* Translators: keep the command words (why, policy check,
                                 * policy show) as they are: they are typed. */
                                _("Trellis keeps some websites away from children's accounts and tells them why.\n"
                                  "Commands:\n"
                                  "  why NAME              whether NAME is blocked for you, by which rule, and why\n"
                                  "  policy check [FILE]   check a household file and summarise it\n"
                                  "  policy show NAME      a child's profile; with --nft, the kernel's rules"));
  /* Translators: %s is the path of the system's household file. */
  description = g_strdup_printf (_("The household file is %s unless --household says otherwise.\n"
                                   "Exit status: 0 done (why: the name is not blocked), "
                                   "1 why: the name is blocked, policy check: the file has errors, "
                                   "2 a usage error or a household file that cannot be read."),
                                 TRELLIS_CLI_DEFAULT_HOUSEHOLD);
  g_option_context_set_description (context, description);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("trellis: %s\n", error->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }

  help = g_option_context_get_help (context, TRUE, NULL);
  if (argc < 2)
    {
      g_print ("%s", help);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (strcmp (argv[1], "why") == 0)
    return trellis_cli_why (&options, argc - 2, argv + 2);
  if (strcmp (argv[1], "policy") == 0 && argc >= 3 && strcmp (argv[2], "check") == 0)
    return trellis_cli_policy_check (&options, argc - 3, argv + 3);
  if (strcmp (argv[1], "policy") == 0 && argc >= 3 && strcmp (argv[2], "show") == 0)
    return trellis_cli_policy_show (&options, argc - 3, argv + 3);

  g_printerr (_("trellis: unknown command “%s”\n"), argv[1]);
  g_printerr ("%s", help);
  return TRELLIS_CLI_EXIT_USAGE;
}
