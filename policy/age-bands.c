/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * age-bands.c — the shipped age bands (data_dir/age-bands):
 *
 *   [band 9-12]
 *   ages = 9-12
 *   categories = adult;gambling;malware;phishing
 *   safe-search = strict
 *   mode = blocklist
 *
 * The bands cover the ages 0 to 17, each once.  Their categories stay
 * narrow (GC25 §56): harm, never information.  Lines and columns come from
 * the key-file scan (lines.c), problems go to the household's list
 * (problems.c).
 */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"

static const char *const band_keys[] = { "ages", "categories", "safe-search", "mode", NULL };

/* The line of @key in [@group] (of [@group] when @key is NULL), else 1. */
static guint
line_of (TrellisKeyFileLines *lines,
         const char *group,
         const char *key)
{
  TrellisKeyFilePosition where;

  return trellis_key_file_lines_find (lines, group, key, &where) ? where.line : 1;
}

static int
compare_bands (gconstpointer a,
               gconstpointer b)
{
  const TrellisAgeBandEntry *ba = *(TrellisAgeBandEntry *const *) a;
  const TrellisAgeBandEntry *bb = *(TrellisAgeBandEntry *const *) b;

  return ba->pub.min_age < bb->pub.min_age ? -1 : ba->pub.min_age > bb->pub.min_age;
}

#define add_problem(problems, path, line, ...) \
  trellis_problems_add ((problems), TRELLIS_PROBLEM_DATA, (path), (line), 1, __VA_ARGS__)

void
trellis_age_bands_load (TrellisPolicy *policy,
                        const char *path,
                        TrellisProblems *problems)
{
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(TrellisKeyFileLines) lines = NULL;
  g_auto(GStrv) groups = NULL;
  guint covered[TRELLIS_ADULT_AGE] = { 0 };
  guint i, age;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                            _ ("%s: cannot read the age bands: %s"), path, local_error->message);
      return;
    }
  if (!g_key_file_load_from_data (key_file, contents, -1, G_KEY_FILE_NONE, &local_error))
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                            _ ("%s: not an age-bands file: %s"), path, local_error->message);
      return;
    }
  policy->age_bands_file = g_string_chunk_insert_const (policy->strings, path);
  lines = trellis_key_file_scan (contents, length, path, TRELLIS_PROBLEM_DATA, problems);
  if (lines == NULL)
    return; /* the scan said why: a key written twice, say */

  groups = g_key_file_get_groups (key_file, NULL);
  for (i = 0; groups[i] != NULL; i++)
    {
      const char *group = groups[i];
      guint header = line_of (lines, group, NULL);
      g_auto(GStrv) keys = NULL;
      g_auto(GStrv) categories = NULL;
      g_autofree char *ages = NULL;
      g_autofree char *safe_search = NULL;
      g_autofree char *mode = NULL;
      TrellisAgeBandEntry *band;
      guint64 min = 0, max = 0;
      guint j;
      char *dash;

      if (!g_str_has_prefix (group, "band ") || group[5] == '\0')
        {
          add_problem (problems, path, header, _ ("unknown section [%s]; write [band ID]"), group);
          continue;
        }
      keys = g_key_file_get_keys (key_file, group, NULL, NULL);
      for (j = 0; keys != NULL && keys[j] != NULL; j++)
        if (!g_strv_contains (band_keys, keys[j]))
          add_problem (problems, path, line_of (lines, group, keys[j]),
                       _ ("unknown key “%s” in [%s]"), keys[j], group);

      ages = g_key_file_get_string (key_file, group, "ages", NULL);
      dash = ages != NULL ? strchr (ages, '-') : NULL;
      if (dash != NULL)
        *dash = '\0';
      if (dash == NULL
          || !g_ascii_string_to_unsigned (g_strstrip (ages), 10, 0, TRELLIS_ADULT_AGE - 1, &min, NULL)
          || !g_ascii_string_to_unsigned (g_strstrip (dash + 1), 10, 0, TRELLIS_ADULT_AGE - 1, &max, NULL)
          || min > max)
        {
          add_problem (problems, path, line_of (lines, group, ages != NULL ? "ages" : NULL),
                       _ ("[%s] needs ages = FIRST-LAST, two ages from 0 to 17"), group);
          continue;
        }

      band = g_new0 (TrellisAgeBandEntry, 1);
      band->pub.id = g_string_chunk_insert_const (policy->strings, group + 5);
      band->pub.min_age = min;
      band->pub.max_age = max;
      band->line = line_of (lines, group,
                            g_key_file_has_key (key_file, group, "categories", NULL) ? "categories" : NULL);
      g_ptr_array_add (policy->bands, band);

      for (age = min; age <= max; age++)
        if (covered[age]++ > 0)
          add_problem (problems, path, header, _ ("age %u is in two bands"), age);

      categories = g_key_file_get_string_list (key_file, group, "categories", NULL, NULL);
      for (j = 0; categories != NULL && categories[j] != NULL; j++)
        {
          const char *id = g_strstrip (categories[j]);
          const TrellisCategoryEntry *category;

          if (*id == '\0')
            continue;
          category = trellis_policy_find_category (policy, id);
          if (category == NULL)
            add_problem (problems, path, band->line, _ ("[%s]: there is no category “%s”"), group, id);
          else
            band->pub.categories |= 1u << category->pub.bit;
        }

      safe_search = g_key_file_get_string (key_file, group, "safe-search", NULL);
      if (safe_search != NULL
          && !trellis_safe_search_level_from_string (g_strstrip (safe_search), &band->pub.safe_search))
        add_problem (problems, path, line_of (lines, group, "safe-search"),
                     _ ("safe-search must be “strict”, “moderate” or “off”, not “%s”"), safe_search);

      mode = g_key_file_get_string (key_file, group, "mode", NULL);
      if (mode != NULL)
        {
          g_strstrip (mode);
          if (strcmp (mode, "allowlist") == 0)
            band->pub.allowlist = TRUE;
          else if (strcmp (mode, "blocklist") != 0)
            add_problem (problems, path, line_of (lines, group, "mode"),
                         _ ("mode must be “blocklist” or “allowlist”, not “%s”"), mode);
        }
    }

  for (age = 0; age < TRELLIS_ADULT_AGE; age++)
    if (covered[age] == 0)
      {
        trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                              _ ("%s: no band holds age %u: the bands cover 0 to 17"), path, age);
        break;
      }
  g_ptr_array_sort (policy->bands, compare_bands);
}

int
trellis_policy_band_for_age (TrellisPolicy *policy,
                             guint age)
{
  guint i;

  for (i = 0; i < policy->bands->len; i++)
    {
      const TrellisAgeBandEntry *band = g_ptr_array_index (policy->bands, i);

      if (age >= band->pub.min_age && age <= band->pub.max_age)
        return i;
    }
  return -1;
}

const TrellisAgeBand *const *
trellis_policy_get_age_bands (TrellisPolicy *policy,
                              guint *ret_n)
{
  g_return_val_if_fail (policy != NULL, NULL);
  if (ret_n != NULL)
    *ret_n = policy->bands->len;
  /* TrellisAgeBandEntry starts with its TrellisAgeBand. */
  return (const TrellisAgeBand *const *) policy->bands->pdata;
}
