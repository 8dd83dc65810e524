/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * household-edit.c — the parents' commands as changes to the lines of the
 * household file (household-edit.h).
 *
 * The text is kept as it is and cut at "\n" into lines whenever a change
 * is made; the key-file scan (lines.c) says on which line each section and
 * key is, and which lines each section spans.  A change rewrites, inserts
 * or deletes whole lines and nothing else:
 *   - a key that is there: its value is replaced, and what was before it
 *     ("key = " as the parent spaced it) and after it (a " # comment")
 *     stay;
 *   - a key that is not: a new line "key = value" after the section's last
 *     key, indented as that key is;
 *   - a new child: a blank line and its section at the end of the file;
 *   - a child removed: its header and every line up to its last key, and a
 *     blank line after them when one is left before them too.  Comments
 *     after its last key stay: they may be the next section's.
 * After each change the text is scanned again: a change the scan would
 * read otherwise than it was meant is undone and refused.
 */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "policy/household-edit.h"
#include "policy/lines.h"
#include "policy/text-safety.h"

G_DEFINE_QUARK (trellis - household - edit - error - quark, trellis_household_edit_error)

#define NAME_MAX_BYTES  64
#define VALUE_MAX_BYTES 1024

const char *const trellis_household_settable_keys[] = {
  "age", "birth", "quiet-hours", "safe-search", "mode", "block", NULL
};

struct _TrellisHouseholdEdit {
  GString *text;              /* (owned) */
  char *file;                 /* (owned) */
  TrellisKeyFileLines *lines; /* (owned) the scan of @text */
};

void
trellis_household_edit_free (TrellisHouseholdEdit *edit)
{
  if (edit == NULL)
    return;
  g_string_free (edit->text, TRUE);
  g_free (edit->file);
  trellis_key_file_lines_free (edit->lines);
  g_free (edit);
}

/* The scan of @text, or NULL with its problems in @error. */
static TrellisKeyFileLines *
scan (const char *text,
      gsize length,
      const char *file,
      GError **error)
{
  g_autoptr(TrellisProblems) problems = trellis_problems_new ();
  g_autoptr(GError) local_error = NULL;
  TrellisKeyFileLines *lines;

  lines = trellis_key_file_scan (text, length, file, TRELLIS_PROBLEM_HOUSEHOLD, problems);
  if (lines != NULL)
    return lines;
  trellis_problems_set_error (problems, TRELLIS_POLICY_ERROR_SYNTAX, &local_error);
  g_set_error_literal (error, TRELLIS_HOUSEHOLD_EDIT_ERROR, TRELLIS_HOUSEHOLD_EDIT_ERROR_SYNTAX,
                       local_error->message);
  return NULL;
}

TrellisHouseholdEdit *
trellis_household_edit_new (const char *data,
                            gsize length,
                            const char *file,
                            GError **error)
{
  g_autoptr(TrellisHouseholdEdit) edit = g_new0 (TrellisHouseholdEdit, 1);

  edit->lines = scan (data, length, file, error);
  if (edit->lines == NULL)
    return NULL;
  edit->text = g_string_new_len (data, length);
  edit->file = g_strdup (file);
  return g_steal_pointer (&edit);
}

const char *
trellis_household_edit_get_text (TrellisHouseholdEdit *edit,
                                 gsize *ret_length)
{
  *ret_length = edit->text->len;
  return edit->text->str;
}

/* ------------------------------------------------------------------------ */
/* What may be written. */

static gboolean
invalid (GError **error,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error,
         const char *format,
         ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, TRELLIS_HOUSEHOLD_EDIT_ERROR, TRELLIS_HOUSEHOLD_EDIT_ERROR_INVALID,
                       message);
  return FALSE;
}

gboolean
trellis_household_child_name_is_writable (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > NAME_MAX_BYTES || !g_utf8_validate (name, len, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_isalnum (c) && c != '-' && c != '_' && c != '.')
        return FALSE;
    }
  return TRUE;
}

