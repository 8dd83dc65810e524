/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * grants.h — what the parents lifted: each child's temporary grants
 * (approved requests: a name and the names below it, until a time) and
 * pause, as the event log keeps them, held in memory for the decisions.
 * Read by every decision (the queue, the answerer's threads, Why), written
 * when a parent answers or pauses: thread-safe, with a lock of its own.
 */
#pragma once

#include <glib.h>

#include "daemon/event-log.h"
#include "policy/trellis-policy.h"

G_BEGIN_DECLS

typedef struct _TrellisGrants TrellisGrants;

/** trellis_grants_new: no grant and no pause. */
TrellisGrants *trellis_grants_new (void);

void trellis_grants_free (TrellisGrants *grants);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisGrants, trellis_grants_free)

/**
 * trellis_grants_load:
 * @events: (nullable) the event log; without one nothing changes
 * @policy: the policy in force, whose children's pauses are read
 *
 * Replaces what @grants holds by the grants and pauses in force now in
 * @events.  A grant of a public suffix (approved before they were refused)
 * would lift every block under it: it is left out, and logged.
 */
void trellis_grants_load (TrellisGrants *grants,
                          TrellisEventLog *events,
                          TrellisPolicy *policy);

/**
 * trellis_grants_lift:
 * @decision: (inout) the policy's decision for @qname and @child at @now
 *
 * A parent's pause or temporary grant lifts a block, never the rules that
 * keep the filter whole: when @decision blocks by any rule but an integrity
 * one, and @child is paused at @now or has a grant of @qname or a name
 * above it, @decision becomes an allow by the policy's default rule.
 * Returns whether it did.
 */
gboolean trellis_grants_lift (TrellisGrants *grants,
                              TrellisPolicy *policy,
                              const char *child,
                              const char *qname,
                              gint64 now,
                              TrellisDecision *decision);

/**
 * trellis_grants_dup_pauses:
 * Returns: (transfer full) a copy of the pauses held now: child name →
 * gint64* until (unix seconds), each owned by the table.
 */
GHashTable *trellis_grants_dup_pauses (TrellisGrants *grants);

/** trellis_grants_get_paused_until: when @child's pause ends, 0 when not paused at @now. */
gint64 trellis_grants_get_paused_until (TrellisGrants *grants,
                                        const char *child,
                                        gint64 now);

G_END_DECLS
