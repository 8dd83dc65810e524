/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellis-policy.h — the policy library: the household file, its validation,
 * and the decision "is this name filtered for this child, and by which rule".
 *
 * The library has no privileges and does no I/O beyond reading the files it
 * is given.  It never logs: every failure is a GError in TRELLIS_POLICY_ERROR.
 * The daemon, the CLI and the tests all use it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRELLIS_POLICY_ERROR (trellis_policy_error_quark ())
GQuark trellis_policy_error_quark (void);

typedef enum {
  TRELLIS_POLICY_ERROR_IO,        /* the file could not be read */
  TRELLIS_POLICY_ERROR_SYNTAX,    /* not a key file, or a malformed line */
  TRELLIS_POLICY_ERROR_INVALID,   /* well-formed, but a value is wrong */
} TrellisPolicyError;

/* What the answer to a filtered query looks like. */
typedef enum {
  TRELLIS_VERDICT_ALLOW = 0,
  TRELLIS_VERDICT_BLOCK,
} TrellisVerdict;

/* Which kind of rule decided.  The order is the decision order of DESIGN.md. */
typedef enum {
  TRELLIS_RULE_KIND_DEFAULT = 0,  /* nothing matched: the profile's default */
  TRELLIS_RULE_KIND_HELPLINE,     /* always allowed, never logged */
  TRELLIS_RULE_KIND_ALLOW,        /* the child's allow= */
  TRELLIS_RULE_KIND_DENY,         /* the child's deny= */
  TRELLIS_RULE_KIND_INTEGRITY,    /* a built-in rule that keeps the filter whole
                                   * (use-application-dns.net and the like) */
} TrellisRuleKind;

typedef struct _TrellisPolicy TrellisPolicy;
typedef struct _TrellisChild TrellisChild;

/* One rule: where it came from and what it matches.  Owned by the policy. */
typedef struct {
  guint            id;         /* index in the policy's rule table; 0 is "default" */
  TrellisRuleKind  kind;
  const char      *pattern;    /* the normalized domain it matches (and all names
                                * below it); "" for the default rule */
  const char      *child;      /* (nullable) the child's section it belongs to */
  const char      *file;       /* (nullable) the file it was read from */
  guint            line;       /* 1-based, 0 when built in */
} TrellisRule;

/* The outcome of trellis_policy_decide(). */
typedef struct {
  TrellisVerdict     verdict;
  const TrellisRule *rule;     /* the rule that matched; never NULL */
} TrellisDecision;

/**
 * trellis_policy_load_file:
 * @path: the household file
 * @data_dir: (nullable): folder with the shipped data (helplines); NULL for
 *   the built-in location
 * @error: set with every error of the file, one per line as
 *   "FILE:LINE:COL: message", on failure
 *
 * Reads and validates a household file.  Returns: (transfer full) the policy,
 * or NULL.
 */
TrellisPolicy *trellis_policy_load_file (const char  *path,
                                         const char  *data_dir,
                                         GError     **error);

/**
 * trellis_policy_load_data: as _load_file() but from memory; @name is used in
 * messages and in the rules' file.  @length may be -1 for a NUL-terminated
 * @data.
 *
 * Every problem is reported, not only the first.  A missing or broken
 * helplines file in @data_dir is an error too (TRELLIS_POLICY_ERROR_IO for a
 * file that cannot be read): helplines must never be missing.
 */
TrellisPolicy *trellis_policy_load_data (const char  *data,
                                         gsize        length,
                                         const char  *name,
                                         const char  *data_dir,
                                         GError     **error);

TrellisPolicy *trellis_policy_ref   (TrellisPolicy *policy);
void           trellis_policy_unref (TrellisPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisPolicy, trellis_policy_unref)

/** trellis_policy_get_parents: (transfer none) NULL-terminated account names. */
const char *const *trellis_policy_get_parents (TrellisPolicy *policy);

/** trellis_policy_get_on_failure_open: TRUE when on-failure=open (DNS flows unfiltered while trellisd is down). */
gboolean trellis_policy_get_on_failure_open (TrellisPolicy *policy);

/** trellis_policy_get_children: (transfer none) the children, in file order. */
const TrellisChild *const *trellis_policy_get_children (TrellisPolicy *policy,
                                                        guint         *ret_n_children);

/** trellis_policy_find_child_by_account: (nullable) the child whose accounts= lists @account. */
const TrellisChild *trellis_policy_find_child_by_account (TrellisPolicy *policy,
                                                          const char    *account);

/** trellis_policy_find_child: (nullable) the child named @name (the [child NAME] section). */
const TrellisChild *trellis_policy_find_child (TrellisPolicy *policy,
                                               const char    *name);

const char         *trellis_child_get_name     (const TrellisChild *child);
/** trellis_child_get_accounts: (transfer none) NULL-terminated Linux account names. */
const char *const  *trellis_child_get_accounts (const TrellisChild *child);

/**
 * trellis_policy_decide:
 * @name: a DNS name in presentation form (any case, trailing dot allowed)
 *
 * @child: (nullable): NULL decides with the shared rules only
 *
 * Decides @name for @child in DESIGN.md's decision order.  A name matches a
 * rule when it equals the rule's pattern or ends with "." + pattern (whole
 * labels only: "notexample.com" does not match "example.com").  A helpline
 * matching any suffix of @name wins over everything.  Otherwise the suffixes
 * are tried from the longest to the shortest, and at each one the child's
 * allow=/deny= comes before the built-in integrity rules: the most specific
 * rule decides, so "allow = icloud.com" does not open "mask.icloud.com".
 * Never fails: an unparseable name is decided by the default (rule 0).
 */
void trellis_policy_decide (TrellisPolicy      *policy,
                            const TrellisChild *child,
                            const char         *name,
                            TrellisDecision    *ret_decision);

/** trellis_policy_get_rule: (nullable) the rule with @id. */
const TrellisRule *trellis_policy_get_rule (TrellisPolicy *policy,
                                            guint          id);

/**
 * trellis_rule_format_short:
 *
 * The rule in a few words, for the Extended DNS Error text and logs, e.g.
 * "deny example-game.com (household.conf:12)".  Not translated: it goes on
 * the wire.  Returns: (transfer full).
 */
char *trellis_rule_format_short (const TrellisRule *rule);

/**
 * trellis_rule_explain:
 *
 * The child-facing explanation of why @rule decided as it did, translated
 * into the current locale.  Returns: (transfer full).
 */
char *trellis_rule_explain (const TrellisRule *rule);

/**
 * trellis_domain_normalize:
 *
 * Lower-cases @name, drops one trailing dot and converts an IDN to its
 * punycode form.  Returns: (transfer full) (nullable) NULL if @name is not a
 * valid host name.
 */
char *trellis_domain_normalize (const char *name);

G_END_DECLS