static gboolean
key_is_writable (const char *key)
{
  gsize len = strlen (key);

  if (len == 0 || len > NAME_MAX_BYTES || !g_ascii_islower (key[0]))
    return FALSE;
  for (const char *p = key; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

/* A value that reads back as itself on one line: text, no control
 * character (a newline would start a line of its own), no "#" (it may
 * start a comment), no "\" (GKeyFile's escapes), and, in a list item,
 * no ";".  @what names it in the message. */
static gboolean
check_value (const char *value,
             const char *what,
             gboolean item,
             GError **error)
{
  gsize len = strlen (value);
  gunichar c = 0;

  if (len > VALUE_MAX_BYTES)
    return invalid (error, _ ("the %s is %" G_GSIZE_FORMAT " bytes long; at most %d are allowed"),
                    what, len, VALUE_MAX_BYTES);
  if (!g_utf8_validate (value, len, NULL))
    return invalid (error, _ ("the %s is not text (UTF-8)"), what);
  if (trellis_text_find_unsafe (value, &c) >= 0)
    return invalid (error, _ ("the %s holds a control character (U+%04X): write it on one line"),
                    what, (guint) c);
  if (strchr (value, '#') != NULL || strchr (value, '\\') != NULL)
    return invalid (error, _ ("the %s may not hold “#” or “\\”"), what);
  if (item && strchr (value, ';') != NULL)
    return invalid (error, _ ("the %s may not hold “;”: give one at a time"), what);
  if (len > 0 && (g_ascii_isspace (value[0]) || g_ascii_isspace (value[len - 1])))
    return invalid (error, _ ("the %s may not start or end with a space"), what);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Lines. */

/* The text's lines, cut at "\n": joined again with "\n" they are the text
 * byte for byte (a text that ends with "\n" has an empty last element). */
static GPtrArray *
lines_split (TrellisHouseholdEdit *edit)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const char *p = edit->text->str, *end = p + edit->text->len;

  for (;;)
    {
      const char *nl = memchr (p, '\n', end - p);

      if (nl == NULL)
        {
          g_ptr_array_add (lines, g_strndup (p, end - p));
          break;
        }
      g_ptr_array_add (lines, g_strndup (p, nl - p));
      p = nl + 1;
    }
  return lines;
}

/* Makes @lines the text, if the scan reads it; otherwise leaves the text. */
static gboolean
lines_commit (TrellisHouseholdEdit *edit,
              GPtrArray *lines,
              GError **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;
  TrellisKeyFileLines *scanned;

  for (guint i = 0; i < lines->len; i++)
    {
      if (i > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, lines->pdata[i]);
    }
  scanned = scan (text->str, text->len, edit->file, &local_error);
  if (scanned == NULL)
    return invalid (error, _ ("the change would not read back as written:\n%s"), local_error->message);
  trellis_key_file_lines_free (edit->lines);
  edit->lines = scanned;
  g_string_free (edit->text, TRUE);
  edit->text = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
line_is_blank (const char *line)
{
  for (; *line != '\0'; line++)
    if (!g_ascii_isspace (*line))
      return FALSE;
  return TRUE;
}

/*
 * A key's line, at the value's column @col (1-based, in characters): where
 * the value starts (@ret_value) and where what follows it starts
 * (@ret_tail): the spaces before a " # comment", the comment, and a "\r".
 */
static void
line_cut (const char *line,
          guint col,
          const char **ret_value,
          const char **ret_tail)
{
  const char *value = g_utf8_offset_to_pointer (line, col - 1);
  const char *end = value + strlen (value), *p;

  for (p = value; *p != '\0'; p++)
    if (*p == '#' && (p == value || p[-1] == ' ' || p[-1] == '\t'))
      {
        end = p;
        break;
      }
  if (*end == '\0' && end > value && end[-1] == '\r')
    end--;
  while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  *ret_value = value;
  *ret_tail = end;
}

/* The value of @key in [@group] as the file says it (no comment), or NULL. */
static char *
value_get (TrellisHouseholdEdit *edit,
           GPtrArray *lines,
           const char *group,
           const char *key)
{
  TrellisKeyFilePosition where;
  const char *value, *tail;

  if (!trellis_key_file_lines_find (edit->lines, group, key, &where))
    return NULL;
  line_cut (lines->pdata[where.line - 1], where.col, &value, &tail);
  return g_strndup (value, tail - value);
}

/* Sets @key = @value in [@group] (which is there) in @lines, or removes
 * the key when @value is NULL. */
static void
lines_set (TrellisHouseholdEdit *edit,
           GPtrArray *lines,
           const char *group,
           const char *key,
           const char *value)
{
  TrellisKeyFilePosition where;
  TrellisKeyFileGroupSpan span;

  if (trellis_key_file_lines_find (edit->lines, group, key, &where))
    {
      const char *line = lines->pdata[where.line - 1], *old, *tail;
      char *next;

      if (value == NULL)
        {
          g_ptr_array_remove_index (lines, where.line - 1);
          return;
        }
      line_cut (line, where.col, &old, &tail);
      next = g_strdup_printf ("%.*s%s%s%s", (int) (old - line), line, value,
                              *tail == '#' ? " " : "", tail);
      g_free (lines->pdata[where.line - 1]);
      lines->pdata[where.line - 1] = next;
      return;
    }
  if (value == NULL)
    return;
  g_assert (trellis_key_file_lines_get_span (edit->lines, group, &span));
  {
    const char *after = lines->pdata[span.last_key - 1];
    gsize indent = span.last_key != span.header ? strspn (after, " \t") : 0;
    gboolean cr = *after != '\0' && after[strlen (after) - 1] == '\r';

    g_ptr_array_insert (lines, span.last_key,
                        g_strdup_printf ("%.*s%s = %s%s", (int) indent, after, key, value,
                                         cr ? "\r" : ""));
  }
}

/* The line of @old_key in [@group] (which is there) becomes @key =
 * @value, spaced and commented as it was: "age = 9  # x" becomes
 * "birth = 2015-01  # x". */
static void
lines_rename (TrellisHouseholdEdit *edit,
              GPtrArray *lines,
              const char *group,
              const char *old_key,
              const char *key,
              const char *value)
{
  TrellisKeyFilePosition where;
  const char *line, *key_start, *key_end, *old, *tail;

  g_assert (trellis_key_file_lines_find (edit->lines, group, old_key, &where));
  line = lines->pdata[where.line - 1];
  key_start = g_utf8_offset_to_pointer (line, where.key_col - 1);
  key_end = key_start + strlen (old_key);
  line_cut (line, where.col, &old, &tail);
  lines->pdata[where.line - 1] = g_strdup_printf ("%.*s%s%.*s%s%s%s", (int) (key_start - line), line,
                                                  key, (int) (old - key_end), key_end, value,
                                                  *tail == '#' ? " " : "", tail);
  g_free ((char *) line);
}

/* The items of a ';' list value, trimmed, empty ones left out. */
static GPtrArray *
items_split (const char *value)
{
  g_auto(GStrv) parts = g_strsplit (value != NULL ? value : "", ";", -1);
  GPtrArray *items = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i] != '\0')
        g_ptr_array_add (items, g_strdup (parts[i]));
    }
  return items;
}

