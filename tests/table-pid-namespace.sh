#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# trellisd in a pid namespace of its own, as in a container (systemd-nspawn,
# LXC, Docker): the kernel names the sender of an nf_tables transaction by
# its pid in the first pid namespace, which is never what getpid() says
# in there.  trellisd must still know its own changes for its own (by the
# netlink port they came from), or it "puts back" its own table without
# end and stops answering.  Then a change that is not its own is still put
# back within a second, and the child is filtered throughout.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

command -v unshare >/dev/null 2>&1 || fail "needs unshare (util-linux)"
setup_stack --no-household
DENY="example-game.com" write_household
rule=$(deny_rule_text example-game.com)

mkdir -p "$TEST_DIR/state"
args=(--household "$HOUSEHOLD" --state-dir "$TEST_DIR/state" --queue-num "$QUEUE_NUM"
      --answer-port "$ANSWER_PORT" --runtime-dir "$TEST_DIR/run" --verbose)
[ -z "$TRELLIS_DATA_DIR" ] || args+=(--data-dir "$TRELLIS_DATA_DIR")
echo "=== $(date +%T) starting in a pid namespace: trellisd ${args[*]}" >> "$TRELLISD_LOG"
ip netns exec "$NS_CLIENT" unshare --pid --fork --mount-proc --kill-child "$TRELLISD" "${args[@]}" \
  >> "$TRELLISD_LOG" 2>&1 &
unshare_pid=$!
track_pid "$unshare_pid"
wait_until 10 grep -q 'trellisd ready' "$TRELLISD_LOG" || fail "trellisd did not say 'trellisd ready' within 10 s"
TRELLISD_PID=$(pgrep -P "$unshare_pid" -x trellisd || true)
[ -n "$TRELLISD_PID" ] || fail "no trellisd under unshare (pid $unshare_pid)"
track_pid "$TRELLISD_PID"
inner=$(sed -n 's/^NSpid:.*[[:space:]]\([0-9]*\)$/\1/p' "/proc/$TRELLISD_PID/status")
[ "$inner" = 1 ] || fail "trellisd is pid '$inner' in its namespace, not 1: the test did not make what it says"
log "trellisd is pid $TRELLISD_PID here and pid $inner in its own namespace"

repairs () { grep -c 'was changed by another process' "$TRELLISD_LOG" || true; }

dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

# Its own changes: a reload that replaces the chains (quiet hours add some)
# and one that changes only the sets.  None is taken for another's.
from=$(date -u -d '+2 hours' +%H:00)
to=$(date -u -d '+3 hours' +%H:00)
DENY="example-game.com;other-game.example" write_household "quiet-hours = Mon-Sun $from-$to"
reload_trellisd
DENY="example-game.com" write_household
reload_trellisd
sleep 2
[ "$(repairs)" = 0 ] || { tail -n 20 "$TRELLISD_LOG" >&2; fail "trellisd took its own changes for another's $(repairs) times"; }
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"
dig_as_child "$UPSTREAM_V4" allowed-in-namespace.example A
assert_resolved

# Another's change is still put back.
in_client nft flush chain inet trellis dns-queue
wait_until 2 grep -q 'was changed by another process' "$TRELLISD_LOG" || fail "a flush of dns-queue was not noticed"
wait_until 1 sh -c "ip netns exec '$NS_CLIENT' nft list chain inet trellis dns-queue | grep -q queue" \
  || fail "dns-queue was not put back within a second"
sleep 1
[ "$(repairs)" -le 2 ] || fail "one flush, $(repairs) repairs: trellisd fights its own repair"
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"
assert_upstream_never_saw example-game.com

kill -TERM "$TRELLISD_PID"
wait_until 10 pid_gone "$TRELLISD_PID" || fail "trellisd did not exit within 10 s of SIGTERM"
wait "$unshare_pid" 2>/dev/null || true
in_client nft list table inet trellis >/dev/null 2>&1 && fail "the table is still there after SIGTERM"
TRELLISD_PID=
log "PASS: in a pid namespace trellisd knows its own changes ($(repairs) repair, for the one flush)"
