/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * compile.c — from a household file and the shipped data to a policy:
 * reads the data (shipped-data.c), parses the file (household.c), adds the
 * rules that depend on the age band, and compiles every category's names
 * into the domain index, in memory or written to a file and mapped; or,
 * given the lists the updater compiled (lists-index.c) for the same
 * categories, decides with those and reads no list of names.
 * Every problem of every file is reported at once (problems.c).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"

/* The rules that depend on the age band: one CATEGORY rule per (band,
 * category) the child may have, the ALLOWLIST rule and the SAFE_SEARCH
 * rules. */
static void
compile_child (TrellisPolicy *policy,
               TrellisChild *child)
{
  guint b, c;

  child->category_rules = g_new0 (guint, MAX (policy->bands->len, 1) * TRELLIS_MAX_CATEGORIES);
  for (b = 0; b < policy->bands->len; b++)
    {
      const TrellisAgeBandEntry *band = g_ptr_array_index (policy->bands, b);
      guint32 mask = (band->pub.categories | child->block_add) & ~child->block_remove;

      if (child->age >= 0 && ((guint) child->age < band->pub.min_age || (guint) child->age > band->pub.max_age))
        continue; /* a fixed age= never reaches this band */
      for (c = 0; c < policy->categories->len; c++)
        {
          const TrellisCategoryEntry *category = g_ptr_array_index (policy->categories, c);
          gboolean added = (child->block_add & (1u << c)) != 0;

          if (!(mask & (1u << c)))
            continue;
          child->category_rules[b * TRELLIS_MAX_CATEGORIES + c] =
            trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_CATEGORY, "", child->name,
                                     category->pub.id, band->pub.id,
                                     added ? policy->file : policy->age_bands_file,
                                     added ? child->block_line : band->line);
        }
    }

  child->allowlist_rule = trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_ALLOWLIST, "", child->name,
                                                   NULL, NULL, policy->file, child->mode_line);
  for (c = TRELLIS_SAFE_SEARCH_MODERATE; c <= TRELLIS_SAFE_SEARCH_STRICT; c++)
    child->safe_search_rule[c] =
      trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_SAFE_SEARCH, "", child->name, NULL,
                               trellis_safe_search_level_to_string (c), policy->file,
                               child->safe_search_line);
}

/* The compiled index: in memory, or written to @index_path (the previous
 * file kept as @index_path.last-good) and mapped. */
