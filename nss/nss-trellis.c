/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss-trellis.c — libnss_trellis.so.2, the "trellis" source of the hosts
 * database (nsswitch.conf).  On a desktop where getaddrinfo() reaches the
 * resolver over a local socket (systemd-resolved through nss-resolve), a
 * child's lookups never pass port 53, where trellisd's queue sees them.
 * This module asks trellisd first, for every lookup by name, and answers:
 *
 *   - blocked for the caller: NOTFOUND (h_errno HOST_NOT_FOUND), and the
 *     line "trellis [!UNAVAIL=return]" ends the lookup there;
 *   - a search engine's name, for a child with safe search: the addresses
 *     of its safe endpoint (forcesafesearch.google.com), looked up through
 *     getaddrinfo() itself (once: the endpoint is never rewritten), with
 *     the endpoint as the canonical name, as the DNS answer would give;
 *   - allowed, or the caller is not protected: UNAVAIL, and the lookup
 *     goes on to the next source as if this one were not there;
 *   - trellisd does not answer (not running, stopped, or busy past
 *     TRELLIS_NSS_TIMEOUT_MS): the kernel decides, as it does for the
 *     caller's DNS packets.  The module sends one malformed DNS message to
 *     port 53 of a loopback address no one serves.  Dropped without a
 *     word: the caller's DNS is held by trellisd's table with no trellisd
 *     behind it (a protected account, on-failure = closed), and the lookup
 *     fails with TRYAGAIN.  Refused (ICMP) or answered: the caller's DNS
 *     flows (not protected, or on-failure = open, or no table at all), and
 *     the lookup goes on.  So the module follows on-failure without any
 *     file that would tell every account who is protected.
 *
 * Plain C and libc only, no global state but the depth of its own
 * lookups (a thread's), every wait bounded: it runs inside every program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdalign.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nss.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nss/nss-protocol.h"

#define NSS_EXPORT __attribute__ ((visibility ("default")))

typedef enum {
  ASK_CONTINUE,    /* allowed, or not ours: the next source */
  ASK_BLOCKED,     /* not found, and stop */
  ASK_SAFE,        /* the safe endpoint's addresses */
  ASK_UNREACHABLE, /* trellisd did not answer */
} AskResult;

/* This thread's lookups of a safe endpoint, under way: one never asks
 * for another. */
static __thread int depth;

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for @events on @fd until @deadline (now_ms()); true when ready. */
static bool
wait_fd (int fd, short events, int64_t deadline)
{
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = events };
      int64_t left = deadline - now_ms ();
      int r;

      if (left <= 0)
        return false;
      r = poll (&p, 1, (int) left);
      if (r > 0)
        return (p.revents & (events | POLLHUP | POLLERR)) != 0;
      if (r == 0 || errno != EINTR)
        return false;
    }
}

/* A safe endpoint's name as trellisd gave it: a host name, nothing else. */
static bool
target_valid (const char *t)
{
  if (*t == '\0')
    return false;
  for (; *t != '\0'; t++)
    if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9')
          || *t == '-' || *t == '.' || *t == '_'))
      return false;
  return true;
}

