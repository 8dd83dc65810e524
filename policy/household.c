/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * household.c — reading and validating the household file.
 *
 * The file is a GKeyFile.  GKeyFile gives the groups, keys and values but no
 * line numbers, so a light scan of the raw text first maps every group and
 * key to the line and column of its value; the scan also catches the lines
 * GKeyFile would refuse, so that they too get a line number.  Every problem
 * of the file is collected and reported at once, one per line, as
 * "FILE:LINE:COL: message", sorted by position.
 *
 * A value may end with a comment: "parents = mum;dad   # the parents".
 * GKeyFile keeps such a comment as part of the value, so it is cut here: a
 * '#' that starts the value or follows a space or tab begins a comment.
 * Lists are separated by ';'.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"

G_DEFINE_QUARK (trellis-policy-error-quark, trellis_policy_error)

#define ADULT_AGE TRELLIS_ADULT_AGE

static const char *const household_keys[] = {
  "parents", "on-failure", "timezone", "default-profile", "log-retention-days", NULL
};

static const char *const child_keys[] = {
  "age", "birth", "accounts", "devices", "block", "allow", "deny",
  "quiet-hours", "safe-search", "mode", NULL
};

/* Names that would let a browser go around the filter: the Firefox canary
 * for DNS-over-HTTPS, iCloud Private Relay, and discovery of designated
 * resolvers (RFC 9462; only its _dns label, so resolver.arpa itself is
 * untouched). */
static const char *const integrity_domains[] = {
  "use-application-dns.net",
  "mask.icloud.com",
  "mask-h2.icloud.com",
  "_dns.resolver.arpa",
  NULL
};

/* ------------------------------------------------------------------------ */
/* Problems: collected, then sorted and joined into one GError. */

typedef struct {
  guint  file_rank;  /* 0: the household file, 1: the helplines */
  guint  line;       /* 0 for the whole file */
  guint  col;
  guint  seq;
  char  *text;       /* (owned) the full "FILE:LINE:COL: message" */
} Problem;

typedef struct {
  const char     *file;             /* the household file's name in messages */
  GArray         *problems;         /* (owned) Problem */
  GArray         *warnings;         /* (owned) Problem */
  gboolean        io_failed;
  gboolean        syntax_failed;

  GKeyFile       *key_file;         /* (owned) */
  GHashTable     *where;            /* (owned) "group" or "group\037key" (owned) → Entry (owned) */
  TrellisPolicy  *policy;           /* (owned) being built */
  GHashTable     *account_owner;    /* (owned) account (owned) → TrellisChild */
  GHashTable     *account_where;    /* (owned) account (owned) → Entry (owned): where it was listed */
} Loader;

typedef struct {
  guint  line;
  guint  col;      /* 1-based, in characters, of the value (or of '[' for a group) */
  guint  key_col;  /* 1-based, of the key (or of '[' for a group) */
} Entry;

static void
problem_clear (gpointer data)
{
  Problem *problem = data;

  g_free (problem->text);
}

/* Adds a problem at @line:@col (line 0: about the file as a whole) to @to. */
static void
problem_add (GArray     *to,
             guint       file_rank,
             const char *file,
             guint       line,
             guint       col,
             gboolean    warning,
             const char *message)
{
  Problem problem = { 0 };

  problem.file_rank = file_rank;
  problem.line = line;
  problem.col = col;
  problem.seq = to->len;
  if (line == 0)
    problem.text = g_strdup_printf ("%s: %s", file, message);
  else if (warning)
    /* Translators: a warning about a line of the household file; the first
     * %s is "FILE:LINE:COL", the second the warning itself. */
    problem.text = g_strdup_printf (_("%s:%u:%u: warning: %s"), file, line, MAX (col, 1), message);
  else
    problem.text = g_strdup_printf ("%s:%u:%u: %s", file, line, MAX (col, 1), message);
  g_array_append_val (to, problem);
}

static void G_GNUC_PRINTF (6, 7)
report_full (Loader     *loader,
             guint       file_rank,
             const char *file,
             guint       line,
             guint       col,
             const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  problem_add (loader->problems, file_rank, file, line, col, FALSE, message);
}

#define report(loader, line, col, ...) \
  report_full ((loader), 0, (loader)->file, (line), (col), __VA_ARGS__)

/* A problem of a shipped data file, already "FILE:LINE:COL: message". */
static void
report_data (Loader *loader,
             char   *text)
{
  Problem problem = { 0 };

  problem.file_rank = 1;
  problem.seq = loader->problems->len;
  problem.text = text;
  g_array_append_val (loader->problems, problem);
}

/* Legal, but probably not what the household meant. */
static void G_GNUC_PRINTF (4, 5)
warn (Loader     *loader,
      guint       line,
      guint       col,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  problem_add (loader->warnings, 0, loader->file, line, col, TRUE, message);
}

static int
problem_compare (gconstpointer a,
                 gconstpointer b)
{
  const Problem *pa = a, *pb = b;

  if (pa->file_rank != pb->file_rank)
    return pa->file_rank < pb->file_rank ? -1 : 1;
  if (pa->line != pb->line)
    return pa->line < pb->line ? -1 : 1;
  if (pa->col != pb->col)
    return pa->col < pb->col ? -1 : 1;
  return pa->seq < pb->seq ? -1 : (pa->seq > pb->seq);
}

static void
loader_set_error (Loader  *loader,
                  GError **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  TrellisPolicyError code;
  guint i;

  g_array_sort (loader->problems, problem_compare);
  for (i = 0; i < loader->problems->len; i++)
    {
      if (i > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, g_array_index (loader->problems, Problem, i).text);
    }

  if (loader->io_failed)
    code = TRELLIS_POLICY_ERROR_IO;
  else if (loader->syntax_failed)
    code = TRELLIS_POLICY_ERROR_SYNTAX;
  else
    code = TRELLIS_POLICY_ERROR_INVALID;
  g_set_error_literal (error, TRELLIS_POLICY_ERROR, code, text->str);
}

/* ------------------------------------------------------------------------ */
/* Small helpers. */

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

/* The closest of @candidates to @word, if it is at most 2 edits away. */
static const char *
closest (const char         *word,
         const char *const  *candidates)
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

static char *
where_key (const char *group,
           const char *key)
{
  return key != NULL ? g_strconcat (group, "\037", key, NULL) : g_strdup (group);
}

static Entry
entry_lookup (Loader     *loader,
              const char *group,
              const char *key)
{
  g_autofree char *k = where_key (group, key);
  const Entry *entry = g_hash_table_lookup (loader->where, k);
  Entry none = { 1, 1, 1 };

  return entry != NULL ? *entry : none;
}

/* Cuts a trailing " # comment" and trailing space, in place. */
static void
strip_comment (char *value)
{
  char *p;

  for (p = value; *p != '\0'; p++)
    if (*p == '#' && (p == value || p[-1] == ' ' || p[-1] == '\t'))
      {
        *p = '\0';
        break;
      }
  g_strchomp (value);
}

/* One element of a ';' list, with its column in the file. */
typedef struct {
  char  *text;  /* (owned) trimmed */
  guint  col;
} Item;

static void
item_clear (gpointer data)
{
  g_free (((Item *) data)->text);
}

/* The value of @key without its comment, or NULL when the key is absent. */
static char *
value_get (Loader     *loader,
           const char *group,
           const char *key)
{
  char *value = g_key_file_get_value (loader->key_file, group, key, NULL);

  if (value != NULL)
    strip_comment (value);
  return value;
}

/* Splits @value at ';' into trimmed, non-empty items. */
static GArray *
value_split (const char *value,
             Entry       entry)
{
  GArray *items = g_array_new (FALSE, TRUE, sizeof (Item));
  const char *start = value;

  g_array_set_clear_func (items, item_clear);
  while (start != NULL)
    {
      const char *end = strchr (start, ';');
      const char *a = start, *b = end != NULL ? end : start + strlen (start);

      while (a < b && g_ascii_isspace (*a))
        a++;
      while (b > a && g_ascii_isspace (b[-1]))
        b--;
      if (b > a)
        {
          Item item;

          item.text = g_strndup (a, b - a);
          item.col = entry.col + g_utf8_strlen (value, a - value);
          g_array_append_val (items, item);
        }
      start = end != NULL ? end + 1 : NULL;
    }
  return items;
}

