/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/answerer.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/raw-reply.h"

/* linux/netfilter_ipv6/ip6_tables.h, which does not mix with netinet/in.h:
 * conntrack's original destination of an IPv6 socket. */
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define DNS_MESSAGE_MAX     65535
#define UDP_FORWARD_TIMEOUT 4000 /* ms: then the child's resolver retries */
#define UDP_MAX_FORWARDS    16

/*
 * TCP, against a peer that dribbles bytes to hold connections open: every
 * wait has a deadline that no byte moves.  A connection has
 * TCP_IDLE_TIMEOUT to begin each message (RFC 7766 §6.2.3), and from its
 * first byte TCP_MESSAGE_TIMEOUT for the whole of it; a reply has
 * TCP_WRITE_TIMEOUT to be taken.  Only redirected connections of protected
 * principals are kept (checked at accept), at most TCP_MAX_PER_PRINCIPAL
 * for any one of them, so that one child, however hostile, leaves the rest
 * of the TCP_MAX_CONNECTIONS slots to everyone else.
 */
#define TCP_IDLE_TIMEOUT      10000 /* ms to the first byte of a message */
#define TCP_MESSAGE_TIMEOUT   5000  /* ms from the first byte to the last, in all */
#define TCP_WRITE_TIMEOUT     5000  /* ms for a reply to be taken, in all */
#define TCP_UPSTREAM_TIMEOUT  5000  /* ms for the server: connect, and each exchange */
#define TCP_MAX_CONNECTIONS   64
#define TCP_MAX_PER_PRINCIPAL 8
#define TCP_BACKLOG           256

typedef struct {
  int fd;
  GSource *source; /* (owned) */
} Listener;

struct _TrellisAnswerer {
  TrellisFlowTable *flows; /* (unowned) */
  TrellisAnswererDecide decide;
  gpointer user_data;
  Listener udp[2];
  Listener udp_any[2]; /* a gateway's: every address but loopback's */
  Listener tcp[2];
  guint n_families;
  GThreadPool *forwards; /* (owned) UDP queries to pass on */

  GMutex lock;             /* protects the fields below */
  GHashTable *connections; /* fd → GThread* of live TCP connections */
  GHashTable *per_uid;     /* uid → number of its live TCP connections */
  GPtrArray *finished;     /* (owned) GThread* that have ended, to join */
  gboolean closing;
  guint64 n_unplaced; /* TCP connections closed at accept: no flow */
  guint64 n_over_cap; /* ...and over a cap */
  gint raw_failed;    /* atomic: a raw reply failed (logged once) */
};

typedef struct {
  TrellisAnswerer *answerer;
  int reply_fd; /* the UDP socket the query came in on */
  struct sockaddr_storage client;
  socklen_t client_len;
  struct sockaddr_storage server;
  socklen_t server_len;
  gboolean spoof;       /* reply with a raw packet from the server
                                        * (the flow was not redirected) */
  gboolean safe_search; /* answer with a CNAME to target */
  char target[256];
  TrellisDnsQuery parsed; /* safe_search: the query's parse */
  gsize len;
  guint8 query[]; /* len bytes */
} UdpForward;

typedef struct {
  TrellisAnswerer *answerer;
  int fd;
  TrellisFlow flow;   /* whose it is and the server it asked,
                                        * looked up once, at accept: the
                                        * connection keeps them however long
                                        * it is used */
  TrellisFlowKey key; /* where it comes from */
  guint8 family;
} TcpConnection;

/* ---- shared ------------------------------------------------------------ */

/* Decides @query for @flow (NULL: nobody we know, REFUSE), which came over
 * @proto and @family; fills @ret_answer and, for a forward, the server the
 * child asked. */
static void
answer_decide (TrellisAnswerer *answerer,
               const TrellisFlow *flow,
               const TrellisFlowKey *key,
               guint8 family,
               guint8 proto,
               const TrellisDnsQuery *query,
               TrellisAnswer *ret_answer,
               struct sockaddr_storage *ret_server,
               socklen_t *ret_server_len)
{
  if (flow == NULL)
    {
      /* Nobody we know sent this: a process that found our port.  Never
       * forward for an unknown principal. */
      memset (ret_answer, 0, sizeof *ret_answer);
      ret_answer->action = TRELLIS_ANSWER_REFUSE;
      return;
    }
  answerer->decide (flow, key, proto, query, ret_answer, answerer->user_data);
  if (ret_answer->action == TRELLIS_ANSWER_SAFE_SEARCH && ret_answer->target[0] == '\0')
    ret_answer->action = TRELLIS_ANSWER_FORWARD; /* nothing to rewrite to */
  if (ret_answer->action == TRELLIS_ANSWER_FORWARD
      || ret_answer->action == TRELLIS_ANSWER_SAFE_SEARCH)
    *ret_server_len = trellis_flow_dst_to_sockaddr (flow, family, ret_server);
}

/* A random message id for a query of our own. */
static guint16
query_id_new (void)
{
  return (guint16) g_random_int_range (0, 0x10000);
}

