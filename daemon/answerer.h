/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * answerer.h — the local DNS endpoint that NAT sends protected principals'
 * queries to: marked UDP queries (safe search, and blocked ones where the
 * queue cannot answer them itself: no raw socket) and every TCP/53
 * connection.
 *
 * It listens on 127.0.0.1 and ::1 at one port, UDP and TCP.  Because the
 * kernel redirected the packets, its replies reach the child in the name of
 * the server the child asked (conntrack reverses the NAT).  A blocked query
 * is answered here and never leaves the machine; an allowed one (TCP, or a
 * UDP query whose flow was already redirected) is forwarded to the server the
 * child asked, learned from the flow table.
 *
 * UDP is served on the main loop; each TCP connection gets a thread of its
 * own (TCP DNS is rare and long-lived), up to a cap.  A TCP connection is
 * placed when it is accepted: it must be a redirected connection of a
 * protected principal (the flow table knows its source, and conntrack's
 * original destination is the server the flow was for), or it is closed
 * unread.  Its principal and server are kept with it from then on, so a
 * connection reused for as long as the child likes stays placed.  One
 * principal holds at most 8 of the 64 connections; each message has a
 * deadline from its first byte that no trickle of bytes moves, and a
 * connection has 10 seconds to begin each message.
 *
 * Safe search: for a SAFE_SEARCH answer the answerer asks the server the
 * child asked for the target itself (same qtype, class IN, a random id of
 * its own, EDNS 1232; UDP from the forward thread pool, or on the TCP
 * connection's upstream connection), checks that the response answers that
 * question, and replies "QNAME CNAME target" followed by the response's A,
 * AAAA and CNAME records of the target's chain.  Every qtype goes this way:
 * an A or AAAA query gets addresses; any other type (HTTPS, MX, TXT, ...)
 * gets the CNAME and nothing the child could use to reach the unsafe
 * service.  The child's own name never leaves the machine.  No answer from
 * the server: no reply (UDP; the child retries) or the connection is closed
 * (TCP); an answer that is malformed or not ours: SERVFAIL.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "daemon/dns-packet.h"
#include "daemon/flows.h"

G_BEGIN_DECLS

typedef enum {
  TRELLIS_ANSWER_FORWARD = 0, /* allowed: ask the server the child asked */
  TRELLIS_ANSWER_BLOCK,       /* answer here with rcode + EDE */
  TRELLIS_ANSWER_REFUSE,      /* no principal known for this flow */
  TRELLIS_ANSWER_SAFE_SEARCH, /* answer "QNAME CNAME target" + the addresses
                                * the server the child asked gives for target */
} TrellisAnswerAction;

typedef struct {
  TrellisAnswerAction action;
  int rcode;          /* BLOCK: NXDOMAIN, or NOERROR for NODATA */
  int ede_code;       /* BLOCK: RFC 8914 info-code, -1 for none */
  char ede_text[256]; /* BLOCK: the rule's short form */
  char target[256];   /* SAFE_SEARCH: the provider's safe endpoint,
                                       * e.g. "forcesafesearch.google.com" */
} TrellisAnswer;

/*
 * Decides a query of @flow's principal from @key (its source), which came
 * over @proto (IPPROTO_UDP or IPPROTO_TCP).  Called from the main thread
 * and from TCP threads at once: it must be thread-safe and must not block.
 */
typedef void (*TrellisAnswererDecide) (const TrellisFlow *flow,
                                       const TrellisFlowKey *key,
                                       guint8 proto,
                                       const TrellisDnsQuery *query,
                                       TrellisAnswer *ret_answer,
                                       gpointer user_data);

typedef struct _TrellisAnswerer TrellisAnswerer;

/**
 * trellis_answerer_new:
 * Binds UDP and TCP on 127.0.0.1:@port and, when the host has IPv6, [::1]:@port.
 * @flows is borrowed and must outlive the answerer.
 */
TrellisAnswerer *trellis_answerer_new (guint16 port,
                                       TrellisFlowTable *flows,
                                       TrellisAnswererDecide decide,
                                       gpointer user_data,
                                       GError **error);

/**
 * trellis_answerer_new_full:
 * @any_address: listen on every address of the host (0.0.0.0 and [::]),
 *   as a gateway needs: NAT in prerouting redirects a device's query to
 *   the address of the interface it came in on
 *
 * As trellis_answerer_new().  A query whose source the flow table does not
 * know is refused, from wherever it comes.
 */
TrellisAnswerer *trellis_answerer_new_full (guint16 port,
                                            gboolean any_address,
                                            TrellisFlowTable *flows,
                                            TrellisAnswererDecide decide,
                                            gpointer user_data,
                                            GError **error);

/**
 * trellis_answerer_answer_unredirected:
 * @client: the query's source; @flow: whose it is and the server it asked
 * @answer: a BLOCK or SAFE_SEARCH decision for it
 *
 * Answers a UDP query that NAT cannot bring here: its source port was used
 * again while conntrack still held the earlier, unredirected flow to the
 * same server.  The reply is sent as the server's, from a raw socket; the
 * caller drops the query itself, so it never leaves the machine.
 */
void trellis_answerer_answer_unredirected (TrellisAnswerer *answerer,
                                           const TrellisFlowKey *client,
                                           const TrellisFlow *flow,
                                           const guint8 *packet,
                                           gsize len,
                                           const TrellisDnsQuery *query,
                                           const TrellisAnswer *answer);

/** trellis_answerer_free: closes the sockets and waits for the TCP threads. */
void trellis_answerer_free (TrellisAnswerer *answerer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisAnswerer, trellis_answerer_free)

G_END_DECLS
