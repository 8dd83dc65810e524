/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss-server.c — the socket libnss_trellis asks (nss-server.h).
 */
#include "daemon/nss-server.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "daemon/dns-packet.h"
#include "nss/nss-protocol.h"

typedef struct _Conn Conn;

struct _TrellisNssServer {
  char *path; /* (owned) the socket */
  int listen_fd;
  TrellisNssDecide decide;
  gpointer user_data;
  GMainContext *context; /* (owned) the thread's */
  GMainLoop *loop;       /* (owned) */
  GThread *thread;       /* (owned) */
  GSource *accept;       /* (owned) */
  GHashTable *conns;     /* (owned) Conn* set; the thread's only */
  GHashTable *per_uid;   /* (owned) uid → number of connections; the thread's only */
};

struct _Conn {
  TrellisNssServer *server;
  int fd;
  uid_t uid;
  guint requests;
  GSource *io;   /* (owned) */
  GSource *idle; /* (owned) */
};

/* ---- names ----------------------------------------------------------------- */

gboolean
trellis_nss_name_read (const char *text,
                       char *ret_qname)
{
  guint8 packet[TRELLIS_DNS_HEADER_SIZE + TRELLIS_DNS_WIRE_NAME_MAX + 4] = {
    0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 /* one question, RD */
  };
  gsize out = TRELLIS_DNS_HEADER_SIZE, label = 0, wire = 0;
  TrellisDnsQuery query;
  const char *p = text;

  if (text == NULL || *text == '\0')
    return FALSE;
  if (strcmp (text, ".") == 0)
    return FALSE; /* the root is no host */
  label = out++;
  for (;;)
    {
      guint c;

      if (*p == '\0' || (*p == '.' && p[1] == '\0'))
        break;
      if (*p == '.')
        {
          if (out - label - 1 == 0)
            return FALSE; /* an empty label */
          packet[label] = (guint8) (out - label - 1);
          label = out++;
          p++;
          continue;
        }
      if (*p == '\\')
        {
          if (g_ascii_isdigit (p[1]))
            {
              if (!g_ascii_isdigit (p[2]) || !g_ascii_isdigit (p[3]))
                return FALSE;
              c = (guint) (p[1] - '0') * 100 + (guint) (p[2] - '0') * 10 + (guint) (p[3] - '0');
              if (c > 255)
                return FALSE;
              p += 4;
            }
          else if (p[1] != '\0')
            {
              c = (guchar) p[1];
              p += 2;
            }
          else
            return FALSE; /* a backslash at the end */
        }
      else
        c = (guchar) *p++;
      if (out - label - 1 >= TRELLIS_DNS_LABEL_MAX || out + 1 >= TRELLIS_DNS_HEADER_SIZE + TRELLIS_DNS_WIRE_NAME_MAX)
        return FALSE;
      packet[out++] = (guint8) c;
    }
  if (out - label - 1 == 0)
    return FALSE;
  packet[label] = (guint8) (out - label - 1);
  packet[out++] = 0;
  wire = out - TRELLIS_DNS_HEADER_SIZE;
  if (wire > TRELLIS_DNS_WIRE_NAME_MAX)
    return FALSE;
  packet[out++] = 0;
  packet[out++] = 1; /* A */
  packet[out++] = 0;
  packet[out++] = 1; /* IN */
  /* The queue's own reader writes the name as it writes a query's. */
  if (trellis_dns_query_parse (packet, out, &query) < 0)
    return FALSE;
  memcpy (ret_qname, query.qname, sizeof query.qname);
  return TRUE;
}

/* ---- connections ----------------------------------------------------------- */

static void
conn_close (Conn *conn)
{
  TrellisNssServer *server = conn->server;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_uid, GUINT_TO_POINTER (conn->uid)));

  if (n <= 1)
    g_hash_table_remove (server->per_uid, GUINT_TO_POINTER (conn->uid));
  else
    g_hash_table_insert (server->per_uid, GUINT_TO_POINTER (conn->uid), GUINT_TO_POINTER (n - 1));
  g_hash_table_remove (server->conns, conn);
  if (conn->io != NULL)
    {
      g_source_destroy (conn->io);
      g_source_unref (conn->io);
    }
  if (conn->idle != NULL)
    {
      g_source_destroy (conn->idle);
      g_source_unref (conn->idle);
    }
  close (conn->fd);
  g_free (conn);
}

static gboolean conn_idle (gpointer data);