static gboolean
account_name_is_valid (const char *name)
{
  gsize len = strlen (name), i;

  if (len == 0 || len > 32 || name[0] == '-')
    return FALSE;
  for (i = 0; i < len; i++)
    {
      char c = name[i];

      if (!g_ascii_isalnum (c) && c != '_' && c != '-' && c != '.'
          && !(c == '$' && i == len - 1))
        return FALSE;
    }
  return TRUE;
}

static gboolean
child_name_is_valid (const char *name)
{
  const char *p;

  if (*name == '\0' || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  for (p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c) || c == '[' || c == ']')
        return FALSE;
    }
  return TRUE;
}

static void
report_domain (Loader               *loader,
               guint                 file_rank,
               const char           *file,
               guint                 line,
               guint                 col,
               const char           *name,
               TrellisDomainProblem  problem)
{
  const char *rest = name;

  switch (problem)
    {
    case TRELLIS_DOMAIN_WILDCARD:
      while (*rest == '*' || *rest == '.')
        rest++;
      report_full (loader, file_rank, file, line, col,
                   _("“%s”: write %s: a rule covers every name below it"), name, rest);
      break;
    case TRELLIS_DOMAIN_BAD_CHAR:
      if (strpbrk (name, ", \t") != NULL)
        report_full (loader, file_rank, file, line, col,
                     _("“%s” is not a domain name: separate domains with “;”"), name);
      else
        report_full (loader, file_rank, file, line, col,
                     _("“%s” is not a domain name: only letters, digits, “-” and “_” may appear in it"),
                     name);
      break;
    case TRELLIS_DOMAIN_EMPTY_LABEL:
      report_full (loader, file_rank, file, line, col,
                   _("“%s” is not a domain name: it has two dots in a row or starts with a dot"),
                   name);
      break;
    case TRELLIS_DOMAIN_LABEL_TOO_LONG:
      report_full (loader, file_rank, file, line, col,
                   _("“%s” is not a domain name: a part between dots is longer than 63 characters"),
                   name);
      break;
    case TRELLIS_DOMAIN_TOO_LONG:
      report_full (loader, file_rank, file, line, col,
                   _("“%s” is not a domain name: it is longer than 253 characters"), name);
      break;
    case TRELLIS_DOMAIN_BAD_IDN:
      report_full (loader, file_rank, file, line, col,
                   _("“%s” is not a domain name: it cannot be written as an international domain name"),
                   name);
      break;
    case TRELLIS_DOMAIN_EMPTY:
    case TRELLIS_DOMAIN_OK:
    default:
      report_full (loader, file_rank, file, line, col, _("an empty domain name"));
      break;
    }
}

/* ------------------------------------------------------------------------ */
/* Domains. */

TrellisDomainProblem
trellis_domain_check (const char  *name,
                      char       **ret_normalized)
{
  g_autofree char *copy = NULL;
  g_autofree char *ascii = NULL;
  gsize len, label_len = 0;
  const char *p;

  if (name == NULL || *name == '\0' || strcmp (name, ".") == 0)
    return TRELLIS_DOMAIN_EMPTY;
  if (g_str_has_prefix (name, "*.") || (name[0] == '.' && name[1] != '.' && name[1] != '\0'))
    return TRELLIS_DOMAIN_WILDCARD;

  copy = g_strdup (name);
  len = strlen (copy);
  if (copy[len - 1] == '.')
    copy[--len] = '\0';

  if (g_str_is_ascii (copy))
    ascii = g_ascii_strdown (copy, -1);
  else
    {
      g_autofree char *idn = NULL;

      if (!g_utf8_validate (copy, -1, NULL))
        return TRELLIS_DOMAIN_BAD_IDN;
      idn = g_hostname_to_ascii (copy);
      if (idn == NULL)
        return TRELLIS_DOMAIN_BAD_IDN;
      ascii = g_ascii_strdown (idn, -1);
    }

  for (p = ascii; ; p++)
    {
      if (*p == '.' || *p == '\0')
        {
          if (label_len == 0)
            return TRELLIS_DOMAIN_EMPTY_LABEL;
          if (label_len > 63)
            return TRELLIS_DOMAIN_LABEL_TOO_LONG;
          label_len = 0;
          if (*p == '\0')
            break;
        }
      else if (g_ascii_isalnum (*p) || *p == '-' || *p == '_')
        label_len++;
      else
        return TRELLIS_DOMAIN_BAD_CHAR;
    }
  if (strlen (ascii) > 253)
    return TRELLIS_DOMAIN_TOO_LONG;

  if (ret_normalized != NULL)
    *ret_normalized = g_steal_pointer (&ascii);
  return TRELLIS_DOMAIN_OK;
}

char *
trellis_domain_normalize (const char *name)
{
  char *normalized = NULL;

  if (trellis_domain_check (name, &normalized) != TRELLIS_DOMAIN_OK)
    return NULL;
  return normalized;
}

/* ------------------------------------------------------------------------ */
/* The policy object. */

static void
child_free (gpointer data)
{
  TrellisChild *child = data;

  g_strfreev (child->accounts);
  g_strfreev (child->devices);
  g_free (child->birth);
  g_strfreev (child->block);
  g_free (child->quiet_hours);
  g_free (child->safe_search);
  g_free (child->mode);
  trellis_matcher_free (child->rules);
  g_clear_pointer (&child->quiet, g_array_unref);
  g_free (child->category_rules);
  g_free (child);
}

static guint
policy_add_rule_full (TrellisPolicy   *policy,
                      TrellisRuleKind  kind,
                      const char      *pattern,
                      const char      *child,
                      const char      *category,
                      const char      *detail,
                      const char      *file,
                      guint            line)
{
  TrellisRule rule = { 0 };

  rule.id = policy->rules->len;
  rule.kind = kind;
  rule.pattern = g_string_chunk_insert_const (policy->strings, pattern);
  rule.child = child != NULL ? g_string_chunk_insert_const (policy->strings, child) : NULL;
  rule.category = category != NULL ? g_string_chunk_insert_const (policy->strings, category) : NULL;
  rule.detail = detail != NULL ? g_string_chunk_insert_const (policy->strings, detail) : NULL;
  rule.file = file != NULL ? g_string_chunk_insert_const (policy->strings, file) : NULL;
  rule.line = line;
  g_array_append_val (policy->rules, rule);
  return rule.id;
}

static guint
policy_add_rule (TrellisPolicy   *policy,
                 TrellisRuleKind  kind,
                 const char      *pattern,
                 const char      *child,
                 const char      *file,
                 guint            line)
{
  return policy_add_rule_full (policy, kind, pattern, child, NULL, NULL, file, line);
}

/* The system's zone from /etc/localtime, not from $TZ: a child who sets TZ
 * in a session must not move bedtime.  UTC when there is none. */
static GTimeZone *
system_zone (void)
{
  GTimeZone *tz = g_time_zone_new_identifier ("/etc/localtime");

  return tz != NULL ? tz : g_time_zone_new_utc ();
}

static TrellisPolicy *
policy_new (const char *file)
{
  TrellisPolicy *policy = g_new0 (TrellisPolicy, 1);
  guint i;

  g_atomic_ref_count_init (&policy->ref_count);
  policy->strings = g_string_chunk_new (1024);
  policy->file = g_string_chunk_insert_const (policy->strings, file);
  policy->log_retention_days = 7;
  policy->children = g_ptr_array_new_with_free_func (child_free);
  policy->rules = g_array_new (FALSE, TRUE, sizeof (TrellisRule));
  policy->helplines = g_array_new (FALSE, TRUE, sizeof (TrellisHelpline));
  policy->helpline_matcher = trellis_matcher_new ();
  policy->integrity_matcher = trellis_matcher_new ();
  policy->allowlist_matcher = trellis_matcher_new ();
  policy->categories = g_ptr_array_new_with_free_func (trellis_category_entry_free);
  policy->bands = g_ptr_array_new_with_free_func (g_free);
  policy->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (policy->warnings, NULL);
  policy->tz = system_zone ();

  policy_add_rule (policy, TRELLIS_RULE_KIND_DEFAULT, "", NULL, NULL, 0);
  for (i = 0; integrity_domains[i] != NULL; i++)
    trellis_matcher_insert (policy->integrity_matcher, integrity_domains[i],
                            policy_add_rule (policy, TRELLIS_RULE_KIND_INTEGRITY,
                                             integrity_domains[i], NULL, NULL, 0),
                            NULL);
  return policy;
}

