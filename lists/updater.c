/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * updater.c — one run of the list updater (see updater.h).
 *
 * Per source: a conditional request; on 200, the publisher's checksum
 * (when it publishes one), the download unpacked and read line by line
 * (list-parse.c), the checks, and the names sorted into a new names file.
 * Then the compile, which is a patch of the index in force when it can be:
 * each changed list is compared line by line with the one the index was
 * compiled from, and only the names that came or went are changed; a name
 * still on another list of its category keeps its bit.  Otherwise (the
 * first run, other categories, other shipped lists or information list,
 * more than a fifth of the names changed, a full table) every name is
 * compiled again.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "lists/list-archive.h"
#include "lists/list-fetch.h"
#include "lists/list-parse.h"
#include "lists/name-set.h"
#include "lists/updater.h"
#include "policy/lists-index.h"
#include "policy/public-suffix.h"

#include <idn2.h>

#define CHECKSUMS_MAX   (1024 * 1024) /* a publisher's checksum file */
#define PATCH_MAX_SHARE 0.2           /* past this share of changed names, compile in full */
#define SHRINK_MAX      0.5           /* a list that keeps less than this of its names is refused */
#define JUNK_MAX        0.5           /* a list whose lines are more than this junk is refused */

/* clang-format off */  /* the quark's name is one word, with its dashes */
G_DEFINE_QUARK (trellis-updater-error-quark, trellis_updater_error)
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Configuration */

void
trellis_updater_config_init (TrellisUpdaterConfig *config,
                             const char *lists_dir)
{
  memset (config, 0, sizeof *config);
  config->lists_dir = g_strdup (lists_dir);
  config->started_us = g_get_real_time ();
  config->max_download = TRELLIS_UPDATER_MAX_DOWNLOAD;
  config->max_unpacked = TRELLIS_UPDATER_MAX_UNPACKED;
  config->max_names = TRELLIS_UPDATER_MAX_NAMES;
  config->timeout = TRELLIS_UPDATER_TIMEOUT;
  config->connect_timeout = TRELLIS_UPDATER_CONNECT_TIMEOUT;
}

void
trellis_updater_config_clear (TrellisUpdaterConfig *config)
{
  g_clear_pointer (&config->lists_dir, g_free);
  g_clear_pointer (&config->data_dir, g_free);
  g_clear_pointer (&config->ca_file, g_free);
}

static gboolean
parse_size (const char *text,
            guint64 max,
            guint64 *ret_value)
{
  g_autofree char *number = g_strdup (text);
  gsize len = strlen (number);
  guint64 unit = 1, value;

  if (len > 0 && strchr ("KMG", number[len - 1]) != NULL)
    {
      unit = number[len - 1] == 'K' ? 1024 : number[len - 1] == 'M' ? 1024 * 1024
                                                                    : 1024 * 1024 * 1024;
      number[len - 1] = '\0';
    }
  if (!g_ascii_string_to_unsigned (number, 10, 1, max / unit, &value, NULL))
    return FALSE;
  *ret_value = value * unit;
  return TRUE;
}

gboolean
trellis_updater_config_load (TrellisUpdaterConfig *config,
                             const char *path,
                             gboolean optional,
                             GError **error)
{
  static const char *const keys[] = {
    "max-download", "max-unpacked", "max-names", "timeout", "connect-timeout", "test-ca-file", NULL
  };
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) names = NULL;
  struct stat st;

  if (g_lstat (path, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT && optional)
        return TRUE;
      g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_CONFIG,
                   "%s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  /* It can make the updater trust another CA: root's, and root's alone. */
  if (!S_ISREG (st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0)
    {
      g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_CONFIG,
                   "%s: refused: the configuration must be a plain file of root's that no one else can write",
                   path);
      return FALSE;
    }
  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_CONFIG,
                   "%s: %s", path, local_error->message);
      return FALSE;
    }
  names = g_key_file_get_keys (key_file, "updater", NULL, NULL);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autofree char *value = g_key_file_get_string (key_file, "updater", names[i], NULL);
      guint64 n = 0;
      gboolean ok = TRUE;

      if (!g_strv_contains (keys, names[i]))
        ok = FALSE;
      else if (strcmp (names[i], "test-ca-file") == 0)
        {
          ok = value != NULL && g_path_is_absolute (value);
          if (ok)
            {
              g_free (config->ca_file);
              config->ca_file = g_strdup (value);
            }
        }
      else if (strcmp (names[i], "max-download") == 0)
        ok = value != NULL && parse_size (value, G_GUINT64_CONSTANT (16) << 30, &config->max_download);
      else if (strcmp (names[i], "max-unpacked") == 0)
        ok = value != NULL && parse_size (value, TRELLIS_UPDATER_MAX_UNPACKED_LIMIT, &config->max_unpacked);
      else if (strcmp (names[i], "max-names") == 0)
        {
          ok = value != NULL && parse_size (value, 200000000, &n);
          config->max_names = ok ? n : config->max_names;
        }
      else if (strcmp (names[i], "timeout") == 0 || strcmp (names[i], "connect-timeout") == 0)
        {
          ok = value != NULL && g_ascii_string_to_unsigned (value, 10, 1, 24 * 3600, &n, NULL);
          if (ok && strcmp (names[i], "timeout") == 0)
            config->timeout = (guint) n;
          else if (ok)
            config->connect_timeout = (guint) n;
        }
      if (!ok)
        {
          g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_CONFIG,
                       "%s: [updater] %s = “%s” is not understood", path, names[i],
                       value != NULL ? value : "");
          return FALSE;
        }
    }
  return TRUE;
}

/* The process's anonymous and mapped-file memory now, kept at their most:
 * what a machine beside a desktop must have free (the mapped files are
 * page cache, which the kernel can drop). */
static guint64 peak_anon_kib, peak_file_kib;

static void
note_memory (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return;
  if ((line = strstr (status, "RssAnon:")) != NULL)
    peak_anon_kib = MAX (peak_anon_kib, g_ascii_strtoull (line + strlen ("RssAnon:"), NULL, 10));
  if ((line = strstr (status, "RssFile:")) != NULL)
    peak_file_kib = MAX (peak_file_kib, g_ascii_strtoull (line + strlen ("RssFile:"), NULL, 10));
}

/* ------------------------------------------------------------------------ */
/* One source */

