/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-dns-packet.c — the DNS query parser and reply builder, against hex
 * fixtures in tests/unit/fixtures/dns/.
 *
 * The dig-*.hex fixtures are real queries: dig 9.18 was pointed at a
 * python3 UDP listener on 127.0.0.1:5353 inside a throwaway network
 * namespace and the received datagrams were written out as hex.
 */
#include "tests/unit/test-common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/dns-packet.h"

#ifndef TRELLIS_TEST_DATADIR
#error "TRELLIS_TEST_DATADIR must name tests/unit/fixtures"
#endif

/* ------------------------------------------------------------------------
 * Fixtures
 */

typedef struct {
  uint8_t *data; /* (owned) test_malloc'ed */
  size_t len;
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
parse_fixture_ok (const char *name,
                  Blob *ret_blob,
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
                    size_t len,
                    int expected,
                    const char *what)
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
  assert_int_equal (q.flags, 0x0120); /* RD, AD */
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
  assert_int_equal (q.edns_udp_size, 512); /* the wire says 100 */
  assert_true (q.edns_do);
  blob_free (&blob);
}

/*
 * A UDP_SEGMENT buffer whose second segment (a query for a blocked name) is
 * the tail of an OPT option of the first reads as one valid query for the
 * first name: the parser cannot tell, and must not be asked to.  The queue
 * hands over only what leaves, segment by segment (queue.c), and each
 * segment alone is malformed or a query of its own.
 */