TrellisPolicy *
trellis_policy_ref (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  g_atomic_ref_count_inc (&policy->ref_count);
  return policy;
}

void
trellis_policy_unref (TrellisPolicy *policy)
{
  g_return_if_fail (policy != NULL);
  if (!g_atomic_ref_count_dec (&policy->ref_count))
    return;
  g_strfreev (policy->parents);
  g_free (policy->timezone);
  g_free (policy->default_profile);
  g_ptr_array_unref (policy->children);
  g_array_unref (policy->rules);
  g_array_unref (policy->helplines);
  trellis_matcher_free (policy->helpline_matcher);
  trellis_matcher_free (policy->integrity_matcher);
  trellis_matcher_free (policy->allowlist_matcher);
  g_clear_pointer (&policy->tz, g_time_zone_unref);
  g_ptr_array_unref (policy->categories);
  g_ptr_array_unref (policy->bands);
  g_clear_pointer (&policy->index, trellis_domain_index_unref);
  g_clear_pointer (&policy->safe_search, trellis_safe_search_free);
  g_ptr_array_unref (policy->warnings);
  g_string_chunk_free (policy->strings);
  g_free (policy);
}

/* ------------------------------------------------------------------------ */
/* The line scan: positions for GKeyFile's groups and keys, and the lines
 * GKeyFile would refuse. */

static void
scan (Loader     *loader,
      const char *data,
      gsize       length)
{
  g_autofree char *group = NULL;
  const char *line_start = data, *end = data + length;
  guint line_no = 0;

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

      /* A NUL byte makes the copy shorter than the line. */
      if (strlen (line) != line_len || !g_utf8_validate (line, -1, NULL))
        {
          loader->syntax_failed = TRUE;
          report (loader, line_no, 1, _("this line is not text (UTF-8)"));
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
          const Entry *first;
          Entry *entry;
          gsize len = strlen (text);

          if (text[len - 1] != ']' || len < 3 || memchr (text + 1, ']', len - 2) != NULL)
            {
              loader->syntax_failed = TRUE;
              report (loader, line_no, text - line + 1,
                      _("a section header is written [NAME], with nothing after the “]”"));
              continue;
            }
          g_free (group);
          group = g_strndup (text + 1, len - 2);
          first = g_hash_table_lookup (loader->where, group);
          if (first != NULL)
            {
              loader->syntax_failed = TRUE;
              report (loader, line_no, text - line + 1,
                      _("the section [%s] appears twice (first on line %u): merge them"),
                      group, first->line);
              continue;
            }
          entry = g_new0 (Entry, 1);
          entry->line = line_no;
          entry->col = g_utf8_strlen (line, text - line) + 1;
          entry->key_col = entry->col;
          g_hash_table_insert (loader->where, g_strdup (group), entry);
        }
      else
        {
          const char *eq = strchr (text, '=');
          g_autofree char *key = NULL;
          g_autofree char *k = NULL;
          const char *value;
          const Entry *first;
          Entry *entry;

          if (eq == NULL || eq == text)
            {
              loader->syntax_failed = TRUE;
              report (loader, line_no, text - line + 1,
                      _("this line is not a [section], a key = value or a # comment"));
              continue;
            }
          if (group == NULL)
            {
              loader->syntax_failed = TRUE;
              report (loader, line_no, text - line + 1,
                      _("this key comes before any section: start the file with [household]"));
              continue;
            }
          key = g_strstrip (g_strndup (text, eq - text));
          value = eq + 1;
          while (g_ascii_isspace (*value))
            value++;

          k = where_key (group, key);
          first = g_hash_table_lookup (loader->where, k);
          if (first != NULL)
            {
              loader->syntax_failed = TRUE;
              report (loader, line_no, text - line + 1,
                      _("“%s” is set twice in [%s] (first on line %u): keep one"),
                      key, group, first->line);
              continue;
            }
          entry = g_new0 (Entry, 1);
          entry->line = line_no;
          entry->col = g_utf8_strlen (line, value - line) + 1;
          entry->key_col = g_utf8_strlen (line, text - line) + 1;
          g_hash_table_insert (loader->where, g_steal_pointer (&k), entry);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* [household] */

static void
report_unknown_key (Loader             *loader,
                    const char         *group,
                    const char         *key,
                    const char *const  *known,
                    const char *const  *elsewhere,
                    const char         *elsewhere_group)
{
  Entry entry = entry_lookup (loader, group, key);
  const char *suggestion = closest (key, known);

  if (g_strv_contains (elsewhere, key))
    report (loader, entry.line, entry.key_col, _("“%s” belongs in [%s], not in [%s]"),
            key, elsewhere_group, group);
  else if (suggestion != NULL)
    report (loader, entry.line, entry.key_col, _("unknown key “%s” in [%s]; did you mean “%s”?"),
            key, group, suggestion);
  else
    report (loader, entry.line, entry.key_col, _("unknown key “%s” in [%s]"), key, group);
}

static gboolean
account_list_contains (GPtrArray  *accounts,
                       const char *account)
{
  guint i;

  for (i = 0; i < accounts->len; i++)
    if (strcmp (g_ptr_array_index (accounts, i), account) == 0)
      return TRUE;
  return FALSE;
}

/* Reads a list of accounts, NULL-terminated, leaving the bad ones out; NULL
 * when @key is absent.  @ret_items gets every item as written. */
static char **
read_accounts (Loader     *loader,
               const char *group,
               const char *key,
               GArray    **ret_items)
{
  g_autofree char *value = value_get (loader, group, key);
  Entry entry = entry_lookup (loader, group, key);
  g_autoptr(GArray) items = NULL;
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_free);
  guint i;

  if (value == NULL)
    return NULL;
  items = value_split (value, entry);
  for (i = 0; i < items->len; i++)
    {
      Item *item = &g_array_index (items, Item, i);

      if (!account_name_is_valid (item->text))
        report (loader, entry.line, item->col,
                _("“%s” is not a Linux account name (letters, digits, “.”, “_” and “-”, at most 32)"),
                item->text);
      else if (account_list_contains (accounts, item->text))
        report (loader, entry.line, item->col, _("the account “%s” is listed twice"), item->text);
      else
        g_ptr_array_add (accounts, g_strdup (item->text));
    }
  g_ptr_array_add (accounts, NULL);
  if (ret_items != NULL)
    *ret_items = g_steal_pointer (&items);
  return (char **) g_ptr_array_free (g_steal_pointer (&accounts), FALSE);
}

static gboolean
parse_uint (const char *text,
            guint       max,
            guint      *ret_value)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 0, max, &value, NULL))
    return FALSE;
  *ret_value = value;
  return TRUE;
}

