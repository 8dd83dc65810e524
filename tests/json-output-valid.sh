#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent scripts a weekly summary, and a desktop applet shows
# the child's status; both read "trellis --json".  Every listing's --json is
# valid JSON of the documented shape, also when the strings hold quotes,
# backslashes, markup and non-ASCII text (a child's message).  Control
# characters are refused at the bus; one stored before that check was made
# is shown inert (ask-message-escaped).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus

dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
wait_for_logged example-game.com

tricky=$(printf 'he said "please" \\ <b>&amp;</b> \\u0041 é ✓')
export TRICKY="$tricky"
trellis_as child ask example-game.com "$tricky"
expect_cli_rc 0

for who_cmd in "child status" "child log" "child requests" "child helplines" \
               "parent log --child sam" "parent requests" "parent status --child sam" \
               "parent helplines" "child ask casino.example"; do
  # shellcheck disable=SC2086
  trellis_as $who_cmd --json
  expect_cli_rc 0
  json_check 'j is not None'
done

trellis_as child status --json
json_check 'isinstance(j, dict) and "parents_can_see" in j and "categories" in j'
trellis_as child log --json
json_check 'all(set(e) >= {"time", "last_time", "count", "name", "rule", "category"} for e in j["events"]) and len(j["events"]) >= 1'
trellis_as child helplines --json
json_check 'isinstance(j, list) and all(set(h) >= {"name", "country", "domain", "how"} for h in j)'
trellis_as parent requests --json
json_check '[r for r in j if r["message"] == __import__("os").environ["TRICKY"]]'

trellisd_running || fail "trellisd is no longer running"
log "PASS: every listing's --json is valid JSON"