/*
 * The reply to a safe-search query from the server's @response (or, with
 * @response NULL, the SERVFAIL that says we could not get one).  A response
 * that does not answer our question also gives SERVFAIL.
 */
static ssize_t
safe_search_reply (const guint8 *packet, gsize len, const TrellisDnsQuery *query,
                   const char *target, const guint8 *response, gssize response_len,
                   guint16 id, gboolean stream, guint8 *buf, gsize cap)
{
  ssize_t r = -EBADMSG;

  if (response != NULL && response_len > 0)
    r = trellis_dns_safe_search_reply_build (packet, len, query, target, response,
                                             (size_t) response_len, id, stream, buf, cap);
  if (r == -EBADMSG)
    r = trellis_dns_reply_build (packet, len, query, TRELLIS_DNS_RCODE_SERVFAIL,
                                 -1, NULL, buf, cap);
  return r;
}

static ssize_t
reply_build (const guint8 *packet, gsize len, const TrellisDnsQuery *query,
             const TrellisAnswer *answer, guint8 *buf, gsize cap)
{
  if (answer->action == TRELLIS_ANSWER_REFUSE)
    return trellis_dns_reply_build (packet, len, query, TRELLIS_DNS_RCODE_REFUSED,
                                    -1, NULL, buf, cap);
  return trellis_dns_reply_build (packet, len, query, answer->rcode,
                                  answer->ede_code, answer->ede_text, buf, cap);
}

/* @any: every address of the host (a gateway: NAT in prerouting sends
 * the devices' queries to the address of the interface they came in on),
 * else loopback only. */
static int
socket_bind (int family, int type, guint16 port, gboolean any, GError **error)
{
  struct sockaddr_storage ss = { 0 };
  socklen_t sslen;
  int one = 1;
  int fd;

  fd = socket (family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    goto fail;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) &ss;

      in->sin_family = AF_INET;
      in->sin_port = g_htons (port);
      in->sin_addr.s_addr = g_htonl (any ? INADDR_ANY : INADDR_LOOPBACK);
      sslen = sizeof *in;
    }
  else
    {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

      setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = g_htons (port);
      in6->sin6_addr = any ? in6addr_any : in6addr_loopback;
      sslen = sizeof *in6;
    }
  if (bind (fd, (struct sockaddr *) &ss, sslen) < 0)
    goto fail;
  if (type == SOCK_STREAM && listen (fd, TCP_BACKLOG) < 0)
    goto fail;
  return fd;

fail:
  {
    int saved = errno;

    if (fd >= 0)
      close (fd);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 "cannot listen on %s port %u (%s): %s",
                 family == AF_INET ? (any ? "0.0.0.0" : "127.0.0.1") : (any ? "[::]" : "[::1]"), port,
                 type == SOCK_STREAM ? "TCP" : "UDP", g_strerror (saved));
    return -1;
  }
}

/* ---- UDP ----------------------------------------------------------------- */

/*
 * Asks the server @fw->server for the safe-search target over UDP and
 * answers the child.  Datagrams that are not the response to our id are
 * skipped until the deadline; no response at all: no reply, as a server
 * that does not answer would give.
 */
/*
 * A socket for asking a server on a child's behalf, bound to a privileged
 * source port (FORWARD_PORT_MIN..1023).  The child's own sockets can never
 * have such a port, so our query can never share a conntrack entry with an
 * earlier query of the child's to the same server: if it did, and that
 * query had been redirected, NAT would bring our query back to us.
 */
#define FORWARD_PORT_MIN 512

