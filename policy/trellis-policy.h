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
  TRELLIS_POLICY_ERROR_IO,      /* the file could not be read */
  TRELLIS_POLICY_ERROR_SYNTAX,  /* not a key file, or a malformed line */
  TRELLIS_POLICY_ERROR_INVALID, /* well-formed, but a value is wrong */
} TrellisPolicyError;

/* What the answer to a filtered query looks like. */
typedef enum {
  TRELLIS_VERDICT_ALLOW = 0,
  TRELLIS_VERDICT_BLOCK,
  TRELLIS_VERDICT_SAFE_SEARCH, /* answer with a CNAME to decision.target and
                                   * the upstream's addresses for it */
} TrellisVerdict;

/* Which kind of rule decided.  The order is the decision order
 * (docs/household.md, "How a name is decided"). */
typedef enum {
  TRELLIS_RULE_KIND_DEFAULT = 0, /* nothing matched: the profile's default */
  TRELLIS_RULE_KIND_HELPLINE,    /* always allowed, never logged */
  TRELLIS_RULE_KIND_ALLOW,       /* the child's allow= */
  TRELLIS_RULE_KIND_DENY,        /* the child's deny= */
  TRELLIS_RULE_KIND_INTEGRITY,   /* a built-in rule that keeps the filter whole
                                   * (use-application-dns.net and the like) */
  TRELLIS_RULE_KIND_QUIET_HOURS, /* the child's quiet-hours= (bedtime) */
  TRELLIS_RULE_KIND_CATEGORY,    /* a category blocked for the child's age band
                                   * or added with block=+NAME */
  TRELLIS_RULE_KIND_ALLOWLIST,   /* mode=allowlist: the name is on no list the
                                   * child may use (that mode's default) */
  TRELLIS_RULE_KIND_SAFE_SEARCH, /* a search engine's name, answered with its
                                   * provider's safe endpoint */
} TrellisRuleKind;

/**
 * trellis_rule_kind_to_string:
 * The kind's one name, as the Blocked signal, the event log and the short
 * form of a rule write it: "deny", "quiet-hours", "safe-search", ...
 * Returns: (transfer none) never NULL ("default" for an unknown kind).
 */
const char *trellis_rule_kind_to_string (TrellisRuleKind kind);

/**
 * trellis_rule_kind_from_string:
 * @ret_kind: (out): set only on success
 * Returns: FALSE when @text is no kind's name.
 */
gboolean trellis_rule_kind_from_string (const char *text,
                                        TrellisRuleKind *ret_kind);

/* How strictly search engines are held to their safe mode (safe-search=). */
typedef enum {
  TRELLIS_SAFE_SEARCH_OFF = 0,
  TRELLIS_SAFE_SEARCH_MODERATE,
  TRELLIS_SAFE_SEARCH_STRICT,
} TrellisSafeSearchLevel;

/** trellis_safe_search_level_to_string: "off", "moderate" or "strict". */
const char *trellis_safe_search_level_to_string (TrellisSafeSearchLevel level);

typedef struct _TrellisPolicy TrellisPolicy;
typedef struct _TrellisChild TrellisChild;

/* One rule: where it came from and what it matches.  Owned by the policy. */
typedef struct {
  guint id; /* index in the policy's rule table; 0 is "default" */
  TrellisRuleKind kind;
  const char *pattern;  /* the normalized domain it matches (and all names
                                * below it); "" for the default rule */
  const char *child;    /* (nullable) the child's section it belongs to */
  const char *category; /* (nullable) CATEGORY: the category's id ("gambling") */
  const char *file;     /* (nullable) the file it was read from */
  guint line;           /* 1-based, 0 when built in */
  const char *detail;   /* (nullable) QUIET_HOURS: the window as written
                                * ("Mon-Fri 20:30-07:00"); CATEGORY: the age
                                * band's id ("9-12"); SAFE_SEARCH: the level
                                * ("strict") */
} TrellisRule;

/* The outcome of trellis_policy_decide(). */
typedef struct {
  TrellisVerdict verdict;
  const TrellisRule *rule; /* the rule that matched; never NULL */
  const char *target;      /* (nullable) SAFE_SEARCH: the safe endpoint,
                                * e.g. "forcesafesearch.google.com"; owned by
                                * the policy */
} TrellisDecision;

