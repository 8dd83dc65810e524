/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-sources.c — where the category lists come from: the publishers'
 * lists that the updater fetches, as data.  Each is a [source ID] group of
 * a key file: the shipped ones in categories/CATEGORY/sources (the folder
 * names the category), the household's own in the household file (with
 * category =).  The household may also remove shipped ones
 * (remove-sources = under [household], read by household.c).
 *
 *   [source ut1-adult]
 *   url = https://dsi.ut-capitole.fr/blacklists/download/adult.tar.gz
 *   format = ut1                       # ut1 | hosts | plain | adblock
 *   licence = CC-BY-SA-4.0
 *   attribution = UT1 blacklists, Université Toulouse Capitole (Fabrice Prigent)
 *   homepage = https://dsi.ut-capitole.fr/blacklists/
 *   checksum-url = https://dsi.ut-capitole.fr/blacklists/download/MD5SUM.LST
 *   checksum = md5                     # md5 | sha256 | sha512
 *
 * Every value is checked here, with its place, for both kinds of file.
 */
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"
#include "policy/text-safety.h"

#define URL_MAX  2048
#define TEXT_MAX 300
#define ID_MAX   64

static const char *const format_names[] = {
  [TRELLIS_LIST_FORMAT_PLAIN] = "plain",
  [TRELLIS_LIST_FORMAT_HOSTS] = "hosts",
  [TRELLIS_LIST_FORMAT_ADBLOCK] = "adblock",
  [TRELLIS_LIST_FORMAT_UT1] = "ut1",
  NULL
};

static const char *const checksum_names[] = { "md5", "sha256", "sha512", NULL };

const char *const trellis_list_source_keys[] = {
  "category", "url", "format", "licence", "attribution", "homepage",
  "checksum-url", "checksum", "member", NULL
};

const char *
trellis_list_format_to_string (TrellisListFormat format)
{
  if ((guint) format >= G_N_ELEMENTS (format_names) - 1)
    return "plain";
  return format_names[format];
}

gboolean
trellis_list_format_from_string (const char *text,
                                 TrellisListFormat *ret_format)
{
  for (guint i = 0; text != NULL && format_names[i] != NULL; i++)
    if (strcmp (format_names[i], text) == 0)
      {
        *ret_format = (TrellisListFormat) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
trellis_list_source_id_is_valid (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > ID_MAX || !(g_ascii_islower (id[0]) || g_ascii_isdigit (id[0])))
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && strchr ("-_.", *p) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
trellis_list_source_check_url (const char *url,
                               GError **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *host;

  if (strlen (url) > URL_MAX)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   _ ("the address is longer than %u characters"), URL_MAX);
      return FALSE;
    }
  for (const char *p = url; *p != '\0'; p++)
    if ((guchar) *p <= ' ' || (guchar) *p >= 0x7f)
      {
        g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                     _ ("“%s” holds a space or a character that is not ASCII: write the address as a browser shows it when copied"),
                     url);
        return FALSE;
      }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   _ ("“%s” is not an https:// address: lists are only fetched over HTTPS"), url);
      return FALSE;
    }
  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0')
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   _ ("“%s” names no server"), url);
      return FALSE;
    }
  if (g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   _ ("“%s” holds a user name or a password: anyone may read the list of sources, so write none"),
                   url);
      return FALSE;
    }
  if (g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                   _ ("“%s” ends with a “#” part, which a server never sees: leave it out"), url);
      return FALSE;
    }
  return TRUE;
}

/* The file a UT1 archive holds the names in: CATEGORY/domains, CATEGORY
 * being the archive's name ("adult" for .../adult.tar.gz). */
char *
trellis_list_source_default_member (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *base = NULL;
  char *dot;

  if (uri == NULL)
    return NULL;
  base = g_path_get_basename (g_uri_get_path (uri));
  dot = strstr (base, ".tar");
  if (dot == NULL)
    dot = strstr (base, ".tgz");
  if (dot != NULL)
    *dot = '\0';
  if (*base == '\0' || strcmp (base, "/") == 0 || strcmp (base, ".") == 0)
    return NULL;
  return g_strconcat (base, "/domains", NULL);
}