typedef struct {
  const TrellisListSource *source; /* (unowned) the policy's */
  guint bit;
  /* What the index in force has of it (the manifest), or NULLs. */
  char *old_file; /* (owned) (nullable) names file, relative */
  guint old_names;
  char *etag;          /* (owned) (nullable) */
  char *last_modified; /* (owned) (nullable) */
  char *version;       /* (owned) (nullable) */
  char *sha256;        /* (owned) (nullable) */
  gint64 fetched;
  guint64 lines; /* of the list in force */
  char *refused; /* (owned) (nullable) of the list in force: "address=14" */
  /* This run. */
  char *new_file; /* (owned) (nullable) NULL: the old one stays */
  guint new_names;
  gboolean attempted;
  gboolean succeeded;
  char *error; /* (owned) (nullable) */
  TrellisListCounts counts;
  gboolean have_counts;
  guint64 bytes;
} SourceRun;

static void
source_run_free (gpointer data)
{
  SourceRun *run = data;

  g_free (run->old_file);
  g_free (run->etag);
  g_free (run->last_modified);
  g_free (run->version);
  g_free (run->sha256);
  g_free (run->refused);
  g_free (run->new_file);
  g_free (run->error);
  g_free (run);
}

/* The names file the next compile reads for @run, relative, or NULL. */
static const char *
run_file (const SourceRun *run)
{
  return run->new_file != NULL ? run->new_file : run->old_file;
}

typedef struct {
  const TrellisUpdaterConfig *config;
  TrellisPolicy *policy;
  GPtrArray *runs;          /* (owned) SourceRun */
  TrellisListsIndex *old;   /* (owned) (nullable) the manifest in force */
  guint64 generation;       /* of this run's compile */
  char **categories;        /* (owned) ids in bit order */
  char *readers;            /* (owned) the public suffix list and IDN library
                                              * a names file was read with */
  gboolean readers_same;    /* ... the same as the manifest's: its names
                                              * files may be trusted for names as written */
  char *shipped_digest;     /* (owned) */
  char *information_digest; /* (owned) */
  GPtrArray *shipped_names; /* (owned) "B name": bit as a byte, then the name */
  GHashTable *shipped_set;  /* (owned) same strings → TRUE */
} Run;

static char *
lists_path (const Run *run,
            const char *relative)
{
  return g_build_filename (run->config->lists_dir, relative, NULL);
}

/* A message safe for a status file that trellis lists shows: one line of
 * printable text. */
static char *
safe_message (const char *text)
{
  g_autofree char *copy = g_utf8_make_valid (text, -1);
  GString *out = g_string_new (NULL);

  for (const char *p = copy; *p != '\0' && out->len < 400; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e)
          || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029)
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static void
source_fail (SourceRun *run,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static void
source_fail (SourceRun *run,
             const char *format,
             ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_free (run->error);
  run->error = safe_message (text);
  run->succeeded = FALSE;
}

/* The download's digest, of @type (md5, sha256, sha512), as hex. */
static char *
file_digest (int fd,
             GChecksumType type,
             GError **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (type);
  g_autofree guchar *buf = g_malloc (1 << 16);
  ssize_t n;

  if (lseek (fd, 0, SEEK_SET) < 0)
    goto fail;
  while ((n = read (fd, buf, 1 << 16)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      g_checksum_update (checksum, buf, n);
    }
  return g_strdup (g_checksum_get_string (checksum));

fail:
  {
    int saved_errno = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                 "cannot read the download: %s", g_strerror (saved_errno));
  }
  return NULL;
}

/* The checksum of @file_name in a publisher's checksum file ("HEX  NAME",
 * "HEX *NAME" lines, or a single HEX), or NULL. */
static char *
checksums_find (const char *text,
                gsize len,
                const char *file_name,
                gsize hex_len)
{
  g_autofree char *copy = g_strndup (text, len);
  g_auto(GStrv) lines = g_strsplit (copy, "\n", -1);
  guint n_lines = 0;
  char *only = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      const char *name;
      gsize j;

      g_strstrip (lines[i]);
      if (*lines[i] == '\0' || *lines[i] == '#')
        continue;
      n_lines++;
      fields = g_strsplit_set (lines[i], " \t", -1);
      if (strlen (fields[0]) != hex_len)
        continue;
      for (j = 0; j < hex_len && g_ascii_isxdigit (fields[0][j]); j++)
        ;
      if (j != hex_len)
        continue;
      name = NULL;
      for (j = 1; fields[j] != NULL; j++)
        if (*fields[j] != '\0')
          name = fields[j];
      if (name == NULL)
        {
          g_free (only);
          only = g_ascii_strdown (fields[0], -1);
          continue;
        }
      if (*name == '*')
        name++;
      if (strcmp (name, file_name) == 0 || (g_str_has_suffix (name, file_name) && name[strlen (name) - strlen (file_name) - 1] == '/'))
        {
          g_free (only);
          return g_ascii_strdown (fields[0], -1);
        }
    }
  if (n_lines == 1 && only != NULL)
    return only;
  g_free (only);
  return NULL;
}

static void
feed_parser (const char *data,
             gsize len,
             gpointer user_data)
{
  trellis_list_parser_feed (user_data, data, len);
}

static void
add_name (const char *name,
          gsize len,
          gpointer user_data)
{
  trellis_name_set_add (user_data, name, len);
}

/* "address=14;invalid=2": the lines refused, by reason. */
static char *
refused_text (const TrellisListCounts *counts)
{
  GString *refused = g_string_new (NULL);

  for (guint r = 0; r < TRELLIS_LIST_REFUSED_N; r++)
    if (counts->refused[r] > 0)
      g_string_append_printf (refused, "%s%s=%" G_GUINT64_FORMAT, refused->len > 0 ? ";" : "",
                              trellis_list_refused_to_string (r), counts->refused[r]);
  return g_string_free (refused, FALSE);
}

/* The download starts like a web page: "<" after spaces (and a byte order mark). */
static gboolean
download_is_html (int fd)
{
  char head[512];
  ssize_t n;
  ssize_t i = 0;

  if (lseek (fd, 0, SEEK_SET) < 0 || (n = read (fd, head, sizeof head)) <= 0)
    return FALSE;
  if (n >= 3 && memcmp (head, "\xef\xbb\xbf", 3) == 0)
    i = 3;
  while (i < n && g_ascii_isspace (head[i]))
    i++;
  return i < n && head[i] == '<';
}

static int
open_tmp (const Run *run,
          const char *id,
          const char *suffix,
          GError **error)
{
  g_autofree char *name = g_strconcat ("tmp/", id, suffix, NULL);
  g_autofree char *path = lists_path (run, name);
  int fd;

  (void) g_unlink (path);
  fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "%s: %s", path, g_strerror (saved_errno));
      return -1;
    }
  (void) g_unlink (path); /* nothing else needs its name */
  return fd;
}

