/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dns-packet.c — the DNS wire format as trellisd needs it: a strict reader
 * for queries and a writer for the short answers the answerer gives.
 *
 * Every read goes through a cursor that is checked against the end of the
 * packet before the bytes are touched (the CHECK_LEN habit of dnsmasq).
 * The parser fills a local TrellisDnsQuery and copies it to the caller only
 * when the whole message has been read, so nothing leaks out on error.
 */
#include "daemon/dns-packet.h"

#include <errno.h>
#include <string.h>

/* Header flag bits (host order of the second header word). */
#define DNS_FLAG_QR      0x8000u
#define DNS_OPCODE_MASK  0x7800u
#define DNS_OPCODE_SHIFT 11
#define DNS_FLAG_AA      0x0400u
#define DNS_FLAG_TC      0x0200u
#define DNS_FLAG_RD      0x0100u
#define DNS_FLAG_RA      0x0080u
#define DNS_FLAG_AD      0x0020u
#define DNS_FLAG_CD      0x0010u
#define DNS_RCODE_MASK   0x000fu

#define DNS_OPCODE_QUERY 0

/* The DO bit, in the low 16 bits of an OPT record's TTL field. */
#define DNS_EDNS_FLAG_DO 0x8000u

/* The smallest payload every requestor accepts (RFC 1035 §4.2.1). */
#define DNS_UDP_SIZE_MIN 512
/* The largest message (a TCP length prefix holds 16 bits). */
#define DNS_MESSAGE_SIZE_MAX 65535
/* The payload size we advertise (the DNS flag day 2020 value). */
#define DNS_EDNS_UDP_SIZE_OURS 1232

/* A name never needs more than 127 pointers; a real one needs one or two. */
#define DNS_COMPRESSION_HOPS_MAX 16

/* Fixed part of a resource record after its owner name. */
#define DNS_RR_FIXED_SIZE 10
/* An OPT record with root owner and empty RDATA. */
#define DNS_OPT_RR_SIZE (1 + DNS_RR_FIXED_SIZE)
/* EDE option header (code, length) and its INFO-CODE. */
#define DNS_EDE_OPTION_FIXED_SIZE 6

typedef struct {
  const uint8_t *data;
  size_t len;
  size_t pos;
} Cursor;

static bool
cursor_has (const Cursor *c,
            size_t n)
{
  return c->pos <= c->len && n <= c->len - c->pos;
}

static int
cursor_read_u16 (Cursor *c,
                 uint16_t *ret)
{
  if (!cursor_has (c, 2))
    return -EBADMSG;
  *ret = (uint16_t) ((c->data[c->pos] << 8) | c->data[c->pos + 1]);
  c->pos += 2;
  return 0;
}

static int
cursor_read_u32 (Cursor *c,
                 uint32_t *ret)
{
  if (!cursor_has (c, 4))
    return -EBADMSG;
  *ret = ((uint32_t) c->data[c->pos] << 24) | ((uint32_t) c->data[c->pos + 1] << 16)
         | ((uint32_t) c->data[c->pos + 2] << 8)
         | (uint32_t) c->data[c->pos + 3];
  c->pos += 4;
  return 0;
}

static int
cursor_skip (Cursor *c,
             size_t n)
{
  if (!cursor_has (c, n))
    return -EBADMSG;
  c->pos += n;
  return 0;
}

static bool
octet_is_plain (uint8_t o)
{
  return (o >= 'a' && o <= 'z') || (o >= '0' && o <= '9') || o == '-' || o == '_';
}

/*
 * Appends one octet of a label in presentation form: lower-cased, and as
 * "\DDD" unless it is one of [a-z0-9-_].  @text has room for
 * TRELLIS_DNS_NAME_TEXT_MAX bytes; the caller's 255-octet bound on the
 * wire name keeps us well inside it (at most 1012 characters + NUL).
 */
static void
text_append_octet (char *text,
                   size_t *text_len,
                   uint8_t o)
{
  if (o >= 'A' && o <= 'Z')
    o = (uint8_t) (o - 'A' + 'a');

  if (octet_is_plain (o))
    {
      text[(*text_len)++] = (char) o;
    }
  else
    {
      text[(*text_len)++] = '\\';
      text[(*text_len)++] = (char) ('0' + o / 100);
      text[(*text_len)++] = (char) ('0' + (o / 10) % 10);
      text[(*text_len)++] = (char) ('0' + o % 10);
    }
}

