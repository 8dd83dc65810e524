/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy-private.h — the structures behind trellis-policy.h, shared by the
 * files of policy/ and by nothing else.
 */
#pragma once

#include "policy/trellis-policy.h"
#include "policy/domain.h"
#include "policy/domain-index.h"
#include "policy/lists-index.h"
#include "policy/lines.h"
#include "policy/matcher.h"
#include "policy/problems.h"
#include "policy/safe-search.h"

G_BEGIN_DECLS

/* The most categories a policy holds: one bit each in a guint32. */
#define TRELLIS_MAX_CATEGORIES 32

/* The age from which Trellis filters nothing. */
#define TRELLIS_ADULT_AGE 18

/* One line of the shipped helplines file. */
typedef struct {
  const char *domain;  /* (in policy->strings) normalized */
  const char *country; /* (in policy->strings) ISO 3166 code, or "INT" */
  const char *name;    /* (in policy->strings) */
  const char *contact; /* (in policy->strings) (nullable) */
} TrellisHelpline;

/* One window of quiet-hours= ("Mon-Fri 20:30-07:00"). */
typedef struct {
  guint8 days;      /* bit 0 Monday … bit 6 Sunday: the days it starts on */
  guint16 start;    /* minutes after midnight, inside the window */
  guint16 end;      /* minutes after midnight, outside; before start: overnight */
  const char *text; /* (in policy->strings) (nullable) as written */
  guint rule_id;    /* its QUIET_HOURS rule */
} TrellisQuietWindow;

/* A category folder (categories/ID/): the public part first. */
typedef struct {
  TrellisCategory pub;
  GKeyFile *desktop; /* (owned) category.desktop, with its translations */
  char **cidrs;      /* (owned) NULL-terminated, from the optional cidrs file */
} TrellisCategoryEntry;

/* An age band of the age-bands file: the public part first. */
typedef struct {
  TrellisAgeBand pub;
  guint line; /* the line of the band's categories= (or its header) */
} TrellisAgeBandEntry;

struct _TrellisChild {
  const char *name;   /* (in policy->strings) the NAME of [child NAME] */
  guint line;         /* the line of the [child NAME] header */
  char **accounts;    /* (owned) NULL-terminated Linux account names */
  char **devices;     /* (owned) NULL-terminated MACs, addresses, CIDRs (gateway) */
  gboolean group;     /* a [group NAME]: a class of devices, no accounts */
  guint devices_line; /* where devices= is written */
  guint devices_col;
  int age;          /* 0–17, or -1 when birth= is given */
  char *birth;      /* (owned) (nullable) "YYYY-MM" or "YYYY-MM-DD" as written */
  guint birth_year; /* with birth=: the birthday; day 1 when only a month is written */
  guint birth_month;
  guint birth_day;
  char **block;              /* (owned) (nullable) "+category" / "-category" */
  guint32 block_add;         /* categories added by block=+ID */
  guint32 block_remove;      /* categories removed by block=-ID */
  guint block_line;          /* the line of block= */
  char *quiet_hours;         /* (owned) (nullable) as written */
  GArray *quiet;             /* (owned) TrellisQuietWindow */
  char *safe_search;         /* (owned) (nullable) strict | moderate | off */
  guint safe_search_line;    /* the line of safe-search=, else of the header */
  char *mode;                /* (owned) (nullable) blocklist | allowlist */
  guint mode_line;           /* the line of mode=, else of the header */
  TrellisMatcher *rules;     /* (owned) the child's allow= and deny= */
  guint *category_rules;     /* (owned) n_bands × TRELLIS_MAX_CATEGORIES CATEGORY rule ids, 0: none */
  guint allowlist_rule;      /* ALLOWLIST */
  guint safe_search_rule[3]; /* SAFE_SEARCH, by level (0 for OFF) */
};

struct _TrellisPolicy {
  gatomicrefcount ref_count;
  GStringChunk *strings; /* (owned) every const string the rules and children point to */
  const char *file;      /* (in strings) the name used in messages */

