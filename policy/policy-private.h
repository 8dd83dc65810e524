/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy-private.h — the structures behind trellis-policy.h, shared by the
 * files of policy/ and by nothing else.
 */
#pragma once

#include "policy/trellis-policy.h"
#include "policy/matcher.h"
#include "policy/domain-index.h"
#include "policy/safe-search.h"

G_BEGIN_DECLS

/* The most categories a policy holds: one bit each in a guint32. */
#define TRELLIS_MAX_CATEGORIES 32

/* The age from which Trellis filters nothing. */
#define TRELLIS_ADULT_AGE 18

/* One line of the shipped helplines file. */
typedef struct {
  const char *domain;   /* (in policy->strings) normalized */
  const char *country;  /* (in policy->strings) ISO 3166 code, or "INT" */
  const char *name;     /* (in policy->strings) */
  const char *contact;  /* (in policy->strings) (nullable) */
} TrellisHelpline;

/* One window of quiet-hours= ("Mon-Fri 20:30-07:00"). */
typedef struct {
  guint8       days;     /* bit 0 Monday … bit 6 Sunday: the days it starts on */
  guint16      start;    /* minutes after midnight, inside the window */
  guint16      end;      /* minutes after midnight, outside; before start: overnight */
  const char  *text;     /* (in policy->strings) (nullable) as written */
  guint        rule_id;  /* its QUIET_HOURS rule */
} TrellisQuietWindow;

/* A category folder (categories/ID/): the public part first. */
typedef struct {
  TrellisCategory  pub;
  GKeyFile        *desktop;   /* (owned) category.desktop, with its translations */
  char           **cidrs;     /* (owned) NULL-terminated, from the optional cidrs file */
} TrellisCategoryEntry;

/* An age band of the age-bands file: the public part first. */
typedef struct {
  TrellisAgeBand  pub;
  guint           line;       /* the line of the band's categories= (or its header) */
} TrellisAgeBandEntry;

struct _TrellisChild {
  const char     *name;         /* (in policy->strings) the NAME of [child NAME] */
  guint           line;         /* the line of the [child NAME] header */
  char          **accounts;     /* (owned) NULL-terminated Linux account names */
  char          **devices;      /* (owned) NULL-terminated MACs, addresses, CIDRs (not enforced yet) */
  int             age;          /* 0–17, or -1 when birth= is given */
  char           *birth;        /* (owned) (nullable) "YYYY-MM" or "YYYY-MM-DD" as written */
  guint           birth_year;   /* with birth=: the birthday; day 1 when only a month is written */
  guint           birth_month;
  guint           birth_day;
  char          **block;        /* (owned) (nullable) "+category" / "-category" */
  guint32         block_add;    /* categories added by block=+ID */
  guint32         block_remove; /* categories removed by block=-ID */
  guint           block_line;   /* the line of block= */
  char           *quiet_hours;  /* (owned) (nullable) as written */
  GArray         *quiet;        /* (owned) TrellisQuietWindow */
  char           *safe_search;  /* (owned) (nullable) strict | moderate | off */
  char           *mode;         /* (owned) (nullable) blocklist | allowlist */
  TrellisMatcher *rules;        /* (owned) the child's allow= and deny= */
  guint          *category_rules; /* (owned) n_bands × TRELLIS_MAX_CATEGORIES CATEGORY rule ids, 0: none */
  guint           allowlist_rule;  /* ALLOWLIST */
  guint           safe_search_rule[3]; /* SAFE_SEARCH, by level (0 for OFF) */
};

struct _TrellisPolicy {
  gatomicrefcount  ref_count;
  GStringChunk    *strings;             /* (owned) every const string the rules and children point to */
  const char      *file;                /* (in strings) the name used in messages */

  char           **parents;             /* (owned) NULL-terminated */
  gboolean         on_failure_open;
  char            *timezone;            /* (owned) (nullable) as written */
  GTimeZone       *tz;                  /* (owned) timezone=, else the system's (/etc/localtime) */
  char            *default_profile;     /* (owned) (nullable) */
  guint            log_retention_days;  /* default 7 */

  GPtrArray       *children;            /* (owned) TrellisChild (owned), file order */
  GArray          *rules;               /* (owned) TrellisRule, index = id; 0 is the default */
  GArray          *helplines;           /* (owned) TrellisHelpline */
  TrellisMatcher  *helpline_matcher;    /* (owned) shared by every child */
  TrellisMatcher  *integrity_matcher;   /* (owned) shared by every child */
  TrellisMatcher  *allowlist_matcher;   /* (owned) the curated list of allow-list mode */

