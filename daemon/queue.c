/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/queue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* What a packet message holds besides the packet: the netlink and queue
 * headers and attributes (id, mark, owner, interfaces, times, ...), well
 * under this. */
#define QUEUE_MESSAGE_OVERHEAD 1024
/* The socket's receive buffer (SO_RCVBUFFORCE; we are root): a burst that
 * overflows it is dropped by the kernel, packet by packet (fail closed). */
#define QUEUE_RCVBUF (8 << 20)
/* Packets the kernel holds for a queue at most before it drops new ones. */
#define QUEUE_MAXLEN 4096
/* One verdict message: header, verdict, mark (40 bytes); a read's worth
 * with room to spare. */
#define QUEUE_VERDICT_BUFFER (TRELLIS_QUEUE_BATCH * 64)

struct _TrellisQueue {
  struct mnl_socket *nl; /* (owned) */
  int fd;
  guint32 portid;
  guint16 num;
  guint32 mark;
  guint32 copy_range;
  gsize buf_size; /* one message's room */
  guint8 *bufs;   /* (owned) TRELLIS_QUEUE_BATCH × buf_size */
  TrellisQueueBatchHandler handler;
  TrellisQueueIdleHandler idle; /* (nullable) */
  gpointer user_data;
  TrellisQueueHandler packet_handler; /* (nullable) trellis_queue_new()'s */
  gpointer packet_data;
  GMutex failed_lock;                /* protects failed, failed_data */
  TrellisQueueFailureHandler failed; /* (nullable) told what went wrong */
  gpointer failed_data;
  GThread *thread; /* (owned) (nullable) */
  gboolean pinned;
  cpu_set_t cpus;           /* when pinned */
  gint stopping;            /* atomic */
  gint64 progress;          /* atomic: monotonic µs */
  gboolean single_verdicts; /* the thread's: never a batch again */
  TrellisQueueStats stats;  /* written by the thread, atomically */
};

static void
stat_add (guint64 *counter, guint64 n)
{
  __atomic_fetch_add (counter, n, __ATOMIC_RELAXED);
}

/* Tells the owner; library code never logs. */
static void
report_failure (TrellisQueue *queue, TrellisQueueFailure failure, guint32 id, int error)
{
  g_mutex_lock (&queue->failed_lock);
  if (queue->failed != NULL)
    queue->failed (failure, queue->num, id, error, queue->failed_data);
  g_mutex_unlock (&queue->failed_lock);
}

/* Appends a verdict for @id (a batch verdict: every id up to @id still
 * queued) to @buf at @off; returns the new end. */
static gsize
verdict_put (TrellisQueue *queue, char *buf, gsize off, guint32 id, gboolean batch,
             TrellisQueueVerdict verdict)
{
  struct nlmsghdr *nlh;

  nlh = nfq_nlmsg_put (buf + off, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, queue->num);
  /* The sequence number is the id: an error the kernel sends back names it. */
  nlh->nlmsg_seq = id;
  nfq_nlmsg_verdict_put (nlh, (int) id, verdict == TRELLIS_QUEUE_DROP ? NF_DROP : NF_ACCEPT);
  if (verdict == TRELLIS_QUEUE_ACCEPT_MARK)
    nfq_nlmsg_verdict_put_mark (nlh, queue->mark);
  return off + NLMSG_ALIGN (nlh->nlmsg_len);
}

/* Sends the verdicts in @buf (the kernel takes the messages of one send in
 * order).  A send that fails has applied none of them: tried again a few
 * times, then each of its ids is reported, stays queued until the queue is
 * let go, and the queue gives single verdicts from then on. */
static void
verdicts_flush (TrellisQueue *queue, char *buf, gsize len, const guint32 *ids, guint n_ids)
{
  int err = 0;

  if (len == 0)
    return;
  for (int attempt = 0; attempt < 4; attempt++)
    {
      if (mnl_socket_sendto (queue->nl, buf, len) >= 0)
        return;
      err = -errno;
      if (err != -EINTR && err != -ENOBUFS && err != -ENOMEM && err != -EAGAIN)
        break;
      g_usleep (1000);
    }
  queue->single_verdicts = TRUE;
  for (guint i = 0; i < n_ids; i++)
    report_failure (queue, TRELLIS_QUEUE_FAILURE_VERDICT, ids[i], err);
}

