/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz-household.c — libFuzzer target: the household file, through
 * trellis_policy_load_data() with the tree's data (policy/data, or
 * $TRELLIS_FUZZ_DATA_DIR).  A file that is refused says why, in valid
 * UTF-8 (the words go to a terminal and over D-Bus).  A file that loads
 * answers every question trellisd and trellis ask of it, and keeps what
 * the design promises whatever the file says: a helpline is allowed for
 * every child at every hour; each child is found by its name and by each
 * of its accounts; every decision names a rule that can be shown.
 * abort() on any inconsistency.
 *
 * Every input is first loaded against a skeleton of the data folder,
 * made once in a temporary folder: the same categories (their names, no
 * lists) and age bands, one helpline.  What a household file can say
 * wrong does not depend on the lists or the helplines, so the skeleton
 * refuses what the data folder refuses, at a fifth of the cost under
 * ASan.  A file the skeleton takes is loaded again with the data folder
 * itself, which must take it too, and questioned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "policy/nft-plan.h"
#include "policy/trellis-policy.h"

#ifndef TRELLIS_SRC_DATADIR
#error "TRELLIS_SRC_DATADIR must name policy/data"
#endif

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (gboolean ok)
{
  if (!ok)
    abort ();
}

static void
check_text (const char *text)
{
  check (text != NULL && g_utf8_validate (text, -1, NULL));
}

/* Every account gets a uid of its own, never 0, without asking NSS. */
static gboolean
resolve (const char *account, uint32_t *ret_uid, gpointer user_data)
{
  *ret_uid = 1000 + g_str_hash (account) % 100000;
  return TRUE;
}

static void
check_decision (TrellisPolicy *policy, const TrellisChild *child, const char *name,
                GDateTime *now, TrellisDecision *ret)
{
  g_autofree char *text = NULL;
  g_autofree char *why = NULL;

  trellis_policy_decide_at (policy, child, name, now, ret);
  check (ret->rule != NULL);
  check (trellis_policy_get_rule (policy, ret->rule->id) == ret->rule);
  check (ret->verdict != TRELLIS_VERDICT_SAFE_SEARCH || ret->target != NULL);
  text = trellis_rule_format_short (ret->rule);
  check_text (text);
  why = trellis_rule_explain_for (policy, ret->rule, child, now);
  check_text (why);
}

