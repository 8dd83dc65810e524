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
  TRELLIS_RULE_KIND_INFORMATION, /* a name of the information list that a
                                   * category blocked for the child lists:
                                   * category lists cannot block it (GC25 §56) */
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

/* How a published list is written (the updater reads each). */
typedef enum {
  TRELLIS_LIST_FORMAT_PLAIN = 0, /* one name a line, "#" comments */
  TRELLIS_LIST_FORMAT_HOSTS,     /* "0.0.0.0 name [name...]", as /etc/hosts */
  TRELLIS_LIST_FORMAT_ADBLOCK,   /* "||name^" rules; the others are left out */
  TRELLIS_LIST_FORMAT_UT1,       /* a UT1 archive, NAME.tar.gz holding NAME/domains */
} TrellisListFormat;

/** trellis_list_format_to_string: "plain", "hosts", "adblock" or "ut1". */
const char *trellis_list_format_to_string (TrellisListFormat format);

/** trellis_list_format_from_string: @ret_format is set only on success. */
gboolean trellis_list_format_from_string (const char *text,
                                          TrellisListFormat *ret_format);

/* A published list that feeds a category: shipped in
 * categories/CATEGORY/sources, or added by the household file.  Owned by
 * the policy. */
typedef struct {
  const char *id;       /* "ut1-adult" */
  const char *category; /* the category it feeds: "adult" */
  const char *url;      /* https:// */
  TrellisListFormat format;
  const char *licence;       /* (nullable) the publisher's licence, e.g. CC-BY-SA-4.0 */
  const char *attribution;   /* (nullable) whom the licence asks to name */
  const char *homepage;      /* (nullable) */
  const char *checksum_url;  /* (nullable) the publisher's file of checksums */
  const char *checksum_type; /* (nullable) md5, sha256 or sha512, with checksum_url */
  const char *member;        /* (nullable) UT1: the file inside the archive */
  gboolean household;        /* written in the household file (else shipped) */
  gboolean removed;          /* shipped, and the household's remove-sources= names it */
  const char *file;          /* where it is written */
  guint line;                /* the line of its [source ID] */
} TrellisListSource;

/**
 * trellis_policy_get_list_sources:
 * Every source: the shipped ones (those the household removed too, with
 * removed set), then the household's, in file order.
 * Returns: (transfer none).
 */
const TrellisListSource *const *trellis_policy_get_list_sources (TrellisPolicy *policy,
                                                                 guint *ret_n);

/* ------------------------------------------------------------------------ */
/* The category lists as the list updater compiled them */

#define TRELLIS_LISTS_ERROR (trellis_lists_error_quark ())
GQuark trellis_lists_error_quark (void);

typedef enum {
  TRELLIS_LISTS_ERROR_IO,      /* a file could not be read or written */
  TRELLIS_LISTS_ERROR_CORRUPT, /* a manifest or an index that does not check */
  TRELLIS_LISTS_ERROR_STALE,   /* compiled for other categories */
} TrellisListsError;

/* The manifest format this code writes and reads. */
#define TRELLIS_LISTS_FORMAT 1

/* The largest index the updater may hand over: 1 GiB (UT1's 4.6 million
 * adult names take 64 MB). */
#define TRELLIS_LISTS_INDEX_MAX (G_GUINT64_CONSTANT (1) << 30)

typedef struct _TrellisListsIndex TrellisListsIndex;

/**
 * trellis_lists_index_open:
 * @manifest_path: the manifest the updater wrote
 * @index_path: (nullable): the index to map; NULL: the file the manifest
 *   names, beside it
 *
 * Reads the manifest and maps its index, checking both as input from
 * another process: the manifest's keys, a plain file (never a link) of the
 * size it says, every slot of the index, and that the index is the one the
 * manifest describes (checksum, seed, entries).  Returns: (transfer full),
 * or NULL with @error (TRELLIS_LISTS_ERROR).
 */
TrellisListsIndex *trellis_lists_index_open (const char *manifest_path,
                                             const char *index_path,
                                             GError **error);

TrellisListsIndex *trellis_lists_index_ref (TrellisListsIndex *lists);
void trellis_lists_index_unref (TrellisListsIndex *lists);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisListsIndex, trellis_lists_index_unref)

/** trellis_lists_index_file_is_valid: @name is "index/lists-N.idx", the only names an index may have. */
gboolean trellis_lists_index_file_is_valid (const char *name);

/** trellis_lists_index_get_generation: the updater's count of compiles, 1 for the first. */
guint64 trellis_lists_index_get_generation (TrellisListsIndex *lists);

/** trellis_lists_index_get_compiled: when it was compiled, unix seconds. */
gint64 trellis_lists_index_get_compiled (TrellisListsIndex *lists);

/** trellis_lists_index_get_index_file: the index's name, as the manifest writes it ("index/lists-7.idx"). */
const char *trellis_lists_index_get_index_file (TrellisListsIndex *lists);