/* A category of harmful material, shipped as data (categories/ID/). */
typedef struct {
  const char *id;          /* the folder's name: "gambling" */
  const char *name;        /* translated display name */
  const char *description; /* translated, for parents */
  guint bit;               /* its bit in category masks, 0–31 */
  guint n_domains;         /* names in its lists */
} TrellisCategory;

/* An age band: ages, the categories blocked, the safe-search level and the
 * mode a child of that age gets unless the household says otherwise. */
typedef struct {
  const char *id; /* "9-12", "under-6", ... */
  guint min_age;
  guint max_age;      /* inclusive */
  guint32 categories; /* mask of TrellisCategory.bit */
  TrellisSafeSearchLevel safe_search;
  gboolean allowlist; /* mode=allowlist by default */
} TrellisAgeBand;

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
TrellisPolicy *trellis_policy_load_file (const char *path,
                                         const char *data_dir,
                                         GError **error);

/**
 * trellis_policy_load_data: as _load_file() but from memory; @name is used in
 * messages and in the rules' file.  @length may be -1 for a NUL-terminated
 * @data.
 *
 * Every problem is reported, not only the first.  A missing or broken
 * helplines file in @data_dir is an error too (TRELLIS_POLICY_ERROR_IO for a
 * file that cannot be read): helplines must never be missing.
 */
TrellisPolicy *trellis_policy_load_data (const char *data,
                                         gsize length,
                                         const char *name,
                                         const char *data_dir,
                                         GError **error);

TrellisPolicy *trellis_policy_ref (TrellisPolicy *policy);
void trellis_policy_unref (TrellisPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisPolicy, trellis_policy_unref)

/** trellis_policy_get_parents: (transfer none) NULL-terminated account names. */
const char *const *trellis_policy_get_parents (TrellisPolicy *policy);

/** trellis_policy_get_on_failure_open: TRUE when on-failure=open (DNS flows unfiltered while trellisd is down). */
gboolean trellis_policy_get_on_failure_open (TrellisPolicy *policy);

/** trellis_policy_get_children: (transfer none) the children, in file order. */
const TrellisChild *const *trellis_policy_get_children (TrellisPolicy *policy,
                                                        guint *ret_n_children);

/** trellis_policy_find_child_by_account: (nullable) the child whose accounts= lists @account. */
const TrellisChild *trellis_policy_find_child_by_account (TrellisPolicy *policy,
                                                          const char *account);

/** trellis_policy_find_child: (nullable) the child named @name (the [child NAME] section). */
const TrellisChild *trellis_policy_find_child (TrellisPolicy *policy,
                                               const char *name);

const char *trellis_child_get_name (const TrellisChild *child);
/** trellis_child_get_accounts: (transfer none) NULL-terminated Linux account names. */
const char *const *trellis_child_get_accounts (const TrellisChild *child);

/** trellis_child_get_devices: (transfer none) NULL-terminated devices= as written (MACs, addresses, CIDRs). */
const char *const *trellis_child_get_devices (const TrellisChild *child);

/** trellis_child_is_group: TRUE for a [group NAME] (a class of devices), FALSE for a [child NAME]. */
gboolean trellis_child_is_group (const TrellisChild *child);

/**
 * trellis_policy_get_gateway_interfaces:
 * Returns: (transfer none) NULL-terminated gateway-interfaces=: the
 *   interfaces the devices are behind (empty: not a gateway, and devices=
 *   and default-profile= are not enforced).
 */
const char *const *trellis_policy_get_gateway_interfaces (TrellisPolicy *policy);

/** trellis_policy_get_default_profile: (nullable) the child or group default-profile= names. */
const TrellisChild *trellis_policy_get_default_profile (TrellisPolicy *policy);

/* One item of devices=, read (device.c). */
typedef enum {
  TRELLIS_DEVICE_MAC = 0,
  TRELLIS_DEVICE_IPV4,
  TRELLIS_DEVICE_IPV6,
} TrellisDeviceFamily;

typedef struct {
  TrellisDeviceFamily family;
  guint8 addr[16];   /* MAC: 6 bytes; addresses in network order, host bits zero */
  guint8 prefix_len; /* 48 for a MAC, 32 or 128 for one address */
} TrellisDeviceAddress;

