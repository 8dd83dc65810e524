/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-fetch.h — one download over HTTPS, with libcurl: the system's CA
 * store (or, for tests only, one CA file), TLS 1.2 or later, https only
 * (redirects too), a conditional request (If-None-Match, If-Modified-Since),
 * and caps on the bytes and the time it may take.  The body goes to a file.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRELLIS_LIST_FETCH_ERROR (trellis_list_fetch_error_quark ())
GQuark trellis_list_fetch_error_quark (void);

typedef enum {
  TRELLIS_LIST_FETCH_ERROR_NETWORK,   /* no connection, a name that does not resolve, a reset */
  TRELLIS_LIST_FETCH_ERROR_TLS,       /* a certificate that is not trusted, expired, for another name */
  TRELLIS_LIST_FETCH_ERROR_HTTP,      /* the server answered with an error (4xx, 5xx) */
  TRELLIS_LIST_FETCH_ERROR_TOO_LARGE, /* more bytes than allowed */
  TRELLIS_LIST_FETCH_ERROR_TIMEOUT,   /* slower or longer than allowed */
  TRELLIS_LIST_FETCH_ERROR_IO,        /* the file could not be written */
} TrellisListFetchError;

typedef struct {
  const char *url;           /* https:// */
  const char *etag;          /* (nullable) of the copy we have: If-None-Match */
  const char *last_modified; /* (nullable) of the copy we have: If-Modified-Since */
  const char *ca_file;       /* (nullable) trust only this CA (tests); NULL: the system's store */
  guint64 max_bytes;         /* the most the body may be */
  guint timeout;             /* seconds for the whole download */
  guint connect_timeout;     /* seconds to connect */
  int fd;                    /* where the body goes, from its start */
} TrellisListFetchRequest;

typedef struct {
  gboolean not_modified; /* 304: the copy we have is current */
  guint status;          /* the HTTP status */
  guint64 bytes;         /* of the body */
  char *etag;            /* (owned) (nullable) */
  char *last_modified;   /* (owned) (nullable) */
  char *content_type;    /* (owned) (nullable) */
} TrellisListFetchResult;

/** trellis_list_fetch_result_clear: frees what @result holds. */
void trellis_list_fetch_result_clear (TrellisListFetchResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrellisListFetchResult, trellis_list_fetch_result_clear)

/** trellis_list_fetch_init: once, before any thread: libcurl's global state. */
void trellis_list_fetch_init (void);

/**
 * trellis_list_fetch:
 * Downloads @request->url into @request->fd.  A redirect is followed (at
 * most 5, https only).  Returns: TRUE with @ret_result filled, or FALSE with
 * @error in TRELLIS_LIST_FETCH_ERROR whose message says, for a person,
 * what went wrong (the server's status, the TLS library's words).
 */
gboolean trellis_list_fetch (const TrellisListFetchRequest *request,
                             TrellisListFetchResult *ret_result,
                             GError **error);

G_END_DECLS
