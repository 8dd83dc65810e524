/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-dns-packet.c — the DNS query parser and reply builder, against hex
 * fixtures in tests/unit/fixtures/dns/.
 *
 * The dig-*.hex fixtures are real queries: dig 9.18 was pointed at a
 * python3 UDP listener on 127.0.0.1:5353 inside a throwaway network
 * namespace and the received datagrams were written out as hex.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/dns-packet.h"

#ifndef TRELLIS_TEST_DATADIR
#error "TRELLIS_TEST_DATADIR must name tests/unit/fixtures"
#endif

/* ------------------------------------------------------------------------
 * Fixtures
 */

typedef struct {
  uint8_t *data;  /* (owned) test_malloc'ed */
  size_t   len;
} Blob;

static int
hex_digit (int ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/*
 * Loads tests/unit/fixtures/dns/@name.hex: pairs of hex digits, with
 * whitespace anywhere between pairs and '#' starting a comment that runs
 * to the end of the line.  Fails the test on any other character.
 */
static Blob
fixture_load (const char *name)
{
  char path[4096];
  FILE *f;
  Blob blob = { NULL, 0 };
  size_t cap = 256;
  int ch, high = -1;
  bool in_comment = false;

  snprintf (path, sizeof path, "%s/dns/%s.hex", TRELLIS_TEST_DATADIR, name);
  f = fopen (path, "r");
  if (f == NULL)
    fail_msg ("cannot open fixture %s: %s", path, strerror (errno));

  blob.data = test_malloc (cap);
  while ((ch = fgetc (f)) != EOF)
    {
      int d;

      if (in_comment)
        {
          if (ch == '\n')
            in_comment = false;
          continue;
        }
      if (ch == '#')
        {
          assert_int_equal (high, -1);
          in_comment = true;
          continue;
        }
      if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
        {
          assert_int_equal (high, -1);
          continue;
        }
      d = hex_digit (ch);
      if (d < 0)
        fail_msg ("fixture %s: bad character 0x%02x", path, (unsigned) ch);
      if (high < 0)
        {
          high = d;
          continue;
        }
      if (blob.len == cap)
        {
          uint8_t *bigger = test_malloc (cap * 2);

          memcpy (bigger, blob.data, blob.len);
          test_free (blob.data);
          blob.data = bigger;
          cap *= 2;
        }
      blob.data[blob.len++] = (uint8_t) (high << 4 | d);
      high = -1;
    }
  fclose (f);
  assert_int_equal (high, -1);
  assert_true (blob.len > 0);
  return blob;
}

static void
blob_free (Blob *blob)
{
  test_free (blob->data);
  blob->data = NULL;
  blob->len = 0;
}

static uint16_t
get_u16 (const uint8_t *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t
get_u32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Parses @name and checks the result is 0. */
static void
parse_fixture_ok (const char      *name,
                  Blob            *ret_blob,
                  TrellisDnsQuery *ret_query)
{
  Blob blob = fixture_load (name);
  int r = trellis_dns_query_parse (blob.data, blob.len, ret_query);

  if (r != 0)
    fail_msg ("fixture %s: parse returned %d", name, r);
  *ret_blob = blob;
}

/*
 * Parses @data and checks it fails with @expected, leaving the output
 * untouched (its bytes still hold a sentinel pattern).
 */
static void
assert_parse_fails (const uint8_t *data,
                    size_t         len,
                    int            expected,
                    const char    *what)
{
  TrellisDnsQuery q, sentinel;
  int r;

  memset (&sentinel, 0xA5, sizeof sentinel);
  memcpy (&q, &sentinel, sizeof q);
  r = trellis_dns_query_parse (data, len, &q);
  if (r != expected)
    fail_msg ("%s: parse returned %d, expected %d", what, r, expected);
  assert_memory_equal (&q, &sentinel, sizeof q);
}

/* ------------------------------------------------------------------------
 * Parser: valid queries
 */

static void
test_parse_dig_a_edns (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("dig-a-edns", &blob, &q);
  assert_int_equal (q.id, 0x9db3);
  assert_int_equal (q.flags, 0x0120);   /* RD, AD */
  assert_string_equal (q.qname, "example.com");
  assert_int_equal (q.qtype, TRELLIS_DNS_TYPE_A);
  assert_int_equal (q.qclass, 1);
  assert_int_equal (q.question_end, 12 + 13 + 4);
  assert_true (q.has_edns);
  assert_int_equal (q.edns_udp_size, 1232);
  assert_false (q.edns_do);
  blob_free (&blob);
}

static void
test_parse_dig_noedns (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("dig-noedns", &blob, &q);
  assert_int_equal (q.id, 0x3f00);
  assert_string_equal (q.qname, "example.com");
  assert_int_equal (q.qtype, TRELLIS_DNS_TYPE_A);
  assert_int_equal (q.question_end, blob.len);
  assert_false (q.has_edns);
  assert_int_equal (q.edns_udp_size, 512);
  assert_false (q.edns_do);
  blob_free (&blob);
}

static void
test_parse_dig_aaaa_do (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("dig-aaaa-do", &blob, &q);
  assert_int_equal (q.id, 0x2389);
  assert_string_equal (q.qname, "www.example-game.com");
  assert_int_equal (q.qtype, TRELLIS_DNS_TYPE_AAAA);
  assert_true (q.has_edns);
  assert_int_equal (q.edns_udp_size, 1232);
  assert_true (q.edns_do);
  blob_free (&blob);
}

static void
test_parse_dig_root (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("dig-root-ns", &blob, &q);
  assert_string_equal (q.qname, "");
  assert_int_equal (q.qtype, 2);
  assert_int_equal (q.question_end, 12 + 1 + 4);
  assert_true (q.has_edns);
  blob_free (&blob);
}

static void
test_parse_mixed_case (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("dig-mixed-case", &blob, &q);
  assert_string_equal (q.qname, "example.com");
  /* the wire still has the client's case: we copy it into replies */
  assert_memory_equal (blob.data + 12, "\007Example\003COM", 13);
  blob_free (&blob);
}

static void
test_parse_label_escapes (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("label-escapes", &blob, &q);
  assert_string_equal (q.qname, "a\\046b\\032c.example");
  assert_null (strchr (q.qname, ' '));
  blob_free (&blob);

  parse_fixture_ok ("label-backslash", &blob, &q);
  assert_string_equal (q.qname, "x\\092\\255\\042.test");
  blob_free (&blob);
}

static void
test_parse_edns_small_size (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("edns-small-size", &blob, &q);
  assert_true (q.has_edns);
  assert_int_equal (q.edns_udp_size, 512);   /* the wire says 100 */
  assert_true (q.edns_do);
  blob_free (&blob);
}

static void
test_parse_additional_compressed (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("additional-tsig-compressed", &blob, &q);
  assert_string_equal (q.qname, "example.com");
  assert_true (q.has_edns);
  blob_free (&blob);
}

static void
test_parse_opcode_notify (void **state)
{
  Blob blob = fixture_load ("opcode-notify");

  assert_parse_fails (blob.data, blob.len, -EOPNOTSUPP, "opcode-notify");
  blob_free (&blob);
}

/* ------------------------------------------------------------------------
 * Parser: malformed queries
 */

static const char *const malformed_fixtures[] = {
  "truncated-header",
  "truncated-question",
  "truncated-qclass",
  "truncated-opt",
  "arcount-too-large",
  "compression-loop-question",
  "compression-loop-additional",
  "forward-pointer",
  "pointer-into-header",
  "oversize-name",
  "label-type-40",
  "label-type-80",
  "qdcount-0",
  "qdcount-2",
  "qr-set",
  "ancount-1",
  "nscount-1",
  "two-opt",
  "opt-owner-not-root",
  "opt-bad-option",
  "trailing-garbage",
};

static void
test_parse_malformed_fixtures (void **state)
{
  for (size_t i = 0; i < sizeof malformed_fixtures / sizeof malformed_fixtures[0]; i++)
    {
      Blob blob = fixture_load (malformed_fixtures[i]);

      assert_parse_fails (blob.data, blob.len, -EBADMSG, malformed_fixtures[i]);
      blob_free (&blob);
    }
}

/* Every proper prefix of a valid message is malformed. */
static void
test_parse_every_prefix (void **state)
{
  static const char *const names[] = { "dig-a-edns", "dig-noedns", "additional-tsig-compressed" };

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      Blob blob = fixture_load (names[i]);

      for (size_t n = 0; n < blob.len; n++)
        {
          char what[64];

          snprintf (what, sizeof what, "%s[0..%zu)", names[i], n);
          assert_parse_fails (blob.data, n, -EBADMSG, what);
        }
      blob_free (&blob);
    }
}

/*
 * A query for a name of labels of the given lengths (filled with 'a');
 * returns its length.
 */
static size_t
query_build_labels (uint8_t       *buf,
                    const size_t  *lens,
                    size_t         n_lens)
{
  static const uint8_t header[12] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
  size_t pos = sizeof header;

  memcpy (buf, header, sizeof header);
  for (size_t i = 0; i < n_lens; i++)
    {
      buf[pos++] = (uint8_t) lens[i];
      memset (buf + pos, 'a', lens[i]);
      pos += lens[i];
    }
  buf[pos++] = 0;
  memcpy (buf + pos, "\0\1\0\1", 4);
  return pos + 4;
}

static void
test_parse_name_length_limit (void **state)
{
  uint8_t buf[512];
  /* 3 * 64 + 62 + 1 = 255 octets on the wire */
  size_t lens_255[] = { 63, 63, 63, 61 };
  size_t lens_256[] = { 63, 63, 63, 62 };
  TrellisDnsQuery q;
  size_t len;

  len = query_build_labels (buf, lens_255, 4);
  assert_int_equal (trellis_dns_query_parse (buf, len, &q), 0);
  assert_int_equal (strlen (q.qname), 63 * 3 + 61 + 3);
  assert_int_equal (q.question_end, 12 + 255 + 4);

  len = query_build_labels (buf, lens_256, 4);
  assert_parse_fails (buf, len, -EBADMSG, "256-octet name");
}

/* The longest presentation form fits qname: 254 octets all escaped. */
static void
test_parse_name_all_escaped (void **state)
{
  uint8_t buf[512];
  size_t lens[] = { 63, 63, 63, 61 };
  TrellisDnsQuery q;
  size_t len = query_build_labels (buf, lens, 4);

  for (size_t i = 12; i < 12 + 255; i++)
    if (buf[i] == 'a')
      buf[i] = 0xff;
  assert_int_equal (trellis_dns_query_parse (buf, len, &q), 0);
  assert_int_equal (strlen (q.qname), 4 * (63 * 3 + 61) + 3);
  assert_memory_equal (q.qname, "\\255\\255", 8);
}

/*
 * An additional record whose owner name is a chain of @hops backward
 * pointers ending at a root label inside an earlier TXT record's rdata.
 */
static size_t
query_build_pointer_chain (uint8_t  *buf,
                           unsigned  hops)
{
  static const uint8_t head[] = {
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 2,
    1, 'x', 0, 0, 1, 0, 1,
  };
  size_t pos = sizeof head;
  size_t rdata, prev;

  memcpy (buf, head, sizeof head);
  /* record 1: root owner, TXT, IN, ttl 0, rdata = root + pointers */
  buf[pos++] = 0;
  buf[pos++] = 0; buf[pos++] = 16;
  buf[pos++] = 0; buf[pos++] = 1;
  memset (buf + pos, 0, 4); pos += 4;
  buf[pos++] = 0; buf[pos++] = (uint8_t) (1 + 2 * (hops - 1));
  rdata = pos;
  buf[pos++] = 0;
  prev = rdata;
  for (unsigned i = 1; i < hops; i++)
    {
      buf[pos] = (uint8_t) (0xC0 | prev >> 8);
      buf[pos + 1] = (uint8_t) prev;
      prev = pos;
      pos += 2;
    }
  /* record 2: owner points at the last link, A, IN, ttl 0, no rdata */
  buf[pos++] = (uint8_t) (0xC0 | prev >> 8);
  buf[pos++] = (uint8_t) prev;
  buf[pos++] = 0; buf[pos++] = 1;
  buf[pos++] = 0; buf[pos++] = 1;
  memset (buf + pos, 0, 6); pos += 6;
  return pos;
}

static void
test_parse_pointer_hop_cap (void **state)
{
  uint8_t buf[256];
  TrellisDnsQuery q;
  size_t len;

  len = query_build_pointer_chain (buf, 16);
  assert_int_equal (trellis_dns_query_parse (buf, len, &q), 0);
  assert_string_equal (q.qname, "x");

  len = query_build_pointer_chain (buf, 17);
  assert_parse_fails (buf, len, -EBADMSG, "17 pointer hops");
}

/* ------------------------------------------------------------------------
 * Reply builder
 */

static const char deny_text[] = "deny example-game.com (household.conf:12)";

/*
 * Checks the parts every reply shares, field by field, and returns the
 * offset just past the question.
 */
static size_t
assert_reply_common (const uint8_t         *reply,
                     size_t                 reply_len,
                     const Blob            *query_blob,
                     const TrellisDnsQuery *q,
                     int                    rcode,
                     uint16_t               arcount)
{
  size_t qlen = q->question_end - 12;
  uint16_t flags;

  assert_true (reply_len >= 12 + qlen);
  assert_int_equal (get_u16 (reply), q->id);
  flags = get_u16 (reply + 2);
  assert_true (flags & 0x8000);                          /* QR */
  assert_int_equal ((flags >> 11) & 0xf, 0);             /* opcode */
  assert_false (flags & 0x0400);                         /* AA */
  assert_false (flags & 0x0200);                         /* TC */
  assert_int_equal (flags & 0x0100, q->flags & 0x0100);  /* RD copied */
  assert_true (flags & 0x0080);                          /* RA */
  assert_false (flags & 0x0040);                         /* Z */
  assert_false (flags & 0x0020);                         /* AD */
  assert_int_equal (flags & 0x0010, q->flags & 0x0010);  /* CD copied */
  assert_int_equal (flags & 0x000f, rcode);
  assert_int_equal (get_u16 (reply + 4), 1);
  assert_int_equal (get_u16 (reply + 6), 0);
  assert_int_equal (get_u16 (reply + 8), 0);
  assert_int_equal (get_u16 (reply + 10), arcount);
  assert_memory_equal (reply + 12, query_blob->data + 12, qlen);
  return 12 + qlen;
}

/*
 * Checks an OPT record at @p and returns its rdata length; *@ret_rdata
 * points at the rdata.
 */
static uint16_t
assert_reply_opt (const uint8_t  *p,
                  const uint8_t  *end,
                  bool            do_bit,
                  const uint8_t **ret_rdata)
{
  uint16_t rdlength;

  assert_true (end - p >= 11);
  assert_int_equal (p[0], 0);                           /* root owner */
  assert_int_equal (get_u16 (p + 1), TRELLIS_DNS_TYPE_OPT);
  assert_int_equal (get_u16 (p + 3), 1232);
  assert_int_equal (get_u32 (p + 5), do_bit ? 0x8000u : 0);
  rdlength = get_u16 (p + 9);
  assert_int_equal (end - (p + 11), rdlength);          /* nothing after */
  *ret_rdata = p + 11;
  return rdlength;
}

static void
test_reply_nxdomain_ede (void **state)
{
  Blob blob;
  TrellisDnsQuery q, back;
  uint8_t reply[1500];
  const uint8_t *rdata;
  size_t text_len = strlen (deny_text);
  ssize_t n;
  size_t pos;

  parse_fixture_ok ("dig-a-edns", &blob, &q);
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_NXDOMAIN,
                               TRELLIS_DNS_EDE_FILTERED, deny_text, reply, sizeof reply);
  assert_true (n > 0);
  assert_int_equal (n, 12 + 17 + 11 + 6 + text_len);

  pos = assert_reply_common (reply, (size_t) n, &blob, &q, TRELLIS_DNS_RCODE_NXDOMAIN, 1);
  assert_int_equal (get_u16 (reply + 2), 0x8183);   /* QR RD RA NXDOMAIN; AD dropped */
  assert_int_equal (assert_reply_opt (reply + pos, reply + n, false, &rdata), 6 + text_len);
  assert_int_equal (get_u16 (rdata), TRELLIS_DNS_EDNS_OPTION_EDE);
  assert_int_equal (get_u16 (rdata + 2), 2 + text_len);
  assert_int_equal (get_u16 (rdata + 4), TRELLIS_DNS_EDE_FILTERED);
  assert_memory_equal (rdata + 6, deny_text, text_len);

  /* With QR cleared, the reply reads as the same question with EDNS. */
  reply[2] &= 0x7f;
  assert_int_equal (trellis_dns_query_parse (reply, (size_t) n, &back), 0);
  assert_string_equal (back.qname, "example.com");
  assert_int_equal (back.qtype, q.qtype);
  assert_int_equal (back.question_end, q.question_end);
  assert_true (back.has_edns);
  assert_int_equal (back.edns_udp_size, 1232);
  blob_free (&blob);
}

