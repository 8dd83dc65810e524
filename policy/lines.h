/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lines.h — where things are in the text of a file policy/ reads: the
 * lines of a plain list, and the line and column of every group and key of
 * a key file (GKeyFile gives values, never their place).
 */
#pragma once

#include <glib.h>

#include "policy/problems.h"

G_BEGIN_DECLS

/**
 * trellis_data_line_next:
 * @cursor: (inout): where reading goes on, in a text it may write to; NULL
 *   once the text is read
 * @line_no: (inout): the number of the line last returned (start at 0)
 *
 * The next line of a data file that says something: cut at "#", stripped,
 * never empty.  The text is split in place, in one pass (a list may hold
 * 100k lines).  Returns: (nullable) the line, or NULL at the end.
 */
char *trellis_data_line_next (char **cursor,
                              guint *line_no);

/* Where a group header or a key is. */
typedef struct {
  guint line;    /* 1-based */
  guint col;     /* 1-based, in characters, of the value (or of '[' for a group) */
  guint key_col; /* 1-based, of the key (or of '[' for a group) */
} TrellisKeyFilePosition;

typedef struct _TrellisKeyFileLines TrellisKeyFileLines;

/**
 * trellis_key_file_scan:
 * @file: the file's name in messages
 * @source: which list its problems belong to
 *
 * Reads @data (@length bytes, which may hold NUL) line by line, as GKeyFile
 * will, and notes where each group and key is.  The lines GKeyFile would
 * refuse or read otherwise than it looks get a problem with their place: a
 * line that is not UTF-8 text, a header with something after its "]", a
 * line that is neither a header, a key = value nor a "#" comment, a key
 * before any group, and a group or a key (in its group) written twice.
 *
 * Returns: (transfer full) (nullable) the places, or NULL when @problems
 *   got a problem.
 */
TrellisKeyFileLines *trellis_key_file_scan (const char *data,
                                            gsize length,
                                            const char *file,
                                            TrellisProblemSource source,
                                            TrellisProblems *problems);

/** trellis_key_file_lines_free: frees @lines (NULL is allowed). */
void trellis_key_file_lines_free (TrellisKeyFileLines *lines);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisKeyFileLines, trellis_key_file_lines_free)

/**
 * trellis_key_file_lines_find:
 * @key: (nullable): NULL for the group's header
 * @ret_position: (out): set only when found
 *
 * Returns: TRUE when @key of @group (or [@group]) is in the text.
 */
gboolean trellis_key_file_lines_find (TrellisKeyFileLines *lines,
                                      const char *group,
                                      const char *key,
                                      TrellisKeyFilePosition *ret_position);

/* The lines a group spans: its header, its last key (the header's line
 * when it has none), and the last line before the next header (or the
 * file's last line): comments and blank lines after the last key are in
 * it. */
typedef struct {
  guint header;
  guint last_key;
  guint last_line;
} TrellisKeyFileGroupSpan;

/**
 * trellis_key_file_lines_get_span:
 * @ret_span: (out): set only when found
 *
 * Returns: TRUE when [@group] is in the text.
 */
gboolean trellis_key_file_lines_get_span (TrellisKeyFileLines *lines,
                                          const char *group,
                                          TrellisKeyFileGroupSpan *ret_span);

/** trellis_key_file_lines_get_n_lines: how many lines the text has (a last one without "\n" counts). */
guint trellis_key_file_lines_get_n_lines (TrellisKeyFileLines *lines);

G_END_DECLS
