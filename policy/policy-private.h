/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy-private.h — the structures behind trellis-policy.h, shared by the
 * files of policy/ and by nothing else.
 */
#pragma once

#include "policy/trellis-policy.h"
#include "policy/matcher.h"

G_BEGIN_DECLS

/* One line of the shipped helplines file. */
typedef struct {
  const char *domain;   /* (in policy->strings) normalized */
  const char *country;  /* (in policy->strings) ISO 3166 code, or "INT" */
  const char *name;     /* (in policy->strings) */
  const char *contact;  /* (in policy->strings) (nullable) */
} TrellisHelpline;

struct _TrellisChild {
  const char     *name;         /* (in policy->strings) the NAME of [child NAME] */
  guint           line;         /* the line of the [child NAME] header */
  char          **accounts;     /* (owned) NULL-terminated Linux account names */
  char          **devices;      /* (owned) NULL-terminated MACs, addresses, CIDRs (not enforced yet) */
  int             age;          /* 0–17, or -1 when not given */
  char           *birth;        /* (owned) (nullable) "YYYY-MM" or "YYYY-MM-DD" (not used yet) */
  char          **block;        /* (owned) (nullable) "+category" / "-category" (not used yet) */
  char           *quiet_hours;  /* (owned) (nullable) as written (not enforced yet) */
  char           *safe_search;  /* (owned) (nullable) strict | moderate | off (not enforced yet) */
  char           *mode;         /* (owned) (nullable) blocklist | allowlist (not enforced yet) */
  TrellisMatcher *rules;        /* (owned) the child's allow= and deny= */
};

struct _TrellisPolicy {
  gatomicrefcount  ref_count;
  GStringChunk    *strings;             /* (owned) every const string the rules and children point to */
  const char      *file;                /* (in strings) the name used in messages */

  char           **parents;             /* (owned) NULL-terminated */
  gboolean         on_failure_open;
  char            *timezone;            /* (owned) (nullable) not used yet */
  char            *default_profile;     /* (owned) (nullable) not used yet */
  guint            log_retention_days;  /* default 7; not used yet */

  GPtrArray       *children;            /* (owned) TrellisChild (owned), file order */
  GArray          *rules;               /* (owned) TrellisRule, index = id; 0 is the default */
  GArray          *helplines;           /* (owned) TrellisHelpline */
  TrellisMatcher  *helpline_matcher;    /* (owned) shared by every child */
  TrellisMatcher  *integrity_matcher;   /* (owned) shared by every child */
};

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
TrellisDomainProblem trellis_domain_check (const char  *name,
                                           char       **ret_normalized);

G_END_DECLS
