#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Under load and faults: a parent applies the household 100 times
# (`trellis policy apply`, two versions in turn) while a child floods the
# resolver with 10,000 queries a second (dnsperf as the child, IPv4 and
# IPv6), and once, halfway, a household that no longer compiles.  Not
# one blocked name reaches the upstream; not one of the child's allowed
# queries is lost to an apply (every query lost, if any, is one the kernel
# dropped, counted: at the queue, when trellisd's socket was full for an
# instant, or at a full socket of dnsperf's or the upstream's); every apply is in force right after it
# (flip.example, denied by one version only, answers as that version
# says); the broken one is refused and the policy in force stays.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

UPSTREAM_LOG_QUERIES=0 DENY="example-game.com;flip.example" setup_stack --bus
. "$TRELLIS_TOP_SRCDIR/tests/lib/flood.sh"
flood_setup
SECONDS_OF_FLOOD=${FLOOD_SECONDS:-30}
APPLIES=${APPLIES:-100}

cp "$HOUSEHOLD" "$TEST_DIR/version-a.conf"
DENY="example-game.com;other.example" write_household
cp "$HOUSEHOLD" "$TEST_DIR/version-b.conf"
cp "$TEST_DIR/version-a.conf" "$HOUSEHOLD"
printf '%s\n' "[household]" "parents = $PARENT_ACCOUNT" "[child sam]" "age = ten" "accounts = $CHILD_ACCOUNT" \
  > "$TEST_DIR/broken.conf"
