/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellis.c — the unprivileged command line.
 *
 *   trellis why NAME [--household FILE] [--data-dir DIR] [--account NAME]
 *
 * tells the caller whether NAME is filtered for them, by which rule and why.
 * Exit status: 0 the name is allowed, 1 it is blocked, 2 a usage or household
 * error.
 */
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "policy/trellis-policy.h"

#define DEFAULT_HOUSEHOLD TRELLIS_SYSCONFDIR "/household.conf"

enum {
  EXIT_ALLOWED = 0,
  EXIT_BLOCKED = 1,
  EXIT_USAGE = 2,
};

typedef struct {
  char *household;  /* (owned) (nullable) */
  char *data_dir;   /* (owned) (nullable) */
  char *account;    /* (owned) (nullable) */
} Options;

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->household, g_free);
  g_clear_pointer (&options->data_dir, g_free);
  g_clear_pointer (&options->account, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static char *
caller_account (void)
{
  struct passwd *pw = getpwuid (getuid ());

  return pw != NULL ? g_strdup (pw->pw_name) : NULL;
}

static int
why (Options    *options,
     const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autofree char *caller = caller_account ();
  g_autofree char *domain = NULL;
  g_autofree char *rule = NULL;
  g_autofree char *explanation = NULL;
  const char *household = options->household != NULL
    ? options->household : DEFAULT_HOUSEHOLD;
  const char *account;
  const TrellisChild *child;
  TrellisDecision decision;

  if (caller == NULL)
    {
      g_printerr (_("trellis: cannot find the name of your account (uid %u)\n"), (guint) getuid ());
      return EXIT_USAGE;
    }

  domain = trellis_domain_normalize (name);
  if (domain == NULL)
    {
      g_printerr (_("trellis: “%s” is not a domain name\n"), name);
      return EXIT_USAGE;
    }

  policy = trellis_policy_load_file (household, options->data_dir, &error);
  if (policy == NULL)
    {
      if (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO))
        g_printerr ("trellis: %s\n", error->message);
      else
        g_printerr (_("trellis: the household file has errors:\n%s\n"), error->message);
      return EXIT_USAGE;
    }

  account = caller;
  if (options->account != NULL && strcmp (options->account, caller) != 0)
    {
      const char *const *parents = trellis_policy_get_parents (policy);

      if (getuid () != 0 && (parents == NULL || !g_strv_contains (parents, caller)))
        {
          g_printerr (_("trellis: only parents can ask about another account\n"));
          return EXIT_USAGE;
        }
      account = options->account;
    }

  child = trellis_policy_find_child_by_account (policy, account);
  if (child == NULL)
    {
      const char *const *parents = trellis_policy_get_parents (policy);

      if (parents != NULL && g_strv_contains (parents, account))
        /* Translators: %s is a Linux account name. */
        g_print (_("The account %s belongs to a parent: Trellis never filters it.\n"), account);
      else
        /* Translators: %s is a Linux account name; the household file lists
         * the children's accounts. */
        g_print (_("The account %s is not a child's account in the household file: Trellis does not filter it.\n"),
                 account);
      return EXIT_ALLOWED;
    }

  trellis_policy_decide (policy, child, domain, &decision);
  rule = trellis_rule_format_short (decision.rule);
  explanation = trellis_rule_explain (decision.rule);

  if (decision.verdict == TRELLIS_VERDICT_BLOCK)
    /* Translators: the first %s is a web address, the second a child's
     * name, the third the child's Linux account. */
    g_print (_("%s is blocked for %s (account %s).\n"), domain, trellis_child_get_name (child), account);
  else
    /* Translators: as for "%s is blocked for %s (account %s)." */
    g_print (_("%s is not blocked for %s (account %s).\n"), domain, trellis_child_get_name (child), account);
  /* Translators: %s is the rule in a few untranslated words, e.g.
   * "deny example-game.com (household.conf:12)". */
  g_print (_("Rule: %s\n"), rule);
  g_print ("%s\n", explanation);

  return decision.verdict == TRELLIS_VERDICT_BLOCK ? EXIT_BLOCKED : EXIT_ALLOWED;
}

int
main (int   argc,
      char *argv[])
{
  g_auto(Options) options = { 0 };
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
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Translators: the command line's synopsis; "why" is a command, keep it. */
  context = g_option_context_new (_("why NAME — is NAME filtered for me, and why?"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Trellis keeps some websites away from children's accounts and tells them why.\n"
                                  "Commands:\n"
                                  "  why NAME    whether NAME is blocked for you, by which rule, and why"));
  /* Translators: %s is the path of the system's household file. */
  description = g_strdup_printf (_("The household file is %s unless --household says otherwise.\n"
                                   "Exit status: 0 the name is not blocked, 1 it is blocked, "
                                   "2 a usage or household file error."),
                                 DEFAULT_HOUSEHOLD);
  g_option_context_set_description (context, description);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("trellis: %s\n", error->message);
      return EXIT_USAGE;
    }

  help = g_option_context_get_help (context, TRUE, NULL);
  if (argc < 2)
    {
      g_print ("%s", help);
      return EXIT_USAGE;
    }
  if (strcmp (argv[1], "why") == 0)
    {
      if (argc != 3)
        {
          g_printerr (_("trellis: write trellis why NAME, with one NAME\n"));
          return EXIT_USAGE;
        }
      return why (&options, argv[2]);
    }

  g_printerr (_("trellis: unknown command “%s”\n"), argv[1]);
  g_printerr ("%s", help);
  return EXIT_USAGE;
}