static AskResult
ask (const char *name, char *ret_target, size_t target_size)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  char request[TRELLIS_NSS_REQUEST_MAX];
  char reply[TRELLIS_NSS_REPLY_MAX];
  size_t len = strlen (name);
  int64_t deadline = now_ms () + TRELLIS_NSS_TIMEOUT_MS;
  AskResult result = ASK_UNREACHABLE;
  ssize_t n;
  int fd;

  if (len == 0 || len > TRELLIS_NSS_NAME_MAX)
    return ASK_CONTINUE; /* no name trellisd could read; no source will find it */
  request[0] = TRELLIS_NSS_REQUEST;
  memcpy (request + 1, name, len);
  memcpy (sa.sun_path, TRELLIS_NSS_SOCKET, sizeof TRELLIS_NSS_SOCKET);

  fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return ASK_UNREACHABLE;
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0
      && (errno != EINPROGRESS || !wait_fd (fd, POLLOUT, deadline)))
    goto out;
  for (;;)
    {
      n = send (fd, request, len + 1, MSG_NOSIGNAL);
      if (n == (ssize_t) len + 1)
        break;
      if (n >= 0 || (errno != EAGAIN && errno != EINTR) || !wait_fd (fd, POLLOUT, deadline))
        goto out;
    }
  for (;;)
    {
      n = recv (fd, reply, sizeof reply, 0);
      if (n > 0)
        break;
      if (n == 0 || (errno != EAGAIN && errno != EINTR) || !wait_fd (fd, POLLIN, deadline))
        goto out;
    }
  switch (reply[0])
    {
    case TRELLIS_NSS_BLOCKED:
      result = ASK_BLOCKED;
      break;
    case TRELLIS_NSS_SAFE:
      /* an endpoint that is no host name: blocked, not passed on */
      result = ASK_BLOCKED;
      if ((size_t) n - 1 < target_size)
        {
          memcpy (ret_target, reply + 1, (size_t) n - 1);
          ret_target[n - 1] = '\0';
          if (target_valid (ret_target))
            result = depth > 0 ? ASK_CONTINUE : ASK_SAFE;
        }
      break;
    case TRELLIS_NSS_ALLOWED:
    case TRELLIS_NSS_OUTSIDE:
      result = ASK_CONTINUE;
      break;
    default:
      /* refused, or not trellisd's words: as if it had not answered */
      result = ASK_UNREACHABLE;
      break;
    }
out:
  close (fd);
  return result;
}

/* Is the caller's DNS held by the kernel right now?  A DNS header that
 * announces no question (malformed: trellisd drops it too) to port 53 of
 * a loopback address no one serves.  Refused or answered: no. */
static bool
dns_held (void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (53) };
  unsigned char probe[12] = { 0, 0, 0x01, 0x00 }; /* id, RD; QDCOUNT 0 */
  unsigned char buf[512];
  int64_t deadline = now_ms () + TRELLIS_NSS_PROBE_MS;
  struct timespec ts;
  bool held = false;
  int fd;

  if (inet_pton (AF_INET, TRELLIS_NSS_PROBE_ADDR, &sa.sin_addr) != 1)
    return false;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  probe[0] = (unsigned char) (ts.tv_nsec >> 8);
  probe[1] = (unsigned char) ts.tv_nsec;
  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return false;
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0
      || send (fd, probe, sizeof probe, MSG_NOSIGNAL) < 0)
    goto out;
  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, 0);

      if (n >= 0)
        break; /* answered: DNS flows */
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        break; /* refused (ICMP): DNS flows */
      if (!wait_fd (fd, POLLIN, deadline))
        {
          held = true; /* not a word: held */
          break;
        }
    }
out:
  close (fd);
  return held;
}

static bool
is_address (const char *name)
{
  unsigned char buf[sizeof (struct in6_addr)];

  return inet_pton (AF_INET, name, buf) == 1 || inet_pton (AF_INET6, name, buf) == 1;
}

/* The safe endpoint @target's addresses of @family (AF_UNSPEC: both),
 * through getaddrinfo() and so the sources of nsswitch.conf. */
static struct addrinfo *
target_resolve (const char *target, int family)
{
  struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res = NULL;
  int r;

  depth++;
  r = getaddrinfo (target, NULL, &hints, &res);
  depth--;
  return r == 0 ? res : NULL;
}

static size_t
ai_count (const struct addrinfo *ai, int family)
{
  size_t n = 0;

  for (; ai != NULL; ai = ai->ai_next)
    if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
        && (family == AF_UNSPEC || ai->ai_family == family))
      n++;
  return n;
}

static const void *
ai_addr (const struct addrinfo *ai)
{
  if (ai->ai_family == AF_INET)
    return &((const struct sockaddr_in *) (const void *) ai->ai_addr)->sin_addr;
  return &((const struct sockaddr_in6 *) (const void *) ai->ai_addr)->sin6_addr;
}

/* Where the next object aligned for @align goes in @buffer after @used. */
static size_t
aligned (size_t used, size_t align)
{
  return (used + align - 1) & ~(align - 1);
}

static enum nss_status
too_small (int *errnop, int *h_errnop)
{
  /* ERANGE: glibc asks again with a bigger buffer */
  *errnop = ERANGE;
  *h_errnop = NETDB_INTERNAL;
  return NSS_STATUS_TRYAGAIN;
}

