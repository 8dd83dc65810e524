/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The queue's header reader and the flow table: what trellisd learns of a
 * packet before it reads the DNS inside it.
 */
#include "tests/unit/test-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "daemon/flows.h"
#include "daemon/queue.h"

/* IPv4 + UDP 10.0.0.1:40000 → 10.53.0.2:53, payload "abcd". */
static const guint8 ipv4_udp[] = {
  0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
  10, 0, 0, 1, 10, 53, 0, 2,
  0x9c, 0x40, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,
  'a', 'b', 'c', 'd'
};

/* IPv6 + hop-by-hop (8 bytes) + UDP fd53::1:40001 → fd53::2:53, payload "xy". */
static guint8 ipv6_udp[40 + 8 + 8 + 2];

static void
build_ipv6 (void)
{
  guint8 *p = ipv6_udp;

  memset (p, 0, sizeof ipv6_udp);
  p[0] = 0x60;
  p[4] = 0;
  p[5] = 8 + 8 + 2;       /* payload length */
  p[6] = IPPROTO_HOPOPTS; /* next header */
  p[7] = 64;
  p[8] = 0xfd;
  p[9] = 0x53;
  p[23] = 1; /* src fd53::1 */
  p[24] = 0xfd;
  p[25] = 0x53;
  p[39] = 2;           /* dst fd53::2 */
  p[40] = IPPROTO_UDP; /* hop-by-hop: next = UDP, len 0 (8 bytes), PadN */
  p[41] = 0;
  p[42] = 1;
  p[43] = 4;
  p[48] = 0x9c;
  p[49] = 0x41;
  p[50] = 0x00;
  p[51] = 0x35;
  p[52] = 0;
  p[53] = 10;
  p[56] = 'x';
  p[57] = 'y';
}

static void
test_ipv4_udp (void **state)
{
  TrellisQueuePacket p;

  assert_int_equal (trellis_queue_packet_parse (ipv4_udp, sizeof ipv4_udp, &p), 0);
  assert_int_equal (p.family, AF_INET);
  assert_int_equal (p.proto, IPPROTO_UDP);
  assert_int_equal (p.src_port, 40000);
  assert_int_equal (p.dst_port, 53);
  assert_memory_equal (p.src_addr, ((guint8[]) { 10, 0, 0, 1 }), 4);
  assert_memory_equal (p.dst_addr, ((guint8[]) { 10, 53, 0, 2 }), 4);
  assert_int_equal (p.payload_len, 4);
  assert_memory_equal (p.payload, "abcd", 4);
}

static void
test_ipv4_truncated (void **state)
{
  TrellisQueuePacket p = { .src_port = 7 };

  /* Every cut short of the whole packet is refused, and nothing is written. */
  for (gsize len = 0; len < sizeof ipv4_udp; len++)
    {
      assert_int_equal (trellis_queue_packet_parse (ipv4_udp, len, &p), -EBADMSG);
      assert_int_equal (p.src_port, 7);
    }
}

static void
test_ipv4_bad_lengths (void **state)
{
  guint8 pkt[sizeof ipv4_udp];
  TrellisQueuePacket p;

  memcpy (pkt, ipv4_udp, sizeof pkt);
  pkt[0] = 0x44; /* IHL 16 bytes < 20 */
  assert_int_equal (trellis_queue_packet_parse (pkt, sizeof pkt, &p), -EBADMSG);
  memcpy (pkt, ipv4_udp, sizeof pkt);
  pkt[25] = 0x40; /* UDP length beyond the packet */
  assert_int_equal (trellis_queue_packet_parse (pkt, sizeof pkt, &p), -EBADMSG);
  memcpy (pkt, ipv4_udp, sizeof pkt);
  pkt[7] = 0x10; /* a later fragment: no UDP header to read */
  assert_int_equal (trellis_queue_packet_parse (pkt, sizeof pkt, &p), -EBADMSG);
  memcpy (pkt, ipv4_udp, sizeof pkt);
  pkt[9] = IPPROTO_ICMP;
  assert_int_equal (trellis_queue_packet_parse (pkt, sizeof pkt, &p), -EPROTONOSUPPORT);
  pkt[0] = 0x55; /* IP version 5 */
  assert_int_equal (trellis_queue_packet_parse (pkt, sizeof pkt, &p), -EBADMSG);
}

static void
test_ipv6_extension (void **state)
{
  TrellisQueuePacket p;

  build_ipv6 ();
  assert_int_equal (trellis_queue_packet_parse (ipv6_udp, sizeof ipv6_udp, &p), 0);
  assert_int_equal (p.family, AF_INET6);
  assert_int_equal (p.proto, IPPROTO_UDP);
  assert_int_equal (p.src_port, 40001);
  assert_int_equal (p.dst_port, 53);
  assert_int_equal (p.src_addr[0], 0xfd);
  assert_int_equal (p.dst_addr[15], 2);
  assert_int_equal (p.payload_len, 2);
  assert_memory_equal (p.payload, "xy", 2);

  for (gsize len = 0; len < sizeof ipv6_udp; len++)
    assert_int_equal (trellis_queue_packet_parse (ipv6_udp, len, &p), -EBADMSG);

  /* An extension header that claims more than the packet holds. */
  ipv6_udp[41] = 200;
  assert_int_equal (trellis_queue_packet_parse (ipv6_udp, sizeof ipv6_udp, &p), -EBADMSG);
}