/*
 * Reads a (possibly compressed) domain name at @c's position and leaves
 * @c just past it (past the first pointer if there is one).
 *
 * Rules, after RFC 1035 §4.1.4 and the mistakes listed in RFC 9267:
 *  - label types 0x40 and 0x80 (extended, reserved) are refused;
 *  - a pointer must point strictly before the start of the piece of name
 *    being read (the name's own start, then each earlier target), so every
 *    hop goes backward and no loop is possible; we cap the hops anyway;
 *  - a pointer never points into the header (offsets < 12 are no name);
 *  - labels are at most 63 octets, the wire name at most 255 octets.
 *
 * @text: (nullable) where to write the presentation form.
 * @wire: (nullable) where to write the name uncompressed, as on the wire
 *   (TRELLIS_DNS_WIRE_NAME_MAX bytes); its length goes to @ret_wire_len.
 */
static int
name_read_full (Cursor *c,
                char *text,
                uint8_t *wire,
                size_t *ret_wire_len)
{
  size_t pos = c->pos;
  size_t barrier = c->pos;   /* targets must lie strictly before this */
  size_t end_after_jump = 0; /* where @c continues once we jumped */
  bool jumped = false;
  unsigned hops = 0;
  size_t wire_len = 0;
  size_t text_len = 0;
  bool first_label = true;

  for (;;)
    {
      uint8_t b;

      if (pos >= c->len)
        return -EBADMSG;
      b = c->data[pos];

      if ((b & 0xC0) == 0xC0)
        {
          size_t target;

          if (pos + 1 >= c->len)
            return -EBADMSG;
          target = ((size_t) (b & 0x3F) << 8) | c->data[pos + 1];
          if (target < TRELLIS_DNS_HEADER_SIZE || target >= barrier)
            return -EBADMSG;
          if (++hops > DNS_COMPRESSION_HOPS_MAX)
            return -EBADMSG;
          if (!jumped)
            {
              end_after_jump = pos + 2;
              jumped = true;
            }
          barrier = target;
          pos = target;
          continue;
        }

      if ((b & 0xC0) != 0)
        return -EBADMSG; /* 0x40 extended label, 0x80 reserved */

      /* A plain label of b octets (b <= 63 by the mask), or the root. */
      wire_len += (size_t) b + 1;
      if (wire_len > TRELLIS_DNS_WIRE_NAME_MAX)
        return -EBADMSG;

      if (b == 0)
        {
          if (wire != NULL)
            wire[wire_len - 1] = 0;
          pos += 1;
          break;
        }

      if (b > c->len - pos - 1)
        return -EBADMSG;

      if (wire != NULL)
        memcpy (wire + wire_len - b - 1, c->data + pos, (size_t) b + 1);

      if (text != NULL)
        {
          if (!first_label)
            text[text_len++] = '.';
          for (size_t i = 0; i < b; i++)
            text_append_octet (text, &text_len, c->data[pos + 1 + i]);
        }
      first_label = false;
      pos += (size_t) b + 1;
    }

  if (text != NULL)
    text[text_len] = '\0';
  if (ret_wire_len != NULL)
    *ret_wire_len = wire_len;

  c->pos = jumped ? end_after_jump : pos;
  return 0;
}

static int
name_read (Cursor *c,
           char *text)
{
  return name_read_full (c, text, NULL, NULL);
}

/*
 * Walks the options in an OPT record's RDATA: each is a code, a length
 * and that many bytes, and together they fill the RDATA exactly.
 */
static int
edns_options_check (const uint8_t *rdata,
                    size_t rdlength)
{
  Cursor c = { rdata, rdlength, 0 };

  while (c.pos < c.len)
    {
      uint16_t code, optlen;
      int r;

      if ((r = cursor_read_u16 (&c, &code)) < 0
          || (r = cursor_read_u16 (&c, &optlen)) < 0
          || (r = cursor_skip (&c, optlen)) < 0)
        return r;
    }
  return 0;
}

/*
 * Reads the one record a query may carry in its additional section: an
 * OPT (RFC 6891 §6.1.1), owned by the root, whose options fill its RDATA
 * exactly.  Any other record (TSIG, SIG(0), or whatever a program puts
 * there) makes the query malformed: its RDATA is bytes the filter would
 * pass on without reading, and those bytes can be a second message that
 * the kernel sends on its own (a GSO buffer cut into datagrams).  The
 * owner is the root label itself, never a pointer to one.
 */
