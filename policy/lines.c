/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lines.c — reading the text of policy/'s files line by line: the lines of
 * a plain list (the category lists, the allow list) and the key-file scan
 * that gives every group and key of the household file, the age bands and
 * the safe-search data its line and column for the messages, and the lines
 * each group spans, for the edits of household-edit.c.
 *
 * It calls nothing else in policy/ but problems.c.
 */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "policy/lines.h"

char *
trellis_data_line_next (char **cursor,
                        guint *line_no)
{
  while (*cursor != NULL)
    {
      char *line = *cursor, *next = strchr (line, '\n'), *hash;

      if (next != NULL)
        *next++ = '\0';
      *cursor = next;
      (*line_no)++;
      hash = strchr (line, '#');
      if (hash != NULL)
        *hash = '\0';
      g_strstrip (line);
      if (*line != '\0')
        return line;
    }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The key-file scan. */

struct _TrellisKeyFileLines {
  /* (owned) "group" or "group\037key" (owned) → TrellisKeyFilePosition (owned) */
  GHashTable *where;
  /* (owned) "group" (owned) → TrellisKeyFileGroupSpan (owned) */
  GHashTable *spans;
  guint n_lines;
};

void
trellis_key_file_lines_free (TrellisKeyFileLines *lines)
{
  if (lines == NULL)
    return;
  g_hash_table_unref (lines->where);
  g_hash_table_unref (lines->spans);
  g_free (lines);
}

static char *
where_key (const char *group,
           const char *key)
{
  return key != NULL ? g_strconcat (group, "\037", key, NULL) : g_strdup (group);
}

gboolean
trellis_key_file_lines_find (TrellisKeyFileLines *lines,
                             const char *group,
                             const char *key,
                             TrellisKeyFilePosition *ret_position)
{
  g_autofree char *k = where_key (group, key);
  const TrellisKeyFilePosition *position = g_hash_table_lookup (lines->where, k);

  if (position == NULL)
    return FALSE;
  *ret_position = *position;
  return TRUE;
}

gboolean
trellis_key_file_lines_get_span (TrellisKeyFileLines *lines,
                                 const char *group,
                                 TrellisKeyFileGroupSpan *ret_span)
{
  const TrellisKeyFileGroupSpan *span = g_hash_table_lookup (lines->spans, group);

  if (span == NULL)
    return FALSE;
  *ret_span = *span;
  return TRUE;
}

guint
trellis_key_file_lines_get_n_lines (TrellisKeyFileLines *lines)
{
  return lines->n_lines;
}

TrellisKeyFileLines *
trellis_key_file_scan (const char *data,
                       gsize length,
                       const char *file,
                       TrellisProblemSource source,
                       TrellisProblems *problems)
{
  g_autoptr(TrellisKeyFileLines) lines = g_new0 (TrellisKeyFileLines, 1);
  g_autofree char *group = NULL;
  TrellisKeyFileGroupSpan *span = NULL; /* the group's being read */
  const char *line_start = data, *end = data + length;
  guint line_no = 0, n_errors = trellis_problems_get_n_errors (problems);

  lines->where = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lines->spans = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  while (line_start < end)
    {
      const char *line_end = memchr (line_start, '\n', end - line_start);
      g_autofree char *line = NULL;
      gsize line_len;
      char *text;

      if (line_end == NULL)
        line_end = end;
      line_no++;
      line_len = line_end - line_start;
      line = g_strndup (line_start, line_len);
      line_start = line_end + 1;
      if (span != NULL)
        span->last_line = line_no;

      /* A NUL byte makes the copy shorter than the line. */
      if (strlen (line) != line_len || !g_utf8_validate (line, -1, NULL))
        {
          trellis_problems_add (problems, source, file, line_no, 1, _ ("this line is not text (UTF-8)"));
          continue;
        }

      text = line;
      while (g_ascii_isspace (*text))
        text++;
      g_strchomp (text);
      if (*text == '\0' || *text == '#')
        continue;

      if (*text == '[')
        {
          const TrellisKeyFilePosition *first;
          TrellisKeyFilePosition *position;
          gsize len = strlen (text);

          if (text[len - 1] != ']' || len < 3 || memchr (text + 1, ']', len - 2) != NULL)
            {
              trellis_problems_add (problems, source, file, line_no, text - line + 1,
                                    _ ("a section header is written [NAME], with nothing after the “]”"));
              continue;
            }
          /* This line starts the next group. */
          if (span != NULL)
            span->last_line = line_no - 1;
          g_free (group);
          group = g_strndup (text + 1, len - 2);
          first = g_hash_table_lookup (lines->where, group);
          span = NULL;
          if (first != NULL)
            {
              trellis_problems_add (problems, source, file, line_no, text - line + 1,
                                    _ ("the section [%s] appears twice (first on line %u): merge them"),
                                    group, first->line);
              continue;
            }
          position = g_new0 (TrellisKeyFilePosition, 1);
          position->line = line_no;
          position->col = g_utf8_strlen (line, text - line) + 1;
          position->key_col = position->col;
          g_hash_table_insert (lines->where, g_strdup (group), position);
          span = g_new0 (TrellisKeyFileGroupSpan, 1);
          span->header = span->last_key = span->last_line = line_no;
          g_hash_table_insert (lines->spans, g_strdup (group), span);
        }
      else
        {
          const char *eq = strchr (text, '=');
          g_autofree char *key = NULL;
          g_autofree char *k = NULL;
          const char *value;
          const TrellisKeyFilePosition *first;
          TrellisKeyFilePosition *position;

          if (eq == NULL || eq == text)
            {
              trellis_problems_add (problems, source, file, line_no, text - line + 1,
                                    _ ("this line is not a [section], a key = value or a # comment"));
              continue;
            }
          if (group == NULL)
            {
              trellis_problems_add (problems, source, file, line_no, text - line + 1,
                                    _ ("this key comes before any section: start the file with [household]"));
              continue;
            }
          key = g_strstrip (g_strndup (text, eq - text));
          value = eq + 1;
          while (g_ascii_isspace (*value))
            value++;

          k = where_key (group, key);
          first = g_hash_table_lookup (lines->where, k);
          if (first != NULL)
            {
              trellis_problems_add (problems, source, file, line_no, text - line + 1,
                                    _ ("“%s” is set twice in [%s] (first on line %u): keep one"),
                                    key, group, first->line);
              continue;
            }
          position = g_new0 (TrellisKeyFilePosition, 1);
          position->line = line_no;
          position->col = g_utf8_strlen (line, value - line) + 1;
          position->key_col = g_utf8_strlen (line, text - line) + 1;
          g_hash_table_insert (lines->where, g_steal_pointer (&k), position);
          if (span != NULL)
            span->last_key = line_no;
        }
    }
  lines->n_lines = line_no;

  if (trellis_problems_get_n_errors (problems) > n_errors)
    return NULL;
  return g_steal_pointer (&lines);
}