static void
source_update (Run *run,
               SourceRun *src)
{
  const TrellisUpdaterConfig *config = run->config;
  const TrellisListSource *source = src->source;
  g_auto(TrellisListFetchResult) result = { 0 };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TrellisNamesFile) known = NULL; /* before parser: outlives it */
  g_autoptr(TrellisListParser) parser = NULL;
  g_autoptr(TrellisNameSet) names = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *relative = NULL;
  g_autofree char *path = NULL;
  g_autofree char *have_path = NULL;
  TrellisListFetchRequest request = { 0 };
  gboolean have_old;
  guint64 unpacked = 0, lines;
  guint n;
  int fd;

  src->attempted = TRUE;
  have_path = src->old_file != NULL ? lists_path (run, src->old_file) : NULL;
  have_old = have_path != NULL && g_file_test (have_path, G_FILE_TEST_IS_REGULAR);

  fd = open_tmp (run, source->id, ".download", &local_error);
  if (fd < 0)
    {
      source_fail (src, "%s", local_error->message);
      return;
    }
  request.url = source->url;
  request.etag = have_old ? src->etag : NULL;
  request.last_modified = have_old ? src->last_modified : NULL;
  request.ca_file = config->ca_file;
  request.max_bytes = config->max_download;
  request.timeout = config->timeout;
  request.connect_timeout = config->connect_timeout;
  request.fd = fd;
  if (!trellis_list_fetch (&request, &result, &local_error))
    {
      close (fd);
      source_fail (src, "%s", local_error->message);
      return;
    }
  src->bytes = result.bytes;
  if (result.not_modified)
    {
      close (fd);
      src->succeeded = TRUE;
      src->fetched = g_get_real_time () / G_USEC_PER_SEC;
      return;
    }

  /* The publisher's checksum, before a byte of it is read as a list. */
  digest = file_digest (fd, G_CHECKSUM_SHA256, &local_error);
  if (digest == NULL)
    {
      close (fd);
      source_fail (src, "%s", local_error->message);
      return;
    }
  if (source->checksum_url != NULL)
    {
      g_auto(TrellisListFetchResult) sums_result = { 0 };
      GChecksumType type = strcmp (source->checksum_type, "md5") == 0      ? G_CHECKSUM_MD5
                           : strcmp (source->checksum_type, "sha512") == 0 ? G_CHECKSUM_SHA512
                                                                           : G_CHECKSUM_SHA256;
      TrellisListFetchRequest sums = request;
      g_autoptr(GUri) uri = g_uri_parse (source->url, G_URI_FLAGS_NONE, NULL);
      g_autofree char *file_name = g_path_get_basename (uri != NULL ? g_uri_get_path (uri) : "");
      g_autofree char *expected = NULL;
      g_autofree char *actual = NULL;
      g_autofree char *text = NULL;
      int sums_fd = open_tmp (run, source->id, ".checksums", &local_error);
      gsize len = 0;

      if (sums_fd < 0)
        {
          close (fd);
          source_fail (src, "%s", local_error->message);
          return;
        }
      sums.url = source->checksum_url;
      sums.etag = sums.last_modified = NULL;
      sums.max_bytes = CHECKSUMS_MAX;
      sums.fd = sums_fd;
      if (!trellis_list_fetch (&sums, &sums_result, &local_error))
        {
          close (sums_fd);
          close (fd);
          source_fail (src, "the publisher's checksums: %s", local_error->message);
          return;
        }
      text = g_malloc (sums_result.bytes + 1);
      if (lseek (sums_fd, 0, SEEK_SET) == 0)
        {
          ssize_t r;

          while (len < sums_result.bytes
                 && (r = read (sums_fd, text + len, sums_result.bytes - len)) > 0)
            len += (gsize) r;
        }
      close (sums_fd);
      expected = checksums_find (text, len, file_name, g_checksum_type_get_length (type) * 2);
      if (expected == NULL)
        {
          close (fd);
          source_fail (src, "the publisher's checksums (%s) have none for %s",
                       source->checksum_url, file_name);
          return;
        }
      actual = type == G_CHECKSUM_SHA256 ? g_strdup (digest) : file_digest (fd, type, &local_error);
      if (actual == NULL || strcmp (actual, expected) != 0)
        {
          close (fd);
          source_fail (src, "the download does not match the publisher's %s checksum: kept the last good list",
                       source->checksum_type);
          return;
        }
    }

  /* An error page served with 200 (a login portal, a "not found" page) is
   * said to be one, rather than "not a tar archive". */
  if (download_is_html (fd) || (result.content_type != NULL && g_str_has_prefix (result.content_type, "text/html")))
    {
      close (fd);
      source_fail (src, "the server sent a web page (HTML), not a list: kept the last good list");
      return;
    }

  names = trellis_name_set_new ();
  parser = trellis_list_parser_new (source->format, add_name, names);
  /* The names the list in force gave need not be read again. */
  if (have_old && run->readers_same)
    {
      known = trellis_names_file_open (have_path, NULL);
      trellis_list_parser_set_known (parser, known);
    }
  if (!trellis_list_archive_read (fd, source->format == TRELLIS_LIST_FORMAT_UT1 ? source->member : NULL,
                                  config->max_unpacked, feed_parser, parser, &unpacked, &local_error))
    {
      close (fd);
      source_fail (src, "%s: kept the last good list", local_error->message);
      return;
    }
  close (fd);
  trellis_list_parser_finish (parser, &src->counts);
  src->have_counts = TRUE;

  lines = src->counts.lines - src->counts.comments;
  if (src->counts.html || (result.content_type != NULL && g_str_has_prefix (result.content_type, "text/html")))
    {
      source_fail (src, "the server sent a web page (HTML), not a list: kept the last good list");
      return;
    }
  if (src->counts.names == 0)
    {
      source_fail (src, "the download holds no names: kept the last good list");
      return;
    }
  if (lines > 20 && (double) trellis_list_counts_junk (&src->counts) > JUNK_MAX * (double) lines)
    {
      source_fail (src, "%" G_GUINT64_FORMAT " of its %" G_GUINT64_FORMAT " lines are not names: "
                        "not a list of this format (%s); kept the last good list",
                   trellis_list_counts_junk (&src->counts), lines,
                   trellis_list_format_to_string (source->format));
      return;
    }
  n = trellis_name_set_finish (names);
  note_memory ();
  if (n > config->max_names)
    {
      source_fail (src, "the list holds %u names, more than the %" G_GUINT64_FORMAT " allowed: kept the last good list",
                   n, config->max_names);
      return;
    }
  if (src->old_names > 0 && have_old && (double) n < SHRINK_MAX * (double) src->old_names)
    {
      source_fail (src, "the list shrank from %u to %u names, by more than half: kept the last good list",
                   src->old_names, n);
      return;
    }

  relative = g_strdup_printf ("sources/%s.%" G_GUINT64_FORMAT ".names", source->id, run->generation);
  path = lists_path (run, relative);
  if (!trellis_name_set_write (names, path, &local_error))
    {
      source_fail (src, "cannot keep the list: %s", local_error->message);
      return;
    }
  g_free (src->new_file);
  src->new_file = g_steal_pointer (&relative);
  src->new_names = n;
  g_free (src->etag);
  src->etag = g_strdup (result.etag);
  g_free (src->last_modified);
  src->last_modified = g_strdup (result.last_modified);
  g_free (src->version);
  src->version = g_strdup (result.last_modified != NULL ? result.last_modified : result.etag);
  g_free (src->sha256);
  src->sha256 = g_steal_pointer (&digest);
  src->fetched = g_get_real_time () / G_USEC_PER_SEC;
  src->lines = src->counts.lines;
  g_free (src->refused);
  src->refused = refused_text (&src->counts);
  src->succeeded = TRUE;
}

