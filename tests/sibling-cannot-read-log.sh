#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam's brother Alex has his own account and is curious what
# Sam looks up.  Privacy holds even inside the family (GC25 §77): Alex's
# "trellis log --child sam" is refused with a clear message (exit 2), and so
# is a raw D-Bus call GetLog("sam") from his account (AccessDenied), as are
# Sam's requests and clearing Sam's log.  Alex still sees his own log.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus --second-child \
  --line "[child alex]" --line "age = 12" --line "accounts = $SIBLING_ACCOUNT"

dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
wait_for_logged example-game.com

trellis_as sibling log --child sam
expect_cli_rc 2
expect_cli_error 'only see your own log'
expect_no_cli_output 'example-game'

trellis_as sibling log --child sam --json
expect_cli_rc 2
expect_no_cli_output 'example-game'

gdbus_as sibling GetLog sam 0 0
expect_gdbus_error org.freedesktop.DBus.Error.AccessDenied
case "$GDBUS_OUT" in *example-game*) fail "the refused GetLog leaked a name: $GDBUS_OUT";; esac

gdbus_as sibling ClearLog sam
expect_gdbus_error org.freedesktop.DBus.Error.AccessDenied
gdbus_as sibling ListRequests sam
expect_gdbus_error org.freedesktop.DBus.Error.AccessDenied
gdbus_as sibling GetStatus sam
expect_gdbus_error org.freedesktop.DBus.Error.AccessDenied

# Sam's log is untouched, and Alex's own (empty) log is his to read
trellis_as child log --json
expect_cli_rc 0
json_check 'len(j["events"]) == 1 and j["events"][0]["name"] == "example-game.com"'
trellis_as sibling log --json
expect_cli_rc 0
json_check 'j["events"] == []'

trellisd_running || fail "trellisd is no longer running"
log "PASS: a sibling cannot read another child's log, through the CLI or D-Bus"