static gboolean
items_contain (GPtrArray *items,
               const char *item)
{
  for (guint i = 0; i < items->len; i++)
    if (g_ascii_strcasecmp (items->pdata[i], item) == 0)
      return TRUE;
  return FALSE;
}

/* @item added to the list @key of [@group] in @lines (unless it is there),
 * written after the others with the separator they use. */
static void
lines_list_add (TrellisHouseholdEdit *edit,
                GPtrArray *lines,
                const char *group,
                const char *key,
                const char *item)
{
  g_autofree char *value = value_get (edit, lines, group, key);
  g_autoptr(GPtrArray) items = items_split (value);
  g_autofree char *next = NULL;

  if (items_contain (items, item))
    return;
  if (items->len == 0)
    next = g_strdup (item);
  else
    next = g_strconcat (value, g_str_has_suffix (value, ";") ? "" : (strstr (value, "; ") != NULL ? "; " : ";"),
                        item, NULL);
  lines_set (edit, lines, group, key, next);
}

/* @item out of the list @key of [@group]; the key goes with its last item. */
static void
lines_list_remove (TrellisHouseholdEdit *edit,
                   GPtrArray *lines,
                   const char *group,
                   const char *key,
                   const char *item)
{
  g_autofree char *value = value_get (edit, lines, group, key);
  g_autoptr(GPtrArray) items = items_split (value);
  g_autoptr(GString) next = g_string_new (NULL);
  const char *sep;

  if (!items_contain (items, item))
    return;
  sep = strstr (value, "; ") != NULL ? "; " : ";";
  for (guint i = 0; i < items->len; i++)
    {
      if (g_ascii_strcasecmp (items->pdata[i], item) == 0)
        continue;
      if (next->len > 0)
        g_string_append (next, sep);
      g_string_append (next, items->pdata[i]);
    }
  lines_set (edit, lines, group, key, next->len > 0 ? next->str : NULL);
}

