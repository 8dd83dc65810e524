/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * household.c — reading and validating the household file: [household]
 * and every [child NAME], into the policy being built.
 *
 * The file is a GKeyFile.  GKeyFile gives the groups, keys and values but no
 * line numbers, so the key-file scan (lines.c) first maps every group and
 * key to the line and column of its value; the scan also catches the lines
 * GKeyFile would refuse, so that they too get a line number.  Every problem
 * of the file is collected (problems.c) and reported at once, one per line,
 * as "FILE:LINE:COL: message", sorted by position.
 *
 * A value may end with a comment: "parents = mum;dad   # the parents".
 * GKeyFile keeps such a comment as part of the value, so it is cut here: a
 * '#' that starts the value or follows a space or tab begins a comment.
 * Lists are separated by ';'.  Every domain of allow= and deny= passes
 * trellis_domain_check() (domain.c) in child_read_domains().  A [source
 * ID] group adds a published list to a category, and remove-sources=
 * under [household] takes shipped ones away (list-sources.c checks the
 * values of a source).
 */
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"
#include "policy/public-suffix.h"

static const char *const household_keys[] = {
  "parents", "on-failure", "timezone", "default-profile", "log-retention-days",
  "gateway-interfaces", "remove-sources", NULL
};

static const char *const child_keys[] = {
  "age", "birth", "accounts", "devices", "block", "allow", "deny",
  "quiet-hours", "safe-search", "mode", NULL
};

typedef TrellisKeyFilePosition Entry;

typedef struct {
  TrellisPolicy *policy; /* the policy being built */
  const char *file;      /* the household file's name in messages */
  TrellisProblems *problems;
  GKeyFile *key_file;         /* (owned) */
  TrellisKeyFileLines *lines; /* (owned) (nullable) where each group and key is */
  GHashTable *account_owner;  /* (owned) account (owned) → TrellisChild */
  GHashTable *account_where;  /* (owned) account (owned) → Entry (owned): where it was listed */
  GArray *devices;            /* (owned) LoadedDevice: every device read so far */
  GArray *removals;           /* (owned) (nullable) Item: remove-sources= as written */
  Entry removals_entry;       /* where remove-sources= is */
} Loader;

/* A device of devices=, where it was written and whose it is. */
typedef struct {
  TrellisDeviceAddress address;
  const TrellisChild *owner;
  guint line;
  guint col;
} LoadedDevice;

