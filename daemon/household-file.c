/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * household-file.c — the household file changed on a parent's word
 * (household-file.h).
 *
 * The file stays the parent's: its comments and layout are kept (the
 * change is made line by line), its owner (when this process may give it),
 * group and mode are the old file's, and a change that would not compile
 * is refused before anything is written, so the file on disk always
 * compiles if it did before.  A reader sees the old file or the new one,
 * never half of one: the new text is written beside it and renamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "daemon/household-file.h"
#include "policy/trellis-policy.h"

static gboolean
errno_error (GError **error,
             int errsv,
             const char *what,
             const char *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv),
               "cannot %s %s: %s", what, path, g_strerror (errsv));
  return FALSE;
}

static gboolean
write_all (int fd,
           const char *data,
           gsize length)
{
  while (length > 0)
    {
      ssize_t n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      length -= n;
    }
  return TRUE;
}

/*
 * The parents' group must still read the new file @fd: the old file's
 * owner and group (@st).  Under the unit the folder is set-group-ID, so a
 * file made in it has the folder's group already, and trellisd (its
 * owner) owns the new file too: nothing to change, which is as well, as
 * the unit's system call filter refuses chown.  Otherwise (trellisd run as
 * root, a folder without the bit) the old owner where this process may
 * give it, else its group alone.  A different owner is no loss; a
 * different group is: FALSE with errno.
 */
static gboolean
owner_copy (int fd, const struct stat *st)
{
  struct stat now;

  if (fstat (fd, &now) < 0)
    return FALSE;
  if (now.st_uid == st->st_uid && now.st_gid == st->st_gid)
    return TRUE;
  if (fchown (fd, st->st_uid, st->st_gid) == 0)
    return TRUE;
  if (now.st_gid == st->st_gid)
    return TRUE;
  return fchown (fd, (uid_t) -1, st->st_gid) == 0;
}

/* @data replaces @path (a real path, not a link) whole. */
static gboolean
file_replace (const char *path,
              const char *data,
              gsize length,
              GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = NULL;
  struct stat st;
  int fd, dir_fd, errsv;

  if (stat (path, &st) < 0)
    return errno_error (error, errno, "look at", path);
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno_error (error, errno, "create a file in", dir);
  if (!owner_copy (fd, &st)
      || fchmod (fd, st.st_mode & 07777) < 0
      || !write_all (fd, data, length)
      || fsync (fd) < 0)
    {
      errsv = errno;
      close (fd);
      g_unlink (tmp);
      return errno_error (error, errsv, "write", tmp);
    }
  if (close (fd) < 0)
    {
      errsv = errno;
      g_unlink (tmp);
      return errno_error (error, errsv, "write", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      errsv = errno;
      g_unlink (tmp);
      return errno_error (error, errsv, "replace", path);
    }
  /* The rename itself, on disk. */
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0)
    {
      (void) fsync (dir_fd);
      close (dir_fd);
    }
  return TRUE;
}

gboolean
trellis_household_file_change (const char *path,
                               const char *data_dir,
                               const TrellisHouseholdChange *change,
                               GError **error)
{
  g_autofree char *real = realpath (path, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(TrellisHouseholdEdit) edit = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  const char *text;
  gsize length;

  if (real == NULL)
    return errno_error (error, errno, "find", path);
  if (!g_file_get_contents (real, &contents, &length, error))
    return FALSE;
  /* Messages name the file as the daemon and policy check do. */
  edit = trellis_household_edit_new (contents, length, path, error);
  if (edit == NULL || !trellis_household_edit_apply (edit, change, error))
    return FALSE;
  text = trellis_household_edit_get_text (edit, &length);
  policy = trellis_policy_load_data (text, length, path, data_dir, error);
  if (policy == NULL)
    return FALSE;
  return file_replace (real, text, length, error);
}