static int
forward_socket_new (int family, int type)
{
  int fd = socket (family, type | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -errno;
  for (int tries = 0; tries < 64; tries++)
    {
      struct sockaddr_storage ss = { .ss_family = (sa_family_t) family };
      guint16 port = (guint16) g_random_int_range (FORWARD_PORT_MIN, 1024);
      socklen_t len;

      if (family == AF_INET)
        {
          ((struct sockaddr_in *) &ss)->sin_port = g_htons (port);
          len = sizeof (struct sockaddr_in);
        }
      else
        {
          ((struct sockaddr_in6 *) &ss)->sin6_port = g_htons (port);
          len = sizeof (struct sockaddr_in6);
        }
      if (bind (fd, (struct sockaddr *) &ss, len) == 0)
        return fd;
      if (errno != EADDRINUSE)
        break;
    }
  close (fd);
  return -EADDRINUSE;
}

/*
 * Sends @payload as a UDP datagram from @src to @dst, both given in full,
 * through a raw socket: the source is the server the child asked, which is
 * not an address of ours.  Used only where NAT could not take a query to the
 * answerer, so that the reply must be made to look like the server's.
 */
static int
raw_udp_send (const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
              const guint8 *payload, gsize len)
{
  g_autofree guint8 *pkt = NULL;
  gssize built;
  gsize total;
  int fd;
  ssize_t n;

  if (len > DNS_MESSAGE_MAX - 48)
    return -EMSGSIZE;
  pkt = g_malloc (len + TRELLIS_RAW_HEADER_MAX);
  if (src->ss_family == AF_INET)
    {
      const struct sockaddr_in *s4 = (const struct sockaddr_in *) src;
      const struct sockaddr_in *d4 = (const struct sockaddr_in *) dst;

      built = trellis_raw_udp_build (AF_INET, (const guint8 *) &s4->sin_addr,
                                     g_ntohs (s4->sin_port),
                                     (const guint8 *) &d4->sin_addr, g_ntohs (d4->sin_port),
                                     payload, len, pkt, len + TRELLIS_RAW_HEADER_MAX);
    }
  else
    {
      const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) src;
      const struct sockaddr_in6 *d6 = (const struct sockaddr_in6 *) dst;

      built = trellis_raw_udp_build (AF_INET6, (const guint8 *) &s6->sin6_addr,
                                     g_ntohs (s6->sin6_port),
                                     (const guint8 *) &d6->sin6_addr, g_ntohs (d6->sin6_port),
                                     payload, len, pkt, len + TRELLIS_RAW_HEADER_MAX);
    }
  if (built < 0)
    return (int) built;
  total = (gsize) built;

  fd = trellis_raw_socket_open (src->ss_family);
  if (fd < 0)
    return fd;
  {
    struct sockaddr_storage to = *dst;

    /* a raw socket takes no port */
    if (to.ss_family == AF_INET)
      ((struct sockaddr_in *) &to)->sin_port = 0;
    else
      ((struct sockaddr_in6 *) &to)->sin6_port = 0;
    n = sendto (fd, pkt, total, 0, (struct sockaddr *) &to,
                to.ss_family == AF_INET ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6));
  }
  {
    int err = n == (ssize_t) total ? 0 : n < 0 ? -errno
                                               : -EMSGSIZE;

    close (fd);
    return err;
  }
}

/* Sends a reply to the child the way the query came: through the answerer's
 * socket (NAT turns it into the server's), or raw from the server. */
static void
udp_reply_send (const UdpForward *fw, const guint8 *reply, gsize len)
{
  if (fw->spoof)
    {
      int r = raw_udp_send (&fw->server, &fw->client, reply, len);

      /* Once: the child's lookup times out instead of being answered, and
       * a flood of the same line would help no one. */
      if (r < 0 && g_atomic_int_compare_and_exchange (&fw->answerer->raw_failed, 0, 1))
        g_warning ("cannot answer a query that NAT did not redirect (a raw socket in the "
                   "server's name): %s%s; such lookups time out instead (logged once)",
                   g_strerror (-r), r == -EPERM ? " (trellisd needs CAP_NET_RAW)" : "");
    }
  else
    sendto (fw->reply_fd, reply, len, 0, (const struct sockaddr *) &fw->client, fw->client_len);
}

static void
udp_safe_search_run (UdpForward *fw)
{
  g_autofree guint8 *buf = g_malloc (DNS_MESSAGE_MAX);
  g_autofree guint8 *reply = g_malloc (DNS_MESSAGE_MAX);
  guint8 ask[TRELLIS_DNS_HEADER_SIZE + TRELLIS_DNS_WIRE_NAME_MAX + 4 + 11];
  guint16 id = query_id_new ();
  gint64 deadline = g_get_monotonic_time () + UDP_FORWARD_TIMEOUT * 1000;
  ssize_t ask_len, n = -1, r;
  int fd;

  ask_len = trellis_dns_query_build (id, fw->target, fw->parsed.qtype, TRUE, ask, sizeof ask);
  if (ask_len < 0)
    return;
  fd = forward_socket_new (fw->server.ss_family, SOCK_DGRAM);
  if (fd < 0)
    return;
  if (connect (fd, (struct sockaddr *) &fw->server, fw->server_len) == 0
      && send (fd, ask, (size_t) ask_len, 0) == ask_len)
    {
      for (;;)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLIN };
          gint64 left = (deadline - g_get_monotonic_time ()) / 1000;

          if (left <= 0 || poll (&pfd, 1, (int) left) != 1)
            {
              n = -1;
              break;
            }
          n = recv (fd, buf, DNS_MESSAGE_MAX, 0);
          if (n >= TRELLIS_DNS_HEADER_SIZE && buf[0] == (guint8) (id >> 8) && buf[1] == (guint8) id)
            break; /* ours: whatever it says is checked by the builder */
        }
    }
  close (fd);
  if (n < TRELLIS_DNS_HEADER_SIZE)
    return;
  r = safe_search_reply (fw->query, fw->len, &fw->parsed, fw->target, buf, n, id, FALSE,
                         reply, DNS_MESSAGE_MAX);
  if (r > 0)
    udp_reply_send (fw, reply, (gsize) r);
}