static void
test_parse_gso_buffers (void **state)
{
  Blob blob;
  TrellisDnsQuery q;

  parse_fixture_ok ("gso-buffer-opt", &blob, &q);
  assert_string_equal (q.qname, "carrier.wikipedia.org");
  assert_true (q.has_edns);
  assert_true (blob.len > 256);
  /* its first segment alone */
  assert_parse_fails (blob.data, 256, -EBADMSG, "gso-buffer-opt[0..256)");
  /* its second segment alone: a query of its own */
  assert_int_equal (trellis_dns_query_parse (blob.data + 256, blob.len - 256, &q), 0);
  assert_string_equal (q.qname, "hidden.example-game.com");
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
  /* The additional section holds an OPT and nothing else. */
  "additional-null-rr",
  "additional-tsig",
  "rr-before-opt",
  /* What a UDP_SEGMENT buffer and its first segment look like. */
  "gso-buffer-null-rr",
  "gso-segment-null-rr",
  "gso-segment-opt",
  "two-messages",
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
  static const char *const names[] = { "dig-a-edns", "dig-noedns", "gso-buffer-opt" };

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
query_build_labels (uint8_t *buf,
                    const size_t *lens,
                    size_t n_lens)
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
 * An upstream response (id 0x1234, question "x" A IN) whose second answer
 * record has an owner name that is a chain of @hops backward pointers,
 * ending at a root label inside the first record's TXT rdata.  A query
 * cannot carry such a name (its one additional record is an OPT owned by
 * the root itself); the upstream's answer to a safe-search query can.
 */
static size_t
response_build_pointer_chain (uint8_t *buf,
                              unsigned hops)
{
  static const uint8_t head[] = {
    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
    1, 'x', 0, 0, 1, 0, 1
  };
  size_t pos = sizeof head;
  size_t rdata, prev;

  memcpy (buf, head, sizeof head);
  /* record 1: owner "x", TXT, IN, ttl 0, rdata = root + pointers */
  buf[pos++] = 0xC0;
  buf[pos++] = 12;
  buf[pos++] = 0;
  buf[pos++] = 16;
  buf[pos++] = 0;
  buf[pos++] = 1;
  memset (buf + pos, 0, 4);
  pos += 4;
  buf[pos++] = 0;
  buf[pos++] = (uint8_t) (1 + 2 * (hops - 1));
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
  /* record 2: owner points at the last link, A, IN, ttl 0, 127.0.0.1 */
  buf[pos++] = (uint8_t) (0xC0 | prev >> 8);
  buf[pos++] = (uint8_t) prev;
  buf[pos++] = 0;
  buf[pos++] = 1;
  buf[pos++] = 0;
  buf[pos++] = 1;
  memset (buf + pos, 0, 4);
  pos += 4;
  buf[pos++] = 0;
  buf[pos++] = 4;
  memcpy (buf + pos, "\x7f\0\0\1", 4);
  pos += 4;
  return pos;
}

static void
test_upstream_pointer_hop_cap (void **state)
{
  uint8_t up[256], query[512], reply[512];
  TrellisDnsQuery q;
  ssize_t qlen;
  size_t len;

  qlen = trellis_dns_query_build (0xbeef, "www.google.com", TRELLIS_DNS_TYPE_A, true,
                                  query, sizeof query);
  assert_true (qlen > 0);
  assert_int_equal (trellis_dns_query_parse (query, (size_t) qlen, &q), 0);

  len = response_build_pointer_chain (up, 16);
  assert_true (trellis_dns_safe_search_reply_build (query, (size_t) qlen, &q, "x", up, len,
                                                    0x1234, false, reply, sizeof reply)
               > 0);
  len = response_build_pointer_chain (up, 17);
  assert_int_equal (trellis_dns_safe_search_reply_build (query, (size_t) qlen, &q, "x", up, len,
                                                         0x1234, false, reply, sizeof reply),
                    -EBADMSG);
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
assert_reply_common (const uint8_t *reply,
                     size_t reply_len,
                     const Blob *query_blob,
                     const TrellisDnsQuery *q,
                     int rcode,
                     uint16_t arcount)
{
  size_t qlen = q->question_end - 12;
  uint16_t flags;

  assert_true (reply_len >= 12 + qlen);
  assert_int_equal (get_u16 (reply), q->id);
  flags = get_u16 (reply + 2);
  assert_true (flags & 0x8000);                         /* QR */
  assert_int_equal ((flags >> 11) & 0xf, 0);            /* opcode */
  assert_false (flags & 0x0400);                        /* AA */
  assert_false (flags & 0x0200);                        /* TC */
  assert_int_equal (flags & 0x0100, q->flags & 0x0100); /* RD copied */
  assert_true (flags & 0x0080);                         /* RA */
  assert_false (flags & 0x0040);                        /* Z */
  assert_false (flags & 0x0020);                        /* AD */
  assert_int_equal (flags & 0x0010, q->flags & 0x0010); /* CD copied */
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
assert_reply_opt (const uint8_t *p,
                  const uint8_t *end,
                  bool do_bit,
                  const uint8_t **ret_rdata)
{
  uint16_t rdlength;

  assert_true (end - p >= 11);
  assert_int_equal (p[0], 0); /* root owner */
  assert_int_equal (get_u16 (p + 1), TRELLIS_DNS_TYPE_OPT);
  assert_int_equal (get_u16 (p + 3), 1232);
  assert_int_equal (get_u32 (p + 5), do_bit ? 0x8000u : 0);
  rdlength = get_u16 (p + 9);
  assert_int_equal (end - (p + 11), rdlength); /* nothing after */
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
  assert_int_equal (get_u16 (reply + 2), 0x8183); /* QR RD RA NXDOMAIN; AD dropped */
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
  assert_int_equal (n, blob.len); /* header + question, nothing more */
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
  room = 512 - (12 + 17 + 11 + 6); /* 466 */
  n = trellis_dns_reply_build (blob.data, blob.len, &q, TRELLIS_DNS_RCODE_NXDOMAIN,
                               TRELLIS_DNS_EDE_FILTERED, text, reply, sizeof reply);
  assert_true (n > 0 && n <= 512);
  pos = assert_reply_common (reply, (size_t) n, &blob, &q, TRELLIS_DNS_RCODE_NXDOMAIN, 1);
  got = assert_reply_opt (reply + pos, reply + n, true, &rdata) - 6u;
  assert_int_equal (got, 2 + 3 * ((room - 2) / 3)); /* 464: 466 would split a euro */
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
  assert_int_equal (reply[bare + 6], 0x5a); /* nothing written past the end */
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

/* ------------------------------------------------------------------------
 * Our own queries and the safe-search answer
 *
 * The upstream-*.hex fixtures are real dnsmasq responses (see each file).
 */


static void
put_be32_for_test (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

static const uint8_t forcesafe_wire[] =
  "\x0f"
  "forcesafesearch"
  "\x06"
  "google"
  "\x03"
  "com"; /* + the NUL */

/* Builds the child's query for @name/@qtype (id 0xbeef) and parses it. */
static size_t
child_query (const char *name, uint16_t qtype, bool edns, uint8_t *buf, TrellisDnsQuery *ret_q)
{
  ssize_t n = trellis_dns_query_build (0xbeef, name, qtype, edns, buf, 512);

  assert_true (n > 0);
  assert_int_equal (trellis_dns_query_parse (buf, (size_t) n, ret_q), 0);
  return (size_t) n;
}

/*
 * Reads the (possibly compressed) name at *@pos of our own reply into
 * dotted text, following pointers, and moves *@pos past it.
 */
static void
reply_name (const uint8_t *msg, size_t len, size_t *pos, char *out)
{
  size_t p = *pos, o = 0;
  bool jumped = false;
  int hops = 0;

  for (;;)
    {
      assert_true (p < len);
      if ((msg[p] & 0xC0) == 0xC0)
        {
          assert_true (p + 1 < len);
          if (!jumped)
            *pos = p + 2;
          jumped = true;
          p = (size_t) (msg[p] & 0x3F) << 8 | msg[p + 1];
          assert_true (++hops < 16);
          continue;
        }
      if (msg[p] == 0)
        {
          p++;
          break;
        }
      assert_true (p + 1 + msg[p] <= len);
      if (o > 0)
        out[o++] = '.';
      memcpy (out + o, msg + p + 1, msg[p]);
      o += msg[p];
      p += 1 + (size_t) msg[p];
    }
  out[o] = '\0';
  if (!jumped)
    *pos = p;
}

/* Reads one RR of our reply: owner, type, ttl, and rdata (a name for
 * CNAME as text, else hex-free raw bytes copied to @rdata). */
static uint16_t
reply_rr (const uint8_t *msg, size_t len, size_t *pos, char *owner, uint32_t *ttl,
          char *cname, uint8_t *rdata, uint16_t *rdlength)
{
  uint16_t type;

  reply_name (msg, len, pos, owner);
  assert_true (*pos + 10 <= len);
  type = get_u16 (msg + *pos);
  assert_int_equal (get_u16 (msg + *pos + 2), 1);
  *ttl = get_u32 (msg + *pos + 4);
  *rdlength = get_u16 (msg + *pos + 8);
  *pos += 10;
  assert_true (*pos + *rdlength <= len);
  if (type == TRELLIS_DNS_TYPE_CNAME)
    {
      size_t rp = *pos;

      reply_name (msg, len, &rp, cname);
      assert_int_equal (rp, *pos + *rdlength);
    }
  else
    memcpy (rdata, msg + *pos, *rdlength);
  *pos += *rdlength;
  return type;
}

static void
test_query_build (void **state)
{
  uint8_t buf[512];
  TrellisDnsQuery q;
  ssize_t n;
  char long_label[80];
  char long_name[4 * 80 + 4];

  n = trellis_dns_query_build (0x4242, "forcesafesearch.google.com.", TRELLIS_DNS_TYPE_AAAA,
                               true, buf, sizeof buf);
  assert_int_equal (n, 12 + 28 + 4 + 11);
  assert_int_equal (trellis_dns_query_parse (buf, (size_t) n, &q), 0);
  assert_int_equal (q.id, 0x4242);
  assert_int_equal (q.flags, 0x0100); /* RD only */
  assert_string_equal (q.qname, "forcesafesearch.google.com");
  assert_int_equal (q.qtype, TRELLIS_DNS_TYPE_AAAA);
  assert_int_equal (q.qclass, 1);
  assert_true (q.has_edns);
  assert_int_equal (q.edns_udp_size, 1232);
  assert_memory_equal (buf + 12, forcesafe_wire, sizeof forcesafe_wire);

  n = trellis_dns_query_build (1, "restrict.youtube.com", TRELLIS_DNS_TYPE_A, false, buf, sizeof buf);
  assert_int_equal (n, 12 + 22 + 4);
  assert_int_equal (trellis_dns_query_parse (buf, (size_t) n, &q), 0);
  assert_false (q.has_edns);

  /* Exactly enough room, then one byte less. */
  assert_int_equal (trellis_dns_query_build (1, "a.b", 1, false, buf, 12 + 5 + 4), 12 + 5 + 4);
  assert_int_equal (trellis_dns_query_build (1, "a.b", 1, false, buf, 12 + 5 + 3), -ENOBUFS);

  assert_int_equal (trellis_dns_query_build (1, "a..b", 1, false, buf, sizeof buf), -EINVAL);
  assert_int_equal (trellis_dns_query_build (1, ".a", 1, false, buf, sizeof buf), -EINVAL);
  assert_int_equal (trellis_dns_query_build (1, "a\\046b", 1, false, buf, sizeof buf), -EINVAL);
  assert_int_equal (trellis_dns_query_build (1, NULL, 1, false, buf, sizeof buf), -EINVAL);
  memset (long_label, 'x', 64);
  long_label[64] = '\0';
  assert_int_equal (trellis_dns_query_build (1, long_label, 1, false, buf, sizeof buf), -EINVAL);
  long_label[63] = '\0';
  assert_true (trellis_dns_query_build (1, long_label, 1, false, buf, sizeof buf) > 0);
  /* 4 labels of 63 are 257 wire octets with the root; cut to 256 (one
   * too many), then 255. */
  snprintf (long_name, sizeof long_name, "%s.%s.%s.%s", long_label, long_label, long_label, long_label);
  assert_int_equal (trellis_dns_query_build (1, long_name, 1, false, buf, sizeof buf), -EINVAL);
  long_name[strlen (long_name) - 1] = '\0';
  assert_int_equal (trellis_dns_query_build (1, long_name, 1, false, buf, sizeof buf), -EINVAL);
  long_name[strlen (long_name) - 1] = '\0';
  assert_int_equal (trellis_dns_query_build (1, long_name, 1, false, buf, sizeof buf), 12 + 255 + 4);
}

static void
test_safe_search_reply_google_a (void **state)
{
  Blob up = fixture_load ("upstream-forcesafesearch-a");
  uint8_t query[512], reply[1500], rdata[64];
  char owner[300], cname[300];
  TrellisDnsQuery q;
  size_t qlen = child_query ("www.google.com", TRELLIS_DNS_TYPE_A, true, query, &q);
  size_t pos;
  uint32_t ttl;
  uint16_t rdlength;
  ssize_t n;

  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up.data, up.len, 0x1234, false, reply, sizeof reply);
  assert_true (n > 0);
  assert_int_equal (get_u16 (reply), 0xbeef);
  assert_int_equal (get_u16 (reply + 2), 0x8180); /* QR RD RA, NOERROR; no AA */
  assert_int_equal (get_u16 (reply + 4), 1);
  assert_int_equal (get_u16 (reply + 6), 2);
  assert_int_equal (get_u16 (reply + 8), 0);
  assert_int_equal (get_u16 (reply + 10), 1);
  assert_memory_equal (reply + 12, query + 12, q.question_end - 12);
  pos = q.question_end;

  /* The CNAME's owner is a pointer to the question. */
  assert_int_equal (get_u16 (reply + pos), 0xc00c);
  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_CNAME);
  assert_string_equal (owner, "www.google.com");
  assert_string_equal (cname, "forcesafesearch.google.com");
  assert_int_equal (ttl, 0);       /* the upstream's TTL was 0 */
  assert_int_equal (rdlength, 28); /* written whole */

  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_A);
  assert_string_equal (owner, "forcesafesearch.google.com");
  assert_int_equal (rdlength, 4);
  assert_memory_equal (rdata, "\xd8\xef\x26\x78", 4); /* 216.239.38.120 */

  /* OPT, then nothing. */
  assert_int_equal (reply[pos], 0);
  assert_int_equal (get_u16 (reply + pos + 1), TRELLIS_DNS_TYPE_OPT);
  assert_int_equal (pos + 11, (size_t) n);

  /* Over TCP the same message. */
  assert_int_equal (trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                                         up.data, up.len, 0x1234, true, reply,
                                                         sizeof reply),
                    n);
  blob_free (&up);
}

static void
test_safe_search_reply_aaaa_and_ttl (void **state)
{
  Blob up = fixture_load ("upstream-forcesafesearch-aaaa");
  uint8_t query[512], reply[1500], rdata[64];
  char owner[300], cname[300];
  TrellisDnsQuery q;
  size_t qlen = child_query ("www.google.fr", TRELLIS_DNS_TYPE_AAAA, false, query, &q);
  size_t pos;
  uint32_t ttl;
  uint16_t rdlength;
  ssize_t n;

  /* Give the upstream's AAAA a TTL of 3600: the CNAME stays at 300. */
  put_be32_for_test (up.data + 12 + 32 + 6, 3600);
  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up.data, up.len, 0x2345, false, reply, sizeof reply);
  assert_true (n > 0);
  assert_int_equal (get_u16 (reply + 6), 2);
  assert_int_equal (get_u16 (reply + 10), 0); /* no EDNS in the query: no OPT */
  pos = q.question_end;
  reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength);
  assert_string_equal (owner, "www.google.fr");
  assert_int_equal (ttl, TRELLIS_DNS_SAFE_SEARCH_TTL);
  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_AAAA);
  assert_int_equal (ttl, 3600);
  assert_memory_equal (rdata, "\x20\x01\x48\x60\x48\x02\x00\x32\0\0\0\0\0\0\0\x78", 16);
  assert_int_equal (pos, (size_t) n);
  blob_free (&up);
}

