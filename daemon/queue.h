/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * queue.h — one NFQUEUE that carries protected principals' DNS to trellisd,
 * read with libnetfilter_queue + libmnl in a thread of its own.
 *
 * The thread blocks in its own receive and takes what has arrived in one
 * call (up to TRELLIS_QUEUE_BATCH packets, recvmmsg), hands the readable
 * packets to the handler together, and gives all their verdicts in one
 * send: a run of packets with the same verdict (and mark) as one
 * NFQNL_MSG_VERDICT_BATCH, which covers every id up to its own; any other
 * packet a verdict of its own.  Every packet gets exactly one verdict; a
 * packet that cannot be read (cut short, a GSO super-packet, headers that
 * do not parse) is dropped without reaching the handler.  Should the id of
 * a packet ever be unknown, or a verdict fail to go, the queue gives only
 * single verdicts from then on, so that no batch can cover a packet it has
 * not judged.
 *
 * The kernel copies at most @copy_range bytes of each packet; a longer one
 * arrives cut short (NFQA_CAP_LEN) and is dropped unread.
 *
 * The handler runs in the queue's thread, never on the main loop: it must
 * be thread-safe, must not block, and should neither allocate nor log per
 * packet.  Several queues (one per queue number) run side by side, each
 * with its own thread and handler.
 */
#pragma once

#include <glib.h>
#include <sched.h>
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

/* At most this many packets are read, judged and given verdicts together. */
#define TRELLIS_QUEUE_BATCH 64

/* The most of a packet the kernel copies (its own limit, 0xffff less an
 * attribute header), and what a DNS query needs: no query the reader
 * accepts comes near 4 KiB, headers included. */
#define TRELLIS_QUEUE_COPY_RANGE_MAX 0xfffbu
#define TRELLIS_QUEUE_COPY_RANGE_DNS 4096u

/* How often at least an idle queue thread comes round (trellis_queue_get_progress). */
#define TRELLIS_QUEUE_IDLE_WAKE_USEC (G_USEC_PER_SEC)

/* Judges one packet; called in the queue's thread. */
typedef TrellisQueueVerdict (*TrellisQueueHandler) (const TrellisQueuePacket *packet,
                                                    gpointer user_data);

/*
 * Judges the readable packets of one read together (1 to
 * TRELLIS_QUEUE_BATCH of them, in the order they were queued), writing one
 * verdict for each into @ret_verdicts (which holds DROP for each when
 * called).  Called in the queue's thread.
 */
typedef void (*TrellisQueueBatchHandler) (const TrellisQueuePacket *const *packets,
                                          guint n_packets,
                                          TrellisQueueVerdict *ret_verdicts,
                                          gpointer user_data);

/* Called in the queue's thread when it waited TRELLIS_QUEUE_IDLE_WAKE_USEC
 * for nothing: a moment to let go of what it holds for the next packet. */
typedef void (*TrellisQueueIdleHandler) (gpointer user_data);

typedef struct _TrellisQueue TrellisQueue;

/* What went wrong inside the queue's source, for its owner to log: the
 * queue itself never logs. */
typedef enum {
  TRELLIS_QUEUE_FAILURE_RECEIVE = 0, /* reading the socket failed (@packet_id is 0) */
  TRELLIS_QUEUE_FAILURE_MESSAGE,     /* a message from the kernel did not parse (@packet_id is 0) */
  TRELLIS_QUEUE_FAILURE_VERDICT,     /* the verdict for @packet_id was not sent: it stays queued */
} TrellisQueueFailure;

/* @error: -errno.  Called in the queue's thread. */
typedef void (*TrellisQueueFailureHandler) (TrellisQueueFailure failure,
                                            guint16 queue_num,
                                            guint32 packet_id,
                                            int error,
                                            gpointer user_data);

typedef struct {
  guint16 queue_num;
  guint32 mark;       /* what TRELLIS_QUEUE_ACCEPT_MARK sets */
  guint32 copy_range; /* bytes copied of each packet, 0: the most */
  TrellisQueueBatchHandler handler;
  TrellisQueueIdleHandler idle; /* (nullable) given @user_data too */
  gpointer user_data;
  TrellisQueueFailureHandler failed; /* (nullable) */
  gpointer failed_data;
  const cpu_set_t *cpus; /* (nullable) where the thread runs; NULL:
                                             * wherever the scheduler puts it */
} TrellisQueueConfig;

/* What a queue has done, for its owner's figures. */
typedef struct {
  guint64 packets;          /* packet messages read */
  guint64 reads;            /* receive calls that brought any */
  guint64 verdict_messages; /* verdicts sent, a batch verdict counting once */
  guint64 unreadable;       /* dropped without reaching the handler */
} TrellisQueueStats;

/**
 * trellis_queue_new_full:
 * Binds queue @config->queue_num in the current network namespace and
 * starts its thread.  Fails with a clear message when another process holds
 * the queue.  Packets that arrive while the queue is being configured are
 * dropped (they were copied under settings not yet ours).
 */
TrellisQueue *trellis_queue_new_full (const TrellisQueueConfig *config,
                                      GError **error);

/**
 * trellis_queue_new:
 * trellis_queue_new_full() with a handler that judges one packet at a
 * time, the whole packet copied, no failure handler.
 */
TrellisQueue *trellis_queue_new (guint16 queue_num,
                                 guint32 mark,
                                 TrellisQueueHandler handler,
                                 gpointer user_data,
                                 GError **error);

/** trellis_queue_free: stops the thread (waits for it), then lets the queue go. */
void trellis_queue_free (TrellisQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisQueue, trellis_queue_free)

/**
 * trellis_queue_set_failure_handler:
 * @handler: (nullable): called in the queue's thread for each failure;
 *   NULL drops them
 */
void trellis_queue_set_failure_handler (TrellisQueue *queue,
                                        TrellisQueueFailureHandler handler,
                                        gpointer user_data);

/**
 * trellis_queue_get_progress:
 * When the queue's thread last came round (monotonic µs): after each read,
 * and at least every TRELLIS_QUEUE_IDLE_WAKE_USEC while idle.  A thread
 * that hangs (a handler that never returns) stops moving it.  Thread-safe.
 */
gint64 trellis_queue_get_progress (TrellisQueue *queue);

/** trellis_queue_get_stats: what the queue has done so far.  Thread-safe. */
void trellis_queue_get_stats (TrellisQueue *queue,
                              TrellisQueueStats *ret_stats);

/** trellis_queue_get_num: the queue's number. */
guint16 trellis_queue_get_num (TrellisQueue *queue);

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
