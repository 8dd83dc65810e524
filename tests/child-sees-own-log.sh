#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam finds a site does not open, and wants to see what Trellis
# blocked and why (GC25 §59, §75).  "trellis log" shows the name, the local
# time and the rule that blocked it; --json gives the same as JSON.  Allowed
# names are not in it.  "trellis status" shows Sam's profile and exactly what
# the parents can see.  Without trellisd, the CLI says so (exit 3).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus

rule=$(deny_rule_text example-game.com)

dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"
dig_as_child "$UPSTREAM_V4" en.wikipedia.org A
assert_resolved

wait_for_logged example-game.com

trellis_as child log
expect_cli_rc 0
expect_cli_output 'example-game\.com'
expect_cli_output "household\.conf:$(household_line deny)"
expect_cli_output '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}'
expect_no_cli_output 'wikipedia'

trellis_as child log --json
expect_cli_rc 0
json_check 'isinstance(j["events"], list) and len(j["events"]) == 1'
json_check 'j["events"][0]["name"] == "example-game.com"'
json_check "j[\"events\"][0][\"rule\"] == \"$rule\""
json_check 'isinstance(j["events"][0]["time"], int) and abs(j["events"][0]["time"] - __import__("time").time()) < 120'
json_check 'j["events"][0]["count"] == 1 and j["blocked"] == 1 and j["dropped_entries"] == 0'

# status: the profile and what the parents can see
trellis_as child status
expect_cli_rc 0
expect_cli_output 'sam'
expect_cli_output 'parents can see'
trellis_as child
expect_cli_rc 0
expect_cli_output 'parents can see'
trellis_as child status --json
expect_cli_rc 0
json_check 'j["name"] == "sam"'
json_check 'isinstance(j["parents_can_see"], list)'

trellisd_running || fail "trellisd is no longer running"

# without trellisd: a clear message and exit 3, not a hang or a crash
stop_trellisd
trellis_as child log
expect_cli_rc 3
expect_cli_error 'trellisd is not running'
trellis_as child status
expect_cli_rc 3

log "PASS: the child sees its own blocked lookups, with the rule, as text and JSON"