chmod 644 "$TEST_DIR"/*.conf

applied=0 refused=0
apply ()  # apply FILE: put it in place, trellis policy apply as the parent
{
  local ok_before bad_before
  ok_before=$(grep -c 'household reloaded' "$TRELLISD_LOG" || true)
  bad_before=$(grep -c 'household not reloaded' "$TRELLISD_LOG" || true)
  cp "$1" "$HOUSEHOLD.tmp"
  mv "$HOUSEHOLD.tmp" "$HOUSEHOLD"
  trellis_as parent policy apply
  expect_cli_rc 0
  case $1 in
    *broken*)
      wait_until 10 log_has_more "$TRELLISD_LOG" 'household not reloaded' "$bad_before" \
        || fail "trellisd did not refuse the broken household"
      refused=$((refused + 1)) ;;
    *)
      wait_until 10 log_has_more "$TRELLISD_LOG" 'household reloaded' "$ok_before" \
        || fail "apply $applied: trellisd did not say 'household reloaded'"
      applied=$((applied + 1)) ;;
  esac
}

drops_before=$(queue_drops)
sockets_before=$(socket_drops)
watch_start parent4 parent "$UPSTREAM_V4" parent-during-applies.example
watch_start child4 child "$UPSTREAM_V4" child-allowed-during-applies.example
watch_start child6 child "$UPSTREAM_V6" child-allowed-during-applies.example
watch_start blocked4 child "$UPSTREAM_V4" watched.example-game.com nxdomain
# The flood lasts as long as the applies take (on a busy machine, longer
# than SECONDS_OF_FLOOD), and at least SECONDS_OF_FLOOD.
for f in "blocked-v4 $UPSTREAM_V4 blocked 6000" "blocked-v6 $UPSTREAM_V6 blocked 2000" \
         "allowed-v4 $UPSTREAM_V4 allowed 1500" "allowed-v6 $UPSTREAM_V6 allowed 500"; do
  set -- $f
  flood_start "$1" "$2" "$3" "$4" 120
done
flood_t0=$(now_ms)

# The checks after each apply ask as a stub resolver would, three tries:
# under the flood the kernel may drop one query at the queue (counted).
for round in $(seq 1 $(( APPLIES / 2 ))); do
  apply "$TEST_DIR/version-b.conf"
  dig_as_child "$UPSTREAM_V4" flip.example A +tries=3
  assert_resolved
  apply "$TEST_DIR/version-a.conf"
  dig_as_child "$UPSTREAM_V6" flip.example A +tries=3
  assert_blocked "$(deny_rule_text flip.example)"
  if [ "$round" = $(( APPLIES / 4 )) ]; then
    # halfway: a household that does not compile
    apply "$TEST_DIR/broken.conf"
    grep -q 'age' <(tail -n 20 "$TRELLISD_LOG") || fail "trellisd did not say what is wrong with the broken household"
    dig_as_child "$UPSTREAM_V4" flip.example A +tries=3
    assert_blocked "deny flip.example (household.conf:$(grep -n -m1 '^deny' "$TEST_DIR/version-a.conf" | cut -d: -f1))"
    dig_as_child "$UPSTREAM_V4" during-broken.example-game.com A +tries=3
    assert_blocked "deny example-game.com (household.conf:$(grep -n -m1 '^deny' "$TEST_DIR/version-a.conf" | cut -d: -f1))"
  fi
done
t_applies=$(( $(now_ms) - flood_t0 ))
while [ $(( $(now_ms) - flood_t0 )) -lt $(( SECONDS_OF_FLOOD * 1000 )) ]; do
  sleep 0.2
done
flood_stop
t_flood=$(( $(now_ms) - flood_t0 ))
watch_stop

sent=0 lost_allowed=0
for label in blocked-v4 blocked-v6 allowed-v4 allowed-v6; do
  flood_report "$label"
  sent=$(( sent + $(flood_field "$label" sent) ))
done
for label in parent4 child4 child6 blocked4; do
  watch_report "$label"
done
allowed_sent=$(( $(flood_field allowed-v4 sent) + $(flood_field allowed-v6 sent) + $(watch_field child4 sent) + $(watch_field child6 sent) ))
lost_allowed=$(( $(flood_field allowed-v4 lost) + $(flood_field allowed-v6 lost) + $(watch_field child4 none) + $(watch_field child6 none) ))
lost_all=$(( lost_allowed + $(flood_field blocked-v4 lost) + $(flood_field blocked-v6 lost) + $(watch_field blocked4 none) ))
retried=$(watch_field parent4 retried)
drops=$(( $(queue_drops) - drops_before ))
sockets=$(( $(socket_drops) - sockets_before ))
leaks=$(flood_leaks)
log "flood: $sent queries in $(( t_flood / 1000 )) s; $applied applies and $refused refused in $t_applies ms; $leaks leaks; allowed: $allowed_sent sent, $lost_allowed lost; all lost: $lost_all; the parent's asked twice: $retried; the kernel dropped $drops at the queue and $sockets at full sockets"

[ "$applied" = "$APPLIES" ] && [ "$refused" = 1 ] || fail "$applied applies and $refused refusals, want $APPLIES and 1"
[ "$leaks" = 0 ] || fail "$leaks blocked queries reached the upstream"
[ "$retried" -le "$sockets" ] \
  || fail "$retried of the parent's lookups needed a second try, but the kernel dropped only $sockets at full sockets"
[ $(( lost_all + retried )) -le $(( drops + sockets )) ] \
  || fail "$lost_all of the child's queries were lost ($lost_allowed allowed), but the kernel dropped only $drops at the queue and $sockets at full sockets: the applies lost some"
for label in allowed-v4 allowed-v6; do
  [ "$(flood_field "$label" nxdomain)" = 0 ] && [ "$(flood_field "$label" other)" = 0 ] \
    || fail "$label: allowed names were not answered by the upstream during the applies"
done
for label in blocked-v4 blocked-v6; do
  [ "$(flood_field "$label" noerror)" = 0 ] || fail "$label: blocked names answered NOERROR during the applies"
done
for label in parent4 child4 child6 blocked4; do
  [ "$(watch_field "$label" wrong)" = 0 ] || fail "$label: wrong answers during the applies: $(cat "$FLOOD_DIR/$label.watch")"
done
[ "$(watch_field parent4 none)" = 0 ] || fail "the parent's lookups went unanswered during the applies"
trellisd_running || fail "trellisd is not running"
[ "$sent" -ge $(( 9000 * t_flood / 1000 )) ] || fail "the flood was only $(( sent * 1000 / t_flood )) queries a second"
log "PASS: $applied applies and a broken household under a $sent-query flood: 0 leaks, $lost_allowed allowed queries lost"
