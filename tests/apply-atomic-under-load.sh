#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent edits the household file and applies it (SIGHUP)
# while Sam is online.  Every one of 50 applies swaps the whole policy at
# once: during them, Sam's queries keep being answered, never with an error
# and never by a half-applied policy; right after each apply, the new policy
# is the one in force.
#
#   stable.example   denied by both versions: always NXDOMAIN + EDE 17
#   en.wikipedia.org allowed by both:         always the upstream's answer
#   flip.example     denied by version A only: right after each apply, as
#                    that version says; under load, one or the other

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

DENY="stable.example;flip.example" setup_stack --no-trellisd
copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/query-loop.py"

cp "$HOUSEHOLD" "$TEST_DIR/version-a.conf"
DENY="stable.example;other.example" write_household
cp "$HOUSEHOLD" "$TEST_DIR/version-b.conf"
cp "$TEST_DIR/version-a.conf" "$HOUSEHOLD"
start_trellisd

reloads=0
apply ()  # apply VERSION: install it, SIGHUP, wait until trellisd says it is in force
{
  cp "$TEST_DIR/version-$1.conf" "$HOUSEHOLD.tmp"
  mv "$HOUSEHOLD.tmp" "$HOUSEHOLD"
  log "apply $reloads (version $1)"
  reload_trellisd
  reloads=$((reloads + 1))
}

# The load: one client as Sam, for as long as the applies take (bounded).
load_out="$TEST_DIR/load.out"
# Started directly (not through as_child, a shell function) so that $! is
# the client itself and the cleanup can end it by its pid.
ip netns exec "$NS_CLIENT" setpriv --reuid="$CHILD_UID" --regid="$CHILD_GID" --clear-groups \
  /usr/bin/python3 "$TEST_DIR/query-loop.py" "$UPSTREAM_V4" 25 \
  stable.example en.wikipedia.org flip.example > "$load_out" 2>&1 &
load_pid=$!
track_pid "$load_pid"
wait_until 5 upstream_saw en.wikipedia.org || fail "the query loop does not get going"

for round in $(seq 1 25); do
  apply b
  dig_as_child "$UPSTREAM_V4" flip.example A
  assert_resolved
  apply a
  dig_as_child "$UPSTREAM_V4" flip.example A
  assert_blocked "$(deny_rule_text flip.example)"
done
[ "$reloads" = 50 ] || fail "expected 50 applies, did $reloads"

wait "$load_pid" || fail "the query loop failed: $(cat "$load_out")"
cat "$load_out"

field ()  # field NAME KEY
{
  awk -v name="$1" -v key="$2" '$1 == name {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] } }' "$load_out"
}
for name in stable.example en.wikipedia.org flip.example; do
  sent=$(field "$name" sent)
  [ -n "$sent" ] && [ "$sent" -gt 20 ] || fail "$name: too few queries under load (${sent:-none})"
  for bad in other timeout nxdomain_plain; do
    [ "$(field "$name" $bad)" = 0 ] || fail "$name: $(field "$name" $bad) answers of kind '$bad' during the applies"
  done
done
[ "$(field stable.example noerror)" = 0 ] || fail "stable.example was resolved during an apply: the wrong policy answered"
[ "$(field en.wikipedia.org nxdomain_ede17)" = 0 ] || fail "en.wikipedia.org was blocked during an apply"
[ "$(field en.wikipedia.org answers)" = "$UPSTREAM_ANSWER_V4" ] || fail "en.wikipedia.org: unexpected answers $(field en.wikipedia.org answers)"

trellisd_running || fail "trellisd is no longer running"
log "PASS: 50 applies under load: no errors, never the wrong policy"
