/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * problems.c — the problems of a household file and of the shipped data,
 * collected while they are read and given back all at once: one GError
 * with every error, one per line as "FILE:LINE:COL: message", and the
 * warnings beside the policy.  Also the "did you mean" of unknown keys,
 * sections and categories, and the library's error domain.
 *
 * It calls nothing else in policy/.
 */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "policy/problems.h"

/* clang-format off */  /* the quark's name is one word, with its dashes */
G_DEFINE_QUARK (trellis-policy-error-quark, trellis_policy_error)
/* clang-format on */

typedef struct {
  TrellisProblemSource source;
  guint line; /* 0 for the whole file */
  guint col;
  guint seq;  /* the order it was found in */
  char *text; /* (owned) the full "FILE:LINE:COL: message" */
} Problem;

struct _TrellisProblems {
  GArray *errors;   /* (owned) Problem */
  GArray *warnings; /* (owned) Problem */
};

static void
problem_clear (gpointer data)
{
  Problem *problem = data;

  g_free (problem->text);
}

static GArray *
problem_array_new (void)
{
  GArray *array = g_array_new (FALSE, TRUE, sizeof (Problem));

  g_array_set_clear_func (array, problem_clear);
  return array;
}

TrellisProblems *
trellis_problems_new (void)
{
  TrellisProblems *problems = g_new0 (TrellisProblems, 1);

  problems->errors = problem_array_new ();
  problems->warnings = problem_array_new ();
  return problems;
}

void
trellis_problems_free (TrellisProblems *problems)
{
  if (problems == NULL)
    return;
  g_array_unref (problems->errors);
  g_array_unref (problems->warnings);
  g_free (problems);
}

void
trellis_problems_add (TrellisProblems *problems,
                      TrellisProblemSource source,
                      const char *file,
                      guint line,
                      guint col,
                      const char *format,
                      ...)
{
  GArray *to = source == TRELLIS_PROBLEM_WARNING ? problems->warnings : problems->errors;
  g_autofree char *message = NULL;
  Problem problem = { 0 };
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  problem.source = source;
  problem.line = line;
  problem.col = col;
  problem.seq = to->len;
  if (file == NULL)
    problem.text = g_steal_pointer (&message);
  else if (line == 0)
    problem.text = g_strdup_printf ("%s: %s", file, message);
  else if (source == TRELLIS_PROBLEM_WARNING)
    /* Translators: a warning about a line of the household file; the first
     * %s is "FILE:LINE:COL", the second the warning itself. */
    problem.text = g_strdup_printf (_ ("%s:%u:%u: warning: %s"), file, line, MAX (col, 1), message);
  else
    problem.text = g_strdup_printf ("%s:%u:%u: %s", file, line, MAX (col, 1), message);
  g_array_append_val (to, problem);
}

guint
trellis_problems_get_n_errors (TrellisProblems *problems)
{
  return problems->errors->len;
}

/* The household file's by position, then the shipped data's as found. */
static int
problem_compare (gconstpointer a,
                 gconstpointer b)
{
  const Problem *pa = a, *pb = b;

  if (pa->source != pb->source)
    return pa->source < pb->source ? -1 : 1;
  if (pa->source != TRELLIS_PROBLEM_DATA)
    {
      if (pa->line != pb->line)
        return pa->line < pb->line ? -1 : 1;
      if (pa->col != pb->col)
        return pa->col < pb->col ? -1 : 1;
    }
  return pa->seq < pb->seq ? -1 : (pa->seq > pb->seq);
}

void
trellis_problems_set_error (TrellisProblems *problems,
                            TrellisPolicyError code,
                            GError **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  guint i;

  g_array_sort (problems->errors, problem_compare);
  for (i = 0; i < problems->errors->len; i++)
    {
      if (i > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, g_array_index (problems->errors, Problem, i).text);
    }
  g_set_error_literal (error, TRELLIS_POLICY_ERROR, code, text->str);
}

static GPtrArray *
texts_sorted (GArray *list)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  guint i;

  g_array_sort (list, problem_compare);
  for (i = 0; i < list->len; i++)
    g_ptr_array_add (texts, g_strdup (g_array_index (list, Problem, i).text));
  g_ptr_array_add (texts, NULL);
  return texts;
}

GPtrArray *
trellis_problems_get_warnings (TrellisProblems *problems)
{
  return texts_sorted (problems->warnings);
}

GPtrArray *
trellis_problems_get_errors (TrellisProblems *problems)
{
  return texts_sorted (problems->errors);
}

/* ------------------------------------------------------------------------ */
/* Did you mean. */

static guint
edit_distance (const char *a,
               const char *b)
{
  guint row[65], la = strlen (a), lb = strlen (b), i, j;

  if (la > 64 || lb > 64)
    return G_MAXUINT;
  for (j = 0; j <= lb; j++)
    row[j] = j;
  for (i = 1; i <= la; i++)
    {
      guint diagonal = row[0];

      row[0] = i;
      for (j = 1; j <= lb; j++)
        {
          guint above = row[j];
          guint cost = g_ascii_tolower (a[i - 1]) == g_ascii_tolower (b[j - 1]) ? 0 : 1;

          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diagonal + cost);
          diagonal = above;
        }
    }
  return row[lb];
}

const char *
trellis_did_you_mean (const char *word,
                      const char *const *candidates)
{
  const char *best = NULL;
  guint best_distance = 3, i;

  for (i = 0; candidates[i] != NULL; i++)
    {
      guint distance = edit_distance (word, candidates[i]);

      if (distance < best_distance)
        {
          best = candidates[i];
          best_distance = distance;
        }
    }
  return best;
}
