#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam wants a clean slate (GC25 §72: a child may delete its own
# history).  "trellis log --clear" deletes Sam's entries: the log is then
# empty for Sam and for the parent, and the rows are gone from trellisd's
# database, not just hidden.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
command -v sqlite3 >/dev/null 2>&1 || skip "needs 'sqlite3'"
setup_stack --bus

dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
dig_as_child "$UPSTREAM_V4" casino.example A
assert_blocked "$(deny_rule_text casino.example)"
wait_for_logged example-game.com casino.example

trellis_as child log --json
expect_cli_rc 0
json_check 'len(j["events"]) == 2'

# the database file trellisd keeps in its state dir
db=$(find "$TEST_DIR/state" -maxdepth 2 -type f \( -name '*.db' -o -name '*.sqlite' -o -name '*.sqlite3' \) | head -n1)
[ -n "$db" ] || fail "no SQLite database in $TEST_DIR/state"
# how many rows of the database's dump mention the blocked names, in any table
count_rows ()
{
  sqlite3 "$db" .dump | grep -ciE 'example-game\.com|casino\.example' || true
}
[ "$(count_rows)" -ge 2 ] || fail "the database does not hold the two blocked names before --clear"

trellis_as child log --clear
expect_cli_rc 0
expect_cli_output '2'

trellis_as child log --json
expect_cli_rc 0
json_check 'j["events"] == [] and j["entries"] == 0'
trellis_as child log
expect_cli_rc 0
expect_no_cli_output 'example-game|casino'
trellis_as parent log --child sam --json
expect_cli_rc 0
json_check 'j["events"] == []'

[ "$(count_rows)" = 0 ] || fail "the database still mentions the cleared names: $(sqlite3 "$db" .dump | grep -iE 'example-game|casino')"

# a second clear deletes nothing
trellis_as child log --clear --json
expect_cli_rc 0
json_check 'j["deleted"] == 0'

trellisd_running || fail "trellisd is no longer running"
log "PASS: a child clears its own log and the rows are gone"
