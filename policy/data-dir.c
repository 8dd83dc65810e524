/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * data-dir.c — the shipped data's folder when none is given: the source
 * tree's for a program run from its build tree, else the installed one.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "policy/data-dir.h"

char *
trellis_data_dir_uninstalled (const char *exe)
{
  g_autofree char *bindir = NULL;
  g_autofree char *top = NULL;
  g_autofree char *marker = NULL;
  g_autofree char *contents = NULL;
  GStatBuf exe_st, marker_st;

  g_return_val_if_fail (exe != NULL, NULL);

  bindir = g_path_get_dirname (exe);
  top = g_path_get_dirname (bindir);
  marker = g_build_filename (top, TRELLIS_BUILD_TREE_MARKER, NULL);
  if (g_lstat (exe, &exe_st) != 0 || g_lstat (marker, &marker_st) != 0)
    return NULL;
  /* Someone else's file must not choose a root daemon's data. */
  if (!S_ISREG (marker_st.st_mode) || marker_st.st_uid != exe_st.st_uid
      || (marker_st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return NULL;
  if (!g_file_get_contents (marker, &contents, NULL, NULL))
    return NULL;
  g_strchomp (contents);
  if (!g_path_is_absolute (contents) || !g_file_test (contents, G_FILE_TEST_IS_DIR))
    return NULL;
  return g_steal_pointer (&contents);
}

char *
trellis_data_dir_default (gboolean *ret_uninstalled)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  char *dir = exe != NULL ? trellis_data_dir_uninstalled (exe) : NULL;

  if (ret_uninstalled != NULL)
    *ret_uninstalled = dir != NULL;
  return dir != NULL ? dir : g_strdup (TRELLIS_DATADIR);
}
