/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-log.c — trellis log: what was blocked for me, when, and by which
 * rule; --clear deletes it (GC25 §72).  Parents add --child NAME, and on a
 * gateway --group NAME and --device ADDR|MAC.
 */
#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/cli-text.h"
#include "cli/dbus-client.h"

static const char *
denied_words (const TrellisCliOptions *options)
{
  if (options->child == NULL)
    return _ ("Trellis does not filter your account, so it keeps no log for you.");
  return _ ("You can only see your own log.");
}

static int
log_clear (TrellisCliOptions *options, const char *child)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  guint deleted;

  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_clear_log_sync (proxy, child, &deleted, NULL, &error))
    return trellis_cli_dbus_error_report (error, options->child == NULL
                                                   ? denied_words (options)
                                                   : _ ("You can only clear your own log."));
  if (options->json)
    g_print ("{\"deleted\": %u}\n", deleted);
  else
    g_print (g_dngettext (GETTEXT_PACKAGE,
                          /* Translators: %u is how many log entries were deleted. */
                          "Deleted %u entry from the log.\n",
                          "Deleted %u entries from the log.\n", deleted),
             deleted);
  return TRELLIS_CLI_EXIT_OK;
}

/* Entries asked for per call; trellisd gives at most 1000. */
#define LOG_PAGE 500

/* What the first page says of the whole log. */
typedef struct {
  guint64 entries;
  guint64 blocked;
  guint64 dropped_entries;
  guint64 dropped_blocked;
  guint64 missed;
  gint64 losses_until;
  guint32 fold_seconds;
  guint32 max_entries;
} LogSummary;

static void
summary_read (GVariant *dict,
              LogSummary *ret_summary)
{
  LogSummary s = { 0 };

  g_variant_lookup (dict, "entries", "t", &s.entries);
  g_variant_lookup (dict, "blocked", "t", &s.blocked);
  g_variant_lookup (dict, "dropped_entries", "t", &s.dropped_entries);
  g_variant_lookup (dict, "dropped_blocked", "t", &s.dropped_blocked);
  g_variant_lookup (dict, "missed", "t", &s.missed);
  g_variant_lookup (dict, "losses_until", "x", &s.losses_until);
  g_variant_lookup (dict, "fold_seconds", "u", &s.fold_seconds);
  g_variant_lookup (dict, "max_entries", "u", &s.max_entries);
  *ret_summary = s;
}

/* A count for a sentence: ngettext takes an unsigned long at most. */
static guint
count_for_words (guint64 n)
{
  return (guint) MIN (n, G_MAXUINT);
}

static void
json_entry (GString *out,
            gint64 first,
            gint64 last,
            const char *name,
            const char *rule,
            const char *category,
            guint32 count)
{
  g_autofree char *local = trellis_cli_time_format (first);
  g_autofree char *local_last = trellis_cli_time_format (last);

  g_string_append_printf (out, "{\"time\": %" G_GINT64_FORMAT ", \"local_time\": ", first);
  trellis_cli_json_string (out, local);
  g_string_append_printf (out, ", \"last_time\": %" G_GINT64_FORMAT ", \"local_last_time\": ",
                          last);
  trellis_cli_json_string (out, local_last);
  g_string_append_printf (out, ", \"count\": %" G_GUINT32_FORMAT ", \"name\": ", count);
  trellis_cli_json_string (out, name);
  g_string_append (out, ", \"rule\": ");
  trellis_cli_json_string (out, rule);
  g_string_append (out, ", \"category\": ");
  trellis_cli_json_string (out, category);
  g_string_append_c (out, '}');
}

static void
text_entry (gint64 first,
            gint64 last,
            const char *name,
            const char *rule,
            const char *category,
            guint32 count)
{
  g_autofree char *local = trellis_cli_time_format (first);
  /* What the daemon stored is shown inert: a name or a rule's text never
   * reaches the terminal as a control sequence (cli-text.c). */
  g_autofree char *safe_name = trellis_cli_text_inert (name);
  g_autofree char *safe_rule = trellis_cli_text_inert (rule);
  g_autofree char *safe_category = trellis_cli_text_inert (category);

  if (*category != '\0')
    /* Translators: a log line: local time, web address, the rule, the category. */
    g_print (_ ("%s  %s  %s [%s]\n"), local, safe_name, safe_rule, safe_category);
  else
    /* Translators: a log line: local time, web address, the rule. */
    g_print (_ ("%s  %s  %s\n"), local, safe_name, safe_rule);
  if (count > 1)
    {
      g_autofree char *until = trellis_cli_time_format_as (last, "%H:%M:%S");

      g_print (g_dngettext (GETTEXT_PACKAGE,
                            /* Translators: under a log line, when the same address was
                             * blocked again and again within a few minutes: %u is how many
                             * times in all, %s the local time (HH:MM:SS) of the last one. */
                            "    blocked %u time, the last at %s\n",
                            "    blocked %u times, the last at %s\n", count),
               count, until);
    }
}

