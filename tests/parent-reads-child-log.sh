#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent wants to know what was blocked for Sam this week.
# "trellis log --child sam" as the parent shows Sam's blocked lookups with
# the rule; the parent's own account is not filtered, and a child name that
# does not exist is a clear error.  Without --child, the parent (not a
# child) has no log of its own: a clear message, not a crash.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus

dig_as_child "$UPSTREAM_V4" casino.example A
assert_blocked "$(deny_rule_text casino.example)"
dig_as_parent "$UPSTREAM_V4" example-game.com A
assert_resolved
wait_for_logged casino.example

trellis_as parent log --child sam
expect_cli_rc 0
expect_cli_output 'casino\.example'
expect_cli_output "household\.conf:$(household_line deny)"
expect_no_cli_output 'example-game'

trellis_as parent log --child sam --json
expect_cli_rc 0
json_check 'len(j["events"]) == 1 and j["events"][0]["name"] == "casino.example"'

trellis_as parent status --child sam --json
expect_cli_rc 0
json_check 'j["name"] == "sam"'

trellis_as parent log --child nobody
expect_cli_rc 2
[ -n "$CLI_ERR" ] || fail "an unknown child: no error message"

trellis_as parent log
[ "$CLI_RC" = 0 ] || [ "$CLI_RC" = 2 ] || { _cli_context; fail "trellis log as the parent: exit $CLI_RC"; }

trellisd_running || fail "trellisd is no longer running"
log "PASS: a parent reads a child's log"