/* ------------------------------------------------------------------------ */
/* The compile */

static gboolean
collect_shipped (guint bit,
                 const char *name,
                 gpointer user_data,
                 GError **error)
{
  Run *run = user_data;
  char *entry = g_strdup_printf ("%c%s", (char) ('A' + bit), name); /* name: normalized, NUL-terminated */

  if (g_hash_table_contains (run->shipped_set, entry))
    {
      g_free (entry);
      return TRUE;
    }
  g_ptr_array_add (run->shipped_names, entry);
  g_hash_table_add (run->shipped_set, entry);
  return TRUE;
}

/* The digests of what goes into the index besides the sources. */
static gboolean
read_shipped (Run *run,
              GError **error)
{
  g_autoptr(GChecksum) shipped = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GChecksum) information = g_checksum_new (G_CHECKSUM_SHA256);
  const char *const *info = trellis_policy_get_information_names (run->policy);

  run->shipped_names = g_ptr_array_new ();
  run->shipped_set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!trellis_policy_foreach_shipped_name (run->policy, run->config->data_dir, collect_shipped, run, error))
    return FALSE;
  for (guint i = 0; i < run->shipped_names->len; i++)
    {
      const char *entry = g_ptr_array_index (run->shipped_names, i);

      g_checksum_update (shipped, (const guchar *) entry, -1);
      g_checksum_update (shipped, (const guchar *) "\n", 1);
    }
  for (guint i = 0; info[i] != NULL; i++)
    {
      g_checksum_update (information, (const guchar *) info[i], -1);
      g_checksum_update (information, (const guchar *) "\n", 1);
    }
  run->shipped_digest = g_strdup (g_checksum_get_string (shipped));
  run->information_digest = g_strdup (g_checksum_get_string (information));
  return TRUE;
}

/* @name: NUL-terminated, at most 253 bytes. */
static gboolean
shipped_has (Run *run,
             guint bit,
             const char *name)
{
  char entry[256];

  entry[0] = (char) ('A' + bit);
  g_strlcpy (entry + 1, name, sizeof entry - 1);
  return g_hash_table_contains (run->shipped_set, entry);
}

/* The mapped names files of the lists that go into the next compile. */
typedef struct {
  SourceRun *src;
  TrellisNamesFile *file; /* (owned) (nullable) */
} Input;

typedef GArray Inputs;

static void
inputs_free (Inputs *inputs)
{
  for (guint i = 0; i < inputs->len; i++)
    trellis_names_file_free (g_array_index (inputs, Input, i).file);
  g_array_unref (inputs);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Inputs, inputs_free)

static GArray *
inputs_open (Run *run,
             GError **error)
{
  GArray *inputs = g_array_new (FALSE, TRUE, sizeof (Input));

  for (guint i = 0; i < run->runs->len; i++)
    {
      SourceRun *src = g_ptr_array_index (run->runs, i);
      Input input = { src, NULL };
      g_autofree char *path = NULL;

      if (run_file (src) == NULL)
        {
          g_array_append_val (inputs, input);
          continue;
        }
      path = lists_path (run, run_file (src));
      input.file = trellis_names_file_open (path, error);
      if (input.file == NULL)
        {
          inputs_free (inputs);
          return NULL;
        }
      g_array_append_val (inputs, input);
    }
  return inputs;
}

typedef struct {
  GBytes *image; /* (owned) */
  guint32 bit_counts[32];
  guint watched; /* entries on or below the information list */
} Compiled;

static gboolean
compile_full (Run *run,
              GArray *inputs,
              Compiled *ret,
              GError **error)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();

  for (guint i = 0; i < run->shipped_names->len; i++)
    {
      const char *entry = g_ptr_array_index (run->shipped_names, i);

      if (!trellis_domain_index_builder_add (builder, entry + 1, 1u << (entry[0] - 'A'), 0, error))
        return FALSE;
    }
  for (guint i = 0; i < inputs->len; i++)
    {
      Input *input = &g_array_index (inputs, Input, i);
      TrellisNamesCursor cursor;
      const char *name;
      gsize len;
      char buf[256];

      trellis_names_cursor_init (&cursor, input->file);
      while (trellis_names_cursor_next (&cursor, &name, &len))
        {
          if (len > 253)
            continue;
          memcpy (buf, name, len);
          buf[len] = '\0';
          if (!trellis_domain_index_builder_add (builder, buf, 1u << input->src->bit, 0, error))
            {
              g_prefix_error (error, "%s: ", run_file (input->src));
              return FALSE;
            }
        }
    }
  trellis_domain_index_builder_set_watch (builder, trellis_policy_get_information_names (run->policy));
  ret->image = trellis_domain_index_builder_to_bytes (builder, error);
  note_memory (); /* the builder's names and table, and the image */
  if (ret->image == NULL)
    return FALSE;
  trellis_domain_index_builder_get_bit_counts (builder, ret->bit_counts);
  ret->watched = trellis_domain_index_builder_get_n_watched (builder);
  return TRUE;
}