static void
test_reply_copies_do_cd_and_case (void **state)
{
  Blob blob;
  TrellisDnsQuery q;
  uint8_t reply[1500];
  const uint8_t *rdata;
  ssize_t n;
  size_t pos;

  /* mixed case: the question goes back as the client wrote it */
  parse_fixture_ok ("dig-mixed-case", &blob, &q);
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_REFUSED,
                               -1, NULL, reply, sizeof reply);
  assert_true (n > 0);
  pos = assert_reply_common (reply, (size_t) n, &blob, &q, TRELLIS_DNS_RCODE_REFUSED, 1);
  assert_memory_equal (reply + 12, "\007Example\003COM", 13);
  assert_int_equal (assert_reply_opt (reply + pos, reply + n, false, &rdata), 0);
  blob_free (&blob);

  /* DO and CD set in the query */
  parse_fixture_ok ("dig-aaaa-do", &blob, &q);
  blob.data[3] |= 0x10;
  assert_int_equal (trellis_dns_query_parse (blob.data, blob.len, &q), 0);
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_NOERROR,
                               TRELLIS_DNS_EDE_FILTERED, "", reply, sizeof reply);
  assert_true (n > 0);
  pos = assert_reply_common (reply, (size_t) n, &blob, &q, TRELLIS_DNS_RCODE_NOERROR, 1);
  assert_true (get_u16 (reply + 2) & 0x0010);
  assert_int_equal (assert_reply_opt (reply + pos, reply + n, true, &rdata), 6);
  assert_int_equal (get_u16 (rdata + 2), 2);
  assert_int_equal (get_u16 (rdata + 4), TRELLIS_DNS_EDE_FILTERED);
  blob_free (&blob);
}