static int
additional_rr_read (Cursor *c,
                    TrellisDnsQuery *q)
{
  uint16_t type, klass, rdlength;
  uint32_t ttl;
  int r;

  if (!cursor_has (c, 1) || c->data[c->pos] != 0)
    return -EBADMSG;
  c->pos += 1;
  if ((r = cursor_read_u16 (c, &type)) < 0
      || (r = cursor_read_u16 (c, &klass)) < 0
      || (r = cursor_read_u32 (c, &ttl)) < 0
      || (r = cursor_read_u16 (c, &rdlength)) < 0)
    return r;
  if (type != TRELLIS_DNS_TYPE_OPT || q->has_edns)
    return -EBADMSG;
  if (!cursor_has (c, rdlength))
    return -EBADMSG;
  if ((r = edns_options_check (c->data + c->pos, rdlength)) < 0)
    return r;

  q->has_edns = true;
  q->edns_udp_size = klass < DNS_UDP_SIZE_MIN ? DNS_UDP_SIZE_MIN : klass;
  q->edns_do = (ttl & DNS_EDNS_FLAG_DO) != 0;
  c->pos += rdlength;
  return 0;
}

/**
 * trellis_dns_query_parse:
 *
 * See dns-packet.h.  Decisions beyond the header's summary:
 *  - QR=1 is -EBADMSG: a response is not a query, however well-formed.
 *  - The opcode is checked last: a message that passes every structural
 *    rule of a query (QDCOUNT=1, ANCOUNT=NSCOUNT=0, a valid question and
 *    additional section, no trailing bytes) but has an opcode other than
 *    QUERY gives -EOPNOTSUPP; anything else malformed gives -EBADMSG.
 *  - The question's name may not use compression: before it there is only
 *    the header, and a pointer into the header is refused.  So the bytes
 *    [12, question_end) stand alone and can be copied into a reply.
 *  - The additional section holds one OPT at most and nothing else: a
 *    record of any other type, an ARCOUNT above 1, an OPT owned by
 *    anything but the root (even a pointer to a root label) and OPT
 *    options that do not fill the RDATA exactly are -EBADMSG.  The EDNS
 *    version is not checked.
 *  - So every byte of an accepted query belongs to the header, the
 *    question, or the OPT and its options, and a byte after the end of
 *    the message is -EBADMSG.
 */
