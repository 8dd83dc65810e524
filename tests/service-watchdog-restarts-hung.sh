#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A hung trellisd (SIGSTOP: the thread that gives the verdicts stops, and
# with it the watchdog's pings): the child's lookups fail closed, and
# systemd's watchdog (WatchdogSec=5s) restarts it; then they are filtered
# again.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

ct_require
deb_ensure
ct_root_ensure
ct_boot
ct_install /debs
ct_upstream
ct_protect_child

[ "$(cx systemctl show -p WatchdogUSec --value trellisd)" = 5s ] ||
  fail "trellisd.service has no 5 s watchdog"
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NXDOMAIN" <<<"$out" || fail "the child's lookup is not filtered before the hang: $out"
upstream_forget
pid=$(cx systemctl show -p MainPID --value trellisd)

t0=$(now_ms)
show systemctl kill --kill-who=main --signal=SIGSTOP trellisd.service
probe_run "$BLOCKED_NAME" 10 "$t0"

echo "the child's lookups of $BLOCKED_NAME after SIGSTOP (time since it):"
probe_summary
grep -q " ANSWER$" "$CT_DIR/probes" && fail "a query went through unfiltered while trellisd hung"
upstream_saw "$BLOCKED_NAME" && fail "the upstream saw the blocked name while trellisd hung"
grep -q " NONE$" "$CT_DIR/probes" || fail "no query waited while trellisd hung: was it stopped?"
cx journalctl -q -u trellisd -g 'Watchdog timeout' | grep -q . ||
  fail "systemd's watchdog did not fire"
new_pid=$(cx systemctl show -p MainPID --value trellisd)
[ "$new_pid" != "$pid" ] || fail "trellisd was not restarted (still pid $pid)"
again=$(probe_filtered_again)
[ -n "$again" ] || fail "the child's lookups were not filtered again within 10 s"
show journalctl -q -o short-precise -u trellisd --no-pager -n 10
echo "hang: the watchdog restarted trellisd; the child's lookups were filtered again ${again} ms after SIGSTOP"
log "PASS"