static void
loader_clear (Loader *loader)
{
  g_clear_pointer (&loader->key_file, g_key_file_unref);
  g_clear_pointer (&loader->lines, trellis_key_file_lines_free);
  g_clear_pointer (&loader->account_owner, g_hash_table_unref);
  g_clear_pointer (&loader->account_where, g_hash_table_unref);
  g_clear_pointer (&loader->devices, g_array_unref);
  g_clear_pointer (&loader->removals, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Loader, loader_clear)

/* An error, or a warning (legal, but probably not what the household meant). */
#define report(loader, line, col, ...) \
  trellis_problems_add ((loader)->problems, TRELLIS_PROBLEM_HOUSEHOLD, (loader)->file, \
                        (line), (col), __VA_ARGS__)
#define warn(loader, line, col, ...) \
  trellis_problems_add ((loader)->problems, TRELLIS_PROBLEM_WARNING, (loader)->file, \
                        (line), (col), __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Small helpers. */

static Entry
entry_lookup (Loader *loader,
              const char *group,
              const char *key)
{
  Entry entry = { 1, 1, 1 };

  trellis_key_file_lines_find (loader->lines, group, key, &entry);
  return entry;
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
  char *text; /* (owned) trimmed */
  guint col;
} Item;

static void
item_clear (gpointer data)
{
  g_free (((Item *) data)->text);
}

/* The value of @key without its comment, or NULL when the key is absent. */
static char *
value_get (Loader *loader,
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
             Entry entry)
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

/* A name allow= or deny= may not hold, in domain.c's words. */
static void
report_domain (Loader *loader,
               guint line,
               guint col,
               const char *name,
               TrellisDomainProblem problem)
{
  g_autofree char *why = trellis_domain_problem_describe (name, problem);

  report (loader, line, col, "%s", why);
}

/* ------------------------------------------------------------------------ */
/* [household] */

static void
report_unknown_key (Loader *loader,
                    const char *group,
                    const char *key,
                    const char *const *known,
                    const char *const *elsewhere,
                    const char *elsewhere_group)
{
  Entry entry = entry_lookup (loader, group, key);
  const char *suggestion = trellis_did_you_mean (key, known);

  if (g_strv_contains (elsewhere, key))
    report (loader, entry.line, entry.key_col, _ ("“%s” belongs in [%s], not in [%s]"),
            key, elsewhere_group, group);
  else if (suggestion != NULL)
    report (loader, entry.line, entry.key_col, _ ("unknown key “%s” in [%s]; did you mean “%s”?"),
            key, group, suggestion);
  else
    report (loader, entry.line, entry.key_col, _ ("unknown key “%s” in [%s]"), key, group);
}

static gboolean
account_list_contains (GPtrArray *accounts,
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
read_accounts (Loader *loader,
               const char *group,
               const char *key,
               GArray **ret_items)
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
                _ ("“%s” is not a Linux account name (letters, digits, “.”, “_” and “-”, at most 32)"),
                item->text);
      else if (account_list_contains (accounts, item->text))
        report (loader, entry.line, item->col, _ ("the account “%s” is listed twice"), item->text);
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
            guint max,
            guint *ret_value)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 0, max, &value, NULL))
    return FALSE;
  *ret_value = value;
  return TRUE;
}

/* gateway-interfaces=: network interface names (at most 15 bytes, no
 * space, "/" or ":"), NULL-terminated, maybe empty. */
static char **
read_interfaces (Loader *loader,
                 const char *group)
{
  g_autofree char *value = value_get (loader, group, "gateway-interfaces");
  Entry entry = entry_lookup (loader, group, "gateway-interfaces");
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) items = NULL;
  guint i;

  if (value != NULL)
    {
      items = value_split (value, entry);
      if (items->len == 0)
        report (loader, entry.line, entry.col,
                _ ("gateway-interfaces = is empty: name the interfaces the devices are on (eth1)"));
    }
  for (i = 0; items != NULL && i < items->len; i++)
    {
      Item *item = &g_array_index (items, Item, i);
      gsize len = strlen (item->text), j;
      gboolean good = len > 0 && len < 16 && strcmp (item->text, ".") != 0
                      && strcmp (item->text, "..") != 0;

      for (j = 0; good && j < len; j++)
        if (!g_ascii_isgraph (item->text[j]) || item->text[j] == '/' || item->text[j] == ':')
          good = FALSE;
      if (!good)
        report (loader, entry.line, item->col,
                _ ("“%s” is not a network interface name (at most 15 letters, digits, “-”, “_” or “.”)"),
                item->text);
      else if (g_ptr_array_find_with_equal_func (names, item->text, g_str_equal, NULL))
        report (loader, entry.line, item->col, _ ("the interface “%s” is listed twice"), item->text);
      else
        g_ptr_array_add (names, g_strdup (item->text));
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
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
              _ ("[household] needs parents = the accounts of the parents (they are never filtered)"));
    }
  else if (policy->parents[0] == NULL && g_key_file_has_key (loader->key_file, group, "parents", NULL))
    {
      Entry entry = entry_lookup (loader, group, "parents");
      g_autofree char *value = value_get (loader, group, "parents");

      if (*value == '\0')
        report (loader, entry.line, entry.col,
                _ ("parents = is empty: list at least one parent account"));
    }

  on_failure = value_get (loader, group, "on-failure");
  if (on_failure != NULL)
    {
      Entry entry = entry_lookup (loader, group, "on-failure");

      if (strcmp (on_failure, "open") == 0)
        policy->on_failure_open = TRUE;
      else if (strcmp (on_failure, "closed") != 0)
        report (loader, entry.line, entry.col,
                _ ("on-failure must be “closed” or “open”, not “%s”"), on_failure);
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
                _ ("“%s” is not a time zone this system knows; write one like Europe/Paris"),
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
    policy->default_profile = g_steal_pointer (&profile); /* checked once the children are known */

  policy->gateway_ifaces = read_interfaces (loader, group);
  {
    g_autofree char *removals = value_get (loader, group, "remove-sources");

    if (removals != NULL)
      {
        loader->removals_entry = entry_lookup (loader, group, "remove-sources");
        loader->removals = value_split (removals, loader->removals_entry);
      }
  }

  retention = value_get (loader, group, "log-retention-days");
  if (retention != NULL)
    {
      Entry entry = entry_lookup (loader, group, "log-retention-days");

      if (!parse_uint (retention, 365, &policy->log_retention_days))
        report (loader, entry.line, entry.col,
                _ ("log-retention-days must be a number of days from 0 to 365, not “%s”"),
                retention);
    }
}