static void
test_tcp_syn (void **state)
{
  guint8 pkt[40];
  TrellisQueuePacket p;

  memset (pkt, 0, sizeof pkt);
  pkt[0] = 0x45;
  pkt[3] = 40;
  pkt[9] = IPPROTO_TCP;
  pkt[20] = 0x9c;
  pkt[21] = 0x42;
  pkt[23] = 53;
  pkt[32] = 5 << 4; /* data offset 20 */
  pkt[33] = 0x02;   /* SYN */
  assert_int_equal (trellis_queue_packet_parse (pkt, sizeof pkt, &p), 0);
  assert_int_equal (p.proto, IPPROTO_TCP);
  assert_int_equal (p.tcp_flags, 0x02);
  assert_int_equal (p.src_port, 40002);
  assert_int_equal (p.payload_len, 0);

  pkt[32] = 15 << 4; /* data offset 60 > the packet */
  assert_int_equal (trellis_queue_packet_parse (pkt, sizeof pkt, &p), -EBADMSG);
}

/*
 * A packet message as the kernel sends it: NFQA_PACKET_HDR (id @id) unless
 * @id is 0, then NFQA_SKB_INFO (@skb_info, when not 0), NFQA_CAP_LEN
 * (@cap_len, when not 0), NFQA_UID 1001, NFQA_PAYLOAD.
 */
static struct nlmsghdr *
packet_message (char *buf, guint32 id, guint32 skb_info, guint32 cap_len,
                const guint8 *payload, gsize len)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  struct nfgenmsg *nfg;

  nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
  nfg = mnl_nlmsg_put_extra_header (nlh, sizeof *nfg);
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons (7);
  if (id != 0)
    {
      struct nfqnl_msg_packet_hdr ph = {
        .packet_id = htonl (id),
        .hw_protocol = htons (0x0800),
        .hook = 3,
      };

      mnl_attr_put (nlh, NFQA_PACKET_HDR, sizeof ph, &ph);
    }
  if (skb_info != 0)
    mnl_attr_put_u32 (nlh, NFQA_SKB_INFO, htonl (skb_info));
  if (cap_len != 0)
    mnl_attr_put_u32 (nlh, NFQA_CAP_LEN, htonl (cap_len));
  mnl_attr_put_u32 (nlh, NFQA_UID, htonl (1001));
  mnl_attr_put (nlh, NFQA_PAYLOAD, len, payload);
  return nlh;
}

static void
test_message_readable (void **state)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  TrellisQueueMessage m;

  /* An ordinary packet, checksum not yet filled in (a local one). */
  assert_int_equal (trellis_queue_message_parse (packet_message (buf, 42, NFQA_SKB_CSUMNOTREADY, 0,
                                                                 ipv4_udp, sizeof ipv4_udp),
                                                 &m),
                    0);
  assert_int_equal (m.id, 42);
  assert_true (m.readable);
  assert_true (m.packet.has_uid);
  assert_int_equal (m.packet.uid, 1001);
  assert_int_equal (m.packet.src_port, 40000);
  assert_int_equal (m.packet.payload_len, 4);

  /* A CAP_LEN no longer than what was copied changes nothing. */
  assert_int_equal (trellis_queue_message_parse (packet_message (buf, 43, 0, sizeof ipv4_udp,
                                                                 ipv4_udp, sizeof ipv4_udp),
                                                 &m),
                    0);
  assert_true (m.readable);
}

static void
test_message_unreadable (void **state)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  TrellisQueueMessage m;

  /* A GSO super-packet is several packets on the wire: never judged whole. */
  assert_int_equal (trellis_queue_message_parse (packet_message (buf, 44, NFQA_SKB_GSO, 0,
                                                                 ipv4_udp, sizeof ipv4_udp),
                                                 &m),
                    0);
  assert_int_equal (m.id, 44);
  assert_false (m.readable);
  assert_int_equal (trellis_queue_message_parse (packet_message (buf, 45,
                                                                 NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY,
                                                                 0, ipv4_udp, sizeof ipv4_udp),
                                                 &m),
                    0);
  assert_false (m.readable);

  /* Only part of the packet copied. */
  assert_int_equal (trellis_queue_message_parse (packet_message (buf, 46, 0, sizeof ipv4_udp + 1,
                                                                 ipv4_udp, sizeof ipv4_udp),
                                                 &m),
                    0);
  assert_int_equal (m.id, 46);
  assert_false (m.readable);

  /* Headers that do not parse. */
  assert_int_equal (trellis_queue_message_parse (packet_message (buf, 47, 0, 0, ipv4_udp, 10), &m), 0);
  assert_int_equal (m.id, 47);
  assert_false (m.readable);

  /* No packet header: nothing to give a verdict to, and @m is untouched. */
  m.id = 99;
  assert_int_equal (trellis_queue_message_parse (packet_message (buf, 0, 0, 0, ipv4_udp,
                                                                 sizeof ipv4_udp),
                                                 &m),
                    -EBADMSG);
  assert_int_equal (m.id, 99);
}