static enum nss_status
no_address (int *errnop, int *h_errnop)
{
  *errnop = ENOENT;
  *h_errnop = NO_DATA;
  return NSS_STATUS_NOTFOUND;
}

/* gethostbyname4_r's list, in @buffer: the canonical name, then the tuples. */
static enum nss_status
fill_tuples (const char *canon, const struct addrinfo *res, struct gaih_addrtuple **pat,
             char *buffer, size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp)
{
  size_t n = ai_count (res, AF_UNSPEC), nlen = strlen (canon) + 1, at;
  struct gaih_addrtuple *first = NULL, *prev = NULL;

  if (n == 0)
    return no_address (errnop, h_errnop);
  at = aligned (nlen, alignof (struct gaih_addrtuple));
  if (buflen < at + n * sizeof (struct gaih_addrtuple))
    return too_small (errnop, h_errnop);
  memcpy (buffer, canon, nlen);
  for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
    {
      struct gaih_addrtuple *t;

      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
        continue;
      t = (struct gaih_addrtuple *) (void *) (buffer + at);
      at += sizeof *t;
      memset (t, 0, sizeof *t);
      t->name = buffer;
      t->family = ai->ai_family;
      memcpy (t->addr, ai_addr (ai), ai->ai_family == AF_INET ? 4 : 16);
      if (ai->ai_family == AF_INET6)
        t->scopeid = ((const struct sockaddr_in6 *) (const void *) ai->ai_addr)->sin6_scope_id;
      if (prev != NULL)
        prev->next = t;
      else
        first = t;
      prev = t;
    }
  /* a caller may hand us a tuple of its own for the first record */
  if (*pat != NULL)
    **pat = *first;
  else
    *pat = first;
  if (ttlp != NULL)
    *ttlp = 300;
  return NSS_STATUS_SUCCESS;
}

/* gethostbyname3_r's hostent, in @buffer: the name, no alias, the
 * addresses of @af and the list that points at them. */
static enum nss_status
fill_hostent (const char *canon, const struct addrinfo *res, int af, struct hostent *host,
              char *buffer, size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp, char **canonp)
{
  size_t n = ai_count (res, af), nlen = strlen (canon) + 1, alen = af == AF_INET ? 4 : 16;
  size_t at_aliases, at_addrs, at_list, end;
  char **aliases, **list;
  size_t i = 0;

  if (af != AF_INET && af != AF_INET6)
    {
      *errnop = EAFNOSUPPORT;
      *h_errnop = NO_RECOVERY;
      return NSS_STATUS_UNAVAIL;
    }
  if (n == 0)
    return no_address (errnop, h_errnop);
  at_aliases = aligned (nlen, alignof (char *));
  at_addrs = at_aliases + sizeof (char *);
  at_list = aligned (at_addrs + n * alen, alignof (char *));
  end = at_list + (n + 1) * sizeof (char *);
  if (buflen < end)
    return too_small (errnop, h_errnop);
  memcpy (buffer, canon, nlen);
  aliases = (char **) (void *) (buffer + at_aliases);
  aliases[0] = NULL;
  list = (char **) (void *) (buffer + at_list);
  for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
    {
      if (ai->ai_family != af)
        continue;
      memcpy (buffer + at_addrs + i * alen, ai_addr (ai), alen);
      list[i] = buffer + at_addrs + i * alen;
      i++;
    }
  list[i] = NULL;
  host->h_name = buffer;
  host->h_aliases = aliases;
  host->h_addrtype = af;
  host->h_length = (int) alen;
  host->h_addr_list = list;
  if (ttlp != NULL)
    *ttlp = 300;
  if (canonp != NULL)
    *canonp = buffer;
  return NSS_STATUS_SUCCESS;
}

/* What trellisd (or the kernel) says of @name; the safe endpoint, for
 * ASK_SAFE, in @target. */
static AskResult
decide (const char *name, char *target, size_t target_size)
{
  AskResult r = ASK_CONTINUE;

  if (name != NULL && !is_address (name))
    r = ask (name, target, target_size);
  if (r == ASK_UNREACHABLE)
    r = dns_held () ? ASK_UNREACHABLE : ASK_CONTINUE;
  return r;
}