  GPtrArray       *categories;          /* (owned) TrellisCategoryEntry (owned), by bit */
  GPtrArray       *bands;               /* (owned) TrellisAgeBandEntry (owned), youngest first */
  const char      *age_bands_file;      /* (in strings) (nullable) */
  TrellisDomainIndex *index;            /* (owned) (nullable) every category's names */
  TrellisSafeSearch  *safe_search;      /* (owned) (nullable) NULL when the data has none */
  GPtrArray       *warnings;            /* (owned) NULL-terminated "FILE:LINE:COL: warning: ..." */
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

/* quiet-hours.c */

/**
 * trellis_quiet_window_parse:
 * Parses one window ("Mon-Fri 20:30-07:00"; days may be listed with "," and
 * ranged with "-", also over the week's end).  @ret_window->text and
 * ->rule_id are left to the caller.  Returns: FALSE with a translated
 * message naming the mistake.
 */
gboolean trellis_quiet_window_parse (const char          *text,
                                     TrellisQuietWindow  *ret_window,
                                     GError             **error);

/**
 * trellis_quiet_windows_find:
 * @local: the moment, already in the household's zone
 * Returns: the index of a window that makes @local quiet, or -1.
 */
int trellis_quiet_windows_find (const TrellisQuietWindow *windows,
                                guint                     n_windows,
                                GDateTime                *local);

/** trellis_quiet_window_format_end: (transfer full) "07:00". */
char *trellis_quiet_window_format_end (const TrellisQuietWindow *window);

/* categories.c */

/**
 * trellis_data_line_next:
 * @cursor: (inout): where reading goes on, in a text it may write to; NULL
 *   once the text is read
 * @line_no: (inout): the number of the line last returned (start at 0)
 *
 * The next line of a data file that says something: cut at "#", stripped,
 * never empty.  The text is split in place, in one pass (a list may hold
 * 100k lines).  Returns: (nullable) the line, or NULL at the end.
 */
char *trellis_data_line_next (char **cursor,
                              guint *line_no);

/**
 * trellis_domain_list_read:
 * @contents: (inout): a category's domain list, @length bytes and a NUL
 *   after them (as g_file_get_contents() gives it); split in place
 * @path: the file's name in messages
 *
 * Adds every name of the list to @builder with the bit @bit; each line that
 * is not a domain name, and a NUL byte anywhere (then nothing is added), is
 * appended to @problems as "FILE:LINE:COL: message".  Returns: how many
 * names were added.
 */
guint trellis_domain_list_read (char                      *contents,
                                gsize                      length,
                                const char                *path,
                                guint32                    bit,
                                TrellisDomainIndexBuilder *builder,
                                GPtrArray                 *problems);

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
char **trellis_cidr_list_read (char       *contents,
                               gsize       length,
                               const char *path,
                               GPtrArray  *problems);

/**
 * trellis_categories_load:
 * Reads every folder of @dir (sorted by name) into @policy->categories and
 * adds each name of its domains and domains.* files to @builder with the
 * category's bit.  Problems are appended to @problems as full
 * "FILE:LINE:COL: message" lines.
 */
void trellis_categories_load (TrellisPolicy             *policy,
                              const char                *dir,
                              TrellisDomainIndexBuilder *builder,
                              GPtrArray                 *problems);

/** trellis_category_entry_free: frees a TrellisCategoryEntry. */
void trellis_category_entry_free (gpointer entry);

/** trellis_policy_find_category: (nullable) the category with @id. */
const TrellisCategoryEntry *trellis_policy_find_category (TrellisPolicy *policy,
                                                          const char    *id);

/* age-bands.c */

/**
 * trellis_age_bands_load:
 * Reads @path into @policy->bands; needs the categories loaded first.  The
 * bands must cover the ages 0 to 17 once each.
 */
void trellis_age_bands_load (TrellisPolicy *policy,
                             const char    *path,
                             GPtrArray     *problems);

/** trellis_policy_band_for_age: (nullable) the band index for @age, or -1. */
int trellis_policy_band_for_age (TrellisPolicy *policy,
                                 guint          age);

/** trellis_safe_search_level_to_string: "off", "moderate" or "strict". */
const char *trellis_safe_search_level_to_string (TrellisSafeSearchLevel level);

/** trellis_safe_search_level_from_string: FALSE for anything else. */
gboolean trellis_safe_search_level_from_string (const char             *text,
                                                TrellisSafeSearchLevel *ret_level);

/* household.c: a line-number map of a key file's groups and keys. */

/** trellis_key_file_lines: "group" and "group\037key" → line (GUINT_TO_POINTER). */
GHashTable *trellis_key_file_lines (const char *data);

G_END_DECLS
