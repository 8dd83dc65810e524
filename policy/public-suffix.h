/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * public-suffix.h — whether a name is one site or a whole public suffix.
 *
 * A rule for a name covers every name below it, so a rule for "com" or
 * "co.uk" covers millions of sites that have nothing to do with each
 * other: approving "com" would lift every block under .com.  A name given
 * to allow=, deny=, Ask and Approve must therefore be more than a public
 * suffix.  The suffixes are the Public Suffix List, read through libpsl:
 * Debian's publicsuffix package (/usr/share/publicsuffix), or libpsl's own
 * copy when that is newer or missing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TrellisSuffixUse:
 * @TRELLIS_SUFFIX_USE_LIFT: the rule lifts blocks (allow=, a parent's
 *   grant, a child's request to be granted one).
 * @TRELLIS_SUFFIX_USE_BLOCK: the rule blocks (deny=).
 *
 * What a rule for the name would do.  A single label and the list's ICANN
 * suffixes (com, co.uk, kawasaki.jp) are refused for both.  The list's
 * private suffixes (github.io, blogspot.com: one company's service shared
 * by many unrelated sites) are refused for lifting, and allowed for
 * blocking: a parent may deny a whole hosting service.
 */
typedef enum {
  TRELLIS_SUFFIX_USE_LIFT,
  TRELLIS_SUFFIX_USE_BLOCK,
} TrellisSuffixUse;

/**
 * trellis_public_suffix_check:
 * @normalized: a name as trellis_domain_normalize() gives it
 * @use: what a rule for it would do
 *
 * Returns: TRUE when a rule for @normalized covers one site (and the names
 * below it); FALSE with @error set (TRELLIS_POLICY_ERROR_INVALID) and a
 * translated message saying what the name covers and what to write
 * instead.  Thread-safe; the list is read once, at the first call.
 */
gboolean trellis_public_suffix_check (const char *normalized,
                                      TrellisSuffixUse use,
                                      GError **error);

/**
 * trellis_public_suffix_list_version:
 * Which list the check reads, and its date: what a cache of its answers
 * must match.  Returns: (transfer full).
 */
char *trellis_public_suffix_list_version (void);

G_END_DECLS
