/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * name-set.h — the names of one list, sorted and without repeats, in
 * memory while a download is read, and on disk as a names file: one name
 * a line, sorted by byte, which the updater maps to compare two versions
 * of a list line by line and to ask whether a list holds a name.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TrellisNameSet TrellisNameSet;

/** trellis_name_set_new: an empty set.  Returns: (transfer full). */
TrellisNameSet *trellis_name_set_new (void);

/** trellis_name_set_free: frees @set (NULL is allowed). */
void trellis_name_set_free (TrellisNameSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisNameSet, trellis_name_set_free)

/** trellis_name_set_add: adds @name (@len bytes, no NUL or newline in it). */
void trellis_name_set_add (TrellisNameSet *set,
                           const char *name,
                           gsize len);

/** trellis_name_set_get_n_added: names added, repeats included. */
guint64 trellis_name_set_get_n_added (const TrellisNameSet *set);

/**
 * trellis_name_set_finish:
 * Sorts the names (only when they did not come sorted) and drops repeats.
 * Returns: the distinct names.
 */
guint trellis_name_set_finish (TrellisNameSet *set);

/** trellis_name_set_write: writes the finished set to @path, one name a line, in one rename. */
gboolean trellis_name_set_write (TrellisNameSet *set,
                                 const char *path,
                                 GError **error);

/* A names file, mapped. */
typedef struct _TrellisNamesFile TrellisNamesFile;

/**
 * trellis_names_file_open:
 * Maps @path, a names file the updater wrote.  Returns: (transfer full),
 * or NULL with @error.
 */
TrellisNamesFile *trellis_names_file_open (const char *path,
                                           GError **error);

/** trellis_names_file_free: (NULL is allowed). */
void trellis_names_file_free (TrellisNamesFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisNamesFile, trellis_names_file_free)

/** trellis_names_file_contains: binary search for exactly @name. */
gboolean trellis_names_file_contains (const TrellisNamesFile *file,
                                      const char *name,
                                      gsize len);

/**
 * TrellisNamesCursor:
 * Walks a names file in order: trellis_names_cursor_next() gives each name
 * (not NUL-terminated: @ret_len bytes) until it returns FALSE.
 */
typedef struct {
  const char *at;
  const char *end;
} TrellisNamesCursor;

/** trellis_names_cursor_init: a cursor on @file (nullable: an empty list). */
void trellis_names_cursor_init (TrellisNamesCursor *cursor,
                                const TrellisNamesFile *file);

gboolean trellis_names_cursor_next (TrellisNamesCursor *cursor,
                                    const char **ret_name,
                                    gsize *ret_len);

/**
 * trellis_names_cursors_skip_same:
 * Moves @a and @b, both at the start of a line, past the longest run of
 * lines that are byte for byte the same in both (compared a block at a
 * time: two versions of a list are mostly the same).  Returns: the bytes
 * skipped.
 */
gsize trellis_names_cursors_skip_same (TrellisNamesCursor *a,
                                       TrellisNamesCursor *b);

/** trellis_names_compare: the names files' order: by byte, a prefix first. */
int trellis_names_compare (const char *a,
                           gsize a_len,
                           const char *b,
                           gsize b_len);

G_END_DECLS
