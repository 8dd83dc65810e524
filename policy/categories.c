/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * categories.c — the category folders: categories/ID/ holds domains (and
 * domains.* files imported at build time), an optional cidrs file and
 * category.desktop (Name, Description, one Explanation-BAND per age band,
 * translated by msgfmt --desktop) and an optional sources file (the
 * published lists the updater fetches for it, list-sources.c).  Every name goes into the domain index
 * builder with the category's bit.  Problems go to the household's list
 * (problems.c), with the place written by the message itself where a
 * translation punctuates it.
 */
#include <errno.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"

#define GROUP "Trellis Category"

void
trellis_category_entry_free (gpointer data)
{
  TrellisCategoryEntry *entry = data;

  if (entry == NULL)
    return;
  g_clear_pointer (&entry->desktop, g_key_file_unref);
  g_strfreev (entry->cidrs);
  g_free (entry);
}

static gboolean
category_id_is_valid (const char *id)
{
  const char *p;

  if (*id == '\0' || !g_ascii_islower (*id))
    return FALSE;
  for (p = id; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The sorted names of @dir's entries; NULL with @error when unreadable. */
static GPtrArray *
list_dir (const char *dir,
          GError **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) names = NULL;
  const char *name;

  if (d == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

/* A NUL byte in a list would end it there, silently: the names after it
 * would be lost.  Returns: the line it is on, or 0 when there is none. */
static guint
nul_line (const char *contents,
          gsize length)
{
  const char *nul = memchr (contents, '\0', length);
  guint line = 1;

  if (nul == NULL)
    return 0;
  for (const char *p = contents; p < nul; p++)
    line += *p == '\n';
  return line;
}

/* @line as a message may quote it: valid UTF-8, and no control character
 * (a list comes from a publisher, and its problems reach a terminal). */
static char *
line_shown (const char *line)
{
  g_autofree char *valid = g_utf8_make_valid (line, -1);
  GString *shown = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        g_string_append (shown, "\xef\xbf\xbd"); /* U+FFFD */
      else
        g_string_append_c (shown, *p);
    }
  return g_string_free (shown, FALSE);
}

gboolean
trellis_cidr_is_valid (const char *text)
{
  const char *slash = strchr (text, '/');
  g_autoptr(GInetAddressMask) mask = NULL;

  if (slash != NULL)
    {
      const char *p = slash + 1;
      guint64 length;

      if (*p == '\0' || strlen (p) > 3 || !g_ascii_string_to_unsigned (p, 10, 0, 128, &length, NULL))
        return FALSE;
    }
  mask = g_inet_address_mask_new_from_string (text, NULL);
  return mask != NULL;
}

/* Each name of @contents to @func; problems to @problems.  Returns: how many
 * @func took. */
static guint
domain_list_foreach (char *contents,
                     gsize length,
                     const char *path,
                     guint bit,
                     TrellisShippedNameFunc func,
                     gpointer user_data,
                     TrellisProblems *problems)
{
  g_autoptr(GError) local_error = NULL;
  guint i = 0, n = 0, nul = nul_line (contents, length);

  if (nul != 0)
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                            _ ("%s:%u:1: a NUL byte: this is not a text file"), path, nul);
      return 0;
    }
  for (char *cursor = contents, *line; (line = trellis_data_line_next (&cursor, &i)) != NULL;)
    {
      g_autofree char *domain = NULL;

      if (trellis_domain_check (line, &domain) != TRELLIS_DOMAIN_OK)
        {
          g_autofree char *shown = line_shown (line);

          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                                _ ("%s:%u:1: “%s” is not a domain name"), path, i, shown);
          continue;
        }
      if (!func (bit, domain, user_data, &local_error))
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i, 1, "%s", local_error->message);
          g_clear_error (&local_error);
          continue;
        }
      n++;
    }
  return n;
}

