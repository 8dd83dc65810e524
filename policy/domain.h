/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * domain.h — what a domain name in a rule may be, and its one spelling.
 *
 * Every name a rule is written with (allow=, deny=, the helplines, the
 * category lists, the allow list, the safe-search hosts) passes
 * trellis_domain_check() before it is used.  The rules call nothing else
 * in policy/.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Why a name is not a valid domain, for trellis_domain_check(). */
typedef enum {
  TRELLIS_DOMAIN_OK = 0,
  TRELLIS_DOMAIN_EMPTY,
  TRELLIS_DOMAIN_WILDCARD,
  TRELLIS_DOMAIN_BAD_CHAR,
  TRELLIS_DOMAIN_EMPTY_LABEL,
  TRELLIS_DOMAIN_LABEL_TOO_LONG,
  TRELLIS_DOMAIN_TOO_LONG,
  TRELLIS_DOMAIN_BAD_IDN,
} TrellisDomainProblem;

/**
 * trellis_domain_check:
 *
 * trellis_domain_normalize(), telling why a name is refused.  Returns: the
 * problem; @ret_normalized (transfer full) is set only on TRELLIS_DOMAIN_OK.
 */
TrellisDomainProblem trellis_domain_check (const char *name,
                                           char **ret_normalized);

/**
 * trellis_domain_problem_describe:
 * @name: the name as written
 * @problem: what trellis_domain_check() said of it (not TRELLIS_DOMAIN_OK)
 *
 * The message for a name a list of the household file or of the shipped
 * data may not hold, translated, without its place.  Returns: (transfer full).
 */
char *trellis_domain_problem_describe (const char *name,
                                       TrellisDomainProblem problem);

G_END_DECLS