static void
test_reply_without_edns (void **state)
{
  Blob blob;
  TrellisDnsQuery q;
  uint8_t reply[1500];
  ssize_t n;

  parse_fixture_ok ("dig-noedns", &blob, &q);
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_NXDOMAIN,
                               TRELLIS_DNS_EDE_FILTERED, deny_text, reply, sizeof reply);
  assert_int_equal (n, blob.len);   /* header + question, nothing more */
  assert_reply_common (reply, (size_t) n, &blob, &q, TRELLIS_DNS_RCODE_NXDOMAIN, 0);
  blob_free (&blob);
}

/* A long text is cut at a character boundary to fit 512 bytes. */
static void
test_reply_truncates_utf8 (void **state)
{
  /* "€" is 3 bytes; two ASCII bytes first so that 466 bytes of room end
   * one byte into a euro sign */
  enum { N_EURO = 300 };
  char text[2 + 3 * N_EURO + 1];
  Blob blob;
  TrellisDnsQuery q;
  uint8_t reply[1500];
  const uint8_t *rdata;
  size_t room, got;
  ssize_t n;
  size_t pos;

  text[0] = 'x';
  text[1] = 'y';
  for (size_t i = 0; i < N_EURO; i++)
    memcpy (text + 2 + 3 * i, "\xe2\x82\xac", 3);
  text[sizeof text - 1] = '\0';

  /* edns-small-size: the requestor says 100, which means 512 */
  parse_fixture_ok ("edns-small-size", &blob, &q);
  room = 512 - (12 + 17 + 11 + 6);                  /* 466 */
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_NXDOMAIN,
                               TRELLIS_DNS_EDE_FILTERED, text, reply, sizeof reply);
  assert_true (n > 0 && n <= 512);
  pos = assert_reply_common (reply, (size_t) n, &blob, &q, TRELLIS_DNS_RCODE_NXDOMAIN, 1);
  got = assert_reply_opt (reply + pos, reply + n, true, &rdata) - 6u;
  assert_int_equal (got, 2 + 3 * ((room - 2) / 3));   /* 464: 466 would split a euro */
  assert_true (got < room);
  assert_true (((uint8_t) text[got] & 0xC0) != 0x80);
  assert_memory_equal (rdata + 6, text, got);
  assert_int_equal (get_u16 (rdata + 2), 2 + got);
  blob_free (&blob);

  /* the 1232 of a real client is cut by a smaller buffer */
  parse_fixture_ok ("dig-a-edns", &blob, &q);
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_NXDOMAIN,
                               TRELLIS_DNS_EDE_FILTERED, text, reply, 100);
  assert_true (n > 0 && n <= 100);
  pos = assert_reply_common (reply, (size_t) n, &blob, &q, TRELLIS_DNS_RCODE_NXDOMAIN, 1);
  got = assert_reply_opt (reply + pos, reply + n, false, &rdata) - 6u;
  assert_int_equal (got, 2 + 3 * ((100 - 46 - 2) / 3));
  assert_memory_equal (rdata + 6, text, got);
  blob_free (&blob);

  /* and fits whole when there is room */
  parse_fixture_ok ("dig-a-edns", &blob, &q);
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_NXDOMAIN,
                               TRELLIS_DNS_EDE_FILTERED, text, reply, sizeof reply);
  assert_int_equal (n, 46 + strlen (text));
  blob_free (&blob);
}

