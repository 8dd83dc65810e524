/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * shipped-data.c — the data that ships with Trellis, read from the data
 * folder before the household file: the helplines ("DOMAIN | COUNTRY |
 * NAME | CONTACT" lines), the categories (categories.c), the age bands
 * (age-bands.c), the curated allow list of allow-list mode (one domain a
 * line), the information list (information/: every file, one domain a
 * line; category lists cannot block these names), the search engines' safe
 * modes (safe-search.c) and the DNS-over-HTTPS endpoints (doh/: every file
 * of the folder, one endpoint a line, "NAME [ADDRESS...]" or "ADDRESS").
 *
 * Its problems come after the household file's, as they were found.  A
 * missing helplines file is an error: helplines must never be missing.
 */
#include <arpa/inet.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"

/* Returns: FALSE when the file cannot be read. */
static gboolean
load_helplines (TrellisPolicy *policy,
                const char *data_dir,
                TrellisProblems *problems)
{
  g_autofree char *path = g_build_filename (data_dir, "helplines", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) lines = NULL;
  guint i;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, 0, 0,
                            _ ("cannot read the helplines: %s"), local_error->message);
      return FALSE;
    }

  lines = g_strsplit (contents, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      g_auto(GStrv) fields = NULL;
      g_autofree char *domain = NULL;
      TrellisDomainProblem problem;
      TrellisHelpline helpline = { 0 };
      guint n, f, existing;

      if (*line == '\0' || *line == '#')
        continue;
      fields = g_strsplit (line, "|", -1);
      n = g_strv_length (fields);
      for (f = 0; f < n; f++)
        g_strstrip (fields[f]);
      if (n < 3 || n > 4 || *fields[2] == '\0'
          || !((strlen (fields[1]) == 2 && g_ascii_isupper (fields[1][0]) && g_ascii_isupper (fields[1][1]))
               || strcmp (fields[1], "INT") == 0))
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i + 1, 1,
                                _ ("write DOMAIN | COUNTRY | NAME | CONTACT, with a two-letter COUNTRY or INT"));
          continue;
        }
      problem = trellis_domain_check (fields[0], &domain);
      if (problem != TRELLIS_DOMAIN_OK)
        {
          g_autofree char *why = trellis_domain_problem_describe (fields[0], problem);

          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i + 1, 1, "%s", why);
          continue;
        }
      if (!trellis_matcher_insert (policy->helpline_matcher, domain, policy->rules->len, &existing))
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i + 1, 1,
                                _ ("%s is listed twice"), domain);
          continue;
        }
      trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_HELPLINE, domain, NULL, NULL, NULL, NULL, 0);
      helpline.domain = g_string_chunk_insert_const (policy->strings, domain);
      helpline.country = g_string_chunk_insert_const (policy->strings, fields[1]);
      helpline.name = g_string_chunk_insert_const (policy->strings, fields[2]);
      helpline.contact = n == 4 && *fields[3] != '\0'
                           ? g_string_chunk_insert_const (policy->strings, fields[3])
                           : NULL;
      g_array_append_val (policy->helplines, helpline);
    }
  return TRUE;
}

/* The curated list of allow-list mode: one domain per line, "#" comments.
 * Returns: FALSE when the file cannot be read. */
static gboolean
load_allowlist (TrellisPolicy *policy,
                const char *path,
                TrellisProblems *problems)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  guint i = 0;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, 0, 0,
                            _ ("cannot read the allow list: %s"), local_error->message);
      return FALSE;
    }
  for (char *cursor = contents, *line; (line = trellis_data_line_next (&cursor, &i)) != NULL;)
    {
      g_autofree char *domain = NULL;
      TrellisDomainProblem problem = trellis_domain_check (line, &domain);

      if (problem != TRELLIS_DOMAIN_OK)
        {
          g_autofree char *why = trellis_domain_problem_describe (line, problem);

          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i, 1, "%s", why);
          continue;
        }
      if (trellis_matcher_insert (policy->allowlist_matcher, domain, policy->rules->len, NULL))
        trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_ALLOW, domain, NULL, NULL, NULL, path, i);
    }
  return TRUE;
}

static int
addr4_cmp (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, 4);
}

static int
addr6_cmp (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, 16);
}

/* Sorts the packed addresses of @a (@len bytes each) and drops repeats. */
static void
addresses_sort_unique (GByteArray *a, gsize len)
{
  gsize n = a->len / len, k = 0;

  if (n == 0)
    return;
  qsort (a->data, n, len, len == 4 ? addr4_cmp : addr6_cmp);
  for (gsize i = 0; i < n; i++)
    if (k == 0 || memcmp (a->data + (k - 1) * len, a->data + i * len, len) != 0)
      memmove (a->data + k++ * len, a->data + i * len, len);
  g_byte_array_set_size (a, (guint) (k * len));
}

/* TRUE when @text is an IPv4 or IPv6 address, added to the DoH addresses. */
static gboolean
doh_address_add (TrellisPolicy *policy, const char *text)
{
  guint8 addr[16];

  if (inet_pton (AF_INET, text, addr) == 1)
    {
      g_byte_array_append (policy->doh_v4, addr, 4);
      return TRUE;
    }
  if (inet_pton (AF_INET6, text, addr) == 1)
    {
      g_byte_array_append (policy->doh_v6, addr, 16);
      return TRUE;
    }
  return FALSE;
}