  char **parents; /* (owned) NULL-terminated */
  gboolean on_failure_open;
  char *timezone;           /* (owned) (nullable) as written */
  GTimeZone *tz;            /* (owned) timezone=, else the system's (/etc/localtime) */
  char *default_profile;    /* (owned) (nullable) */
  char **gateway_ifaces;    /* (owned) NULL-terminated gateway-interfaces= (maybe empty) */
  guint log_retention_days; /* default 7 */

  GPtrArray *children;                 /* (owned) TrellisChild (owned), file order */
  GArray *rules;                       /* (owned) TrellisRule, index = id; 0 is the default */
  GArray *helplines;                   /* (owned) TrellisHelpline */
  TrellisMatcher *helpline_matcher;    /* (owned) shared by every child */
  TrellisMatcher *integrity_matcher;   /* (owned) shared by every child */
  TrellisMatcher *allowlist_matcher;   /* (owned) the curated list of allow-list mode */
  TrellisMatcher *information_matcher; /* (owned) the information list: INFORMATION rules */
  gboolean has_information;            /* the information/ folder was there */
  GPtrArray *information;              /* (owned) its names (in strings), NULL-terminated */
  guint n_information;                 /* names on it */
  guint n_information_overridden;      /* category entries it overrides */

  GPtrArray *categories;          /* (owned) TrellisCategoryEntry (owned), by bit */
  GPtrArray *list_sources;        /* (owned) TrellisListSource (owned): shipped first, then the household's */
  GPtrArray *bands;               /* (owned) TrellisAgeBandEntry (owned), youngest first */
  const char *age_bands_file;     /* (in strings) (nullable) */
  TrellisDomainIndex *index;      /* (owned) (nullable) every category's names */
  TrellisListsIndex *lists;       /* (owned) (nullable) the updater's lists, when index is theirs */
  TrellisSafeSearch *safe_search; /* (owned) (nullable) NULL when the data has none */
  GPtrArray *warnings;            /* (owned) NULL-terminated "FILE:LINE:COL: warning: ..." */
  GPtrArray *doh_names;           /* (owned) NULL-terminated, (in strings): DoH endpoints to resolve */
  GByteArray *doh_v4;             /* (owned) DoH endpoints' IPv4 addresses, 4 bytes each */
  GByteArray *doh_v6;             /* (owned) and IPv6, 16 bytes each */
};

/* quiet-hours.c */

/**
 * trellis_quiet_window_parse:
 * Parses one window ("Mon-Fri 20:30-07:00"; days may be listed with "," and
 * ranged with "-", also over the week's end).  @ret_window->text and
 * ->rule_id are left to the caller.  Returns: FALSE with a translated
 * message naming the mistake.
 */
gboolean trellis_quiet_window_parse (const char *text,
                                     TrellisQuietWindow *ret_window,
                                     GError **error);

/**
 * trellis_quiet_windows_find:
 * @local: the moment, already in the household's zone
 * Returns: the index of a window that makes @local quiet, or -1.
 */
int trellis_quiet_windows_find (const TrellisQuietWindow *windows,
                                guint n_windows,
                                GDateTime *local);

/** trellis_quiet_window_format_end: (transfer full) "07:00". */
char *trellis_quiet_window_format_end (const TrellisQuietWindow *window);

/**
 * trellis_quiet_windows_times:
 * Adds to @times (gint64 pairs, unix microseconds, [start, end)) every
 * quiet stretch of @windows, read in @tz, that overlaps [@from_us, @to_us),
 * sorted, with overlapping and touching stretches joined.
 */
void trellis_quiet_windows_times (const TrellisQuietWindow *windows,
                                  guint n_windows,
                                  GTimeZone *tz,
                                  gint64 from_us,
                                  gint64 to_us,
                                  GArray *times);

/* categories.c */

/**
 * trellis_domain_list_read:
 * @contents: (inout): a category's domain list, @length bytes and a NUL
 *   after them (as g_file_get_contents() gives it); split in place
 * @path: the file's name in messages
 *
 * Adds every name of the list to @builder with the bit @bit; each line that
 * is not a domain name, and a NUL byte anywhere (then nothing is added), is
 * added to @problems (TRELLIS_PROBLEM_DATA) as "FILE:LINE:COL: message".
 * Returns: how many names were added.
 */