static gboolean
compile_index (TrellisPolicy *policy,
               TrellisDomainIndexBuilder *builder,
               const char *index_path,
               GError **error)
{
  g_autoptr(GError) local_error = NULL;

  if (index_path == NULL)
    {
      g_autoptr(GBytes) bytes = trellis_domain_index_builder_to_bytes (builder, &local_error);

      if (bytes != NULL)
        policy->index = trellis_domain_index_new_from_bytes (bytes, &local_error);
    }
  else
    {
      g_autofree char *last_good = g_strconcat (index_path, ".last-good", NULL);
      g_autofree char *tmp = g_strconcat (index_path, ".last-good.tmp", NULL);

      /* A hard link, renamed over the last good one: index_path itself is
       * never missing. */
      if (g_file_test (index_path, G_FILE_TEST_EXISTS))
        {
          (void) g_unlink (tmp);
          if (link (index_path, tmp) != 0 || g_rename (tmp, last_good) != 0)
            {
              int saved_errno = errno;

              (void) g_unlink (tmp);
              g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO,
                           _ ("%s: cannot keep the last good index: %s"), last_good, g_strerror (saved_errno));
              return FALSE;
            }
        }
      if (trellis_domain_index_builder_write (builder, index_path, &local_error))
        policy->index = trellis_domain_index_open (index_path, &local_error);
    }

  if (policy->index == NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO,
                   _ ("cannot compile the domain index: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

guint
trellis_policy_count_information_below (TrellisPolicy *policy)
{
  guint n = 0;

  /* The information list's names that a category entry above them covers
   * (the names at or below them were counted while compiling). */
  for (guint i = 0; policy->index != NULL && i < policy->information->len; i++)
    {
      const char *name = g_ptr_array_index (policy->information, i);
      const char *suffix = NULL;

      if (name != NULL && trellis_domain_index_lookup (policy->index, name, NULL, NULL, &suffix)
          && suffix != name)
        n++;
    }
  return n;
}

static TrellisPolicy *
load_data_full (const char *data,
                gsize length,
                const char *name,
                const TrellisPolicyLoadOptions *options,
                GError **error)
{
  static const TrellisPolicyLoadOptions defaults = { 0 };
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autoptr(TrellisProblems) problems = trellis_problems_new ();
  g_autoptr(TrellisDomainIndexBuilder) builder = NULL;
  g_autoptr(GError) fit_error = NULL;
  const char *data_dir;
  gboolean data_ok, text_ok, use_lists;
  guint i, n_errors;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options == NULL)
    options = &defaults;
  if (name == NULL)
    name = "household.conf";
  data_dir = options->data_dir != NULL ? options->data_dir : TRELLIS_DATADIR;
  if (length == (gsize) -1)
    length = strlen (data);

  policy = trellis_policy_new (name);
  data_ok = trellis_shipped_data_load (policy, data_dir, problems);

  /* The updater's lists, when they were compiled for these categories:
   * then no list of names is read here at all (a reload of the household
   * costs nothing of the lists' size).  Otherwise the shipped lists. */
  use_lists = options->lists != NULL && !options->no_index
              && trellis_lists_index_fits (options->lists, policy, &fit_error);
  if (!use_lists && !options->no_index)
    {
      g_autofree char *categories = g_build_filename (data_dir, "categories", NULL);

      n_errors = trellis_problems_get_n_errors (problems);
      builder = trellis_domain_index_builder_new ();
      trellis_categories_load_domains (policy, categories, builder, problems);
      if (trellis_problems_get_n_errors (problems) > n_errors)
        data_ok = FALSE;
    }
  text_ok = trellis_household_parse (policy, data, length, problems);

  if (trellis_problems_get_n_errors (problems) > 0)
    {
      trellis_problems_set_error (problems,
                                  !data_ok   ? TRELLIS_POLICY_ERROR_IO
                                  : !text_ok ? TRELLIS_POLICY_ERROR_SYNTAX
                                             : TRELLIS_POLICY_ERROR_INVALID,
                                  error);
      return NULL;
    }

  for (i = 0; i < policy->children->len; i++)
    compile_child (policy, g_ptr_array_index (policy->children, i));
  if (use_lists)
    {
      policy->lists = trellis_lists_index_ref (options->lists);
      policy->index = trellis_domain_index_ref (trellis_lists_index_get_index (options->lists));
      trellis_lists_index_apply_counts (options->lists, policy);
      policy->n_information_overridden = trellis_lists_index_get_information_overridden (options->lists)
                                         + trellis_policy_count_information_below (policy);
    }
  else if (builder != NULL)
    {
      trellis_domain_index_builder_set_watch (builder, (const char *const *) policy->information->pdata);
      if (!compile_index (policy, builder, options->index_path, error))
        return NULL;
      policy->n_information_overridden = trellis_domain_index_builder_get_n_watched (builder)
                                         + trellis_policy_count_information_below (policy);
    }

  g_ptr_array_unref (policy->warnings);
  policy->warnings = trellis_problems_get_warnings (problems);

  return g_steal_pointer (&policy);
}

TrellisPolicy *
trellis_policy_load_data_with_options (const char *data,
                                       gssize length,
                                       const char *name,
                                       const TrellisPolicyLoadOptions *options,
                                       GError **error)
{
  return load_data_full (data, length < 0 ? (gsize) -1 : (gsize) length, name, options, error);
}

TrellisPolicy *
trellis_policy_load_data (const char *data,
                          gsize length,
                          const char *name,
                          const char *data_dir,
                          GError **error)
{
  TrellisPolicyLoadOptions options = { .data_dir = data_dir };

  return load_data_full (data, length, name, &options, error);
}

TrellisPolicy *
trellis_policy_load_with_options (const char *path,
                                  const TrellisPolicyLoadOptions *options,
                                  GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO,
                   "%s: %s", path, local_error->message);
      return NULL;
    }
  return load_data_full (contents, length, path, options, error);
}

TrellisPolicy *
trellis_policy_load_file_full (const char *path,
                               const char *data_dir,
                               const char *index_path,
                               GError **error)
{
  TrellisPolicyLoadOptions options = { .data_dir = data_dir, .index_path = index_path };

  return trellis_policy_load_with_options (path, &options, error);
}

TrellisPolicy *
trellis_policy_load_file (const char *path,
                          const char *data_dir,
                          GError **error)
{
  return trellis_policy_load_file_full (path, data_dir, NULL, error);
}