static void
parse_household (Loader *loader)
{
  const char *group = "household";
  TrellisPolicy *policy = loader->policy;
  g_auto(GStrv) keys = g_key_file_get_keys (loader->key_file, group, NULL, NULL);
  g_autofree char *on_failure = NULL;
  g_autofree char *timezone = NULL;
  g_autofree char *retention = NULL;
  g_autofree char *profile = NULL;
  guint i;

  for (i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (household_keys, keys[i]))
      report_unknown_key (loader, group, keys[i], household_keys, child_keys, "child NAME");

  policy->parents = read_accounts (loader, group, "parents", NULL);
  if (policy->parents == NULL)
    {
      Entry header = entry_lookup (loader, group, NULL);

      report (loader, header.line, header.col,
              _("[household] needs parents = the accounts of the parents (they are never filtered)"));
    }
  else if (policy->parents[0] == NULL && g_key_file_has_key (loader->key_file, group, "parents", NULL))
    {
      Entry entry = entry_lookup (loader, group, "parents");
      g_autofree char *value = value_get (loader, group, "parents");

      if (*value == '\0')
        report (loader, entry.line, entry.col,
                _("parents = is empty: list at least one parent account"));
    }

  on_failure = value_get (loader, group, "on-failure");
  if (on_failure != NULL)
    {
      Entry entry = entry_lookup (loader, group, "on-failure");

      if (strcmp (on_failure, "open") == 0)
        policy->on_failure_open = TRUE;
      else if (strcmp (on_failure, "closed") != 0)
        report (loader, entry.line, entry.col,
                _("on-failure must be “closed” or “open”, not “%s”"), on_failure);
    }

  timezone = value_get (loader, group, "timezone");
  if (timezone != NULL)
    {
      Entry entry = entry_lookup (loader, group, "timezone");
      GTimeZone *tz = NULL;

      if (*timezone != '\0' && *timezone != '/' && strstr (timezone, "..") == NULL)
        tz = g_time_zone_new_identifier (timezone);
      if (tz == NULL)
        report (loader, entry.line, entry.col,
                _("“%s” is not a time zone this system knows; write one like Europe/Paris"),
                timezone);
      else
        {
          g_clear_pointer (&policy->tz, g_time_zone_unref);
          policy->tz = tz;
          policy->timezone = g_steal_pointer (&timezone);
        }
    }

  profile = value_get (loader, group, "default-profile");
  if (profile != NULL)
    policy->default_profile = g_steal_pointer (&profile);  /* checked once the children are known */

  retention = value_get (loader, group, "log-retention-days");
  if (retention != NULL)
    {
      Entry entry = entry_lookup (loader, group, "log-retention-days");

      if (!parse_uint (retention, 365, &policy->log_retention_days))
        report (loader, entry.line, entry.col,
                _("log-retention-days must be a number of days from 0 to 365, not “%s”"),
                retention);
    }
}

/* ------------------------------------------------------------------------ */
/* [child NAME] */

static gboolean
device_is_valid (const char *text)
{
  g_autoptr(GInetAddress) address = NULL;
  guint i;

  if (strlen (text) == 17)
    {
      for (i = 0; i < 17; i++)
        if (i % 3 == 2 ? (text[i] != ':' && text[i] != '-') : !g_ascii_isxdigit (text[i]))
          break;
      if (i == 17)
        return TRUE;
    }
  address = g_inet_address_new_from_string (text);
  if (address != NULL)
    return TRUE;
  return trellis_cidr_is_valid (text);
}

static void
child_check_birth (Loader       *loader,
                   TrellisChild *child,
                   const char   *group,
                   const char   *birth)
{
  Entry entry = entry_lookup (loader, group, "birth");
  g_autoptr(GDateTime) now = g_date_time_new_now (loader->policy->tz);
  guint64 year, month, day = 1;
  g_auto(GStrv) parts = g_strsplit (birth, "-", 0);
  guint n = g_strv_length (parts);
  int age;

  if ((n != 2 && n != 3)
      || strlen (parts[0]) != 4 || !g_ascii_string_to_unsigned (parts[0], 10, 1900, 9999, &year, NULL)
      || strlen (parts[1]) != 2 || !g_ascii_string_to_unsigned (parts[1], 10, 1, 12, &month, NULL)
      || (n == 3 && (strlen (parts[2]) != 2
                     || !g_ascii_string_to_unsigned (parts[2], 10, 1, 31, &day, NULL)))
      || !g_date_valid_dmy (day, month, year))
    {
      report (loader, entry.line, entry.col,
              _("birth must be a year and month like 2016-05 (or a date like 2016-05-21), not “%s”"),
              birth);
      return;
    }

  age = g_date_time_get_year (now) - (int) year;
  if ((guint) g_date_time_get_month (now) < month
      || ((guint) g_date_time_get_month (now) == month && (guint) g_date_time_get_day_of_month (now) < day))
    age--;
  if (age < 0)
    report (loader, entry.line, entry.col, _("birth %s is in the future"), birth);
  else if (age >= ADULT_AGE)
    /* Translators: GC25: a filter for a child is not a filter for an
     * adult.  %s is a date as written (2005-03), then a name, then an age. */
    report (loader, entry.line, entry.col,
            _("born %s, %s is %d: Trellis does not filter adults: remove this section"),
            birth, child->name, age);
  else
    {
      child->birth = g_strdup (birth);
      child->birth_year = year;
      child->birth_month = month;
      child->birth_day = day;
    }
}

static void
report_unknown_category (Loader     *loader,
                         guint       line,
                         guint       col,
                         const char *id)
{
  TrellisPolicy *policy = loader->policy;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autofree char *all = NULL;
  const char *suggestion;
  guint i;

  for (i = 0; i < policy->categories->len; i++)
    g_ptr_array_add (ids, (gpointer) ((TrellisCategoryEntry *) g_ptr_array_index (policy->categories, i))->pub.id);
  g_ptr_array_add (ids, NULL);
  suggestion = closest (id, (const char *const *) ids->pdata);
  if (suggestion != NULL)
    report (loader, line, col, _("there is no category “%s”; did you mean “%s”?"), id, suggestion);
  else
    {
      all = g_strjoinv (", ", (char **) ids->pdata);
      report (loader, line, col, _("there is no category “%s”; the categories are: %s"), id, all);
    }
}

static void
child_read_domains (Loader          *loader,
                    TrellisChild    *child,
                    const char      *group,
                    const char      *key,
                    TrellisRuleKind  kind)
{
  TrellisPolicy *policy = loader->policy;
  g_autofree char *value = value_get (loader, group, key);
  Entry entry = entry_lookup (loader, group, key);
  g_autoptr(GArray) items = NULL;
  guint i;

  if (value == NULL)
    return;
  items = value_split (value, entry);
  for (i = 0; i < items->len; i++)
    {
      Item *item = &g_array_index (items, Item, i);
      g_autofree char *domain = NULL;
      TrellisDomainProblem problem = trellis_domain_check (item->text, &domain);
      guint existing;

      if (problem != TRELLIS_DOMAIN_OK)
        {
          report_domain (loader, 0, loader->file, entry.line, item->col, item->text, problem);
          continue;
        }
      if (!trellis_matcher_insert (child->rules, domain, policy->rules->len, &existing))
        {
          const TrellisRule *first = &g_array_index (policy->rules, TrellisRule, existing);

          if (first->kind == kind)
            report (loader, entry.line, item->col,
                    _("%s is listed twice (also on line %u)"), domain, first->line);
          else
            warn (loader, entry.line, item->col,
                  _("%s is in both allow= and deny= (the other on line %u): allow= wins; keep one"),
                  domain, first->line);
          continue;
        }
      policy_add_rule (policy, kind, domain, child->name, loader->file, entry.line);
    }
}