/* ------------------------------------------------------------------------ */
/* [child NAME] */

static void
child_check_birth (Loader *loader,
                   TrellisChild *child,
                   const char *group,
                   const char *birth)
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
      || (n == 3
          && (strlen (parts[2]) != 2 || !g_ascii_string_to_unsigned (parts[2], 10, 1, 31, &day, NULL)))
      || !g_date_valid_dmy (day, month, year))
    {
      report (loader, entry.line, entry.col,
              _ ("birth must be a year and month like 2016-05 (or a date like 2016-05-21), not “%s”"),
              birth);
      return;
    }

  age = g_date_time_get_year (now) - (int) year;
  if ((guint) g_date_time_get_month (now) < month
      || ((guint) g_date_time_get_month (now) == month && (guint) g_date_time_get_day_of_month (now) < day))
    age--;
  if (age < 0)
    report (loader, entry.line, entry.col, _ ("birth %s is in the future"), birth);
  else if (age >= TRELLIS_ADULT_AGE)
    /* Translators: GC25: a filter for a child is not a filter for an
     * adult.  %s is a date as written (2005-03), then a name, then an age. */
    report (loader, entry.line, entry.col,
            _ ("born %s, %s is %d: Trellis does not filter adults: remove this section"),
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
report_unknown_category (Loader *loader,
                         guint line,
                         guint col,
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
  suggestion = trellis_did_you_mean (id, (const char *const *) ids->pdata);
  if (suggestion != NULL)
    report (loader, line, col, _ ("there is no category “%s”; did you mean “%s”?"), id, suggestion);
  else
    {
      all = g_strjoinv (", ", (char **) ids->pdata);
      report (loader, line, col, _ ("there is no category “%s”; the categories are: %s"), id, all);
    }
}

static void
child_read_domains (Loader *loader,
                    TrellisChild *child,
                    const char *group,
                    const char *key,
                    TrellisRuleKind kind)
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
      g_autoptr(GError) suffix_error = NULL;
      guint existing;

      if (problem != TRELLIS_DOMAIN_OK)
        {
          report_domain (loader, entry.line, item->col, item->text, problem);
          continue;
        }
      /* "com" or "co.uk" would cover every site under it (public-suffix.c). */
      if (!trellis_public_suffix_check (domain,
                                        kind == TRELLIS_RULE_KIND_DENY
                                          ? TRELLIS_SUFFIX_USE_BLOCK
                                          : TRELLIS_SUFFIX_USE_LIFT,
                                        &suffix_error))
        {
          report (loader, entry.line, item->col, "%s", suffix_error->message);
          continue;
        }
      if (!trellis_matcher_insert (child->rules, domain, policy->rules->len, &existing))
        {
          const TrellisRule *first = &g_array_index (policy->rules, TrellisRule, existing);

          if (first->kind == kind)
            report (loader, entry.line, item->col,
                    _ ("%s is listed twice (also on line %u)"), domain, first->line);
          else
            warn (loader, entry.line, item->col,
                  _ ("%s is in both allow= and deny= (the other on line %u): allow= wins; keep one"),
                  domain, first->line);
          continue;
        }
      trellis_policy_add_rule (policy, kind, domain, child->name, NULL, NULL, loader->file, entry.line);
    }
}