static void
test_safe_search_reply_cname_chain (void **state)
{
  Blob up = fixture_load ("upstream-cname-chain");
  uint8_t query[512], reply[1500], rdata[64];
  char owner[300], cname[300];
  TrellisDnsQuery q;
  size_t qlen = child_query ("www.youtube.com", TRELLIS_DNS_TYPE_A, true, query, &q);
  size_t pos;
  uint32_t ttl;
  uint16_t rdlength;
  ssize_t n;

  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "restrict.youtube.com",
                                           up.data, up.len, 0x3456, false, reply, sizeof reply);
  assert_true (n > 0);
  assert_int_equal (get_u16 (reply + 6), 3);
  pos = q.question_end;
  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_CNAME);
  assert_string_equal (owner, "www.youtube.com");
  assert_string_equal (cname, "restrict.youtube.com");
  /* The upstream's pointers (into ITS message) were re-encoded: the names
   * read back right in ours. */
  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_CNAME);
  assert_string_equal (owner, "restrict.youtube.com");
  assert_string_equal (cname, "safe.example.net");
  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_A);
  assert_string_equal (owner, "safe.example.net");
  assert_memory_equal (rdata, "\xc0\x00\x02\x4d", 4);
  blob_free (&up);
}

/* An upstream response for forcesafesearch.google.com A, id 0x1234, with
 * the question at 12 and @n_rrs records appended by the caller. */
