/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dns-answer.c — the addresses of a DNS response (dns-answer.h).  Every read is bounds-checked.
 */
#include "daemon/dns-answer.h"

#include <errno.h>
#include <string.h>

#define TYPE_A    1
#define TYPE_AAAA 28
#define CLASS_IN  1

static uint16_t
get16 (const uint8_t *p)
{
  return (uint16_t) ((p[0] << 8) | p[1]);
}

static uint32_t
get32 (const uint8_t *p)
{
  return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

/* Reads the name at *@pos (compressed or not); @out (nullable) gets it in
 * presentation form, lower case.  *@pos moves past the name as it is
 * written at that place. */
static int
name_read (const uint8_t *msg, size_t len, size_t *pos, char *out, size_t out_cap)
{
  size_t p = *pos, o = 0, end = 0;
  unsigned hops = 0, total = 0;
  bool jumped = false;

  for (;;)
    {
      uint8_t l;

      if (p >= len)
        return -EBADMSG;
      l = msg[p];
      if ((l & 0xc0) == 0xc0)
        {
          size_t target;

          if (p + 1 >= len || ++hops > 64)
            return -EBADMSG;
          target = ((size_t) (l & 0x3f) << 8) | msg[p + 1];
          if (target >= p)
            return -EBADMSG; /* backward only */
          if (!jumped)
            end = p + 2;
          jumped = true;
          p = target;
          continue;
        }
      if (l & 0xc0)
        return -EBADMSG;
      if (l == 0)
        {
          if (!jumped)
            end = p + 1;
          break;
        }
      if (p + 1 + l > len)
        return -EBADMSG;
      total += l + 1;
      if (total > 255)
        return -EBADMSG;
      if (out != NULL)
        {
          if (o + l + 2 > out_cap)
            return -EBADMSG;
          if (o > 0)
            out[o++] = '.';
          for (uint8_t i = 0; i < l; i++)
            {
              char c = (char) msg[p + 1 + i];

              out[o++] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
            }
        }
      p += 1 + l;
    }
  if (out != NULL)
    out[o] = '\0';
  *pos = end;
  return 0;
}

int
trellis_dns_response_parse (const uint8_t *packet,
                            size_t len,
                            TrellisDnsResponse *ret_response)
{
  TrellisDnsResponse r;
  uint16_t flags, qd, an;
  size_t pos = 12;

  if (packet == NULL || ret_response == NULL || len < 12)
    return -EBADMSG;
  memset (&r, 0, sizeof r);
  flags = get16 (packet + 2);
  qd = get16 (packet + 4);
  an = get16 (packet + 6);
  if (!(flags & 0x8000) || qd != 1)
    return -EBADMSG;
  r.rcode = flags & 0x0f;
  if (name_read (packet, len, &pos, r.qname, sizeof r.qname) < 0 || pos + 4 > len)
    return -EBADMSG;
  r.qtype = get16 (packet + pos);
  pos += 4;
  for (uint16_t i = 0; i < an; i++)
    {
      uint16_t type, klass, rdlen;
      uint32_t ttl;

      if (name_read (packet, len, &pos, NULL, 0) < 0 || pos + 10 > len)
        return -EBADMSG;
      type = get16 (packet + pos);
      klass = get16 (packet + pos + 2);
      ttl = get32 (packet + pos + 4);
      rdlen = get16 (packet + pos + 8);
      pos += 10;
      if (pos + rdlen > len)
        return -EBADMSG;
      if (klass == CLASS_IN && r.n_addrs < TRELLIS_DNS_ANSWER_ADDRS_MAX
          && ((type == TYPE_A && rdlen == 4) || (type == TYPE_AAAA && rdlen == 16)))
        {
          TrellisDnsAddress *a = &r.addrs[r.n_addrs++];

          a->family = type == TYPE_A ? 4 : 6;
          memcpy (a->addr, packet + pos, rdlen);
          a->ttl = ttl > 0x7fffffffu ? 0 : ttl; /* RFC 2181 §8 */
        }
      pos += rdlen;
    }
  *ret_response = r;
  return 0;
}