static void
udp_forward_run (gpointer data, gpointer user_data)
{
  g_autofree UdpForward *fw = data;
  g_autofree guint8 *buf = NULL;
  struct pollfd pfd;
  ssize_t n = -1;
  int fd;

  if (fw->safe_search)
    {
      udp_safe_search_run (fw);
      return;
    }
  buf = g_malloc (DNS_MESSAGE_MAX);

  fd = forward_socket_new (fw->server.ss_family, SOCK_DGRAM);
  if (fd < 0)
    return;
  /* A connected socket only accepts the reply from the server asked. */
  if (connect (fd, (struct sockaddr *) &fw->server, fw->server_len) == 0
      && send (fd, fw->query, fw->len, 0) == (ssize_t) fw->len)
    {
      pfd.fd = fd;
      pfd.events = POLLIN;
      if (poll (&pfd, 1, UDP_FORWARD_TIMEOUT) == 1)
        n = recv (fd, buf, DNS_MESSAGE_MAX, 0);
    }
  close (fd);
  /* Pass the reply on only when it answers this query (same id). */
  if (n >= TRELLIS_DNS_HEADER_SIZE && buf[0] == fw->query[0] && buf[1] == fw->query[1])
    udp_reply_send (fw, buf, (gsize) n);
}

static gboolean
udp_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  TrellisAnswerer *answerer = user_data;
  guint8 packet[DNS_MESSAGE_MAX];
  guint8 reply[DNS_MESSAGE_MAX];

  for (int i = 0; i < 64; i++)
    {
      struct sockaddr_storage client;
      socklen_t client_len = sizeof client;
      struct sockaddr_storage server;
      socklen_t server_len = 0;
      TrellisDnsQuery query;
      TrellisFlowKey key;
      TrellisFlow flow;
      gboolean found;
      TrellisAnswer answer;
      ssize_t n, r;

      n = recvfrom (fd, packet, sizeof packet, 0, (struct sockaddr *) &client, &client_len);
      if (n < 0)
        break;
      if (!trellis_flow_key_from_sockaddr ((struct sockaddr *) &client, IPPROTO_UDP, &key))
        continue;
      /* The queue has read this packet already; a bad one here came from
       * elsewhere and is dropped all the same. */
      if (trellis_dns_query_parse (packet, (gsize) n, &query) < 0)
        continue;

      found = trellis_flow_table_lookup (answerer->flows, &key, g_get_monotonic_time (), &flow);
      answer_decide (answerer, found ? &flow : NULL, &key, key.family, IPPROTO_UDP, &query, &answer,
                     &server, &server_len);
      if (answer.action == TRELLIS_ANSWER_FORWARD || answer.action == TRELLIS_ANSWER_SAFE_SEARCH)
        {
          UdpForward *fw = g_malloc0 (sizeof *fw + (gsize) n);

          fw->safe_search = answer.action == TRELLIS_ANSWER_SAFE_SEARCH;
          g_strlcpy (fw->target, answer.target, sizeof fw->target);
          fw->parsed = query;
          fw->answerer = answerer;
          fw->reply_fd = fd;
          fw->client = client;
          fw->client_len = client_len;
          fw->server = server;
          fw->server_len = server_len;
          fw->len = (gsize) n;
          memcpy (fw->query, packet, (gsize) n);
          if (g_thread_pool_unprocessed (answerer->forwards) >= 256
              || !g_thread_pool_push (answerer->forwards, fw, NULL))
            g_free (fw); /* overloaded: the child's resolver will retry */
          continue;
        }

      r = reply_build (packet, (gsize) n, &query, &answer, reply, sizeof reply);
      if (r > 0)
        sendto (fd, reply, (size_t) r, 0, (struct sockaddr *) &client, client_len);
    }
  return G_SOURCE_CONTINUE;
}

void
trellis_answerer_answer_unredirected (TrellisAnswerer *answerer,
                                      const TrellisFlowKey *client,
                                      const TrellisFlow *flow,
                                      const guint8 *packet,
                                      gsize len,
                                      const TrellisDnsQuery *query,
                                      const TrellisAnswer *answer)
{
  struct sockaddr_storage client_sa = { 0 };
  guint8 reply[DNS_MESSAGE_MAX];
  UdpForward *fw;
  ssize_t r;

  if (client->family == AF_INET)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) &client_sa;

      in->sin_family = AF_INET;
      in->sin_port = g_htons (client->port);
      memcpy (&in->sin_addr, client->addr, 4);
    }
  else
    {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &client_sa;

      in6->sin6_family = AF_INET6;
      in6->sin6_port = g_htons (client->port);
      memcpy (&in6->sin6_addr, client->addr, 16);
    }

  fw = g_malloc0 (sizeof *fw + len);
  fw->answerer = answerer;
  fw->reply_fd = -1;
  fw->spoof = TRUE;
  fw->client = client_sa;
  fw->client_len = client->family == AF_INET ? sizeof (struct sockaddr_in)
                                             : sizeof (struct sockaddr_in6);
  fw->server_len = trellis_flow_dst_to_sockaddr (flow, client->family, &fw->server);
  fw->parsed = *query;
  fw->len = len;
  memcpy (fw->query, packet, len);

  if (answer->action == TRELLIS_ANSWER_SAFE_SEARCH)
    {
      fw->safe_search = TRUE;
      g_strlcpy (fw->target, answer->target, sizeof fw->target);
      if (g_thread_pool_unprocessed (answerer->forwards) >= 256
          || !g_thread_pool_push (answerer->forwards, fw, NULL))
        g_free (fw);
      return;
    }
  r = reply_build (packet, len, query, answer, reply, sizeof reply);
  if (r > 0)
    udp_reply_send (fw, reply, (gsize) r);
  g_free (fw);
}