/*
 * @cap is only the buffer's size; below the bare reply it is -ENOBUFS,
 * between that and the EDE option the option is left out.
 */
static void
test_reply_small_cap (void **state)
{
  Blob blob;
  TrellisDnsQuery q;
  uint8_t reply[1500];
  const uint8_t *rdata;
  const size_t bare = 12 + 17 + 11;
  ssize_t n;
  size_t pos;

  parse_fixture_ok ("dig-a-edns", &blob, &q);
  memset (reply, 0x5a, sizeof reply);
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &q, 3, 17, deny_text, reply, 20),
                    -ENOBUFS);
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &q, 3, 17, deny_text, reply, bare - 1),
                    -ENOBUFS);
  assert_int_equal (reply[0], 0x5a);

  n = trellis_dns_reply_build (blob.data, blob.len, &q, 3, 17, deny_text, reply, bare + 5);
  assert_int_equal (n, bare);
  pos = assert_reply_common (reply, (size_t) n, &blob, &q, 3, 1);
  assert_int_equal (assert_reply_opt (reply + pos, reply + n, false, &rdata), 0);

  n = trellis_dns_reply_build (blob.data, blob.len, &q, 3, 17, deny_text, reply, bare + 6);
  assert_int_equal (n, bare + 6);
  pos = assert_reply_common (reply, (size_t) n, &blob, &q, 3, 1);
  assert_int_equal (assert_reply_opt (reply + pos, reply + n, false, &rdata), 6);
  assert_int_equal (get_u16 (rdata + 2), 2);
  assert_int_equal (reply[bare + 6], 0x5a);   /* nothing written past the end */
  blob_free (&blob);
}