static void
parse_child (Loader *loader,
             const char *group,
             gboolean is_group)
{
  TrellisPolicy *policy = loader->policy;
  Entry header = entry_lookup (loader, group, NULL);
  g_auto(GStrv) keys = g_key_file_get_keys (loader->key_file, group, NULL, NULL);
  g_autofree char *name = g_strstrip (g_strdup (group + strlen (is_group ? "group" : "child")));
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
      if (is_group)
        report (loader, header.line, header.col,
                _ ("a group's section is written [group NAME], with a one-word NAME"));
      else
        report (loader, header.line, header.col,
                _ ("a child's section is written [child NAME], with a one-word NAME"));
      return;
    }
  if (trellis_policy_find_child (policy, name) != NULL)
    {
      if (is_group || trellis_policy_find_child (policy, name)->group)
        report (loader, header.line, header.col,
                _ ("there are two sections named %s ([child NAME] and [group NAME] share their names)"),
                name);
      else
        report (loader, header.line, header.col, _ ("there are two children named %s"), name);
      return;
    }

  child = g_new0 (TrellisChild, 1);
  child->name = g_string_chunk_insert_const (policy->strings, name);
  child->line = header.line;
  child->group = is_group;
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
                _ ("age must be a whole number of years from 0 to 17, not “%s”"), age);
      else if (years >= TRELLIS_ADULT_AGE)
        /* Translators: GC25: Trellis filters children only. */
        report (loader, entry.line, entry.col,
                _ ("age %s: Trellis does not filter adults: remove this section, or give a child's age (0 to 17)"),
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

          report (loader, entry.line, entry.key_col, _ ("write age = or birth =, not both"));
        }
      else
        child_check_birth (loader, child, group, birth);
    }
  else if (age == NULL)
    report (loader, header.line, header.col,
            _ ("[child %s] needs age = (0 to 17) or birth = (like 2016-05): the age chooses what is filtered"),
            child->name);

  if (is_group && g_key_file_has_key (loader->key_file, group, "accounts", NULL))
    {
      Entry entry = entry_lookup (loader, group, "accounts");

      report (loader, entry.line, entry.key_col,
              _ ("a [group NAME] is a class of devices: list them in devices =; a pupil's Linux account goes in a [child NAME]"));
    }
  else
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
        continue; /* listed twice here: already reported */
      if (owner != NULL)
        {
          const Entry *first = g_hash_table_lookup (loader->account_where, item->text);

          report (loader, entry.line, item->col,
                  _ ("the account “%s” is already listed for [child %s] on line %u; an account belongs to one child"),
                  item->text, owner->name, first->line);
          continue;
        }
      if (policy->parents != NULL && g_strv_contains ((const char *const *) policy->parents, item->text))
        {
          Entry parents = entry_lookup (loader, "household", "parents");

          report (loader, entry.line, item->col,
                  _ ("the account “%s” is a parent (parents = on line %u), so it cannot be a child's account"),
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
      child->devices_line = entry.line;
      child->devices_col = entry.col;
      for (i = 0; i < items->len; i++)
        {
          Item *item = &g_array_index (items, Item, i);
          TrellisDeviceAddress address;
          LoadedDevice *other = NULL;

          if (!trellis_device_parse (item->text, &address))
            {
              report (loader, entry.line, item->col,
                      _ ("“%s” is not a device: write a MAC address (aa:bb:cc:dd:ee:01), an IP address or a CIDR"),
                      item->text);
              continue;
            }
          for (guint k = 0; k < loader->devices->len && other == NULL; k++)
            {
              LoadedDevice *d = &g_array_index (loader->devices, LoadedDevice, k);

              if (trellis_device_overlaps (&d->address, &address)
                  && (d->owner != child || memcmp (&d->address, &address, sizeof address) == 0))
                other = d;
            }
          if (other != NULL && other->owner == child)
            report (loader, entry.line, item->col, _ ("the device “%s” is listed twice"), item->text);
          else if (other != NULL)
            /* Translators: a device belongs to one [child NAME] or [group NAME]. */
            report (loader, entry.line, item->col,
                    _ ("“%s” is already a device of [%s %s] (line %u): a device belongs to one child or group"),
                    item->text, other->owner->group ? "group" : "child", other->owner->name, other->line);
          else
            {
              LoadedDevice d = { address, child, entry.line, item->col };

              g_array_append_val (loader->devices, d);
              g_ptr_array_add (list, g_strdup (item->text));
            }
        }
      g_ptr_array_add (list, NULL);
      child->devices = (char **) g_ptr_array_free (g_steal_pointer (&list), FALSE);
    }

  /* Bad items were reported where they are; this is for a section with none written. */
  if (is_group && n_devices_written == 0)
    report (loader, header.line, header.col,
            _ ("[group %s] has no devices =: list the class's devices (MACs, addresses or CIDRs)"),
            child->name);
  else if (!is_group && (account_items == NULL || account_items->len == 0) && n_devices_written == 0)
    report (loader, header.line, header.col,
            _ ("[child %s] has no accounts = (nor devices =): list the child's Linux accounts"),
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
                    _ ("“%s”: write +category to block one more category, -category to block one less"),
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
                        _ ("%s is both added and removed: keep one"), item->text + 1);
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
          window.rule_id = trellis_policy_add_rule (policy, TRELLIS_RULE_KIND_QUIET_HOURS, "", child->name,
                                                    NULL, item->text, loader->file, entry.line);
          g_array_append_val (child->quiet, window);
        }
    }

  child->safe_search = value_get (loader, group, "safe-search");
  child->safe_search_line = child->line;
  if (child->safe_search != NULL)
    {
      Entry entry = entry_lookup (loader, group, "safe-search");
      TrellisSafeSearchLevel level;

      child->safe_search_line = entry.line;
      if (!trellis_safe_search_level_from_string (child->safe_search, &level))
        report (loader, entry.line, entry.col,
                _ ("safe-search must be “strict”, “moderate” or “off”, not “%s”"), child->safe_search);
    }

  child->mode = value_get (loader, group, "mode");
  child->mode_line = child->line;
  if (child->mode != NULL)
    {
      Entry entry = entry_lookup (loader, group, "mode");

      child->mode_line = entry.line;
      if (!g_strv_contains ((const char *const[]) { "blocklist", "allowlist", NULL }, child->mode))
        report (loader, entry.line, entry.col,
                _ ("mode must be “blocklist” or “allowlist”, not “%s”"), child->mode);
    }
}

