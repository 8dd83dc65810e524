/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * household-file.h — the parents' commands written into the household
 * file: read it, change its lines (policy/household-edit.h), check that
 * the result compiles, and put it in place atomically.
 */
#pragma once

#include <glib.h>

#include "policy/household-edit.h"

G_BEGIN_DECLS

/**
 * trellis_household_file_change:
 * @path: the household file
 * @data_dir: (nullable): the shipped data, as the daemon compiles with it
 * @change: what a parent asked for
 *
 * Reads @path, makes @change in its lines, and compiles the result with
 * trellis_policy_load_data() under @path's name, so that its errors read
 * as `trellis policy check` gives them: TRELLIS_POLICY_ERROR, one
 * "FILE:LINE:COL: message" a line, and the file is not touched.  Else the
 * new text goes to a file beside @path (same owner where allowed, same
 * group and mode), is synced, and is renamed over @path; the folder is
 * synced too.  TRELLIS_HOUSEHOLD_EDIT_ERROR for a change that cannot be
 * made (no such child, a value that cannot be written), G_FILE_ERROR for
 * the disk.  Blocking: call it from a worker thread, one at a time.
 */
gboolean trellis_household_file_change (const char *path,
                                        const char *data_dir,
                                        const TrellisHouseholdChange *change,
                                        GError **error);

G_END_DECLS
