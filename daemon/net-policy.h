/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * net-policy.h — the network policy at run time: what the kernel plan
 * (policy/nft-plan.h) declares empty and trellisd fills as it goes.
 *
 * - The answers queue: DNS answers to the children whose answers are read
 *   (quiet hours, allow-list mode) come to trellisd on their own queue,
 *   marked by conntrack; their addresses go into the helplines' set (a
 *   helpline's answer) or the child's learned set (an allowed answer in
 *   allow-list mode), with a timeout of the answer's TTL within bounds,
 *   before the answer's verdict is given, so the child's first connection
 *   finds them there.
 * - The DNS-over-HTTPS endpoints: trellisd resolves the listed names itself,
 *   in a thread, and refuses their addresses on 443 (doh-learned-v4/-v6),
 *   again when the TTL runs out.
 * - A parent's pause: the child's uids in paused-uids until it ends.
 * - The table's guard: a netlink monitor (no polling) sees another process
 *   delete or flush trellisd's table, a chain, rules or sets, and asks the
 *   owner to put the table back.
 * - Everything learned is kept here too, so that a table put back whole
 *   gets it again.
 *
 * The owner (trellisd.c) decides names and repairs the table through the
 * hooks below; this file never calls into it.
 */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

#include "daemon/flows.h"

G_BEGIN_DECLS

typedef enum {
  TRELLIS_LEARN_NONE = 0, /* the answer teaches nothing */
  TRELLIS_LEARN_HELPLINE, /* a helpline's: helplines-v4/-v6, for everyone */
  TRELLIS_LEARN_CHILD,    /* allowed in allow-list mode: child-NAME-learned-v4/-v6 */
} TrellisLearn;

typedef struct {
  /* What @qname's answer teaches for @uid; for CHILD, *@ret_child is the
   * child's name (transfer full).  Called in the answers queue's thread. */
  TrellisLearn (*classify) (uid_t uid, const char *qname, char **ret_child, gpointer user_data);
  /* The table was changed by another process (@pid, 0 when not known):
   * put it back.  Called on the main thread. */
  void (*repair) (guint32 pid, gpointer user_data);
} TrellisNetPolicyHooks;

typedef struct {
  const char *table; /* nft table, family inet */
  guint16 answers_queue_num;
  guint32 mark;  /* the daemon's packet mark (unused on answers) */
  guint ttl_min; /* seconds: bounds of what is learned */
  guint ttl_max;
  const char *const *resolvers; /* (nullable) the servers trellisd asks for the
                                    * DoH endpoints; NULL: /etc/resolv.conf's */
} TrellisNetPolicyConfig;

typedef struct _TrellisNetPolicy TrellisNetPolicy;

/**
 * trellis_net_policy_new:
 * Binds the answers queue and the netlink monitor in the current network
 * namespace and starts the DoH resolver.  @config is copied; @flows is the
 * daemon's (it knows whose each query was).
 */
TrellisNetPolicy *trellis_net_policy_new (const TrellisNetPolicyConfig *config,
                                          TrellisFlowTable *flows,
                                          const TrellisNetPolicyHooks *hooks,
                                          gpointer user_data,
                                          GError **error);

void trellis_net_policy_free (TrellisNetPolicy *np);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisNetPolicy, trellis_net_policy_free)

/**
 * trellis_net_policy_set_doh_names:
 * The DoH endpoints to resolve (copied), from the policy in force: new
 * ones are resolved soon, gone ones no longer.
 */
void trellis_net_policy_set_doh_names (TrellisNetPolicy *np,
                                       const char *const *names);

/**
 * trellis_net_policy_table_replaced:
 * The whole table was just replaced (its run-time sets are empty): adds
 * back everything learned that has not expired.
 */
void trellis_net_policy_table_replaced (TrellisNetPolicy *np);

/**
 * trellis_net_policy_pause:
 * @uids: the child's uids
 * @until: unix seconds; in the past: the pause ended
 * Returns: 0 or -errno.
 */
int trellis_net_policy_pause (TrellisNetPolicy *np,
                              const guint32 *uids,
                              gsize n_uids,
                              gint64 until);

/** trellis_net_policy_forget_child: drops what was learned for a child (no longer in allow-list mode). */
void trellis_net_policy_forget_child (TrellisNetPolicy *np,
                                      const char *child);

/** trellis_net_policy_learned_count: how many addresses the set @set holds as learned (tests, logs). */
guint trellis_net_policy_learned_count (TrellisNetPolicy *np,
                                        const char *set);

G_END_DECLS