/* [@group] appended, after a blank line. */
static void
lines_group_add (GPtrArray *lines,
                 const char *group)
{
  /* A text that ends with "\n" has an empty last element: insert before it. */
  gboolean final_newline = lines->len > 1 && *(const char *) lines->pdata[lines->len - 1] == '\0';
  guint at = final_newline ? lines->len - 1 : lines->len;

  if (lines->len == 1 && *(const char *) lines->pdata[0] == '\0')
    {
      /* An empty text: the header is the first line. */
      g_ptr_array_insert (lines, 0, g_strdup_printf ("[%s]", group));
      return;
    }
  if (at > 0 && !line_is_blank (lines->pdata[at - 1]))
    g_ptr_array_insert (lines, at++, g_strdup (""));
  g_ptr_array_insert (lines, at, g_strdup_printf ("[%s]", group));
  if (!final_newline)
    g_ptr_array_insert (lines, at + 1, g_strdup (""));
}

static void
lines_group_remove (TrellisHouseholdEdit *edit,
                    GPtrArray *lines,
                    const char *group)
{
  TrellisKeyFileGroupSpan span;
  guint first, n;

  g_assert (trellis_key_file_lines_get_span (edit->lines, group, &span));
  first = span.header - 1;
  n = span.last_key - span.header + 1;
  g_ptr_array_remove_range (lines, first, n);
  /* One blank line between what was before and after it, not two; none
   * at the end.  (A text that ends with "\n" has an empty last element.) */
  if (first + 1 == lines->len && *(const char *) lines->pdata[first] == '\0')
    {
      if (first > 0 && line_is_blank (lines->pdata[first - 1]))
        g_ptr_array_remove_index (lines, first - 1);
    }
  else if (first < lines->len && line_is_blank (lines->pdata[first])
           && (first == 0 || line_is_blank (lines->pdata[first - 1])))
    g_ptr_array_remove_index (lines, first);
}

/* ------------------------------------------------------------------------ */

static gboolean
key_is_settable (const char *key)
{
  return key != NULL && g_strv_contains (trellis_household_settable_keys, key);
}

/* One step of a change: @key = @value (NULL: removed) in [@group]. */
static gboolean
step_set (TrellisHouseholdEdit *edit,
          const char *group,
          const char *key,
          const char *value,
          GError **error)
{
  g_autoptr(GPtrArray) lines = lines_split (edit);

  lines_set (edit, lines, group, key, value);
  return lines_commit (edit, lines, error);
}

static gboolean
step_list (TrellisHouseholdEdit *edit,
           const char *group,
           const char *key,
           const char *item,
           gboolean add,
           GError **error)
{
  g_autoptr(GPtrArray) lines = lines_split (edit);

  if (add)
    lines_list_add (edit, lines, group, key, item);
  else
    lines_list_remove (edit, lines, group, key, item);
  return lines_commit (edit, lines, error);
}

/* A value the change needs: given, not empty, and writable. */
static gboolean
check_needed (const char *value,
              const char *what,
              const char *missing,
              gboolean item,
              GError **error)
{
  if (value == NULL || *value == '\0')
    return invalid (error, "%s", missing);
  return check_value (value, what, item, error);
}

/* The steps of @change, on the text as it is; the caller undoes them all
 * when one fails. */
