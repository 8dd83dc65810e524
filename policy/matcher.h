/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * matcher.h — the in-memory suffix matcher of this milestone.
 *
 * A TrellisMatcher maps normalized domains to rule ids.  A name matches a
 * domain when it equals it or ends with "." + domain.  A later milestone
 * replaces this with a compiled, memory-mapped index; the callers only see
 * rule ids, so they will not change.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TrellisMatcher TrellisMatcher;

/** trellis_matcher_new: an empty matcher.  Returns: (transfer full). */
TrellisMatcher *trellis_matcher_new (void);

/** trellis_matcher_free: frees @matcher (NULL is allowed). */
void trellis_matcher_free (TrellisMatcher *matcher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisMatcher, trellis_matcher_free)

/**
 * trellis_matcher_insert:
 * @domain: a name already normalized by trellis_domain_normalize()
 *
 * Adds @domain → @rule_id.  Returns: FALSE, with @ret_existing_id set to the
 * rule already there, when @domain is already in @matcher.
 */
gboolean trellis_matcher_insert (TrellisMatcher *matcher,
                                 const char *domain,
                                 guint rule_id,
                                 guint *ret_existing_id);

/** trellis_matcher_lookup_exact: the rule for exactly @domain, if any. */
gboolean trellis_matcher_lookup_exact (const TrellisMatcher *matcher,
                                       const char *domain,
                                       guint *ret_rule_id);

/**
 * trellis_matcher_lookup:
 * @name: a lower-case name without a trailing dot
 *
 * Walks the suffixes of @name from the longest to the shortest and returns the
 * first one that @matcher holds: the most specific rule.
 */
gboolean trellis_matcher_lookup (const TrellisMatcher *matcher,
                                 const char *name,
                                 guint *ret_rule_id);

/**
 * trellis_matcher_next_suffix:
 *
 * The suffix of @name one label shorter ("b.example.com" for
 * "a.b.example.com"), or NULL after the last label.  A backslash escape in
 * presentation form ("\." or "\046") is never taken for a label separator.
 */
const char *trellis_matcher_next_suffix (const char *name);

/**
 * trellis_matcher_decide:
 * @helplines: (nullable): shared by every child
 * @rules: (nullable): the child's own allow= and deny=
 * @integrity: (nullable): shared by every child
 * @name: as for trellis_matcher_lookup()
 *
 * The decision walk.  A helpline on any suffix of @name wins over everything,
 * so that no rule of a household, however specific, can block a helpline.
 * Then the suffixes are walked from the most specific to the least, and at
 * each one the child's rule comes before the integrity rule, so the most
 * specific rule decides ("allow = icloud.com" does not open
 * mask.icloud.com).  Returns: the rule id, or 0 (the default) when nothing
 * matched.
 */
guint trellis_matcher_decide (const TrellisMatcher *helplines,
                              const TrellisMatcher *rules,
                              const TrellisMatcher *integrity,
                              const char *name);

G_END_DECLS
