/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-status.c — trellis status (and plain `trellis`): my profile in plain
 * words, and exactly what my parents can see about me (GC25 §75).
 */
#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/dbus-client.h"

/* A number or a string from the status, as text; NULL when absent. */
static char *
status_text (GVariant *status, const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (status, key, NULL);

  if (value == NULL)
    return NULL;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? _ ("on") : _ ("off"));
  return g_variant_print (value, FALSE);
}

static gint64
status_int (GVariant *status, const char *key)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (status, key, NULL);

  if (value == NULL)
    return 0;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return g_variant_get_int64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return (gint64) MIN (g_variant_get_uint64 (value), (guint64) G_MAXINT64);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_variant_get_boolean (value);
  return 0;
}

static void
print_categories (GVariant *status)
{
  g_autoptr(GVariant) categories = g_variant_lookup_value (status, "categories", G_VARIANT_TYPE ("a(ss)"));
  g_autoptr(GString) names = g_string_new (NULL);
  GVariantIter iter;
  const char *id, *display;

  if (categories != NULL)
    {
      g_variant_iter_init (&iter, categories);
      while (g_variant_iter_next (&iter, "(&s&s)", &id, &display))
        {
          if (names->len > 0)
            g_string_append (names, ", ");
          g_string_append (names, *display != '\0' ? display : id);
        }
    }
  if (names->len > 0)
    /* Translators: %s is a list of category names, e.g. "Gambling, Adult content". */
    g_print (_ ("Blocked categories: %s\n"), names->str);
  else
    g_print (_ ("Blocked categories: none\n"));
}

/* What the daemon's parents_can_see items mean, in plain words. */
static const char *
can_see_words (const char *item)
{
  if (g_strcmp0 (item, "blocked") == 0)
    /* Translators: an item of "What your parents can see about you". */
    return _ ("the sites blocked for you, when, and by which rule");
  if (g_strcmp0 (item, "requests") == 0)
    /* Translators: an item of "What your parents can see about you". */
    return _ ("what you asked them to look at again, and your message");
  if (g_strcmp0 (item, "profile") == 0)
    /* Translators: an item of "What your parents can see about you". */
    return _ ("this profile: your age band, the blocked categories, quiet hours");
  return item;
}

int
trellis_cli_status (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) can_see = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *age = NULL;
  g_autofree char *band = NULL;
  g_autofree char *safe_search = NULL;
  g_autofree char *mode = NULL;
  g_autofree char *quiet_hours = NULL;
  g_autofree char *quiet_until = NULL;
  const char *child = options->child != NULL ? options->child : "";
  gboolean mine = options->child == NULL;
  gint64 paused_until;

  (void) argv;
  if (argc != 0)
    {
      g_printerr (_ ("trellis: write trellis status, with nothing after it\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }

  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_get_status_sync (proxy, child, &status, NULL, &error))
    return trellis_cli_dbus_error_report (error,
                                          mine ? _ ("Trellis does not filter your account, so there is no profile to show.")
                                               : _ ("Only parents can see another child's profile."));

  if (options->json)
    {
      g_autoptr(GString) out = g_string_new (NULL);

      trellis_cli_json_variant (out, status);
      g_print ("%s\n", out->str);
      return TRELLIS_CLI_EXIT_OK;
    }

  name = status_text (status, "name");
  age = status_text (status, "age");
  band = status_text (status, "band");
  safe_search = status_text (status, "safe_search");
  mode = status_text (status, "mode");
  quiet_hours = status_text (status, "quiet_hours");
  quiet_until = status_text (status, "quiet_until");
  paused_until = status_int (status, "paused_until");

  if (mine)
    /* Translators: %s is the child's name in the household file. */
    g_print (_ ("Trellis looks after this account for %s.\n"), name != NULL ? name : "?");
  else
    /* Translators: %s is the child's name in the household file. */
    g_print (_ ("Profile of %s:\n"), name != NULL ? name : child);
  if (age != NULL)
    /* Translators: the first %s is an age in years, the second the age band's name. */
    g_print (_ ("Age: %s (rules for the %s band)\n"), age, band != NULL ? band : "?");
  print_categories (status);
  if (safe_search != NULL)
    /* Translators: %s is "on", "off" or a mode like "strict". */
    g_print (_ ("Safe search: %s\n"), safe_search);
  if (mode != NULL && *mode != '\0')
    /* Translators: %s is the filtering mode, e.g. "denylist" or "allowlist". */
    g_print (_ ("Mode: %s\n"), mode);
  if (quiet_hours == NULL || *quiet_hours == '\0')
    g_print (_ ("Quiet hours: none\n"));
  else if (status_int (status, "quiet_now") != 0 && quiet_until != NULL && *quiet_until != '\0')
    /* Translators: the first %s is a time range, e.g. "21:00-07:00"; the
     * second the time of day quiet time ends, e.g. "07:00", in the
     * household's time zone. */
    g_print (_ ("Quiet hours: %s (it is quiet time now, until %s: only helplines and allowed sites work)\n"),
             quiet_hours, quiet_until);
  else if (status_int (status, "quiet_now") != 0)
    /* Translators: %s is a time range, e.g. "21:00-07:00". */
    g_print (_ ("Quiet hours: %s (it is quiet time now: only helplines and allowed sites work)\n"), quiet_hours);
  else
    /* Translators: %s is a time range, e.g. "21:00-07:00". */
    g_print (_ ("Quiet hours: %s (not now)\n"), quiet_hours);
  if (paused_until > 0)
    {
      g_autofree char *until = trellis_cli_time_format (paused_until);

      /* Translators: %s is a local date and time. */
      g_print (_ ("Filtering is paused until %s.\n"), until);
    }
  else
    g_print (_ ("Filtering is on (not paused).\n"));
  g_print (g_dngettext (GETTEXT_PACKAGE,
                        /* Translators: %u is a number of days. */
                        "Blocked sites stay in the log for %u day; allowed sites are never stored.\n",
                        "Blocked sites stay in the log for %u days; allowed sites are never stored.\n",
                        (gulong) status_int (status, "log_retention_days")),
           (guint) status_int (status, "log_retention_days"));

  if (mine)
    g_print (_ ("What your parents can see about you:\n"));
  else
    /* Translators: %s is the child's name. */
    g_print (_ ("What the parents can see about %s:\n"), name != NULL ? name : child);
  can_see = g_variant_lookup_value (status, "parents_can_see", G_VARIANT_TYPE_STRING_ARRAY);
  if (can_see == NULL || g_variant_n_children (can_see) == 0)
    g_print (_ ("  nothing\n"));
  else
    {
      GVariantIter iter;
      const char *item;

      g_variant_iter_init (&iter, can_see);
      while (g_variant_iter_next (&iter, "&s", &item))
        g_print ("  - %s\n", can_see_words (item));
    }
  g_print (_ ("Helplines are always open and never logged: trellis helplines\n"));
  return TRELLIS_CLI_EXIT_OK;
}