static size_t
upstream_start (uint8_t *buf, uint16_t qtype)
{
  ssize_t n = trellis_dns_query_build (0x1234, "forcesafesearch.google.com", qtype, false, buf, 512);

  assert_true (n > 0);
  buf[2] = 0x81; /* QR RD */
  buf[3] = 0x80; /* RA */
  return (size_t) n;
}

static size_t
upstream_add_a (uint8_t *buf, size_t pos, const uint8_t *owner, size_t owner_len,
                const uint8_t addr[4])
{
  memcpy (buf + pos, owner, owner_len);
  pos += owner_len;
  memcpy (buf + pos, "\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04", 10);
  memcpy (buf + pos + 10, addr, 4);
  buf[7]++; /* ANCOUNT (< 256 here) */
  return pos + 14;
}

static void
test_safe_search_reply_skips_foreign_records (void **state)
{
  uint8_t up[1024], query[512], reply[1500], rdata[64];
  char owner[300], cname[300];
  TrellisDnsQuery q;
  size_t qlen = child_query ("www.google.com", TRELLIS_DNS_TYPE_A, true, query, &q);
  size_t ulen = upstream_start (up, TRELLIS_DNS_TYPE_A);
  size_t pos;
  uint32_t ttl;
  uint16_t rdlength;
  ssize_t n;

  /* A record for someone else, then ours (by pointer), then a TXT of ours. */
  ulen = upstream_add_a (up, ulen, (const uint8_t *) "\x04"
                                                     "evil"
                                                     "\x07"
                                                     "example"
                                                     "\x00",
                         14,
                         (const uint8_t *) "\x06\x06\x06\x06");
  ulen = upstream_add_a (up, ulen, (const uint8_t *) "\xc0\x0c", 2, (const uint8_t *) "\x01\x02\x03\x04");
  memcpy (up + ulen, "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x02\x01x", 14);
  ulen += 14;
  up[7]++;

  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up, ulen, 0x1234, false, reply, sizeof reply);
  assert_true (n > 0);
  assert_int_equal (get_u16 (reply + 6), 2);
  pos = q.question_end;
  reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength);
  assert_int_equal (ttl, 60);
  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_A);
  assert_string_equal (owner, "forcesafesearch.google.com");
  assert_memory_equal (rdata, "\x01\x02\x03\x04", 4);

  /* The upstream's NXDOMAIN is passed on, with the CNAME. */
  up[3] = 0x83;
  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up, ulen, 0x1234, false, reply, sizeof reply);
  assert_true (n > 0);
  assert_int_equal (get_u16 (reply + 2), 0x8183);
}

