/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * data-dir.h — where a program finds the shipped data (helplines,
 * categories, age bands, allow list, safe search) when it is not told.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The file make writes at the top of a build tree: one line, the source
 * tree's policy/data. */
#define TRELLIS_BUILD_TREE_MARKER "trellis-build-tree"

/**
 * trellis_data_dir_default:
 * @ret_uninstalled: (out) (optional): TRUE when the answer is a build tree's
 *
 * The folder to read the shipped data from when no --data-dir is given.
 * A program run from a build tree (build/cli/trellis, build/daemon/trellisd)
 * finds the marker TRELLIS_BUILD_TREE_MARKER in the folder above its own,
 * and reads the source tree's data that it names; the marker counts only
 * when it is a regular file with the program's owner, writable by no one
 * else.  Anything else (an installed program) gets TRELLIS_DATADIR.
 *
 * Returns: (transfer full) the folder.
 */
char *trellis_data_dir_default (gboolean *ret_uninstalled);

/**
 * trellis_data_dir_uninstalled:
 * @exe: the running program's path (/proc/self/exe resolved)
 *
 * The build-tree part of trellis_data_dir_default() for the program @exe.
 *
 * Returns: (transfer full) (nullable) the source tree's data folder, or
 * NULL when @exe is not in a build tree.
 */
char *trellis_data_dir_uninstalled (const char *exe);

G_END_DECLS
