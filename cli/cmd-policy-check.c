/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-policy-check.c — trellis policy check.
 */
#include <glib/gi18n.h>

#include "cli/cli.h"

int
trellis_cli_policy_check (TrellisCliOptions *options, int argc, char **argv)
{
  g_printerr (_("trellis: policy check is not available yet\n"));
  return TRELLIS_CLI_EXIT_USAGE;
}