/* ---- TCP ----------------------------------------------------------------- */

/* Waits until @fd is ready for @events or @deadline (monotonic µs) passes:
 * 0, -ETIMEDOUT or -errno. */
static int
poll_until (int fd, short events, gint64 deadline)
{
  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = events };
      gint64 left = deadline - g_get_monotonic_time ();
      int r;

      if (left <= 0)
        return -ETIMEDOUT;
      r = poll (&pfd, 1, (int) ((left + 999) / 1000));
      if (r > 0)
        return 0;
      if (r < 0 && errno != EINTR)
        return -errno;
    }
}

/* Reads exactly @len bytes by @deadline.  0 or -errno. */
static int
read_full (int fd, guint8 *buf, gsize len, gint64 deadline)
{
  gsize got = 0;

  while (got < len)
    {
      ssize_t n;
      int r = poll_until (fd, POLLIN, deadline);

      if (r < 0)
        return r;
      n = recv (fd, buf + got, len - got, 0);
      if (n == 0)
        return -ECONNRESET;
      if (n < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          return -errno;
        }
      got += (gsize) n;
    }
  return 0;
}

static int
write_full (int fd, const guint8 *buf, gsize len, gint64 deadline)
{
  gsize put = 0;

  while (put < len)
    {
      ssize_t n;
      int r = poll_until (fd, POLLOUT, deadline);

      if (r < 0)
        return r;
      n = send (fd, buf + put, len - put, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          return -errno;
        }
      put += (gsize) n;
    }
  return 0;
}

/*
 * Reads one length-prefixed DNS message into @buf (DNS_MESSAGE_MAX bytes):
 * its first byte must come within @wait_ms, and all the rest of it within
 * @message_ms of that first byte, however it trickles in.  Returns its
 * length or -errno.
 */
static ssize_t
tcp_message_read (int fd, guint8 *buf, int wait_ms, int message_ms)
{
  guint8 lenbuf[2];
  gint64 deadline;
  gsize len;
  int r;

  r = read_full (fd, lenbuf, 1, g_get_monotonic_time () + (gint64) wait_ms * 1000);
  if (r < 0)
    return r;
  deadline = g_get_monotonic_time () + (gint64) message_ms * 1000;
  r = read_full (fd, lenbuf + 1, 1, deadline);
  if (r < 0)
    return r;
  len = (gsize) lenbuf[0] << 8 | lenbuf[1];
  if (len == 0)
    return -EBADMSG;
  r = read_full (fd, buf, len, deadline);
  if (r < 0)
    return r;
  return (ssize_t) len;
}

/*
 * Writes the message at @frame + 2 (@len bytes), its length put in the two
 * bytes before it, in one piece: a prefix sent on its own would wait for
 * the peer's delayed ACK (Nagle) before the message could follow.
 */
static int
tcp_message_write (int fd, guint8 *frame, gsize len, int timeout_ms)
{
  frame[0] = (guint8) (len >> 8);
  frame[1] = (guint8) len;
  return write_full (fd, frame, len + 2, g_get_monotonic_time () + (gint64) timeout_ms * 1000);
}

static void
tcp_nodelay (int fd)
{
  int one = 1;

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int
tcp_upstream_connect (const struct sockaddr_storage *server, socklen_t server_len)
{
  int fd, r, err = 0;
  socklen_t errlen = sizeof err;

  fd = forward_socket_new (server->ss_family, SOCK_STREAM | SOCK_NONBLOCK);
  if (fd < 0)
    return fd;
  if (connect (fd, (const struct sockaddr *) server, server_len) < 0 && errno != EINPROGRESS)
    goto fail;
  r = poll_until (fd, POLLOUT, g_get_monotonic_time () + TCP_UPSTREAM_TIMEOUT * 1000);
  if (r < 0)
    {
      errno = -r;
      goto fail;
    }
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 || err != 0)
    {
      errno = err != 0 ? err : errno;
      goto fail;
    }
  tcp_nodelay (fd);
  return fd;

fail:
  err = errno;
  close (fd);
  return -err;
}

/*
 * Sends the message at @frame + 2 (@len bytes) to the server on *@upstream,
 * connecting first when there is no connection yet, and reads its answer
 * into @response.  A connection kept from an earlier query may have been
 * closed by the server meanwhile: then once more on a new one.  Returns the
 * answer's length or -errno.
 */