static enum nss_status
status_of (AskResult r, int *errnop, int *h_errnop)
{
  switch (r)
    {
    case ASK_BLOCKED:
      *errnop = ENOENT;
      *h_errnop = HOST_NOT_FOUND;
      return NSS_STATUS_NOTFOUND;
    case ASK_UNREACHABLE:
      /* not ERANGE: that would ask for a bigger buffer */
      *errnop = EAGAIN;
      *h_errnop = TRY_AGAIN;
      return NSS_STATUS_TRYAGAIN;
    case ASK_CONTINUE:
    case ASK_SAFE:
    default:
      *errnop = ENOENT;
      *h_errnop = NO_RECOVERY;
      return NSS_STATUS_UNAVAIL;
    }
}

static enum nss_status
lookup4 (const char *name, struct gaih_addrtuple **pat, char *buffer, size_t buflen,
         int *errnop, int *h_errnop, int32_t *ttlp)
{
  char target[TRELLIS_NSS_REPLY_MAX];
  AskResult r = decide (name, target, sizeof target);
  struct addrinfo *res;
  enum nss_status status;

  if (r != ASK_SAFE)
    return status_of (r, errnop, h_errnop);
  res = target_resolve (target, AF_UNSPEC);
  if (res == NULL)
    return no_address (errnop, h_errnop); /* never the unsafe service instead */
  status = fill_tuples (target, res, pat, buffer, buflen, errnop, h_errnop, ttlp);
  freeaddrinfo (res);
  return status;
}

static enum nss_status
lookup3 (const char *name, int af, struct hostent *host, char *buffer, size_t buflen,
         int *errnop, int *h_errnop, int32_t *ttlp, char **canonp)
{
  char target[TRELLIS_NSS_REPLY_MAX];
  AskResult r = decide (name, target, sizeof target);
  struct addrinfo *res;
  enum nss_status status;

  if (r != ASK_SAFE)
    return status_of (r, errnop, h_errnop);
  res = target_resolve (target, af);
  if (res == NULL)
    return no_address (errnop, h_errnop);
  status = fill_hostent (target, res, af, host, buffer, buflen, errnop, h_errnop, ttlp, canonp);
  freeaddrinfo (res);
  return status;
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname4_r (const char *name,
                               struct gaih_addrtuple **pat,
                               char *buffer,
                               size_t buflen,
                               int *errnop,
                               int *h_errnop,
                               int32_t *ttlp);

enum nss_status
_nss_trellis_gethostbyname4_r (const char *name,
                               struct gaih_addrtuple **pat,
                               char *buffer,
                               size_t buflen,
                               int *errnop,
                               int *h_errnop,
                               int32_t *ttlp)
{
  return lookup4 (name, pat, buffer, buflen, errnop, h_errnop, ttlp);
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname3_r (const char *name,
                               int af,
                               struct hostent *host,
                               char *buffer,
                               size_t buflen,
                               int *errnop,
                               int *h_errnop,
                               int32_t *ttlp,
                               char **canonp);

enum nss_status
_nss_trellis_gethostbyname3_r (const char *name,
                               int af,
                               struct hostent *host,
                               char *buffer,
                               size_t buflen,
                               int *errnop,
                               int *h_errnop,
                               int32_t *ttlp,
                               char **canonp)
{
  return lookup3 (name, af, host, buffer, buflen, errnop, h_errnop, ttlp, canonp);
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname2_r (const char *name,
                               int af,
                               struct hostent *host,
                               char *buffer,
                               size_t buflen,
                               int *errnop,
                               int *h_errnop);

enum nss_status
_nss_trellis_gethostbyname2_r (const char *name,
                               int af,
                               struct hostent *host,
                               char *buffer,
                               size_t buflen,
                               int *errnop,
                               int *h_errnop)
{
  return lookup3 (name, af, host, buffer, buflen, errnop, h_errnop, NULL, NULL);
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname_r (const char *name,
                              struct hostent *host,
                              char *buffer,
                              size_t buflen,
                              int *errnop,
                              int *h_errnop);

enum nss_status
_nss_trellis_gethostbyname_r (const char *name,
                              struct hostent *host,
                              char *buffer,
                              size_t buflen,
                              int *errnop,
                              int *h_errnop)
{
  return lookup3 (name, AF_INET, host, buffer, buflen, errnop, h_errnop, NULL, NULL);
}