static void
parse_child (Loader     *loader,
             const char *group)
{
  TrellisPolicy *policy = loader->policy;
  Entry header = entry_lookup (loader, group, NULL);
  g_auto(GStrv) keys = g_key_file_get_keys (loader->key_file, group, NULL, NULL);
  g_autofree char *name = g_strstrip (g_strdup (group + strlen ("child")));
  g_autofree char *age = NULL;
  g_autofree char *birth = NULL;
  g_autofree char *devices = NULL;
  g_autofree char *block = NULL;
  g_autoptr(GArray) account_items = NULL;
  TrellisChild *child;
  guint n_devices_written = 0;
  guint i;

  if (!child_name_is_valid (name))
    {
      report (loader, header.line, header.col,
              _("a child's section is written [child NAME], with a one-word NAME"));
      return;
    }
  if (trellis_policy_find_child (policy, name) != NULL)
    {
      report (loader, header.line, header.col, _("there are two children named %s"), name);
      return;
    }

  child = g_new0 (TrellisChild, 1);
  child->name = g_string_chunk_insert_const (policy->strings, name);
  child->line = header.line;
  child->age = -1;
  child->rules = trellis_matcher_new ();
  child->quiet = g_array_new (FALSE, TRUE, sizeof (TrellisQuietWindow));
  g_ptr_array_add (policy->children, child);

  for (i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (child_keys, keys[i]))
      report_unknown_key (loader, group, keys[i], child_keys, household_keys, "household");

  age = value_get (loader, group, "age");
  if (age != NULL)
    {
      Entry entry = entry_lookup (loader, group, "age");
      guint64 years;

      if (!g_ascii_string_to_unsigned (age, 10, 0, G_MAXUINT16, &years, NULL))
        report (loader, entry.line, entry.col,
                _("age must be a whole number of years from 0 to 17, not “%s”"), age);
      else if (years >= ADULT_AGE)
        /* Translators: GC25: Trellis filters children only. */
        report (loader, entry.line, entry.col,
                _("age %s: Trellis does not filter adults: remove this section, or give a child's age (0 to 17)"),
                age);
      else
        child->age = years;
    }

  birth = value_get (loader, group, "birth");
  if (birth != NULL)
    {
      if (age != NULL)
        {
          Entry entry = entry_lookup (loader, group, "birth");

          report (loader, entry.line, entry.key_col, _("write age = or birth =, not both"));
        }
      else
        child_check_birth (loader, child, group, birth);
    }
  else if (age == NULL)
    report (loader, header.line, header.col,
            _("[child %s] needs age = (0 to 17) or birth = (like 2016-05): the age chooses what is filtered"),
            child->name);

  child->accounts = read_accounts (loader, group, "accounts", &account_items);
  for (i = 0; account_items != NULL && i < account_items->len; i++)
    {
      Item *item = &g_array_index (account_items, Item, i);
      Entry entry = entry_lookup (loader, group, "accounts");
      const TrellisChild *owner;

      if (!account_name_is_valid (item->text))
        continue;
      owner = g_hash_table_lookup (loader->account_owner, item->text);
      if (owner == child)
        continue;  /* listed twice here: already reported */
      if (owner != NULL)
        {
          const Entry *first = g_hash_table_lookup (loader->account_where, item->text);

          report (loader, entry.line, item->col,
                  _("the account “%s” is already listed for [child %s] on line %u; an account belongs to one child"),
                  item->text, owner->name, first->line);
          continue;
        }
      if (policy->parents != NULL && g_strv_contains ((const char *const *) policy->parents, item->text))
        {
          Entry parents = entry_lookup (loader, "household", "parents");

          report (loader, entry.line, item->col,
                  _("the account “%s” is a parent (parents = on line %u), so it cannot be a child's account"),
                  item->text, parents.line);
          continue;
        }
      {
        Entry *where = g_new (Entry, 1);

        where->line = entry.line;
        where->col = item->col;
        g_hash_table_insert (loader->account_owner, g_strdup (item->text), child);
        g_hash_table_insert (loader->account_where, g_strdup (item->text), where);
      }
    }

  devices = value_get (loader, group, "devices");
  if (devices != NULL)
    {
      Entry entry = entry_lookup (loader, group, "devices");
      g_autoptr(GArray) items = value_split (devices, entry);
      g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);

      n_devices_written = items->len;
      for (i = 0; i < items->len; i++)
        {
          Item *item = &g_array_index (items, Item, i);

          if (device_is_valid (item->text))
            g_ptr_array_add (list, g_strdup (item->text));
          else
            report (loader, entry.line, item->col,
                    _("“%s” is not a device: write a MAC address (aa:bb:cc:dd:ee:01), an IP address or a CIDR"),
                    item->text);
        }
      g_ptr_array_add (list, NULL);
      child->devices = (char **) g_ptr_array_free (g_steal_pointer (&list), FALSE);
    }

  /* Bad items were reported where they are; this is for a child with none written. */
  if ((account_items == NULL || account_items->len == 0) && n_devices_written == 0)
    report (loader, header.line, header.col,
            _("[child %s] has no accounts = (nor devices =): list the child's Linux accounts"),
            child->name);

  block = value_get (loader, group, "block");
  if (block != NULL)
    {
      Entry entry = entry_lookup (loader, group, "block");
      g_autoptr(GArray) items = value_split (block, entry);
      g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_free);

      for (i = 0; i < items->len; i++)
        {
          Item *item = &g_array_index (items, Item, i);
          const char *p = item->text + 1;

          if (item->text[0] == '+' || item->text[0] == '-')
            while (*p != '\0' && (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-'))
              p++;
          if ((item->text[0] != '+' && item->text[0] != '-') || item->text[1] == '\0' || *p != '\0')
            report (loader, entry.line, item->col,
                    _("“%s”: write +category to block one more category, -category to block one less"),
                    item->text);
          else
            {
              const TrellisCategoryEntry *category = trellis_policy_find_category (policy, item->text + 1);

              if (category == NULL)
                report_unknown_category (loader, entry.line, item->col + 1, item->text + 1);
              else if (item->text[0] == '+')
                child->block_add |= 1u << category->pub.bit;
              else
                child->block_remove |= 1u << category->pub.bit;
              if (category != NULL && (child->block_add & child->block_remove & (1u << category->pub.bit)))
                report (loader, entry.line, item->col,
                        _("%s is both added and removed: keep one"), item->text + 1);
              g_ptr_array_add (list, g_strdup (item->text));
            }
        }
      g_ptr_array_add (list, NULL);
      child->block = (char **) g_ptr_array_free (g_steal_pointer (&list), FALSE);
      child->block_line = entry.line;
    }

  child_read_domains (loader, child, group, "allow", TRELLIS_RULE_KIND_ALLOW);
  child_read_domains (loader, child, group, "deny", TRELLIS_RULE_KIND_DENY);

  child->quiet_hours = value_get (loader, group, "quiet-hours");
  if (child->quiet_hours != NULL)
    {
      Entry entry = entry_lookup (loader, group, "quiet-hours");
      g_autoptr(GArray) items = value_split (child->quiet_hours, entry);

      for (i = 0; i < items->len; i++)
        {
          Item *item = &g_array_index (items, Item, i);
          g_autoptr(GError) local_error = NULL;
          TrellisQuietWindow window;

          if (!trellis_quiet_window_parse (item->text, &window, &local_error))
            {
              report (loader, entry.line, item->col, "%s", local_error->message);
              continue;
            }
          window.text = g_string_chunk_insert_const (policy->strings, item->text);
          window.rule_id = policy_add_rule_full (policy, TRELLIS_RULE_KIND_QUIET_HOURS, "", child->name,
                                                 NULL, item->text, loader->file, entry.line);
          g_array_append_val (child->quiet, window);
        }
    }

  child->safe_search = value_get (loader, group, "safe-search");
  if (child->safe_search != NULL
      && !g_strv_contains ((const char *const[]) { "strict", "moderate", "off", NULL }, child->safe_search))
    {
      Entry entry = entry_lookup (loader, group, "safe-search");

      report (loader, entry.line, entry.col,
              _("safe-search must be “strict”, “moderate” or “off”, not “%s”"), child->safe_search);
    }

  child->mode = value_get (loader, group, "mode");
  if (child->mode != NULL
      && !g_strv_contains ((const char *const[]) { "blocklist", "allowlist", NULL }, child->mode))
    {
      Entry entry = entry_lookup (loader, group, "mode");

      report (loader, entry.line, entry.col,
              _("mode must be “blocklist” or “allowlist”, not “%s”"), child->mode);
    }
}

/* ------------------------------------------------------------------------ */
/* The helplines, shipped as data. */

static void
load_helplines (Loader     *loader,
                const char *data_dir)
{
  TrellisPolicy *policy = loader->policy;
  g_autofree char *path = g_build_filename (data_dir != NULL ? data_dir : TRELLIS_DATADIR,
                                            "helplines", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) lines = NULL;
  guint i;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      loader->io_failed = TRUE;
      report_full (loader, 1, path, 0, 0, _("cannot read the helplines: %s"), local_error->message);
      return;
    }

  lines = g_strsplit (contents, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      g_auto(GStrv) fields = NULL;
      g_autofree char *domain = NULL;
      TrellisDomainProblem problem;
      TrellisHelpline helpline = { 0 };
      guint n, f, existing;

      if (*line == '\0' || *line == '#')
        continue;
      fields = g_strsplit (line, "|", -1);
      n = g_strv_length (fields);
      for (f = 0; f < n; f++)
        g_strstrip (fields[f]);
      if (n < 3 || n > 4 || *fields[2] == '\0'
          || !((strlen (fields[1]) == 2 && g_ascii_isupper (fields[1][0]) && g_ascii_isupper (fields[1][1]))
               || strcmp (fields[1], "INT") == 0))
        {
          report_full (loader, 1, path, i + 1, 1,
                       _("write DOMAIN | COUNTRY | NAME | CONTACT, with a two-letter COUNTRY or INT"));
          continue;
        }
      problem = trellis_domain_check (fields[0], &domain);
      if (problem != TRELLIS_DOMAIN_OK)
        {
          report_domain (loader, 1, path, i + 1, 1, fields[0], problem);
          continue;
        }
      if (!trellis_matcher_insert (policy->helpline_matcher, domain, policy->rules->len, &existing))
        {
          report_full (loader, 1, path, i + 1, 1, _("%s is listed twice"), domain);
          continue;
        }
      policy_add_rule (policy, TRELLIS_RULE_KIND_HELPLINE, domain, NULL, NULL, 0);
      helpline.domain = g_string_chunk_insert_const (policy->strings, domain);
      helpline.country = g_string_chunk_insert_const (policy->strings, fields[1]);
      helpline.name = g_string_chunk_insert_const (policy->strings, fields[2]);
      helpline.contact = n == 4 && *fields[3] != '\0'
        ? g_string_chunk_insert_const (policy->strings, fields[3]) : NULL;
      g_array_append_val (policy->helplines, helpline);
    }
}

