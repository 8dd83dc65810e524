/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dns-packet.h — a bounds-checked reader for DNS queries and a writer for the
 * answers trellisd gives in the name of the server a child asked.
 *
 * Kernel-facing conventions: functions return >= 0 or -errno
 * (-EBADMSG for a malformed packet) and never log.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TRELLIS_DNS_HEADER_SIZE   12
#define TRELLIS_DNS_WIRE_NAME_MAX 255 /* RFC 1035 §2.3.4, on the wire */
#define TRELLIS_DNS_LABEL_MAX     63
/* Presentation form: every octet may become "\DDD" (4 chars). */
#define TRELLIS_DNS_NAME_TEXT_MAX (TRELLIS_DNS_WIRE_NAME_MAX * 4 + 1)

enum {
  TRELLIS_DNS_RCODE_NOERROR = 0,
  TRELLIS_DNS_RCODE_FORMERR = 1,
  TRELLIS_DNS_RCODE_SERVFAIL = 2,
  TRELLIS_DNS_RCODE_NXDOMAIN = 3,
  TRELLIS_DNS_RCODE_REFUSED = 5,
};

enum {
  TRELLIS_DNS_TYPE_A = 1,
  TRELLIS_DNS_TYPE_CNAME = 5,
  TRELLIS_DNS_TYPE_AAAA = 28,
  TRELLIS_DNS_TYPE_OPT = 41,
};

#define TRELLIS_DNS_CLASS_IN        1
#define TRELLIS_DNS_SAFE_SEARCH_TTL 300 /* the CNAME's TTL at most, seconds */

#define TRELLIS_DNS_EDNS_OPTION_EDE 15 /* RFC 8914 */
#define TRELLIS_DNS_EDE_FILTERED    17

/* A parsed query.  Plain data: no pointers into the packet. */
typedef struct {
  uint16_t id;
  uint16_t flags;                        /* header flags word as on the wire (host order) */
  char qname[TRELLIS_DNS_NAME_TEXT_MAX]; /* lower-case presentation form, no
                                     * trailing dot; "" for the root; octets other
                                     * than [a-z0-9-_] are written as \DDD */
  uint16_t qtype;
  uint16_t qclass;
  size_t question_end;    /* offset just past the question section */
  bool has_edns;          /* an OPT record was in the additional section */
  uint16_t edns_udp_size; /* the requestor's payload size (>= 512) */
  bool edns_do;           /* the DO bit */
} TrellisDnsQuery;

/**
 * trellis_dns_query_parse:
 *
 * Parses a DNS query message (QR=0, opcode QUERY, exactly one question,
 * no answer or authority records, and in the additional section at most
 * one record, an OPT).  Label types 0x40–0xBF are refused; names over 255
 * octets are refused.  The question name cannot be compressed (a pointer
 * could only point into the header, which is refused), so the bytes
 * [12, question_end) can be copied into a reply as they are.  The OPT
 * must be owned by the root label itself and its options must fill its
 * RDATA exactly.  Any other additional record (TSIG, SIG(0), ...) and any
 * byte after the end of the message make the message malformed: every
 * byte of an accepted query belongs to the header, the question or the
 * OPT.  (An OPT option's data is the option's own; a buffer that hides a
 * second message there is cut by the kernel before the queue reads it,
 * see queue.h.)
 *
 * Returns: 0 and fills @ret_query, or -EBADMSG for a malformed packet
 *   (a response, QR=1, is malformed as a query), -EOPNOTSUPP for a message
 *   that passes every check above but has an opcode other than QUERY,
 *   -EINVAL for a NULL argument.  @ret_query is untouched on failure.
 */
int trellis_dns_query_parse (const uint8_t *packet,
                             size_t len,
                             TrellisDnsQuery *ret_query);