static void
test_safe_search_reply_cname_only (void **state)
{
  uint8_t query[512], reply[1500], rdata[64];
  char owner[300], cname[300];
  TrellisDnsQuery q;
  size_t qlen = child_query ("www.bing.com", 65 /* HTTPS */, true, query, &q);
  size_t pos;
  uint32_t ttl;
  uint16_t rdlength;
  ssize_t n;

  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "strict.bing.com", NULL, 0, 0,
                                           false, reply, sizeof reply);
  assert_true (n > 0);
  assert_int_equal (get_u16 (reply + 2), 0x8180);
  assert_int_equal (get_u16 (reply + 6), 1);
  pos = q.question_end;
  assert_int_equal (reply_rr (reply, (size_t) n, &pos, owner, &ttl, cname, rdata, &rdlength),
                    TRELLIS_DNS_TYPE_CNAME);
  assert_string_equal (cname, "strict.bing.com");
  assert_int_equal (ttl, TRELLIS_DNS_SAFE_SEARCH_TTL);
}

static void
test_safe_search_reply_truncation (void **state)
{
  uint8_t up[4096], query[512], reply[4096];
  TrellisDnsQuery q;
  size_t qlen = child_query ("www.google.com", TRELLIS_DNS_TYPE_A, false, query, &q);
  size_t ulen = upstream_start (up, TRELLIS_DNS_TYPE_A);
  ssize_t n;

  /* 40 addresses: 40 * 16 bytes is over 512, and 32 are kept at most. */
  for (int i = 0; i < 40; i++)
    {
      uint8_t addr[4] = { 10, 0, 0, (uint8_t) i };

      ulen = upstream_add_a (up, ulen, (const uint8_t *) "\xc0\x0c", 2, addr);
    }
  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up, ulen, 0x1234, false, reply, sizeof reply);
  assert_int_equal (n, (ssize_t) qlen);           /* header + question only */
  assert_int_equal (get_u16 (reply + 2), 0x8380); /* TC */
  assert_int_equal (get_u16 (reply + 6), 0);

  /* Over TCP it fits: the CNAME and 32 addresses. */
  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up, ulen, 0x1234, true, reply, sizeof reply);
  assert_true (n > 512);
  assert_int_equal (get_u16 (reply + 2), 0x8180);
  assert_int_equal (get_u16 (reply + 6), 33);
  /* ... unless the buffer is small. */
  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up, ulen, 0x1234, true, reply, 100);
  assert_int_equal (get_u16 (reply + 2) & 0x0200, 0x0200);
  assert_int_equal (n, (ssize_t) qlen);
  assert_int_equal (trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                                         up, ulen, 0x1234, true, reply, 20),
                    -ENOBUFS);

  /* The upstream's own TC is passed on, without answers. */
  up[2] |= 0x02;
  n = trellis_dns_safe_search_reply_build (query, qlen, &q, "forcesafesearch.google.com",
                                           up, ulen, 0x1234, true, reply, sizeof reply);
  assert_int_equal (get_u16 (reply + 2), 0x8380);
  assert_int_equal (get_u16 (reply + 6), 0);
}

