/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * updater.h — one run of the list updater: fetch every published list the
 * household uses, check it, keep what passed, and compile the category
 * lists into a new index and manifest for trellisd, in the lists folder:
 *
 *   manifest               what the index in force was compiled from (lists-index.c)
 *   index/lists-N.idx      the index of generation N
 *   sources/ID.N.names     each source's last good list, sorted, one name a line
 *   status                 each source's last attempt, success and error (for trellis lists)
 *   run                    the last run: when it started and ended, its exit status and
 *                          what it said (trellisd answers trellis lists update with it)
 *   lock                   one run at a time
 *   tmp/                   downloads in progress
 *
 * A download that fails, or that does not check (an HTML page, a damaged
 * or cut-short archive, an empty list, one that shrank by more than half,
 * one that is mostly not names, more bytes or names than allowed, a
 * checksum that does not match), changes nothing: that source's last good
 * list stays in the next compile, and the error is in the status.  A run
 * that cannot compile leaves the manifest, and so trellisd, as they were.
 */
#pragma once

#include <glib.h>

#include "policy/trellis-policy.h"

G_BEGIN_DECLS

#define TRELLIS_UPDATER_ERROR (trellis_updater_error_quark ())
GQuark trellis_updater_error_quark (void);

typedef enum {
  TRELLIS_UPDATER_ERROR_BUSY,    /* another run holds the lock */
  TRELLIS_UPDATER_ERROR_IO,      /* the lists folder cannot be used */
  TRELLIS_UPDATER_ERROR_CONFIG,  /* the configuration file is refused */
  TRELLIS_UPDATER_ERROR_COMPILE, /* the lists did not compile: nothing changed */
} TrellisUpdaterError;

typedef struct {
  char *lists_dir;       /* (owned) */
  char *data_dir;        /* (owned) (nullable) the shipped data */
  char *ca_file;         /* (owned) (nullable) tests only: trust this CA alone */
  guint64 max_download;  /* bytes on the wire, per list */
  guint64 max_unpacked;  /* bytes once unpacked, per list */
  guint64 max_names;     /* names, per list */
  guint timeout;         /* seconds, per download */
  guint connect_timeout; /* seconds */
  gboolean offline;      /* fetch nothing: compile what the folder has */
  gboolean full;         /* compile every name again, never a patch */
  gint64 started_us;     /* when the run began (real time, µs): its run file says so */
} TrellisUpdaterConfig;

/* The defaults, before a configuration file. */
#define TRELLIS_UPDATER_MAX_DOWNLOAD       (G_GUINT64_CONSTANT (256) << 20) /* 256 MiB */
#define TRELLIS_UPDATER_MAX_UNPACKED       (G_GUINT64_CONSTANT (1) << 30)   /* 1 GiB */
#define TRELLIS_UPDATER_MAX_UNPACKED_LIMIT (G_GUINT64_CONSTANT (3) << 30)   /* what a config may raise it to */
#define TRELLIS_UPDATER_MAX_NAMES          20000000
#define TRELLIS_UPDATER_TIMEOUT            1800
#define TRELLIS_UPDATER_CONNECT_TIMEOUT    30

/** trellis_updater_config_init: the defaults; @lists_dir is copied. */
void trellis_updater_config_init (TrellisUpdaterConfig *config,
                                  const char *lists_dir);

/** trellis_updater_config_clear: frees what @config holds. */
void trellis_updater_config_clear (TrellisUpdaterConfig *config);

/**
 * trellis_updater_config_load:
 * Reads [updater] of @path: max-download, max-unpacked, max-names (numbers,
 * with an optional K, M or G), timeout, connect-timeout (seconds) and
 * test-ca-file.  The file must belong to root and be writable by no one
 * else: it can make the updater trust another CA.  A missing file is not
 * an error when @optional.
 */
gboolean trellis_updater_config_load (TrellisUpdaterConfig *config,
                                      const char *path,
                                      gboolean optional,
                                      GError **error);

/* What a run did, for its exit status. */
typedef struct {
  guint n_sources;            /* the household's sources in use */
  guint n_fetched;            /* fetched and checked now */
  guint n_current;            /* not modified since the last run */
  guint n_failed;             /* failed or refused: their last good list stays */
  gboolean compiled;          /* a new generation was written */
  gboolean patched;           /* ... by patching the previous one */
  guint64 generation;         /* the one in force after the run */
  guint n_entries;            /* names in its index */
  double compile_seconds;     /* wall clock */
  double compile_cpu_seconds; /* user and system time of this process */
  guint64 peak_anon_kib;      /* the most anonymous memory seen (RssAnon), at the run's high points */
  guint64 peak_file_kib;      /* the most mapped file memory seen then (RssFile: page cache) */
} TrellisUpdaterSummary;

/**
 * trellis_updater_run:
 * @policy: the household (trellis_policy_load_*() with no_index): its
 *   categories, sources and information list
 * @only: (nullable): NULL-terminated source IDs to fetch; the others keep
 *   their lists
 *
 * One run.  Returns: FALSE with @error only when nothing could be done
 * (the folder, the lock, a compile that failed); a source that failed is
 * in @ret_summary and the status file, not an error of the run.
 */
gboolean trellis_updater_run (const TrellisUpdaterConfig *config,
                              TrellisPolicy *policy,
                              const char *const *only,
                              TrellisUpdaterSummary *ret_summary,
                              GError **error);

/**
 * trellis_updater_record_run:
 * Writes the run file of @config's folder: the run that began at
 * @config->started_us ended now with @exit_status, having said @output.
 * trellisd, which started the run (through systemd) for a parent, answers
 * with it.  Nothing is written while another run holds the lock: the file
 * is that run's.  Returns: FALSE when it could not be written.
 */
gboolean trellis_updater_record_run (const TrellisUpdaterConfig *config,
                                     int exit_status,
                                     const char *output);

G_END_DECLS