/**
 * trellis_dns_reply_build:
 * @packet, @len: the query as received (its question is copied)
 * @query: the result of parsing it
 * @rcode: the response code (NXDOMAIN, REFUSED, NOERROR for NODATA, ...),
 *   0..15: no extended rcodes
 * @ede_code: an RFC 8914 info-code (0..65535), or -1 for none; only
 *   written when the query had EDNS
 * @ede_text: (nullable) the EXTRA-TEXT, UTF-8, truncated to fit
 * @buf, @cap: where to write; @cap is only the size of @buf (any value is
 *   accepted, 512 or more always suffices)
 *
 * Builds a response with QR=1, RA=1, the query's id, RD and CD, the
 * question, no answers, and an OPT record (payload size 1232, DO copied)
 * when the query had one.  The response never exceeds min(@cap, the
 * requestor's payload size: 512 without EDNS); the extra text is cut, at
 * a UTF-8 boundary, to fit, and the EDE option is left out when not even
 * its fixed 6 bytes fit.
 *
 * Returns: the length written, or -EBADMSG (@query does not match
 *   @packet), -ENOBUFS (not even header, question and bare OPT fit),
 *   -EINVAL (a NULL argument, @rcode or @ede_code out of range).
 */
ssize_t trellis_dns_reply_build (const uint8_t *packet,
                                 size_t len,
                                 const TrellisDnsQuery *query,
                                 int rcode,
                                 int ede_code,
                                 const char *ede_text,
                                 uint8_t *buf,
                                 size_t cap);

/**
 * trellis_dns_query_build:
 * @id: the message id (the caller's random one)
 * @name: the name to ask for, presentation form without escapes (labels of
 *   1..63 octets, no backslash), with or without a trailing dot
 * @qtype: the type to ask for; the class is IN
 * @edns: add an OPT record (payload size 1232, no options, DO clear)
 * @buf, @cap: where to write
 *
 * Builds a query with RD=1 and one question.
 *
 * Returns: the length written, -EINVAL (NULL argument, a name that cannot be
 *   written: empty label, label over 63 octets, name over 255 octets, a
 *   backslash), -ENOBUFS (@cap too small).
 */
ssize_t trellis_dns_query_build (uint16_t id,
                                 const char *name,
                                 uint16_t qtype,
                                 bool edns,
                                 uint8_t *buf,
                                 size_t cap);

/**
 * trellis_dns_safe_search_reply_build:
 * @packet, @len, @query: the child's query as received and its parse
 * @target: the safe endpoint, as for trellis_dns_query_build()
 * @upstream, @upstream_len: (nullable) the upstream's response to the query
 *   for @target made with trellis_dns_query_build() (id @upstream_id, type
 *   @query->qtype, class IN); NULL for a reply with the CNAME only, NOERROR
 * @stream: the reply goes over TCP: limited by @cap only, not by the
 *   requestor's UDP payload size
 * @buf, @cap: where to write
 *
 * Builds the answer to the child: its id, RD and CD copied, QR=1, RA=1, the
 * upstream's rcode (NOERROR without @upstream), the child's question, then
 * "QNAME CNAME TARGET" (TTL: the smallest TTL of the copied records, at most
 * TRELLIS_DNS_SAFE_SEARCH_TTL) and the upstream's A, AAAA and CNAME answers
 * that belong to the chain starting at @target (owner @target or the target
 * of an earlier copied CNAME).  Other records and the upstream's authority
 * and additional sections are left out.  Names are decompressed from the
 * upstream message and written again against our own (owners equal to a
 * name written before become pointers).  An OPT (payload 1232, DO copied) is
 * added when the query had EDNS.
 *
 * The upstream message is untrusted and read as strictly as a query: every
 * read bounds-checked, compression only backward, at most 16 hops.  It must
 * be a response (QR=1, opcode QUERY) with id @upstream_id and exactly one
 * question, @target/@query->qtype/IN (case-insensitive).  When the upstream
 * set TC, or the reply would not fit min(@cap, the requestor's size: 512
 * without EDNS, unless @stream), the reply has TC=1 and no answers.
 *
 * Returns: the length written; -EBADMSG when @upstream is malformed or does
 *   not answer our question (or @query does not fit @packet); -EINVAL for a
 *   NULL argument or a @target that cannot be written; -ENOBUFS when not
 *   even the header, question and OPT fit.
 */
ssize_t trellis_dns_safe_search_reply_build (const uint8_t *packet,
                                             size_t len,
                                             const TrellisDnsQuery *query,
                                             const char *target,
                                             const uint8_t *upstream,
                                             size_t upstream_len,
                                             uint16_t upstream_id,
                                             bool stream,
                                             uint8_t *buf,
                                             size_t cap);
