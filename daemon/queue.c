/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/queue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/in.h>
#include <string.h>

/* Room for a 64 KiB payload plus the netlink and queue attributes. */
#define QUEUE_BUFFER_SIZE (0xffff + (MNL_SOCKET_BUFFER_SIZE / 2))
/* At most this many packets per wake-up, so other sources get their turn. */
#define QUEUE_BURST 128

struct _TrellisQueue {
  struct mnl_socket *nl; /* (owned) */
  guint32 portid;
  guint16 num;
  guint32 mark;
  TrellisQueueHandler handler;
  gpointer user_data;
  TrellisQueueFailureHandler failed; /* (nullable) told what went wrong */
  gpointer failed_data;
  GSource *source; /* (owned) */
  char *buf;       /* (owned) QUEUE_BUFFER_SIZE */
};

/* Sends a config message and waits for its ACK. */
static int
config_send (TrellisQueue *queue, struct nlmsghdr *nlh)
{
  char ack[MNL_SOCKET_BUFFER_SIZE];
  guint32 seq = nlh->nlmsg_seq;
  ssize_t n;
  int ret;

  nlh->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto (queue->nl, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  for (;;)
    {
      n = mnl_socket_recvfrom (queue->nl, ack, sizeof ack);
      if (n < 0)
        return -errno;
      ret = mnl_cb_run (ack, n, seq, queue->portid, NULL, NULL);
      if (ret < 0)
        return -errno;
      if (ret == MNL_CB_STOP)
        return 0;
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
        while (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING
               || next == IPPROTO_DSTOPTS || next == IPPROTO_FRAGMENT)
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

/* Tells the owner; library code never logs. */
static void
report_failure (TrellisQueue *queue, TrellisQueueFailure failure, guint32 id, int error)
{
  if (queue->failed != NULL)
    queue->failed (failure, queue->num, id, error, queue->failed_data);
}

static void
verdict_send (TrellisQueue *queue, guint32 id, TrellisQueueVerdict verdict)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh;

  nlh = nfq_nlmsg_put (buf, NFQNL_MSG_VERDICT, queue->num);
  nfq_nlmsg_verdict_put (nlh, (int) id, verdict == TRELLIS_QUEUE_DROP ? NF_DROP : NF_ACCEPT);
  if (verdict == TRELLIS_QUEUE_ACCEPT_MARK)
    nfq_nlmsg_verdict_put_mark (nlh, queue->mark);
  /* A lost verdict leaves the packet queued until the queue is torn down;
   * the socket does not drop sends short of memory exhaustion. */
  if (mnl_socket_sendto (queue->nl, nlh, nlh->nlmsg_len) < 0)
    report_failure (queue, TRELLIS_QUEUE_FAILURE_VERDICT, id, -errno);
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

static int
packet_cb (const struct nlmsghdr *nlh, void *data)
{
  TrellisQueue *queue = data;
  TrellisQueueMessage m;
  TrellisQueueVerdict verdict = TRELLIS_QUEUE_DROP;

  if (trellis_queue_message_parse (nlh, &m) < 0)
    return MNL_CB_OK; /* no packet id: nothing we could give a verdict to */
  if (m.readable)
    verdict = queue->handler (&m.packet, queue->user_data);
  verdict_send (queue, m.id, verdict);
  return MNL_CB_OK;
}

static gboolean
queue_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  TrellisQueue *queue = user_data;

  for (int i = 0; i < QUEUE_BURST; i++)
    {
      ssize_t n = mnl_socket_recvfrom (queue->nl, queue->buf, QUEUE_BUFFER_SIZE);

      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            report_failure (queue, TRELLIS_QUEUE_FAILURE_RECEIVE, 0, -errno);
          break;
        }
      if (mnl_cb_run (queue->buf, n, 0, queue->portid, packet_cb, queue) < 0
          && errno != 0)
        report_failure (queue, TRELLIS_QUEUE_FAILURE_MESSAGE, 0, -errno);
    }
  return G_SOURCE_CONTINUE;
}

TrellisQueue *
trellis_queue_new (guint16 queue_num,
                   guint32 mark,
                   TrellisQueueHandler handler,
                   gpointer user_data,
                   GError **error)
{
  g_autoptr(TrellisQueue) queue = g_new0 (TrellisQueue, 1);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh;
  /* Not NFQA_CFG_F_GSO: the kernel segments a GSO packet before it is
   * queued, so each packet that will leave is queued, and judged, on its
   * own (docs/decisions.md, "GSO"). */
  guint32 flags = NFQA_CFG_F_UID_GID;
  guint32 mask = NFQA_CFG_F_UID_GID | NFQA_CFG_F_GSO; /* GSO cleared */
  int one = 1;
  int ret;

  queue->num = queue_num;
  queue->mark = mark;
  queue->handler = handler;
  queue->user_data = user_data;
  queue->buf = g_malloc (QUEUE_BUFFER_SIZE);

  queue->nl = mnl_socket_open (NETLINK_NETFILTER);
  if (queue->nl == NULL || mnl_socket_bind (queue->nl, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot open a netfilter netlink socket: %s", g_strerror (saved));
      return NULL;
    }
  queue->portid = mnl_socket_get_portid (queue->nl);

  nlh = nfq_nlmsg_put (buf, NFQNL_MSG_CONFIG, queue_num);
  nfq_nlmsg_cfg_put_cmd (nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  ret = config_send (queue, nlh);
  if (ret < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-ret),
                   "cannot bind queue %u: %s%s", queue_num, g_strerror (-ret),
                   ret == -EBUSY ? " (another process holds it)" : "");
      return NULL;
    }

  nlh = nfq_nlmsg_put (buf, NFQNL_MSG_CONFIG, queue_num);
  nfq_nlmsg_cfg_put_params (nlh, NFQNL_COPY_PACKET, 0xffff);
  mnl_attr_put_u32 (nlh, NFQA_CFG_FLAGS, htonl (flags));
  mnl_attr_put_u32 (nlh, NFQA_CFG_MASK, htonl (mask));
  ret = config_send (queue, nlh);
  if (ret < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-ret),
                   "cannot configure queue %u: %s", queue_num, g_strerror (-ret));
      return NULL;
    }

  /* A queue that overflows drops packets (fail closed); it must not make
   * every later receive fail with ENOBUFS. */
  setsockopt (mnl_socket_get_fd (queue->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  g_unix_set_fd_nonblocking (mnl_socket_get_fd (queue->nl), TRUE, NULL);

  queue->source = g_unix_fd_source_new (mnl_socket_get_fd (queue->nl), G_IO_IN);
  g_source_set_callback (queue->source, G_SOURCE_FUNC (queue_readable), queue, NULL);
  g_source_set_name (queue->source, "trellis-queue");
  g_source_attach (queue->source, g_main_context_get_thread_default ());

  return g_steal_pointer (&queue);
}

void
trellis_queue_set_failure_handler (TrellisQueue *queue,
                                   TrellisQueueFailureHandler handler,
                                   gpointer user_data)
{
  g_return_if_fail (queue != NULL);
  queue->failed = handler;
  queue->failed_data = user_data;
}

void
trellis_queue_free (TrellisQueue *queue)
{
  if (queue == NULL)
    return;
  if (queue->source != NULL)
    {
      g_source_destroy (queue->source);
      g_source_unref (queue->source);
    }
  /* Closing the socket unbinds the queue. */
  if (queue->nl != NULL)
    mnl_socket_close (queue->nl);
  g_free (queue->buf);
  g_free (queue);
}
