/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-report.c — trellis report [--since DAYS]: a school admin's (a
 * parent's) counts of blocked lookups per group and category over a
 * period.  Counts only (GC25 §75 and data minimisation): no site, no
 * device, no pupil; what one device asked is in trellis log --device,
 * which the admin opens on purpose.
 */
#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/cli-text.h"
#include "cli/dbus-client.h"

#define REPORT_DAYS_DEFAULT 7

static gboolean
days_parse (const char *text,
            guint *ret_days)
{
  guint64 days = 0;

  if (text == NULL)
    {
      *ret_days = REPORT_DAYS_DEFAULT;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (text, 10, 1, 365, &days, NULL))
    {
      g_autofree char *shown = trellis_cli_text_inert (text);

      /* Translators: %s is what was given after --since. */
      g_printerr (_ ("trellis: --since takes a number of days from 1 to 365, not “%s”\n"), shown);
      return FALSE;
    }
  *ret_days = (guint) days;
  return TRUE;
}

int
trellis_cli_report (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GVariant) counts = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  GVariantIter iter;
  const char *group, *kind, *category;
  guint64 entries, blocked, devices, total = 0;
  gint64 since = 0, until = 0;
  guint32 retention = 0;
  gboolean any = FALSE;
  guint days;

  (void) argv;
  if (argc != 0 || options->child != NULL || options->device != NULL || options->group != NULL)
    {
      g_printerr (_ ("trellis: write trellis report, with at most --since DAYS\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!days_parse (options->since, &days))
    return TRELLIS_CLI_EXIT_USAGE;

  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_get_report_sync (proxy, days, &counts, &info, NULL, &error))
    return trellis_cli_dbus_error_report (error, _ ("Only the household's parents (a school's admins) can see the report."));
  g_variant_lookup (info, "since", "x", &since);
  g_variant_lookup (info, "until", "x", &until);
  g_variant_lookup (info, "log_retention_days", "u", &retention);

  if (options->json)
    {
      g_string_append_printf (out, "{\"days\": %u, \"since\": %" G_GINT64_FORMAT ", \"until\": %" G_GINT64_FORMAT ", \"log_retention_days\": %" G_GUINT32_FORMAT ", \"counts\": [",
                              days, since, until, retention);
      g_variant_iter_init (&iter, counts);
      while (g_variant_iter_next (&iter, "(&s&s&sttt)", &group, &kind, &category, &entries, &blocked,
                                  &devices))
        {
          g_string_append (out, any ? ",\n  {\"group\": " : "\n  {\"group\": ");
          trellis_cli_json_string (out, group);
          g_string_append (out, ", \"kind\": ");
          trellis_cli_json_string (out, *kind != '\0' ? kind : NULL);
          g_string_append (out, ", \"category\": ");
          trellis_cli_json_string (out, *category != '\0' ? category : NULL);
          g_string_append_printf (out, ", \"entries\": %" G_GUINT64_FORMAT ", \"blocked\": %" G_GUINT64_FORMAT ", \"devices\": %" G_GUINT64_FORMAT "}",
                                  entries, blocked, devices);
          any = TRUE;
        }
      g_string_append (out, any ? "\n]}\n" : "]}\n");
      g_print ("%s", out->str);
      return TRELLIS_CLI_EXIT_OK;
    }

  {
    g_autofree char *from = trellis_cli_time_format (since);
    g_autofree char *to = trellis_cli_time_format (until);

    /* Translators: the report's title: %u days, then two local times. */
    g_print (g_dngettext (GETTEXT_PACKAGE, "Blocked lookups in the last %u day (%s to %s), per group and category:\n",
                          "Blocked lookups in the last %u days (%s to %s), per group and category:\n", days),
             days, from, to);
  }
  g_variant_iter_init (&iter, counts);
  while (g_variant_iter_next (&iter, "(&s&s&sttt)", &group, &kind, &category, &entries, &blocked, &devices))
    {
      g_autofree char *safe_group = trellis_cli_text_inert (group);
      g_autofree char *safe_category = trellis_cli_text_inert (category);
      guint n = (guint) MIN (blocked, G_MAXUINT);
      guint d = (guint) MIN (devices, G_MAXUINT);

      /* Translators: a report line: the group (or child), the category
       * ("the household's own rules" when none), how many blocks; then, in
       * the next string, on how many devices. */
      g_print (g_dngettext (GETTEXT_PACKAGE, "  %-16s %-28s %u block", "  %-16s %-28s %u blocks", n),
               safe_group, *category != '\0' ? safe_category : _ ("(the household's own rules)"), n);
      if (d > 0)
        g_print (g_dngettext (GETTEXT_PACKAGE, ", on %u device", ", on %u devices", d), d);
      g_print ("\n");
      total += blocked;
      any = TRUE;
    }
  if (!any)
    g_print (_ ("  nothing was blocked\n"));
  /* Translators: %u is log-retention-days. */
  g_print (g_dngettext (GETTEXT_PACKAGE,
                        "Counts only: no site and no device is named.  The log keeps blocks %u day; what one device asked is in trellis log --device.\n",
                        "Counts only: no site and no device is named.  The log keeps blocks %u days; what one device asked is in trellis log --device.\n",
                        retention),
           retention);
  (void) total;
  return TRELLIS_CLI_EXIT_OK;
}