static ssize_t
tcp_upstream_exchange (int *upstream, const struct sockaddr_storage *server,
                       socklen_t server_len, guint8 *frame, gsize len, guint8 *response)
{
  for (int attempt = 0; attempt < 2; attempt++)
    {
      gboolean reused = *upstream >= 0;
      ssize_t n;

      if (*upstream < 0)
        *upstream = tcp_upstream_connect (server, server_len);
      if (*upstream < 0)
        return *upstream;
      n = tcp_message_write (*upstream, frame, len, TCP_UPSTREAM_TIMEOUT);
      if (n >= 0)
        n = tcp_message_read (*upstream, response, TCP_UPSTREAM_TIMEOUT, TCP_UPSTREAM_TIMEOUT);
      if (n >= 0)
        return n;
      close (*upstream);
      *upstream = -1;
      if (!reused || n == -ETIMEDOUT)
        return n;
    }
  return -EIO;
}

/*
 * Asks the server for the safe-search target on the connection's upstream
 * connection (opened on first use, as for a forward) and builds the reply
 * into @reply.  Returns its length, or -errno when the server cannot be
 * reached or does not answer (the child's connection is then closed).
 */
static ssize_t
tcp_safe_search (int *upstream, const struct sockaddr_storage *server, socklen_t server_len,
                 const guint8 *msg, gsize len, const TrellisDnsQuery *query,
                 const char *target, guint8 *reply, gsize cap)
{
  g_autofree guint8 *response = g_malloc (DNS_MESSAGE_MAX);
  guint8 ask[2 + TRELLIS_DNS_HEADER_SIZE + TRELLIS_DNS_WIRE_NAME_MAX + 4 + 11];
  guint16 id = query_id_new ();
  ssize_t ask_len, n;

  ask_len = trellis_dns_query_build (id, target, query->qtype, TRUE, ask + 2, sizeof ask - 2);
  if (ask_len < 0)
    return safe_search_reply (msg, len, query, target, NULL, 0, id, TRUE, reply, cap);
  n = tcp_upstream_exchange (upstream, server, server_len, ask, (gsize) ask_len, response);
  if (n < 0)
    return n;
  return safe_search_reply (msg, len, query, target, response, n, id, TRUE, reply, cap);
}

static gpointer
tcp_connection_run (gpointer data)
{
  g_autofree TcpConnection *conn = data;
  TrellisAnswerer *answerer = conn->answerer;
  /* Each with two bytes in front for the length prefix. */
  g_autofree guint8 *msg_frame = g_malloc (2 + DNS_MESSAGE_MAX);
  g_autofree guint8 *reply_frame = g_malloc (2 + DNS_MESSAGE_MAX);
  guint8 *msg = msg_frame + 2;
  guint8 *reply = reply_frame + 2;
  int upstream = -1;
  guint count;

  for (;;)
    {
      struct sockaddr_storage server;
      socklen_t server_len = 0;
      TrellisDnsQuery query;
      TrellisAnswer answer;
      ssize_t n, r;

      n = tcp_message_read (conn->fd, msg, TCP_IDLE_TIMEOUT, TCP_MESSAGE_TIMEOUT);
      if (n < 0)
        break;
      /* A malformed query ends the connection; nothing is passed on unread. */
      if (trellis_dns_query_parse (msg, (gsize) n, &query) < 0)
        break;

      answer_decide (answerer, &conn->flow, &conn->key, conn->family, IPPROTO_TCP, &query, &answer,
                     &server, &server_len);
      if (answer.action == TRELLIS_ANSWER_SAFE_SEARCH)
        r = tcp_safe_search (&upstream, &server, server_len, msg, (gsize) n, &query,
                             answer.target, reply, DNS_MESSAGE_MAX);
      else if (answer.action == TRELLIS_ANSWER_FORWARD)
        r = tcp_upstream_exchange (&upstream, &server, server_len, msg_frame, (gsize) n, reply);
      else
        r = reply_build (msg, (gsize) n, &query, &answer, reply, DNS_MESSAGE_MAX);
      if (r < 0)
        break;
      if (tcp_message_write (conn->fd, reply_frame, (gsize) r, TCP_WRITE_TIMEOUT) < 0)
        break;
    }

  if (upstream >= 0)
    close (upstream);
  g_mutex_lock (&answerer->lock);
  g_ptr_array_add (answerer->finished,
                   g_hash_table_lookup (answerer->connections, GINT_TO_POINTER (conn->fd)));
  g_hash_table_remove (answerer->connections, GINT_TO_POINTER (conn->fd));
  count = GPOINTER_TO_UINT (g_hash_table_lookup (answerer->per_uid,
                                                 GUINT_TO_POINTER (conn->flow.uid)));
  if (count <= 1)
    g_hash_table_remove (answerer->per_uid, GUINT_TO_POINTER (conn->flow.uid));
  else
    g_hash_table_insert (answerer->per_uid, GUINT_TO_POINTER (conn->flow.uid),
                         GUINT_TO_POINTER (count - 1));
  close (conn->fd);
  g_mutex_unlock (&answerer->lock);
  return NULL;
}