/**
 * trellis_device_parse:
 * Reads "aa:bb:cc:dd:ee:01" (or with "-"), "10.42.0.7", "10.42.0.0/24",
 * "fd42::7" or "fd42::/64".  Returns: FALSE when @text is none of these.
 */
gboolean trellis_device_parse (const char *text,
                               TrellisDeviceAddress *ret_device);

/** trellis_device_overlaps: TRUE when @a and @b share an address (the same MAC). */
gboolean trellis_device_overlaps (const TrellisDeviceAddress *a,
                                  const TrellisDeviceAddress *b);

/** trellis_child_get_birth: (nullable) birth= as written ("2016-05"), NULL when age= is given. */
const char *trellis_child_get_birth (const TrellisChild *child);

/**
 * trellis_policy_load_file_full:
 * @index_path: (nullable): where to write the compiled domain index (written
 *   to a temporary file and renamed; the policy then maps it); NULL keeps
 *   the index in memory
 *
 * As trellis_policy_load_file(); the daemon uses this form.
 */
TrellisPolicy *trellis_policy_load_file_full (const char *path,
                                              const char *data_dir,
                                              const char *index_path,
                                              GError **error);

/**
 * trellis_policy_get_warnings:
 * What is legal but probably not what the household meant (a name in both
 * allow= and deny=, ...), one per string as "FILE:LINE:COL: warning: ...",
 * sorted by position.  Returns: (transfer none) NULL-terminated, maybe empty.
 */
const char *const *trellis_policy_get_warnings (TrellisPolicy *policy);

/** trellis_policy_get_log_retention_days: how long blocked events are kept (log-retention-days=). */
guint trellis_policy_get_log_retention_days (TrellisPolicy *policy);

/**
 * trellis_child_get_quiet_hours:
 * @now: the moment (read in the household's zone)
 * @ret_quiet_now: (out) (optional): TRUE when @now is in quiet hours
 * @ret_until: (out) (optional): then, the time they end, "07:00"
 *   (transfer full), else NULL
 * Returns: (nullable) quiet-hours= as written, NULL when none.
 */
const char *trellis_child_get_quiet_hours (TrellisPolicy *policy,
                                           const TrellisChild *child,
                                           GDateTime *now,
                                           gboolean *ret_quiet_now,
                                           char **ret_until);

/**
 * trellis_child_get_quiet_times:
 * Every stretch of time @child is quiet that overlaps [@from_us, @to_us)
 * (unix microseconds), each window of quiet-hours= read in the household's
 * zone on each day, so a change of the zone's offset (summer time) moves
 * the stretches with it.  Returns: (transfer full) a GArray of gint64
 * pairs (element size 2 × 8 bytes), [start, end), sorted, apart.
 */
GArray *trellis_child_get_quiet_times (TrellisPolicy *policy,
                                       const TrellisChild *child,
                                       gint64 from_us,
                                       gint64 to_us);

/**
 * trellis_policy_get_doh_names:
 * The names of the DNS-over-HTTPS endpoints of the shipped data (doh/):
 * answered NXDOMAIN for every child (an integrity rule), and resolved by
 * trellisd so that their addresses are refused on port 443 too.
 * Returns: (transfer none) NULL-terminated.
 */
const char *const *trellis_policy_get_doh_names (TrellisPolicy *policy);

/**
 * trellis_policy_get_doh_addresses:
 * @family: 4 or 6
 * The DoH endpoints' addresses written in the data, 4 or 16 bytes each,
 * network order, sorted, unique.  Returns: (transfer none), *@ret_n of them.
 */
const guint8 *trellis_policy_get_doh_addresses (TrellisPolicy *policy,
                                                int family,
                                                gsize *ret_n);

/* A helpline, as shipped or added by the household. */
typedef struct {
  const char *domain;
  const char *country; /* ISO 3166 code, or "INT" */
  const char *name;
  const char *contact; /* (nullable) phone, SMS or address to show */
} TrellisHelplineInfo;

/** trellis_policy_get_helplines: (transfer full) a GArray of TrellisHelplineInfo, owned strings by the policy. */
GArray *trellis_policy_get_helplines (TrellisPolicy *policy);

/** trellis_policy_get_timezone: (transfer none) the household's zone (timezone=, else the system's). */
GTimeZone *trellis_policy_get_timezone (TrellisPolicy *policy);

