/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-fetch.c — one download over HTTPS (see list-fetch.h).
 *
 * libcurl rather than code of our own: HTTP/1.1 and 2, TLS and its
 * certificate checks (OpenSSL and the system's CA store), redirects,
 * conditional requests, content encodings and timeouts are each a place
 * where a homemade client goes wrong, and libcurl is the most widely used
 * and audited client there is (Debian's curl, apt's https method before
 * its own, git, pacman...).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lists/list-fetch.h"

#define MAX_REDIRECTS     5
#define LOW_SPEED_BYTES   1024 /* slower than 1 KiB/s ... */
#define LOW_SPEED_SECONDS 60   /* ... for a minute: given up */

/* clang-format off */  /* the quark's name is one word, with its dashes */
G_DEFINE_QUARK (trellis-list-fetch-error-quark, trellis_list_fetch_error)
/* clang-format on */

void
trellis_list_fetch_result_clear (TrellisListFetchResult *result)
{
  g_clear_pointer (&result->etag, g_free);
  g_clear_pointer (&result->last_modified, g_free);
  g_clear_pointer (&result->content_type, g_free);
}

void
trellis_list_fetch_init (void)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
}

typedef struct {
  int fd;
  guint64 max_bytes;
  guint64 bytes;
  gboolean too_large;
  int write_errno;
  TrellisListFetchResult *result;
} Transfer;

static size_t
on_body (char *data,
         size_t size,
         size_t n,
         void *user_data)
{
  Transfer *t = user_data;
  size_t len = size * n, done = 0;

  if (t->bytes + len > t->max_bytes)
    {
      t->too_large = TRUE;
      return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
  while (done < len)
    {
      ssize_t w = write (t->fd, data + done, len - done);

      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          t->write_errno = w < 0 ? errno : EIO;
          return 0;
        }
      done += (size_t) w;
    }
  t->bytes += len;
  return len;
}

/* The value of a header line "Name: value", cut and trimmed, as text fit
 * to be kept (a server's header is input we do not trust). */