static void
conn_idle_restart (Conn *conn)
{
  if (conn->idle != NULL)
    {
      g_source_destroy (conn->idle);
      g_source_unref (conn->idle);
    }
  conn->idle = g_timeout_source_new (TRELLIS_NSS_IDLE_MS);
  g_source_set_callback (conn->idle, conn_idle, conn, NULL);
  g_source_attach (conn->idle, conn->server->context);
}

/* Nothing came in time: the slot goes to someone else. */
static gboolean
conn_idle (gpointer data)
{
  Conn *conn = data;

  g_source_unref (conn->idle);
  conn->idle = NULL;
  conn_close (conn);
  return G_SOURCE_REMOVE;
}

/* One reply; FALSE when it could not go (the peer does not read). */
static gboolean
conn_reply (Conn *conn, char kind, const char *text)
{
  char buf[TRELLIS_NSS_REPLY_MAX];
  gsize len = 1;

  buf[0] = kind;
  if (text != NULL)
    {
      len += MIN (strlen (text), sizeof buf - 1);
      memcpy (buf + 1, text, len - 1);
    }
  return send (conn->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) len;
}

/* Answers one request; FALSE when the connection is to be closed. */
static gboolean
conn_handle (Conn *conn, const char *msg, gsize len)
{
  TrellisNssServer *server = conn->server;
  char qname[TRELLIS_DNS_NAME_TEXT_MAX];
  char name[TRELLIS_NSS_NAME_MAX + 1];
  char rule[256] = "";
  TrellisNssVerdict verdict;

  if (len < 2 || msg[0] != TRELLIS_NSS_REQUEST)
    {
      conn_reply (conn, TRELLIS_NSS_REFUSED, len == 0 ? "empty request" : msg[0] != TRELLIS_NSS_REQUEST ? "unknown request"
                                                                                                        : "no name");
      return FALSE;
    }
  if (memchr (msg, '\0', len) != NULL)
    {
      conn_reply (conn, TRELLIS_NSS_REFUSED, "a NUL byte in the name");
      return FALSE;
    }
  memcpy (name, msg + 1, len - 1);
  name[len - 1] = '\0';
  verdict = server->decide (conn->uid, trellis_nss_name_read (name, qname) ? qname : NULL,
                            rule, sizeof rule, server->user_data);
  switch (verdict)
    {
    case TRELLIS_NSS_VERDICT_BLOCK:
      return conn_reply (conn, TRELLIS_NSS_BLOCKED, rule);
    case TRELLIS_NSS_VERDICT_SAFE:
      return conn_reply (conn, TRELLIS_NSS_SAFE, rule);
    case TRELLIS_NSS_VERDICT_ALLOW:
      return conn_reply (conn, TRELLIS_NSS_ALLOWED, NULL);
    case TRELLIS_NSS_VERDICT_OUTSIDE:
    default:
      return conn_reply (conn, TRELLIS_NSS_OUTSIDE, NULL);
    }
}

static gboolean
conn_readable (int fd, GIOCondition condition, gpointer data)
{
  Conn *conn = data;
  char msg[TRELLIS_NSS_REQUEST_MAX];
  ssize_t n;

  for (;;)
    {
      /* MSG_TRUNC: the length of the message, however long */
      n = recv (fd, msg, sizeof msg, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno == EINTR)
        continue;
      break;
    }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    goto close; /* the peer closed, or an error */
  if ((gsize) n > sizeof msg)
    {
      conn_reply (conn, TRELLIS_NSS_REFUSED, "request too long");
      goto close;
    }
  if (!conn_handle (conn, msg, (gsize) n) || ++conn->requests >= TRELLIS_NSS_SERVER_REQUESTS)
    goto close;
  conn_idle_restart (conn);
  return G_SOURCE_CONTINUE;

close:
  g_source_unref (conn->io);
  conn->io = NULL;
  conn_close (conn);
  return G_SOURCE_REMOVE;
}