/* ------------------------------------------------------------------------ */
/* Loading. */

static void
loader_clear (Loader *loader)
{
  g_clear_pointer (&loader->problems, g_array_unref);
  g_clear_pointer (&loader->warnings, g_array_unref);
  g_clear_pointer (&loader->key_file, g_key_file_unref);
  g_clear_pointer (&loader->where, g_hash_table_unref);
  g_clear_pointer (&loader->account_owner, g_hash_table_unref);
  g_clear_pointer (&loader->account_where, g_hash_table_unref);
  g_clear_pointer (&loader->policy, trellis_policy_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Loader, loader_clear)

static void
parse (Loader     *loader,
       const char *data,
       gsize       length)
{
  static const char *const groups[] = { "household", "child", NULL };
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) names = NULL;
  guint i;

  scan (loader, data, length);
  if (loader->problems->len > 0)
    return;

  if (!g_key_file_load_from_data (loader->key_file, data, length, G_KEY_FILE_KEEP_COMMENTS,
                                  &local_error))
    {
      loader->syntax_failed = TRUE;
      report (loader, 0, 0, _("not a household file: %s"), local_error->message);
      return;
    }

  if (g_key_file_has_group (loader->key_file, "household"))
    parse_household (loader);
  else
    report (loader, 1, 1,
            _("the file has no [household] section; it needs one with parents = the parents' accounts"));

  names = g_key_file_get_groups (loader->key_file, NULL);
  for (i = 0; names[i] != NULL; i++)
    {
      const char *group = names[i];

      if (strcmp (group, "household") == 0)
        continue;
      if (g_str_has_prefix (group, "child") && (group[5] == '\0' || g_ascii_isspace (group[5])))
        parse_child (loader, group);
      else
        {
          Entry header = entry_lookup (loader, group, NULL);
          g_autofree char *first = g_strdup (group);
          char *space = strpbrk (first, " \t");
          const char *suggestion;

          if (space != NULL)
            *space = '\0';
          suggestion = closest (first, groups);
          if (suggestion != NULL && strcmp (suggestion, "child") == 0)
            report (loader, header.line, header.col,
                    _("unknown section [%s]; did you mean [child%s]?"),
                    group, space != NULL ? group + (space - first) : " NAME");
          else if (suggestion != NULL && space == NULL)
            report (loader, header.line, header.col,
                    _("unknown section [%s]; did you mean [%s]?"), group, suggestion);
          else
            report (loader, header.line, header.col,
                    _("unknown section [%s]; the sections are [household] and [child NAME]"), group);
        }
    }

  if (loader->policy->default_profile != NULL
      && trellis_policy_find_child (loader->policy, loader->policy->default_profile) == NULL)
    {
      Entry entry = entry_lookup (loader, "household", "default-profile");

      report (loader, entry.line, entry.col,
              _("default-profile names no child: there is no [child %s]"),
              loader->policy->default_profile);
    }
}

/* The curated list of allow-list mode: one domain per line, "#" comments. */
static void
load_allowlist (Loader     *loader,
                const char *path)
{
  TrellisPolicy *policy = loader->policy;
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  guint i = 0;

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      loader->io_failed = TRUE;
      report_full (loader, 1, path, 0, 0, _("cannot read the allow list: %s"), local_error->message);
      return;
    }
  for (char *cursor = contents, *line; (line = trellis_data_line_next (&cursor, &i)) != NULL;)
    {
      g_autofree char *domain = NULL;
      TrellisDomainProblem problem = trellis_domain_check (line, &domain);

      if (problem != TRELLIS_DOMAIN_OK)
        {
          report_domain (loader, 1, path, i, 1, line, problem);
          continue;
        }
      if (trellis_matcher_insert (policy->allowlist_matcher, domain, policy->rules->len, NULL))
        policy_add_rule (policy, TRELLIS_RULE_KIND_ALLOW, domain, NULL, path, i);
    }
}

/* The shipped data beside the helplines: categories, age bands, the allow
 * list and the search engines' safe modes. */
static void
load_data_dir (Loader                    *loader,
               const char                *data_dir,
               TrellisDomainIndexBuilder *builder)
{
  TrellisPolicy *policy = loader->policy;
  g_autoptr(GPtrArray) problems = g_ptr_array_new ();
  g_autofree char *categories = g_build_filename (data_dir, "categories", NULL);
  g_autofree char *age_bands = g_build_filename (data_dir, "age-bands", NULL);
  g_autofree char *allowlist = g_build_filename (data_dir, "allowlist", NULL);
  g_autofree char *safe_search = g_build_filename (data_dir, "safe-search", NULL);
  guint i;

  trellis_categories_load (policy, categories, builder, problems);
  trellis_age_bands_load (policy, age_bands, problems);
  for (i = 0; i < problems->len; i++)
    report_data (loader, g_ptr_array_index (problems, i));
  if (problems->len > 0)
    loader->io_failed = TRUE;

  load_allowlist (loader, allowlist);

  /* The safe-search table is optional data: without it, safe search is
   * not enforced (trellis policy check says so). */
  if (g_file_test (safe_search, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GError) local_error = NULL;

      policy->safe_search = trellis_safe_search_load (safe_search, &local_error);
      if (policy->safe_search == NULL)
        report_data (loader, g_strdup (local_error->message));
    }
}

/* The rules that depend on the age band: one CATEGORY rule per (band,
 * category) the child may have, the ALLOWLIST rule and the SAFE_SEARCH
 * rules. */
static void
compile_child (Loader       *loader,
               TrellisChild *child)
{
  TrellisPolicy *policy = loader->policy;
  guint b, c;

  child->category_rules = g_new0 (guint, MAX (policy->bands->len, 1) * TRELLIS_MAX_CATEGORIES);
  for (b = 0; b < policy->bands->len; b++)
    {
      const TrellisAgeBandEntry *band = g_ptr_array_index (policy->bands, b);
      guint32 mask = (band->pub.categories | child->block_add) & ~child->block_remove;

      if (child->age >= 0 && ((guint) child->age < band->pub.min_age || (guint) child->age > band->pub.max_age))
        continue;  /* a fixed age= never reaches this band */
      for (c = 0; c < policy->categories->len; c++)
        {
          const TrellisCategoryEntry *category = g_ptr_array_index (policy->categories, c);
          gboolean added = (child->block_add & (1u << c)) != 0;

          if (!(mask & (1u << c)))
            continue;
          child->category_rules[b * TRELLIS_MAX_CATEGORIES + c] =
            policy_add_rule_full (policy, TRELLIS_RULE_KIND_CATEGORY, "", child->name,
                                  category->pub.id, band->pub.id,
                                  added ? loader->file : policy->age_bands_file,
                                  added ? child->block_line : band->line);
        }
    }

  {
    Entry mode;
    g_autofree char *group = g_strdup_printf ("child %s", child->name);

    mode = entry_lookup (loader, group, child->mode != NULL ? "mode" : NULL);
    child->allowlist_rule = policy_add_rule_full (policy, TRELLIS_RULE_KIND_ALLOWLIST, "", child->name,
                                                  NULL, NULL, loader->file,
                                                  child->mode != NULL ? mode.line : child->line);
    for (c = TRELLIS_SAFE_SEARCH_MODERATE; c <= TRELLIS_SAFE_SEARCH_STRICT; c++)
      {
        Entry where = entry_lookup (loader, group, child->safe_search != NULL ? "safe-search" : NULL);

        child->safe_search_rule[c] =
          policy_add_rule_full (policy, TRELLIS_RULE_KIND_SAFE_SEARCH, "", child->name, NULL,
                                trellis_safe_search_level_to_string (c), loader->file,
                                child->safe_search != NULL ? where.line : child->line);
      }
  }
}