/* After the entries: what the log folded, dropped or missed, in words. */
static void
text_notes (const LogSummary *s,
            gboolean folded)
{
  if (folded && s->fold_seconds >= 60)
    {
      guint minutes = s->fold_seconds / 60;

      g_print (g_dngettext (GETTEXT_PACKAGE,
                            /* Translators: %u is a number of minutes (10). */
                            "The same address blocked again within %u minute is one line, "
                            "with how many times.\n",
                            "The same address blocked again within %u minutes is one line, "
                            "with how many times.\n",
                            minutes),
               minutes);
    }
  if (s->dropped_entries > 0)
    {
      guint n = count_for_words (s->dropped_entries);

      g_print (g_dngettext (GETTEXT_PACKAGE,
                            /* Translators: the log keeps a fixed number of entries per
                             * child; %u older ones were removed to make room. */
                            "%u older entry was dropped because the log was full.\n",
                            "%u older entries were dropped because the log was full.\n", n),
               n);
    }
  if (s->missed > 0)
    {
      guint n = count_for_words (s->missed);

      g_print (g_dngettext (GETTEXT_PACKAGE,
                            /* Translators: blocks that came faster than the log could
                             * write them down. */
                            "%u blocked lookup was not recorded: too many came at once.\n",
                            "%u blocked lookups were not recorded: too many came at once.\n",
                            n),
               n);
    }
}

gboolean
trellis_cli_device_check (const char *text)
{
  TrellisDeviceAddress d;
  g_autofree char *shown = trellis_cli_text_inert (text);

  if (!trellis_device_parse (text, &d))
    {
      /* Translators: %s is what was given after --device. */
      g_printerr (_ ("trellis: “%s” is not a device: give its MAC (like 02:00:00:00:03:10) or its IPv4 or IPv6 address\n"),
                  shown);
      return FALSE;
    }
  if (d.prefix_len != (d.family == TRELLIS_DEVICE_IPV4 ? 32 : d.family == TRELLIS_DEVICE_IPV6 ? 128
                                                                                              : 48))
    {
      /* Translators: %s is a range of addresses, like 10.42.5.0/24. */
      g_printerr (_ ("trellis: “%s” is a range, not one device: give one address, or the group with --group\n"),
                  shown);
      return FALSE;
    }
  return TRUE;
}

static void
gateway_json_entry (GString *out,
                    gint64 first,
                    gint64 last,
                    const char *name,
                    const char *rule,
                    const char *category,
                    guint32 count,
                    const char *group,
                    const char *mac,
                    const char *address)
{
  json_entry (out, first, last, name, rule, category, count);
  g_string_truncate (out, out->len - 1); /* the closing brace */
  g_string_append (out, ", \"group\": ");
  trellis_cli_json_string (out, group);
  g_string_append (out, ", \"mac\": ");
  trellis_cli_json_string (out, *mac != '\0' ? mac : NULL);
  g_string_append (out, ", \"address\": ");
  trellis_cli_json_string (out, *address != '\0' ? address : NULL);
  g_string_append_c (out, '}');
}