/* A value without its " # comment" (the household file allows them), or
 * NULL when the key is absent. */
static char *
value_get (GKeyFile *key_file,
           const char *group,
           const char *key)
{
  char *value = g_key_file_get_value (key_file, group, key, NULL);

  if (value == NULL)
    return NULL;
  for (char *p = value; *p != '\0'; p++)
    if (*p == '#' && (p == value || p[-1] == ' ' || p[-1] == '\t'))
      {
        *p = '\0';
        break;
      }
  g_strstrip (value);
  return value;
}

typedef struct {
  GKeyFile *key_file;
  TrellisKeyFileLines *lines;
  const char *group;
  const char *file;
  TrellisProblemSource source;
  TrellisProblems *problems;
  gboolean ok;
} Reader;

static void
reader_report (Reader *reader,
               const char *key,
               gboolean at_key,
               const char *message)
{
  TrellisKeyFilePosition where = { 1, 1, 1 };

  trellis_key_file_lines_find (reader->lines, reader->group, key, &where);
  trellis_problems_add (reader->problems, reader->source, reader->file, where.line,
                        at_key ? where.key_col : where.col, "%s", message);
  reader->ok = FALSE;
}

/* A free text (licence, attribution): one line, no control character. */
static char *
reader_text (Reader *reader,
             const char *key)
{
  g_autofree char *value = value_get (reader->key_file, reader->group, key);
  gunichar c;

  if (value == NULL || *value == '\0')
    return NULL;
  if (strlen (value) > TEXT_MAX || trellis_text_find_unsafe (value, &c) >= 0)
    {
      g_autofree char *message =
        g_strdup_printf (_ ("%s = is at most %u characters of plain text on one line"), key, TEXT_MAX);

      reader_report (reader, key, FALSE, message);
      return NULL;
    }
  return g_steal_pointer (&value);
}

static char *
reader_url (Reader *reader,
            const char *key)
{
  g_autofree char *value = value_get (reader->key_file, reader->group, key);
  g_autoptr(GError) local_error = NULL;

  if (value == NULL)
    return NULL;
  if (!trellis_list_source_check_url (value, &local_error))
    {
      reader_report (reader, key, FALSE, local_error->message);
      return NULL;
    }
  return g_steal_pointer (&value);
}