static gboolean
apply_steps (TrellisHouseholdEdit *edit,
             const TrellisHouseholdChange *change,
             const char *group,
             GError **error)
{
  g_autoptr(GPtrArray) lines = NULL;

  switch (change->op)
    {
    case TRELLIS_HOUSEHOLD_ADD_CHILD:
      if (change->key == NULL || (strcmp (change->key, "age") != 0 && strcmp (change->key, "birth") != 0))
        return invalid (error, _ ("a new child needs an age or a birth month"));
      if (!check_needed (change->value, change->key, _ ("a new child needs an age or a birth month"),
                         TRUE, error)
          || !check_needed (change->account, _ ("account"),
                            _ ("a new child needs a Linux account (--account USER)"), TRUE, error))
        return FALSE;
      lines = lines_split (edit);
      lines_group_add (lines, group);
      return lines_commit (edit, lines, error)
             && step_set (edit, group, change->key, change->value, error)
             && step_set (edit, group, "accounts", change->account, error);

    case TRELLIS_HOUSEHOLD_REMOVE_CHILD:
      lines = lines_split (edit);
      lines_group_remove (edit, lines, group);
      return lines_commit (edit, lines, error);

    case TRELLIS_HOUSEHOLD_SET_CHILD:
      if (!key_is_settable (change->key) || !key_is_writable (change->key))
        return invalid (error, _ ("“%s” is not a key trellis child set can change"),
                        change->key != NULL ? change->key : "");
      if (change->value == NULL)
        return invalid (error, _ ("no value given"));
      if (!check_value (change->value, _ ("value"), FALSE, error))
        return FALSE;
      if (*change->value == '\0')
        return step_set (edit, group, change->key, NULL, error);
      /* One of age= and birth= says how old the child is: the one given
       * takes the other's line. */
      if (strcmp (change->key, "age") == 0 || strcmp (change->key, "birth") == 0)
        {
          const char *other = strcmp (change->key, "age") == 0 ? "birth" : "age";
          TrellisKeyFilePosition where;

          if (!trellis_key_file_lines_find (edit->lines, group, change->key, &where)
              && trellis_key_file_lines_find (edit->lines, group, other, &where))
            {
              lines = lines_split (edit);
              lines_rename (edit, lines, group, other, change->key, change->value);
              return lines_commit (edit, lines, error);
            }
          return step_set (edit, group, change->key, change->value, error)
                 && step_set (edit, group, other, NULL, error);
        }
      return step_set (edit, group, change->key, change->value, error);

    case TRELLIS_HOUSEHOLD_ALLOW:
    case TRELLIS_HOUSEHOLD_DENY:
      {
        gboolean allow = change->op == TRELLIS_HOUSEHOLD_ALLOW;

        if (!check_needed (change->value, _ ("name"), _ ("no name given"), TRUE, error))
          return FALSE;
        /* In one list, out of the other. */
        return step_list (edit, group, allow ? "deny" : "allow", change->value, FALSE, error)
               && step_list (edit, group, allow ? "allow" : "deny", change->value, TRUE, error);
      }
    }
  g_assert_not_reached ();
}

gboolean
trellis_household_edit_apply (TrellisHouseholdEdit *edit,
                              const TrellisHouseholdChange *change,
                              GError **error)
{
  g_autofree char *group = NULL;
  g_autoptr(GString) saved = NULL;
  TrellisKeyFileGroupSpan span;
  gboolean exists;

  g_return_val_if_fail (edit != NULL && change != NULL && change->child != NULL, FALSE);

  if (!trellis_household_child_name_is_writable (change->child))
    return invalid (error, _ ("“%s” cannot be a child's name: one word of letters, digits, “-”, “_” and “.”, at most %d bytes"),
                    change->child, NAME_MAX_BYTES);
  group = g_strconcat ("child ", change->child, NULL);
  exists = trellis_key_file_lines_get_span (edit->lines, group, &span);
  if (change->op == TRELLIS_HOUSEHOLD_ADD_CHILD && exists)
    {
      g_set_error (error, TRELLIS_HOUSEHOLD_EDIT_ERROR, TRELLIS_HOUSEHOLD_EDIT_ERROR_EXISTS,
                   _ ("there is already a child named %s"), change->child);
      return FALSE;
    }
  if (change->op != TRELLIS_HOUSEHOLD_ADD_CHILD && !exists)
    {
      g_set_error (error, TRELLIS_HOUSEHOLD_EDIT_ERROR, TRELLIS_HOUSEHOLD_EDIT_ERROR_NOT_FOUND,
                   _ ("there is no child named %s in the household"), change->child);
      return FALSE;
    }

  saved = g_string_new_len (edit->text->str, edit->text->len);
  if (apply_steps (edit, change, group, error))
    return TRUE;
  /* All or nothing. */
  g_string_free (edit->text, TRUE);
  edit->text = g_steal_pointer (&saved);
  trellis_key_file_lines_free (edit->lines);
  edit->lines = scan (edit->text->str, edit->text->len, edit->file, NULL);
  g_assert (edit->lines != NULL);
  return FALSE;
}
