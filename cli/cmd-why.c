/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-why.c — trellis why NAME: is NAME filtered for me, by which rule, and
 * why, in words fit for the child.
 */
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/dbus-client.h"

/* Asks trellisd, which knows the child's grants and pauses.  Returns -1
 * when trellisd cannot be reached (then the household file is read here),
 * else the exit status. */
static int
why_ask_daemon (TrellisCliOptions *options, const char *name)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  const char *child = options->child != NULL ? options->child : "";
  const char *locale = setlocale (LC_MESSAGES, NULL);
  g_autofree char *rule = NULL, *explanation = NULL;
  gboolean blocked;

  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL
      || !trellis_trellis1_call_why_sync (proxy, child, name, locale != NULL ? locale : "",
                                          &blocked, &rule, &explanation, NULL, &error))
    {
      if (trellis_cli_dbus_error_is_unreachable (error))
        return -1;
      return trellis_cli_dbus_error_report (error, options->child != NULL
                                                     ? _ ("Only parents can ask about another child.")
                                                     : _ ("Trellis does not filter your account."));
    }
  if (options->child != NULL)
    /* Translators: the first %s is a web address, the second a child's name. */
    g_print (blocked ? _ ("%s is blocked for %s.\n") : _ ("%s is not blocked for %s.\n"), name, options->child);
  else if (blocked)
    /* Translators: %s is a web address. */
    g_print (_ ("%s is blocked for you.\n"), name);
  else
    /* Translators: %s is a web address. */
    g_print (_ ("%s is not blocked for you.\n"), name);
  if (*rule != '\0')
    g_print (_ ("Rule: %s\n"), rule);
  if (*explanation != '\0')
    g_print ("%s\n", explanation);
  return blocked ? TRELLIS_CLI_EXIT_BLOCKED : TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_why (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autofree char *caller = trellis_cli_caller_account ();
  g_autofree char *domain = NULL;
  g_autofree char *rule = NULL;
  g_autofree char *explanation = NULL;
  const char *account;
  const TrellisChild *child;
  TrellisDecision decision;
  g_autoptr(GDateTime) now = NULL;
  const char *name;

  if (argc != 1)
    {
      g_printerr (_ ("trellis: write trellis why NAME, with one NAME\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  name = argv[0];

  /* Without --household (or --account), the daemon's word is the real one. */
  if (options->household == NULL && options->account == NULL)
    {
      int rc = why_ask_daemon (options, name);

      if (rc >= 0)
        return rc;
    }

  if (caller == NULL)
    {
      g_printerr (_ ("trellis: cannot find the name of your account (uid %u)\n"), (guint) getuid ());
      return TRELLIS_CLI_EXIT_USAGE;
    }

  domain = trellis_domain_normalize (name);
  if (domain == NULL)
    {
      g_printerr (_ ("trellis: “%s” is not a domain name\n"), name);
      return TRELLIS_CLI_EXIT_USAGE;
    }

  policy = trellis_cli_policy_load (options, trellis_cli_household_path (options));
  if (policy == NULL)
    return TRELLIS_CLI_EXIT_USAGE;

  account = caller;
  if (options->account != NULL && strcmp (options->account, caller) != 0)
    {
      const char *const *parents = trellis_policy_get_parents (policy);

      if (getuid () != 0 && (parents == NULL || !g_strv_contains (parents, caller)))
        {
          g_printerr (_ ("trellis: only parents can ask about another account\n"));
          return TRELLIS_CLI_EXIT_USAGE;
        }
      account = options->account;
    }

  child = trellis_policy_find_child_by_account (policy, account);
  if (child == NULL)
    {
      const char *const *parents = trellis_policy_get_parents (policy);

      if (parents != NULL && g_strv_contains (parents, account))
        /* Translators: %s is a Linux account name. */
        g_print (_ ("The account %s belongs to a parent: Trellis never filters it.\n"), account);
      else
        /* Translators: %s is a Linux account name; the household file lists
         * the children's accounts. */
        g_print (_ ("The account %s is not a child's account in the household file: Trellis does not filter it.\n"),
                 account);
      return TRELLIS_CLI_EXIT_OK;
    }

  now = g_date_time_new_now_utc ();
  trellis_policy_decide_at (policy, child, domain, now, &decision);
  rule = trellis_rule_format_short (decision.rule);
  explanation = trellis_rule_explain_for (policy, decision.rule, child, now);

  if (decision.verdict == TRELLIS_VERDICT_BLOCK)
    /* Translators: the first %s is a web address, the second a child's
     * name, the third the child's Linux account. */
    g_print (_ ("%s is blocked for %s (account %s).\n"), domain, trellis_child_get_name (child), account);
  else
    /* Translators: as for "%s is blocked for %s (account %s)." */
    g_print (_ ("%s is not blocked for %s (account %s).\n"), domain, trellis_child_get_name (child), account);
  /* Translators: %s is the rule in a few untranslated words, e.g.
   * "deny example-game.com (household.conf:12)". */
  g_print (_ ("Rule: %s\n"), rule);
  g_print ("%s\n", explanation);

  return decision.verdict == TRELLIS_VERDICT_BLOCK ? TRELLIS_CLI_EXIT_BLOCKED : TRELLIS_CLI_EXIT_OK;
}