gboolean
trellis_list_source_read (GKeyFile *key_file,
                          TrellisKeyFileLines *lines,
                          const char *group,
                          const char *file,
                          TrellisProblemSource source,
                          TrellisProblems *problems,
                          TrellisListSourceDraft *ret_draft)
{
  Reader reader = { key_file, lines, group, file, source, problems, TRUE };
  TrellisListSourceDraft *d = ret_draft;
  g_auto(GStrv) keys = g_key_file_get_keys (key_file, group, NULL, NULL);
  g_autofree char *format = NULL;
  g_autofree char *checksum = NULL;
  const char *id = group + strlen ("source");

  memset (d, 0, sizeof *d);
  while (g_ascii_isspace (*id))
    id++;
  if (!trellis_list_source_id_is_valid (id) || strpbrk (id, " \t") != NULL)
    {
      reader_report (&reader, NULL, TRUE,
                     _ ("a source is written [source ID], its ID in lower-case letters, digits, “-”, “_” and “.”"));
      return FALSE;
    }
  d->id = g_strdup (id);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (trellis_list_source_keys, keys[i]))
      {
        const char *suggestion = trellis_did_you_mean (keys[i], trellis_list_source_keys);
        g_autofree char *message =
          suggestion != NULL
            ? g_strdup_printf (_ ("unknown key “%s” in [%s]; did you mean “%s”?"), keys[i], group, suggestion)
            : g_strdup_printf (_ ("unknown key “%s” in [%s]"), keys[i], group);

        reader_report (&reader, keys[i], TRUE, message);
      }

  d->category = value_get (key_file, group, "category");
  d->url = reader_url (&reader, "url");
  if (d->url == NULL && !g_key_file_has_key (key_file, group, "url", NULL))
    {
      g_autofree char *message =
        g_strdup_printf (_ ("[%s] needs url = the https:// address of the list"), group);

      reader_report (&reader, NULL, TRUE, message);
    }

  format = value_get (key_file, group, "format");
  if (format == NULL)
    {
      g_autofree char *message =
        g_strdup_printf (_ ("[%s] needs format = ut1, hosts, plain or adblock: how the list is written"), group);

      reader_report (&reader, NULL, TRUE, message);
    }
  else if (!trellis_list_format_from_string (format, &d->format))
    {
      const char *suggestion = trellis_did_you_mean (format, format_names);
      g_autofree char *message =
        suggestion != NULL
          ? g_strdup_printf (_ ("there is no list format “%s”; did you mean “%s”?"), format, suggestion)
          : g_strdup_printf (_ ("there is no list format “%s”; the formats are ut1, hosts, plain and adblock"),
                             format);

      reader_report (&reader, "format", FALSE, message);
    }

  d->licence = reader_text (&reader, "licence");
  d->attribution = reader_text (&reader, "attribution");
  d->homepage = reader_url (&reader, "homepage");
  d->checksum_url = reader_url (&reader, "checksum-url");
  checksum = value_get (key_file, group, "checksum");
  if (checksum != NULL && !g_strv_contains (checksum_names, checksum))
    {
      g_autofree char *message =
        g_strdup_printf (_ ("checksum must be md5, sha256 or sha512 (the kind the publisher's checksum file holds), not “%s”"),
                         checksum);

      reader_report (&reader, "checksum", FALSE, message);
    }
  else if (checksum != NULL)
    d->checksum_type = g_steal_pointer (&checksum);
  if ((d->checksum_type != NULL) != g_key_file_has_key (key_file, group, "checksum-url", NULL)
      && reader.ok)
    reader_report (&reader, g_key_file_has_key (key_file, group, "checksum", NULL) ? "checksum" : "checksum-url",
                   TRUE, _ ("write checksum-url = and checksum = together: where the publisher's checksums are, and their kind"));

  d->member = value_get (key_file, group, "member");
  if (d->member != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (d->member, "/", -1);
      gboolean bad = *d->member == '\0' || d->member[0] == '/' || strlen (d->member) > 255;

      for (guint i = 0; parts[i] != NULL; i++)
        bad = bad || *parts[i] == '\0' || strcmp (parts[i], "..") == 0 || strcmp (parts[i], ".") == 0;
      if (d->format != TRELLIS_LIST_FORMAT_UT1)
        reader_report (&reader, "member", TRUE, _ ("member = is for format = ut1: the file in the archive that holds the names"));
      else if (bad)
        reader_report (&reader, "member", FALSE, _ ("member = is a path inside the archive, like adult/domains"));
    }
  else if (d->format == TRELLIS_LIST_FORMAT_UT1 && d->url != NULL)
    {
      d->member = trellis_list_source_default_member (d->url);
      if (d->member == NULL)
        reader_report (&reader, "url", FALSE,
                       _ ("a UT1 archive is named like adult.tar.gz; write member = the file inside it"));
    }
  {
    TrellisKeyFilePosition where = { 0, 0, 0 };

    trellis_key_file_lines_find (lines, group, NULL, &where);
    d->line = where.line;
  }
  return reader.ok;
}

void
trellis_list_source_draft_clear (TrellisListSourceDraft *draft)
{
  g_clear_pointer (&draft->id, g_free);
  g_clear_pointer (&draft->category, g_free);
  g_clear_pointer (&draft->url, g_free);
  g_clear_pointer (&draft->licence, g_free);
  g_clear_pointer (&draft->attribution, g_free);
  g_clear_pointer (&draft->homepage, g_free);
  g_clear_pointer (&draft->checksum_url, g_free);
  g_clear_pointer (&draft->checksum_type, g_free);
  g_clear_pointer (&draft->member, g_free);
}

