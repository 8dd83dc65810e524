#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a program on Sam's account opens 300 connections to the
# system bus (the bus lets one account have 256) and subscribes to
# trellisd's signals on every one, so that no agent is left room.  trellisd
# gives one account a few subscriptions and refuses the rest with
# LimitsExceeded; the parent's agent and Robin's (Sam's sibling) still
# subscribe, the parent's desktop still shows Sam's request, its agent
# still receives the signal of Sam's block, and trellisd stays up.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/notify-session.sh"

require_root_and_netns
require_notify_session
"$PYTHON3" -c 'from gi.repository import Gio' 2>/dev/null \
  || skip "needs python3-gi (Debian package: python3-gi)"
setup_stack --bus --second-child --line "" --line "[child robin]" --line "age = 12" \
  --line "accounts = $SIBLING_ACCOUNT" --line "deny = example-game.com"

# The flood, as Sam, holding its connections open.
flood=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/subscribe-flood.py")
ip netns exec "$NS_CLIENT" setpriv --reuid="$CHILD_UID" --regid="$CHILD_GID" --clear-groups \
  env HOME=/ PATH=/usr/bin:/bin DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
  "$PYTHON3" "$flood" 300 >"$TEST_DIR/flood.out" 2>"$TEST_DIR/flood.err" &
flood_pid=$!
track_pid "$flood_pid"
# It prints its result once every connection has asked.
flood_done ()
{
  [ -s "$TEST_DIR/flood.out" ] && return 0
  kill -0 "$flood_pid" 2>/dev/null || fail "the flood died: $(cat "$TEST_DIR/flood.err")"
  return 1
}
wait_until 60 flood_done || fail "the flood did not finish subscribing within 60 s"
result=$(cat "$TEST_DIR/flood.out")
log "flood: $result"
connections=$(printf '%s\n' "$result" | sed -n 's/^connections=\([0-9]*\) .*/\1/p')
subscribed=$(printf '%s\n' "$result" | sed -n 's/.* subscribed=\([0-9]*\) .*/\1/p')
[ "${connections:-0}" -ge 200 ] || fail "the flood opened only ${connections:-no} connections: $result"
[ "${subscribed:-0}" -ge 1 ] || fail "none of the flood's connections subscribed: $result"
trellisd_running || fail "trellisd died under the flood"

# The parent's agent and Robin's subscribe (start_notify_session waits for it).
start_notify_session parent "$PARENT_UID" "$PARENT_GID"
start_notify_session robin "$SIBLING_UID" "$SIBLING_GID"
[ "$subscribed" -le 8 ] || fail "one account holds $subscribed subscriptions: $result"
printf '%s\n' "$result" | grep -q 'org.freedesktop.DBus.Error.LimitsExceeded/' \
  || fail "the flood's extra subscriptions were not refused with LimitsExceeded: $result"

# Sam's block reaches the parent's agent (which does not show blocks) ...
dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"
wait_until 5 grep -q '^trellis-notify: signal Blocked' "$(_notify_dir parent)/agent.log" \
  || { notify_log_all; fail "the parent's agent did not receive Sam's Blocked signal"; }
# ... Robin's own block reaches Robin's desktop ...
dig_as sibling "$UPSTREAM_V4" example-game.com
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "example-game.com is not blocked for Robin"; }
notify_wait robin 1 5 || { notify_log_all; fail "no notification on Robin's desktop within 5 s"; }
# ... and Robin's request reaches the parent's desktop.  (Sam's account has
# no connection to the bus left to ask with: the bus's own limit.)
gdbus_as sibling Ask example-game.com "for school"
expect_gdbus_ok
notify_wait parent 1 5 || { notify_log_all; fail "no notification on the parent's desktop within 5 s"; }
[ "$(notify_summaries parent | tail -n1)" = "A request from robin" ] \
  || { notify_log_all; fail "the parent's notification is not Robin's request"; }

# The flood goes; Sam can ask again, and the parent is told.
kill_pid "$flood_pid" TERM || true
_untrack_pid "$flood_pid"
# The bus frees Sam's connections as it sees them close.
child_asks ()
{
  gdbus_as child Ask example-game.com "for school too"
  [ "$GDBUS_RC" = 0 ]
}
wait_until 5 child_asks || true
expect_gdbus_ok
notify_wait parent 2 5 || { notify_log_all; fail "no notification of Sam's request within 5 s"; }
[ "$(notify_summaries parent | tail -n1)" = "A request from sam" ] \
  || { notify_log_all; fail "the parent's notification is not Sam's request"; }
trellisd_running || fail "trellisd is no longer running"
log "PASS: one account's connections cannot lock the parents' agents out"
