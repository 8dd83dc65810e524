/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * problems.h — how policy/ says what is wrong with a file: the error
 * domain, the list every loader adds its problems to ("FILE:LINE:COL:
 * message"), joined into one GError at the end, and "did you mean".
 *
 * It calls nothing else in policy/.
 */
#pragma once

#include <glib.h>

#include "policy/trellis-policy.h"

G_BEGIN_DECLS

/* What a problem is: an error of the household file (these are listed
 * first, by position), an error of the shipped data (listed next, in the
 * order they were found: each file is read from its top, in a fixed
 * order), or a warning about the household file: legal, but probably not
 * what the household meant (kept beside the policy, by position). */
typedef enum {
  TRELLIS_PROBLEM_HOUSEHOLD = 0,
  TRELLIS_PROBLEM_DATA,
  TRELLIS_PROBLEM_WARNING,
} TrellisProblemSource;

typedef struct _TrellisProblems TrellisProblems;

/** trellis_problems_new: an empty list.  Returns: (transfer full). */
TrellisProblems *trellis_problems_new (void);

/** trellis_problems_free: frees @problems (NULL is allowed). */
void trellis_problems_free (TrellisProblems *problems);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisProblems, trellis_problems_free)

/**
 * trellis_problems_add:
 * @file: (nullable): the file, written in front as "FILE:LINE:COL: "
 *   ("FILE:LINE:COL: warning: " for a warning, translated; "FILE: " when
 *   @line is 0: about the file as a whole); NULL when @format writes the
 *   place itself (a translation may punctuate it)
 * @line: 1-based, or 0
 * @col: 1-based, in characters (0 is read as 1)
 *
 * Adds an error or a warning.
 */
void trellis_problems_add (TrellisProblems *problems,
                           TrellisProblemSource source,
                           const char *file,
                           guint line,
                           guint col,
                           const char *format,
                           ...) G_GNUC_PRINTF (6, 7);

/** trellis_problems_get_n_errors: how many errors (not warnings) were added. */
guint trellis_problems_get_n_errors (TrellisProblems *problems);

/**
 * trellis_problems_set_error:
 * Sets @error (TRELLIS_POLICY_ERROR, @code) to every error, one per line,
 * in order.
 */
void trellis_problems_set_error (TrellisProblems *problems,
                                 TrellisPolicyError code,
                                 GError **error);

/**
 * trellis_problems_get_warnings:
 * Returns: (transfer full) the warnings by position, NULL-terminated (the
 *   array frees its strings).
 */
GPtrArray *trellis_problems_get_warnings (TrellisProblems *problems);

/**
 * trellis_problems_get_errors:
 * Returns: (transfer full) the errors in the order trellis_problems_set_error()
 *   joins them, NULL-terminated (the array frees its strings).
 */
GPtrArray *trellis_problems_get_errors (TrellisProblems *problems);

/**
 * trellis_did_you_mean:
 * Returns: (nullable) the closest of @candidates (NULL-terminated) to
 *   @word, when it is at most 2 edits away (letters in any case).
 */
const char *trellis_did_you_mean (const char *word,
                                  const char *const *candidates);

G_END_DECLS
