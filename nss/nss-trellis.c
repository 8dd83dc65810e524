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
 * It never answers with addresses itself.  Plain C and libc only, no
 * global state, every wait bounded: it runs inside every program.
 */
#include <arpa/inet.h>
#include <errno.h>
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
  ASK_CONTINUE,     /* allowed, or not ours: the next source */
  ASK_BLOCKED,      /* not found, and stop */
  ASK_UNREACHABLE,  /* trellisd did not answer */
} AskResult;

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

static AskResult
ask (const char *name)
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
    return ASK_CONTINUE;   /* no name trellisd could read; no source will find it */
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
  unsigned char probe[12] = { 0, 0, 0x01, 0x00 };   /* id, RD; QDCOUNT 0 */
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
        break;                       /* answered: DNS flows */
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        break;                       /* refused (ICMP): DNS flows */
      if (!wait_fd (fd, POLLIN, deadline))
        {
          held = true;               /* not a word: held */
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

static enum nss_status
lookup (const char *name, int *errnop, int *h_errnop)
{
  AskResult r = ASK_CONTINUE;

  if (name != NULL && !is_address (name))
    r = ask (name);
  if (r == ASK_UNREACHABLE)
    r = dns_held () ? ASK_UNREACHABLE : ASK_CONTINUE;
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
    default:
      *errnop = ENOENT;
      *h_errnop = NO_RECOVERY;
      return NSS_STATUS_UNAVAIL;
    }
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname4_r (const char             *name,
                               struct gaih_addrtuple **pat,
                               char                   *buffer,
                               size_t                  buflen,
                               int                    *errnop,
                               int                    *h_errnop,
                               int32_t                *ttlp);

enum nss_status
_nss_trellis_gethostbyname4_r (const char             *name,
                               struct gaih_addrtuple **pat,
                               char                   *buffer,
                               size_t                  buflen,
                               int                    *errnop,
                               int                    *h_errnop,
                               int32_t                *ttlp)
{
  return lookup (name, errnop, h_errnop);
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname3_r (const char     *name,
                               int             af,
                               struct hostent *host,
                               char           *buffer,
                               size_t          buflen,
                               int            *errnop,
                               int            *h_errnop,
                               int32_t        *ttlp,
                               char          **canonp);

enum nss_status
_nss_trellis_gethostbyname3_r (const char     *name,
                               int             af,
                               struct hostent *host,
                               char           *buffer,
                               size_t          buflen,
                               int            *errnop,
                               int            *h_errnop,
                               int32_t        *ttlp,
                               char          **canonp)
{
  return lookup (name, errnop, h_errnop);
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname2_r (const char     *name,
                               int             af,
                               struct hostent *host,
                               char           *buffer,
                               size_t          buflen,
                               int            *errnop,
                               int            *h_errnop);

enum nss_status
_nss_trellis_gethostbyname2_r (const char     *name,
                               int             af,
                               struct hostent *host,
                               char           *buffer,
                               size_t          buflen,
                               int            *errnop,
                               int            *h_errnop)
{
  return lookup (name, errnop, h_errnop);
}

NSS_EXPORT enum nss_status
_nss_trellis_gethostbyname_r (const char     *name,
                              struct hostent *host,
                              char           *buffer,
                              size_t          buflen,
                              int            *errnop,
                              int            *h_errnop);

enum nss_status
_nss_trellis_gethostbyname_r (const char     *name,
                              struct hostent *host,
                              char           *buffer,
                              size_t          buflen,
                              int            *errnop,
                              int            *h_errnop)
{
  return lookup (name, errnop, h_errnop);
}
