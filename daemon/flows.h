/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * flows.h — what the queue learns about a protected principal's DNS flow
 * before NAT, for the answerer that sees it after NAT.
 *
 * The queue sees each query (UDP) or connection attempt (TCP SYN) with the
 * socket's uid and the server the child asked.  The redirect then hides
 * both from the answerer, which only sees the source address and port; the
 * flow table maps that source back to the principal and the original server.
 * Entries live a short while and the table has a fixed cap, so a flood
 * cannot grow it without bound.  Thread-safe.
 */
#pragma once

#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* A redirected query reaches the answerer within milliseconds, and a TCP
 * connection is placed once, when it is accepted (the answerer keeps the
 * flow with the connection after that).  30 seconds (docs/decisions.md)
 * cover a loaded machine and a UDP socket a resolver keeps between
 * queries; under a flood the ring below keeps the table at its cap, and
 * what it drops first is the oldest. */
#define TRELLIS_FLOW_TTL_USEC  (30 * G_USEC_PER_SEC)
#define TRELLIS_FLOW_TABLE_MAX 65536

/* The source of a query as both the queue and the answerer see it. */
typedef struct {
  guint8 family;   /* AF_INET or AF_INET6 */
  guint8 proto;    /* IPPROTO_UDP or IPPROTO_TCP */
  guint16 port;    /* source port, host order */
  guint8 addr[16]; /* source address; IPv4 in the first 4 bytes */
} TrellisFlowKey;

typedef struct {
  uid_t uid;           /* the socket's owner */
  guint16 dst_port;    /* the server's port, host order */
  guint8 dst_addr[16]; /* the server the child asked */
  gboolean has_hw_addr;
  guint8 hw_addr[6]; /* a gateway's device: its MAC, when has_hw_addr */
} TrellisFlow;

typedef struct _TrellisFlowTable TrellisFlowTable;

TrellisFlowTable *trellis_flow_table_new (void);
void trellis_flow_table_free (TrellisFlowTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisFlowTable, trellis_flow_table_free)

/** trellis_flow_table_record: remembers @flow for @key until @now_usec + TTL. */
void trellis_flow_table_record (TrellisFlowTable *table,
                                const TrellisFlowKey *key,
                                const TrellisFlow *flow,
                                gint64 now_usec);

/** trellis_flow_table_lookup: TRUE and @ret_flow when @key is known and fresh. */
gboolean trellis_flow_table_lookup (TrellisFlowTable *table,
                                    const TrellisFlowKey *key,
                                    gint64 now_usec,
                                    TrellisFlow *ret_flow);

/** trellis_flow_table_expire: drops every entry older than its TTL; returns how many. */
guint trellis_flow_table_expire (TrellisFlowTable *table,
                                 gint64 now_usec);

/** trellis_flow_key_from_sockaddr: the key for a peer the answerer sees. */
gboolean trellis_flow_key_from_sockaddr (const struct sockaddr *sa,
                                         guint8 proto,
                                         TrellisFlowKey *ret_key);

/** trellis_flow_dst_to_sockaddr: the original server as a socket address. */
socklen_t trellis_flow_dst_to_sockaddr (const TrellisFlow *flow,
                                        guint8 family,
                                        struct sockaddr_storage *ret_sa);

G_END_DECLS
