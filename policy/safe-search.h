/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * safe-search.h — the search engines' documented safe-search endpoints,
 * shipped as data (policy/data/safe-search), and the lookup "which endpoint
 * does this exact host name go to at this level".
 *
 * Matching is by exact host name only: www.google.fr is rewritten,
 * mail.google.com is not.  A target is never itself rewritten.
 */
#pragma once

#include <glib.h>

#include "policy/trellis-policy.h"

G_BEGIN_DECLS

typedef struct _TrellisSafeSearch TrellisSafeSearch;

/**
 * trellis_safe_search_level_from_string:
 * @ret_level: (out): set only on success
 * Returns: FALSE for anything but "strict", "moderate" and "off".
 */
gboolean trellis_safe_search_level_from_string (const char *text,
                                                TrellisSafeSearchLevel *ret_level);

/**
 * trellis_safe_search_load:
 * @path: the data file (GKeyFile, see policy/data/safe-search for the format)
 * @error: a TRELLIS_POLICY_ERROR, "FILE:LINE: message" where the line is known
 *
 * Reads and validates the providers.  Every host and target must be a valid
 * host name; a host listed twice (in one provider or two), a host that is
 * also a target, and a provider without domains or targets are errors.
 *
 * Returns: (transfer full) the table, or NULL.
 */
TrellisSafeSearch *trellis_safe_search_load (const char *path,
                                             GError **error);

/** trellis_safe_search_free: frees @ss (NULL is accepted). */
void trellis_safe_search_free (TrellisSafeSearch *ss);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisSafeSearch, trellis_safe_search_free)

/**
 * trellis_safe_search_lookup:
 * @normalized_name: a name as trellis_domain_normalize() gives it (lower
 *   case, no trailing dot)
 * @level: the child's safe-search level
 *
 * Returns: (transfer none) (nullable) the endpoint @normalized_name is
 *   answered with at @level (owned by @ss), or NULL: for level OFF, for a
 *   name no provider lists, and for a target itself.
 */
const char *trellis_safe_search_lookup (TrellisSafeSearch *ss,
                                        const char *normalized_name,
                                        TrellisSafeSearchLevel level);

/**
 * trellis_safe_search_get_provider:
 * Returns: (transfer none) (nullable) the id of the provider listing
 *   @normalized_name ("google", "youtube", ...), or NULL.
 */
const char *trellis_safe_search_get_provider (TrellisSafeSearch *ss,
                                              const char *normalized_name);

G_END_DECLS