/* trellis log --group NAME and/or --device ADDR|MAC: parents only. */
static int
log_gateway (TrellisCliOptions *options)
{
  const char *group = options->group != NULL ? options->group : "";
  const char *device = options->device != NULL ? options->device : "";
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(TrellisTrellis1) proxy = NULL;
  guint64 before = 0, entries = 0, blocked = 0;
  gboolean first_page = TRUE, any = FALSE;

  if (*device != '\0' && !trellis_cli_device_check (device))
    return TRELLIS_CLI_EXIT_USAGE;
  do
    {
      g_autoptr(GVariant) events = NULL;
      g_autoptr(GVariant) dict = NULL;
      g_autoptr(GError) error = NULL;
      GVariantIter iter;
      gint64 first, last;
      const char *name, *rule, *category, *section, *mac, *address;
      guint32 count;
      guint64 next;

      if (proxy == NULL)
        proxy = trellis_cli_dbus_proxy (&error);
      if (proxy == NULL
          || !trellis_trellis1_call_get_device_log_sync (proxy, group, device, before, LOG_PAGE,
                                                         &events, &next, &dict, NULL, &error))
        return trellis_cli_dbus_error_report (error, _ ("Only the household's parents (a school's admins) can see what a gateway's devices asked."));
      if (first_page)
        {
          g_variant_lookup (dict, "entries", "t", &entries);
          g_variant_lookup (dict, "blocked", "t", &blocked);
          if (options->json)
            g_print ("{\"entries\": %" G_GUINT64_FORMAT ", \"blocked\": %" G_GUINT64_FORMAT
                     ", \"events\": [",
                     entries, blocked);
          else if (g_variant_n_children (events) > 0)
            g_print (_ ("Blocked, newest first, with the device that asked (allowed sites and helplines are never stored):\n"));
          first_page = FALSE;
        }
      g_variant_iter_init (&iter, events);
      while (g_variant_iter_next (&iter, "(xx&s&s&su&s&s&s)", &first, &last, &name, &rule, &category,
                                  &count, &section, &mac, &address))
        {
          if (options->json)
            {
              g_string_truncate (out, 0);
              g_string_append (out, any ? ",\n  " : "\n  ");
              gateway_json_entry (out, first, last, name, rule, category, count, section, mac, address);
              g_print ("%s", out->str);
            }
          else
            {
              g_autofree char *safe_section = trellis_cli_text_inert (section);
              g_autofree char *safe_mac = trellis_cli_text_inert (*mac != '\0' ? mac : "-");
              g_autofree char *safe_address = trellis_cli_text_inert (*address != '\0' ? address : "-");

              text_entry (first, last, name, rule, category, count);
              /* Translators: under a log line of a gateway: the group (or
               * child) of the device, its MAC and its address. */
              g_print (_ ("    %s, device %s %s\n"), safe_section, safe_mac, safe_address);
            }
          any = TRUE;
        }
      if (next != 0 && before != 0 && next >= before)
        break;
      before = next;
    }
  while (before != 0);

  if (options->json)
    {
      g_print ("%s]}\n", any ? "\n" : "");
      return TRELLIS_CLI_EXIT_OK;
    }
  if (!any)
    g_print (_ ("Nothing in the log for this device or group.\n"));
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_log (TrellisCliOptions *options, int argc, char **argv)
{
  const char *child = options->child != NULL ? options->child : "";
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(TrellisTrellis1) proxy = NULL;
  LogSummary summary = { 0 };
  guint64 before = 0;
  gboolean first_page = TRUE, any = FALSE, folded = FALSE;

  (void) argv;
  if (argc != 0)
    {
      g_printerr (_ ("trellis: write trellis log, with at most --clear or --child NAME\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (options->device != NULL || options->group != NULL)
    {
      if (options->clear || options->child != NULL)
        {
          g_printerr (_ ("trellis: --group and --device read a gateway's log; they go with neither --child nor --clear\n"));
          return TRELLIS_CLI_EXIT_USAGE;
        }
      return log_gateway (options);
    }
  if (options->clear)
    return log_clear (options, child);

  /* Page by page, printing as it comes: a long log never waits whole in
   * memory, here or in trellisd. */
  do
    {
      g_autoptr(GVariant) events = NULL;
      g_autoptr(GVariant) dict = NULL;
      g_autoptr(GError) error = NULL;
      GVariantIter iter;
      gint64 first, last;
      const char *name, *rule, *category;
      guint32 count;
      guint64 next;

      if (proxy == NULL)
        proxy = trellis_cli_dbus_proxy (&error);
      if (proxy == NULL
          || !trellis_trellis1_call_get_log_sync (proxy, child, before, LOG_PAGE, &events, &next,
                                                  &dict, NULL, &error))
        return trellis_cli_dbus_error_report (error, denied_words (options));
      if (first_page)
        {
          summary_read (dict, &summary);
          if (options->json)
            g_print ("{\"entries\": %" G_GUINT64_FORMAT ", \"blocked\": %" G_GUINT64_FORMAT
                     ", \"dropped_entries\": %" G_GUINT64_FORMAT
                     ", \"dropped_blocked\": %" G_GUINT64_FORMAT
                     ", \"missed\": %" G_GUINT64_FORMAT ", \"losses_until\": %" G_GINT64_FORMAT
                     ", \"fold_seconds\": %" G_GUINT32_FORMAT
                     ", \"max_entries\": %" G_GUINT32_FORMAT ", \"events\": [",
                     summary.entries, summary.blocked, summary.dropped_entries,
                     summary.dropped_blocked, summary.missed, summary.losses_until,
                     summary.fold_seconds, summary.max_entries);
          else if (g_variant_n_children (events) > 0)
            g_print (_ ("Blocked, newest first (allowed sites and helplines are never stored):\n"));
          first_page = FALSE;
        }

      g_variant_iter_init (&iter, events);
      while (g_variant_iter_next (&iter, "(xx&s&s&su)", &first, &last, &name, &rule, &category,
                                  &count))
        {
          if (options->json)
            {
              g_string_truncate (out, 0);
              g_string_append (out, any ? ",\n  " : "\n  ");
              json_entry (out, first, last, name, rule, category, count);
              g_print ("%s", out->str);
            }
          else
            text_entry (first, last, name, rule, category, count);
          any = TRUE;
          folded = folded || count > 1;
        }
      /* A cursor that does not move would never end. */
      if (next != 0 && before != 0 && next >= before)
        break;
      before = next;
    }
  while (before != 0);

  if (options->json)
    {
      g_print ("%s]}\n", any ? "\n" : "");
      return TRELLIS_CLI_EXIT_OK;
    }
  if (!any)
    g_print (_ ("Nothing in the log: nothing was blocked, or the log was cleared.\n"));
  text_notes (&summary, folded);
  if (any && options->child == NULL)
    g_print (_ ("You can delete this log with: trellis log --clear\n"));
  return TRELLIS_CLI_EXIT_OK;
}
