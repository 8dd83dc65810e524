#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam, Alex and a parent are all online at once, and their
# lookups arrive together: allowed names, names denied for one child and
# not the other, malformed packets, TCP, IPv4 and IPv6, hundreds at a time.
# trellisd reads them off its queues together and gives their verdicts in
# batches (a run of the same verdict as one NFQNL_MSG_VERDICT_BATCH).
# Every query is answered exactly once, the right way (tests/lib/burst.py
# checks each answer: its id, question and server, NOERROR with the
# upstream's address, or NXDOMAIN with EDE 17 and the child's own rule); a
# malformed one never; the upstream saw each allowed query exactly once and
# no blocked or malformed one; the kernel's queues hold nothing afterwards,
# dropped nothing, and queued exactly the children's packets; and trellisd
# gave fewer verdict messages than packets (the batches were used).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

COUNT=400
DENY=example-game.com setup_stack --second-child \
  --line "[child alex]" --line "age = 12" --line "accounts = $SIBLING_ACCOUNT" \
  --line "deny = casino.example"
# The upstream logs every query and has the kernel's default socket
# buffer: first in line for the CPU, so that a busy machine does not make
# it drop queries of the burst (which would look like lost answers).
renice -n -10 -p "$UPSTREAM_PID" > /dev/null
burst=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/burst.py")
sam_rule=$(deny_rule_text example-game.com)
alex_rule="deny casino.example ($(basename "$HOUSEHOLD"):$(grep -n '^deny = casino.example$' "$HOUSEHOLD" | cut -d: -f1))"

# queue_stats: "NUM WAITING DROPPED USER_DROPPED ID_SEQUENCE" for each queue
# of the client namespace (/proc/net/netfilter/nfnetlink_queue).
queue_stats ()
{
  in_client cat /proc/net/netfilter/nfnetlink_queue | awk '{ print $1, $3, $6, $7, $8 }' | sort -n
}
before=$(queue_stats)
[ "$(printf '%s\n' "$before" | grep -c .)" -ge 1 ] || fail "trellisd has no queue bound: $before"

# The three at once, each as itself: Sam on CPU 0, Alex on CPU 1 (with a
# queue per CPU, both queues get packets), the parent anywhere.
pids=()
for who in sam alex parent; do
  case "$who" in
    sam) uid=$CHILD_UID gid=$CHILD_GID cpu=0 ;;
    alex) uid=$SIBLING_UID gid=$SIBLING_GID cpu=1 ;;
    parent) uid=$PARENT_UID gid=$PARENT_GID cpu=0-$(( $(nproc) - 1 )) ;;
  esac
  ip netns exec "$NS_CLIENT" taskset -c "$cpu" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    "$PYTHON3" "$burst" "$who" "$COUNT" "$UPSTREAM_V4" "$UPSTREAM_V6" "$sam_rule" "$alex_rule" \
    > "$TEST_DIR/$who.out" 2> "$TEST_DIR/$who.err" &
  pids+=($!)
  track_pid "$!"
done
for i in 0 1 2; do
  rc=0
  wait "${pids[$i]}" || rc=$?
  _untrack_pid "${pids[$i]}"
  who=$(echo sam alex parent | cut -d' ' -f$((i + 1)))
  if [ "$rc" != 0 ]; then
    head -n 30 "$TEST_DIR/$who.err" >&2
    fail "$who's burst: $(grep -c '^PROBLEM' "$TEST_DIR/$who.err" || true) problem(s) (exit $rc)"
  fi
  log "$who: $(grep '^SUMMARY' "$TEST_DIR/$who.out")"
done

# The upstream: each allowed query exactly once, nothing blocked or malformed.
cat "$TEST_DIR"/{sam,alex,parent}.out > "$TEST_DIR/all.out"
awk '
  FNR == NR && $1 == "UPSTREAM-ONCE" { once[tolower($2) " " $3] = 1; next }
  FNR == NR && $1 == "UPSTREAM-NEVER" { never[tolower($2)] = 1; next }
  FNR == NR { next }
  {
    for (i = 1; i < NF; i++)
      if ($i ~ /^query\[/) {
        t = substr($i, 7, length($i) - 7); n = tolower($(i + 1))
        seen[n " " t]++; any[n]++
      }
  }
  END {
    bad = 0
    for (k in once) if (seen[k] != 1) { print "the upstream saw " k " " (seen[k] + 0) " times"; bad++ }
    for (n in never) if (any[n] > 0) { print "the upstream saw " n; bad++ }
    exit bad > 0
  }' "$TEST_DIR/all.out" "$UPSTREAM_LOG" > "$TEST_DIR/upstream.problems" \
  || fail "the upstream's log: $(head -n 10 "$TEST_DIR/upstream.problems" | tr '\n' ';')"
once=$(grep -c '^UPSTREAM-ONCE' "$TEST_DIR/all.out")
never=$(grep -c '^UPSTREAM-NEVER' "$TEST_DIR/all.out")
log "upstream: $once queries seen once each, $never names never"

# The kernel's queues: nothing waiting, nothing dropped, and as many packets
# queued as the children sent (their UDP queries, malformed ones included,
# and a SYN per TCP connection; the parent is never queued).
expected=0
for who in sam alex; do
  s=$(grep '^SUMMARY' "$TEST_DIR/$who.out")
  sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$s")
  bad=$(sed -n 's/.* malformed=\([0-9]*\).*/\1/p' <<<"$s")
  tcp=$(sed -n 's/.* tcp=\([0-9]*\).*/\1/p' <<<"$s")
  expected=$((expected + sent + bad + tcp / 3))
done
wait_until 5 eval '[ "$(queue_stats | awk "{ w += \$2 } END { print w + 0 }")" = 0 ]' \
  || fail "packets still wait in the queue without a verdict: $(queue_stats | tr '\n' ';')"
after=$(queue_stats)
queued=$(join <(printf '%s\n' "$before") <(printf '%s\n' "$after") | awk '
  { if ($7 != $3 || $8 != $4) { print "DROPS queue " $1 ": dropped " $3 "->" $7 ", user-dropped " $4 "->" $8; exit }
    q += $9 - $5 }
  END { print q }')
case "$queued" in
  DROPS*) fail "the kernel dropped queued packets: $queued" ;;
esac
# A SYN the kernel sends again (no SYN-ACK within 1 s) is queued again: a few at most.
[ "$queued" -ge "$expected" ] && [ "$queued" -le $((expected + 3)) ] \
  || fail "the queues took $queued packets, the children sent $expected (before: $before; after: $after)"
log "kernel: $queued packets queued over $(printf '%s\n' "$after" | wc -l) queue(s), none waiting or dropped"

# trellisd's own count, said when it lets the queues go: every packet, and
# fewer verdict messages than packets.
stop_trellisd TERM
stats=$(grep -E 'queue [0-9]+: [0-9]+ packets in' "$TRELLISD_LOG" | tail -n "$(printf '%s\n' "$after" | wc -l)")
packets=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "packets") p += $i } END { print p + 0 }' <<<"$stats")
verdicts=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "verdict") v += $i } END { print v + 0 }' <<<"$stats")
[ "$packets" = "$queued" ] || fail "trellisd read $packets packets, the kernel queued $queued: $stats"
[ "$verdicts" -lt "$packets" ] || fail "no verdict covered more than one packet: $stats"
log "PASS: $packets packets, $verdicts verdict messages; every query answered once, the right way"