guint trellis_domain_list_read (char *contents,
                                gsize length,
                                const char *path,
                                guint32 bit,
                                TrellisDomainIndexBuilder *builder,
                                TrellisProblems *problems);

/**
 * trellis_cidr_is_valid:
 * TRUE when @text is an address or a CIDR ("192.0.2.0/24") as
 * GInetAddressMask reads it.  A prefix length over 128 is refused here,
 * before GLib sees it: GLib would warn about it.
 */
gboolean trellis_cidr_is_valid (const char *text);

/**
 * trellis_cidr_list_read:
 * As trellis_domain_list_read() for a category's address list (addresses
 * and CIDRs).  Returns: (transfer full): NULL-terminated, the entries that
 * parse, as written.
 */
char **trellis_cidr_list_read (char *contents,
                               gsize length,
                               const char *path,
                               TrellisProblems *problems);

/**
 * trellis_categories_load:
 * Reads every folder of @dir (sorted by name) into @policy->categories:
 * its category.desktop, cidrs and sources, not its lists of names.
 * Problems go to @problems (TRELLIS_PROBLEM_DATA).
 */
void trellis_categories_load (TrellisPolicy *policy,
                              const char *dir,
                              TrellisProblems *problems);

/**
 * trellis_categories_load_domains:
 * Adds each name of every category's domains and domains.* files to
 * @builder with the category's bit, and counts them.
 */
void trellis_categories_load_domains (TrellisPolicy *policy,
                                      const char *dir,
                                      TrellisDomainIndexBuilder *builder,
                                      TrellisProblems *problems);

/** trellis_categories_foreach_domain: as _load_domains(), each name to @func. */
void trellis_categories_foreach_domain (TrellisPolicy *policy,
                                        const char *dir,
                                        TrellisShippedNameFunc func,
                                        gpointer user_data,
                                        TrellisProblems *problems);

/** trellis_category_entry_free: frees a TrellisCategoryEntry. */
void trellis_category_entry_free (gpointer entry);

/** trellis_policy_find_category: (nullable) the category with @id. */
const TrellisCategoryEntry *trellis_policy_find_category (TrellisPolicy *policy,
                                                          const char *id);

/* list-sources.c */

/* The keys of a [source ID] group. */
extern const char *const trellis_list_source_keys[];

/* A [source ID] group as read, before it is added to a policy. */
typedef struct {
  char *id;       /* (owned) */
  char *category; /* (owned) (nullable) category = as written */
  char *url;      /* (owned) (nullable) */
  TrellisListFormat format;
  char *licence;       /* (owned) (nullable) */
  char *attribution;   /* (owned) (nullable) */
  char *homepage;      /* (owned) (nullable) */
  char *checksum_url;  /* (owned) (nullable) */
  char *checksum_type; /* (owned) (nullable) */
  char *member;        /* (owned) (nullable) UT1: given, or NAME/domains */
  guint line;          /* the group's header */
} TrellisListSourceDraft;

/** trellis_list_source_draft_clear: frees what @draft holds. */
void trellis_list_source_draft_clear (TrellisListSourceDraft *draft);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrellisListSourceDraft, trellis_list_source_draft_clear)

/** trellis_list_source_id_is_valid: lower-case letters, digits, "-", "_", "." (first a letter or digit), at most 64. */
gboolean trellis_list_source_id_is_valid (const char *id);

/**
 * trellis_list_source_check_url:
 * An https:// address with a server, no user name or password, no
 * fragment, printable ASCII, at most 2048 characters.  Returns: FALSE with
 * a translated message (TRELLIS_POLICY_ERROR_INVALID) otherwise.
 */
gboolean trellis_list_source_check_url (const char *url,
                                        GError **error);

/** trellis_list_source_default_member: (transfer full) (nullable) "adult/domains" for .../adult.tar.gz. */
char *trellis_list_source_default_member (const char *url);

/**
 * trellis_list_source_read:
 * Reads the group @group ("source ID") of @key_file, every problem to
 * @problems with its place in @file (from @lines).  category = is read but
 * not checked: the caller knows what it may be.  Returns: TRUE when the
 * group is good; @ret_draft is filled either way, as far as it was read.
 */