static char *
header_value (const char *line,
              size_t len,
              const char *name)
{
  size_t name_len = strlen (name);
  g_autofree char *value = NULL;

  if (len <= name_len + 1 || g_ascii_strncasecmp (line, name, name_len) != 0 || line[name_len] != ':')
    return NULL;
  value = g_strndup (line + name_len + 1, len - name_len - 1);
  g_strstrip (value);
  if (*value == '\0' || strlen (value) > 256)
    return NULL;
  for (char *p = value; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      return NULL;
  return g_steal_pointer (&value);
}

static size_t
on_header (char *data,
           size_t size,
           size_t n,
           void *user_data)
{
  Transfer *t = user_data;
  size_t len = size * n;
  char *value;

  /* A new response (after a redirect): forget the previous one's. */
  if (len >= 5 && memcmp (data, "HTTP/", 5) == 0)
    trellis_list_fetch_result_clear (t->result);
  if ((value = header_value (data, len, "ETag")) != NULL)
    {
      g_free (t->result->etag);
      t->result->etag = value;
    }
  else if ((value = header_value (data, len, "Last-Modified")) != NULL)
    {
      g_free (t->result->last_modified);
      t->result->last_modified = value;
    }
  else if ((value = header_value (data, len, "Content-Type")) != NULL)
    {
      g_free (t->result->content_type);
      t->result->content_type = value;
    }
  return len;
}

/* libcurl's and the TLS library's words, made safe to show. */
static char *
safe_text (const char *text)
{
  g_autofree char *copy = g_strdup (text != NULL ? text : "");

  for (char *p = copy; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      *p = '?';
  g_strstrip (copy);
  return g_steal_pointer (&copy);
}

gboolean
trellis_list_fetch (const TrellisListFetchRequest *request,
                    TrellisListFetchResult *ret_result,
                    GError **error)
{
  g_auto(TrellisListFetchResult) result = { 0 };
  Transfer t = { request->fd, request->max_bytes, 0, FALSE, 0, &result };
  char errbuf[CURL_ERROR_SIZE] = "";
  g_autofree char *if_none_match = NULL;
  g_autofree char *if_modified_since = NULL;
  g_autofree char *reason = NULL;
  struct curl_slist *headers = NULL;
  CURL *curl;
  CURLcode code;
  long status = 0;

  g_return_val_if_fail (request != NULL && request->url != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (lseek (request->fd, 0, SEEK_SET) < 0 || ftruncate (request->fd, 0) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_IO,
                   "cannot write the download: %s", g_strerror (saved_errno));
      return FALSE;
    }
  curl = curl_easy_init ();
  if (curl == NULL)
    {
      g_set_error_literal (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_IO,
                           "cannot start a download (libcurl)");
      return FALSE;
    }
  curl_easy_setopt (curl, CURLOPT_URL, request->url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (curl, CURLOPT_MAXREDIRS, (long) MAX_REDIRECTS);
  curl_easy_setopt (curl, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (request->ca_file != NULL)
    curl_easy_setopt (curl, CURLOPT_CAINFO, request->ca_file);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, "trellis-lists-update/" PACKAGE_VERSION);
  /* Any encoding the server likes; the cap applies to what it decodes to. */
  curl_easy_setopt (curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, (long) request->timeout);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, (long) request->connect_timeout);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, (long) LOW_SPEED_BYTES);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, (long) LOW_SPEED_SECONDS);
  curl_easy_setopt (curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) request->max_bytes);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt (curl, CURLOPT_FAILONERROR, 0L);
  if (request->etag != NULL)
    {
      if_none_match = g_strconcat ("If-None-Match: ", request->etag, NULL);
      headers = curl_slist_append (headers, if_none_match);
    }
  if (request->last_modified != NULL)
    {
      if_modified_since = g_strconcat ("If-Modified-Since: ", request->last_modified, NULL);
      headers = curl_slist_append (headers, if_modified_since);
    }
  if (headers != NULL)
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);

  code = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (curl);
  curl_slist_free_all (headers);

  reason = safe_text (errbuf[0] != '\0' ? errbuf : curl_easy_strerror (code));
  if (t.too_large || code == CURLE_FILESIZE_EXCEEDED)
    {
      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_TOO_LARGE,
                   "the list is larger than %" G_GUINT64_FORMAT " MiB: stopped",
                   request->max_bytes / (1024 * 1024));
      return FALSE;
    }
  if (t.write_errno != 0)
    {
      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_IO,
                   "cannot write the download: %s", g_strerror (t.write_errno));
      return FALSE;
    }
  switch (code)
    {
    case CURLE_OK:
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_TLS,
                   "the server's certificate is not trusted: %s", reason);
      return FALSE;
    case CURLE_OPERATION_TIMEDOUT:
      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_TIMEOUT,
                   "the download took too long: %s", reason);
      return FALSE;
    case CURLE_UNSUPPORTED_PROTOCOL:
      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_NETWORK,
                   "refused to leave HTTPS: %s", reason);
      return FALSE;
    default:
      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_NETWORK,
                   "%s", reason);
      return FALSE;
    }
  if (status == 304 && (request->etag != NULL || request->last_modified != NULL))
    {
      result.not_modified = TRUE;
      result.status = 304;
      *ret_result = result;
      memset (&result, 0, sizeof result);
      return TRUE;
    }
  if (status != 200)
    {
      g_set_error (error, TRELLIS_LIST_FETCH_ERROR, TRELLIS_LIST_FETCH_ERROR_HTTP,
                   "the server answered HTTP %ld", status);
      return FALSE;
    }
  result.status = (guint) status;
  result.bytes = t.bytes;
  *ret_result = result;
  memset (&result, 0, sizeof result);
  return TRUE;
}