/* ------------------------------------------------------------------------ */
/* Gateway mode. */

/* devices= and default-profile= are enforced on a gateway only, that is
 * when gateway-interfaces= names the interfaces the devices are on; a
 * gateway must say what the devices listed nowhere get.  Elsewhere the
 * keys filter nothing, and say so. */
static void
gateway_check (Loader *loader)
{
  TrellisPolicy *policy = loader->policy;
  gboolean gateway = policy->gateway_ifaces != NULL && policy->gateway_ifaces[0] != NULL;
  guint i;

  if (gateway)
    {
      if (policy->default_profile == NULL)
        {
          Entry entry = entry_lookup (loader, "household", "gateway-interfaces");

          report (loader, entry.line, entry.col,
                  _ ("a gateway needs default-profile = the child or group whose profile the devices listed nowhere get"));
        }
      return;
    }
  if (g_key_file_has_key (loader->key_file, "household", "gateway-interfaces", NULL))
    return; /* written, but wrong: reported already */

  for (i = 0; i < policy->children->len; i++)
    {
      const TrellisChild *child = g_ptr_array_index (policy->children, i);

      if (child->devices == NULL || child->devices[0] == NULL)
        continue;
      if (child->accounts == NULL || child->accounts[0] == NULL)
        warn (loader, child->devices_line, child->devices_col,
              _ ("devices = is not enforced: this household names no gateway-interfaces =, and [%s %s] has no accounts =: %s is not filtered at all"),
              child->group ? "group" : "child", child->name, child->name);
      else
        warn (loader, child->devices_line, child->devices_col,
              _ ("devices = is not enforced: this household names no gateway-interfaces =; only the accounts of [child %s] are filtered"),
              child->name);
    }
  if (policy->default_profile != NULL)
    {
      Entry entry = entry_lookup (loader, "household", "default-profile");

      warn (loader, entry.line, entry.col,
            _ ("default-profile = is not enforced: this household names no gateway-interfaces =, so devices listed nowhere are not filtered"));
    }
}

