/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * name-set.c — the names of one list, sorted, in memory and on disk (see
 * name-set.h).  Published lists mostly come sorted (UT1's do): the set
 * notices, and sorts only when they did not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "lists/name-set.h"

struct _TrellisNameSet {
  GByteArray *bytes; /* (owned) names, each NUL-terminated, back to back */
  GArray *offsets;   /* (owned) guint32: where each name starts (a list unpacks to less
                          * than 4 GiB: the updater's cap is lower) */
  guint64 n_added;
  gboolean sorted;  /* every name came after the one before */
  gboolean repeats; /* some name came twice in a row */
};

int
trellis_names_compare (const char *a,
                       gsize a_len,
                       const char *b,
                       gsize b_len)
{
  int c = memcmp (a, b, MIN (a_len, b_len));

  if (c != 0)
    return c;
  return a_len < b_len ? -1 : a_len > b_len;
}

TrellisNameSet *
trellis_name_set_new (void)
{
  TrellisNameSet *set = g_new0 (TrellisNameSet, 1);

  set->bytes = g_byte_array_new ();
  set->offsets = g_array_new (FALSE, FALSE, sizeof (guint32));
  set->sorted = TRUE;
  return set;
}

void
trellis_name_set_free (TrellisNameSet *set)
{
  if (set == NULL)
    return;
  g_byte_array_unref (set->bytes);
  g_array_unref (set->offsets);
  g_free (set);
}

void
trellis_name_set_add (TrellisNameSet *set,
                      const char *name,
                      gsize len)
{
  guint32 offset = set->bytes->len;

  if (set->sorted && set->offsets->len > 0)
    {
      const char *last = (const char *) set->bytes->data
                         + g_array_index (set->offsets, guint32, set->offsets->len - 1);
      int c = trellis_names_compare (last, strlen (last), name, len);

      if (c > 0)
        set->sorted = FALSE;
      else if (c == 0)
        {
          set->n_added++;
          return; /* the same name again, right after itself */
        }
    }
  g_byte_array_append (set->bytes, (const guint8 *) name, len);
  g_byte_array_append (set->bytes, (const guint8 *) "", 1);
  g_array_append_val (set->offsets, offset);
  set->n_added++;
}

guint64
trellis_name_set_get_n_added (const TrellisNameSet *set)
{
  return set->n_added;
}

static int
compare_offsets (const void *a,
                 const void *b,
                 void *base)
{
  return strcmp ((const char *) base + *(const guint32 *) a,
                 (const char *) base + *(const guint32 *) b);
}

guint
trellis_name_set_finish (TrellisNameSet *set)
{
  guint32 *offsets = (guint32 *) (gpointer) set->offsets->data;
  const char *base = (const char *) set->bytes->data;
  guint n = set->offsets->len, kept = 0;

  if (!set->sorted)
    {
      qsort_r (offsets, n, sizeof (guint32), compare_offsets, (void *) base);
      for (guint i = 0; i < n; i++)
        if (kept == 0 || strcmp (base + offsets[kept - 1], base + offsets[i]) != 0)
          offsets[kept++] = offsets[i];
      g_array_set_size (set->offsets, kept);
      set->sorted = TRUE;
    }
  return set->offsets->len;
}

gboolean
trellis_name_set_write (TrellisNameSet *set,
                        const char *path,
                        GError **error)
{
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (tmp);
  g_autoptr(GFileOutputStream) stream = NULL;
  const char *base = (const char *) set->bytes->data;
  g_autoptr(GString) block = g_string_sized_new (256 * 1024);

  g_return_val_if_fail (set->sorted, FALSE);

  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL, error);
  if (stream == NULL)
    return FALSE;
  out = g_buffered_output_stream_new_sized (G_OUTPUT_STREAM (stream), 1024 * 1024);
  for (guint i = 0; i < set->offsets->len; i++)
    {
      const char *name = base + g_array_index (set->offsets, guint32, i);

      g_string_append (block, name);
      g_string_append_c (block, '\n');
      if (block->len >= 200 * 1024)
        {
          if (!g_output_stream_write_all (out, block->str, block->len, NULL, NULL, error))
            return FALSE;
          g_string_truncate (block, 0);
        }
    }
  if (!g_output_stream_write_all (out, block->str, block->len, NULL, NULL, error)
      || !g_output_stream_close (out, NULL, error))
    return FALSE;
  if (g_rename (tmp, path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "%s: %s", path, g_strerror (saved_errno));
      (void) g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */

struct _TrellisNamesFile {
  GMappedFile *mapped; /* (owned) (nullable) NULL for an empty file */
  const char *data;
  gsize len;
};

TrellisNamesFile *
trellis_names_file_open (const char *path,
                         GError **error)
{
  g_autoptr(GError) local_error = NULL;
  TrellisNamesFile *file = g_new0 (TrellisNamesFile, 1);

  file->mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (file->mapped == NULL)
    {
      g_free (file);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", local_error->message);
      return NULL;
    }
  file->data = g_mapped_file_get_contents (file->mapped);
  file->len = g_mapped_file_get_length (file->mapped);
  if (file->data == NULL)
    file->len = 0;
  return file;
}

void
trellis_names_file_free (TrellisNamesFile *file)
{
  if (file == NULL)
    return;
  g_clear_pointer (&file->mapped, g_mapped_file_unref);
  g_free (file);
}

gboolean
trellis_names_file_contains (const TrellisNamesFile *file,
                             const char *name,
                             gsize len)
{
  gsize lo = 0, hi;

  if (file == NULL || file->len == 0)
    return FALSE;
  hi = file->len;
  /* [lo, hi) holds whole lines; lo is a line's start. */
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2, start, end;
      int c;

      start = mid;
      while (start > lo && file->data[start - 1] != '\n')
        start--;
      end = start;
      while (end < hi && file->data[end] != '\n')
        end++;
      c = trellis_names_compare (file->data + start, end - start, name, len);
      if (c == 0)
        return TRUE;
      if (c < 0)
        lo = end + 1;
      else
        hi = start;
    }
  return FALSE;
}

void
trellis_names_cursor_init (TrellisNamesCursor *cursor,
                           const TrellisNamesFile *file)
{
  cursor->at = file != NULL ? file->data : NULL;
  cursor->end = file != NULL ? file->data + file->len : NULL;
}

gboolean
trellis_names_cursor_next (TrellisNamesCursor *cursor,
                           const char **ret_name,
                           gsize *ret_len)
{
  const char *nl;

  while (cursor->at != NULL && cursor->at < cursor->end)
    {
      nl = memchr (cursor->at, '\n', cursor->end - cursor->at);
      if (nl == NULL)
        nl = cursor->end;
      if (nl > cursor->at)
        {
          *ret_name = cursor->at;
          *ret_len = nl - cursor->at;
          cursor->at = nl + 1;
          return TRUE;
        }
      cursor->at = nl + 1;
    }
  return FALSE;
}

#define SKIP_BLOCK 4096

gsize
trellis_names_cursors_skip_same (TrellisNamesCursor *a,
                                 TrellisNamesCursor *b)
{
  gsize skipped = 0;

  if (a->at == NULL || b->at == NULL)
    return 0;
  for (;;)
    {
      gsize left_a = a->end - a->at, left_b = b->end - b->at;
      gsize n = MIN (MIN (left_a, left_b), SKIP_BLOCK);
      const char *last_nl;

      if (n == 0)
        break;
      if (memcmp (a->at, b->at, n) != 0)
        {
          /* Not the whole block: the lines before the first difference. */
          gsize same = 0;

          while (same < n && a->at[same] == b->at[same])
            same++;
          last_nl = same > 0 ? memrchr (a->at, '\n', same) : NULL;
          if (last_nl != NULL)
            {
              gsize len = last_nl + 1 - a->at;

              a->at += len;
              b->at += len;
              skipped += len;
            }
          break;
        }
      /* The same block: its whole lines are the same lines.  A block that
       * ends both files ends on a line of both. */
      if (n == left_a && n == left_b)
        {
          a->at += n;
          b->at += n;
          skipped += n;
          break;
        }
      last_nl = memrchr (a->at, '\n', n);
      if (last_nl == NULL)
        break; /* a line longer than a block: compared line by line */
      {
        gsize len = last_nl + 1 - a->at;

        a->at += len;
        b->at += len;
        skipped += len;
      }
    }
  return skipped;
}
