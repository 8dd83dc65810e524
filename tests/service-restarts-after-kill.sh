#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# trellisd killed (SIGKILL, as a crash) under its real unit: the child's
# lookups fail closed (the table stays, the queue has no one: no query
# goes through unfiltered), then systemd restarts trellisd and they are
# filtered again within a second.  Prints the gap.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

ct_require
deb_ensure
ct_root_ensure
ct_boot
ct_install /debs
ct_upstream
ct_protect_child

out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NXDOMAIN" <<<"$out" || fail "the child's lookup is not filtered before the kill: $out"
upstream_forget
pid=$(cx systemctl show -p MainPID --value trellisd)
restarts=$(cx systemctl show -p NRestarts --value trellisd)

t0=$(now_ms)
show systemctl kill --kill-who=main --signal=SIGKILL trellisd.service
probe_run "$BLOCKED_NAME" 3 "$t0"

echo "the child's lookups of $BLOCKED_NAME after the kill (time since the kill):"
probe_summary
grep -q " ANSWER$" "$CT_DIR/probes" && fail "a query went through unfiltered while trellisd was down"
upstream_saw "$BLOCKED_NAME" && fail "the upstream saw the blocked name while trellisd was down"
grep -q " NONE$" "$CT_DIR/probes" || fail "no query failed while trellisd was down: was it killed?"
again=$(probe_filtered_again)
[ -n "$again" ] || fail "the child's lookups were not filtered again within 3 s"

new_pid=$(cx systemctl show -p MainPID --value trellisd)
new_restarts=$(cx systemctl show -p NRestarts --value trellisd)
[ "$new_pid" != "$pid" ] && [ "$new_restarts" -gt "$restarts" ] ||
  fail "systemd did not restart trellisd (pid $pid -> $new_pid, restarts $restarts -> $new_restarts)"
show journalctl -q -o short-precise -u trellisd --no-pager -n 8
echo "restart gap: the child's lookups were filtered again ${again} ms after the kill"
[ "$again" -le 1000 ] || fail "filtered again only after $again ms (more than a second)"
log "PASS"
