#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam asks for casino.example; the parent declines it with a
# word of explanation, "not on school nights".  Sam's "trellis requests"
# shows the request declined with the parent's message, and the site stays
# blocked.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus

trellis_as child ask casino.example "everyone in class plays"
expect_cli_rc 0
trellis_as child requests --json
expect_cli_rc 0
json_check 'len(j) == 1 and j[0]["state"] == "pending"'
json_check 'j[0]["id"]'
id=$JSON_VALUE

trellis_as parent decline "$id" "not on school nights"
expect_cli_rc 0

trellis_as child requests
expect_cli_rc 0
expect_cli_output 'declined'
expect_cli_output 'not on school nights'
expect_cli_output 'casino\.example'
trellis_as child requests --json
expect_cli_rc 0
json_check "j[0]['id'] == $id and j[0]['state'] == 'declined' and j[0]['answer'] == 'not on school nights'"

dig_as_child "$UPSTREAM_V4" casino.example A
assert_blocked "$(deny_rule_text casino.example)"

# declining twice, or a request that does not exist, is an error
trellis_as parent decline 424242 "no"
expect_cli_rc 2
# a child cannot decline
trellis_as child decline "$id" "hmm"
expect_cli_rc 2

trellisd_running || fail "trellisd is no longer running"
log "PASS: a declined request shows the parent's message to the child"
