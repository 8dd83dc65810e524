/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * safe-search.c — the safe-search data file, the exact-name lookup, and
 * the names of the levels (strict, moderate, off).
 *
 * The file is a GKeyFile with one [provider ID] group per search engine:
 *   name     = a display name (optional)
 *   strict   = the endpoint at safe-search=strict
 *   moderate = the endpoint at safe-search=moderate
 *   domains  = exact host names, answered as they are listed
 *   with-www = names answered both as listed and with "www." in front
 * GKeyFile does not tell lines, so the loader scans the text once
 * (trellis_key_file_scan(), which also refuses a group or a key written
 * twice) for the line of each group and key, to put FILE:LINE in front of
 * its messages.
 */
#include "policy/safe-search.h"

#include <string.h>

#include "policy/domain.h"
#include "policy/lines.h"

#define PROVIDER_PREFIX "provider "

typedef struct {
  char *id;       /* (owned) */
  char *strict;   /* (owned) */
  char *moderate; /* (owned) */
} Provider;

struct _TrellisSafeSearch {
  GPtrArray *providers; /* (owned) Provider (owned) */
  GHashTable *hosts;    /* (owned) host (owned) → Provider* (unowned) */
  GHashTable *targets;  /* (owned) set of every target (owned) */
};

static void
provider_free (gpointer data)
{
  Provider *p = data;

  g_free (p->id);
  g_free (p->strict);
  g_free (p->moderate);
  g_free (p);
}

void
trellis_safe_search_free (TrellisSafeSearch *ss)
{
  if (ss == NULL)
    return;
  g_clear_pointer (&ss->hosts, g_hash_table_unref);
  g_clear_pointer (&ss->targets, g_hash_table_unref);
  g_clear_pointer (&ss->providers, g_ptr_array_unref);
  g_free (ss);
}

/* ---- the levels ---------------------------------------------------------- */

const char *
trellis_safe_search_level_to_string (TrellisSafeSearchLevel level)
{
  switch (level)
    {
    case TRELLIS_SAFE_SEARCH_STRICT:
      return "strict";
    case TRELLIS_SAFE_SEARCH_MODERATE:
      return "moderate";
    case TRELLIS_SAFE_SEARCH_OFF:
    default:
      return "off";
    }
}

gboolean
trellis_safe_search_level_from_string (const char *text,
                                       TrellisSafeSearchLevel *ret_level)
{
  if (g_strcmp0 (text, "strict") == 0)
    *ret_level = TRELLIS_SAFE_SEARCH_STRICT;
  else if (g_strcmp0 (text, "moderate") == 0)
    *ret_level = TRELLIS_SAFE_SEARCH_MODERATE;
  else if (g_strcmp0 (text, "off") == 0)
    *ret_level = TRELLIS_SAFE_SEARCH_OFF;
  else
    return FALSE;
  return TRUE;
}

/* ---- where things are in the file ---------------------------------------- */

/* Fails with "FILE:LINE: message", LINE that of @key in [@group], else of
 * [@group]; "FILE: message" when neither is in the file. */
static gboolean G_GNUC_PRINTF (7, 8)
  fail (GError **error,
        int code,
        const char *path,
        TrellisKeyFileLines *lines,
        const char *group,
        const char *key,
        const char *fmt,
        ...)
{
  g_autofree char *msg = NULL;
  TrellisKeyFilePosition where = { 0 };
  va_list ap;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (group != NULL && !trellis_key_file_lines_find (lines, group, key, &where) && key != NULL)
    trellis_key_file_lines_find (lines, group, NULL, &where);
  if (where.line > 0)
    g_set_error (error, TRELLIS_POLICY_ERROR, code, "%s:%u: %s", path, where.line, msg);
  else
    g_set_error (error, TRELLIS_POLICY_ERROR, code, "%s: %s", path, msg);
  return FALSE;
}

/* ---- loading ------------------------------------------------------------- */

/* TRUE when @name is a valid host name already in normalized form. */
static gboolean
host_valid (const char *name)
{
  g_autofree char *normalized = NULL;

  if (trellis_domain_check (name, &normalized) != TRELLIS_DOMAIN_OK)
    return FALSE;
  return strcmp (normalized, name) == 0 && strchr (name, '.') != NULL;
}

static gboolean
target_read (GKeyFile *kf,
             const char *path,
             TrellisKeyFileLines *lines,
             const char *group,
             const char *key,
             char **ret_target,
             GError **error)
{
  g_autofree char *value = g_key_file_get_string (kf, group, key, NULL);

  if (value == NULL || *g_strstrip (value) == '\0')
    return fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, NULL,
                 "[%s] has no %s= endpoint", group, key);
  if (!host_valid (value))
    return fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, key,
                 "[%s] %s: “%s” is not a lower-case host name", group, key, value);
  *ret_target = g_steal_pointer (&value);
  return TRUE;
}

static gboolean
host_add (TrellisSafeSearch *ss,
          Provider *p,
          const char *host,
          const char *path,
          TrellisKeyFileLines *lines,
          const char *group,
          const char *key,
          GError **error)
{
  Provider *other;

  if (!host_valid (host))
    return fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, key,
                 "[%s] %s: “%s” is not a lower-case host name", group, key, host);
  other = g_hash_table_lookup (ss->hosts, host);
  if (other != NULL)
    return fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, key,
                 "[%s] %s: %s is listed twice (also by provider %s)",
                 group, key, host, other->id);
  g_hash_table_insert (ss->hosts, g_strdup (host), p);
  return TRUE;
}

