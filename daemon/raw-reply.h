/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * raw-reply.h — answers written in the name of the server a child asked: a
 * DNS reply in a UDP datagram whose source is that server, with the IPv4 or
 * IPv6 header around it, sent from a raw socket.  Where a query is answered
 * without ever reaching a socket of ours: a blocked query the queue judged
 * (and then drops), and a marked one NAT did not redirect (answerer.c).
 *
 * Kernel-facing conventions: functions return >= 0 or -errno and never log.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* The IPv6 header and the UDP header: the most a reply grows by. */
#define TRELLIS_RAW_HEADER_MAX 48

/**
 * trellis_raw_udp_build:
 * @family: AF_INET or AF_INET6
 * @src_addr: the source address (4 or 16 bytes, network order): the server
 * @src_port: the source port, host order: 53
 * @dst_addr, @dst_port: the child's address and port
 * @payload, @len: the DNS reply
 * @buf, @cap: where to write
 *
 * Writes the IP header (TTL 64; IPv4: don't fragment, the checksum and id
 * left for the kernel to fill in), the UDP header with its checksum, and
 * @payload.  Returns: the datagram's length, -EMSGSIZE when it would not
 * fit @cap or 65,535 bytes, -EAFNOSUPPORT for another @family.
 */
gssize trellis_raw_udp_build (int family,
                              const guint8 *src_addr,
                              guint16 src_port,
                              const guint8 *dst_addr,
                              guint16 dst_port,
                              const guint8 *payload,
                              gsize len,
                              guint8 *buf,
                              gsize cap);

/**
 * trellis_raw_socket_open:
 * A raw socket that sends whole datagrams of @family, header included
 * (IPPROTO_RAW; IPV6_HDRINCL for IPv6), close-on-exec.  It receives
 * nothing.  Returns: the descriptor, or -errno (-EPERM without
 * CAP_NET_RAW).
 */
int trellis_raw_socket_open (int family);

/**
 * trellis_raw_send:
 * Sends @n datagrams of trellis_raw_udp_build() (all of the socket's
 * family) from @fd, in as few calls as the kernel takes (sendmmsg), each to
 * the destination in its own header.  Returns: how many were sent (the
 * first ones), or -errno when not even the first was.
 */
int trellis_raw_send (int fd,
                      const guint8 *const *datagrams,
                      const gsize *lens,
                      guint n);

G_END_DECLS
