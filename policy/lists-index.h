/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lists-index.h — what the list updater needs of the compiled lists beyond
 * trellis-policy.h: the index itself, and writing a manifest.  trellisd
 * only reads (trellis-policy.h).
 */
#pragma once

#include "policy/domain-index.h"
#include "policy/trellis-policy.h"

G_BEGIN_DECLS

/* Called with each name of a shipped category list: its category's bit and
 * the name, normalized.  FALSE with @error: the name is not taken (the
 * error becomes the data's problem, with its place). */
typedef gboolean (*TrellisShippedNameFunc) (guint bit,
                                            const char *name,
                                            gpointer user_data,
                                            GError **error);

/**
 * trellis_policy_foreach_shipped_name:
 * Reads the shipped category lists (categories/ID/domains and domains.*
 * of @data_dir, NULL for the built-in place), in category then file
 * order, each name to @func, as trellis_policy_load_file() compiles them.
 * Returns: FALSE with every problem in @error (TRELLIS_POLICY_ERROR_IO).
 */
gboolean trellis_policy_foreach_shipped_name (TrellisPolicy *policy,
                                              const char *data_dir,
                                              TrellisShippedNameFunc func,
                                              gpointer user_data,
                                              GError **error);

/** trellis_policy_get_information_names: (transfer none) the information list's names, NULL-terminated. */
const char *const *trellis_policy_get_information_names (TrellisPolicy *policy);

/** trellis_lists_index_get_index: (transfer none) the mapped index. */
TrellisDomainIndex *trellis_lists_index_get_index (TrellisListsIndex *lists);

/** trellis_lists_index_get_manifest: (transfer none) the manifest as read. */
GKeyFile *trellis_lists_index_get_manifest (TrellisListsIndex *lists);

/**
 * trellis_lists_manifest_new:
 * The [lists] group of a manifest for @image, the index's file image
 * (written as @index_file, relative to the manifest).  Add [category ID]
 * and [source ID] groups with GKeyFile, then
 * trellis_lists_manifest_write().  Returns: (transfer full) (nullable):
 * NULL when @image is not an index.
 */
GKeyFile *trellis_lists_manifest_new (guint64 generation,
                                      gint64 compiled,
                                      const char *index_file,
                                      GBytes *image,
                                      const char *const *categories,
                                      const char *shipped_digest,
                                      const char *information_digest,
                                      guint information_overridden);

/** trellis_lists_manifest_write: writes @manifest to @path, replacing it in one rename (mode 0644). */
gboolean trellis_lists_manifest_write (GKeyFile *manifest,
                                       const char *path,
                                       GError **error);

G_END_DECLS
