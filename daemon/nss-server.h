/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nss-server.h — trellisd's side of libnss_trellis (nss/nss-protocol.h):
 * a SOCK_SEQPACKET Unix socket that answers "is this name blocked for
 * me?", the caller being whoever connected (SO_PEERCRED).  It runs in a
 * thread of its own with its own main context, so a slow or hostile
 * client never holds a verdict of the queue: each connection has
 * TRELLIS_NSS_IDLE_MS to send each request, one uid holds at most
 * TRELLIS_NSS_SERVER_PER_UID connections and all at most
 * TRELLIS_NSS_SERVER_MAX, and a request that is too long, empty or of an
 * unknown kind gets a refusal that says why.
 *
 * The name a program gave (presentation form, with \DDD and \X escapes)
 * is read the way a DNS server reads it, and written the way the queue
 * writes a query's name (daemon/dns-packet.h), so that every spelling of
 * a name is decided as its DNS query would be.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

#define TRELLIS_NSS_SERVER_MAX      128
#define TRELLIS_NSS_SERVER_PER_UID  8
#define TRELLIS_NSS_SERVER_REQUESTS 64 /* on one connection, then it is closed */

typedef enum {
  TRELLIS_NSS_VERDICT_OUTSIDE = 0, /* the caller is not protected */
  TRELLIS_NSS_VERDICT_ALLOW,
  TRELLIS_NSS_VERDICT_BLOCK,
  TRELLIS_NSS_VERDICT_SAFE, /* answer with the safe endpoint's addresses */
} TrellisNssVerdict;

/*
 * Decides @qname (the queue's form: lower case, \DDD escapes; NULL when
 * the name cannot be read as a DNS name) for @uid.  For BLOCK, the rule in
 * a few words goes to @ret_rule (@rule_size bytes); for SAFE, the safe
 * endpoint's name.  Called in the
 * server's thread: it must be thread-safe and must not block.
 */
typedef TrellisNssVerdict (*TrellisNssDecide) (uid_t uid,
                                               const char *qname,
                                               char *ret_rule,
                                               gsize rule_size,
                                               gpointer user_data);

typedef struct _TrellisNssServer TrellisNssServer;

/**
 * trellis_nss_server_new:
 * @dir: the folder of the socket (made if missing, mode 0755); the socket
 *   is @dir/nss.socket, mode 0666, replacing one a dead trellisd left
 *
 * Binds and listens, then serves in a thread of its own.
 */
TrellisNssServer *trellis_nss_server_new (const char *dir,
                                          TrellisNssDecide decide,
                                          gpointer user_data,
                                          GError **error);

/** trellis_nss_server_free: stops the thread, closes every connection, removes the socket. */
void trellis_nss_server_free (TrellisNssServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisNssServer, trellis_nss_server_free)

/**
 * trellis_nss_name_read:
 * @text: a name as a program gives it to getaddrinfo(): presentation form,
 *   \DDD and \X escapes allowed, one trailing dot allowed
 *
 * Reads @text as a DNS name and writes it in the queue's form (lower
 * case, no trailing dot, octets other than [a-z0-9-_] as \DDD) into
 * @ret_qname (TRELLIS_DNS_NAME_TEXT_MAX bytes).  Returns: FALSE when
 * @text is no DNS name (an empty label, a label over 63 octets, a name
 * over 255, a bad escape).
 */
gboolean trellis_nss_name_read (const char *text,
                                char *ret_qname);

G_END_DECLS
