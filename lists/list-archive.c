/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-archive.c — unpacking a download (see list-archive.h).
 *
 * libarchive rather than code of our own: tar has several dialects (ustar,
 * pax, GNU long names), gzip streams can be concatenated, and every format
 * is a place for a malicious file to hide an overflow; libarchive reads
 * them all, streams them without holding the file in memory, is fuzzed in
 * OSS-Fuzz and ships in every distribution (bsdtar, pacman, CMake).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lists/list-archive.h"

#define BLOCK (64 * 1024)

/* clang-format off */  /* the quark's name is one word, with its dashes */
G_DEFINE_QUARK (trellis-list-archive-error-quark, trellis_list_archive_error)
/* clang-format on */

typedef struct archive Archive;
static void
read_archive_free (Archive *a)
{
  archive_read_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Archive, read_archive_free)

static gboolean
damaged (GError **error,
         Archive *a,
         const char *what)
{
  const char *detail = archive_error_string (a);
  g_autofree char *safe = g_strdup (detail != NULL ? detail : "");

  for (char *p = safe; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      *p = '?';
  g_set_error (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_DAMAGED,
               "%s%s%s", what, *safe != '\0' ? ": " : "", safe);
  return FALSE;
}

/* "./adult/domains" and "adult/domains" are the same member. */
static gboolean
member_matches (const char *path,
                const char *member)
{
  while (path[0] == '.' && path[1] == '/')
    path += 2;
  return strcmp (path, member) == 0;
}

gboolean
trellis_list_archive_read (int fd,
                           const char *member,
                           guint64 max_bytes,
                           TrellisListArchiveFunc func,
                           gpointer user_data,
                           guint64 *ret_bytes,
                           GError **error)
{
  g_autoptr(Archive) a = archive_read_new ();
  g_autofree char *block = g_malloc (BLOCK);
  struct archive_entry *entry;
  guint64 total = 0;
  gboolean found = FALSE;
  int r;

  if (lseek (fd, 0, SEEK_SET) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_DAMAGED,
                   "cannot read the download: %s", g_strerror (saved_errno));
      return FALSE;
    }
  archive_read_support_filter_all (a);
  if (member != NULL)
    archive_read_support_format_tar (a);
  else
    archive_read_support_format_raw (a);
  if (archive_read_open_fd (a, fd, BLOCK) != ARCHIVE_OK)
    return damaged (error, a, member != NULL ? "not a tar archive" : "cannot read the download");

  while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
    {
      const char *path = archive_entry_pathname (entry);

      if (member != NULL && (path == NULL || !member_matches (path, member)))
        {
          if (archive_read_data_skip (a) != ARCHIVE_OK)
            return damaged (error, a, "the archive is damaged or cut short");
          continue;
        }
      if (member != NULL && archive_entry_filetype (entry) != AE_IFREG)
        {
          g_set_error (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_NO_MEMBER,
                       "%s in the archive is not a plain file", member);
          return FALSE;
        }
      found = TRUE;
      for (;;)
        {
          la_ssize_t n = archive_read_data (a, block, BLOCK);

          if (n == 0)
            break;
          if (n < 0)
            return damaged (error, a, "the download is damaged or cut short");
          total += (guint64) n;
          if (total > max_bytes)
            {
              g_set_error (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_TOO_LARGE,
                           "the list unpacks to more than %" G_GUINT64_FORMAT " MiB: stopped",
                           max_bytes / (1024 * 1024));
              return FALSE;
            }
          func (block, (gsize) n, user_data);
        }
      break; /* one member, or the one raw file */
    }
  if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
    return damaged (error, a, "the archive is damaged or cut short");
  if (!found)
    {
      if (member != NULL)
        g_set_error (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_NO_MEMBER,
                     "the archive holds no %s", member);
      else
        g_set_error_literal (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_DAMAGED,
                             "the download is empty");
      return FALSE;
    }
  /* A tar archive must end properly too: a cut-short one may hold the
   * whole member and still be damaged after it.  (A raw stream was read to
   * its end above, so a truncated gzip has failed already.) */
  if (member != NULL)
    while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
      if (archive_read_data_skip (a) != ARCHIVE_OK)
        return damaged (error, a, "the archive is damaged or cut short");
  if (member != NULL && r != ARCHIVE_EOF)
    return damaged (error, a, "the archive is damaged or cut short");
  if (ret_bytes != NULL)
    *ret_bytes = total;
  return TRUE;
}