/* The compiled index: in memory, or written to @index_path (the previous
 * file kept as @index_path.last-good) and mapped. */
static gboolean
compile_index (TrellisPolicy              *policy,
               TrellisDomainIndexBuilder  *builder,
               const char                 *index_path,
               GError                    **error)
{
  g_autoptr(GError) local_error = NULL;

  if (index_path == NULL)
    {
      g_autoptr(GBytes) bytes = trellis_domain_index_builder_to_bytes (builder, &local_error);

      if (bytes != NULL)
        policy->index = trellis_domain_index_new_from_bytes (bytes, &local_error);
    }
  else
    {
      g_autofree char *last_good = g_strconcat (index_path, ".last-good", NULL);
      g_autofree char *tmp = g_strconcat (index_path, ".last-good.tmp", NULL);

      /* A hard link, renamed over the last good one: index_path itself is
       * never missing. */
      if (g_file_test (index_path, G_FILE_TEST_EXISTS))
        {
          (void) g_unlink (tmp);
          if (link (index_path, tmp) != 0 || g_rename (tmp, last_good) != 0)
            {
              int saved_errno = errno;

              (void) g_unlink (tmp);
              g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO,
                           _("%s: cannot keep the last good index: %s"), last_good, g_strerror (saved_errno));
              return FALSE;
            }
        }
      if (trellis_domain_index_builder_write (builder, index_path, &local_error))
        policy->index = trellis_domain_index_open (index_path, &local_error);
    }

  if (policy->index == NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO,
                   _("cannot compile the domain index: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

static int
warning_compare (gconstpointer a,
                 gconstpointer b)
{
  return problem_compare (a, b);
}

static TrellisPolicy *
load_data_full (const char  *data,
                gsize        length,
                const char  *name,
                const char  *data_dir,
                const char  *index_path,
                GError     **error)
{
  g_auto(Loader) loader = { 0 };
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  guint i;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (name == NULL)
    name = "household.conf";
  if (data_dir == NULL)
    data_dir = TRELLIS_DATADIR;
  if (length == (gsize) -1)
    length = strlen (data);

  loader.file = name;
  loader.problems = g_array_new (FALSE, TRUE, sizeof (Problem));
  g_array_set_clear_func (loader.problems, problem_clear);
  loader.warnings = g_array_new (FALSE, TRUE, sizeof (Problem));
  g_array_set_clear_func (loader.warnings, problem_clear);
  loader.key_file = g_key_file_new ();
  loader.where = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  loader.account_owner = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  loader.account_where = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  loader.policy = policy_new (name);

  load_helplines (&loader, data_dir);
  load_data_dir (&loader, data_dir, builder);
  parse (&loader, data, length);

  if (loader.problems->len > 0)
    {
      loader_set_error (&loader, error);
      return NULL;
    }

  for (i = 0; i < loader.policy->children->len; i++)
    compile_child (&loader, g_ptr_array_index (loader.policy->children, i));
  if (!compile_index (loader.policy, builder, index_path, error))
    return NULL;

  g_array_sort (loader.warnings, warning_compare);
  g_ptr_array_set_size (loader.policy->warnings, 0);
  for (i = 0; i < loader.warnings->len; i++)
    g_ptr_array_add (loader.policy->warnings, g_strdup (g_array_index (loader.warnings, Problem, i).text));
  g_ptr_array_add (loader.policy->warnings, NULL);

  return g_steal_pointer (&loader.policy);
}

TrellisPolicy *
trellis_policy_load_data (const char  *data,
                          gsize        length,
                          const char  *name,
                          const char  *data_dir,
                          GError     **error)
{
  return load_data_full (data, length, name, data_dir, NULL, error);
}

TrellisPolicy *
trellis_policy_load_file_full (const char  *path,
                               const char  *data_dir,
                               const char  *index_path,
                               GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO,
                   "%s: %s", path, local_error->message);
      return NULL;
    }
  return load_data_full (contents, length, path, data_dir, index_path, error);
}

TrellisPolicy *
trellis_policy_load_file (const char  *path,
                          const char  *data_dir,
                          GError     **error)
{
  return trellis_policy_load_file_full (path, data_dir, NULL, error);
}

/* ------------------------------------------------------------------------ */
/* Queries. */

const char *const *
trellis_policy_get_parents (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return (const char *const *) policy->parents;
}

gboolean
trellis_policy_get_on_failure_open (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, FALSE);
  return policy->on_failure_open;
}

const TrellisChild *const *
trellis_policy_get_children (TrellisPolicy *policy,
                             guint         *ret_n_children)
{
  g_return_val_if_fail (policy != NULL, NULL);
  if (ret_n_children != NULL)
    *ret_n_children = policy->children->len;
  return (const TrellisChild *const *) policy->children->pdata;
}

const TrellisChild *
trellis_policy_find_child_by_account (TrellisPolicy *policy,
                                      const char    *account)
{
  guint i;

  g_return_val_if_fail (policy != NULL, NULL);
  if (account == NULL)
    return NULL;
  for (i = 0; i < policy->children->len; i++)
    {
      const TrellisChild *child = g_ptr_array_index (policy->children, i);

      if (child->accounts != NULL && g_strv_contains ((const char *const *) child->accounts, account))
        return child;
    }
  return NULL;
}

const TrellisChild *
trellis_policy_find_child (TrellisPolicy *policy,
                           const char    *name)
{
  guint i;

  g_return_val_if_fail (policy != NULL, NULL);
  if (name == NULL)
    return NULL;
  for (i = 0; i < policy->children->len; i++)
    {
      const TrellisChild *child = g_ptr_array_index (policy->children, i);

      if (strcmp (child->name, name) == 0)
        return child;
    }
  return NULL;
}

const char *
trellis_child_get_name (const TrellisChild *child)
{
  g_return_val_if_fail (child != NULL, NULL);
  return child->name;
}

const char *const *
trellis_child_get_accounts (const TrellisChild *child)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (child != NULL, NULL);
  return child->accounts != NULL ? (const char *const *) child->accounts : none;
}

const TrellisRule *
trellis_policy_get_rule (TrellisPolicy *policy,
                         guint          id)
{
  g_return_val_if_fail (policy != NULL, NULL);
  if (id >= policy->rules->len)
    return NULL;
  return &g_array_index (policy->rules, TrellisRule, id);
}

const char *const *
trellis_policy_get_warnings (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return (const char *const *) policy->warnings->pdata;
}

GTimeZone *
trellis_policy_get_timezone (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return policy->tz;
}

guint
trellis_child_get_age (TrellisPolicy      *policy,
                       const TrellisChild *child,
                       GDateTime          *now)
{
  g_autoptr(GDateTime) local = NULL;
  int age;

  g_return_val_if_fail (policy != NULL, 0);
  g_return_val_if_fail (child != NULL, 0);

  if (child->age >= 0 || child->birth == NULL)
    return MAX (child->age, 0);

  /* The birthday is the day written, or the first of the month when only
   * a month is written, in the household's zone; a child born on 29
   * February has their birthday on 1 March in other years. */
  local = now != NULL ? g_date_time_to_timezone (now, policy->tz) : g_date_time_new_now (policy->tz);
  age = g_date_time_get_year (local) - (int) child->birth_year;
  if ((guint) g_date_time_get_month (local) < child->birth_month
      || ((guint) g_date_time_get_month (local) == child->birth_month
          && (guint) g_date_time_get_day_of_month (local) < child->birth_day))
    age--;
  return MAX (age, 0);
}

/* The band index for @child at @now, or -1 when the child is an adult. */
static int
child_band (TrellisPolicy      *policy,
            const TrellisChild *child,
            GDateTime          *now)
{
  guint age = trellis_child_get_age (policy, child, now);

  if (age >= ADULT_AGE)
    return -1;
  return trellis_policy_band_for_age (policy, age);
}

