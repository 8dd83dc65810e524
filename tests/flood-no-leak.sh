#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Under load: a child's program floods the resolver, hoping the filter
# lets queries through when it cannot keep up.  dnsperf, as the child's
# account, sends 10,000 queries a second for 30 seconds (blocked and
# allowed names, IPv4 and IPv6).  Not one blocked name reaches the
# upstream (counted there, in its own namespace); every blocked query that
# is answered is answered NXDOMAIN by trellisd, every allowed one by the
# upstream; and throughout, the parent's lookups and the child's own
# allowed lookups (one every 20 ms each) are answered: never a second
# without one answered.  None of the parent's is lost (they never meet the
# queue; asked as a stub asks, twice at most, and each first try lost is
# one the kernel dropped at a full socket, counted); a child's query is
# lost only when the kernel drops it, counted (at the queue: trellisd's
# socket buffer was full for an instant, which fails closed; or at a full
# socket of dnsperf's or the upstream's).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

UPSTREAM_LOG_QUERIES=0 setup_stack
. "$TRELLIS_TOP_SRCDIR/tests/lib/flood.sh"
flood_setup
SECONDS_OF_FLOOD=${FLOOD_SECONDS:-30}

drops_before=$(queue_drops)
sockets_before=$(socket_drops)
watch_start parent4 parent "$UPSTREAM_V4" parent-during-flood.example
watch_start parent6 parent "$UPSTREAM_V6" parent-during-flood.example
watch_start child4 child "$UPSTREAM_V4" child-allowed-during-flood.example
watch_start child6 child "$UPSTREAM_V6" child-allowed-during-flood.example
watch_start blocked4 child "$UPSTREAM_V4" watched.example-game.com nxdomain

# 10,000 queries a second in all: 8,000 of blocked names, 2,000 allowed.
flood_start blocked-v4 "$UPSTREAM_V4" blocked 6000 "$SECONDS_OF_FLOOD"
flood_start blocked-v6 "$UPSTREAM_V6" blocked 2000 "$SECONDS_OF_FLOOD"
flood_start allowed-v4 "$UPSTREAM_V4" allowed 1500 "$SECONDS_OF_FLOOD"
flood_start allowed-v6 "$UPSTREAM_V6" allowed 500 "$SECONDS_OF_FLOOD"
flood_wait
watch_stop

sent=0
for label in blocked-v4 blocked-v6 allowed-v4 allowed-v6; do
  flood_report "$label"
  sent=$(( sent + $(flood_field "$label" sent) ))
done
for label in parent4 parent6 child4 child6 blocked4; do
  watch_report "$label"
done
leaks=$(flood_leaks)
drops=$(( $(queue_drops) - drops_before ))
sockets=$(( $(socket_drops) - sockets_before ))
lost=0
for label in blocked-v4 blocked-v6 allowed-v4 allowed-v6; do
  lost=$(( lost + $(flood_field "$label" lost) ))
done
for label in child4 child6 blocked4; do
  lost=$(( lost + $(watch_field "$label" none) ))
done
retried=$(( $(watch_field parent4 retried) + $(watch_field parent6 retried) ))
log "flood: $sent queries sent in $SECONDS_OF_FLOOD s ($(( sent / SECONDS_OF_FLOOD )) a second), $leaks blocked names reached the upstream; the child's lost: $lost; the parent's asked twice: $retried; the kernel dropped $drops at the queue and $sockets at full sockets"

[ "$leaks" = 0 ] || fail "$leaks blocked queries reached the upstream"
[ "$sent" -ge $(( 9000 * SECONDS_OF_FLOOD )) ] || fail "the flood was only $(( sent / SECONDS_OF_FLOOD )) queries a second"
for label in blocked-v4 blocked-v6; do
  [ "$(flood_field "$label" noerror)" = 0 ] || fail "$label: $(flood_field "$label" noerror) blocked names were answered NOERROR"
  [ "$(flood_field "$label" other)" = 0 ] || fail "$label: $(flood_field "$label" other) answers neither NXDOMAIN nor NOERROR"
done
for label in allowed-v4 allowed-v6; do
  [ "$(flood_field "$label" nxdomain)" = 0 ] || fail "$label: allowed names answered NXDOMAIN"
  [ "$(flood_field "$label" other)" = 0 ] || fail "$label: $(flood_field "$label" other) allowed names got another answer"
done
for label in parent4 parent6 child4 child6 blocked4; do
  [ "$(watch_field "$label" wrong)" = 0 ] \
    || fail "$label: lookups answered wrongly during the flood: $(cat "$FLOOD_DIR/$label.watch")"
done
for label in parent4 parent6; do
  [ "$(watch_field "$label" none)" = 0 ] || fail "$label: the parent's lookups went unanswered: $(cat "$FLOOD_DIR/$label.watch")"
done
[ "$retried" -le "$sockets" ] \
  || fail "$retried of the parent's lookups needed a second try, but the kernel dropped only $sockets at full sockets"
[ $(( lost + retried )) -le $(( drops + sockets )) ] \
  || fail "$lost of the child's queries and $retried of the parent's first tries were lost, but the kernel dropped only $drops at the queue and $sockets at full sockets"
# Throughout: never a second without one of the child's lookups answered.
for label in child4 child6 blocked4; do
  gap=$(watch_longest_gap "$label")
  log "$label: the longest stretch without an answer: $gap ms"
  [ "$gap" -lt 1000 ] || fail "$label: $gap ms went by without one of the child's lookups answered"
done
trellisd_running || fail "trellisd did not survive the flood"
dig_as_child "$UPSTREAM_V4" after-flood.example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
log "PASS: $sent queries in $SECONDS_OF_FLOOD s, 0 leaks; the parent's and the child's allowed lookups answered throughout"