static gboolean
provider_load (TrellisSafeSearch *ss,
               GKeyFile *kf,
               const char *path,
               TrellisKeyFileLines *lines,
               const char *group,
               GError **error)
{
  Provider *p;
  g_auto(GStrv) keys = NULL;
  g_auto(GStrv) domains = NULL;
  g_auto(GStrv) with_www = NULL;
  guint n_hosts = 0;
  const char *id = group + strlen (PROVIDER_PREFIX);

  if (*id == '\0' || strchr (id, ' ') != NULL)
    return fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, NULL,
                 "[%s]: a provider's id is one word, as in [provider google]", group);

  keys = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains ((const char *const[]) { "name", "strict", "moderate", "domains",
                                                  "with-www", NULL },
                          keys[i]))
      return fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, keys[i],
                   "[%s]: unknown key “%s” (known: name, strict, moderate, domains, with-www)",
                   group, keys[i]);

  p = g_new0 (Provider, 1);
  p->id = g_strdup (id);
  g_ptr_array_add (ss->providers, p); /* owned by ss from here */

  if (!target_read (kf, path, lines, group, "strict", &p->strict, error)
      || !target_read (kf, path, lines, group, "moderate", &p->moderate, error))
    return FALSE;

  domains = g_key_file_get_string_list (kf, group, "domains", NULL, NULL);
  with_www = g_key_file_get_string_list (kf, group, "with-www", NULL, NULL);
  for (guint i = 0; domains != NULL && domains[i] != NULL; i++)
    {
      g_strstrip (domains[i]);
      if (*domains[i] == '\0')
        continue;
      if (!host_add (ss, p, domains[i], path, lines, group, "domains", error))
        return FALSE;
      n_hosts++;
    }
  for (guint i = 0; with_www != NULL && with_www[i] != NULL; i++)
    {
      g_autofree char *www = NULL;

      g_strstrip (with_www[i]);
      if (*with_www[i] == '\0')
        continue;
      if (!host_add (ss, p, with_www[i], path, lines, group, "with-www", error))
        return FALSE;
      www = g_strconcat ("www.", with_www[i], NULL);
      if (!host_add (ss, p, www, path, lines, group, "with-www", error))
        return FALSE;
      n_hosts += 2;
    }
  if (n_hosts == 0)
    return fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, NULL,
                 "[%s] lists no host names (domains= or with-www=)", group);

  g_hash_table_add (ss->targets, g_strdup (p->strict));
  g_hash_table_add (ss->targets, g_strdup (p->moderate));
  return TRUE;
}

TrellisSafeSearch *
trellis_safe_search_load (const char *path,
                          GError **error)
{
  g_autoptr(TrellisSafeSearch) ss = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(TrellisKeyFileLines) lines = NULL;
  g_autoptr(TrellisProblems) problems = trellis_problems_new ();
  g_auto(GStrv) groups = NULL;
  GHashTableIter iter;
  gpointer host;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_IO,
                   "%s: cannot read the safe-search data: %s", path, local_error->message);
      return NULL;
    }
  if (!g_key_file_load_from_data (kf, contents, length, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_SYNTAX,
                   "%s: not a key file: %s", path, local_error->message);
      return NULL;
    }
  lines = trellis_key_file_scan (contents, length, path, TRELLIS_PROBLEM_DATA, problems);
  if (lines == NULL)
    {
      trellis_problems_set_error (problems, TRELLIS_POLICY_ERROR_SYNTAX, error);
      return NULL;
    }

  ss = g_new0 (TrellisSafeSearch, 1);
  ss->providers = g_ptr_array_new_with_free_func (provider_free);
  ss->hosts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ss->targets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (!g_str_has_prefix (groups[i], PROVIDER_PREFIX))
        {
          fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, groups[i], NULL,
                "unknown group [%s]: every group is [provider ID]", groups[i]);
          return NULL;
        }
      if (!provider_load (ss, kf, path, lines, groups[i], error))
        return NULL;
    }
  if (ss->providers->len == 0)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   "%s: no [provider ID] group", path);
      return NULL;
    }

  /* A target must never be rewritten again: no loops, no chains. */
  g_hash_table_iter_init (&iter, ss->hosts);
  while (g_hash_table_iter_next (&iter, &host, NULL))
    if (g_hash_table_contains (ss->targets, host))
      {
        Provider *p = g_hash_table_lookup (ss->hosts, host);
        g_autofree char *group = g_strconcat (PROVIDER_PREFIX, p->id, NULL);

        fail (error, TRELLIS_POLICY_ERROR_INVALID, path, lines, group, NULL,
              "%s is both a provider's endpoint and a name rewritten by [%s]",
              (const char *) host, group);
        return NULL;
      }

  return g_steal_pointer (&ss);
}

/* ---- lookups --------------------------------------------------------------- */

const char *
trellis_safe_search_lookup (TrellisSafeSearch *ss,
                            const char *normalized_name,
                            TrellisSafeSearchLevel level)
{
  Provider *p;

  if (ss == NULL || normalized_name == NULL || level == TRELLIS_SAFE_SEARCH_OFF)
    return NULL;
  if (g_hash_table_contains (ss->targets, normalized_name))
    return NULL;
  p = g_hash_table_lookup (ss->hosts, normalized_name);
  if (p == NULL)
    return NULL;
  switch (level)
    {
    case TRELLIS_SAFE_SEARCH_STRICT:
      return p->strict;
    case TRELLIS_SAFE_SEARCH_MODERATE:
      return p->moderate;
    case TRELLIS_SAFE_SEARCH_OFF:
    default:
      return NULL;
    }
}

const char *
trellis_safe_search_get_provider (TrellisSafeSearch *ss,
                                  const char *normalized_name)
{
  Provider *p;

  if (ss == NULL || normalized_name == NULL)
    return NULL;
  p = g_hash_table_lookup (ss->hosts, normalized_name);
  return p != NULL ? p->id : NULL;
}