static void
child_settings (TrellisPolicy          *policy,
                const TrellisChild     *child,
                int                     band_index,
                guint32                *ret_categories,
                TrellisSafeSearchLevel *ret_safe_search,
                gboolean               *ret_allowlist)
{
  const TrellisAgeBandEntry *band = g_ptr_array_index (policy->bands, band_index);
  TrellisSafeSearchLevel level = band->pub.safe_search;

  if (ret_categories != NULL)
    *ret_categories = (band->pub.categories | child->block_add) & ~child->block_remove;
  if (child->safe_search != NULL)
    trellis_safe_search_level_from_string (child->safe_search, &level);
  if (ret_safe_search != NULL)
    *ret_safe_search = level;
  if (ret_allowlist != NULL)
    *ret_allowlist = child->mode != NULL ? strcmp (child->mode, "allowlist") == 0 : band->pub.allowlist;
}

const TrellisAgeBand *
trellis_child_get_profile (TrellisPolicy          *policy,
                           const TrellisChild     *child,
                           GDateTime              *now,
                           guint32                *ret_categories,
                           TrellisSafeSearchLevel *ret_safe_search,
                           gboolean               *ret_allowlist)
{
  int band;

  g_return_val_if_fail (policy != NULL, NULL);
  g_return_val_if_fail (child != NULL, NULL);

  band = child_band (policy, child, now);
  if (band < 0)
    return NULL;
  child_settings (policy, child, band, ret_categories, ret_safe_search, ret_allowlist);
  return &((const TrellisAgeBandEntry *) g_ptr_array_index (policy->bands, band))->pub;
}

static void
decision_set (TrellisPolicy   *policy,
              guint            id,
              TrellisVerdict   verdict,
              TrellisDecision *ret_decision)
{
  ret_decision->rule = &g_array_index (policy->rules, TrellisRule, id);
  ret_decision->verdict = verdict;
  ret_decision->target = NULL;
}

void
trellis_policy_decide_at (TrellisPolicy      *policy,
                          const TrellisChild *child,
                          const char         *name,
                          GDateTime          *now,
                          TrellisDecision    *ret_decision)
{
  /* Presentation form with \DDD escapes: at most 255 octets × 4. */
  char buffer[1024];
  g_autofree char *idn = NULL;
  g_autoptr(GDateTime) local = NULL;
  const char *lookup = NULL;
  const TrellisRule *rule;
  TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;
  gboolean allowlist = FALSE;
  guint32 categories = 0, bits = 0;
  guint id = 0;
  int band;

  g_return_if_fail (policy != NULL);
  g_return_if_fail (ret_decision != NULL);

  if (name != NULL && g_str_is_ascii (name))
    {
      gsize len = strlen (name), i;

      if (len > 0 && name[len - 1] == '.' && (len < 2 || name[len - 2] != '\\'))
        len--;
      if (len > 0 && len < sizeof buffer)
        {
          for (i = 0; i < len; i++)
            buffer[i] = g_ascii_tolower (name[i]);
          buffer[len] = '\0';
          lookup = buffer;
        }
    }
  else if (name != NULL)
    lookup = idn = trellis_domain_normalize (name);

  decision_set (policy, 0, TRELLIS_VERDICT_ALLOW, ret_decision);
  if (lookup == NULL)
    return;

  /* Helpline, (a parent's temporary grant: a later milestone), explicit
   * allow, explicit deny, integrity: the most specific suffix decides. */
  id = trellis_matcher_decide (policy->helpline_matcher,
                               child != NULL ? child->rules : NULL,
                               policy->integrity_matcher,
                               lookup);
  rule = &g_array_index (policy->rules, TrellisRule, id);
  if (rule->kind == TRELLIS_RULE_KIND_HELPLINE)
    {
      decision_set (policy, id, TRELLIS_VERDICT_ALLOW, ret_decision);
      return;
    }
  if (child == NULL)
    {
      decision_set (policy, id, rule->kind == TRELLIS_RULE_KIND_DENY || rule->kind == TRELLIS_RULE_KIND_INTEGRITY
                    ? TRELLIS_VERDICT_BLOCK : TRELLIS_VERDICT_ALLOW, ret_decision);
      return;
    }

  local = now != NULL ? g_date_time_to_timezone (now, policy->tz) : g_date_time_new_now (policy->tz);
  band = child_band (policy, child, local);
  if (band < 0)
    return;  /* 18 today: Trellis does not filter adults */
  child_settings (policy, child, band, &categories, &level, &allowlist);

  if (rule->kind == TRELLIS_RULE_KIND_DENY || rule->kind == TRELLIS_RULE_KIND_INTEGRITY)
    {
      decision_set (policy, id, TRELLIS_VERDICT_BLOCK, ret_decision);
      return;
    }

  if (rule->kind != TRELLIS_RULE_KIND_ALLOW)
    {
      int window = trellis_quiet_windows_find ((const TrellisQuietWindow *) child->quiet->data,
                                               child->quiet->len, local);

      if (window >= 0)
        {
          decision_set (policy, g_array_index (child->quiet, TrellisQuietWindow, window).rule_id,
                        TRELLIS_VERDICT_BLOCK, ret_decision);
          return;
        }

      if (categories != 0 && policy->index != NULL
          && trellis_domain_index_lookup (policy->index, lookup, &bits, NULL, NULL)
          && (bits & categories) != 0)
        {
          guint c = g_bit_nth_lsf (bits & categories, -1);
          guint category_rule = child->category_rules[band * TRELLIS_MAX_CATEGORIES + c];

          if (category_rule != 0)
            {
              decision_set (policy, category_rule, TRELLIS_VERDICT_BLOCK, ret_decision);
              return;
            }
        }

      if (allowlist)
        {
          guint listed;

          if (!trellis_matcher_lookup (policy->allowlist_matcher, lookup, &listed))
            {
              decision_set (policy, child->allowlist_rule, TRELLIS_VERDICT_BLOCK, ret_decision);
              return;
            }
          id = listed;
        }
    }

  decision_set (policy, id, TRELLIS_VERDICT_ALLOW, ret_decision);

  /* Safe search rewrites what would be allowed as it is. */
  if (level != TRELLIS_SAFE_SEARCH_OFF && policy->safe_search != NULL)
    {
      const char *target = trellis_safe_search_lookup (policy->safe_search, lookup, level);

      if (target != NULL)
        {
          decision_set (policy, child->safe_search_rule[level], TRELLIS_VERDICT_SAFE_SEARCH, ret_decision);
          ret_decision->target = target;
        }
    }
}

void
trellis_policy_decide (TrellisPolicy      *policy,
                       const TrellisChild *child,
                       const char         *name,
                       TrellisDecision    *ret_decision)
{
  trellis_policy_decide_at (policy, child, name, NULL, ret_decision);
}

guint
trellis_policy_get_log_retention_days (TrellisPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, 7);
  return policy->log_retention_days;
}

const char *
trellis_child_get_quiet_hours (TrellisPolicy      *policy,
                               const TrellisChild *child,
                               GDateTime          *now,
                               gboolean           *ret_quiet_now,
                               char              **ret_until)
{
  g_autoptr(GDateTime) local = NULL;
  int found = -1;

  g_return_val_if_fail (policy != NULL && child != NULL && now != NULL, NULL);
  if (child->quiet != NULL && child->quiet->len > 0)
    {
      local = g_date_time_to_timezone (now, trellis_policy_get_timezone (policy));
      found = trellis_quiet_windows_find ((const TrellisQuietWindow *) (gpointer) child->quiet->data,
                                          child->quiet->len, local);
    }
  if (ret_quiet_now != NULL)
    *ret_quiet_now = found >= 0;
  if (ret_until != NULL)
    *ret_until = found >= 0
      ? trellis_quiet_window_format_end (&g_array_index (child->quiet, TrellisQuietWindow, found))
      : NULL;
  return child->quiet_hours;
}

GArray *
trellis_policy_get_helplines (TrellisPolicy *policy)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (TrellisHelplineInfo));

  g_return_val_if_fail (policy != NULL, out);
  for (guint i = 0; i < policy->helplines->len; i++)
    {
      const TrellisHelpline *h = &g_array_index (policy->helplines, TrellisHelpline, i);
      TrellisHelplineInfo info = { h->domain, h->country, h->name, h->contact };

      g_array_append_val (out, info);
    }
  return out;
}
