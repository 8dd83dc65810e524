/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lists-index.c — the category lists as the updater compiled them: a
 * domain index and its manifest, a key file that says what the index was
 * made from (the categories in bit order, each source's list and how it
 * was fetched, the information list and the shipped lists it was compiled
 * with) and binds the two (the index's own checksum and seed).
 *
 *   [lists]
 *   format = 1
 *   generation = 7
 *   compiled = 1767225600                  # unix seconds
 *   index = index/lists-7.idx              # beside the manifest
 *   index-checksum = 8f3e...               # the index header's checksum, hex
 *   index-size = 64000128
 *   seed = 8387236825053623073
 *   n-entries = 4600123
 *   categories = adult;gambling;malware;phishing
 *   shipped = <sha256 of the shipped domains files>
 *   information = <sha256 of the information list>
 *   information-overridden = 37           # category names on or below it
 *
 *   [category adult]
 *   names = 4600000                        # distinct names with its bit
 *
 *   [source ut1-adult]
 *   category = adult
 *   names-file = sources/ut1-adult.7.names
 *   names = 4599990
 *   fetched = 1767225600
 *   version = Sat, 17 Aug 2026 10:00:00 GMT
 *   etag = "5e-62..."
 *   last-modified = Sat, 17 Aug 2026 10:00:00 GMT
 *   sha256 = ...                           # of the download
 *
 * The updater (an unprivileged process) writes both; trellisd reads them as
 * input it does not trust: every number and name is checked, the index
 * file must be a plain file named as the updater names them, at most
 * TRELLIS_LISTS_INDEX_MAX bytes, and validated slot by slot before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "policy/policy-private.h"

#define GROUP        "lists"
#define MANIFEST_MAX (4 * 1024 * 1024)

/* clang-format off */  /* the quark's name is one word, with its dashes */
G_DEFINE_QUARK (trellis-lists-error-quark, trellis_lists_error)
/* clang-format on */

struct _TrellisListsIndex {
  gatomicrefcount ref_count;
  TrellisDomainIndex *index; /* (owned) */
  GKeyFile *manifest;        /* (owned) */
  char **categories;         /* (owned) ids in bit order */
  guint64 generation;
  gint64 compiled;
  guint64 index_checksum;
  char *index_file; /* (owned) as the manifest names it */
  guint information_overridden;
};

static gboolean
bad (GError **error,
     const char *path,
     const char *what)
{
  g_set_error (error, TRELLIS_LISTS_ERROR, TRELLIS_LISTS_ERROR_CORRUPT,
               "%s: %s", path, what);
  return FALSE;
}

static gboolean
get_uint (GKeyFile *key_file,
          const char *group,
          const char *key,
          guint64 max,
          guint64 *ret_value)
{
  g_autofree char *text = g_key_file_get_value (key_file, group, key, NULL);
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, max, &value, NULL))
    return FALSE;
  *ret_value = value;
  return TRUE;
}

gboolean
trellis_lists_index_file_is_valid (const char *name)
{
  /* index/lists-N.idx, nothing else: never a path out of the folder. */
  const char *p;

  if (!g_str_has_prefix (name, "index/lists-") || !g_str_has_suffix (name, ".idx"))
    return FALSE;
  p = name + strlen ("index/lists-");
  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    p++;
  return strcmp (p, ".idx") == 0 && p - name < 40;
}