gboolean trellis_list_source_read (GKeyFile *key_file,
                                   TrellisKeyFileLines *lines,
                                   const char *group,
                                   const char *file,
                                   TrellisProblemSource source,
                                   TrellisProblems *problems,
                                   TrellisListSourceDraft *ret_draft);

/** trellis_policy_add_list_source: adds a copy of @draft, feeding @category. */
void trellis_policy_add_list_source (TrellisPolicy *policy,
                                     const TrellisListSourceDraft *draft,
                                     const char *category,
                                     gboolean household,
                                     const char *file);

/** trellis_policy_find_list_source: (nullable) the source with @id. */
TrellisListSource *trellis_policy_find_list_source (TrellisPolicy *policy,
                                                    const char *id);

/**
 * trellis_list_sources_load_shipped:
 * Reads categories/@category/sources (@path), if there is one, into
 * @policy: its groups are [source ID], for @category.
 */
void trellis_list_sources_load_shipped (TrellisPolicy *policy,
                                        const char *path,
                                        const char *category,
                                        TrellisProblems *problems);

/* lists-index.c */

/** trellis_lists_index_fits: @lists was compiled for @policy's categories, in bit order. */
gboolean trellis_lists_index_fits (TrellisListsIndex *lists,
                                   TrellisPolicy *policy,
                                   GError **error);

/** trellis_lists_index_apply_counts: each category's names, from the manifest. */
void trellis_lists_index_apply_counts (TrellisListsIndex *lists,
                                       TrellisPolicy *policy);

/* age-bands.c */

/**
 * trellis_age_bands_load:
 * Reads @path into @policy->bands; needs the categories loaded first.  The
 * bands must cover the ages 0 to 17 once each.
 */
void trellis_age_bands_load (TrellisPolicy *policy,
                             const char *path,
                             TrellisProblems *problems);

/** trellis_policy_band_for_age: (nullable) the band index for @age, or -1. */
int trellis_policy_band_for_age (TrellisPolicy *policy,
                                 guint age);

/* policy.c */

/**
 * trellis_policy_new:
 * @file: the household file's name in messages and rules
 * Returns: (transfer full) a policy with no children and the built-in
 *   rules only: the default (rule 0) and the integrity rules.
 */
TrellisPolicy *trellis_policy_new (const char *file);

/**
 * trellis_policy_add_rule:
 * Adds a rule (every string copied into @policy; each may be NULL but
 * @pattern, "" for a rule that matches no name).  Returns: its id.
 */
guint trellis_policy_add_rule (TrellisPolicy *policy,
                               TrellisRuleKind kind,
                               const char *pattern,
                               const char *child,
                               const char *category,
                               const char *detail,
                               const char *file,
                               guint line);

/* shipped-data.c */

/**
 * trellis_shipped_data_load:
 *
 * Reads the data shipped in @data_dir into @policy: the helplines, the
 * categories (not their lists of names: trellis_categories_load_domains()),
 * the age bands, the allow list, the information list and the safe-search
 * table.
 * Problems go to @problems (TRELLIS_PROBLEM_DATA).  Returns: FALSE when a
 * file could not be read, or the categories or age bands are wrong: the
 * household's error is then TRELLIS_POLICY_ERROR_IO.
 */
gboolean trellis_shipped_data_load (TrellisPolicy *policy,
                                    const char *data_dir,
                                    TrellisProblems *problems);

/* compile.c */

/**
 * trellis_policy_count_information_below:
 * The names of the information list that lie below a category entry of
 * @policy->index (a category lists "example.org", the information list
 * "sexed.example.org"): the part of the override count that the index
 * alone tells.
 */
guint trellis_policy_count_information_below (TrellisPolicy *policy);

/* household.c */

/**
 * trellis_household_parse:
 * Reads the household file @data (@length bytes) into @policy: [household]
 * and every [child NAME].  Problems go to @problems
 * (TRELLIS_PROBLEM_HOUSEHOLD); when it already holds some (the shipped
 * data's), only the text is checked.  Returns: FALSE when the text itself
 * is malformed (TRELLIS_POLICY_ERROR_SYNTAX).
 */
gboolean trellis_household_parse (TrellisPolicy *policy,
                                  const char *data,
                                  gsize length,
                                  TrellisProblems *problems);

G_END_DECLS
