/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli.h — what the commands of `trellis` share.  One file per command
 * (cmd-*.c); trellis.c reads the options and dispatches.
 */
#pragma once

#include <glib.h>

#include "cli/cli-json.h"
#include "policy/trellis-policy.h"

G_BEGIN_DECLS

#define TRELLIS_CLI_DEFAULT_HOUSEHOLD TRELLIS_SYSCONFDIR "/household.conf"

/* Exit status, documented in --help. */
enum {
  TRELLIS_CLI_EXIT_OK = 0,          /* done; for why: the name is not blocked */
  TRELLIS_CLI_EXIT_BLOCKED = 1,     /* why: the name is blocked; policy check: errors */
  TRELLIS_CLI_EXIT_USAGE = 2,       /* a usage error, or a household file that cannot be read;
                                   * trellisd refused (not allowed, bad argument, not found) */
  TRELLIS_CLI_EXIT_UNREACHABLE = 3, /* trellisd is not running or cannot be reached */
};

/* approve's grant when --for is not given: one hour. */
#define TRELLIS_CLI_DEFAULT_GRANT_SECONDS 3600

typedef struct {
  char *household;         /* (owned) (nullable) --household */
  char *data_dir;          /* (owned) --data-dir, or trellis_data_dir_default() */
  gboolean data_dir_given; /* --data-dir was on the command line */
  char *account;           /* (owned) (nullable) --account */
  gboolean nft;            /* --nft */
  gboolean json;           /* --json */
  char *child;             /* (owned) (nullable) --child: a child's name (parents) */
  char *duration;          /* (owned) (nullable) --for: e.g. 30m, 2h, 1d */
  gboolean clear;          /* --clear (log) */
  char *age;               /* (owned) (nullable) --age (child add) */
  char *birth;             /* (owned) (nullable) --birth (child add) */
  gboolean always;         /* --always (approve) */
  char *device;            /* (owned) (nullable) --device (log): a gateway's device */
  char *group;             /* (owned) (nullable) --group (log): a gateway's group */
  char *since;             /* (owned) (nullable) --since (report): days */
} TrellisCliOptions;

/** trellis_cli_household_path: --household, or the system's file. */
const char *trellis_cli_household_path (const TrellisCliOptions *options);

/** trellis_cli_caller_account: (transfer full) (nullable) the caller's account name. */
char *trellis_cli_caller_account (void);

/**
 * trellis_cli_policy_load:
 * Loads @path (the household file) and, on failure, prints why.
 * Returns: (transfer full) (nullable).
 */
TrellisPolicy *trellis_cli_policy_load (const TrellisCliOptions *options,
                                        const char *path);

/**
 * trellis_cli_data_dir_hint:
 * After a household failed to load with @error: when it was the shipped
 * data that could not be read from a folder nobody asked for, says in one
 * line where it was looked for and how to give another.
 */
void trellis_cli_data_dir_hint (const TrellisCliOptions *options,
                                const GError *error);

/**
 * trellis_cli_duration_parse:
 * Reads a duration such as 90s, 30m, 2h, 1d (a bare number is seconds)
 * into a positive number of seconds; G_OPTION_ERROR_BAD_VALUE otherwise.
 */
gboolean trellis_cli_duration_parse (const char *text,
                                     gint64 *ret_seconds,
                                     GError **error);

/** trellis_cli_time_format: (transfer full) @unix_time in local time, "YYYY-MM-DD HH:MM:SS". */
char *trellis_cli_time_format (gint64 unix_time);

/**
 * trellis_cli_time_format_as:
 * (transfer full) @unix_time in local time, as g_date_time_format()
 * writes @format; "@SECONDS" for a time GLib cannot place.
 */
char *trellis_cli_time_format_as (gint64 unix_time,
                                  const char *format);

/* The commands: @argc/@argv are the words after the command's own name. */
int trellis_cli_why (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_policy_check (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_policy_show (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_status (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_log (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_report (TrellisCliOptions *options, int argc, char **argv);

/**
 * trellis_cli_device_check:
 * Whether @text is one device, a MAC or one IPv4 or IPv6 address; prints
 * why not (a range is not one device) and returns FALSE otherwise.
 */
gboolean trellis_cli_device_check (const char *text);
int trellis_cli_ask (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_requests (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_approve (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_decline (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_pause (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_policy_apply (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_helplines (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_lists (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_child (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_allow (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_deny (TrellisCliOptions *options, int argc, char **argv);

G_END_DECLS
