/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli.h — what the commands of `trellis` share.  One file per command
 * (cmd-*.c); trellis.c reads the options and dispatches.
 */
#pragma once

#include <glib.h>

#include "policy/trellis-policy.h"

G_BEGIN_DECLS

#define TRELLIS_CLI_DEFAULT_HOUSEHOLD TRELLIS_SYSCONFDIR "/household.conf"

/* Exit status, documented in --help. */
enum {
  TRELLIS_CLI_EXIT_OK = 0,        /* done; for why: the name is not blocked */
  TRELLIS_CLI_EXIT_BLOCKED = 1,   /* why: the name is blocked; policy check: errors */
  TRELLIS_CLI_EXIT_USAGE = 2,     /* a usage error, or a household file that cannot be read */
};

typedef struct {
  char     *household;  /* (owned) (nullable) --household */
  char     *data_dir;   /* (owned) (nullable) --data-dir */
  char     *account;    /* (owned) (nullable) --account */
  gboolean  nft;        /* --nft */
  gboolean  json;       /* --json */
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
                                        const char              *path);

/* The commands: @argc/@argv are the words after the command's own name. */
int trellis_cli_why          (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_policy_check (TrellisCliOptions *options, int argc, char **argv);
int trellis_cli_policy_show  (TrellisCliOptions *options, int argc, char **argv);

G_END_DECLS