static const char *
chunk (TrellisPolicy *policy,
       const char *text)
{
  return text != NULL ? g_string_chunk_insert_const (policy->strings, text) : NULL;
}

void
trellis_policy_add_list_source (TrellisPolicy *policy,
                                const TrellisListSourceDraft *draft,
                                const char *category,
                                gboolean household,
                                const char *file)
{
  TrellisListSource *source = g_new0 (TrellisListSource, 1);

  source->id = chunk (policy, draft->id);
  source->category = chunk (policy, category);
  source->url = chunk (policy, draft->url);
  source->format = draft->format;
  source->licence = chunk (policy, draft->licence);
  source->attribution = chunk (policy, draft->attribution);
  source->homepage = chunk (policy, draft->homepage);
  source->checksum_url = chunk (policy, draft->checksum_url);
  source->checksum_type = chunk (policy, draft->checksum_type);
  source->member = chunk (policy, draft->member);
  source->household = household;
  source->file = chunk (policy, file);
  source->line = draft->line;
  g_ptr_array_add (policy->list_sources, source);
}

TrellisListSource *
trellis_policy_find_list_source (TrellisPolicy *policy,
                                 const char *id)
{
  for (guint i = 0; id != NULL && i < policy->list_sources->len; i++)
    {
      TrellisListSource *source = g_ptr_array_index (policy->list_sources, i);

      if (strcmp (source->id, id) == 0)
        return source;
    }
  return NULL;
}

void
trellis_list_sources_load_shipped (TrellisPolicy *policy,
                                   const char *path,
                                   const char *category,
                                   TrellisProblems *problems)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(TrellisKeyFileLines) lines = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) groups = NULL;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, 0, 0,
                              _ ("cannot read the list sources: %s"), local_error->message);
      return; /* a category may have no published source */
    }
  lines = trellis_key_file_scan (contents, length, path, TRELLIS_PROBLEM_DATA, problems);
  if (lines == NULL)
    return;
  if (!g_key_file_load_from_data (key_file, contents, length, G_KEY_FILE_NONE, &local_error))
    {
      trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, 0, 0, "%s", local_error->message);
      return;
    }
  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_auto(TrellisListSourceDraft) draft = { 0 };

      if (!g_str_has_prefix (groups[i], "source ") && strcmp (groups[i], "source") != 0)
        {
          TrellisKeyFilePosition where = { 1, 1, 1 };

          trellis_key_file_lines_find (lines, groups[i], NULL, &where);
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, where.line, where.col,
                                _ ("unknown section [%s]; write [source ID]"), groups[i]);
          continue;
        }
      if (!trellis_list_source_read (key_file, lines, groups[i], path, TRELLIS_PROBLEM_DATA,
                                     problems, &draft))
        continue;
      if (draft.category != NULL && strcmp (draft.category, category) != 0)
        {
          TrellisKeyFilePosition where = { 1, 1, 1 };

          trellis_key_file_lines_find (lines, groups[i], "category", &where);
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, where.line, where.col,
                                _ ("this file is in the folder of the category “%s”; leave category = out"),
                                category);
          continue;
        }
      if (trellis_policy_find_list_source (policy, draft.id) != NULL)
        {
          trellis_problems_add (problems, TRELLIS_PROBLEM_DATA, path, draft.line, 1,
                                _ ("the source %s is defined twice"), draft.id);
          continue;
        }
      trellis_policy_add_list_source (policy, &draft, category, FALSE, path);
    }
}

const TrellisListSource *const *
trellis_policy_get_list_sources (TrellisPolicy *policy,
                                 guint *ret_n)
{
  g_return_val_if_fail (policy != NULL, NULL);
  if (ret_n != NULL)
    *ret_n = policy->list_sources->len;
  return (const TrellisListSource *const *) policy->list_sources->pdata;
}