/* Whether a list that goes into the next compile, other than @except's,
 * of category @bit (or any category, for G_MAXUINT), holds @name
 * (NUL-terminated, @len bytes). */
static gboolean
others_have (Run *run,
             GArray *inputs,
             const Input *except,
             guint bit,
             const char *name,
             gsize len)
{
  if (run->shipped_set != NULL && g_hash_table_size (run->shipped_set) == 0 && inputs->len <= 1)
    return FALSE;
  for (guint i = 0; i < inputs->len; i++)
    {
      const Input *input = &g_array_index (inputs, Input, i);

      if (input == except || (bit != G_MAXUINT && input->src->bit != bit))
        continue;
      if (trellis_names_file_contains (input->file, name, len))
        return TRUE;
    }
  if (bit != G_MAXUINT)
    return shipped_has (run, bit, name);
  for (guint b = 0; b < 32; b++)
    if (shipped_has (run, b, name))
      return TRUE;
  return FALSE;
}

typedef enum {
  PATCH_OK,
  PATCH_NOT_WORTH, /* compile in full instead */
} PatchResult;

/* One changed list: the names that went, the names that came. */
static PatchResult
patch_source (Run *run,
              GArray *inputs,
              Input *input,
              TrellisNamesFile *old_file,
              TrellisDomainIndexPatch *patch,
              Compiled *counts,
              guint64 *budget,
              GError **error)
{
  guint32 bit = 1u << input->src->bit;
  TrellisNamesCursor a, b;
  const char *old_name = NULL, *new_name = NULL;
  gsize old_len = 0, new_len = 0;
  gboolean have_old, have_new;
  char buf[256];

  trellis_names_cursor_init (&a, old_file);
  trellis_names_cursor_init (&b, input->file);
  trellis_names_cursors_skip_same (&a, &b);
  have_old = trellis_names_cursor_next (&a, &old_name, &old_len);
  have_new = trellis_names_cursor_next (&b, &new_name, &new_len);
  while (have_old || have_new)
    {
      int c = !have_old ? 1 : !have_new ? -1
                                        : trellis_names_compare (old_name, old_len, new_name, new_len);
      const char *name = c < 0 ? old_name : new_name;
      gsize len = c < 0 ? old_len : new_len;
      guint32 bits = 0;
      gboolean found;

      if (c == 0)
        {
          /* In step again: skip what is the same, a block at a time. */
          trellis_names_cursors_skip_same (&a, &b);
          have_old = trellis_names_cursor_next (&a, &old_name, &old_len);
          have_new = trellis_names_cursor_next (&b, &new_name, &new_len);
          continue;
        }
      if (*budget == 0)
        return PATCH_NOT_WORTH;
      (*budget)--;
      if (len > 253)
        goto skip;
      memcpy (buf, name, len);
      buf[len] = '\0';
      found = trellis_domain_index_patch_lookup (patch, buf, &bits, NULL);
      if (c < 0)
        {
          /* Gone from this list: its category keeps it if another of its
           * lists (or the shipped one) still holds it. */
          if (found && (bits & bit) && !others_have (run, inputs, input, input->src->bit, buf, len))
            {
              if (!trellis_domain_index_patch_set (patch, buf, bits & ~bit, 0, error))
                return PATCH_NOT_WORTH;
              counts->bit_counts[input->src->bit]--;
              if ((bits & ~bit) == 0 && trellis_policy_information_covers (run->policy, buf))
                counts->watched--;
            }
        }
      else if (!found)
        {
          if (!trellis_domain_index_patch_set (patch, buf, bit, 0, error))
            return PATCH_NOT_WORTH;
          counts->bit_counts[input->src->bit]++;
          if (trellis_policy_information_covers (run->policy, buf))
            counts->watched++;
        }
      else if (!others_have (run, inputs, input, G_MAXUINT, buf, len))
        /* The index has this name's hash, and no other list has the name:
         * two names with one hash.  Only a full compile, with another
         * seed, can tell them apart. */
        return PATCH_NOT_WORTH;
      else if ((bits & bit) == 0)
        {
          if (!trellis_domain_index_patch_set (patch, buf, bits | bit, 0, error))
            return PATCH_NOT_WORTH;
          counts->bit_counts[input->src->bit]++;
        }
    skip:
      if (c < 0)
        have_old = trellis_names_cursor_next (&a, &old_name, &old_len);
      else
        have_new = trellis_names_cursor_next (&b, &new_name, &new_len);
    }
  return PATCH_OK;
}