static void
test_reply_refuses_bad_arguments (void **state)
{
  Blob blob;
  TrellisDnsQuery q, bad;
  uint8_t reply[1500];

  parse_fixture_ok ("dig-a-edns", &blob, &q);
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &q, 16, -1, NULL, reply, sizeof reply),
                    -EINVAL);
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &q, -1, -1, NULL, reply, sizeof reply),
                    -EINVAL);
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &q, 3, 65536, NULL, reply, sizeof reply),
                    -EINVAL);
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &q, 3, -2, NULL, reply, sizeof reply),
                    -EINVAL);

  bad = q;
  bad.question_end = blob.len + 1;
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &bad, 3, -1, NULL, reply, sizeof reply),
                    -EBADMSG);
  bad.question_end = 12;
  assert_int_equal (trellis_dns_reply_build (blob.data, blob.len, &bad, 3, -1, NULL, reply, sizeof reply),
                    -EBADMSG);
  blob_free (&blob);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_dig_a_edns),
    cmocka_unit_test (test_parse_dig_noedns),
    cmocka_unit_test (test_parse_dig_aaaa_do),
    cmocka_unit_test (test_parse_dig_root),
    cmocka_unit_test (test_parse_mixed_case),
    cmocka_unit_test (test_parse_label_escapes),
    cmocka_unit_test (test_parse_edns_small_size),
    cmocka_unit_test (test_parse_additional_compressed),
    cmocka_unit_test (test_parse_opcode_notify),
    cmocka_unit_test (test_parse_malformed_fixtures),
    cmocka_unit_test (test_parse_every_prefix),
    cmocka_unit_test (test_parse_name_length_limit),
    cmocka_unit_test (test_parse_name_all_escaped),
    cmocka_unit_test (test_parse_pointer_hop_cap),
    cmocka_unit_test (test_reply_nxdomain_ede),
    cmocka_unit_test (test_reply_copies_do_cd_and_case),
    cmocka_unit_test (test_reply_without_edns),
    cmocka_unit_test (test_reply_truncates_utf8),
    cmocka_unit_test (test_reply_small_cap),
    cmocka_unit_test (test_reply_refuses_bad_arguments),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