int
trellis_dns_query_parse (const uint8_t *packet,
                         size_t len,
                         TrellisDnsQuery *ret_query)
{
  TrellisDnsQuery q;
  Cursor c = { packet, len, 0 };
  uint16_t qdcount, ancount, nscount, arcount;
  int r;

  if (packet == NULL || ret_query == NULL)
    return -EINVAL;

  memset (&q, 0, sizeof q);
  q.edns_udp_size = DNS_UDP_SIZE_MIN;

  if ((r = cursor_read_u16 (&c, &q.id)) < 0
      || (r = cursor_read_u16 (&c, &q.flags)) < 0
      || (r = cursor_read_u16 (&c, &qdcount)) < 0
      || (r = cursor_read_u16 (&c, &ancount)) < 0
      || (r = cursor_read_u16 (&c, &nscount)) < 0
      || (r = cursor_read_u16 (&c, &arcount)) < 0)
    return r;

  if (q.flags & DNS_FLAG_QR)
    return -EBADMSG;
  if (qdcount != 1 || ancount != 0 || nscount != 0 || arcount > 1)
    return -EBADMSG;

  if ((r = name_read (&c, q.qname)) < 0)
    return r;
  if ((r = cursor_read_u16 (&c, &q.qtype)) < 0
      || (r = cursor_read_u16 (&c, &q.qclass)) < 0)
    return r;
  q.question_end = c.pos;

  for (unsigned i = 0; i < arcount; i++)
    if ((r = additional_rr_read (&c, &q)) < 0)
      return r;

  if (c.pos != len)
    return -EBADMSG;

  if (((q.flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT) != DNS_OPCODE_QUERY)
    return -EOPNOTSUPP;

  *ret_query = q;
  return 0;
}

static void
put_u16 (uint8_t *p,
         uint16_t v)
{
  p[0] = (uint8_t) (v >> 8);
  p[1] = (uint8_t) v;
}

static void
put_u32 (uint8_t *p,
         uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

/*
 * The longest prefix of @text, at most @max bytes, that does not end
 * inside a UTF-8 sequence: we never cut before a continuation byte.
 */
static size_t
utf8_prefix_len (const char *text,
                 size_t text_len,
                 size_t max)
{
  size_t n;

  if (text_len <= max)
    return text_len;
  n = max;
  while (n > 0 && (((const uint8_t *) text)[n] & 0xC0) == 0x80)
    n--;
  return n;
}

/**
 * trellis_dns_reply_build:
 *
 * See dns-packet.h.  Details:
 *  - @cap is only the size of @buf; any value is accepted.  The reply is
 *    limited to min(@cap, requestor's size) and -ENOBUFS means not even
 *    header + question (+ an OPT without options, when the query had
 *    EDNS) fit.  With @cap >= 512 that cannot happen.
 *  - When the EDE option (6 bytes before the text) does not fit, it is
 *    left out and the reply is still sent.
 *  - -EBADMSG when @query does not fit @packet (question_end out of
 *    bounds); -EINVAL for a NULL argument, an @rcode outside 0..15 (we
 *    write no extended rcodes) or an @ede_code outside -1..65535.
 */
ssize_t
trellis_dns_reply_build (const uint8_t *packet,
                         size_t len,
                         const TrellisDnsQuery *query,
                         int rcode,
                         int ede_code,
                         const char *ede_text,
                         uint8_t *buf,
                         size_t cap)
{
  size_t question_len, limit, need, text_len = 0;
  bool with_ede;
  uint16_t flags;
  uint8_t *p;

  if (packet == NULL || query == NULL || buf == NULL)
    return -EINVAL;
  if (rcode < 0 || rcode > (int) DNS_RCODE_MASK)
    return -EINVAL;
  if (ede_code < -1 || ede_code > UINT16_MAX)
    return -EINVAL;
  /* The smallest question: the root name, type and class. */
  if (query->question_end < TRELLIS_DNS_HEADER_SIZE + 5 || query->question_end > len)
    return -EBADMSG;

  question_len = query->question_end - TRELLIS_DNS_HEADER_SIZE;

  limit = query->has_edns ? query->edns_udp_size : DNS_UDP_SIZE_MIN;
  if (limit < DNS_UDP_SIZE_MIN)
    limit = DNS_UDP_SIZE_MIN;
  if (cap < limit)
    limit = cap;

  need = TRELLIS_DNS_HEADER_SIZE + question_len;
  if (query->has_edns)
    need += DNS_OPT_RR_SIZE;
  if (need > limit)
    return -ENOBUFS;

  with_ede = query->has_edns && ede_code >= 0
             && need + DNS_EDE_OPTION_FIXED_SIZE <= limit;
  if (with_ede)
    {
      need += DNS_EDE_OPTION_FIXED_SIZE;
      if (ede_text != NULL)
        text_len = utf8_prefix_len (ede_text, strlen (ede_text), limit - need);
      need += text_len;
    }

  flags = (uint16_t) (DNS_FLAG_QR | DNS_FLAG_RA
                      | (query->flags & (DNS_FLAG_RD | DNS_FLAG_CD))
                      | (unsigned) rcode);

  p = buf;
  put_u16 (p, query->id);
  put_u16 (p + 2, flags);
  put_u16 (p + 4, 1);                        /* QDCOUNT */
  put_u16 (p + 6, 0);                        /* ANCOUNT */
  put_u16 (p + 8, 0);                        /* NSCOUNT */
  put_u16 (p + 10, query->has_edns ? 1 : 0); /* ARCOUNT */
  p += TRELLIS_DNS_HEADER_SIZE;

  memcpy (p, packet + TRELLIS_DNS_HEADER_SIZE, question_len);
  p += question_len;

  if (query->has_edns)
    {
      size_t rdlength = with_ede ? DNS_EDE_OPTION_FIXED_SIZE + text_len : 0;

      *p++ = 0; /* root owner */
      put_u16 (p, TRELLIS_DNS_TYPE_OPT);
      put_u16 (p + 2, DNS_EDNS_UDP_SIZE_OURS);
      /* extended rcode 0, version 0, DO copied, Z 0 */
      put_u32 (p + 4, query->edns_do ? DNS_EDNS_FLAG_DO : 0);
      put_u16 (p + 8, (uint16_t) rdlength);
      p += DNS_RR_FIXED_SIZE;

      if (with_ede)
        {
          put_u16 (p, TRELLIS_DNS_EDNS_OPTION_EDE);
          put_u16 (p + 2, (uint16_t) (2 + text_len));
          put_u16 (p + 4, (uint16_t) ede_code);
          p += DNS_EDE_OPTION_FIXED_SIZE;
          if (text_len > 0)
            memcpy (p, ede_text, text_len);
          p += text_len;
        }
    }

  return (ssize_t) (p - buf);
}

/* ---- queries of our own, and the safe-search answer ---------------------- */

/* The most names a safe-search chain may hold: the target and the CNAMEs
 * the upstream followed from it. */
#define DNS_CHAIN_MAX 8
/* The most upstream records copied; a real answer has a handful. */
#define DNS_COPY_RR_MAX 32
/* Names we remember writing, to point back at. */
#define DNS_WRITTEN_MAX (DNS_COPY_RR_MAX * 2 + 2)
/* The highest offset a compression pointer can hold. */
#define DNS_POINTER_MAX 0x3FFF

/* A name from presentation form without escapes to wire form.  Returns
 * the wire length or -EINVAL. */
static int
name_from_text (const char *text,
                uint8_t *wire)
{
  size_t len = strlen (text);
  size_t out = 0;
  size_t label_start;

  if (len > 0 && text[len - 1] == '.')
    len--;
  if (len == 0)
    {
      wire[0] = 0;
      return 1;
    }
  label_start = 0;
  for (size_t i = 0; i <= len; i++)
    {
      if (i < len && text[i] == '\\')
        return -EINVAL;
      if (i == len || text[i] == '.')
        {
          size_t label_len = i - label_start;

          if (label_len == 0 || label_len > TRELLIS_DNS_LABEL_MAX)
            return -EINVAL;
          if (out + 1 + label_len + 1 > TRELLIS_DNS_WIRE_NAME_MAX)
            return -EINVAL;
          wire[out++] = (uint8_t) label_len;
          memcpy (wire + out, text + label_start, label_len);
          out += label_len;
          label_start = i + 1;
        }
    }
  wire[out++] = 0;
  return (int) out;
}

/* Two uncompressed wire names, equal but for ASCII case. */
static bool
wire_name_equal (const uint8_t *a,
                 size_t a_len,
                 const uint8_t *b,
                 size_t b_len)
{
  if (a_len != b_len)
    return false;
  for (size_t i = 0; i < a_len; i++)
    {
      uint8_t x = a[i], y = b[i];

      if (x >= 'A' && x <= 'Z')
        x = (uint8_t) (x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z')
        y = (uint8_t) (y - 'A' + 'a');
      if (x != y)
        return false;
    }
  return true;
}

ssize_t
trellis_dns_query_build (uint16_t id,
                         const char *name,
                         uint16_t qtype,
                         bool edns,
                         uint8_t *buf,
                         size_t cap)
{
  uint8_t wire[TRELLIS_DNS_WIRE_NAME_MAX];
  int wire_len;
  size_t need;
  uint8_t *p;

  if (name == NULL || buf == NULL)
    return -EINVAL;
  wire_len = name_from_text (name, wire);
  if (wire_len < 0)
    return wire_len;

  need = TRELLIS_DNS_HEADER_SIZE + (size_t) wire_len + 4 + (edns ? DNS_OPT_RR_SIZE : 0);
  if (need > cap)
    return -ENOBUFS;

  p = buf;
  put_u16 (p, id);
  put_u16 (p + 2, DNS_FLAG_RD);
  put_u16 (p + 4, 1);
  put_u16 (p + 6, 0);
  put_u16 (p + 8, 0);
  put_u16 (p + 10, edns ? 1 : 0);
  p += TRELLIS_DNS_HEADER_SIZE;
  memcpy (p, wire, (size_t) wire_len);
  p += wire_len;
  put_u16 (p, qtype);
  put_u16 (p + 2, TRELLIS_DNS_CLASS_IN);
  p += 4;
  if (edns)
    {
      *p++ = 0;
      put_u16 (p, TRELLIS_DNS_TYPE_OPT);
      put_u16 (p + 2, DNS_EDNS_UDP_SIZE_OURS);
      put_u32 (p + 4, 0);
      put_u16 (p + 8, 0);
      p += DNS_RR_FIXED_SIZE;
    }
  return (ssize_t) (p - buf);
}

/* One upstream answer record kept for the reply. */
typedef struct {
  uint8_t owner[TRELLIS_DNS_WIRE_NAME_MAX];
  size_t owner_len;
  uint16_t type;
  uint32_t ttl;
  /* A, AAAA: the address; CNAME: the uncompressed target name. */
  uint8_t rdata[TRELLIS_DNS_WIRE_NAME_MAX];
  size_t rdata_len;
} KeptRR;

typedef struct {
  uint8_t name[TRELLIS_DNS_WIRE_NAME_MAX];
  size_t len;
} ChainName;

typedef struct {
  uint16_t rcode;
  bool truncated;
  KeptRR rrs[DNS_COPY_RR_MAX];
  size_t n_rrs;
} UpstreamAnswer;

static bool
chain_contains (const ChainName *chain,
                size_t n,
                const uint8_t *name,
                size_t len)
{
  for (size_t i = 0; i < n; i++)
    if (wire_name_equal (chain[i].name, chain[i].len, name, len))
      return true;
  return false;
}

/*
 * Reads the upstream's response to our query for @target_wire/@qtype and
 * keeps the answer records of the chain from @target_wire.  Only the header,
 * the question and the answer section are read; what follows is ignored.
 */
static int
upstream_answer_read (const uint8_t *msg,
                      size_t len,
                      uint16_t id,
                      const uint8_t *target_wire,
                      size_t target_len,
                      uint16_t qtype,
                      UpstreamAnswer *ret)
{
  Cursor c = { msg, len, 0 };
  uint16_t rid, flags, qdcount, ancount, nscount, arcount, t, k;
  uint8_t qname[TRELLIS_DNS_WIRE_NAME_MAX];
  size_t qname_len;
  ChainName chain[DNS_CHAIN_MAX];
  size_t n_chain = 0;
  int r;

  if ((r = cursor_read_u16 (&c, &rid)) < 0
      || (r = cursor_read_u16 (&c, &flags)) < 0
      || (r = cursor_read_u16 (&c, &qdcount)) < 0
      || (r = cursor_read_u16 (&c, &ancount)) < 0
      || (r = cursor_read_u16 (&c, &nscount)) < 0
      || (r = cursor_read_u16 (&c, &arcount)) < 0)
    return r;
  (void) nscount;
  (void) arcount;

  if (rid != id || !(flags & DNS_FLAG_QR)
      || ((flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT) != DNS_OPCODE_QUERY
      || qdcount != 1)
    return -EBADMSG;

  if ((r = name_read_full (&c, NULL, qname, &qname_len)) < 0)
    return r;
  if ((r = cursor_read_u16 (&c, &t)) < 0 || (r = cursor_read_u16 (&c, &k)) < 0)
    return r;
  if (!wire_name_equal (qname, qname_len, target_wire, target_len)
      || t != qtype || k != TRELLIS_DNS_CLASS_IN)
    return -EBADMSG;

  ret->rcode = flags & DNS_RCODE_MASK;
  ret->truncated = (flags & DNS_FLAG_TC) != 0;
  ret->n_rrs = 0;

  memcpy (chain[0].name, target_wire, target_len);
  chain[0].len = target_len;
  n_chain = 1;

  for (unsigned i = 0; i < ancount; i++)
    {
      KeptRR rr;
      uint16_t klass, rdlength;
      size_t rdata_start;
      bool keep;

      if ((r = name_read_full (&c, NULL, rr.owner, &rr.owner_len)) < 0)
        return r;
      if ((r = cursor_read_u16 (&c, &rr.type)) < 0
          || (r = cursor_read_u16 (&c, &klass)) < 0
          || (r = cursor_read_u32 (&c, &rr.ttl)) < 0
          || (r = cursor_read_u16 (&c, &rdlength)) < 0)
        return r;
      if (!cursor_has (&c, rdlength))
        return -EBADMSG;
      rdata_start = c.pos;

      keep = klass == TRELLIS_DNS_CLASS_IN
             && chain_contains (chain, n_chain, rr.owner, rr.owner_len);
      /* RFC 2181 §8: a TTL with the top bit set is read as 0. */
      if (rr.ttl > INT32_MAX)
        rr.ttl = 0;

      switch (rr.type)
        {
        case TRELLIS_DNS_TYPE_A:
        case TRELLIS_DNS_TYPE_AAAA:
          if (rdlength != (rr.type == TRELLIS_DNS_TYPE_A ? 4 : 16))
            return -EBADMSG;
          memcpy (rr.rdata, msg + rdata_start, rdlength);
          rr.rdata_len = rdlength;
          c.pos += rdlength;
          break;

        case TRELLIS_DNS_TYPE_CNAME:
          {
            /* The target may point anywhere earlier in the message; it
             * must end exactly at the end of the RDATA. */
            Cursor rc = { msg, rdata_start + rdlength, rdata_start };

            if ((r = name_read_full (&rc, NULL, rr.rdata, &rr.rdata_len)) < 0)
              return r;
            if (rc.pos != rdata_start + rdlength)
              return -EBADMSG;
            c.pos += rdlength;
            if (keep && !chain_contains (chain, n_chain, rr.rdata, rr.rdata_len))
              {
                if (n_chain == DNS_CHAIN_MAX)
                  return -EBADMSG;
                memcpy (chain[n_chain].name, rr.rdata, rr.rdata_len);
                chain[n_chain].len = rr.rdata_len;
                n_chain++;
              }
          }
          break;

        default:
          keep = false; /* RRSIGs and the like: not ours to vouch for */
          c.pos += rdlength;
          break;
        }

      if (keep)
        {
          if (ret->n_rrs == DNS_COPY_RR_MAX)
            continue; /* enough addresses for anyone */
          ret->rrs[ret->n_rrs++] = rr;
        }
    }
  return 0;
}

/* Our own message being written, with the names written so far. */
typedef struct {
  uint8_t *buf;
  size_t limit;
  size_t pos;
  bool overflow;
  struct {
    const uint8_t *name; /* points into buf */
    size_t len;
    size_t offset;
  } written[DNS_WRITTEN_MAX];
  size_t n_written;
} Writer;

static void
writer_bytes (Writer *w,
              const uint8_t *data,
              size_t n)
{
  if (w->overflow || n > w->limit - w->pos)
    {
      w->overflow = true;
      return;
    }
  memcpy (w->buf + w->pos, data, n);
  w->pos += n;
}

static void
writer_u16 (Writer *w,
            uint16_t v)
{
  uint8_t b[2];

  put_u16 (b, v);
  writer_bytes (w, b, 2);
}

static void
writer_u32 (Writer *w,
            uint32_t v)
{
  uint8_t b[4];

  put_u32 (b, v);
  writer_bytes (w, b, 4);
}

/* Writes an uncompressed wire name, as a pointer when the same name was
 * written whole before (within pointer reach). */
static void
writer_name (Writer *w,
             const uint8_t *name,
             size_t len)
{
  size_t start = w->pos;

  for (size_t i = 0; i < w->n_written; i++)
    if (wire_name_equal (w->written[i].name, w->written[i].len, name, len))
      {
        writer_u16 (w, (uint16_t) (0xC000u | w->written[i].offset));
        return;
      }
  writer_bytes (w, name, len);
  if (!w->overflow && len > 1 && start <= DNS_POINTER_MAX && w->n_written < DNS_WRITTEN_MAX)
    {
      w->written[w->n_written].name = w->buf + start;
      w->written[w->n_written].len = len;
      w->written[w->n_written].offset = start;
      w->n_written++;
    }
}

/* Writes a record whose RDATA is a name; RDLENGTH is filled in after. */
static void
writer_rr_name (Writer *w,
                const uint8_t *owner,
                size_t owner_len,
                uint16_t type,
                uint32_t ttl,
                const uint8_t *rdata_name,
                size_t rdata_name_len)
{
  size_t rdlength_at, rdata_start;

  writer_name (w, owner, owner_len);
  writer_u16 (w, type);
  writer_u16 (w, TRELLIS_DNS_CLASS_IN);
  writer_u32 (w, ttl);
  rdlength_at = w->pos;
  writer_u16 (w, 0);
  rdata_start = w->pos;
  writer_name (w, rdata_name, rdata_name_len);
  if (!w->overflow)
    put_u16 (w->buf + rdlength_at, (uint16_t) (w->pos - rdata_start));
}

/* Header, question, answers (when @answers) and OPT.  Returns the length,
 * or 0 when it does not fit. */
static size_t
safe_search_write (Writer *w,
                   const uint8_t *packet,
                   const TrellisDnsQuery *query,
                   const uint8_t *target_wire,
                   size_t target_len,
                   const UpstreamAnswer *up,
                   bool answers)
{
  size_t qname_len = query->question_end - 4 - TRELLIS_DNS_HEADER_SIZE;
  uint32_t ttl = TRELLIS_DNS_SAFE_SEARCH_TTL;
  uint16_t flags;
  size_t n_answers = answers ? 1 + up->n_rrs : 0;

  flags = (uint16_t) (DNS_FLAG_QR | DNS_FLAG_RA
                      | (query->flags & (DNS_FLAG_RD | DNS_FLAG_CD))
                      | (answers ? 0 : DNS_FLAG_TC) | up->rcode);
  writer_u16 (w, query->id);
  writer_u16 (w, flags);
  writer_u16 (w, 1);
  writer_u16 (w, (uint16_t) n_answers);
  writer_u16 (w, 0);
  writer_u16 (w, query->has_edns ? 1 : 0);

  /* The question as the child sent it (never compressed, see the parser);
   * its name is there to point back at. */
  writer_bytes (w, packet + TRELLIS_DNS_HEADER_SIZE, qname_len);
  if (!w->overflow && qname_len > 1)
    {
      w->written[0].name = w->buf + TRELLIS_DNS_HEADER_SIZE;
      w->written[0].len = qname_len;
      w->written[0].offset = TRELLIS_DNS_HEADER_SIZE;
      w->n_written = 1;
    }
  writer_bytes (w, packet + TRELLIS_DNS_HEADER_SIZE + qname_len, 4);

  if (answers)
    {
      for (size_t i = 0; i < up->n_rrs; i++)
        if (up->rrs[i].ttl < ttl)
          ttl = up->rrs[i].ttl;
      writer_rr_name (w, packet + TRELLIS_DNS_HEADER_SIZE, qname_len,
                      TRELLIS_DNS_TYPE_CNAME, ttl, target_wire, target_len);
      for (size_t i = 0; i < up->n_rrs; i++)
        {
          const KeptRR *rr = &up->rrs[i];

          if (rr->type == TRELLIS_DNS_TYPE_CNAME)
            {
              writer_rr_name (w, rr->owner, rr->owner_len, rr->type, rr->ttl,
                              rr->rdata, rr->rdata_len);
              continue;
            }
          writer_name (w, rr->owner, rr->owner_len);
          writer_u16 (w, rr->type);
          writer_u16 (w, TRELLIS_DNS_CLASS_IN);
          writer_u32 (w, rr->ttl);
          writer_u16 (w, (uint16_t) rr->rdata_len);
          writer_bytes (w, rr->rdata, rr->rdata_len);
        }
    }

  if (query->has_edns)
    {
      static const uint8_t root = 0;

      writer_bytes (w, &root, 1);
      writer_u16 (w, TRELLIS_DNS_TYPE_OPT);
      writer_u16 (w, DNS_EDNS_UDP_SIZE_OURS);
      writer_u32 (w, query->edns_do ? DNS_EDNS_FLAG_DO : 0);
      writer_u16 (w, 0);
    }
  return w->overflow ? 0 : w->pos;
}

ssize_t
trellis_dns_safe_search_reply_build (const uint8_t *packet,
                                     size_t len,
                                     const TrellisDnsQuery *query,
                                     const char *target,
                                     const uint8_t *upstream,
                                     size_t upstream_len,
                                     uint16_t upstream_id,
                                     bool stream,
                                     uint8_t *buf,
                                     size_t cap)
{
  uint8_t target_wire[TRELLIS_DNS_WIRE_NAME_MAX];
  UpstreamAnswer up;
  Writer w;
  size_t limit, n;
  int target_len, r;

  if (packet == NULL || query == NULL || target == NULL || buf == NULL)
    return -EINVAL;
  if (query->question_end < TRELLIS_DNS_HEADER_SIZE + 5 || query->question_end > len)
    return -EBADMSG;
  target_len = name_from_text (target, target_wire);
  if (target_len < 0)
    return target_len;

  memset (&up, 0, sizeof up);
  if (upstream != NULL)
    {
      r = upstream_answer_read (upstream, upstream_len, upstream_id, target_wire,
                                (size_t) target_len, query->qtype, &up);
      if (r < 0)
        return r;
    }

  if (stream)
    limit = cap < DNS_MESSAGE_SIZE_MAX ? cap : DNS_MESSAGE_SIZE_MAX;
  else
    {
      limit = query->has_edns ? query->edns_udp_size : DNS_UDP_SIZE_MIN;
      if (limit < DNS_UDP_SIZE_MIN)
        limit = DNS_UDP_SIZE_MIN;
      if (cap < limit)
        limit = cap;
    }

  memset (&w, 0, sizeof w);
  w.buf = buf;
  w.limit = limit;
  n = up.truncated ? 0
                   : safe_search_write (&w, packet, query, target_wire, (size_t) target_len, &up, true);
  if (n == 0)
    {
      /* Too big, or the upstream's answer was cut: TC, no answers. */
      memset (&w, 0, sizeof w);
      w.buf = buf;
      w.limit = limit;
      n = safe_search_write (&w, packet, query, target_wire, (size_t) target_len, &up, false);
      if (n == 0)
        return -ENOBUFS;
    }
  return (ssize_t) n;
}