/* ------------------------------------------------------------------------ */
/* [source ID] and remove-sources= */

static void
parse_source (Loader *loader,
              const char *group)
{
  TrellisPolicy *policy = loader->policy;
  g_auto(TrellisListSourceDraft) draft = { 0 };
  const TrellisListSource *shipped;
  const TrellisCategoryEntry *category;

  gboolean ok = trellis_list_source_read (loader->key_file, loader->lines, group, loader->file,
                                          TRELLIS_PROBLEM_HOUSEHOLD, loader->problems, &draft);

  if (draft.id == NULL)
    return; /* the header is wrong, and was reported */
  if (draft.category == NULL || *draft.category == '\0')
    {
      Entry header = entry_lookup (loader, group, NULL);

      report (loader, header.line, header.col,
              _ ("[%s] needs category = the category its names block, like adult or gambling"), group);
      return;
    }
  category = trellis_policy_find_category (policy, draft.category);
  if (category == NULL)
    {
      Entry entry = entry_lookup (loader, group, "category");

      report_unknown_category (loader, entry.line, entry.col, draft.category);
      return;
    }
  shipped = trellis_policy_find_list_source (policy, draft.id);
  if (shipped != NULL)
    {
      Entry header = entry_lookup (loader, group, NULL);

      report (loader, header.line, header.col,
              _ ("%s is a source Trellis ships (for %s): give yours another ID; to stop using it, write remove-sources = %s under [household]"),
              draft.id, shipped->category, draft.id);
      return;
    }
  if (!ok)
    return;
  trellis_policy_add_list_source (policy, &draft, category->pub.id, TRUE, loader->file);
}