/* Joins the TCP threads that have ended. */
static void
finished_join (TrellisAnswerer *answerer)
{
  g_autoptr(GPtrArray) done = NULL;

  g_mutex_lock (&answerer->lock);
  done = g_steal_pointer (&answerer->finished);
  answerer->finished = g_ptr_array_new ();
  g_mutex_unlock (&answerer->lock);
  for (guint i = 0; i < done->len; i++)
    g_thread_join (done->pdata[i]);
}

/*
 * TRUE when the connection @fd from @peer is a protected principal's that
 * NAT brought here: the flow table knows the peer (the queue saw its SYN),
 * and conntrack's original destination is the server that SYN was for.
 * Then @ret_flow says whose it is.  Anything else (a local process that
 * found the port, from whatever source port) is closed unread.
 */
static gboolean
tcp_connection_place (TrellisAnswerer *answerer, int fd, const struct sockaddr_storage *peer,
                      TrellisFlow *ret_flow)
{
  struct sockaddr_storage orig = { 0 };
  socklen_t orig_len = sizeof orig;
  struct sockaddr_storage server;
  TrellisFlowKey key;
  TrellisFlow flow;
  int r;

  if (!trellis_flow_key_from_sockaddr ((const struct sockaddr *) peer, IPPROTO_TCP, &key)
      || !trellis_flow_table_lookup (answerer->flows, &key, g_get_monotonic_time (), &flow))
    return FALSE;
  if (key.family == AF_INET)
    r = getsockopt (fd, SOL_IP, SO_ORIGINAL_DST, &orig, &orig_len);
  else
    r = getsockopt (fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &orig, &orig_len);
  if (r < 0)
    return FALSE;
  trellis_flow_dst_to_sockaddr (&flow, key.family, &server);
  if (key.family == AF_INET)
    {
      const struct sockaddr_in *a = (const struct sockaddr_in *) &orig;
      const struct sockaddr_in *b = (const struct sockaddr_in *) &server;

      if (a->sin_port != b->sin_port || a->sin_addr.s_addr != b->sin_addr.s_addr)
        return FALSE;
    }
  else
    {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) &orig;
      const struct sockaddr_in6 *b = (const struct sockaddr_in6 *) &server;

      if (a->sin6_port != b->sin6_port
          || memcmp (&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) != 0)
        return FALSE;
    }
  *ret_flow = flow;
  return TRUE;
}

