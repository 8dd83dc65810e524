/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-parse.h — reading a published list, line by line: the formats
 * publishers use (plain, hosts, adblock, UT1's domains file), each name
 * normalized (lower case, no trailing dot, an IDN in its punycode form by
 * libidn2, UTS #46 non-transitional as browsers do) and every line that
 * holds no usable name refused and counted by reason.  A publisher's file
 * is input no one here controls: nothing of it is trusted whole.
 */
#pragma once

#include <glib.h>

#include "lists/name-set.h"
#include "policy/trellis-policy.h"

G_BEGIN_DECLS

/* The longest line read; a longer one is refused (too-long). */
#define TRELLIS_LIST_LINE_MAX 4096

/* Why a line gave no name. */
typedef enum {
  TRELLIS_LIST_REFUSED_NOT_HOST = 0, /* adblock: a rule that is not a whole host (cosmetic, path, exception, options) */
  TRELLIS_LIST_REFUSED_ADDRESS,      /* an IP address, not a name */
  TRELLIS_LIST_REFUSED_LOCAL,        /* localhost, a single label, .local, .arpa, .test... */
  TRELLIS_LIST_REFUSED_SUFFIX,       /* a public suffix (com, co.uk, github.io): it would block everything under it */
  TRELLIS_LIST_REFUSED_INVALID,      /* not a domain name, or not the format's syntax */
  TRELLIS_LIST_REFUSED_TOO_LONG,     /* a line over TRELLIS_LIST_LINE_MAX bytes */
  TRELLIS_LIST_REFUSED_BINARY,       /* not text: a NUL or control character, or not UTF-8 */
  TRELLIS_LIST_REFUSED_N
} TrellisListRefused;

/** trellis_list_refused_to_string: the reason's one word ("not-host", "address", ...). */
const char *trellis_list_refused_to_string (TrellisListRefused reason);

/* What a list held. */
typedef struct {
  guint64 lines;    /* every line */
  guint64 comments; /* comments and blank lines */
  guint64 names;    /* names taken (repeats included) */
  guint64 refused[TRELLIS_LIST_REFUSED_N];
  gboolean html; /* it starts like a web page */
} TrellisListCounts;

/** trellis_list_counts_junk: the refused lines that are not what the format may hold besides names. */
guint64 trellis_list_counts_junk (const TrellisListCounts *counts);

/* Called with each name taken, normalized (NUL-terminated, at most 253 bytes). */
typedef void (*TrellisListNameFunc) (const char *name,
                                     gsize len,
                                     gpointer user_data);

typedef struct _TrellisListParser TrellisListParser;

/** trellis_list_parser_new: a parser for @format.  Returns: (transfer full). */
TrellisListParser *trellis_list_parser_new (TrellisListFormat format,
                                            TrellisListNameFunc func,
                                            gpointer user_data);

/** trellis_list_parser_free: frees @parser (NULL is allowed). */
void trellis_list_parser_free (TrellisListParser *parser);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisListParser, trellis_list_parser_free)

/**
 * trellis_list_parser_set_known:
 * @known: (nullable) (not owned, must outlive the parse): the names an
 *   earlier version of the same list gave, sorted (a names file)
 *
 * A name written exactly as it is in @known is taken without being read
 * again: it was normalized and checked then, and normalizing is
 * idempotent.  Lists mostly come sorted and change little, so most names
 * are found as the file is walked once.  Only for @known made with the
 * same public suffix list and IDN library (the caller knows).
 */
void trellis_list_parser_set_known (TrellisListParser *parser,
                                    const TrellisNamesFile *known);

/** trellis_list_parser_feed: the next @len bytes of the list (any cut, NUL bytes too). */
void trellis_list_parser_feed (TrellisListParser *parser,
                               const char *data,
                               gsize len);

/** trellis_list_parser_finish: reads the last line; @ret_counts gets what the list held. */
void trellis_list_parser_finish (TrellisListParser *parser,
                                 TrellisListCounts *ret_counts);

/**
 * trellis_list_name_normalize:
 * @raw: (array length=len): a name as a list writes it ("*.Example.COM.",
 *   "bücher.example")
 * @out: (out caller-allocates): 254 bytes
 * @ret_reason: (out): why it was refused, when it was
 *
 * Returns: TRUE with the name in @out, or FALSE with @ret_reason.
 */
gboolean trellis_list_name_normalize (const char *raw,
                                      gsize len,
                                      char *out,
                                      TrellisListRefused *ret_reason);

G_END_DECLS