static void
test_flow_table (void **state)
{
  g_autoptr(TrellisFlowTable) table = trellis_flow_table_new ();
  TrellisFlowKey key = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .port = 40000,
    .addr = { 127, 0, 0, 1 },
  };
  TrellisFlowKey other = key;
  TrellisFlow flow = { .uid = 1001, .dst_port = 53, .dst_addr = { 10, 53, 0, 2 } };
  TrellisFlow found = { 0 };
  struct sockaddr_storage ss;
  struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = g_htons (40000) };
  gint64 now = 1000 * G_USEC_PER_SEC;

  trellis_flow_table_record (table, &key, &flow, now);
  assert_true (trellis_flow_table_lookup (table, &key, now + 1, &found));
  assert_int_equal (found.uid, 1001);
  assert_int_equal (found.dst_port, 53);

  /* Another port, or TCP instead of UDP, is another flow. */
  other.port = 40001;
  assert_false (trellis_flow_table_lookup (table, &other, now, &found));
  other = key;
  other.proto = IPPROTO_TCP;
  assert_false (trellis_flow_table_lookup (table, &other, now, &found));

  /* The answerer's view of the same peer finds it. */
  in.sin_addr.s_addr = g_htonl (INADDR_LOOPBACK);
  assert_true (trellis_flow_key_from_sockaddr ((struct sockaddr *) &in, IPPROTO_UDP, &other));
  assert_true (trellis_flow_table_lookup (table, &other, now, &found));
  assert_int_equal (trellis_flow_dst_to_sockaddr (&found, AF_INET, &ss), sizeof (struct sockaddr_in));
  assert_int_equal (g_ntohs (((struct sockaddr_in *) &ss)->sin_port), 53);

  /* Stale entries are neither found nor kept. */
  assert_false (trellis_flow_table_lookup (table, &key, now + TRELLIS_FLOW_TTL_USEC, &found));
  assert_int_equal (trellis_flow_table_expire (table, now + TRELLIS_FLOW_TTL_USEC), 1);
  assert_false (trellis_flow_table_lookup (table, &key, now, &found));
}

static void
test_flow_table_cap (void **state)
{
  g_autoptr(TrellisFlowTable) table = trellis_flow_table_new ();
  TrellisFlowKey key = { .family = AF_INET6, .proto = IPPROTO_UDP };
  TrellisFlow flow = { .uid = 1 };
  TrellisFlow found;
  guint n = 0;

  /* A flood of distinct sources never holds more than the cap, and never
   * loses the newest. */
  for (guint i = 0; i < TRELLIS_FLOW_TABLE_MAX + 10; i++)
    {
      key.port = (guint16) i;
      key.addr[0] = (guint8) (i >> 16);
      trellis_flow_table_record (table, &key, &flow, 0);
    }
  for (guint i = 0; i < TRELLIS_FLOW_TABLE_MAX + 10; i++)
    {
      key.port = (guint16) i;
      key.addr[0] = (guint8) (i >> 16);
      n += trellis_flow_table_lookup (table, &key, 0, &found);
    }
  /* Exactly the newest are kept: the ten first recorded went, in order. */
  assert_int_equal (n, TRELLIS_FLOW_TABLE_MAX);
  for (guint i = 0; i < TRELLIS_FLOW_TABLE_MAX + 10; i++)
    {
      key.port = (guint16) i;
      key.addr[0] = (guint8) (i >> 16);
      assert_int_equal (trellis_flow_table_lookup (table, &key, 0, &found), i >= 10);
    }

  /* Recording a flow again makes it the newest: it outlives older ones. */
  key.port = 10;
  key.addr[0] = 0;
  trellis_flow_table_record (table, &key, &flow, 0);
  for (guint i = 0; i < TRELLIS_FLOW_TABLE_MAX - 1; i++)
    {
      TrellisFlowKey other = {
        .family = AF_INET,
        .proto = IPPROTO_TCP,
        .port = (guint16) i,
        .addr = { (guint8) (i >> 16) },
      };

      trellis_flow_table_record (table, &other, &flow, 0);
    }
  assert_true (trellis_flow_table_lookup (table, &key, 0, &found));
  key.port = 11;
  assert_false (trellis_flow_table_lookup (table, &key, 0, &found));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ipv4_udp),
    cmocka_unit_test (test_ipv4_truncated),
    cmocka_unit_test (test_ipv4_bad_lengths),
    cmocka_unit_test (test_ipv6_extension),
    cmocka_unit_test (test_tcp_syn),
    cmocka_unit_test (test_message_readable),
    cmocka_unit_test (test_message_unreadable),
    cmocka_unit_test (test_flow_table),
    cmocka_unit_test (test_flow_table_cap),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