static gboolean
server_accept (int fd, GIOCondition condition, gpointer data)
{
  TrellisNssServer *server = data;

  for (;;)
    {
      struct ucred cred;
      socklen_t cred_len = sizeof cred;
      Conn *conn;
      guint n;
      int c = accept4 (fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (c < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          break; /* EAGAIN: all taken; EMFILE and such: the next time */
        }
      if (getsockopt (c, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 || cred_len != sizeof cred)
        {
          close (c);
          continue;
        }
      n = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_uid, GUINT_TO_POINTER (cred.uid)));
      if (n >= TRELLIS_NSS_SERVER_PER_UID || g_hash_table_size (server->conns) >= TRELLIS_NSS_SERVER_MAX)
        {
          /* Closed unanswered: the module then asks the kernel, and a
           * protected account's lookup fails closed.  One uid's many
           * connections only hold that uid up. */
          close (c);
          continue;
        }
      g_hash_table_insert (server->per_uid, GUINT_TO_POINTER (cred.uid), GUINT_TO_POINTER (n + 1));
      conn = g_new0 (Conn, 1);
      conn->server = server;
      conn->fd = c;
      conn->uid = cred.uid;
      g_hash_table_add (server->conns, conn);
      conn->io = g_unix_fd_source_new (c, G_IO_IN | G_IO_HUP | G_IO_ERR);
      g_source_set_callback (conn->io, G_SOURCE_FUNC (conn_readable), conn, NULL);
      g_source_attach (conn->io, server->context);
      conn_idle_restart (conn);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- life cycle ------------------------------------------------------------ */

static gpointer
server_thread (gpointer data)
{
  TrellisNssServer *server = data;

  g_main_context_push_thread_default (server->context);
  g_main_loop_run (server->loop);
  g_main_context_pop_thread_default (server->context);
  return NULL;
}

static gboolean
server_quit (gpointer data)
{
  TrellisNssServer *server = data;
  /* In the thread: its sources are its own. */
  while (g_hash_table_size (server->conns) > 0)
    {
      GHashTableIter iter;
      gpointer conn;

      g_hash_table_iter_init (&iter, server->conns);
      g_hash_table_iter_next (&iter, &conn, NULL);
      conn_close (conn);
    }
  g_main_loop_quit (server->loop);
  return G_SOURCE_REMOVE;
}

TrellisNssServer *
trellis_nss_server_new (const char *dir,
                        TrellisNssDecide decide,
                        gpointer user_data,
                        GError **error)
{
  g_autoptr(TrellisNssServer) server = g_new0 (TrellisNssServer, 1);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int saved;

  g_return_val_if_fail (dir != NULL && decide != NULL, NULL);

  server->listen_fd = -1;
  server->decide = decide;
  server->user_data = user_data;
  server->conns = g_hash_table_new (NULL, NULL);
  server->per_uid = g_hash_table_new (NULL, NULL);
  server->path = g_build_filename (dir, TRELLIS_NSS_SOCKET_NAME, NULL);
  if (strlen (server->path) >= sizeof sa.sun_path)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: the path is too long for a socket", server->path);
      return NULL;
    }
  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create %s: %s", dir, g_strerror (saved));
      return NULL;
    }
  strcpy (sa.sun_path, server->path);
  server->listen_fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (server->listen_fd < 0)
    goto fail;
  /* a socket a dead trellisd left behind */
  if (unlink (server->path) < 0 && errno != ENOENT)
    goto fail;
  if (bind (server->listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    goto fail;
  /* Everyone asks (the service's umask is 0077); the directory stays
   * whatever it was made. */
  if (chmod (server->path, 0666) < 0 || listen (server->listen_fd, 64) < 0)
    goto fail;

  server->context = g_main_context_new ();
  server->loop = g_main_loop_new (server->context, FALSE);
  server->accept = g_unix_fd_source_new (server->listen_fd, G_IO_IN);
  g_source_set_callback (server->accept, G_SOURCE_FUNC (server_accept), server, NULL);
  g_source_attach (server->accept, server->context);
  server->thread = g_thread_new ("trellis-nss", server_thread, server);
  return g_steal_pointer (&server);

fail:
  saved = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
               "cannot listen on %s: %s", server->path, g_strerror (saved));
  return NULL;
}

void
trellis_nss_server_free (TrellisNssServer *server)
{
  if (server == NULL)
    return;
  if (server->thread != NULL)
    {
      g_main_context_invoke (server->context, server_quit, server);
      g_thread_join (server->thread);
    }
  if (server->accept != NULL)
    {
      g_source_destroy (server->accept);
      g_source_unref (server->accept);
    }
  if (server->listen_fd >= 0)
    {
      close (server->listen_fd);
      unlink (server->path);
    }
  g_clear_pointer (&server->loop, g_main_loop_unref);
  g_clear_pointer (&server->context, g_main_context_unref);
  g_hash_table_unref (server->conns);
  g_hash_table_unref (server->per_uid);
  g_free (server->path);
  g_free (server);
}
