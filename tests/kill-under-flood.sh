#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Under load and faults: trellisd is stopped (SIGSTOP, as a hung daemon)
# and then killed (SIGKILL, as a crash) while a child floods the resolver
# with 10,000 queries a second (dnsperf as the child, IPv4 and IPv6).
# With on-failure = closed not one blocked name reaches the upstream at
# any time; while trellisd is stopped or dead the child's queries get no
# answer (they wait in the kernel, or are dropped), the parent's are
# answered as always; SIGCONT resumes it, and a trellisd started again
# takes the queue back in under a second (the first of the child's
# lookups answered after the start, one every 20 ms).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

UPSTREAM_LOG_QUERIES=0 setup_stack
# Short waits: the windows where nothing may be answered are measured by them.
FLOOD_TIMEOUT=2 WATCH_TIMEOUT=2
. "$TRELLIS_TOP_SRCDIR/tests/lib/flood.sh"
flood_setup
SECONDS_OF_FLOOD=${FLOOD_SECONDS:-28}

sockets_before=$(socket_drops)
watch_start parent4 parent "$UPSTREAM_V4" parent-during-faults.example
watch_start parent6 parent "$UPSTREAM_V6" parent-during-faults.example
watch_start child4 child "$UPSTREAM_V4" child-allowed-during-faults.example
watch_start blocked6 child "$UPSTREAM_V6" watched.example-game.com nxdomain
flood_start blocked-v4 "$UPSTREAM_V4" blocked 6000 "$SECONDS_OF_FLOOD"
flood_start blocked-v6 "$UPSTREAM_V6" blocked 2000 "$SECONDS_OF_FLOOD"
flood_start allowed-v4 "$UPSTREAM_V4" allowed 1500 "$SECONDS_OF_FLOOD"
flood_start allowed-v6 "$UPSTREAM_V6" allowed 500 "$SECONDS_OF_FLOOD"
flood_t0=$(now_ms)

sleep 4   # the flood runs with trellisd answering
# ---- SIGSTOP: a hung trellisd ----------------------------------------------
t_stop=$(now_ms)
kill -STOP "$TRELLISD_PID"
sleep 3.5
leaks_stopped=$(flood_leaks)
t_cont=$(now_ms)
kill -CONT "$TRELLISD_PID"
log "SIGSTOP for $(( t_cont - t_stop )) ms: $leaks_stopped leaks meanwhile"
sleep 4

# ---- SIGKILL: a crash, then a start -------------------------------------------
t_kill=$(now_ms)
stop_trellisd KILL
[ "$TRELLISD_EXIT" = 137 ] || fail "trellisd was expected to die of SIGKILL (137), exit $TRELLISD_EXIT"
trellis_table_exists || fail "after SIGKILL the table is gone: the filter failed open"
sleep 3
leaks_killed=$(flood_leaks)
t_start=$(now_ms)
start_trellisd
t_ready=$(now_ms)
log "SIGKILL, down for $(( t_start - t_kill )) ms: $leaks_killed leaks meanwhile; started again, ready after $(( t_ready - t_start )) ms"

flood_wait
watch_stop
[ "$(( $(now_ms) - flood_t0 ))" -ge $(( SECONDS_OF_FLOOD * 1000 - 500 )) ] || fail "the flood ended early"

sent=0 answered=0 lost=0
for label in blocked-v4 blocked-v6 allowed-v4 allowed-v6; do
  flood_report "$label"
  sent=$(( sent + $(flood_field "$label" sent) ))
  answered=$(( answered + $(flood_field "$label" completed) ))
  lost=$(( lost + $(flood_field "$label" lost) ))
done
for label in parent4 parent6 child4 blocked6; do
  watch_report "$label"
done
leaks=$(flood_leaks)
sockets=$(( $(socket_drops) - sockets_before ))
retried=$(( $(watch_field parent4 retried) + $(watch_field parent6 retried) ))

# While stopped: nothing the child sent from 100 ms after the stop to
# WATCH_TIMEOUT before the SIGCONT (a query waits that long) was
# answered; while dead, nothing from 100 ms after the kill to the start.
for label in child4 blocked6; do
  n=$(watch_count "$label" ok $(( t_stop + 100 )) $(( t_cont - WATCH_TIMEOUT * 1000 )))
  [ "$n" = 0 ] || fail "$label: $n of the child's lookups were answered while trellisd was stopped"
  n=$(watch_count "$label" ok $(( t_kill + 100 )) "$t_start")
  [ "$n" = 0 ] || fail "$label: $n of the child's lookups were answered while trellisd was dead"
done
resumed=$(watch_first_ok child4 "$t_cont")
[ -n "$resumed" ] || fail "the child's lookups were not answered again after SIGCONT"
first=$(watch_first_ok child4 "$t_start")
first6=$(watch_first_ok blocked6 "$t_start")
[ -n "$first" ] && [ -n "$first6" ] || fail "the child's lookups were not answered again after the start"
back=$(( first - t_start ))
back6=$(( first6 - t_start ))
log "flood: $sent queries sent, $answered answered, $lost lost (trellisd stopped and dead), $leaks blocked names reached the upstream"
log "answered again $(( resumed - t_cont )) ms after SIGCONT; the queue taken back $back ms (allowed, IPv4) and $back6 ms (blocked, IPv6) after the start"

[ "$leaks_stopped" = 0 ] && [ "$leaks_killed" = 0 ] && [ "$leaks" = 0 ] \
  || fail "blocked names reached the upstream: $leaks_stopped while stopped, $leaks_killed while dead, $leaks in all"
[ "$back" -lt 1000 ] && [ "$back6" -lt 1000 ] || fail "the queue was taken back $back / $back6 ms after the start, not under a second"
for label in parent4 parent6; do
  [ "$(watch_field "$label" none)" = 0 ] && [ "$(watch_field "$label" wrong)" = 0 ] \
    || fail "$label: the parent's lookups were not all answered: $(cat "$FLOOD_DIR/$label.watch")"
done
# A parent's first try lost is one the kernel dropped at a full socket.
[ "$retried" -le "$sockets" ] \
  || fail "$retried of the parent's lookups needed a second try, but the kernel dropped only $sockets at full sockets"
for label in blocked-v4 blocked-v6; do
  [ "$(flood_field "$label" noerror)" = 0 ] || fail "$label: blocked names answered NOERROR"
done
trellisd_running || fail "trellisd is not running"
dig_as_child "$UPSTREAM_V4" after-faults.example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
log "PASS: SIGSTOP and SIGKILL under a $sent-query flood: 0 leaks; the queue taken back in $back ms"
