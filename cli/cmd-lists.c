/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-lists.c — trellis lists [update]: where the category lists come
 * from, what is in force, and how each list's last update went; with
 * update (parents), fetch them now and wait until what compiled is in
 * force.  Anyone may read the lists: where they come from is no secret.
 */
#include <string.h>

#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/cli-text.h"
#include "cli/dbus-client.h"

static const char *
dict_string (GVariant *dict,
             const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (dict, key, "&s", &value))
    return "";
  return value;
}

static gint64
dict_int64 (GVariant *dict,
            const char *key)
{
  gint64 value = 0;

  g_variant_lookup (dict, key, "x", &value);
  return value;
}

static guint32
dict_uint32 (GVariant *dict,
             const char *key)
{
  guint32 value = 0;

  g_variant_lookup (dict, key, "u", &value);
  return value;
}

static guint64
dict_uint64 (GVariant *dict,
             const char *key)
{
  guint64 value = 0;

  g_variant_lookup (dict, key, "t", &value);
  return value;
}

static gboolean
dict_bool (GVariant *dict,
           const char *key)
{
  gboolean value = FALSE;

  g_variant_lookup (dict, key, "b", &value);
  return value;
}

/* Text from trellisd (a publisher's words, a URL), shown inert. */
static void
print_field (const char *label,
             const char *text)
{
  g_autofree char *inert = trellis_cli_text_inert (text);

  g_print ("    %-10s %s\n", label, inert);
}

static char *
when (gint64 unix_time)
{
  /* Translators: a time that has not come yet, or a thing that never happened. */
  return unix_time > 0 ? trellis_cli_time_format (unix_time) : g_strdup (_ ("never"));
}

/* "address 14, invalid 2" from "address=14;invalid=2". */
static char *
refused_words (const char *refused)
{
  g_auto(GStrv) parts = g_strsplit (refused, ";", -1);
  GString *out = g_string_new (NULL);
  guint64 total = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *eq = strchr (parts[i], '=');

      if (eq == NULL)
        continue;
      *eq = '\0';
      total += g_ascii_strtoull (eq + 1, NULL, 10);
      g_string_append_printf (out, "%s%s %s", out->len > 0 ? ", " : "", parts[i], eq + 1);
    }
  if (total == 0)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  {
    g_autofree char *head = g_strdup_printf ("%" G_GUINT64_FORMAT " (", total);

    g_string_prepend (out, head);
  }
  g_string_append_c (out, ')');
  return g_string_free (out, FALSE);
}

static void
print_source (GVariant *source)
{
  const char *id = dict_string (source, "id");
  const char *licence = dict_string (source, "licence");
  const char *attribution = dict_string (source, "attribution");
  const char *last_error = dict_string (source, "last_error");
  const char *version = dict_string (source, "version");
  g_autofree char *url = g_strdup_printf ("%s (%s)", dict_string (source, "url"), dict_string (source, "format"));
  g_autofree char *origin = NULL;
  g_autofree char *success = when (dict_int64 (source, "last_success"));
  g_autofree char *attempt = when (dict_int64 (source, "last_attempt"));
  g_autofree char *refused = refused_words (dict_string (source, "refused"));

  if (strcmp (dict_string (source, "origin"), "household") == 0)
    /* Translators: a list source the household file added; %s:%u is where. */
    origin = g_strdup_printf (_ ("the household's, %s:%u"), dict_string (source, "file"),
                              dict_uint32 (source, "line"));
  else
    /* Translators: a list source that comes with Trellis. */
    origin = g_strdup (_ ("shipped"));
  g_print ("  %s (%s; %s)\n", id, dict_string (source, "category"), origin);
  /* Translators: the labels of trellis lists, at most 10 characters each
   * (they are padded to line up the values after them). */
  print_field (_ ("from"), url);
  if (*licence != '\0' || *attribution != '\0')
    {
      g_autofree char *text = g_strdup_printf ("%s%s%s", licence, *licence != '\0' && *attribution != '\0' ? ": " : "", attribution);

      print_field (_ ("licence"), text);
    }
  if (dict_bool (source, "removed"))
    {
      /* Translators: a shipped source the household's remove-sources= took away. */
      print_field (_ ("state"), _ ("removed by the household (remove-sources=): not used"));
      return;
    }
  if (dict_bool (source, "in_force"))
    {
      g_autofree char *text = NULL;

      if (*version != '\0')
        /* Translators: %u is a number of names, %s the publisher's version (a date). */
        text = g_strdup_printf (_ ("%u names, version %s"), dict_uint32 (source, "names"), version);
      else
        text = g_strdup_printf (_ ("%u names"), dict_uint32 (source, "names"));
      print_field (_ ("in force"), text);
    }
  else
    print_field (_ ("in force"), _ ("nothing yet: no update of it has succeeded"));
  if (refused != NULL)
    {
      g_autofree char *lines = g_strdup_printf ("%" G_GUINT64_FORMAT, dict_uint64 (source, "lines"));
      /* Translators: how many lines of the list were left out (by reason,
       * e.g. "14 (address 14)"), of how many lines. */
      g_autofree char *text = g_strdup_printf (_ ("%s of %s lines"), refused, lines);

      print_field (_ ("refused"), text);
    }
  {
    /* Translators: the last time an update of the list succeeded, then the last try. */
    g_autofree char *text = g_strdup_printf (_ ("%s (last try %s)"), success, attempt);

    print_field (_ ("updated"), text);
  }
  if (*last_error != '\0')
    print_field (_ ("error"), last_error);
}

