/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nft-plan.h — the kernel plan: trellisd's nftables table (sets, chains,
 * rules) as plain data.  One library builds it from the household; the
 * daemon turns it into a libnftnl batch (daemon/nft.c) and the CLI renders
 * it as the text `nft list table inet NAME` prints (trellis policy show
 * --nft).  Nothing here knows libnftnl: the CLI never links it.
 *
 * The table, for the desktop case (principals are uids):
 *
 *   table inet trellis {
 *     set protected-uids { type uid; }                       # every child's uids
 *     chain dns-zone { type filter hook output priority raw (-300); policy accept;
 *       meta mark REPLY_MARK notrack                  # trellisd's answers in a server's name
 *       meta skuid @protected-uids udp dport 53 ct original zone set ZONE
 *       meta skuid @protected-uids tcp dport 53 ct original zone set ZONE
 *     }
 *     chain dns-queue { type filter hook output priority mangle (-150); policy accept;
 *       meta skuid @protected-uids udp dport 53 queue num N[-M fanout] [bypass]
 *       meta skuid @protected-uids tcp dport 53 ct state new queue num N[-M fanout] [bypass]  # SYN
 *     }
 *     chain dns-redirect { type nat hook output priority -100; policy accept;
 *       meta mark MARK udp dport 53 redirect to :PORT   # a blocked query
 *       meta mark MARK tcp dport 53 redirect to :PORT   # every connection trellisd saw
 *     }
 *     chain dns-guard { type filter hook postrouting priority srcnat (100); policy accept;
 *       meta mark MARK udp dport 53 queue num N[-M fanout]   # marked but not redirected: trellisd
 *                                                 # answers it and drops it; never bypass
 *       meta mark MARK tcp dport 53 drop
 *     }
 *   }
 *
 * With several queues (one per trellisd queue thread: N to M, queue_total
 * of them), the kernel spreads the packets over them by the CPU that
 * handles each one (CPU fanout), so that two cores judge twice as many.
 * A queue of anything else (say, DNS answers) takes a number outside N-M.
 *
 * The zone keeps the conntrack entries of protected accounts' DNS flows
 * apart, in their original direction only: a parent's new query whose
 * addresses and ports are those of a child's redirected flow still in the
 * conntrack table would otherwise follow that entry to the answerer.
 * Replies, in no zone, find the entries as before.
 *
 * TCP is redirected by the mark trellisd's verdict sets on the SYN, not by
 * uid, so that with on-failure=open (bypass) and trellisd gone, a child's TCP
 * DNS goes to its server unfiltered instead of to a dead answerer.
 *
 * Only when some child has blocked categories with address lists (a
 * category's `cidrs` file) does the plan grow, per such child NAME, the sets
 * child-NAME-uids (type uid), child-NAME-v4 (type ipv4_addr, flags interval)
 * and child-NAME-v6 (type ipv6_addr, flags interval), and a chain
 *
 *     chain ip-block { type filter hook output priority filter (0); policy accept;
 *       meta skuid @child-NAME-uids ip daddr @child-NAME-v4 reject
 *       meta skuid @child-NAME-uids ip6 daddr @child-NAME-v6 reject
 *     }
 *
 * (a rule only for a family that has addresses).
 *
 * The network policy (docs/decisions.md, "Network policy in the kernel"):
 * shared sets helplines-v4/-v6 (flags timeout: helplines' addresses, learned
 * from their answers), doh-v4/-v6 (flags interval: DNS-over-HTTPS endpoints'
 * shipped addresses), doh-learned-v4/-v6 (flags timeout: their addresses as
 * trellisd resolves them), paused-uids (flags timeout) and learn-uids (the
 * uids of children with quiet hours or allow-list mode, whose DNS answers
 * trellisd reads); per child NAME with quiet hours or allow-list mode,
 * child-NAME-uids, child-NAME-quiet (typeof meta time, flags interval: the
 * quiet times, absolute) and child-NAME-learned-v4/-v6 (flags timeout: the
 * addresses of allowed answers).  Then
 *
 *     chain dns-learn { type filter hook output priority -140; policy accept;
 *       meta skuid @learn-uids udp dport 53 ct mark set LEARN
 *     }
 *     chain dns-answers { type filter hook input priority mangle; policy accept;
 *       ct mark LEARN udp sport 53 queue num N+1 [bypass]   # read, learned, let go
 *     }
 *     chain net-policy { type filter hook output priority filter; policy accept;
 *       meta skuid @protected-uids ip daddr @helplines-v4 accept     # first, always
 *       meta skuid @protected-uids ip6 daddr @helplines-v6 accept
 *       meta skuid @protected-uids tcp dport 853 reject              # DNS-over-TLS
 *       meta skuid @protected-uids udp dport 853 reject              # DNS-over-QUIC
 *       meta skuid @protected-uids ip daddr @doh-v4 tcp dport != 53 reject   # a resolver's
 *       meta skuid @protected-uids ip daddr @doh-v4 udp dport != 53 reject   # own address
 *       meta skuid @protected-uids ip daddr @doh-learned-v4 tcp dport 443 reject
 *       ... udp 443, and the same for ip6
 *       oif "lo" accept                                              # local IPC
 *       meta mark MARK accept                                        # sent to the answerer
 *       udp dport 53 accept                                          # the queue's job
 *       tcp dport 53 accept
 *       meta skuid @paused-uids accept                               # a parent's pause
 *       meta skuid @child-NAME-uids meta time @child-NAME-quiet ct state new reject
 *       meta skuid @child-NAME-uids ct state new ip daddr != @child-NAME-learned-v4 reject
 *       meta skuid @child-NAME-uids ct state new ip6 daddr != @child-NAME-learned-v6 reject
 *     }
 *
 * Sets with flags timeout are filled at run time only: the plan declares
 * them empty, and trellis_nft_update_sets() leaves their elements alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "policy/trellis-policy.h"

G_BEGIN_DECLS

/* trellisd's defaults, in one place: the daemon's options and the CLI's
 * rendering both read them. */
#define TRELLIS_NFT_TABLE_DEFAULT       "trellis"
#define TRELLIS_NFT_MARK_DEFAULT        0x54524cu /* "TRL": a query trellisd answers */
#define TRELLIS_NFT_QUEUE_NUM_DEFAULT   5353
#define TRELLIS_NFT_ANSWER_PORT_DEFAULT 5354
#define TRELLIS_NFT_LEARN_MARK_DEFAULT  0x54524c41u /* "TRLA": conntrack mark, answer read */
#define TRELLIS_NFT_CT_ZONE_DEFAULT     0x5452u     /* "TR": protected DNS flows' conntrack zone */
/* The mark (SO_MARK) of the answers trellisd writes in a server's name on
 * a raw socket ("TRLR").  They are not tracked: conntrack would make an
 * entry for each (the query it answers was dropped, unconfirmed), and when
 * the child's resolver reuses a source port, NAT keeps the tuples unique
 * by giving such an answer another destination port, where no one reads
 * it. */
#define TRELLIS_NFT_REPLY_MARK 0x54524c52u

/* The names in the table. */
#define TRELLIS_NFT_SET_PROTECTED_UIDS "protected-uids"
#define TRELLIS_NFT_CHAIN_ZONE         "dns-zone"
#define TRELLIS_NFT_CHAIN_QUEUE        "dns-queue"
#define TRELLIS_NFT_CHAIN_REDIRECT     "dns-redirect"
#define TRELLIS_NFT_CHAIN_GUARD        "dns-guard"
#define TRELLIS_NFT_CHAIN_IP_BLOCK     "ip-block"
#define TRELLIS_NFT_CHAIN_LEARN        "dns-learn"
#define TRELLIS_NFT_CHAIN_ANSWERS      "dns-answers"
#define TRELLIS_NFT_CHAIN_NET_POLICY   "net-policy"
#define TRELLIS_NFT_SET_LEARN_UIDS     "learn-uids"
#define TRELLIS_NFT_SET_PAUSED_UIDS    "paused-uids"
#define TRELLIS_NFT_SET_HELPLINES_V4   "helplines-v4"
#define TRELLIS_NFT_SET_HELPLINES_V6   "helplines-v6"
#define TRELLIS_NFT_SET_DOH_V4         "doh-v4"
#define TRELLIS_NFT_SET_DOH_V6         "doh-v6"
#define TRELLIS_NFT_SET_DOH_LEARNED_V4 "doh-learned-v4"
#define TRELLIS_NFT_SET_DOH_LEARNED_V6 "doh-learned-v6"

/* At most this many queues for the queries (trellisd's queue threads). */
#define TRELLIS_NFT_QUEUE_TOTAL_MAX 16

/* Gateway mode: the packet mark of child (or group) @i's devices, set in
 * prerouting; trellisd reads a queued query's principal from it. */
#define TRELLIS_NFT_DEVICE_MARK_BASE       0x54524400u /* "TRD\0" */
#define TRELLIS_NFT_DEVICE_MARK(i)         (TRELLIS_NFT_DEVICE_MARK_BASE + (uint32_t) (i))
#define TRELLIS_NFT_DEVICE_PROFILES_MAX    256u
#define TRELLIS_NFT_CHAIN_GW_CLASSIFY      "gateway-devices"
#define TRELLIS_NFT_CHAIN_GW_QUEUE         "gateway-dns-queue"
#define TRELLIS_NFT_CHAIN_GW_REDIRECT      "gateway-dns-redirect"
#define TRELLIS_NFT_CHAIN_GW_GUARD_IN      "gateway-dns-guard"
#define TRELLIS_NFT_CHAIN_GW_ANSWERS       "gateway-dns-answers"
#define TRELLIS_NFT_CHAIN_GW_ANSWERS_LOCAL "gateway-dns-answers-local"
#define TRELLIS_NFT_CHAIN_GW_POLICY        "gateway-net-policy"

/* At most this many uids in one set. */
#define TRELLIS_NFT_UIDS_MAX (1u << 20)

/* How rules hand packets to the queue. */
typedef enum {
  TRELLIS_QUEUE_EXPR_NATIVE = 0, /* nft "queue" expression (nft_queue) */
  TRELLIS_QUEUE_EXPR_XT,         /* xtables NFQUEUE target, revision 3, via "target" */
} TrellisQueueExpr;

/* A set's key: nft's datatypes "uid", "ipv4_addr", "ipv6_addr". */
typedef enum {
  TRELLIS_NFT_KEY_UID = 0,
  TRELLIS_NFT_KEY_IPV4_ADDR,
  TRELLIS_NFT_KEY_IPV6_ADDR,
  TRELLIS_NFT_KEY_TIME,       /* typeof meta time: nanoseconds since 1970, UTC */
  TRELLIS_NFT_KEY_ETHER_ADDR, /* ether_addr: a MAC, kept in a TrellisNftCidr's first 6 bytes */
} TrellisNftKeyType;

/* A stretch of time, [start, end), in nanoseconds since 1970 (UTC). */
typedef struct {
  int64_t start;
  int64_t end;
} TrellisNftTimeRange;

/* An address range written as a prefix: @addr in network byte order (4
 * bytes used for IPv4), host bits zero. */
typedef struct {
  uint8_t addr[16];
  uint8_t prefix_len;
} TrellisNftCidr;

typedef struct {
  char *name; /* (owned) */
  TrellisNftKeyType key;
  bool interval;  /* flags interval (address sets) */
  uint32_t *uids; /* (owned) (nullable) KEY_UID: sorted, unique */
  size_t n_uids;
  TrellisNftCidr *cidrs; /* (owned) (nullable) address keys: sorted, none inside another */
  size_t n_cidrs;
  TrellisNftTimeRange *times; /* (owned) (nullable) KEY_TIME: sorted, apart */
  size_t n_times;
  bool timeout; /* flags timeout: filled at run time, declared empty */
  char *child;  /* (owned) (nullable) the child it belongs to; NULL: shared */
} TrellisNftSet;

typedef enum {
  TRELLIS_NFT_CHAIN_FILTER = 0,
  TRELLIS_NFT_CHAIN_NAT,
} TrellisNftChainType;

/* The hooks, with the kernel's NF_INET_* numbers. */
typedef enum {
  TRELLIS_NFT_HOOK_PREROUTING = 0,
  TRELLIS_NFT_HOOK_INPUT = 1,
  TRELLIS_NFT_HOOK_FORWARD = 2,
  TRELLIS_NFT_HOOK_OUTPUT = 3,
  TRELLIS_NFT_HOOK_POSTROUTING = 4,
} TrellisNftHook;

/* A base chain; its policy is always accept. */
typedef struct {
  char *name; /* (owned) */
  TrellisNftChainType type;
  TrellisNftHook hook;
  int32_t priority;
} TrellisNftChain;

typedef enum {
  TRELLIS_NFT_STEP_SKUID_IN_SET = 0,     /* meta skuid @SET */
  TRELLIS_NFT_STEP_MARK,                 /* meta mark VALUE */
  TRELLIS_NFT_STEP_UDP_DPORT,            /* udp dport VALUE (meta l4proto udp + th dport) */
  TRELLIS_NFT_STEP_TCP_DPORT,            /* tcp dport VALUE */
  TRELLIS_NFT_STEP_CT_STATE_NEW,         /* ct state new */
  TRELLIS_NFT_STEP_IP_DADDR_IN_SET,      /* ip daddr @SET (meta nfproto ipv4 implied) */
  TRELLIS_NFT_STEP_IP6_DADDR_IN_SET,     /* ip6 daddr @SET (meta nfproto ipv6 implied) */
  TRELLIS_NFT_STEP_COUNTER,              /* counter */
  TRELLIS_NFT_STEP_QUEUE,                /* queue num VALUE[-(VALUE+TOTAL-1) fanout] [bypass],
                                       * plan->queue_expr */
  TRELLIS_NFT_STEP_REDIRECT,             /* redirect to :VALUE */
  TRELLIS_NFT_STEP_DROP,                 /* drop */
  TRELLIS_NFT_STEP_REJECT,               /* reject: ICMP/ICMPv6 port unreachable after an
                                       * ip/ip6 match, ICMPx port unreachable otherwise */
  TRELLIS_NFT_STEP_ACCEPT,               /* accept */
  TRELLIS_NFT_STEP_OIF_LO,               /* oif "lo" (ifindex 1 in every namespace) */
  TRELLIS_NFT_STEP_UDP_SPORT,            /* udp sport VALUE */
  TRELLIS_NFT_STEP_TIME_IN_SET,          /* meta time @SET */
  TRELLIS_NFT_STEP_IP_DADDR_NOT_IN_SET,  /* ip daddr != @SET */
  TRELLIS_NFT_STEP_IP6_DADDR_NOT_IN_SET, /* ip6 daddr != @SET */
  TRELLIS_NFT_STEP_CT_MARK,              /* ct mark VALUE */
  TRELLIS_NFT_STEP_CT_MARK_SET,          /* ct mark set VALUE */
  TRELLIS_NFT_STEP_IIFNAME,              /* iifname "NAME": VALUE indexes plan->ifnames */
  TRELLIS_NFT_STEP_ETHER_SADDR_IN_SET,   /* ether saddr @SET (meta iiftype ether implied) */
  TRELLIS_NFT_STEP_IP_SADDR_IN_SET,      /* ip saddr @SET */
  TRELLIS_NFT_STEP_IP6_SADDR_IN_SET,     /* ip6 saddr @SET */
  TRELLIS_NFT_STEP_MARK_SET,             /* meta mark set VALUE */
  TRELLIS_NFT_STEP_UDP_DPORT_NOT,        /* udp dport != VALUE */
  TRELLIS_NFT_STEP_TCP_DPORT_NOT,        /* tcp dport != VALUE */
  TRELLIS_NFT_STEP_CT_ZONE_SET,          /* ct original zone set VALUE (16 bits) */
  TRELLIS_NFT_STEP_NOTRACK,              /* notrack */
} TrellisNftStepKind;

typedef struct {
  TrellisNftStepKind kind;
  size_t set;     /* *_IN_SET: index in plan->sets */
  uint32_t value; /* MARK, *_DPORT, QUEUE, REDIRECT */
  bool bypass;    /* QUEUE */
  uint32_t total; /* QUEUE: the queues VALUE to VALUE + TOTAL - 1, spread
                                 * by CPU (fanout) when more than one; 0 counts as 1 */
} TrellisNftStep;

typedef struct {
  size_t chain;          /* index in plan->chains */
  TrellisNftStep *steps; /* (owned) in order: matches, then one statement */
  size_t n_steps;
  char *child; /* (owned) (nullable) the child it concerns; NULL: shared */
} TrellisNftRule;

/* The uids of one child, so a view of the plan can keep to that child. */
typedef struct {
  char *name;     /* (owned) */
  uint32_t *uids; /* (owned) (nullable) sorted, unique */
  size_t n_uids;
} TrellisNftChild;

/* The whole table, family inet.  Immutable once built. */
typedef struct {
  char *table; /* (owned) */
  TrellisQueueExpr queue_expr;
  TrellisNftSet *sets; /* (owned) in the order they are created */
  size_t n_sets;
  TrellisNftChain *chains; /* (owned) */
  size_t n_chains;
  TrellisNftRule *rules; /* (owned) in order; a chain's rules in its order */
  size_t n_rules;
  TrellisNftChild *children; /* (owned) */
  size_t n_children;
  char **ifnames; /* (owned) (nullable) the gateway's interfaces, for IIFNAME */
  size_t n_ifnames;
} TrellisNftPlan;

/* One child's part of the parameters. */
typedef struct {
  const char *name;     /* the NAME of [child NAME]: letters, digits, - and _ */
  const uint32_t *uids; /* (nullable) its accounts' uids, any order */
  size_t n_uids;
  const TrellisNftCidr *v4; /* (nullable) the blocked categories' IPv4 ranges */
  size_t n_v4;
  const TrellisNftCidr *v6; /* (nullable) and IPv6 ranges */
  size_t n_v6;
  bool quiet;                             /* quiet-hours= given: a quiet set and rule */
  const TrellisNftTimeRange *quiet_times; /* (nullable) the quiet times, any order */
  size_t n_quiet_times;
  bool allowlist; /* mode=allowlist: only learned addresses */
  /* Gateway mode: its devices (a gateway's plan only). */
  const TrellisNftCidr *macs; /* (nullable) MACs, in addr[0..5] */
  size_t n_macs;
  const TrellisNftCidr *dev_v4; /* (nullable) its devices' IPv4 addresses and ranges */
  size_t n_dev_v4;
  const TrellisNftCidr *dev_v6; /* (nullable) and IPv6 */
  size_t n_dev_v6;
} TrellisNftPlanChild;

typedef struct {
  const char *table; /* 1 to 255 bytes */
  uint16_t queue_num;
  uint16_t queue_total; /* queues from queue_num on, 1 to
                                             * TRELLIS_NFT_QUEUE_TOTAL_MAX; 0 counts as 1 */
  uint16_t answer_port; /* != 0, != 53 */
  uint32_t mark;        /* != 0 */
  bool bypass;          /* on-failure=open */
  TrellisQueueExpr queue_expr;
  const TrellisNftPlanChild *children; /* (nullable) */
  size_t n_children;
  bool net_policy;              /* the network policy's sets and chains
                                             * (trellis_nft_plan_new_for_policy() always) */
  uint16_t answers_queue_num;   /* outside the queries' queues; 0: the
                                                   * first after them (queue_num + queue_total) */
  uint32_t learn_mark;          /* conntrack mark; 0: TRELLIS_NFT_LEARN_MARK_DEFAULT */
  const TrellisNftCidr *doh_v4; /* (nullable) DoH endpoints' shipped addresses */
  size_t n_doh_v4;
  const TrellisNftCidr *doh_v6;
  size_t n_doh_v6;
  /* Gateway mode (docs/gateway.md): the interfaces the devices are on;
   * none: not a gateway.  Each device is given the mark
   * TRELLIS_NFT_DEVICE_MARK (i) of the child i it belongs to, the devices
   * listed nowhere that of @gateway_default. */
  const char *const *gateway_ifnames; /* (nullable) */
  size_t n_gateway_ifnames;
  size_t gateway_default; /* index in @children */
} TrellisNftPlanParams;

/* What the household does not say: where the daemon's table, queue and
 * answerer are. */
typedef struct {
  const char *table; /* (nullable) NULL: TRELLIS_NFT_TABLE_DEFAULT */
  uint16_t queue_num;
  uint16_t queue_total; /* 0: 1 */
  uint16_t answer_port;
  uint32_t mark; /* 0: TRELLIS_NFT_MARK_DEFAULT */
  TrellisQueueExpr queue_expr;
  int64_t now_us;           /* the moment the quiet times start from (unix
                                    * microseconds); 0: now */
  int64_t kernel_offset_us; /* subtracted from the quiet times: a
                                         * test's fake clock minus the real one */
} TrellisNftPlanTuning;

/**
 * trellis_nft_queue_total_default:
 * How many queues trellisd reads when not told (--queue-threads): one per
 * CPU it may run on, at most TRELLIS_NFT_QUEUE_TOTAL_MAX.  The CLI renders
 * the plan with the same number.
 */
guint trellis_nft_queue_total_default (void);

/**
 * TrellisNftPlanResolve:
 * Finds the uid of a Linux account.  Returns: TRUE and sets @ret_uid, or
 * FALSE when the account does not exist (it is then left out: it has no
 * packets to filter).
 */
typedef gboolean (*TrellisNftPlanResolve) (const char *account,
                                           uint32_t *ret_uid,
                                           gpointer user_data);

/**
 * trellis_nft_plan_new:
 * Builds the plan of the table described above from @params (copied).
 * Returns: (transfer full) the plan, or NULL with @error set
 * (TRELLIS_POLICY_ERROR_INVALID) for a bad parameter.
 */
TrellisNftPlan *trellis_nft_plan_new (const TrellisNftPlanParams *params,
                                      GError **error);

/**
 * trellis_nft_plan_new_for_policy:
 * @resolve: (nullable): account → uid; NULL looks the account up with getpwnam()
 *
 * The plan for @policy: every child's accounts, on-failure= for the queue's
 * bypass flag, each child's quiet hours (trellis_nft_quiet_horizon()) and
 * mode, the DNS-over-HTTPS endpoints' addresses, @tuning for the rest.  No category ships an address list
 * yet and trellis-policy.h has no call for one, so the address sets and
 * the ip-block chain are never made here (trellis_nft_plan_new() takes them).
 * An account that resolves to uid 0 is refused.
 * Returns: (transfer full) the plan, or NULL with @error set.
 */
TrellisNftPlan *trellis_nft_plan_new_for_policy (TrellisPolicy *policy,
                                                 const TrellisNftPlanTuning *tuning,
                                                 TrellisNftPlanResolve resolve,
                                                 gpointer user_data,
                                                 GError **error);

void trellis_nft_plan_free (TrellisNftPlan *plan);

/**
 * trellis_nft_quiet_horizon:
 * The stretch of time whose quiet windows a plan made at @now_us holds:
 * from the household's midnight before @now_us, less a day (a window of
 * the evening before spills over), to the midnight 8 days after.  The
 * same for every moment of one local day, so the CLI and trellisd make
 * the same plan; trellisd plans again at the next local midnight (and at
 * each change of the zone's offset).  Sets @ret_from_us, @ret_to_us.
 */
void trellis_nft_quiet_horizon (TrellisPolicy *policy,
                                int64_t now_us,
                                int64_t *ret_from_us,
                                int64_t *ret_to_us);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisNftPlan, trellis_nft_plan_free)

