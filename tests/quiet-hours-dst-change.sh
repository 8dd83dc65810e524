#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: in Paris, summer time starts on Sunday 29 March 2026 at 01:00
# UTC, when the clocks jump from 02:00 to 03:00.  Sam's quiet hours are
# "Sun 03:00-03:30", local time: they begin at the jump itself, 01:00 UTC,
# not at 02:00 UTC as a plan made with the winter offset would have them.
# trellisd runs on a fake clock that starts eight seconds before the jump
# (the kernel keeps its real one: trellisd shifts what it programs); the
# test sees Sam's connections go through before the change and refused
# right after it, the DNS answer explain it, and trellisd plan again at the
# change of offset (a timer to the change, not a poll).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

setup_stack --no-trellisd --line "quiet-hours = Sun 03:00-03:30"
sed -i "s|^\[household\]|[household]\ntimezone = Europe/Paris|" "$HOUSEHOLD"
start_listener --tcp 80 "$UPSTREAM_V4" "$UPSTREAM_V6"
start_trellisd --fake-time 2026-03-29T00:59:52Z
started=$(now_ms)

# Before the change: 01:59 CET, not quiet.
expect_connect child ok tcp "$UPSTREAM_V4" 80
expect_connect child ok tcp "$UPSTREAM_V6" 80
dig_as_child "$UPSTREAM_V4" before-the-change.example A
assert_resolved
[ $(( $(now_ms) - started )) -lt 7000 ] || fail "too slow: the checks before the change took past it"

# After it: 03:00 CEST, quiet.
quiet_now ()
{
  connect_as child tcp "$UPSTREAM_V4" 80
  [ "$CONNECT_OUT" = refused ]
}
wait_until 15 quiet_now || fail "15 s after start (past 01:00 UTC on the fake clock) Sam's connection was not refused: $CONNECT_OUT"
waited=$(( $(now_ms) - started ))
[ "$waited" -ge 7000 ] || fail "quiet hours began ${waited} ms after start, before the change of offset (8 s)"
expect_connect child no tcp "$UPSTREAM_V6" 80
expect_connect parent ok tcp "$UPSTREAM_V4" 80
dig_as_child "$UPSTREAM_V4" after-the-change.example A
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "after the change the query was not NXDOMAIN"; }
dig_ede | grep -q 'quiet-hours Sun 03:00-03:30' || { _dig_context; fail "the answer does not name the quiet hours"; }
assert_upstream_never_saw after-the-change.example
wait_until 5 grep -q 'quiet hours planned again in Europe/Paris (UTC+02:00)' "$TRELLISD_LOG" \
  || fail "trellisd did not plan again at the change of offset"
log "PASS: quiet hours follow summer time (began ${waited} ms after a start 8 s before the change)"