static gboolean
add_to_builder (guint bit,
                const char *name,
                gpointer user_data,
                GError **error)
{
  return trellis_domain_index_builder_add (user_data, name, 1u << bit, 0, error);
}

guint
trellis_domain_list_read (char *contents,
                          gsize length,
                          const char *path,
                          guint32 bit,
                          TrellisDomainIndexBuilder *builder,
                          TrellisProblems *problems)
{
  return domain_list_foreach (contents, length, path, bit, add_to_builder, builder, problems);
}

/* Each name of the file @path to @func.  Returns: how many @func took. */
static guint
read_domains (const char *path,
              guint bit,
              TrellisShippedNameFunc func,
              gpointer user_data,
              TrellisProblems *problems)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, 0, 0, "%s", local_error->message);
      return 0;
    }
  return domain_list_foreach (contents, length, path, bit, func, user_data, problems);
}

char **
trellis_cidr_list_read (char *contents,
                        gsize length,
                        const char *path,
                        TrellisProblems *problems)
{
  g_autoptr(GPtrArray) cidrs = g_ptr_array_new_with_free_func (g_free);
  guint i = 0, nul = nul_line (contents, length);

  if (nul != 0)
    trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                          _ ("%s:%u:1: a NUL byte: this is not a text file"), path, nul);
  for (char *cursor = nul != 0 ? NULL : contents, *line;
       (line = trellis_data_line_next (&cursor, &i)) != NULL;)
    {
      if (!trellis_cidr_is_valid (line))
        {
          g_autofree char *shown = line_shown (line);

          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                                _ ("%s:%u:1: “%s” is not an address or a CIDR like 192.0.2.0/24"), path, i, shown);
        }
      else
        g_ptr_array_add (cidrs, g_strdup (line));
    }
  g_ptr_array_add (cidrs, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&cidrs), FALSE);
}

static char **
read_cidrs (const char *path,
            TrellisProblems *problems)
{
  g_autofree char *contents = NULL;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return NULL; /* optional */
  return trellis_cidr_list_read (contents, length, path, problems);
}

void
trellis_categories_load_domains (TrellisPolicy *policy,
                                 const char *dir,
                                 TrellisDomainIndexBuilder *builder,
                                 TrellisProblems *problems)
{
  trellis_categories_foreach_domain (policy, dir, add_to_builder, builder, problems);
}

void
trellis_categories_foreach_domain (TrellisPolicy *policy,
                                   const char *dir,
                                   TrellisShippedNameFunc func,
                                   gpointer user_data,
                                   TrellisProblems *problems)
{
  for (guint i = 0; i < policy->categories->len; i++)
    {
      TrellisCategoryEntry *entry = g_ptr_array_index (policy->categories, i);
      g_autofree char *folder = g_build_filename (dir, entry->pub.id, NULL);
      g_autoptr(GPtrArray) files = list_dir (folder, NULL);

      for (guint j = 0; files != NULL && j < files->len; j++)
        {
          const char *file = g_ptr_array_index (files, j);

          if (strcmp (file, "domains") == 0 || g_str_has_prefix (file, "domains."))
            {
              g_autofree char *path = g_build_filename (folder, file, NULL);

              entry->pub.n_domains += read_domains (path, entry->pub.bit, func, user_data, problems);
            }
        }
    }
}