/** trellis_policy_get_timezone_name: (nullable) timezone= as written, NULL when the system's zone is used. */
const char *trellis_policy_get_timezone_name (TrellisPolicy *policy);

/** trellis_policy_has_safe_search: TRUE when the safe-search data is installed (else safe search is not enforced). */
gboolean trellis_policy_has_safe_search (TrellisPolicy *policy);

/** trellis_policy_get_categories: (transfer none) every shipped category. */
const TrellisCategory *const *trellis_policy_get_categories (TrellisPolicy *policy,
                                                             guint *ret_n);

/** trellis_policy_get_age_bands: (transfer none) the bands, youngest first. */
const TrellisAgeBand *const *trellis_policy_get_age_bands (TrellisPolicy *policy,
                                                           guint *ret_n);

/**
 * trellis_child_get_age:
 * @now: the moment, in any zone (read in the household's zone)
 * Returns: the child's age in whole years at @now (from age= or birth=).
 */
guint trellis_child_get_age (TrellisPolicy *policy,
                             const TrellisChild *child,
                             GDateTime *now);

/**
 * trellis_child_get_profile:
 * What applies to @child at @now: the age band, the blocked categories
 * (the band's, adjusted by block=), safe search and mode.
 * Returns: (transfer none) the band, or NULL when the child is 18 or over
 * at @now (Trellis does not filter adults: every name is then allowed).
 */
const TrellisAgeBand *trellis_child_get_profile (TrellisPolicy *policy,
                                                 const TrellisChild *child,
                                                 GDateTime *now,
                                                 guint32 *ret_categories,
                                                 TrellisSafeSearchLevel *ret_safe_search,
                                                 gboolean *ret_allowlist);

/**
 * trellis_policy_decide_at:
 * As trellis_policy_decide() at the moment @now (quiet hours and age are
 * read in the household's zone, whatever zone @now carries).
 */
void trellis_policy_decide_at (TrellisPolicy *policy,
                               const TrellisChild *child,
                               const char *name,
                               GDateTime *now,
                               TrellisDecision *ret_decision);

/**
 * trellis_policy_decide:
 * @name: a DNS name in presentation form (any case, trailing dot allowed)
 *
 * @child: (nullable): NULL decides with the shared rules only
 *
 * Decides @name for @child in the decision order of docs/household.md ("How
 * a name is decided").  A name matches a
 * rule when it equals the rule's pattern or ends with "." + pattern (whole
 * labels only: "notexample.com" does not match "example.com").  A helpline
 * matching any suffix of @name wins over everything.  Otherwise the suffixes
 * are tried from the longest to the shortest, and at each one the child's
 * allow=/deny= comes before the built-in integrity rules: the most specific
 * rule decides, so "allow = icloud.com" does not open "mask.icloud.com".
 * Never fails: an unparseable name is decided by the default (rule 0).
 */
void trellis_policy_decide (TrellisPolicy *policy,
                            const TrellisChild *child,
                            const char *name,
                            TrellisDecision *ret_decision);

/** trellis_policy_get_rule: (nullable) the rule with @id. */
const TrellisRule *trellis_policy_get_rule (TrellisPolicy *policy,
                                            guint id);

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
 * trellis_rule_explain_for:
 * As trellis_rule_explain(), in the words of @child's age band at @now
 * (a category's explanation comes from its category.desktop).
 */
char *trellis_rule_explain_for (TrellisPolicy *policy,
                                const TrellisRule *rule,
                                const TrellisChild *child,
                                GDateTime *now);

/**
 * trellis_rule_explain_for_locale:
 * @locale: (nullable): a locale name ("fr_FR.UTF-8") for the texts that come
 *   from data files (a category's explanation); NULL: the process's
 *
 * As trellis_rule_explain_for().  The gettext messages follow the calling
 * thread's locale (uselocale()).
 */
char *trellis_rule_explain_for_locale (TrellisPolicy *policy,
                                       const TrellisRule *rule,
                                       const TrellisChild *child,
                                       GDateTime *now,
                                       const char *locale);

/**
 * trellis_domain_normalize:
 *
 * Lower-cases @name, drops one trailing dot and converts an IDN to its
 * punycode form.  Returns: (transfer full) (nullable) NULL if @name is not a
 * valid host name.
 */
char *trellis_domain_normalize (const char *name);

G_END_DECLS
