/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-policy-show.c — trellis policy show.
 */
#include <glib/gi18n.h>

#include "cli/cli.h"

int
trellis_cli_policy_show (TrellisCliOptions *options, int argc, char **argv)
{
  g_printerr (_("trellis: policy show is not available yet\n"));
  return TRELLIS_CLI_EXIT_USAGE;
}
