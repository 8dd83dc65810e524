/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-log.c — trellis log: what was blocked for me, when, and by which
 * rule; --clear deletes it (GC25 §72).  Parents add --child NAME.
 */
#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/dbus-client.h"

static const char *
denied_words (const TrellisCliOptions *options)
{
  if (options->child == NULL)
    return _("Trellis does not filter your account, so it keeps no log for you.");
  return _("You can only see your own log.");
}

static int
log_clear (TrellisCliOptions *options, const char *child)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 deleted;

  if (!trellis_cli_dbus_call ("ClearLog", g_variant_new ("(s)", child), "(u)", &reply, &error))
    return trellis_cli_dbus_error_report (error, options->child == NULL
                                                 ? denied_words (options)
                                                 : _("You can only clear your own log."));
  g_variant_get (reply, "(u)", &deleted);
  if (options->json)
    g_print ("{\"deleted\": %" G_GUINT32_FORMAT "}\n", deleted);
  else
    g_print (g_dngettext (GETTEXT_PACKAGE,
                          /* Translators: %u is how many log entries were deleted. */
                          "Deleted %u entry from the log.\n",
                          "Deleted %u entries from the log.\n", deleted),
             deleted);
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_log (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) events = NULL;
  g_autoptr(GError) error = NULL;
  const char *child = options->child != NULL ? options->child : "";
  GVariantIter iter;
  gint64 when;
  const char *name, *rule, *category;
  gboolean first = TRUE;

  (void) argv;
  if (argc != 0)
    {
      g_printerr (_("trellis: write trellis log, with at most --clear or --child NAME\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (options->clear)
    return log_clear (options, child);

  if (!trellis_cli_dbus_call ("GetLog", g_variant_new ("(su)", child, (guint32) 0), "(a(xsss))",
                              &reply, &error))
    return trellis_cli_dbus_error_report (error, denied_words (options));
  events = g_variant_get_child_value (reply, 0);

  if (options->json)
    {
      g_autoptr(GString) out = g_string_new ("[");

      g_variant_iter_init (&iter, events);
      while (g_variant_iter_next (&iter, "(x&s&s&s)", &when, &name, &rule, &category))
        {
          g_autofree char *local = trellis_cli_time_format (when);

          g_string_append (out, first ? "\n  {" : ",\n  {");
          first = FALSE;
          g_string_append_printf (out, "\"time\": %" G_GINT64_FORMAT ", \"local_time\": ", when);
          trellis_cli_json_string (out, local);
          g_string_append (out, ", \"name\": ");
          trellis_cli_json_string (out, name);
          g_string_append (out, ", \"rule\": ");
          trellis_cli_json_string (out, rule);
          g_string_append (out, ", \"category\": ");
          trellis_cli_json_string (out, category);
          g_string_append_c (out, '}');
        }
      g_string_append (out, first ? "]" : "\n]");
      g_print ("%s\n", out->str);
      return TRELLIS_CLI_EXIT_OK;
    }

  if (g_variant_n_children (events) == 0)
    {
      g_print (_("Nothing in the log: nothing was blocked, or the log was cleared.\n"));
      return TRELLIS_CLI_EXIT_OK;
    }
  g_print (_("Blocked, newest first (allowed sites and helplines are never stored):\n"));
  g_variant_iter_init (&iter, events);
  while (g_variant_iter_next (&iter, "(x&s&s&s)", &when, &name, &rule, &category))
    {
      g_autofree char *local = trellis_cli_time_format (when);

      if (*category != '\0')
        /* Translators: a log line: local time, web address, the rule, the category. */
        g_print (_("%s  %s  %s [%s]\n"), local, name, rule, category);
      else
        /* Translators: a log line: local time, web address, the rule. */
        g_print (_("%s  %s  %s\n"), local, name, rule);
    }
  if (options->child == NULL)
    g_print (_("You can delete this log with: trellis log --clear\n"));
  return TRELLIS_CLI_EXIT_OK;
}
