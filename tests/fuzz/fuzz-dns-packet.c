/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz-dns-packet.c — libFuzzer target: whatever parses must give a reply
 * that stays in bounds, copies the question and reads back as the same
 * question.  abort() on any inconsistency.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dns-packet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char text[] = "deny \xc3\xa9xample-game.com (household.conf:12) \xe2\x82\xac\xe2\x82\xac";
  TrellisDnsQuery q, back;
  uint8_t reply[1500];
  size_t cap, limit;
  ssize_t n;

  if (trellis_dns_query_parse (data, size, &q) < 0)
    return 0;

  /* The last input byte picks a buffer size, small ones included. */
  cap = 40 + data[size - 1] * 4u;
  n = trellis_dns_reply_build (data, size, &q, TRELLIS_DNS_RCODE_NXDOMAIN,
                               TRELLIS_DNS_EDE_FILTERED, text, reply, cap);
  limit = q.has_edns ? q.edns_udp_size : 512;
  if (n == -ENOBUFS)
    {
      if (q.question_end + (q.has_edns ? 11 : 0) <= cap)
        abort ();
      return 0;
    }
  if (n < 0 || (size_t) n > cap || (size_t) n > limit || (size_t) n < q.question_end)
    abort ();
  if (memcmp (reply, data, 2) != 0 || !(reply[2] & 0x80)
      || memcmp (reply + 12, data + 12, q.question_end - 12) != 0)
    abort ();

  reply[2] &= 0x7f; /* read the reply back as a query */
  if (trellis_dns_query_parse (reply, (size_t) n, &back) != 0
      || strcmp (back.qname, q.qname) != 0 || back.qtype != q.qtype
      || back.question_end != q.question_end || back.has_edns != q.has_edns
      || back.edns_do != q.edns_do)
    abort ();
  return 0;
}