/* TRUE when packet id @a was queued after @b (ids wrap around). */
static gboolean
id_after (guint32 a, guint32 b)
{
  return (gint32) (a - b) > 0;
}

/*
 * Gives @n verdicts for the @ids of one read, in one send where they fit.
 * With @batch_ok, a run of the same verdict becomes one batch verdict for
 * the run's last id: the earlier ids of the run are the only ones it can
 * reach, since every earlier packet of the queue has had its verdict
 * (in this send or before), and later ones have higher ids.
 */
static void
verdicts_send (TrellisQueue *queue, const guint32 *ids, const TrellisQueueVerdict *verdicts,
               guint n, gboolean batch_ok)
{
  char buf[QUEUE_VERDICT_BUFFER];
  gsize off = 0;
  guint first = 0, i = 0, sent = 0;

  for (guint k = 1; batch_ok && k < n; k++)
    if (!id_after (ids[k], ids[k - 1]))
      batch_ok = FALSE; /* not in queue order: never guess */
  while (i < n)
    {
      guint j = i;

      while (batch_ok && j + 1 < n && verdicts[j + 1] == verdicts[i])
        j++;
      if (off + 64 > sizeof buf)
        {
          verdicts_flush (queue, buf, off, ids + first, i - first);
          off = 0;
          first = i;
        }
      off = verdict_put (queue, buf, off, ids[j], j > i, verdicts[i]);
      sent++;
      i = j + 1;
    }
  verdicts_flush (queue, buf, off, ids + first, n - first);
  stat_add (&queue->stats.verdict_messages, sent);
}

/* Sends a config message and waits for its ACK.  A packet that arrives
 * meanwhile is dropped: it was copied under settings that may not be
 * ours yet, and it must not be left without a verdict. */
