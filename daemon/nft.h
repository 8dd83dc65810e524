/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nft.h — trellisd's own nftables table, built with libnftnl and sent with
 * libmnl in one batch: one transaction, so the old table stays whole until
 * the new one commits.  Only the table named in the config is ever touched.
 *
 * Kernel-facing conventions: >= 0 or -errno, never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mnl_nlmsg_batch;

/* How rules hand packets to the queue. */
typedef enum {
  TRELLIS_QUEUE_EXPR_NATIVE = 0,  /* nft "queue" expression (nft_queue) */
  TRELLIS_QUEUE_EXPR_XT,          /* xtables NFQUEUE target, revision 3, via "target" */
} TrellisQueueExpr;

#define TRELLIS_NFT_TABLE_DEFAULT "trellis"
#define TRELLIS_NFT_MARK_DEFAULT  0x54524cu  /* "TRL": a query trellisd answers */

/*
 * The table, for the desktop case (principals are uids):
 *
 *   table inet trellis {
 *     set protected-uids { type uid; }                      # the children's uids
 *     chain dns-queue { type filter hook output priority -150; policy accept;
 *       meta skuid @protected-uids udp dport 53 queue num N [bypass]
 *       meta skuid @protected-uids tcp dport 53 ct state new queue num N [bypass]  # SYN: learn the flow
 *     }
 *     chain dns-redirect { type nat hook output priority -100; policy accept;
 *       meta mark MARK udp dport 53 redirect to :PORT   # a blocked query
 *       meta mark MARK tcp dport 53 redirect to :PORT   # every connection trellisd saw
 *     }
 *     chain dns-guard { type filter hook postrouting priority 100; policy accept;
 *       meta mark MARK udp dport 53 drop     # marked but not redirected: never leaves
 *       meta mark MARK tcp dport 53 drop
 *     }
 *
 * TCP is redirected by the mark trellisd's verdict sets on the SYN, not by
 * uid, so that with on-failure=open (bypass) and trellisd gone, a child's TCP
 * DNS goes to its server unfiltered instead of to a dead answerer.
 *   }
 *
 * The set's key is nft's "uid" datatype (key type 24 in nftables' datatype
 * numbering, 4 bytes, host byte order, recorded in the set's user data as
 * nft does) so that "nft list" prints "type uid" and the uids as numbers.
 * Where the kernel lacks the native queue expression the queue rules end in
 * the xtables NFQUEUE target instead: "nft list" prints that as
 * "queue num N [bypass]" (with a warning about iptables-nft on stderr) and
 * "nft -j" as {"xt": {"type": "target", "name": "NFQUEUE"}}.
 */
typedef struct {
  const char       *table;        /* table name in family inet, 1 to 255 bytes */
  uint16_t          queue_num;
  bool              bypass;       /* on-failure=open: the queue's bypass flag */
  uint16_t          answer_port;  /* the answerer's UDP and TCP port on loopback; != 53 */
  uint32_t          mark;         /* the mark a "block" verdict sets; != 0 */
  const uint32_t   *uids;         /* the protected uids */
  size_t            n_uids;
  TrellisQueueExpr  queue_expr;
} TrellisNftConfig;

/* No single message of a batch is larger than this: the set's elements are
 * split across as many messages as it takes.  A batch buffer needs this much
 * room past the limit given to mnl_nlmsg_batch_start(). */
#define TRELLIS_NFT_MSG_SIZE_MAX 8192u

/**
 * trellis_nft_batch_count:
 * Returns: the number of netlink messages trellis_nft_batch_build() puts in
 * the batch for @config, BATCH_BEGIN and BATCH_END included; renders nothing.
 */
size_t trellis_nft_batch_count (const TrellisNftConfig *config);

/**
 * trellis_nft_batch_size:
 * Returns: a batch limit, in bytes, big enough for @config: start the batch
 * with mnl_nlmsg_batch_start (buf, limit) on a buffer of at least limit +
 * TRELLIS_NFT_MSG_SIZE_MAX bytes.  Renders nothing.
 */
size_t trellis_nft_batch_size (const TrellisNftConfig *config);

/**
 * trellis_nft_batch_build:
 * @seq: in: the first sequence number to use; out: the next free one
 *
 * Fills @batch with BATCH_BEGIN, the table's replacement (add table, delete
 * table, then the whole table again, so it works whether or not the table
 * exists and never leaves a half-built one) and BATCH_END.  Every message
 * but BATCH_BEGIN and BATCH_END asks for an ACK.  The batch must have room
 * for TRELLIS_NFT_MSG_SIZE_MAX bytes past its limit.
 * Returns: 0 or -errno (-EINVAL for a bad config, -ENOBUFS when the batch
 * limit is too small; the batch is then incomplete).
 */
int trellis_nft_batch_build (const TrellisNftConfig  *config,
                             struct mnl_nlmsg_batch  *batch,
                             uint32_t                *seq);

/**
 * trellis_nft_apply:
 * Builds the batch and sends it, draining every ACK.  Returns: 0 or -errno
 * (the first error the kernel reported, in batch order); on failure the
 * kernel keeps the table it had.
 */
int trellis_nft_apply (const TrellisNftConfig *config);

/** trellis_nft_delete_table: removes the table; 0 also when it did not exist. */
int trellis_nft_delete_table (const char *table);

/**
 * trellis_nft_probe_queue_expr:
 * Asks the kernel, without changing anything, whether it has the native
 * nft queue expression: sends a throwaway table, chain and queue rule in a
 * batch without BATCH_END, which the kernel checks and then aborts (as
 * "nft --check" does).  Returns: 0 and sets @ret_expr, or -errno when the
 * kernel could not be asked at all.
 */
int trellis_nft_probe_queue_expr (TrellisQueueExpr *ret_expr);