static void
test_safe_search_reply_refuses_bad_upstream (void **state)
{
  Blob up = fixture_load ("upstream-forcesafesearch-a");
  Blob chain = fixture_load ("upstream-cname-chain");
  uint8_t query[512], reply[1500], bad[1024];
  TrellisDnsQuery q;
  size_t qlen = child_query ("www.google.com", TRELLIS_DNS_TYPE_A, true, query, &q);
  size_t ulen;
  const char *t = "forcesafesearch.google.com";

#define BUILD(data, len, id) \
  trellis_dns_safe_search_reply_build (query, qlen, &q, t, data, len, id, false, reply, sizeof reply)

  assert_true (BUILD (up.data, up.len, 0x1234) > 0);
  /* Another id, another question, another type. */
  assert_int_equal (BUILD (up.data, up.len, 0x1235), -EBADMSG);
  t = "forcesafesearch.google.co";
  assert_int_equal (BUILD (up.data, up.len, 0x1234), -EBADMSG);
  t = "forcesafesearch.google.com";
  q.qtype = TRELLIS_DNS_TYPE_AAAA;
  assert_int_equal (BUILD (up.data, up.len, 0x1234), -EBADMSG);
  q.qtype = TRELLIS_DNS_TYPE_A;
  /* The name's case does not matter (0x20 randomisation upstream). */
  memcpy (bad, up.data, up.len);
  bad[13] = 'F';
  assert_true (BUILD (bad, up.len, 0x1234) > 0);
  /* A query (QR=0) is no answer. */
  bad[2] &= 0x7f;
  assert_int_equal (BUILD (bad, up.len, 0x1234), -EBADMSG);
  /* Every truncation of the message before its answers end. */
  for (size_t l = 0; l < up.len - 11; l++)
    {
      memcpy (bad, up.data, l);
      if (BUILD (bad, l, 0x1234) != -EBADMSG)
        fail_msg ("upstream cut at %zu bytes was accepted", l);
    }
  /* ANCOUNT larger than the records present. */
  memcpy (bad, up.data, up.len);
  bad[7] = 2;
  assert_int_equal (BUILD (bad, up.len - 11, 0x1234), -EBADMSG);
  /* The answer's owner pointing forward, at itself, into the header. */
  memcpy (bad, up.data, up.len);
  bad[44] = 0xc0;
  bad[45] = 50;
  assert_int_equal (BUILD (bad, up.len, 0x1234), -EBADMSG);
  bad[45] = 44;
  assert_int_equal (BUILD (bad, up.len, 0x1234), -EBADMSG);
  bad[45] = 2;
  assert_int_equal (BUILD (bad, up.len, 0x1234), -EBADMSG);
  /* A reserved label type. */
  bad[44] = 0x80;
  assert_int_equal (BUILD (bad, up.len, 0x1234), -EBADMSG);
  /* An A record of 5 bytes. */
  memcpy (bad, up.data, up.len);
  bad[55] = 5;
  assert_int_equal (BUILD (bad, up.len, 0x1234), -EBADMSG);
  /* RDLENGTH past the end. */
  bad[54] = 0x40;
  assert_int_equal (BUILD (bad, up.len, 0x1234), -EBADMSG);

  /* A CNAME whose name runs past its RDLENGTH, or stops short of it. */
  t = "restrict.youtube.com";
  memcpy (bad, chain.data, chain.len);
  assert_true (BUILD (bad, chain.len, 0x3456) > 0);
  bad[49] = 0x11;
  assert_int_equal (BUILD (bad, chain.len, 0x3456), -EBADMSG);
  bad[49] = 0x13;
  assert_int_equal (BUILD (bad, chain.len, 0x3456), -EBADMSG);

  /* A second question. */
  ulen = upstream_start (bad, TRELLIS_DNS_TYPE_A);
  bad[5] = 2;
  t = "forcesafesearch.google.com";
  assert_int_equal (BUILD (bad, ulen, 0x1234), -EBADMSG);
#undef BUILD

  assert_int_equal (trellis_dns_safe_search_reply_build (query, qlen, &q, "a..b", up.data, up.len,
                                                         0x1234, false, reply, sizeof reply),
                    -EINVAL);
  assert_int_equal (trellis_dns_safe_search_reply_build (query, qlen, &q, NULL, up.data, up.len,
                                                         0x1234, false, reply, sizeof reply),
                    -EINVAL);
  blob_free (&up);
  blob_free (&chain);
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
    cmocka_unit_test (test_parse_gso_buffers),
    cmocka_unit_test (test_parse_opcode_notify),
    cmocka_unit_test (test_parse_malformed_fixtures),
    cmocka_unit_test (test_parse_every_prefix),
    cmocka_unit_test (test_parse_name_length_limit),
    cmocka_unit_test (test_parse_name_all_escaped),
    cmocka_unit_test (test_upstream_pointer_hop_cap),
    cmocka_unit_test (test_reply_nxdomain_ede),
    cmocka_unit_test (test_reply_copies_do_cd_and_case),
    cmocka_unit_test (test_reply_without_edns),
    cmocka_unit_test (test_reply_truncates_utf8),
    cmocka_unit_test (test_reply_small_cap),
    cmocka_unit_test (test_reply_refuses_bad_arguments),
    cmocka_unit_test (test_query_build),
    cmocka_unit_test (test_safe_search_reply_google_a),
    cmocka_unit_test (test_safe_search_reply_aaaa_and_ttl),
    cmocka_unit_test (test_safe_search_reply_cname_chain),
    cmocka_unit_test (test_safe_search_reply_skips_foreign_records),
    cmocka_unit_test (test_safe_search_reply_cname_only),
    cmocka_unit_test (test_safe_search_reply_truncation),
    cmocka_unit_test (test_safe_search_reply_refuses_bad_upstream),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