static int
config_send (TrellisQueue *queue, struct nlmsghdr *nlh)
{
  g_autofree char *buf = g_malloc (MNL_SOCKET_BUFFER_SIZE + 0x10000);
  guint32 seq = nlh->nlmsg_seq;
  ssize_t n;

  nlh->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto (queue->nl, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  for (;;)
    {
      const struct nlmsghdr *m;
      int len;

      n = mnl_socket_recvfrom (queue->nl, buf, MNL_SOCKET_BUFFER_SIZE + 0x10000);
      if (n < 0)
        return -errno;
      len = (int) n;
      for (m = (const struct nlmsghdr *) buf; mnl_nlmsg_ok (m, len); m = mnl_nlmsg_next (m, &len))
        {
          if (m->nlmsg_type == NLMSG_ERROR)
            {
              const struct nlmsgerr *e = mnl_nlmsg_get_payload (m);

              if (m->nlmsg_len < mnl_nlmsg_size (sizeof *e))
                return -EBADMSG;
              /* Ours: the answer to this config message, not to a verdict. */
              if (e->msg.nlmsg_seq == seq && NFNL_MSG_TYPE (e->msg.nlmsg_type) == NFQNL_MSG_CONFIG
                  && NFNL_SUBSYS_ID (e->msg.nlmsg_type) == NFNL_SUBSYS_QUEUE)
                return e->error;
              continue;
            }
          if (NFNL_SUBSYS_ID (m->nlmsg_type) == NFNL_SUBSYS_QUEUE
              && NFNL_MSG_TYPE (m->nlmsg_type) == NFQNL_MSG_PACKET)
            {
              TrellisQueueMessage msg;
              const TrellisQueueVerdict drop = TRELLIS_QUEUE_DROP;

              if (trellis_queue_message_parse (m, &msg) == 0)
                verdicts_send (queue, &msg.id, &drop, 1, FALSE);
              else
                queue->single_verdicts = TRUE; /* it stays queued: no batch may reach it */
            }
        }
    }
}

int
trellis_queue_packet_parse (const guint8 *data,
                            gsize len,
                            TrellisQueuePacket *ret_packet)
{
  TrellisQueuePacket p = { 0 };
  gsize off;
  guint8 next;

  if (len < 1)
    return -EBADMSG;

  switch (data[0] >> 4)
    {
    case 4:
      {
        gsize ihl, total;

        if (len < 20)
          return -EBADMSG;
        ihl = (gsize) (data[0] & 0x0f) * 4;
        total = ((gsize) data[2] << 8) | data[3];
        if (ihl < 20 || ihl > len || total < ihl || total > len)
          return -EBADMSG;
        /* A fragment other than the first carries no header to read. */
        if ((((data[6] & 0x1f) << 8) | data[7]) != 0)
          return -EBADMSG;
        p.family = AF_INET;
        next = data[9];
        memcpy (p.src_addr, data + 12, 4);
        memcpy (p.dst_addr, data + 16, 4);
        off = ihl;
        len = total;
        break;
      }
    case 6:
      {
        gsize total;
        guint hops = 0;

        if (len < 40)
          return -EBADMSG;
        total = 40 + (((gsize) data[4] << 8) | data[5]);
        if (total > len)
          return -EBADMSG;
        p.family = AF_INET6;
        next = data[6];
        memcpy (p.src_addr, data + 8, 16);
        memcpy (p.dst_addr, data + 24, 16);
        off = 40;
        len = total;
        /* Walk the extension headers we may meet before UDP/TCP. */
        while (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS
               || next == IPPROTO_FRAGMENT)
          {
            if (++hops > 8 || off + 8 > len)
              return -EBADMSG;
            if (next == IPPROTO_FRAGMENT)
              {
                /* Only an unfragmented (atomic) or first fragment has the header. */
                if (((data[off + 2] << 8 | data[off + 3]) & 0xfff8) != 0)
                  return -EBADMSG;
                next = data[off];
                off += 8;
              }
            else
              {
                gsize ext = ((gsize) data[off + 1] + 1) * 8;

                next = data[off];
                if (off + ext > len)
                  return -EBADMSG;
                off += ext;
              }
          }
        break;
      }
    default:
      return -EBADMSG;
    }

  p.proto = next;
  if (next == IPPROTO_UDP)
    {
      gsize ulen;

      if (off + 8 > len)
        return -EBADMSG;
      ulen = ((gsize) data[off + 4] << 8) | data[off + 5];
      if (ulen < 8 || off + ulen > len)
        return -EBADMSG;
      p.src_port = (guint16) (data[off] << 8 | data[off + 1]);
      p.dst_port = (guint16) (data[off + 2] << 8 | data[off + 3]);
      p.payload = data + off + 8;
      p.payload_len = ulen - 8;
    }
  else if (next == IPPROTO_TCP)
    {
      gsize doff;

      if (off + 20 > len)
        return -EBADMSG;
      doff = (gsize) (data[off + 12] >> 4) * 4;
      if (doff < 20 || off + doff > len)
        return -EBADMSG;
      p.src_port = (guint16) (data[off] << 8 | data[off + 1]);
      p.dst_port = (guint16) (data[off + 2] << 8 | data[off + 3]);
      p.tcp_flags = data[off + 13];
      p.payload = data + off + doff;
      p.payload_len = len - off - doff;
    }
  else
    return -EPROTONOSUPPORT;

  *ret_packet = p;
  return 0;
}

int
trellis_queue_message_parse (const struct nlmsghdr *nlh,
                             TrellisQueueMessage *ret_message)
{
  struct nlattr *attr[NFQA_MAX + 1] = { NULL };
  struct nfqnl_msg_packet_hdr *ph;
  TrellisQueueMessage m = { 0 };
  const guint8 *payload;
  guint32 payload_len;

  if (nfq_nlmsg_parse (nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL
      || mnl_attr_get_payload_len (attr[NFQA_PACKET_HDR]) < sizeof *ph)
    return -EBADMSG;
  ph = mnl_attr_get_payload (attr[NFQA_PACKET_HDR]);
  m.id = ntohl (ph->packet_id);

  if (attr[NFQA_PAYLOAD] == NULL)
    goto out;
  payload = mnl_attr_get_payload (attr[NFQA_PAYLOAD]);
  payload_len = mnl_attr_get_payload_len (attr[NFQA_PAYLOAD]);
  /* A GSO super-packet leaves as several packets: judged as one, what the
   * kernel cuts out of it would leave unread.  The queue does not ask for
   * them, so the kernel segments first; should one come all the same, it
   * is dropped. */
  if (attr[NFQA_SKB_INFO] != NULL
      && (ntohl (mnl_attr_get_u32 (attr[NFQA_SKB_INFO])) & NFQA_SKB_GSO) != 0)
    goto out;
  /* Only part of the packet was copied: the rest would leave unread. */
  if (attr[NFQA_CAP_LEN] != NULL && ntohl (mnl_attr_get_u32 (attr[NFQA_CAP_LEN])) > payload_len)
    goto out;
  if (trellis_queue_packet_parse (payload, payload_len, &m.packet) < 0)
    goto out;
  if (attr[NFQA_UID] != NULL)
    {
      m.packet.has_uid = TRUE;
      m.packet.uid = ntohl (mnl_attr_get_u32 (attr[NFQA_UID]));
    }
  if (attr[NFQA_MARK] != NULL)
    m.packet.mark = ntohl (mnl_attr_get_u32 (attr[NFQA_MARK]));
  /* In prerouting, the device's MAC (NFQA_HWADDR, a 6-byte Ethernet one
   * only: any other is no device of ours). */
  if (attr[NFQA_HWADDR] != NULL
      && mnl_attr_get_payload_len (attr[NFQA_HWADDR]) >= sizeof (struct nfqnl_msg_packet_hw))
    {
      const struct nfqnl_msg_packet_hw *hw = mnl_attr_get_payload (attr[NFQA_HWADDR]);

      if (ntohs (hw->hw_addrlen) == 6)
        {
          m.packet.has_hw_addr = TRUE;
          memcpy (m.packet.hw_addr, hw->hw_addr, 6);
        }
    }
  m.readable = TRUE;

out:
  *ret_message = m;
  return 0;
}


/* The packet id of a message cut short (a datagram larger than our room,
 * which the copy range and QUEUE_MESSAGE_OVERHEAD should never allow): the
 * queue puts NFQA_PACKET_HDR first.  Returns: 0, or -EBADMSG. */
static int
truncated_packet_id (const guint8 *buf, gsize len, guint32 *ret_id)
{
  const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
  const struct nlattr *attr;
  gsize off = NLMSG_HDRLEN + NLMSG_ALIGN (sizeof (struct nfgenmsg));
  struct nfqnl_msg_packet_hdr ph;

  if (len < off + NLA_HDRLEN + sizeof ph || nlh->nlmsg_len < off + NLA_HDRLEN + sizeof ph
      || NFNL_SUBSYS_ID (nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE
      || NFNL_MSG_TYPE (nlh->nlmsg_type) != NFQNL_MSG_PACKET)
    return -EBADMSG;
  attr = (const struct nlattr *) (buf + off);
  if ((attr->nla_type & NLA_TYPE_MASK) != NFQA_PACKET_HDR || attr->nla_len < NLA_HDRLEN + sizeof ph)
    return -EBADMSG;
  memcpy (&ph, buf + off + NLA_HDRLEN, sizeof ph);
  *ret_id = ntohl (ph.packet_id);
  return 0;
}

/* What one read brought. */
typedef struct {
  TrellisQueueMessage messages[TRELLIS_QUEUE_BATCH];
  guint32 ids[TRELLIS_QUEUE_BATCH];
  TrellisQueueVerdict verdicts[TRELLIS_QUEUE_BATCH];
  const TrellisQueuePacket *packets[TRELLIS_QUEUE_BATCH];
  TrellisQueueVerdict judged[TRELLIS_QUEUE_BATCH];
  guint n;
  gboolean unknown; /* a packet whose id could not be read */
} Read;

static void
read_datagram (TrellisQueue *queue, Read *r, const guint8 *buf, gsize len, gboolean truncated)
{
  const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
  int left = (int) MIN (len, (gsize) G_MAXINT);

  for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left))
    {
      if (nlh->nlmsg_type == NLMSG_ERROR)
        {
          const struct nlmsgerr *e = mnl_nlmsg_get_payload (nlh);

          /* An ACK (error 0): the wake-up of trellis_queue_free(); else a
           * verdict the kernel refused (its packet is gone, say, with a
           * chain that was replaced), named by its sequence number. */
          if (nlh->nlmsg_len >= mnl_nlmsg_size (sizeof *e) && e->error != 0)
            report_failure (queue, TRELLIS_QUEUE_FAILURE_MESSAGE, e->msg.nlmsg_seq, e->error);
          continue;
        }
      if (NFNL_SUBSYS_ID (nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE
          || NFNL_MSG_TYPE (nlh->nlmsg_type) != NFQNL_MSG_PACKET)
        continue;
      if (r->n == TRELLIS_QUEUE_BATCH || trellis_queue_message_parse (nlh, &r->messages[r->n]) < 0)
        {
          /* No id: nothing to give a verdict to, and the packet stays queued. */
          r->unknown = TRUE;
          report_failure (queue, TRELLIS_QUEUE_FAILURE_MESSAGE, 0, -EBADMSG);
          continue;
        }
      r->n++;
    }
  if (truncated && left > 0)
    {
      guint32 id;

      if (r->n < TRELLIS_QUEUE_BATCH
          && truncated_packet_id ((const guint8 *) nlh, (gsize) left, &id) == 0)
        {
          memset (&r->messages[r->n], 0, sizeof r->messages[r->n]);
          r->messages[r->n].id = id;
          r->messages[r->n].readable = FALSE;
          r->n++;
        }
      else
        {
          r->unknown = TRUE;
          report_failure (queue, TRELLIS_QUEUE_FAILURE_MESSAGE, 0, -EMSGSIZE);
        }
    }
}

/* Judges what one read brought and gives the verdicts. */
static void
read_judge (TrellisQueue *queue, Read *r)
{
  guint n_packets = 0, unreadable = 0;

  for (guint i = 0; i < r->n; i++)
    {
      r->ids[i] = r->messages[i].id;
      r->verdicts[i] = TRELLIS_QUEUE_DROP;
      if (r->messages[i].readable)
        {
          r->packets[n_packets] = &r->messages[i].packet;
          r->judged[n_packets] = TRELLIS_QUEUE_DROP;
          n_packets++;
        }
      else
        unreadable++;
    }
  if (n_packets > 0)
    queue->handler (r->packets, n_packets, r->judged, queue->user_data);
  for (guint i = 0, j = 0; i < r->n; i++)
    if (r->messages[i].readable)
      {
        TrellisQueueVerdict v = r->judged[j++];

        /* Anything but the three verdicts is a drop. */
        r->verdicts[i] = v == TRELLIS_QUEUE_ACCEPT || v == TRELLIS_QUEUE_ACCEPT_MARK
                           ? v
                           : TRELLIS_QUEUE_DROP;
      }
  /* A packet without a known id stays queued: a batch verdict would reach
   * it unjudged.  From now on, single verdicts only. */
  if (r->unknown)
    queue->single_verdicts = TRUE;
  verdicts_send (queue, r->ids, r->verdicts, r->n, !queue->single_verdicts);
  stat_add (&queue->stats.packets, r->n);
  stat_add (&queue->stats.unreadable, unreadable);
}

static gpointer
queue_thread (gpointer data)
{
  TrellisQueue *queue = data;
  struct mmsghdr msgs[TRELLIS_QUEUE_BATCH];
  struct iovec iov[TRELLIS_QUEUE_BATCH];
  g_autofree Read *r = g_new0 (Read, 1);

  /* Where the kernel's CPU fanout sends this queue its packets: woken on
   * the CPU that queued them, no other CPU is interrupted. */
  if (queue->pinned)
    sched_setaffinity (0, sizeof queue->cpus, &queue->cpus);
  for (guint i = 0; i < TRELLIS_QUEUE_BATCH; i++)
    {
      iov[i].iov_base = queue->bufs + i * queue->buf_size;
      iov[i].iov_len = queue->buf_size;
    }
  while (!g_atomic_int_get (&queue->stopping))
    {
      int n;

      memset (msgs, 0, sizeof msgs);
      for (guint i = 0; i < TRELLIS_QUEUE_BATCH; i++)
        {
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
      /* Blocks for the first (or until the idle wake), then takes what
       * else is there without waiting. */
      n = recvmmsg (queue->fd, msgs, TRELLIS_QUEUE_BATCH, MSG_WAITFORONE, NULL);
      __atomic_store_n (&queue->progress, g_get_monotonic_time (), __ATOMIC_RELAXED);
      if (n < 0)
        {
          int err = errno;

          if ((err == EAGAIN || err == EWOULDBLOCK) && queue->idle != NULL)
            queue->idle (queue->user_data);
          else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && err != ENOBUFS)
            {
              report_failure (queue, TRELLIS_QUEUE_FAILURE_RECEIVE, 0, -err);
              g_usleep (10000); /* not a busy loop on a broken socket */
            }
          continue;
        }
      r->n = 0;
      r->unknown = FALSE;
      for (int i = 0; i < n; i++)
        read_datagram (queue, r, iov[i].iov_base, msgs[i].msg_len,
                       (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0);
      if (r->n == 0 && !r->unknown)
        continue; /* only ACKs */
      stat_add (&queue->stats.reads, 1);
      read_judge (queue, r);
    }
  return NULL;
}

/* trellis_queue_new()'s handler: one packet at a time. */
static void
judge_each (const TrellisQueuePacket *const *packets, guint n_packets,
            TrellisQueueVerdict *ret_verdicts, gpointer user_data)
{
  TrellisQueue *queue = user_data;

  for (guint i = 0; i < n_packets; i++)
    ret_verdicts[i] = queue->packet_handler (packets[i], queue->packet_data);
}

/* Opens, binds and configures @queue as @config says, then starts its
 * thread.  On failure @queue is left for trellis_queue_free(). */
static gboolean
queue_start (TrellisQueue *queue, const TrellisQueueConfig *config, GError **error)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh;
  /* Not NFQA_CFG_F_GSO: the kernel segments a GSO packet before it is
   * queued, so each packet that will leave is queued, and judged, on its
   * own (docs/decisions.md, "GSO"). */
  guint32 flags = NFQA_CFG_F_UID_GID;
  guint32 mask = NFQA_CFG_F_UID_GID | NFQA_CFG_F_GSO; /* GSO cleared */
  struct timeval idle = { .tv_sec = TRELLIS_QUEUE_IDLE_WAKE_USEC / G_USEC_PER_SEC,
                          .tv_usec = TRELLIS_QUEUE_IDLE_WAKE_USEC % G_USEC_PER_SEC };
  int one = 1, rcvbuf = QUEUE_RCVBUF;
  g_autofree char *name = NULL;
  int ret;

  queue->num = config->queue_num;
  queue->mark = config->mark;
  queue->copy_range = config->copy_range == 0 || config->copy_range > TRELLIS_QUEUE_COPY_RANGE_MAX
                        ? TRELLIS_QUEUE_COPY_RANGE_MAX
                        : config->copy_range;
  queue->handler = config->handler;
  queue->idle = config->idle;
  queue->user_data = config->user_data;
  queue->failed = config->failed;
  queue->failed_data = config->failed_data;
  if (config->cpus != NULL && CPU_COUNT (config->cpus) > 0)
    {
      queue->pinned = TRUE;
      queue->cpus = *config->cpus;
    }
  queue->buf_size = NLMSG_ALIGN (queue->copy_range + QUEUE_MESSAGE_OVERHEAD);
  queue->bufs = g_malloc ((gsize) TRELLIS_QUEUE_BATCH * queue->buf_size);
  queue->progress = g_get_monotonic_time ();

  queue->nl = mnl_socket_open (NETLINK_NETFILTER);
  if (queue->nl == NULL || mnl_socket_bind (queue->nl, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot open a netfilter netlink socket: %s", g_strerror (saved));
      return FALSE;
    }
  queue->fd = mnl_socket_get_fd (queue->nl);
  queue->portid = mnl_socket_get_portid (queue->nl);
  /* A queue that overflows drops packets (fail closed); it must not make
   * every later receive fail with ENOBUFS. */
  setsockopt (queue->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  if (setsockopt (queue->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt (queue->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  nlh = nfq_nlmsg_put (buf, NFQNL_MSG_CONFIG, queue->num);
  nfq_nlmsg_cfg_put_cmd (nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  ret = config_send (queue, nlh);
  if (ret < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-ret),
                   "cannot bind queue %u: %s%s", queue->num, g_strerror (-ret),
                   ret == -EBUSY ? " (another process holds it)" : "");
      return FALSE;
    }

  nlh = nfq_nlmsg_put (buf, NFQNL_MSG_CONFIG, queue->num);
  nfq_nlmsg_cfg_put_params (nlh, NFQNL_COPY_PACKET, (int) queue->copy_range);
  nfq_nlmsg_cfg_put_qmaxlen (nlh, QUEUE_MAXLEN);
  mnl_attr_put_u32 (nlh, NFQA_CFG_FLAGS, htonl (flags));
  mnl_attr_put_u32 (nlh, NFQA_CFG_MASK, htonl (mask));
  ret = config_send (queue, nlh);
  if (ret < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-ret),
                   "cannot configure queue %u: %s", queue->num, g_strerror (-ret));
      return FALSE;
    }

  /* The thread blocks in its receive, and wakes now and then all the same
   * (its progress, and a stop that found no ACK). */
  setsockopt (queue->fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  name = g_strdup_printf ("trellis-q%u", queue->num);
  queue->thread = g_thread_try_new (name, queue_thread, queue, error);
  return queue->thread != NULL;
}

static TrellisQueue *
queue_alloc (void)
{
  TrellisQueue *queue = g_new0 (TrellisQueue, 1);

  g_mutex_init (&queue->failed_lock);
  return queue;
}

TrellisQueue *
trellis_queue_new_full (const TrellisQueueConfig *config,
                        GError **error)
{
  g_autoptr(TrellisQueue) queue = NULL;

  g_return_val_if_fail (config != NULL && config->handler != NULL, NULL);

  queue = queue_alloc ();
  if (!queue_start (queue, config, error))
    return NULL;
  return g_steal_pointer (&queue);
}

TrellisQueue *
trellis_queue_new (guint16 queue_num,
                   guint32 mark,
                   TrellisQueueHandler handler,
                   gpointer user_data,
                   GError **error)
{
  g_autoptr(TrellisQueue) queue = NULL;
  TrellisQueueConfig config = {
    .queue_num = queue_num,
    .mark = mark,
    .handler = judge_each,
  };

  g_return_val_if_fail (handler != NULL, NULL);

  queue = queue_alloc ();
  /* Set before the thread starts, which is the only one to read them. */
  queue->packet_handler = handler;
  queue->packet_data = user_data;
  config.user_data = queue;
  if (!queue_start (queue, &config, error))
    return NULL;
  return g_steal_pointer (&queue);
}

void
trellis_queue_set_failure_handler (TrellisQueue *queue,
                                   TrellisQueueFailureHandler handler,
                                   gpointer user_data)
{
  g_return_if_fail (queue != NULL);
  g_mutex_lock (&queue->failed_lock);
  queue->failed = handler;
  queue->failed_data = user_data;
  g_mutex_unlock (&queue->failed_lock);
}

gint64
trellis_queue_get_progress (TrellisQueue *queue)
{
  g_return_val_if_fail (queue != NULL, 0);
  return __atomic_load_n (&queue->progress, __ATOMIC_RELAXED);
}

void
trellis_queue_get_stats (TrellisQueue *queue,
                         TrellisQueueStats *ret_stats)
{
  g_return_if_fail (queue != NULL && ret_stats != NULL);
  ret_stats->packets = __atomic_load_n (&queue->stats.packets, __ATOMIC_RELAXED);
  ret_stats->reads = __atomic_load_n (&queue->stats.reads, __ATOMIC_RELAXED);
  ret_stats->verdict_messages = __atomic_load_n (&queue->stats.verdict_messages, __ATOMIC_RELAXED);
  ret_stats->unreadable = __atomic_load_n (&queue->stats.unreadable, __ATOMIC_RELAXED);
}

guint16
trellis_queue_get_num (TrellisQueue *queue)
{
  g_return_val_if_fail (queue != NULL, 0);
  return queue->num;
}

void
trellis_queue_free (TrellisQueue *queue)
{
  if (queue == NULL)
    return;
  if (queue->thread != NULL)
    {
      char buf[MNL_SOCKET_BUFFER_SIZE];
      struct nlmsghdr *nlh;

      g_atomic_int_set (&queue->stopping, 1);
      /* Wake the thread from its receive: a config message that changes
       * nothing, whose ACK arrives on its socket.  Without it, the idle
       * wake ends the wait within a second. */
      nlh = nfq_nlmsg_put (buf, NFQNL_MSG_CONFIG, queue->num);
      nlh->nlmsg_flags |= NLM_F_ACK;
      mnl_socket_sendto (queue->nl, nlh, nlh->nlmsg_len);
      g_thread_join (queue->thread);
    }
  /* Closing the socket unbinds the queue. */
  if (queue->nl != NULL)
    mnl_socket_close (queue->nl);
  g_mutex_clear (&queue->failed_lock);
  g_free (queue->bufs);
  g_free (queue);
}