TrellisListsIndex *
trellis_lists_index_open (const char *manifest_path,
                          const char *index_path,
                          GError **error)
{
  g_autoptr(TrellisListsIndex) lists = g_new0 (TrellisListsIndex, 1);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *checksum_text = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint64 format = 0, size = 0, seed = 0, entries = 0, overridden = 0, generation = 0, compiled = 0;
  gsize length;
  struct stat st;
  int fd;

  g_return_val_if_fail (manifest_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_atomic_ref_count_init (&lists->ref_count);
  if (!g_file_get_contents (manifest_path, &contents, &length, &local_error))
    {
      g_set_error (error, TRELLIS_LISTS_ERROR, TRELLIS_LISTS_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  if (length > MANIFEST_MAX)
    {
      bad (error, manifest_path, "the manifest is too large");
      return NULL;
    }
  lists->manifest = g_key_file_new ();
  if (!g_key_file_load_from_data (lists->manifest, contents, length, G_KEY_FILE_NONE, &local_error))
    {
      bad (error, manifest_path, local_error->message);
      return NULL;
    }
  if (!get_uint (lists->manifest, GROUP, "format", G_MAXUINT32, &format) || format != TRELLIS_LISTS_FORMAT)
    {
      bad (error, manifest_path, "not a manifest of this format");
      return NULL;
    }
  lists->index_file = g_key_file_get_value (lists->manifest, GROUP, "index", NULL);
  checksum_text = g_key_file_get_value (lists->manifest, GROUP, "index-checksum", NULL);
  lists->categories = g_key_file_get_string_list (lists->manifest, GROUP, "categories", NULL, NULL);
  if (lists->index_file == NULL || !trellis_lists_index_file_is_valid (lists->index_file)
      || checksum_text == NULL
      || !g_ascii_string_to_unsigned (checksum_text, 16, 0, G_MAXUINT64, &lists->index_checksum, NULL)
      || !get_uint (lists->manifest, GROUP, "index-size", TRELLIS_LISTS_INDEX_MAX, &size)
      || !get_uint (lists->manifest, GROUP, "seed", G_MAXUINT64, &seed)
      || !get_uint (lists->manifest, GROUP, "n-entries", G_MAXUINT32, &entries)
      || !get_uint (lists->manifest, GROUP, "generation", G_MAXUINT64, &generation)
      || !get_uint (lists->manifest, GROUP, "compiled", G_MAXINT64, &compiled)
      || !get_uint (lists->manifest, GROUP, "information-overridden", G_MAXUINT32, &overridden)
      || lists->categories == NULL || g_strv_length (lists->categories) > TRELLIS_MAX_CATEGORIES)
    {
      bad (error, manifest_path, "a key of [lists] is missing or wrong");
      return NULL;
    }
  lists->generation = generation;
  lists->compiled = (gint64) compiled;
  lists->information_overridden = overridden;

  if (index_path == NULL)
    {
      dir = g_path_get_dirname (manifest_path);
      path = g_build_filename (dir, lists->index_file, NULL);
      index_path = path;
    }
  /* A plain file, not a link somewhere else, of the size the manifest says. */
  fd = open (index_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, TRELLIS_LISTS_ERROR, TRELLIS_LISTS_ERROR_IO,
                   "%s: %s", index_path, g_strerror (saved_errno));
      return NULL;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size != size)
    {
      close (fd);
      bad (error, index_path, "not a plain file of the size its manifest says");
      return NULL;
    }
  mapped = g_mapped_file_new_from_fd (fd, FALSE, &local_error);
  close (fd);
  if (mapped == NULL)
    {
      g_set_error (error, TRELLIS_LISTS_ERROR, TRELLIS_LISTS_ERROR_IO, "%s: %s", index_path,
                   local_error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  lists->index = trellis_domain_index_new_from_bytes (bytes, &local_error);
  if (lists->index == NULL)
    {
      bad (error, index_path, local_error->message);
      return NULL;
    }
  /* The manifest describes this index and no other. */
  if (trellis_domain_index_get_checksum (lists->index) != lists->index_checksum
      || trellis_domain_index_get_seed (lists->index) != seed
      || trellis_domain_index_get_n_entries (lists->index) != entries)
    {
      bad (error, index_path, "the index is not the one its manifest describes");
      return NULL;
    }
  return g_steal_pointer (&lists);
}

TrellisListsIndex *
trellis_lists_index_ref (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, NULL);
  g_atomic_ref_count_inc (&lists->ref_count);
  return lists;
}

void
trellis_lists_index_unref (TrellisListsIndex *lists)
{
  if (lists == NULL || !g_atomic_ref_count_dec (&lists->ref_count))
    return;
  g_clear_pointer (&lists->index, trellis_domain_index_unref);
  g_clear_pointer (&lists->manifest, g_key_file_unref);
  g_strfreev (lists->categories);
  g_free (lists->index_file);
  g_free (lists);
}

TrellisDomainIndex *
trellis_lists_index_get_index (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, NULL);
  return lists->index;
}

GKeyFile *
trellis_lists_index_get_manifest (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, NULL);
  return lists->manifest;
}

guint64
trellis_lists_index_get_generation (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, 0);
  return lists->generation;
}

gint64
trellis_lists_index_get_compiled (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, 0);
  return lists->compiled;
}

const char *
trellis_lists_index_get_index_file (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, NULL);
  return lists->index_file;
}

guint64
trellis_lists_index_get_index_checksum (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, 0);
  return lists->index_checksum;
}

const char *const *
trellis_lists_index_get_categories (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, NULL);
  return (const char *const *) lists->categories;
}

gboolean
trellis_lists_index_get_source_lines (TrellisListsIndex *lists,
                                      const char *id,
                                      guint64 *ret_lines,
                                      char **ret_refused)
{
  g_autofree char *group = NULL;
  guint64 lines = 0;

  g_return_val_if_fail (lists != NULL && id != NULL, FALSE);
  group = g_strconcat ("source ", id, NULL);
  if (!g_key_file_has_group (lists->manifest, group))
    return FALSE;
  get_uint (lists->manifest, group, "lines", G_MAXUINT64, &lines);
  if (ret_lines != NULL)
    *ret_lines = lines;
  if (ret_refused != NULL)
    *ret_refused = g_key_file_get_value (lists->manifest, group, "refused", NULL);
  return TRUE;
}