/* The index in force, changed where the lists changed. */
static PatchResult
compile_patch (Run *run,
               GArray *inputs,
               Compiled *ret,
               GError **error)
{
  TrellisListsIndex *old = run->old;
  GKeyFile *manifest;
  g_autoptr(TrellisDomainIndexPatch) patch = NULL;
  const char *const *old_categories;
  g_autofree char *shipped = NULL;
  g_autofree char *information = NULL;
  g_auto(GStrv) groups = NULL;
  guint64 budget;
  guint n_entries;

  if (old == NULL || run->config->full)
    return PATCH_NOT_WORTH;
  manifest = trellis_lists_index_get_manifest (old);
  old_categories = trellis_lists_index_get_categories (old);
  shipped = g_key_file_get_string (manifest, "lists", "shipped", NULL);
  information = g_key_file_get_string (manifest, "lists", "information", NULL);
  if (!g_strv_equal (old_categories, (const char *const *) run->categories)
      || g_strcmp0 (shipped, run->shipped_digest) != 0
      || g_strcmp0 (information, run->information_digest) != 0)
    return PATCH_NOT_WORTH;

  /* Every source the old index was compiled from must be one we know now
   * (the others' names are removed below only if their file is there). */
  groups = g_key_file_get_groups (manifest, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    if (g_str_has_prefix (groups[i], "source "))
      {
        gboolean known = FALSE;

        for (guint j = 0; j < run->runs->len && !known; j++)
          known = strcmp (((SourceRun *) g_ptr_array_index (run->runs, j))->source->id,
                          groups[i] + strlen ("source "))
                  == 0;
        if (!known)
          return PATCH_NOT_WORTH; /* a source the household dropped: compile in full */
      }

  /* A patch is worth it for a few changes: past a fifth of the names,
   * compiling them all is as fast and gives a table sized for them. */
  n_entries = trellis_domain_index_get_n_entries (trellis_lists_index_get_index (old));
  budget = (guint64) (PATCH_MAX_SHARE * (double) MAX (n_entries, 1000));

  for (guint b = 0; run->categories[b] != NULL; b++)
    {
      g_autofree char *group = g_strconcat ("category ", run->categories[b], NULL);

      ret->bit_counts[b] = (guint32) g_key_file_get_uint64 (manifest, group, "names", NULL);
    }
  ret->watched = trellis_lists_index_get_information_overridden (old);

  patch = trellis_domain_index_patch_new (trellis_lists_index_get_index (old));
  for (guint i = 0; i < inputs->len; i++)
    {
      Input *input = &g_array_index (inputs, Input, i);
      g_autoptr(TrellisNamesFile) old_file = NULL;
      PatchResult result;

      if (g_strcmp0 (input->src->old_file, run_file (input->src)) == 0)
        continue;
      if (input->src->old_file != NULL)
        {
          g_autofree char *path = lists_path (run, input->src->old_file);
          g_autoptr(GError) local_error = NULL;

          old_file = trellis_names_file_open (path, &local_error);
          if (old_file == NULL)
            return PATCH_NOT_WORTH;
        }
      result = patch_source (run, inputs, input, old_file, patch, ret, &budget, error);
      if (result != PATCH_OK)
        {
          g_clear_error (error);
          return result;
        }
    }
  note_memory (); /* the patched table, and both versions of the lists mapped */
  ret->image = trellis_domain_index_patch_to_bytes (patch);
  return PATCH_OK;
}

static gboolean
needs_compile (Run *run)
{
  if (run->old == NULL || run->config->full)
    return TRUE;
  {
    GKeyFile *manifest = trellis_lists_index_get_manifest (run->old);
    g_autofree char *shipped = g_key_file_get_string (manifest, "lists", "shipped", NULL);
    g_autofree char *information = g_key_file_get_string (manifest, "lists", "information", NULL);
    g_auto(GStrv) groups = g_key_file_get_groups (manifest, NULL);
    guint n_sources = 0, n_with_file = 0;

    if (!g_strv_equal (trellis_lists_index_get_categories (run->old), (const char *const *) run->categories)
        || g_strcmp0 (shipped, run->shipped_digest) != 0
        || g_strcmp0 (information, run->information_digest) != 0)
      return TRUE;
    for (guint i = 0; groups[i] != NULL; i++)
      n_sources += g_str_has_prefix (groups[i], "source ");
    for (guint i = 0; i < run->runs->len; i++)
      {
        SourceRun *src = g_ptr_array_index (run->runs, i);

        if (src->new_file != NULL)
          return TRUE;
        n_with_file += src->old_file != NULL;
      }
    return n_sources != n_with_file;
  }
}

static void
manifest_add_sources (Run *run,
                      GKeyFile *manifest)
{
  for (guint i = 0; i < run->runs->len; i++)
    {
      SourceRun *src = g_ptr_array_index (run->runs, i);
      g_autofree char *group = g_strconcat ("source ", src->source->id, NULL);

      if (run_file (src) == NULL)
        continue;
      g_key_file_set_string (manifest, group, "category", src->source->category);
      g_key_file_set_string (manifest, group, "names-file", run_file (src));
      g_key_file_set_uint64 (manifest, group, "names", src->new_file != NULL ? src->new_names : src->old_names);
      g_key_file_set_int64 (manifest, group, "fetched", src->fetched);
      if (src->version != NULL)
        g_key_file_set_string (manifest, group, "version", src->version);
      if (src->etag != NULL)
        g_key_file_set_string (manifest, group, "etag", src->etag);
      if (src->last_modified != NULL)
        g_key_file_set_string (manifest, group, "last-modified", src->last_modified);
      if (src->sha256 != NULL)
        g_key_file_set_string (manifest, group, "sha256", src->sha256);
      g_key_file_set_uint64 (manifest, group, "lines", src->lines);
      if (src->refused != NULL)
        g_key_file_set_string (manifest, group, "refused", src->refused);
    }
}

static double
cpu_seconds (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return 0;
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
         + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static gboolean
compile (Run *run,
         TrellisUpdaterSummary *summary,
         GError **error)
{
  g_autoptr(Inputs) inputs = NULL;
  g_autoptr(GKeyFile) manifest = NULL;
  g_autofree char *index_file = NULL;
  g_autofree char *index_path = NULL;
  g_autofree char *manifest_path = lists_path (run, "manifest");
  Compiled compiled = { 0 };
  PatchResult patched;
  gint64 start = g_get_monotonic_time ();
  double cpu_start = cpu_seconds ();
  gsize size;
  const void *data;

  inputs = inputs_open (run, error);
  if (inputs == NULL)
    return FALSE;
  patched = compile_patch (run, inputs, &compiled, error);
  if (patched == PATCH_NOT_WORTH)
    {
      memset (&compiled, 0, sizeof compiled);
      if (!compile_full (run, inputs, &compiled, error))
        return FALSE;
    }
  summary->patched = patched == PATCH_OK;
  note_memory ();

  /* Not validated again here: trellisd validates what it takes, slot by
   * slot, and this process made it. */
  index_file = g_strdup_printf ("index/lists-%" G_GUINT64_FORMAT ".idx", run->generation);
  index_path = lists_path (run, index_file);
  data = g_bytes_get_data (compiled.image, &size);
  {
    g_autoptr(GError) local_error = NULL;

    if (!g_file_set_contents_full (index_path, data, (gssize) size, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0644, &local_error))
      {
        g_bytes_unref (compiled.image);
        g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_COMPILE,
                     "cannot write the index: %s", local_error->message);
        return FALSE;
      }
  }
  manifest = trellis_lists_manifest_new (run->generation, g_get_real_time () / G_USEC_PER_SEC,
                                         index_file, compiled.image, (const char *const *) run->categories,
                                         run->shipped_digest, run->information_digest,
                                         compiled.watched);
  if (manifest == NULL)
    {
      g_bytes_unref (compiled.image);
      g_set_error_literal (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_COMPILE,
                           "the compile made no index");
      return FALSE;
    }
  for (guint b = 0; run->categories[b] != NULL; b++)
    {
      g_autofree char *group = g_strconcat ("category ", run->categories[b], NULL);

      g_key_file_set_uint64 (manifest, group, "names", compiled.bit_counts[b]);
    }
  g_key_file_set_string (manifest, "lists", "readers", run->readers);
  manifest_add_sources (run, manifest);
  g_bytes_unref (compiled.image);
  if (!trellis_lists_manifest_write (manifest, manifest_path, error))
    return FALSE;
  summary->compiled = TRUE;
  summary->compile_seconds = (g_get_monotonic_time () - start) / 1e6;
  summary->compile_cpu_seconds = cpu_seconds () - cpu_start;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The run file */

/* The run of @config: begun (its pid: trellisd sees whether it still
 * runs), or ended with @exit_status and @output. */
static gboolean
run_file_write (const TrellisUpdaterConfig *config,
                gboolean ended,
                int exit_status,
                const char *output)
{
  g_autoptr(GKeyFile) record = g_key_file_new ();
  g_autofree char *path = g_build_filename (config->lists_dir, "run", NULL);
  g_autofree char *data = NULL;
  g_autofree char *text = NULL;

  g_key_file_set_int64 (record, "run", "started-us", config->started_us);
  if (ended)
    {
      g_autofree char *said = g_utf8_make_valid (output != NULL ? output : "", -1);

      g_key_file_set_int64 (record, "run", "finished-us", MAX (g_get_real_time (), config->started_us));
      g_key_file_set_integer (record, "run", "exit-status", exit_status);
      g_key_file_set_string (record, "run", "output", said);
    }
  else
    g_key_file_set_int64 (record, "run", "pid", (gint64) getpid ());
  data = g_key_file_to_data (record, NULL, NULL);
  text = g_strconcat ("# Written by the Trellis list updater as each run begins and ends.\n", data, NULL);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, NULL);
}

gboolean
trellis_updater_record_run (const TrellisUpdaterConfig *config,
                            int exit_status,
                            const char *output)
{
  g_autofree char *lock_path = g_build_filename (config->lists_dir, "lock", NULL);
  gboolean ok;
  int lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

  if (lock_fd < 0 || flock (lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      if (lock_fd >= 0)
        close (lock_fd);
      return FALSE;
    }
  ok = run_file_write (config, TRUE, exit_status, output);
  close (lock_fd);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* The status file */

static void
status_write (Run *run,
              gint64 started)
{
  g_autoptr(GKeyFile) status = g_key_file_new ();
  g_autoptr(GKeyFile) previous = g_key_file_new ();
  g_autofree char *path = lists_path (run, "status");
  g_autofree char *data = NULL;
  g_autofree char *text = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  (void) g_key_file_load_from_file (previous, path, G_KEY_FILE_NONE, NULL);
  g_key_file_set_int64 (status, "run", "started", started);
  g_key_file_set_int64 (status, "run", "finished", now);
  for (guint i = 0; i < run->runs->len; i++)
    {
      SourceRun *src = g_ptr_array_index (run->runs, i);
      g_autofree char *group = g_strconcat ("source ", src->source->id, NULL);
      g_autofree char *url = g_key_file_get_string (previous, group, "url", NULL);
      gboolean same = g_strcmp0 (url, src->source->url) == 0;
      gint64 last_success = same ? g_key_file_get_int64 (previous, group, "last-success", NULL) : 0;
      gint64 last_attempt = same ? g_key_file_get_int64 (previous, group, "last-attempt", NULL) : 0;
      g_autofree char *last_error = same ? g_key_file_get_string (previous, group, "last-error", NULL) : NULL;

      g_key_file_set_string (status, group, "url", src->source->url);
      if (src->attempted)
        {
          last_attempt = now;
          g_clear_pointer (&last_error, g_free);
          if (src->succeeded)
            last_success = now;
          else
            last_error = g_strdup (src->error != NULL ? src->error : "failed");
        }
      g_key_file_set_int64 (status, group, "last-attempt", last_attempt);
      g_key_file_set_int64 (status, group, "last-success", last_success);
      if (last_error != NULL)
        g_key_file_set_string (status, group, "last-error", last_error);
      if (src->have_counts)
        {
          g_autofree char *refused = refused_text (&src->counts);

          g_key_file_set_uint64 (status, group, "attempt-lines", src->counts.lines);
          g_key_file_set_string (status, group, "attempt-refused", refused);
        }
    }
  data = g_key_file_to_data (status, NULL, NULL);
  text = g_strconcat ("# Written by the Trellis list updater after each run; trellis lists shows it.\n", data, NULL);
  (void) g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, NULL);
}

/* Removes what no manifest refers to: the previous generations' files, and
 * downloads a crashed run left. */
static void
collect_garbage (Run *run)
{
  static const char *const dirs[] = { "sources", "index", "tmp", NULL };
  g_autoptr(TrellisListsIndex) current = NULL;
  g_autofree char *manifest_path = lists_path (run, "manifest");
  g_autoptr(GHashTable) keep = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  current = trellis_lists_index_open (manifest_path, NULL, NULL);
  if (current != NULL)
    {
      GKeyFile *manifest = trellis_lists_index_get_manifest (current);
      g_auto(GStrv) groups = g_key_file_get_groups (manifest, NULL);

      g_hash_table_add (keep, g_strdup (trellis_lists_index_get_index_file (current)));
      for (guint i = 0; groups[i] != NULL; i++)
        {
          char *file = g_key_file_get_string (manifest, groups[i], "names-file", NULL);

          if (file != NULL)
            g_hash_table_add (keep, file);
        }
    }
  for (guint d = 0; dirs[d] != NULL; d++)
    {
      g_autofree char *dir_path = lists_path (run, dirs[d]);
      g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *relative = g_build_filename (dirs[d], name, NULL);

          if (!g_hash_table_contains (keep, relative))
            {
              g_autofree char *path = lists_path (run, relative);

              (void) g_unlink (path);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */

static gboolean
make_dirs (const TrellisUpdaterConfig *config,
           GError **error)
{
  static const char *const dirs[] = { "sources", "index", "tmp", NULL };

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (config->lists_dir, dirs[i], NULL);

      if (g_mkdir_with_parents (path, strcmp (dirs[i], "tmp") == 0 ? 0700 : 0755) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_IO,
                       "%s: %s", path, g_strerror (saved_errno));
          return FALSE;
        }
    }
  return TRUE;
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->runs, g_ptr_array_unref);
  g_clear_pointer (&run->old, trellis_lists_index_unref);
  g_clear_pointer (&run->categories, g_strfreev);
  g_clear_pointer (&run->readers, g_free);
  g_clear_pointer (&run->shipped_digest, g_free);
  g_clear_pointer (&run->information_digest, g_free);
  g_clear_pointer (&run->shipped_set, g_hash_table_unref);
  g_clear_pointer (&run->shipped_names, g_ptr_array_unref);
}

gboolean
trellis_updater_run (const TrellisUpdaterConfig *config,
                     TrellisPolicy *policy,
                     const char *const *only,
                     TrellisUpdaterSummary *ret_summary,
                     GError **error)
{
  Run run = { 0 };
  TrellisUpdaterSummary summary = { 0 };
  g_autofree char *lock_path = g_build_filename (config->lists_dir, "lock", NULL);
  g_autofree char *manifest_path = g_build_filename (config->lists_dir, "manifest", NULL);
  const TrellisListSource *const *sources;
  const TrellisCategory *const *categories;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  gint64 started = g_get_real_time () / G_USEC_PER_SEC;
  guint n_sources, n_categories;
  gboolean ok = FALSE;
  int lock_fd;

  if (!make_dirs (config, error))
    return FALSE;
  lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (lock_fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_IO,
                   "%s: %s", lock_path, g_strerror (saved_errno));
      return FALSE;
    }
  if (flock (lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      close (lock_fd);
      g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_BUSY,
                   "another update is running (%s is locked)", lock_path);
      return FALSE;
    }

  /* The run has begun: trellisd, waiting for it, sees it has. */
  run_file_write (config, FALSE, 0, NULL);

  run.config = config;
  run.policy = policy;
  run.runs = g_ptr_array_new_with_free_func (source_run_free);
  categories = trellis_policy_get_categories (policy, &n_categories);
  for (guint i = 0; i < n_categories; i++)
    g_ptr_array_add (ids, (gpointer) categories[i]->id);
  g_ptr_array_add (ids, NULL);
  run.categories = g_strdupv ((char **) ids->pdata);

  if (g_file_test (manifest_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GError) local_error = NULL;

      run.old = trellis_lists_index_open (manifest_path, NULL, &local_error);
      if (run.old == NULL)
        g_warning ("the lists in force could not be read (%s): compiling every list again",
                   local_error->message);
    }
  run.generation = (run.old != NULL ? trellis_lists_index_get_generation (run.old) : 0) + 1;
  {
    g_autofree char *psl = trellis_public_suffix_list_version ();

    run.readers = g_strdup_printf ("%s; libidn2 %s", psl, idn2_check_version (NULL));
    if (run.old != NULL)
      {
        g_autofree char *was = g_key_file_get_string (trellis_lists_index_get_manifest (run.old),
                                                      "lists", "readers", NULL);

        run.readers_same = g_strcmp0 (was, run.readers) == 0;
      }
  }

  sources = trellis_policy_get_list_sources (policy, &n_sources);
  for (guint i = 0; i < n_sources; i++)
    {
      SourceRun *src;
      g_autofree char *group = NULL;
      GKeyFile *manifest;

      if (sources[i]->removed)
        continue;
      src = g_new0 (SourceRun, 1);
      src->source = sources[i];
      for (guint b = 0; b < n_categories; b++)
        if (strcmp (categories[b]->id, sources[i]->category) == 0)
          src->bit = categories[b]->bit;
      g_ptr_array_add (run.runs, src);
      if (run.old == NULL)
        continue;
      manifest = trellis_lists_index_get_manifest (run.old);
      group = g_strconcat ("source ", sources[i]->id, NULL);
      if (!g_key_file_has_group (manifest, group))
        continue;
      {
        g_autofree char *category = g_key_file_get_string (manifest, group, "category", NULL);
        g_autofree char *file = g_key_file_get_string (manifest, group, "names-file", NULL);

        /* A list kept for another category (the household moved the
         * source) or of a name we do not write is not ours to carry on. */
        if (g_strcmp0 (category, sources[i]->category) != 0 || file == NULL
            || !g_str_has_prefix (file, "sources/") || strstr (file, "..") != NULL
            || strchr (file + strlen ("sources/"), '/') != NULL)
          continue;
        src->old_file = g_steal_pointer (&file);
      }
      src->old_names = (guint) g_key_file_get_uint64 (manifest, group, "names", NULL);
      src->etag = g_key_file_get_string (manifest, group, "etag", NULL);
      src->last_modified = g_key_file_get_string (manifest, group, "last-modified", NULL);
      src->version = g_key_file_get_string (manifest, group, "version", NULL);
      src->sha256 = g_key_file_get_string (manifest, group, "sha256", NULL);
      src->fetched = g_key_file_get_int64 (manifest, group, "fetched", NULL);
      src->lines = g_key_file_get_uint64 (manifest, group, "lines", NULL);
      src->refused = g_key_file_get_string (manifest, group, "refused", NULL);
    }
  summary.n_sources = run.runs->len;

  if (!read_shipped (&run, error))
    goto out;

  for (guint i = 0; i < run.runs->len && !config->offline; i++)
    {
      SourceRun *src = g_ptr_array_index (run.runs, i);

      if (only != NULL && !g_strv_contains (only, src->source->id))
        continue;
      source_update (&run, src);
      if (!src->succeeded)
        summary.n_failed++;
      else if (src->new_file != NULL)
        summary.n_fetched++;
      else
        summary.n_current++;
    }

  if (needs_compile (&run))
    {
      g_autoptr(GError) local_error = NULL;

      if (!compile (&run, &summary, &local_error))
        {
          g_set_error (error, TRELLIS_UPDATER_ERROR, TRELLIS_UPDATER_ERROR_COMPILE,
                       "the lists did not compile, the ones in force stay: %s", local_error->message);
          /* The new lists are not in force: the next run fetches them again. */
          for (guint i = 0; i < run.runs->len; i++)
            {
              SourceRun *src = g_ptr_array_index (run.runs, i);

              if (src->new_file != NULL)
                source_fail (src, "fetched, but the lists did not compile: %s", local_error->message);
            }
          status_write (&run, started);
          goto out;
        }
    }
  summary.generation = run.generation - (summary.compiled ? 0 : 1);
  status_write (&run, started);
  collect_garbage (&run);
  ok = TRUE;

out:
  {
    g_autoptr(TrellisListsIndex) now_in_force = trellis_lists_index_open (manifest_path, NULL, NULL);

    if (now_in_force != NULL)
      {
        summary.generation = trellis_lists_index_get_generation (now_in_force);
        summary.n_entries = trellis_domain_index_get_n_entries (trellis_lists_index_get_index (now_in_force));
      }
  }
  run_clear (&run);
  close (lock_fd);
  summary.peak_anon_kib = peak_anon_kib;
  summary.peak_file_kib = peak_file_kib;
  if (ok && ret_summary != NULL)
    *ret_summary = summary;
  return ok;
}