static gboolean
tcp_acceptable (gint fd, GIOCondition condition, gpointer user_data)
{
  TrellisAnswerer *answerer = user_data;

  finished_join (answerer);

  for (int i = 0; i < 64; i++)
    {
      TcpConnection *conn;
      struct sockaddr_storage peer;
      socklen_t peer_len = sizeof peer;
      TrellisFlow flow;
      GThread *thread;
      g_autoptr(GError) error = NULL;
      guint count;
      int cfd;

      cfd = accept4 (fd, (struct sockaddr *) &peer, &peer_len, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (cfd < 0)
        break;
      if (!tcp_connection_place (answerer, cfd, &peer, &flow))
        {
          answerer->n_unplaced++;
          g_debug ("answerer: closed a TCP connection that is no protected principal's "
                   "(%" G_GUINT64_FORMAT " so far)",
                   answerer->n_unplaced);
          close (cfd);
          continue;
        }

      g_mutex_lock (&answerer->lock);
      count = GPOINTER_TO_UINT (g_hash_table_lookup (answerer->per_uid,
                                                     GUINT_TO_POINTER (flow.uid)));
      /* The thread is not started before it is in the table. */
      if (answerer->closing || g_hash_table_size (answerer->connections) >= TCP_MAX_CONNECTIONS
          || count >= TCP_MAX_PER_PRINCIPAL)
        {
          answerer->n_over_cap++;
          g_mutex_unlock (&answerer->lock);
          g_debug ("answerer: closed a TCP connection of uid %u: %u of its own open, "
                   "%u in all (%" G_GUINT64_FORMAT " so far)",
                   (guint) flow.uid, count,
                   g_hash_table_size (answerer->connections), answerer->n_over_cap);
          close (cfd);
          continue;
        }
      tcp_nodelay (cfd);
      conn = g_new0 (TcpConnection, 1);
      conn->answerer = answerer;
      conn->fd = cfd;
      conn->flow = flow;
      if (!trellis_flow_key_from_sockaddr ((struct sockaddr *) &peer, IPPROTO_TCP, &conn->key))
        memset (&conn->key, 0, sizeof conn->key);
      conn->family = peer.ss_family;
      thread = g_thread_try_new ("trellis-tcp", tcp_connection_run, conn, &error);
      if (thread == NULL)
        {
          g_mutex_unlock (&answerer->lock);
          g_warning ("answerer: cannot start a TCP thread: %s", error->message);
          close (cfd);
          g_free (conn);
          continue;
        }
      /* The connection removes itself when done; nobody joins it but free(). */
      g_hash_table_insert (answerer->connections, GINT_TO_POINTER (cfd), thread);
      g_hash_table_insert (answerer->per_uid, GUINT_TO_POINTER (flow.uid),
                           GUINT_TO_POINTER (count + 1));
      g_mutex_unlock (&answerer->lock);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- life cycle ------------------------------------------------------------ */

static void
listener_attach (Listener *l, int fd, GUnixFDSourceFunc func, gpointer user_data)
{
  l->fd = fd;
  l->source = g_unix_fd_source_new (fd, G_IO_IN);
  g_source_set_callback (l->source, G_SOURCE_FUNC (func), user_data, NULL);
  g_source_attach (l->source, g_main_context_get_thread_default ());
}

static void
listener_close (Listener *l)
{
  if (l->source != NULL)
    {
      g_source_destroy (l->source);
      g_clear_pointer (&l->source, g_source_unref);
    }
  if (l->fd >= 0)
    close (l->fd);
  l->fd = -1;
}

TrellisAnswerer *
trellis_answerer_new (guint16 port,
                      TrellisFlowTable *flows,
                      TrellisAnswererDecide decide,
                      gpointer user_data,
                      GError **error)
{
  return trellis_answerer_new_full (port, FALSE, flows, decide, user_data, error);
}

TrellisAnswerer *
trellis_answerer_new_full (guint16 port,
                           gboolean any_address,
                           TrellisFlowTable *flows,
                           TrellisAnswererDecide decide,
                           gpointer user_data,
                           GError **error)
{
  g_autoptr(TrellisAnswerer) answerer = g_new0 (TrellisAnswerer, 1);
  static const int families[] = { AF_INET, AF_INET6 };

  answerer->flows = flows;
  answerer->decide = decide;
  answerer->user_data = user_data;
  g_mutex_init (&answerer->lock);
  answerer->connections = g_hash_table_new (NULL, NULL);
  answerer->per_uid = g_hash_table_new (NULL, NULL);
  answerer->finished = g_ptr_array_new ();
  for (guint i = 0; i < 2; i++)
    answerer->udp[i].fd = answerer->udp_any[i].fd = answerer->tcp[i].fd = -1;

  answerer->forwards = g_thread_pool_new (udp_forward_run, answerer, UDP_MAX_FORWARDS,
                                          FALSE, error);
  if (answerer->forwards == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    {
      g_autoptr(GError) local_error = NULL;
      int ufd, tfd;

      /* UDP on loopback always: a reply from a socket bound to every
       * address leaves from the address the route picks, and an account's
       * redirected query (to 127.0.0.1) must be answered from 127.0.0.1 for
       * conntrack to reverse the NAT.  A gateway's devices' queries, NAT'd
       * to the address of the interface they came in on, reach a second
       * socket bound to every address (the more specific one wins).  TCP
       * replies from where the connection went, whatever it is bound to. */
      ufd = socket_bind (families[i], SOCK_DGRAM, port, FALSE, &local_error);
      if (ufd < 0 && families[i] == AF_INET6
          && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        break; /* no IPv6 on this host: nothing to redirect there either */
      if (ufd < 0 && families[i] == AF_INET6 && errno == EADDRNOTAVAIL)
        break;
      if (ufd < 0)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      listener_attach (&answerer->udp[i], ufd, udp_readable, answerer);
      if (any_address)
        {
          ufd = socket_bind (families[i], SOCK_DGRAM, port, TRUE, error);
          if (ufd < 0)
            return NULL;
          listener_attach (&answerer->udp_any[i], ufd, udp_readable, answerer);
        }
      tfd = socket_bind (families[i], SOCK_STREAM, port, any_address, error);
      if (tfd < 0)
        return NULL;
      listener_attach (&answerer->tcp[i], tfd, tcp_acceptable, answerer);
      answerer->n_families = i + 1;
    }
  return g_steal_pointer (&answerer);
}

void
trellis_answerer_free (TrellisAnswerer *answerer)
{
  GHashTableIter iter;
  gpointer fd;

  if (answerer == NULL)
    return;

  for (guint i = 0; i < 2; i++)
    {
      listener_close (&answerer->udp[i]);
      listener_close (&answerer->udp_any[i]);
      listener_close (&answerer->tcp[i]);
    }
  if (answerer->forwards != NULL)
    g_thread_pool_free (answerer->forwards, TRUE, TRUE);

  /* Wake every TCP thread and wait until they have all gone. */
  g_mutex_lock (&answerer->lock);
  answerer->closing = TRUE;
  g_hash_table_iter_init (&iter, answerer->connections);
  while (g_hash_table_iter_next (&iter, &fd, NULL))
    shutdown (GPOINTER_TO_INT (fd), SHUT_RDWR);
  g_mutex_unlock (&answerer->lock);
  for (;;)
    {
      guint left;

      g_mutex_lock (&answerer->lock);
      left = g_hash_table_size (answerer->connections);
      g_mutex_unlock (&answerer->lock);
      if (left == 0)
        break;
      g_usleep (10000);
    }
  finished_join (answerer);

  g_hash_table_unref (answerer->connections);
  g_hash_table_unref (answerer->per_uid);
  g_ptr_array_unref (answerer->finished);
  g_mutex_clear (&answerer->lock);
  g_free (answerer);
}
