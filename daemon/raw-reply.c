/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/raw-reply.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy/nft-plan.h"

/* The one's-complement sum of RFC 1071 over @len bytes, added to @sum. */
static guint32
csum_add (guint32 sum, const guint8 *p, gsize len)
{
  for (gsize i = 0; i + 1 < len; i += 2)
    sum += (guint32) (p[i] << 8 | p[i + 1]);
  if (len & 1)
    sum += (guint32) p[len - 1] << 8;
  return sum;
}

static guint16
csum_fold (guint32 sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (guint16) ~sum;
}

gssize
trellis_raw_udp_build (int family,
                       const guint8 *src_addr,
                       guint16 src_port,
                       const guint8 *dst_addr,
                       guint16 dst_port,
                       const guint8 *payload,
                       gsize len,
                       guint8 *buf,
                       gsize cap)
{
  gsize hlen, total;
  guint32 sum = 0;
  guint8 *udp;
  guint16 c;

  if (family != AF_INET && family != AF_INET6)
    return -EAFNOSUPPORT;
  hlen = family == AF_INET ? 20 : 40;
  total = hlen + 8 + len;
  if (total > cap || total > 0xffff)
    return -EMSGSIZE;
  memset (buf, 0, hlen + 8);
  udp = buf + hlen;
  if (family == AF_INET)
    {
      buf[0] = 0x45;
      buf[2] = (guint8) (total >> 8);
      buf[3] = (guint8) total;
      buf[6] = 0x40; /* don't fragment */
      buf[8] = 64;
      buf[9] = IPPROTO_UDP;
      memcpy (buf + 12, src_addr, 4);
      memcpy (buf + 16, dst_addr, 4);
      sum = csum_add (sum, buf + 12, 8);
      /* the IP header checksum is the kernel's to fill in */
    }
  else
    {
      buf[0] = 0x60;
      buf[4] = (guint8) ((8 + len) >> 8);
      buf[5] = (guint8) (8 + len);
      buf[6] = IPPROTO_UDP;
      buf[7] = 64;
      memcpy (buf + 8, src_addr, 16);
      memcpy (buf + 24, dst_addr, 16);
      sum = csum_add (sum, buf + 8, 32);
    }
  udp[0] = (guint8) (src_port >> 8);
  udp[1] = (guint8) src_port;
  udp[2] = (guint8) (dst_port >> 8);
  udp[3] = (guint8) dst_port;
  udp[4] = (guint8) ((8 + len) >> 8);
  udp[5] = (guint8) (8 + len);
  memmove (udp + 8, payload, len);
  sum += IPPROTO_UDP + (guint32) (8 + len);
  sum = csum_add (sum, udp, 8 + len);
  c = csum_fold (sum);
  if (c == 0)
    c = 0xffff;
  udp[6] = (guint8) (c >> 8);
  udp[7] = (guint8) c;
  return (gssize) total;
}

int
trellis_raw_socket_open (int family)
{
  const guint32 mark = TRELLIS_NFT_REPLY_MARK;
  int one = 1;
  int fd;

  if (family != AF_INET && family != AF_INET6)
    return -EAFNOSUPPORT;
  fd = socket (family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0)
    return -errno;
  if (family == AF_INET6 && setsockopt (fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) < 0)
    {
      int err = -errno;

      close (fd);
      return err;
    }
  /* Untracked (the table's dns-zone chain: nft-plan.h says why).  Without
   * CAP_NET_ADMIN the answers still go, tracked. */
  (void) setsockopt (fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
  return fd;
}

#define SEND_MAX 64

int
trellis_raw_send (int fd,
                  const guint8 *const *datagrams,
                  const gsize *lens,
                  guint n)
{
  struct mmsghdr msgs[SEND_MAX];
  struct iovec iov[SEND_MAX];
  struct sockaddr_storage to[SEND_MAX];
  guint done = 0;

  while (done < n)
    {
      guint k = MIN (n - done, SEND_MAX);
      int r;

      memset (msgs, 0, k * sizeof msgs[0]);
      memset (to, 0, k * sizeof to[0]);
      for (guint i = 0; i < k; i++)
        {
          const guint8 *d = datagrams[done + i];

          /* A raw socket takes the destination without a port. */
          if ((d[0] >> 4) == 4)
            {
              struct sockaddr_in *in = (struct sockaddr_in *) &to[i];

              in->sin_family = AF_INET;
              memcpy (&in->sin_addr, d + 16, 4);
              msgs[i].msg_hdr.msg_namelen = sizeof *in;
            }
          else
            {
              struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &to[i];

              in6->sin6_family = AF_INET6;
              memcpy (&in6->sin6_addr, d + 24, 16);
              msgs[i].msg_hdr.msg_namelen = sizeof *in6;
            }
          iov[i].iov_base = (void *) d;
          iov[i].iov_len = lens[done + i];
          msgs[i].msg_hdr.msg_name = &to[i];
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
      r = sendmmsg (fd, msgs, k, 0);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return done > 0 ? (int) done : -errno;
        }
      if (r == 0)
        break;
      done += (guint) r;
    }
  return (int) done;
}
