#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam asks for "com", and a tired parent approves it: that
# would lift every block under .com, example-game.com included.  A rule
# must name a site, not a public suffix.  trellisd refuses Ask for "com",
# "co.uk" and "github.io" with the reason (and trellis ask says it in
# Sam's words first); a request for "com" or "co.uk" stored before the
# check (written into the event log directly) cannot be approved, only
# declined; a grant of "com" stored before it is not honoured; a household
# file with deny = com or allow = co.uk is refused at its line and column,
# by `trellis policy check` and by trellisd, which keeps the policy in
# force.  An ordinary name is still asked for, approved and granted.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
command -v sqlite3 >/dev/null 2>&1 || skip "needs sqlite3 (Debian package: sqlite3)"
setup_stack --bus

rule=$(deny_rule_text example-game.com)
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

# 1. Asking for a public suffix: refused, said why, nothing stored.
trellis_as child ask com "everything please"
expect_cli_rc 2
expect_cli_error '“com” is not a site but a whole top-level domain: allowing it would lift every block under \.com'
trellis_as child ask co.uk
expect_cli_rc 2
expect_cli_error '“co\.uk” is not a site but a public suffix'
for name in com CO.UK. co.uk github.io uk; do
  gdbus_as child Ask "$name" ""
  expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
  printf '%s\n' "$GDBUS_OUT" | grep -qE 'is not a site|is shared by many unrelated sites' \
    || fail "Ask $name: the refusal does not say why: $GDBUS_OUT"
done
trellis_as parent requests --json
expect_cli_rc 0
json_check 'j == []'

# 2. Requests for com and co.uk from before the check: approving is refused,
#    declining works, and example-game.com stays blocked.
old_request ()
{
  sqlite3 "$TEST_DIR/state/events.db" \
    "INSERT INTO requests (child, name, message, state, created)
     VALUES ('sam', '$1', 'old', 'pending', strftime('%s', 'now')); SELECT last_insert_rowid();" \
    || fail "cannot add an old request for $1 to the event log"
}
com_id=$(old_request com)
couk_id=$(old_request co.uk)
trellis_as parent approve "$com_id" --for 1h
expect_cli_rc 2
expect_cli_error "Request $com_id cannot be approved, decline it: “com” is not a site"
gdbus_as parent Approve "$couk_id" 3600
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
printf '%s\n' "$GDBUS_OUT" | grep -qF '“co.uk” is not a site but a public suffix' \
  || fail "Approve co.uk: the refusal does not say why: $GDBUS_OUT"
trellis_as parent requests --json
json_check "[r for r in j if r['id'] == $com_id and r['state'] == 'pending']"
json_check "[r for r in j if r['id'] == $couk_id and r['state'] == 'pending']"
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"
trellis_as parent decline "$com_id" "ask for the one site"
expect_cli_rc 0

# 3. A grant of com from before the check is not honoured, at start or after.
sqlite3 "$TEST_DIR/state/events.db" \
  "INSERT INTO requests (child, name, message, state, created, answered, answer, grant_until)
   VALUES ('sam', 'com', '', 'approved', strftime('%s', 'now'), strftime('%s', 'now'), '',
           strftime('%s', 'now') + 3600);" \
  || fail "cannot add an old grant to the event log"
stop_trellisd
start_trellisd
wait_for_trellisd_on_bus
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"
grep -q 'its grant is not honoured: it is for a public suffix' "$TRELLISD_LOG" \
  || fail "trellisd did not say it ignores the grant of com"

# 4. An ordinary name still works: asked, approved, granted.
trellis_as child ask example-game.com "for homework"
expect_cli_rc 0
trellis_as parent requests --json
json_check "[r['id'] for r in j if r['name'] == 'example-game.com' and r['state'] == 'pending'][0]"
trellis_as parent approve "$JSON_VALUE" --for 1h
expect_cli_rc 0
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_resolved

# 5. deny = com and allow = co.uk in the household file: refused at their
#    line and column, by policy check and by trellisd, which keeps the
#    policy in force.
cp "$HOUSEHOLD" "$TEST_DIR/household.good"
DENY="casino.example;com" write_household
sed -i 's/^allow = scratch\.mit\.edu$/allow = scratch.mit.edu;co.uk/' "$HOUSEHOLD"
deny_line=$(household_line deny)
allow_line=$(household_line allow)
trellis_as parent policy check "$HOUSEHOLD" --data-dir "$TRELLIS_DATA_DIR"
expect_cli_rc 1
expect_cli_error "household\.conf:$deny_line:23: “com” is not a site but a whole top-level domain: denying it would block every site under \.com"
expect_cli_error "household\.conf:$allow_line:25: “co\.uk” is not a site but a public suffix, under which anyone can register one: allowing it would lift every block under \.co\.uk"
reloads=$(grep -c 'household not reloaded' "$TRELLISD_LOG" || true)
trellis_as parent policy apply
expect_cli_rc 0
wait_until 5 log_has_more "$TRELLISD_LOG" 'household not reloaded' "$reloads" \
  || fail "trellisd reloaded a household that denies com"
grep -q "“com” is not a site" "$TRELLISD_LOG" || fail "trellisd did not say why it refused the file"
dig_as_child "$UPSTREAM_V4" casino.example A
assert_blocked "$(echo "deny casino.example ($(basename "$HOUSEHOLD"):$(grep -n -m1 '^deny' "$TEST_DIR/household.good" | cut -d: -f1))")"
dig_as_child "$UPSTREAM_V4" wikipedia.org A
assert_resolved

trellisd_running || fail "trellisd is no longer running"
log "PASS: public suffixes are refused in ask, approve, allow= and deny=; ordinary names work"