/* One file of doh/.  A name several lists carry is kept once. */
static void
load_doh_file (TrellisPolicy *policy,
               const char *path,
               TrellisProblems *problems)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  guint i = 0;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, 0, 0,
                            _ ("cannot read the DNS-over-HTTPS endpoints: %s"), local_error->message);
      return;
    }
  for (char *cursor = contents, *line; (line = trellis_data_line_next (&cursor, &i)) != NULL;)
    {
      g_auto(GStrv) fields = g_strsplit_set (line, " \t", -1);
      g_autofree char *domain = NULL;
      TrellisDomainProblem problem;
      guint f = 0;

      while (fields[f] != NULL && *fields[f] == '\0')
        f++;
      if (fields[f] == NULL)
        continue;
      if (doh_address_add (policy, fields[f]))
        {
          if (fields[f + 1] != NULL && *fields[f + 1] != '\0')
            trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i, 1,
                                  _ ("write an address alone on its line, or after the name it belongs to"));
          continue;
        }
      problem = trellis_domain_check (fields[f], &domain);
      if (problem != TRELLIS_DOMAIN_OK)
        {
          g_autofree char *why = trellis_domain_problem_describe (fields[f], problem);

          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i, 1, "%s", why);
          continue;
        }
      for (guint a = f + 1; fields[a] != NULL; a++)
        if (*fields[a] != '\0' && !doh_address_add (policy, fields[a]))
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i, 1,
                                _ ("“%s” is not an IPv4 or IPv6 address"), fields[a]);
      if (!trellis_matcher_insert (policy->integrity_matcher, domain, policy->rules->len, NULL))
        continue;
      trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_INTEGRITY, domain, NULL, NULL, NULL, path, i);
      g_ptr_array_insert (policy->doh_names, (gint) policy->doh_names->len - 1,
                          g_string_chunk_insert_const (policy->strings, domain));
    }
}

static int
name_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The information list: every file of @dir but dot files, *.md and *~,
 * sorted by name, one domain a line.  Each name gets an INFORMATION rule that
 * points at its file and line.  The folder is optional data: without it,
 * nothing is kept open against the category lists (policy check says so). */
static void
load_information (TrellisPolicy *policy,
                  const char *dir,
                  TrellisProblems *problems)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  const char *file;

  if (d == NULL)
    return;
  policy->has_information = TRUE;
  while ((file = g_dir_read_name (d)) != NULL)
    if (file[0] != '.' && !g_str_has_suffix (file, ".md") && !g_str_has_suffix (file, "~"))
      g_ptr_array_add (files, g_strdup (file));
  g_ptr_array_sort (files, name_cmp);

  for (guint f = 0; f < files->len; f++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (files, f), NULL);
      g_autofree char *contents = NULL;
      g_autoptr(GError) local_error = NULL;
      guint i = 0;

      if (!g_file_get_contents (path, &contents, NULL, &local_error))
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, 0, 0,
                                _ ("cannot read the information list: %s"), local_error->message);
          continue;
        }
      for (char *cursor = contents, *line; (line = trellis_data_line_next (&cursor, &i)) != NULL;)
        {
          g_autofree char *domain = NULL;
          TrellisDomainProblem problem = trellis_domain_check (line, &domain);

          if (problem != TRELLIS_DOMAIN_OK)
            {
              g_autofree char *why = trellis_domain_problem_describe (line, problem);

              trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, i, 1, "%s", why);
              continue;
            }
          if (trellis_matcher_insert (policy->information_matcher, domain, policy->rules->len, NULL))
            {
              trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_INFORMATION, domain, NULL, NULL,
                                       NULL, path, i);
              /* NULL-terminated: the last element is replaced. */
              g_ptr_array_index (policy->information, policy->information->len - 1) =
                (gpointer) g_string_chunk_insert_const (policy->strings, domain);
              g_ptr_array_add (policy->information, NULL);
              policy->n_information++;
            }
        }
    }
}

/* The DNS-over-HTTPS endpoints: every file of @dir but its notes (*.md),
 * in name order.  The folder is optional. */
static void
load_doh (TrellisPolicy *policy,
          const char *dir,
          TrellisProblems *problems)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.' && !g_str_has_suffix (name, ".md") && !g_str_has_suffix (name, "~"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, name_cmp);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        load_doh_file (policy, path, problems);
    }
  addresses_sort_unique (policy->doh_v4, 4);
  addresses_sort_unique (policy->doh_v6, 16);
}

gboolean
trellis_shipped_data_load (TrellisPolicy *policy,
                           const char *data_dir,
                           TrellisProblems *problems)
{
  g_autofree char *categories = g_build_filename (data_dir, "categories", NULL);
  g_autofree char *age_bands = g_build_filename (data_dir, "age-bands", NULL);
  g_autofree char *allowlist = g_build_filename (data_dir, "allowlist", NULL);
  g_autofree char *safe_search = g_build_filename (data_dir, "safe-search", NULL);
  g_autofree char *information = g_build_filename (data_dir, "information", NULL);
  g_autofree char *doh = g_build_filename (data_dir, "doh", NULL);
  gboolean ok = TRUE;
  guint n_errors;

  if (!load_helplines (policy, data_dir, problems))
    ok = FALSE;

  /* Any problem of the categories or the age bands makes the data unusable. */
  n_errors = trellis_problems_get_n_errors (problems);
  trellis_categories_load (policy, categories, problems);
  trellis_age_bands_load (policy, age_bands, problems);
  if (trellis_problems_get_n_errors (problems) > n_errors)
    ok = FALSE;

  if (!load_allowlist (policy, allowlist, problems))
    ok = FALSE;
  load_information (policy, information, problems);

  load_doh (policy, doh, problems);

  /* The safe-search table is optional data: without it, safe search is
   * not enforced (trellis policy check says so). */
  if (g_file_test (safe_search, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GError) local_error = NULL;

      policy->safe_search = trellis_safe_search_load (safe_search, &local_error);
      if (policy->safe_search == NULL)
        trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, NULL, 0, 0, "%s", local_error->message);
    }
  return ok;
}
