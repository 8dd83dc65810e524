#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: on a machine with several cores trellisd reads a queue per
# core, each in a thread of its own (the kernel hands a packet to the
# queue of the CPU it was sent from).  Sam, Alex and a parent send the same
# burst of lookups (tests/lib/burst.py: allowed, denied for one child and
# not the other, malformed, TCP, IPv4 and IPv6) first through one queue
# thread, then through two; the answers are the same, query by query, and
# with two threads both queues did their share.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs for the kernel to spread packets over two queues"
COUNT=300
DENY=example-game.com setup_stack --second-child --no-trellisd \
  --line "[child alex]" --line "age = 12" --line "accounts = $SIBLING_ACCOUNT" \
  --line "deny = casino.example"
# The upstream logs every query and has the kernel's default socket
# buffer: first in line for the CPU, so that a busy machine does not make
# it drop queries of the burst (which would look like lost answers).
renice -n -10 -p "$UPSTREAM_PID" > /dev/null
burst=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/burst.py")
sam_rule=$(deny_rule_text example-game.com)
alex_rule="deny casino.example ($(basename "$HOUSEHOLD"):$(grep -n '^deny = casino.example$' "$HOUSEHOLD" | cut -d: -f1))"

# run_burst LABEL: the three at once (Sam on CPU 0, Alex on CPU 1); their
# answers, sorted, in $TEST_DIR/LABEL.answers.
run_burst ()
{
  local label=$1 who uid gid cpu rc i pids=()
  for who in sam alex parent; do
    case "$who" in
      sam) uid=$CHILD_UID gid=$CHILD_GID cpu=0 ;;
      alex) uid=$SIBLING_UID gid=$SIBLING_GID cpu=1 ;;
      parent) uid=$PARENT_UID gid=$PARENT_GID cpu=0-$(( $(nproc) - 1 )) ;;
    esac
    ip netns exec "$NS_CLIENT" taskset -c "$cpu" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
      "$PYTHON3" "$burst" "$who" "$COUNT" "$UPSTREAM_V4" "$UPSTREAM_V6" "$sam_rule" "$alex_rule" \
      > "$TEST_DIR/$label.$who.out" 2> "$TEST_DIR/$label.$who.err" &
    pids+=($!)
    track_pid "$!"
  done
  i=0
  for who in sam alex parent; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    _untrack_pid "${pids[$i]}"
    i=$((i + 1))
    if [ "$rc" != 0 ]; then
      head -n 20 "$TEST_DIR/$label.$who.err" >&2
      fail "$label: $who's burst: $(grep -c '^PROBLEM' "$TEST_DIR/$label.$who.err" || true) problem(s) (exit $rc)"
    fi
  done
  grep -h '^ANSWER' "$TEST_DIR/$label".{sam,alex,parent}.out | sort > "$TEST_DIR/$label.answers"
  log "$label: $(wc -l < "$TEST_DIR/$label.answers") answers"
}

# queue_packets: "NUM PACKETS" per queue trellisd let go of (its last stop).
queue_packets ()
{
  grep -E 'queue [0-9]+: [0-9]+ packets in' "$TRELLISD_LOG" | tail -n "$1" \
    | sed -n 's/.*queue \([0-9]*\): \([0-9]*\) packets in.*/\1 \2/p'
}

start_trellisd --queue-threads 1
grep -q "queue $QUEUE_NUM, answerer" "$TRELLISD_LOG" || fail "trellisd did not say it reads one queue"
run_burst one
stop_trellisd TERM
one=$(queue_packets 1)
log "one thread: queue $one packets"

start_trellisd --queue-threads 2
grep -q "queues $QUEUE_NUM-$((QUEUE_NUM + 1)), a thread each" "$TRELLISD_LOG" \
  || fail "trellisd did not say it reads two queues"
run_burst two
stop_trellisd TERM
two=$(queue_packets 2)
log "two threads: $(tr '\n' ';' <<<"$two")"

if ! diff -u "$TEST_DIR/one.answers" "$TEST_DIR/two.answers" > "$TEST_DIR/answers.diff"; then
  head -n 40 "$TEST_DIR/answers.diff" >&2
  fail "the answers through two queue threads differ from those through one (- one, + two)"
fi
[ "$(wc -l <<<"$two")" = 2 ] || fail "expected two queues' counts, got: $two"
while read -r num packets; do
  [ "$packets" -gt 0 ] || fail "queue $num got no packet: the second thread did nothing"
done <<<"$two"
total_one=$(awk '{ s += $2 } END { print s }' <<<"$one")
total_two=$(awk '{ s += $2 } END { print s }' <<<"$two")
[ "$total_one" = "$total_two" ] \
  || fail "one thread read $total_one packets, two read $total_two: the same burst should queue as many"
log "PASS: $(wc -l < "$TEST_DIR/one.answers") answers the same through one queue thread and two ($(tr '\n' ' ' <<<"$two"))"