void
trellis_categories_load (TrellisPolicy *policy,
                         const char *dir,
                         TrellisProblems *problems)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) ids = list_dir (dir, &local_error);
  guint i;

  if (ids == NULL)
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                            _ ("%s: cannot read the categories: %s"), dir, local_error->message);
      return;
    }

  for (i = 0; i < ids->len; i++)
    {
      const char *id = g_ptr_array_index (ids, i);
      g_autofree char *folder = g_build_filename (dir, id, NULL);
      g_autofree char *desktop_path = NULL;
      g_autofree char *cidrs_path = NULL;
      TrellisCategoryEntry *entry;
      g_autofree char *name = NULL;
      g_autofree char *description = NULL;

      if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
        continue; /* SOURCES.md and the like */
      if (!category_id_is_valid (id))
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                                _ ("%s: a category's folder is named in lower-case letters, digits and “-”"), folder);
          continue;
        }
      if (policy->categories->len >= TRELLIS_MAX_CATEGORIES)
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                                _ ("%s: there are more than %u categories"), folder, TRELLIS_MAX_CATEGORIES);
          break;
        }

      entry = g_new0 (TrellisCategoryEntry, 1);
      entry->pub.id = g_string_chunk_insert_const (policy->strings, id);
      entry->pub.bit = policy->categories->len;
      entry->desktop = g_key_file_new ();
      g_ptr_array_add (policy->categories, entry);

      desktop_path = g_build_filename (folder, "category.desktop", NULL);
      if (!g_key_file_load_from_file (entry->desktop, desktop_path, G_KEY_FILE_KEEP_TRANSLATIONS,
                                      &local_error)
          || !g_key_file_has_key (entry->desktop, GROUP, "Name", NULL))
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0,
                                _ ("%s: cannot read the category: %s"), desktop_path, local_error != NULL ? local_error->message : _ ("it has no [Trellis Category] Name="));
          g_clear_error (&local_error);
          continue;
        }
      name = g_key_file_get_locale_string (entry->desktop, GROUP, "Name", NULL, NULL);
      description = g_key_file_get_locale_string (entry->desktop, GROUP, "Description", NULL, NULL);
      entry->pub.name = g_string_chunk_insert_const (policy->strings, name);
      entry->pub.description = g_string_chunk_insert_const (policy->strings,
                                                            description != NULL ? description : "");

      cidrs_path = g_build_filename (folder, "cidrs", NULL);
      entry->cidrs = read_cidrs (cidrs_path, problems);

      {
        g_autofree char *sources_path = g_build_filename (folder, "sources", NULL);

        trellis_list_sources_load_shipped (policy, sources_path, entry->pub.id, problems);
      }
    }
}

const TrellisCategoryEntry *
trellis_policy_find_category (TrellisPolicy *policy,
                              const char *id)
{
  guint i;

  if (id == NULL)
    return NULL;
  for (i = 0; i < policy->categories->len; i++)
    {
      const TrellisCategoryEntry *entry = g_ptr_array_index (policy->categories, i);

      if (strcmp (entry->pub.id, id) == 0)
        return entry;
    }
  return NULL;
}

const TrellisCategory *const *
trellis_policy_get_categories (TrellisPolicy *policy,
                               guint *ret_n)
{
  g_return_val_if_fail (policy != NULL, NULL);
  if (ret_n != NULL)
    *ret_n = policy->categories->len;
  /* TrellisCategoryEntry starts with its TrellisCategory. */
  return (const TrellisCategory *const *) policy->categories->pdata;
}

gboolean
trellis_policy_foreach_shipped_name (TrellisPolicy *policy,
                                     const char *data_dir,
                                     TrellisShippedNameFunc func,
                                     gpointer user_data,
                                     GError **error)
{
  g_autoptr(TrellisProblems) problems = trellis_problems_new ();
  g_autofree char *dir = g_build_filename (data_dir != NULL ? data_dir : TRELLIS_DATADIR,
                                           "categories", NULL);

  g_return_val_if_fail (policy != NULL && func != NULL, FALSE);

  for (guint i = 0; i < policy->categories->len; i++)
    ((TrellisCategoryEntry *) g_ptr_array_index (policy->categories, i))->pub.n_domains = 0;
  trellis_categories_foreach_domain (policy, dir, func, user_data, problems);
  if (trellis_problems_get_n_errors (problems) > 0)
    {
      trellis_problems_set_error (problems, TRELLIS_POLICY_ERROR_IO, error);
      return FALSE;
    }
  return TRUE;
}
