/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-policy-check.c — trellis policy check [FILE]: checks a household file
 * and summarises what it does (zone, parents, and for each child: age, band,
 * categories, safe search, mode, quiet hours, accounts), with its warnings.
 * Exit 0 when the file is good, 1 when it has errors (every one printed),
 * 2 when it cannot be read.  --json prints the summary as JSON.
 */
#include <string.h>

#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/dbus-client.h"
#include "policy/trellis-policy.h"

static void
json_strv (GString *out,
           const char *const *strv)
{
  guint i;

  g_string_append_c (out, '[');
  for (i = 0; strv != NULL && strv[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      trellis_cli_json_string (out, strv[i]);
    }
  g_string_append_c (out, ']');
}

/* The zone's name: timezone=, else the system's from /etc/timezone or the
 * /etc/localtime link. */
static char *
zone_name (TrellisPolicy *policy)
{
  g_autofree char *contents = NULL;
  g_autofree char *link = NULL;
  const char *zoneinfo;

  if (trellis_policy_get_timezone_name (policy) != NULL)
    return g_strdup (trellis_policy_get_timezone_name (policy));
  if (g_file_get_contents ("/etc/timezone", &contents, NULL, NULL))
    return g_strdup (g_strstrip (contents));
  link = g_file_read_link ("/etc/localtime", NULL);
  if (link != NULL && (zoneinfo = strstr (link, "zoneinfo/")) != NULL)
    return g_strdup (zoneinfo + strlen ("zoneinfo/"));
  return g_strdup ("UTC");
}

/* The published lists each category is fed from, the household's own and
 * those it removed. */
static void
sources_text (TrellisPolicy *policy)
{
  guint n_sources = 0, n_categories = 0;
  const TrellisListSource *const *sources = trellis_policy_get_list_sources (policy, &n_sources);
  const TrellisCategory *const *categories = trellis_policy_get_categories (policy, &n_categories);

  /* Translators: the lists of names that the list updater fetches from
   * their publishers; keep "trellis lists" as it is. */
  g_print (_ ("Published lists (fetched by the updater; trellis lists shows when and how it went):\n"));
  for (guint c = 0; c < n_categories; c++)
    {
      g_autoptr(GString) used = g_string_new (NULL);
      g_autoptr(GString) removed = g_string_new (NULL);

      for (guint i = 0; i < n_sources; i++)
        {
          const TrellisListSource *source = sources[i];
          GString *out = source->removed ? removed : used;

          if (strcmp (source->category, categories[c]->id) != 0)
            continue;
          if (out->len > 0)
            g_string_append (out, ", ");
          g_string_append (out, source->id);
          if (source->household)
            g_string_append_printf (out, " (%s:%u)", source->file, source->line);
        }
      if (used->len == 0 && removed->len == 0)
        continue;
      g_print ("  %s: %s", categories[c]->id, used->len > 0 ? used->str : _ ("none"));
      if (removed->len > 0)
        /* Translators: after a category's sources; the household's
         * remove-sources= took these away.  %s is a list of source IDs. */
        g_print (_ ("; removed by the household: %s"), removed->str);
      g_print ("\n");
    }
}

static void
summary_text (TrellisPolicy *policy,
              const char *path,
              GDateTime *now)
{
  g_autofree char *zone = zone_name (policy);
  g_autofree char *parents = g_strjoinv (", ", (char **) trellis_policy_get_parents (policy));
  const TrellisChild *const *children;
  guint n_children, n_categories, i, c;
  const TrellisCategory *const *categories = trellis_policy_get_categories (policy, &n_categories);

  /* Translators: %s is the path of the household file. */
  g_print (_ ("%s: no errors.\n"), path);
  /* Translators: %s is a time zone such as Europe/Paris. */
  g_print (_ ("Time zone: %s (schedules are read in it)\n"), zone);
  g_print (_ ("Parents (never filtered): %s\n"), parents);
  if (!trellis_policy_has_safe_search (policy))
    g_print (_ ("Safe search: no safe-search data installed, so it is not enforced\n"));
  if (trellis_policy_get_gateway_interfaces (policy)[0] != NULL)
    {
      g_autofree char *ifaces = g_strjoinv (", ", (char **) trellis_policy_get_gateway_interfaces (policy));
      const TrellisChild *fallback = trellis_policy_get_default_profile (policy);

      /* Translators: %s lists network interfaces (eth1, wlan0). */
      g_print (_ ("Gateway: devices on %s are filtered\n"), ifaces);
      g_print (_ ("Devices listed nowhere get: %s\n"),
               fallback != NULL ? trellis_child_get_name (fallback) : _ ("none"));
    }
  {
    guint n_information = 0, n_overridden = 0;

    if (trellis_policy_get_information (policy, &n_information, &n_overridden))
      /* Translators: GC25 §56: the information list (sexual education,
       * health, encyclopaedias) cannot be blocked by a category list.  The
       * first %u is how many names it holds, the second how many entries
       * of the category lists it overrides. */
      g_print (_ ("Information list: %u names that category lists cannot block; it overrides %u category entries\n"),
               n_information, n_overridden);
    else
      g_print (_ ("Information list: none installed, so category lists may block sexual education and health sites\n"));
    /* The file is checked with the shipped lists; the published lists in
     * force are trellisd's, who says what the list overrides in them. */
    {
      g_autoptr(TrellisTrellis1) proxy = trellis_cli_dbus_proxy (NULL);
      g_autoptr(GVariant) lists = NULL;
      g_autoptr(GVariant) sources = NULL;
      const char *in_force = NULL;
      guint32 overridden = 0;

      if (proxy != NULL && trellis_trellis1_call_get_lists_sync (proxy, &lists, &sources, NULL, NULL)
          && g_variant_lookup (lists, "in_force", "&s", &in_force) && strcmp (in_force, "published") == 0
          && g_variant_lookup (lists, "information_overridden", "u", &overridden))
        /* Translators: %u is how many entries of the published category
         * lists in force the information list overrides. */
        g_print (_ ("  with the published lists in force (trellisd): it overrides %u category entries\n"),
                 overridden);
    }
  }

  sources_text (policy);

  children = trellis_policy_get_children (policy, &n_children);
  for (i = 0; i < n_children; i++)
    {
      const TrellisChild *child = children[i];
      guint32 mask = 0;
      TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;
      gboolean allowlist = FALSE;
      const TrellisAgeBand *band = trellis_child_get_profile (policy, child, now, &mask, &level, &allowlist);
      g_autofree char *accounts = g_strjoinv (", ", (char **) trellis_child_get_accounts (child));
      g_autofree char *devices = g_strjoinv (", ", (char **) trellis_child_get_devices (child));
      const char *quiet_hours = trellis_child_get_quiet_hours (policy, child, now, NULL, NULL);

      g_print ("\n[%s %s]\n", trellis_child_is_group (child) ? "group" : "child",
               trellis_child_get_name (child));
      if (trellis_child_get_birth (child) != NULL)
        /* Translators: %u is an age in years, %s a date as written (2016-05). */
        g_print (_ ("  Age: %u (born %s)\n"), trellis_child_get_age (policy, child, now),
                 trellis_child_get_birth (child));
      else
        g_print (_ ("  Age: %u\n"), trellis_child_get_age (policy, child, now));
      if (band == NULL)
        {
          g_print (_ ("  18 or over: Trellis does not filter adults\n"));
          continue;
        }
      g_print (_ ("  Age band: %s\n"), band->id);
      g_print (_ ("  Categories blocked:\n"));
      for (c = 0; c < n_categories; c++)
        if (mask & (1u << categories[c]->bit))
          /* Translators: a category's id, its name, and how many names it lists. */
          g_print (_ ("    %s (%s): %u names\n"), categories[c]->id, categories[c]->name, categories[c]->n_domains);
      if (mask == 0)
        g_print (_ ("    none\n"));
      g_print (_ ("  Safe search: %s\n"), trellis_safe_search_level_to_string (level));
      g_print (_ ("  Mode: %s\n"), allowlist ? "allowlist" : "blocklist");
      g_print (_ ("  Quiet hours: %s\n"), quiet_hours != NULL ? quiet_hours : _ ("none"));
      if (!trellis_child_is_group (child))
        g_print (_ ("  Accounts: %s\n"), *accounts != '\0' ? accounts : _ ("none"));
      if (*devices != '\0')
        g_print (_ ("  Devices: %s\n"), devices);
    }
}

static void
summary_json (TrellisPolicy *policy,
              const char *path,
              GDateTime *now)
{
  g_autoptr(GString) out = g_string_new ("{\n  \"file\": ");
  g_autofree char *zone = zone_name (policy);
  const TrellisChild *const *children;
  guint n_children, n_categories, i, c;
  const TrellisCategory *const *categories = trellis_policy_get_categories (policy, &n_categories);

  trellis_cli_json_string (out, path);
  g_string_append (out, ",\n  \"ok\": true,\n  \"timezone\": ");
  trellis_cli_json_string (out, zone);
  g_string_append (out, ",\n  \"parents\": ");
  json_strv (out, trellis_policy_get_parents (policy));
  g_string_append (out, ",\n  \"gateway_interfaces\": ");
  json_strv (out, trellis_policy_get_gateway_interfaces (policy));
  g_string_append (out, ",\n  \"default_profile\": ");
  trellis_cli_json_string (out, trellis_policy_get_default_profile (policy) != NULL
                                  ? trellis_child_get_name (trellis_policy_get_default_profile (policy))
                                  : NULL);
  {
    guint n_information = 0, n_overridden = 0;

    if (trellis_policy_get_information (policy, &n_information, &n_overridden))
      g_string_append_printf (out, ",\n  \"information\": {\"names\": %u, \"overridden\": %u}",
                              n_information, n_overridden);
    else
      g_string_append (out, ",\n  \"information\": null");
  }
  {
    guint n_sources = 0;
    const TrellisListSource *const *sources = trellis_policy_get_list_sources (policy, &n_sources);

    g_string_append (out, ",\n  \"sources\": [");
    for (i = 0; i < n_sources; i++)
      {
        g_string_append (out, i > 0 ? ",\n    {\"id\": " : "\n    {\"id\": ");
        trellis_cli_json_string (out, sources[i]->id);
        g_string_append (out, ", \"category\": ");
        trellis_cli_json_string (out, sources[i]->category);
        g_string_append (out, ", \"url\": ");
        trellis_cli_json_string (out, sources[i]->url);
        g_string_append (out, ", \"format\": ");
        trellis_cli_json_string (out, trellis_list_format_to_string (sources[i]->format));
        g_string_append (out, ", \"licence\": ");
        trellis_cli_json_string (out, sources[i]->licence);
        g_string_append_printf (out, ", \"origin\": \"%s\", \"removed\": %s}",
                                sources[i]->household ? "household" : "shipped",
                                sources[i]->removed ? "true" : "false");
      }
    g_string_append (out, n_sources > 0 ? "\n  ]" : "]");
  }
  g_string_append (out, ",\n  \"warnings\": ");
  json_strv (out, trellis_policy_get_warnings (policy));
  g_string_append (out, ",\n  \"children\": [");
  children = trellis_policy_get_children (policy, &n_children);
  for (i = 0; i < n_children; i++)
    {
      const TrellisChild *child = children[i];
      guint32 mask = 0;
      TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;
      gboolean allowlist = FALSE;
      const TrellisAgeBand *band = trellis_child_get_profile (policy, child, now, &mask, &level, &allowlist);
      gboolean first = TRUE;

      g_string_append (out, i > 0 ? ",\n    {" : "\n    {");
      g_string_append (out, "\"name\": ");
      trellis_cli_json_string (out, trellis_child_get_name (child));
      g_string_append_printf (out, ", \"age\": %u, \"birth\": ", trellis_child_get_age (policy, child, now));
      trellis_cli_json_string (out, trellis_child_get_birth (child));
      g_string_append (out, ", \"band\": ");
      trellis_cli_json_string (out, band != NULL ? band->id : NULL);
      g_string_append (out, ", \"categories\": [");
      for (c = 0; band != NULL && c < n_categories; c++)
        if (mask & (1u << categories[c]->bit))
          {
            g_string_append (out, first ? "{\"id\": " : ", {\"id\": ");
            trellis_cli_json_string (out, categories[c]->id);
            g_string_append (out, ", \"name\": ");
            trellis_cli_json_string (out, categories[c]->name);
            g_string_append_printf (out, ", \"names\": %u}", categories[c]->n_domains);
            first = FALSE;
          }
      g_string_append (out, "], \"safe_search\": ");
      trellis_cli_json_string (out, band != NULL ? trellis_safe_search_level_to_string (level) : NULL);
      g_string_append (out, ", \"mode\": ");
      trellis_cli_json_string (out, band != NULL ? (allowlist ? "allowlist" : "blocklist") : NULL);
      g_string_append (out, ", \"quiet_hours\": ");
      trellis_cli_json_string (out, trellis_child_get_quiet_hours (policy, child, now, NULL, NULL));
      g_string_append (out, ", \"accounts\": ");
      json_strv (out, trellis_child_get_accounts (child));
      g_string_append (out, ", \"devices\": ");
      json_strv (out, trellis_child_get_devices (child));
      g_string_append_printf (out, ", \"group\": %s", trellis_child_is_group (child) ? "true" : "false");
      g_string_append_c (out, '}');
    }
  g_string_append (out, n_children > 0 ? "\n  ]\n}\n" : "]\n}\n");
  g_print ("%s", out->str);
}

int
trellis_cli_policy_check (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  const char *const *warnings;
  const char *path;
  guint i;

  if (argc > 1)
    {
      g_printerr (_ ("trellis: write trellis policy check [FILE], with at most one FILE\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  path = argc == 1 ? argv[0] : trellis_cli_household_path (options);

  policy = trellis_policy_load_file (path, options->data_dir, &error);
  if (policy == NULL)
    {
      if (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO)
          && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_printerr ("trellis: %s\n", error->message);
          return TRELLIS_CLI_EXIT_USAGE;
        }
      g_printerr ("%s\n", error->message);
      trellis_cli_data_dir_hint (options, error);
      /* Translators: printed after the list of a household file's errors. */
      g_printerr (_ ("policy check: the file has errors\n"));
      return TRELLIS_CLI_EXIT_BLOCKED;
    }

  if (options->json)
    summary_json (policy, path, now);
  else
    summary_text (policy, path, now);

  warnings = trellis_policy_get_warnings (policy);
  for (i = 0; warnings[i] != NULL; i++)
    g_printerr ("%s\n", warnings[i]);
  return TRELLIS_CLI_EXIT_OK;
}
