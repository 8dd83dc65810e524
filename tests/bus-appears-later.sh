#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: trellisd starts early in boot (DefaultDependencies=no), before
# the system bus.  It filters from the start; `trellis` cannot reach it
# yet.  When the bus appears, trellisd connects and takes its name within
# seconds, and Sam's `trellis status` and `trellis why` work, with no
# restart.  When the bus goes away (dbus restarted), trellisd keeps
# filtering, does not exit, and connects again when the bus is back.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
# trellis_as and the bus's helpers, before there is a bus.
. "$TRELLIS_TOP_SRCDIR/tests/lib/system-bus.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --no-trellisd

# The address the bus will have (system-bus.sh's socket), before it exists.
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TEST_DIR/system_bus_socket"
export DBUS_SYSTEM_BUS_ADDRESS
start_trellisd
pid_at_start=$TRELLISD_PID

dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"
trellis_as child status
expect_cli_rc 3
# It says so once, then tries again (from every 250 ms): two tries more,
# and it is still there.
wait_until 10 log_has_more "$TRELLISD_LOG" 'no system bus yet' 2 \
  || fail "trellisd did not try again to connect to the bus"
trellisd_running || fail "trellisd stopped without a bus"

# The bus appears.
start_system_bus
wait_for_trellisd_on_bus
trellis_as child status --json
expect_cli_rc 0
json_check 'j["name"] == "sam"'
trellis_as child why example-game.com
expect_cli_rc 1
[ "$TRELLISD_PID" = "$pid_at_start" ] || fail "trellisd was restarted"
grep -q 'no system bus yet' "$TRELLISD_LOG" || fail "trellisd did not say there was no bus yet"
grep -q 'connected to the system bus' "$TRELLISD_LOG" || fail "trellisd did not say it connected"

# The bus goes away, and comes back.
tries=$(grep -c 'no system bus yet' "$TRELLISD_LOG" || true)
kill_pid "$SYSTEM_BUS_PID" TERM || true
_untrack_pid "$SYSTEM_BUS_PID"
rm -f "$TEST_DIR/system_bus_socket"
wait_until 5 grep -q 'the system bus went away' "$TRELLISD_LOG" \
  || fail "trellisd did not notice the bus went away"
wait_until 5 log_has_more "$TRELLISD_LOG" 'no system bus yet' "$tries" \
  || fail "trellisd did not try to connect again after the bus went away"
trellisd_running || fail "trellisd exited when the bus went away"
dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"
start_system_bus
wait_for_trellisd_on_bus
trellis_as child status --json
expect_cli_rc 0
json_check 'j["name"] == "sam"'
[ "$TRELLISD_PID" = "$pid_at_start" ] && trellisd_running || fail "trellisd was restarted"

log "PASS: trellisd filters without a bus, and takes its name when the bus appears"
