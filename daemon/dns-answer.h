/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dns-answer.h — reading the addresses out of a DNS response (the answers
 * trellisd learns from: allow-list mode, helplines, DNS-over-HTTPS
 * endpoints).
 *
 * Kernel-facing conventions: >= 0 or -errno (-EBADMSG for a malformed
 * message), never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRELLIS_DNS_ANSWER_ADDRS_MAX 64

/* One address of an answer: @family 4 or 6, @addr in network order. */
typedef struct {
  uint8_t family;
  uint8_t addr[16];
  uint32_t ttl; /* seconds, as the answer gave it */
} TrellisDnsAddress;

typedef struct {
  char qname[256]; /* the question, presentation form, lower case, no final dot */
  uint16_t qtype;
  uint8_t rcode;
  size_t n_addrs;
  TrellisDnsAddress addrs[TRELLIS_DNS_ANSWER_ADDRS_MAX]; /* the A and AAAA records of the answer section */
} TrellisDnsResponse;

/**
 * trellis_dns_response_parse:
 * Reads a response (QR=1, one question): its question and every A and
 * AAAA record of its answer section (at most TRELLIS_DNS_ANSWER_ADDRS_MAX;
 * past that they are left out).  Compression pointers are followed
 * backward only, at most 64 of them a name.  Returns: 0 and fills
 * @ret_response, or -EBADMSG.
 */
int trellis_dns_response_parse (const uint8_t *packet,
                                size_t len,
                                TrellisDnsResponse *ret_response);
