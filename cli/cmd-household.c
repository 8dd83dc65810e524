/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-household.c — the parents' commands that change the household file
 * for them: trellis child add|remove|set, trellis allow, trellis deny.
 *
 * trellis never writes the file itself (it runs as the parent, who may not
 * write /etc/trellis): it asks trellisd, which checks that the caller is a
 * parent, changes the file line by line keeping the parent's comments,
 * refuses a change that would not compile with the compiler's own
 * "FILE:LINE:COL: message" lines, and puts the new file in force before it
 * answers.
 */
#include <string.h>

#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/cli-text.h"
#include "cli/dbus-client.h"

/* A word the bus will carry: text, on one line. */
static gboolean
argument_check (const char *what,
                const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    {
      /* Translators: %s names what was typed, e.g. "the value". */
      g_printerr (_ ("trellis: %s must be text (UTF-8)\n"), what);
      return FALSE;
    }
  return trellis_cli_message_check (text);
}

/* Reports @error; a change trellisd refused changed nothing. */
static int
edit_failed (GError *error)
{
  return trellis_cli_dbus_error_report (error, _ ("Only parents can change the household file."));
}

static int
child_add (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  const char *age = options->age != NULL ? options->age : "";
  const char *birth = options->birth != NULL ? options->birth : "";

  if (argc != 1 || options->account == NULL || (*age == '\0') == (*birth == '\0'))
    {
      g_printerr (_ ("trellis: write trellis child add NAME --age N|--birth YYYY-MM --account USER\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!argument_check (_ ("the name"), argv[0]) || !argument_check (_ ("the age"), age)
      || !argument_check (_ ("the birth month"), birth)
      || !argument_check (_ ("the account"), options->account))
    return TRELLIS_CLI_EXIT_USAGE;
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL
      || !trellis_trellis1_call_add_child_sync (proxy, argv[0], age, birth, options->account, NULL,
                                                &error))
    return edit_failed (error);
  /* Translators: %s is the child's name, then a Linux account. */
  g_print (_ ("%s is in the household file and protected now on the account %s.\n"), argv[0],
           options->account);
  return TRELLIS_CLI_EXIT_OK;
}

static int
child_remove (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;

  (void) options;
  if (argc != 1)
    {
      g_printerr (_ ("trellis: write trellis child remove NAME\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!argument_check (_ ("the name"), argv[0]))
    return TRELLIS_CLI_EXIT_USAGE;
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_remove_child_sync (proxy, argv[0], NULL, &error))
    return edit_failed (error);
  /* Translators: %s is the child's name. */
  g_print (_ ("%s is no longer in the household file; their accounts are not filtered now.\n"),
           argv[0]);
  return TRELLIS_CLI_EXIT_OK;
}

static int
child_set (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;

  (void) options;
  if (argc != 3)
    {
      g_printerr (_ ("trellis: write trellis child set NAME KEY VALUE, KEY one of age, birth, "
                     "quiet-hours, safe-search, mode, block (VALUE \"\" removes it)\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!argument_check (_ ("the name"), argv[0]) || !argument_check (_ ("the key"), argv[1])
      || !argument_check (_ ("the value"), argv[2]))
    return TRELLIS_CLI_EXIT_USAGE;
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL
      || !trellis_trellis1_call_set_child_sync (proxy, argv[0], argv[1], argv[2], NULL, &error))
    return edit_failed (error);
  if (*argv[2] == '\0')
    /* Translators: a key of the household file (e.g. quiet-hours), then a child's name. */
    g_print (_ ("%s is no longer set for %s; the age band's default is in force.\n"), argv[1],
             argv[0]);
  else
    /* Translators: a child's name, a key of the household file, its new value. */
    g_print (_ ("%s: %s = %s, in force now.\n"), argv[0], argv[1], argv[2]);
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_child (TrellisCliOptions *options, int argc, char **argv)
{
  if (argc >= 1 && strcmp (argv[0], "add") == 0)
    return child_add (options, argc - 1, argv + 1);
  if (argc >= 1 && strcmp (argv[0], "remove") == 0)
    return child_remove (options, argc - 1, argv + 1);
  if (argc >= 1 && strcmp (argv[0], "set") == 0)
    return child_set (options, argc - 1, argv + 1);
  g_printerr (_ ("trellis: write trellis child add, child remove or child set\n"));
  return TRELLIS_CLI_EXIT_USAGE;
}

/* trellis allow NAME --child C, trellis deny NAME --child C. */
static int
allow_or_deny (TrellisCliOptions *options, gboolean allow, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (argc != 1 || options->child == NULL)
    {
      if (allow)
        g_printerr (_ ("trellis: write trellis allow NAME --child CHILD\n"));
      else
        g_printerr (_ ("trellis: write trellis deny NAME --child CHILD\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!argument_check (_ ("the name"), argv[0]) || !argument_check (_ ("the child"), options->child))
    return TRELLIS_CLI_EXIT_USAGE;
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL)
    return edit_failed (error);
  if (allow)
    ok = trellis_trellis1_call_allow_sync (proxy, options->child, argv[0], NULL, &error);
  else
    ok = trellis_trellis1_call_deny_sync (proxy, options->child, argv[0], NULL, &error);
  if (!ok)
    return edit_failed (error);
  if (allow)
    /* Translators: a site's name, then a child's name. */
    g_print (_ ("%s is allowed for %s from now on (allow= in the household file).\n"), argv[0],
             options->child);
  else
    /* Translators: a site's name, then a child's name. */
    g_print (_ ("%s is blocked for %s from now on (deny= in the household file).\n"), argv[0],
             options->child);
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_allow (TrellisCliOptions *options, int argc, char **argv)
{
  return allow_or_deny (options, TRUE, argc, argv);
}

int
trellis_cli_deny (TrellisCliOptions *options, int argc, char **argv)
{
  return allow_or_deny (options, FALSE, argc, argv);
}