static void
check_policy (TrellisPolicy *policy)
{
  static const char *const names[] = {
    "example.com", "www.example-game.com", "use-application-dns.net", "www.google.com",
    "en.wikipedia.org", "scratch.mit.edu", "casino.example", "com", ""
  };
  /* Noon, midnight and a school-day evening, in 2026 and (for birth=) 2040. */
  static const gint64 times[] = { 1767268800, 1767225600, 1767726000, 2208988800 };
  const TrellisChild *const *children;
  const char *const *warnings;
  g_autoptr(GArray) helplines = trellis_policy_get_helplines (policy);
  g_autoptr(TrellisNftPlan) plan = NULL;
  const TrellisNftPlanTuning tuning = {
    .queue_num = 7,
    .answer_port = 5300,
    .queue_expr = TRELLIS_QUEUE_EXPR_XT,
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *rendered = NULL;
  guint n_children;

  warnings = trellis_policy_get_warnings (policy);
  for (guint i = 0; warnings[i] != NULL; i++)
    check_text (warnings[i]);
  check (helplines->len > 0);
  check (trellis_policy_get_timezone (policy) != NULL);

  plan = trellis_nft_plan_new_for_policy (policy, &tuning, resolve, NULL, &error);
  check (plan != NULL || error != NULL);
  if (plan != NULL)
    {
      rendered = trellis_nft_plan_render (plan, NULL);
      check_text (rendered);
    }

  children = trellis_policy_get_children (policy, &n_children);
  for (guint c = 0; c < n_children; c++)
    {
      const TrellisChild *child = children[c];
      const char *const *accounts = trellis_child_get_accounts (child);

      check_text (trellis_child_get_name (child));
      check (trellis_policy_find_child (policy, trellis_child_get_name (child)) == child);
      for (guint a = 0; accounts != NULL && accounts[a] != NULL; a++)
        check (trellis_policy_find_child_by_account (policy, accounts[a]) == child);
      if (plan != NULL)
        {
          g_autofree char *view = trellis_nft_plan_render (plan, trellis_child_get_name (child));

          check_text (view);
        }

      for (guint t = 0; t < G_N_ELEMENTS (times); t++)
        {
          g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc (times[t]);
          g_autofree char *until = NULL;
          gboolean quiet = FALSE;
          const char *quiet_hours;
          TrellisDecision d;

          quiet_hours = trellis_child_get_quiet_hours (policy, child, now, &quiet, &until);
          check (quiet_hours == NULL || g_utf8_validate (quiet_hours, -1, NULL));
          check (!quiet || until != NULL);
          (void) trellis_child_get_age (policy, child, now);
          (void) trellis_child_get_profile (policy, child, now, NULL, NULL, NULL);

          for (guint n = 0; n < G_N_ELEMENTS (names); n++)
            check_decision (policy, child, names[n], now, &d);

          /* Never blocked, whatever the household says (GC25 §76, §78). */
          for (guint h = 0; h < helplines->len; h++)
            {
              const TrellisHelplineInfo *info = &g_array_index (helplines, TrellisHelplineInfo, h);
              char below[300];

              trellis_policy_decide_at (policy, child, info->domain, now, &d);
              check (d.verdict == TRELLIS_VERDICT_ALLOW && d.rule->kind == TRELLIS_RULE_KIND_HELPLINE);
              g_snprintf (below, sizeof below, "www.%s", info->domain);
              trellis_policy_decide_at (policy, child, below, now, &d);
              check (d.verdict == TRELLIS_VERDICT_ALLOW && d.rule->kind == TRELLIS_RULE_KIND_HELPLINE);
            }
        }
    }
}

static char *skeleton;

static void
skeleton_remove (void)
{
  g_autoptr(GDir) dir = NULL;
  g_autofree char *categories = NULL;
  const char *name;

  if (skeleton == NULL)
    return;
  categories = g_build_filename (skeleton, "categories", NULL);
  dir = g_dir_open (categories, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *folder = g_build_filename (categories, name, NULL);
      g_autofree char *desktop = g_build_filename (folder, "category.desktop", NULL);

      g_unlink (desktop);
      g_rmdir (folder);
    }
  g_rmdir (categories);
  for (guint i = 0; i < 3; i++)
    {
      static const char *const files[] = { "age-bands", "helplines", "allowlist" };
      g_autofree char *path = g_build_filename (skeleton, files[i], NULL);

      g_unlink (path);
    }
  g_rmdir (skeleton);
  g_clear_pointer (&skeleton, g_free);
}

/* The skeleton of @data_dir (see the top of the file). */
static void
skeleton_make (const char *data_dir)
{
  g_autofree char *bands = NULL;
  g_autofree char *helplines = NULL;
  g_autofree char *categories = g_build_filename (data_dir, "categories", NULL);
  g_autofree char *path = NULL;
  g_autoptr(GDir) dir = NULL;
  g_auto(GStrv) lines = NULL;
  const char *name;

  skeleton = g_dir_make_tmp ("trellis-fuzz-household-XXXXXX", NULL);
  check (skeleton != NULL);
  atexit (skeleton_remove);

  path = g_build_filename (data_dir, "age-bands", NULL);
  check (g_file_get_contents (path, &bands, NULL, NULL));
  g_free (path);
  path = g_build_filename (skeleton, "age-bands", NULL);
  check (g_file_set_contents (path, bands, -1, NULL));
  g_free (path);

  path = g_build_filename (data_dir, "helplines", NULL);
  check (g_file_get_contents (path, &helplines, NULL, NULL));
  lines = g_strsplit (helplines, "\n", -1);
  g_free (path);
  path = g_build_filename (skeleton, "helplines", NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '#' && lines[i][0] != '\0')
      {
        check (g_file_set_contents (path, lines[i], -1, NULL));
        break;
      }
  g_free (path);
  path = g_build_filename (skeleton, "allowlist", NULL);
  check (g_file_set_contents (path, "", 0, NULL));
  g_free (path);

  path = g_build_filename (skeleton, "categories", NULL);
  check (g_mkdir (path, 0700) == 0);
  dir = g_dir_open (categories, 0, NULL);
  check (dir != NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *src = g_build_filename (categories, name, NULL);
      g_autofree char *folder = g_build_filename (path, name, NULL);
      g_autofree char *desktop = g_build_filename (folder, "category.desktop", NULL);
      g_autofree char *text = g_strdup_printf ("[Trellis Category]\nName=%s\n", name);

      if (!g_file_test (src, G_FILE_TEST_IS_DIR))
        continue;
      check (g_mkdir (folder, 0700) == 0);
      check (g_file_set_contents (desktop, text, -1, NULL));
    }
}

/* A warning of GLib's is a bug of ours (input reached GLib unchecked):
 * abort(), which libFuzzer catches and keeps the input of; a fatal GLib
 * log would end in SIGTRAP, which it does not. */
static void
log_abort (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  g_printerr ("%s: %s\n", domain != NULL ? domain : "", message);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
}

static GLogWriterOutput
log_write_abort (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  g_log_writer_standard_streams (level, fields, n_fields, user_data);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
  return G_LOG_WRITER_HANDLED;
}

static void
fatal_warnings (void)
{
  static gboolean done;

  if (done)
    return;
  done = TRUE;
  g_log_set_default_handler (log_abort, NULL);
  g_log_set_writer_func (log_write_abort, NULL, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *data_dir;
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;

  fatal_warnings ();
  if (data_dir == NULL)
    {
      data_dir = g_getenv ("TRELLIS_FUZZ_DATA_DIR");
      if (data_dir == NULL)
        data_dir = TRELLIS_SRC_DATADIR;
      skeleton_make (data_dir);
    }

  policy = trellis_policy_load_data ((const char *) data, size, "household.conf", skeleton, &error);
  if (policy == NULL)
    {
      check (error != NULL && error->message[0] != '\0');
      check_text (error->message);
      return 0;
    }
  g_clear_pointer (&policy, trellis_policy_unref);

  policy = trellis_policy_load_data ((const char *) data, size, "household.conf", data_dir, &error);
  check (policy != NULL && error == NULL);
  check_policy (policy);
  return 0;
}