/* remove-sources=: each item names a shipped source, once. */
static void
apply_removals (Loader *loader)
{
  TrellisPolicy *policy = loader->policy;
  g_autoptr(GPtrArray) shipped_ids = g_ptr_array_new ();
  guint i;

  if (loader->removals == NULL)
    return;
  for (i = 0; i < policy->list_sources->len; i++)
    {
      const TrellisListSource *source = g_ptr_array_index (policy->list_sources, i);

      if (!source->household)
        g_ptr_array_add (shipped_ids, (gpointer) source->id);
    }
  g_ptr_array_add (shipped_ids, NULL);

  for (i = 0; i < loader->removals->len; i++)
    {
      Item *item = &g_array_index (loader->removals, Item, i);
      TrellisListSource *source = trellis_policy_find_list_source (policy, item->text);
      const char *suggestion;

      if (source != NULL && source->household)
        report (loader, loader->removals_entry.line, item->col,
                _ ("%s is this file's own source: delete its [source %s] section instead"),
                item->text, item->text);
      else if (source != NULL && source->removed)
        report (loader, loader->removals_entry.line, item->col,
                _ ("the source %s is listed twice"), item->text);
      else if (source != NULL)
        source->removed = TRUE;
      else if ((suggestion = trellis_did_you_mean (item->text, (const char *const *) shipped_ids->pdata)) != NULL)
        report (loader, loader->removals_entry.line, item->col,
                _ ("there is no source “%s”; did you mean “%s”?"), item->text, suggestion);
      else
        {
          g_autofree char *all = g_strjoinv (", ", (char **) shipped_ids->pdata);

          report (loader, loader->removals_entry.line, item->col,
                  _ ("there is no source “%s”; the sources Trellis ships are: %s"), item->text, all);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The file. */

gboolean
trellis_household_parse (TrellisPolicy *policy,
                         const char *data,
                         gsize length,
                         TrellisProblems *problems)
{
  static const char *const groups[] = { "household", "child", "group", "source", NULL };
  g_auto(Loader) loader_data = { 0 };
  Loader *loader = &loader_data;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) names = NULL;
  guint i;

  loader->policy = policy;
  loader->file = policy->file;
  loader->problems = problems;
  loader->key_file = g_key_file_new ();
  loader->account_owner = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  loader->account_where = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  loader->devices = g_array_new (FALSE, TRUE, sizeof (LoadedDevice));

  loader->lines = trellis_key_file_scan (data, length, loader->file, TRELLIS_PROBLEM_HOUSEHOLD, problems);
  if (loader->lines == NULL)
    return FALSE;
  if (trellis_problems_get_n_errors (problems) > 0)
    return TRUE; /* the shipped data is wrong: the household is not read */

  if (!g_key_file_load_from_data (loader->key_file, data, length, G_KEY_FILE_KEEP_COMMENTS,
                                  &local_error))
    {
      report (loader, 0, 0, _ ("not a household file: %s"), local_error->message);
      return FALSE;
    }

  if (g_key_file_has_group (loader->key_file, "household"))
    parse_household (loader);
  else
    report (loader, 1, 1,
            _ ("the file has no [household] section; it needs one with parents = the parents' accounts"));

  names = g_key_file_get_groups (loader->key_file, NULL);
  for (i = 0; names[i] != NULL; i++)
    {
      const char *group = names[i];

      if (strcmp (group, "household") == 0)
        continue;
      if (g_str_has_prefix (group, "child") && (group[5] == '\0' || g_ascii_isspace (group[5])))
        parse_child (loader, group, FALSE);
      else if (g_str_has_prefix (group, "group") && (group[5] == '\0' || g_ascii_isspace (group[5])))
        parse_child (loader, group, TRUE);
      else if (g_str_has_prefix (group, "source") && (group[6] == '\0' || g_ascii_isspace (group[6])))
        parse_source (loader, group);
      else
        {
          Entry header = entry_lookup (loader, group, NULL);
          g_autofree char *first = g_strdup (group);
          char *space = strpbrk (first, " \t");
          const char *suggestion;

          if (space != NULL)
            *space = '\0';
          suggestion = trellis_did_you_mean (first, groups);
          if (suggestion != NULL && (strcmp (suggestion, "child") == 0 || strcmp (suggestion, "group") == 0))
            report (loader, header.line, header.col,
                    _ ("unknown section [%s]; did you mean [%s%s]?"),
                    group, suggestion, space != NULL ? group + (space - first) : " NAME");
          else if (suggestion != NULL && strcmp (suggestion, "source") == 0)
            report (loader, header.line, header.col,
                    _ ("unknown section [%s]; did you mean [source%s]?"),
                    group, space != NULL ? group + (space - first) : " ID");
          else if (suggestion != NULL && space == NULL)
            report (loader, header.line, header.col,
                    _ ("unknown section [%s]; did you mean [%s]?"), group, suggestion);
          else
            report (loader, header.line, header.col,
                    _ ("unknown section [%s]; the sections are [household], [child NAME], [group NAME] and [source ID]"), group);
        }
    }

  apply_removals (loader);

  if (loader->policy->default_profile != NULL
      && trellis_policy_find_child (loader->policy, loader->policy->default_profile) == NULL)
    {
      Entry entry = entry_lookup (loader, "household", "default-profile");

      report (loader, entry.line, entry.col,
              _ ("default-profile names no child: there is no [child %s] nor [group %s]"),
              loader->policy->default_profile, loader->policy->default_profile);
    }
  gateway_check (loader);
  return TRUE;
}
