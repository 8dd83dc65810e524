#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam needs example-game.com for homework and asks (GC25 §44):
# "trellis ask example-game.com 'for homework'".  The parent sees it in
# "trellis requests", pending, with the message, and approves it for a short
# while.  The site then works for Sam at once, Sam's requests show it
# approved, and when the grant runs out the site is blocked again by the
# same rule, without anyone doing anything.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus

rule=$(deny_rule_text example-game.com)
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

trellis_as child ask example-game.com "for homework"
expect_cli_rc 0
expect_cli_output 'parents'
trellis_as child ask example-game.com "for homework" --json
expect_cli_rc 0
json_check 'isinstance(j["id"], int) and j["id"] > 0'

# the parent sees the requests, pending first, with the child and the message
trellis_as parent requests
expect_cli_rc 0
expect_cli_output 'example-game\.com'
expect_cli_output 'for homework'
expect_cli_output 'sam'
trellis_as parent requests --json
expect_cli_rc 0
json_check 'len(j) >= 1 and j[0]["state"] == "pending" and j[0]["child"] == "sam"'
json_check '[r for r in j if r["name"] == "example-game.com" and r["message"] == "for homework"]'
json_check 'j[0]["id"]'
id=$JSON_VALUE

# a child cannot approve its own request
trellis_as child approve "$id" --for 1h
expect_cli_rc 2
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

approved_ms=$(now_ms)
trellis_as parent approve "$id" --for 2s
expect_cli_rc 0

dig_as_child "$UPSTREAM_V4" example-game.com A
assert_resolved
trellis_as child requests --json
expect_cli_rc 0
json_check "[r for r in j if r['id'] == $id and r['state'] == 'approved' and r['expires'] > 0]"
trellis_as child requests
expect_cli_rc 0
expect_cli_output 'approved'

# the grant runs out: blocked again, by the same rule, not before its time
# (expiry may be counted in whole seconds) and not much after it
child_blocked_again ()
{
  dig_as_child "$UPSTREAM_V4" example-game.com A
  [ "$(dig_status)" = NXDOMAIN ]
}
wait_until 6 child_blocked_again || { _dig_context; fail "the 2 s grant had not run out after 6 s"; }
elapsed=$(( $(now_ms) - approved_ms ))
[ "$elapsed" -ge 1000 ] || fail "the 2 s grant ran out after $elapsed ms"
assert_blocked "$rule"

# a grant for the default duration (1h) on the second request still works
trellis_as parent requests --json
json_check "[r['id'] for r in j if r['state'] == 'pending'][0]"
id2=$JSON_VALUE
trellis_as parent approve "$id2"
expect_cli_rc 0
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_resolved

# an unknown request
trellis_as parent approve 999999 --for 1h
expect_cli_rc 2

trellisd_running || fail "trellisd is no longer running"
log "PASS: ask, approve for a while, the grant works and then expires"