/**
 * trellis_nft_plan_same_shape:
 * TRUE when @a and @b have the same table, sets (by name and type), chains
 * and rules, whatever the sets' elements: the one can then become the other
 * by replacing set elements only, without touching a chain.
 */
gboolean trellis_nft_plan_same_shape (const TrellisNftPlan *a,
                                      const TrellisNftPlan *b);

/** trellis_nft_set_same_elements: TRUE when @a and @b hold the same elements. */
gboolean trellis_nft_set_same_elements (const TrellisNftSet *a,
                                        const TrellisNftSet *b);

/** trellis_nft_plan_find_set: (nullable) the set named @name. */
const TrellisNftSet *trellis_nft_plan_find_set (const TrellisNftPlan *plan,
                                                const char *name);

/**
 * trellis_nft_plan_render:
 * @child: (nullable): a child's name, for a view of what concerns it
 *
 * The plan as nft 1.0.6 prints it (`nft list table inet NAME`, the
 * xtables NFQUEUE target printed as `queue num N[-M] [bypass|bypass,fanout|fanout]`;
 * the native queue expression as `queue [flags bypass[,fanout] ]to N[-M]`), byte
 * for byte.
 *
 * With @child: the same layout, but a uid set lists only that child's uids,
 * another child's sets and rules are left out, and a chain left with no
 * rules is still shown (so the hooks stay visible).  It is a view, not the
 * kernel's table.  Returns: (transfer full) the text, or NULL when @child
 * is not in the plan.
 */
char *trellis_nft_plan_render (const TrellisNftPlan *plan,
                               const char *child);

G_END_DECLS