/** trellis_lists_index_get_index_checksum: the index's checksum, which binds it to its manifest. */
guint64 trellis_lists_index_get_index_checksum (TrellisListsIndex *lists);

/** trellis_lists_index_get_categories: (transfer none) the category ids, in bit order. */
const char *const *trellis_lists_index_get_categories (TrellisListsIndex *lists);

/**
 * trellis_lists_index_get_source:
 * @ret_names: (out) (optional): the names of that source's list in the index
 * @ret_fetched: (out) (optional): when that list was fetched, unix seconds
 * @ret_version: (out) (optional) (transfer full) (nullable): its version as
 *   the publisher gave it (the Last-Modified date, or its ETag)
 * Returns: TRUE when source @id was compiled into @lists.
 */
gboolean trellis_lists_index_get_source (TrellisListsIndex *lists,
                                         const char *id,
                                         guint *ret_names,
                                         gint64 *ret_fetched,
                                         char **ret_version);

/**
 * trellis_lists_index_get_source_lines:
 * @ret_lines: (out) (optional): the lines of that source's list in force
 * @ret_refused: (out) (optional) (transfer full) (nullable): the lines it
 *   refused, by reason: "address=14;invalid=2"
 * Returns: TRUE when source @id was compiled into @lists.
 */
gboolean trellis_lists_index_get_source_lines (TrellisListsIndex *lists,
                                               const char *id,
                                               guint64 *ret_lines,
                                               char **ret_refused);

/** trellis_lists_index_get_information_overridden: category names on or below the information list, as compiled. */
guint trellis_lists_index_get_information_overridden (TrellisListsIndex *lists);

/* How a household file is loaded. */
typedef struct {
  const char *data_dir;     /* (nullable) the shipped data; NULL: the built-in place */
  const char *index_path;   /* (nullable) where to write the shipped lists' index
                                   * when it is compiled; NULL: in memory */
  TrellisListsIndex *lists; /* (nullable) the updater's lists: used instead of
                                   * compiling the shipped ones when they fit the
                                   * categories (trellis_policy_get_lists() says) */
  gboolean no_index;        /* compile no category list at all (the updater,
                                   * which compiles them itself) */
} TrellisPolicyLoadOptions;

/** trellis_policy_load_with_options: trellis_policy_load_file() with @options (nullable). */
TrellisPolicy *trellis_policy_load_with_options (const char *path,
                                                 const TrellisPolicyLoadOptions *options,
                                                 GError **error);

/** trellis_policy_load_data_with_options: trellis_policy_load_data() with @options (nullable). */
TrellisPolicy *trellis_policy_load_data_with_options (const char *data,
                                                      gssize length,
                                                      const char *name,
                                                      const TrellisPolicyLoadOptions *options,
                                                      GError **error);

/**
 * trellis_policy_get_lists:
 * Returns: (transfer none) (nullable): the updater's lists @policy decides
 *   with, or NULL when it compiled the shipped lists (none given, or
 *   compiled for other categories).
 */
TrellisListsIndex *trellis_policy_get_lists (TrellisPolicy *policy);

/**
 * trellis_policy_information_covers:
 * @normalized_name: a name as trellis_domain_normalize() writes it
 * Returns: TRUE when @normalized_name is on the information list or below
 *   one of its names.
 */
gboolean trellis_policy_information_covers (TrellisPolicy *policy,
                                            const char *normalized_name);

/**
 * trellis_policy_get_information:
 * @ret_n_names: (out) (optional): the names on the information list (the
 *   shipped information/ folder)
 * @ret_n_overridden: (out) (optional): the category entries it overrides:
 *   the names of the category lists that are on it or below one of its
 *   names, and its names that lie below a category list's name
 *
 * A name on the information list is decided as if no category listed it
 * (GC25 §56).  Returns: TRUE when the list is installed.
 */
gboolean trellis_policy_get_information (TrellisPolicy *policy,
                                         guint *ret_n_names,
                                         guint *ret_n_overridden);

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
 * trellis_policy_decide_many:
 * @children: (array length=n_names): the child each name is decided for
 *   (an entry may be NULL: the shared rules only)
 * @names: (array length=n_names): as for trellis_policy_decide()
 * @now: the moment; when it is already in the household's zone
 *   (trellis_policy_get_timezone()) it is used as it is, without a copy
 * @ret_decisions: (out caller-allocates) (array length=n_names)
 *
 * trellis_policy_decide_at() for many names at once, as the queue gets
 * them: the domain index looks them up together (their memory reads
 * overlap).  The same decisions, name by name.
 */
void trellis_policy_decide_many (TrellisPolicy *policy,
                                 const TrellisChild *const *children,
                                 const char *const *names,
                                 gsize n_names,
                                 GDateTime *now,
                                 TrellisDecision *ret_decisions);

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