static void
print_lists (GVariant *reply)
{
  g_autoptr(GVariant) summary = g_variant_get_child_value (reply, 0);
  g_autoptr(GVariant) sources = g_variant_get_child_value (reply, 1);
  g_autoptr(GVariant) categories = g_variant_lookup_value (summary, "categories", G_VARIANT_TYPE ("a(ssu)"));
  const char *problem = dict_string (summary, "problem");
  GVariantIter iter;
  GVariant *source;
  guint32 n_information = 0;

  if (strcmp (dict_string (summary, "in_force"), "published") == 0)
    {
      g_autofree char *compiled = when (dict_int64 (summary, "compiled"));
      g_autofree char *generation = g_strdup_printf ("%" G_GUINT64_FORMAT, dict_uint64 (summary, "generation"));

      /* Translators: the first %s counts the updater's compiles (a number),
       * the second is a date and time. */
      g_print (_ ("In force: the published lists, generation %s, compiled %s.\n"), generation, compiled);
    }
  else
    g_print (_ ("In force: the lists shipped with Trellis (no update has been compiled yet).\n"));
  if (categories != NULL)
    {
      const char *id, *name;
      guint32 n;
      GVariantIter c;

      g_variant_iter_init (&c, categories);
      while (g_variant_iter_next (&c, "(&s&su)", &id, &name, &n))
        /* Translators: a category's id, its name and how many names it blocks. */
        g_print (_ ("  %s (%s): %u names\n"), id, name, n);
    }
  if (g_variant_lookup (summary, "information_names", "u", &n_information))
    /* Translators: GC25 §56; the first %u is the information list's names,
     * the second how many entries of the category lists it overrides. */
    g_print (_ ("Information list: %u names that category lists cannot block; it overrides %u category entries.\n"),
             n_information, dict_uint32 (summary, "information_overridden"));
  if (*problem != '\0')
    {
      g_autofree char *inert = trellis_cli_text_inert (problem);

      /* Translators: %s says why the updater's newest lists are not in force. */
      g_print (_ ("Not in force: %s\n"), inert);
    }
  if (dict_bool (summary, "updating"))
    g_print (_ ("An update is running now.\n"));
  g_print ("\n");
  g_print (_ ("Sources:\n"));
  g_variant_iter_init (&iter, sources);
  while ((source = g_variant_iter_next_value (&iter)) != NULL)
    {
      print_source (source);
      g_variant_unref (source);
    }
}

static int
lists_show (TrellisCliOptions *options)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) summary = NULL;
  g_autoptr(GVariant) sources = NULL;
  g_autoptr(GError) error = NULL;

  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_get_lists_sync (proxy, &summary, &sources, NULL, &error))
    return trellis_cli_dbus_error_report (error, NULL);
  if (options->json)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      g_string_append (out, "{\"lists\": ");
      trellis_cli_json_variant (out, summary);
      g_string_append (out, ",\n \"sources\": ");
      trellis_cli_json_variant (out, sources);
      g_string_append (out, "}\n");
      g_print ("%s", out->str);
      return TRELLIS_CLI_EXIT_OK;
    }
  reply = g_variant_ref_sink (g_variant_new ("(@a{sv}@aa{sv})", summary, sources));
  print_lists (reply);
  return TRELLIS_CLI_EXIT_OK;
}

static int
lists_update (TrellisCliOptions *options)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  gint status = -1;
  int shown;

  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL)
    return trellis_cli_dbus_error_report (error, NULL);
  /* The answer comes once what the run compiled is in force: as long as
   * the run takes (the updater caps its own time). */
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), G_MAXINT);
  if (!options->json)
    g_print (_ ("Fetching the lists from their publishers; this can take a few minutes…\n"));
  if (!trellis_trellis1_call_update_lists_sync (proxy, &status, &output, NULL, &error))
    return trellis_cli_dbus_error_report (error, _ ("Only parents can update the lists."));
  if (!options->json)
    {
      g_auto(GStrv) lines = g_strsplit (output, "\n", -1);

      /* The updater's words, each line inert. */
      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_autofree char *inert = trellis_cli_text_inert (g_strstrip (lines[i]));

          if (*inert != '\0')
            g_print ("%s\n", inert);
        }
    }
  shown = lists_show (options);
  if (shown != TRELLIS_CLI_EXIT_OK)
    return shown;
  if (status == 0)
    return TRELLIS_CLI_EXIT_OK;
  if (!options->json)
    {
      if (status == 1)
        g_print (_ ("\nSome lists could not be updated: their last good lists stay in force (see “error” above).\n"));
      else
        g_print (_ ("\nThe update did nothing: the lists in force stay as they were.\n"));
    }
  return TRELLIS_CLI_EXIT_BLOCKED;
}

int
trellis_cli_lists (TrellisCliOptions *options, int argc, char **argv)
{
  if (argc == 0)
    return lists_show (options);
  if (argc == 1 && strcmp (argv[0], "update") == 0)
    return lists_update (options);
  g_printerr (_ ("trellis: write trellis lists, or trellis lists update\n"));
  return TRELLIS_CLI_EXIT_USAGE;
}
