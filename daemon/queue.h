/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * queue.h — the NFQUEUE that carries protected principals' DNS to trellisd,
 * read with libnetfilter_queue + libmnl as a GSource on the main loop.
 *
 * Every packet gets exactly one verdict, given as soon as the handler
 * returns; the handler must not block.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef enum {
  TRELLIS_QUEUE_ACCEPT = 0,  /* let it go on as it is */
  TRELLIS_QUEUE_ACCEPT_MARK, /* let it go on, marked: NAT sends it to the answerer */
  TRELLIS_QUEUE_DROP,        /* malformed or unplaceable: never passed unread */
} TrellisQueueVerdict;

/* A queued packet, its headers already read and bounds-checked. */
typedef struct {
  guint8 family; /* AF_INET or AF_INET6 */
  guint8 proto;  /* IPPROTO_UDP or IPPROTO_TCP */
  gboolean has_uid;
  uid_t uid; /* the socket owner (NFQA_UID) */
  guint8 src_addr[16];
  guint8 dst_addr[16];
  guint16 src_port; /* host order */
  guint16 dst_port;
  guint8 tcp_flags;      /* TCP only */
  guint32 mark;          /* the packet's mark (NFQA_MARK): trellisd's own
                                * mark means the guard chain sent it back */
  gboolean has_hw_addr;  /* NFQA_HWADDR: an Ethernet source (a gateway's device) */
  guint8 hw_addr[6];     /* the source MAC, when has_hw_addr */
  const guint8 *payload; /* the L4 payload (UDP: the DNS message) */
  gsize payload_len;
} TrellisQueuePacket;

/* One message from the queue: the packet's id, and whether the packet can
 * be judged as it will leave. */
typedef struct {
  guint32 id;                /* the kernel's packet id, for the verdict */
  gboolean readable;         /* FALSE: drop it, never pass it on unread */
  TrellisQueuePacket packet; /* when readable */
} TrellisQueueMessage;

typedef TrellisQueueVerdict (*TrellisQueueHandler) (const TrellisQueuePacket *packet,
                                                    gpointer user_data);

typedef struct _TrellisQueue TrellisQueue;

/* What went wrong inside the queue's source, for its owner to log: the
 * queue itself never logs. */
typedef enum {
  TRELLIS_QUEUE_FAILURE_RECEIVE = 0, /* reading the socket failed (@packet_id is 0) */
  TRELLIS_QUEUE_FAILURE_MESSAGE,     /* a message from the kernel did not parse (@packet_id is 0) */
  TRELLIS_QUEUE_FAILURE_VERDICT,     /* the verdict for @packet_id was not sent: it stays queued */
} TrellisQueueFailure;

/* @error: -errno */
typedef void (*TrellisQueueFailureHandler) (TrellisQueueFailure failure,
                                            guint16 queue_num,
                                            guint32 packet_id,
                                            int error,
                                            gpointer user_data);

/**
 * trellis_queue_new:
 * Binds queue @queue_num in the current network namespace and attaches its
 * source to the thread-default main context.  Fails with a clear message
 * when another process holds the queue.
 */
TrellisQueue *trellis_queue_new (guint16 queue_num,
                                 guint32 mark,
                                 TrellisQueueHandler handler,
                                 gpointer user_data,
                                 GError **error);
void trellis_queue_free (TrellisQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisQueue, trellis_queue_free)

/**
 * trellis_queue_set_failure_handler:
 * @handler: (nullable): called on the main loop for each failure; NULL
 *   (the default) drops them
 */
void trellis_queue_set_failure_handler (TrellisQueue *queue,
                                        TrellisQueueFailureHandler handler,
                                        gpointer user_data);

/**
 * trellis_queue_packet_parse:
 * Reads the IPv4/IPv6 and UDP/TCP headers of @data (as NFQUEUE hands it
 * over: from the network header on).  Returns: 0, or -EBADMSG when the
 * headers are cut short or inconsistent, -EPROTONOSUPPORT for another
 * protocol.  Fills @ret_packet only on success (payload points into @data).
 */
int trellis_queue_packet_parse (const guint8 *data,
                                gsize len,
                                TrellisQueuePacket *ret_packet);

struct nlmsghdr;

/**
 * trellis_queue_message_parse:
 * Reads one NFQNL_MSG_PACKET message: the packet id and the packet with its
 * owner (NFQA_UID) and mark.  The packet is readable only when the kernel
 * handed over all of it (no NFQA_CAP_LEN beyond the payload), as one packet
 * (NFQA_SKB_INFO without NFQA_SKB_GSO: the queue does not ask for GSO
 * super-packets, see docs/decisions.md, and one that still comes is
 * dropped) whose headers trellis_queue_packet_parse() accepts.
 *
 * Returns: 0 and fills @ret_message, or -EBADMSG when the message has no
 *   packet id (there is nothing to give a verdict to).
 */
int trellis_queue_message_parse (const struct nlmsghdr *nlh,
                                 TrellisQueueMessage *ret_message);

G_END_DECLS