gboolean
trellis_lists_index_get_source (TrellisListsIndex *lists,
                                const char *id,
                                guint *ret_names,
                                gint64 *ret_fetched,
                                char **ret_version)
{
  g_autofree char *group = NULL;
  guint64 names = 0, fetched = 0;

  g_return_val_if_fail (lists != NULL && id != NULL, FALSE);
  group = g_strconcat ("source ", id, NULL);
  if (!g_key_file_has_group (lists->manifest, group)
      || !get_uint (lists->manifest, group, "names", G_MAXUINT32, &names))
    return FALSE;
  get_uint (lists->manifest, group, "fetched", G_MAXINT64, &fetched);
  if (ret_names != NULL)
    *ret_names = (guint) names;
  if (ret_fetched != NULL)
    *ret_fetched = (gint64) fetched;
  if (ret_version != NULL)
    *ret_version = g_key_file_get_value (lists->manifest, group, "version", NULL);
  return TRUE;
}

/* Whether @lists was compiled for @policy's categories, in the same bit
 * order: otherwise its bits mean other categories. */
gboolean
trellis_lists_index_fits (TrellisListsIndex *lists,
                          TrellisPolicy *policy,
                          GError **error)
{
  guint n = g_strv_length (lists->categories);

  if (n != policy->categories->len)
    goto differ;
  for (guint i = 0; i < n; i++)
    {
      const TrellisCategoryEntry *entry = g_ptr_array_index (policy->categories, i);

      if (strcmp (entry->pub.id, lists->categories[i]) != 0)
        goto differ;
    }
  return TRUE;

differ:
  {
    g_autofree char *have = g_strjoinv (";", lists->categories);

    g_set_error (error, TRELLIS_LISTS_ERROR, TRELLIS_LISTS_ERROR_STALE,
                 "the lists were compiled for the categories %s, not these", have);
  }
  return FALSE;
}

/* The category counts of the manifest, into @policy's categories. */
void
trellis_lists_index_apply_counts (TrellisListsIndex *lists,
                                  TrellisPolicy *policy)
{
  for (guint i = 0; i < policy->categories->len; i++)
    {
      TrellisCategoryEntry *entry = g_ptr_array_index (policy->categories, i);
      g_autofree char *group = g_strconcat ("category ", entry->pub.id, NULL);
      guint64 names = 0;

      if (get_uint (lists->manifest, group, "names", G_MAXUINT32, &names))
        entry->pub.n_domains = (guint) names;
    }
}

guint
trellis_lists_index_get_information_overridden (TrellisListsIndex *lists)
{
  g_return_val_if_fail (lists != NULL, 0);
  return lists->information_overridden;
}

/* ------------------------------------------------------------------------ */
/* Writing (the updater) */

GKeyFile *
trellis_lists_manifest_new (guint64 generation,
                            gint64 compiled,
                            const char *index_file,
                            GBytes *image,
                            const char *const *categories,
                            const char *shipped_digest,
                            const char *information_digest,
                            guint information_overridden)
{
  GKeyFile *manifest;
  g_autofree char *checksum = NULL;
  guint64 seed = 0, sum = 0;
  guint32 entries = 0;

  if (!trellis_domain_index_image_peek (image, &seed, &entries, &sum))
    return NULL;
  manifest = g_key_file_new ();
  checksum = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", sum);

  g_key_file_set_uint64 (manifest, GROUP, "format", TRELLIS_LISTS_FORMAT);
  g_key_file_set_uint64 (manifest, GROUP, "generation", generation);
  g_key_file_set_int64 (manifest, GROUP, "compiled", compiled);
  g_key_file_set_string (manifest, GROUP, "index", index_file);
  g_key_file_set_string (manifest, GROUP, "index-checksum", checksum);
  g_key_file_set_uint64 (manifest, GROUP, "index-size", g_bytes_get_size (image));
  g_key_file_set_uint64 (manifest, GROUP, "seed", seed);
  g_key_file_set_uint64 (manifest, GROUP, "n-entries", entries);
  g_key_file_set_string_list (manifest, GROUP, "categories", categories, g_strv_length ((char **) categories));
  g_key_file_set_string (manifest, GROUP, "shipped", shipped_digest);
  g_key_file_set_string (manifest, GROUP, "information", information_digest);
  g_key_file_set_uint64 (manifest, GROUP, "information-overridden", information_overridden);
  return manifest;
}

gboolean
trellis_lists_manifest_write (GKeyFile *manifest,
                              const char *path,
                              GError **error)
{
  g_autofree char *data = g_key_file_to_data (manifest, NULL, NULL);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = g_strconcat ("# Written by the Trellis list updater: what the index beside it was compiled from.\n",
                                       data, NULL);

  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, TRELLIS_LISTS_ERROR, TRELLIS_LISTS_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}
