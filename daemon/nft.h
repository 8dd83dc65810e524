/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nft.h — trellisd's own nftables table: the plan of policy/nft-plan.h
 * turned into one libnftnl batch and sent with libmnl, one transaction, so
 * the old table stays whole until the new one commits.  Only the table
 * named in the plan is ever touched.  The table itself (its sets, chains
 * and rules) is described in policy/nft-plan.h; this file knows how each
 * kind of plan step is spelt in nf_tables expressions, nothing more.
 *
 * The uid sets' key is nft's "uid" datatype (key type 24 in nftables'
 * datatype numbering, 4 bytes, host byte order, recorded in the set's user
 * data as nft does) so that "nft list" prints "type uid" and the uids as
 * numbers; address sets are ipv4_addr (7) / ipv6_addr (8), big endian,
 * flags interval.  Where the kernel lacks the native queue expression the
 * queue rules end in the xtables NFQUEUE target instead: "nft list" prints
 * that as "queue num N [bypass]" (with a warning about iptables-nft on
 * stderr) and "nft -j" as {"xt": {"type": "target", "name": "NFQUEUE"}}.
 *
 * Kernel-facing conventions: >= 0 or -errno, never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/nft-plan.h"

struct mnl_nlmsg_batch;

/* No single message of a batch is larger than this: a set's elements are
 * split across as many messages as it takes.  A batch buffer needs this much
 * room past the limit given to mnl_nlmsg_batch_start(). */
#define TRELLIS_NFT_MSG_SIZE_MAX 8192u

/**
 * trellis_nft_batch_count:
 * Returns: the number of netlink messages trellis_nft_batch_build_plan()
 * puts in the batch for @plan, BATCH_BEGIN and BATCH_END included; renders
 * nothing.
 */
size_t trellis_nft_batch_count (const TrellisNftPlan *plan);

/**
 * trellis_nft_batch_size:
 * Returns: a batch limit, in bytes, big enough for @plan: start the batch
 * with mnl_nlmsg_batch_start (buf, limit) on a buffer of at least limit +
 * TRELLIS_NFT_MSG_SIZE_MAX bytes.  Renders nothing.
 */
size_t trellis_nft_batch_size (const TrellisNftPlan *plan);

/**
 * trellis_nft_batch_build_plan:
 * @seq: in: the first sequence number to use; out: the next free one
 *
 * Fills @batch with BATCH_BEGIN, the table's replacement (add table, delete
 * table, then the whole table again, so it works whether or not the table
 * exists and never leaves a half-built one: the sets with their elements,
 * the chains, the rules, each in plan order) and BATCH_END.  Every message
 * but BATCH_BEGIN and BATCH_END asks for an ACK.  The batch must have room
 * for TRELLIS_NFT_MSG_SIZE_MAX bytes past its limit.
 * Returns: 0 or -errno (-EINVAL for an inconsistent plan, -ENOBUFS when the
 * batch limit is too small; the batch is then incomplete).
 */
int trellis_nft_batch_build_plan (const TrellisNftPlan *plan,
                                  struct mnl_nlmsg_batch *batch,
                                  uint32_t *seq);

/**
 * trellis_nft_apply_plan:
 * Builds the batch and sends it, draining every ACK.  Returns: 0 or -errno
 * (the first error the kernel reported, in batch order); on failure the
 * kernel keeps the table it had.
 */
int trellis_nft_apply_plan (const TrellisNftPlan *plan);

/** trellis_nft_delete_table: removes the table; 0 also when it did not exist. */
int trellis_nft_delete_table (const char *table);

/**
 * trellis_nft_update_sets:
 * Replaces the elements of every set of @plan in the kernel, in one
 * transaction, and touches nothing else.  The table must already have
 * @plan's shape (trellis_nft_plan_same_shape() with the plan applied last).
 * Unlike a whole replacement, this never unregisters a hook, so packets
 * waiting in the queue at that moment keep their place.
 * Returns: 0 or -errno; on failure the kernel keeps the sets it had.
 */
int trellis_nft_update_sets (const TrellisNftPlan *plan);

/* One element added at run time: its key (4 bytes for a uid, host order;
 * 4 or 16 for an address, network order) and its timeout (0: none). */
typedef struct {
  uint8_t key[16];
  uint64_t timeout_ms;
} TrellisNftTimedElem;

/**
 * trellis_nft_set_add_timed:
 * Adds @n elements to the set @set of table inet @table (a set with flags
 * timeout), in one transaction; an element already there gets the new
 * timeout.  Returns: 0 or -errno (-ENOENT when there is no such set).
 */
int trellis_nft_set_add_timed (const char *table,
                               const char *set,
                               TrellisNftKeyType key,
                               const TrellisNftTimedElem *elems,
                               size_t n);

/** trellis_nft_set_flush: removes every element of @set.  Returns: 0 or -errno. */
int trellis_nft_set_flush (const char *table,
                           const char *set);

/**
 * trellis_nft_probe_queue_expr:
 * Asks the kernel, without changing anything, whether it has the native
 * nft queue expression: sends a throwaway table, chain and queue rule in a
 * batch without BATCH_END, which the kernel checks and then aborts (as
 * "nft --check" does).  Returns: 0 and sets @ret_expr, or -errno when the
 * kernel could not be asked at all.
 */
int trellis_nft_probe_queue_expr (TrellisQueueExpr *ret_expr);

/*
 * trellis_nft_portid_is_ours:
 * Whether @portid (the nlmsg_pid of an nf_tables event: the netlink port
 * of the socket whose transaction it reports) is that of a socket this
 * process sent one of its last batches from.  The event's
 * NFTA_GEN_PROC_PID is the sender's pid in the first pid namespace, which
 * a daemon in a container never sees as its own getpid().
 */
bool trellis_nft_portid_is_ours (uint32_t portid);
