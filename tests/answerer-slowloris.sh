#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam (a child) and a local user who is nobody's child try to
# take TCP DNS away from Alex, Alex's truncation fallbacks included.  They
# open connection after connection to the answerer and feed each one byte
# every 9 s, never a whole query: Sam through port 53 of the server (NAT
# takes those to the answerer), the local user straight at the answerer's
# own port on 127.0.0.1 and [::1].  Meanwhile Alex's `dig +tcp` gets its
# filtered answer in its usual time: the local user's connections are
# closed at once (they are no protected principal's), Sam keeps at most
# his share of the slots, and each of those is closed at its message's
# deadline, which no byte moves.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack --second-child --line "" --line "[child alex]" --line "age = 12" \
  --line "accounts = $SIBLING_ACCOUNT" --line "deny = example-game.com;casino.example"
# A local user who is nobody's child.
STRANGER_ACCOUNT="trt-${TEST_ID}-u"
ensure_account "$STRANGER_ACCOUNT" || fail "the account $STRANGER_ACCOUNT exists already"
STRANGER_UID=$(id -u "$STRANGER_ACCOUNT")
STRANGER_GID=$(id -g "$STRANGER_ACCOUNT")

tcp=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/tcp-dns.py")
# Alex's deny line (the last "deny =" of the file) is what his answers name.
alex_deny=$(grep -n -E '^[[:space:]]*deny[[:space:]]*=' "$HOUSEHOLD" | tail -n1 | cut -d: -f1)
alex_rule () { echo "deny $1 ($(basename "$HOUSEHOLD"):$alex_deny)"; }
rule=$(alex_rule example-game.com)

# Limits the answerer keeps (daemon/answerer.c).
PER_PRINCIPAL=8
MESSAGE_DEADLINE=5

# alex_dig NAME TYPE SERVER CHECK...: dig +tcp as Alex; appends the time it
# took (ms) to TIMES and runs CHECK on the result.
TIMES=()
alex_dig ()
{
  local name=$1 type=$2 server=$3 t0 t1
  shift 3
  t0=$(date +%s%N)
  DIG_WHO=alex DIG_NAME=$name DIG_SERVER=$server DIG_RC=0
  DIG_OUT=$(as_sibling dig "${DIG_OPTS[@]}" +tcp "@$server" "$name" "$type" 2>&1) || DIG_RC=$?
  t1=$(date +%s%N)
  TIMES+=($(( (t1 - t0) / 1000000 )))
  "$@"
}

# The usual time, before any attack.
for i in 1 2 3; do
  alex_dig example-game.com A "$UPSTREAM_V4" assert_blocked "$rule"
  alex_dig en.wikipedia.org A "$UPSTREAM_V4" assert_resolved
done
baseline=("${TIMES[@]}")
TIMES=()

# The attack: 14 s, 100 connections each (reopened as they are closed),
# one byte every 9 s.
ATTACK_SECONDS=14

# attack UID GID OUT ARGS...: tcp-dns.py dribble as UID in the background,
# its output to OUT.  Started without a shell function in between, so that
# $! is the process itself and the cleanup stops it by its pid.
ATTACKERS=()
attack ()
{
  local uid=$1 gid=$2 out=$3
  shift 3
  ip netns exec "$NS_CLIENT" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    env HOME=/ PATH=/usr/bin:/bin "$PYTHON3" "$tcp" dribble --reconnect "$@" > "$out" 2>&1 &
  track_pid $!
  ATTACKERS+=($!)
}
attack "$CHILD_UID" "$CHILD_GID" "$TEST_DIR/sam.out" "$UPSTREAM_V4" 53 100 9 "$ATTACK_SECONDS"
attack "$STRANGER_UID" "$STRANGER_GID" "$TEST_DIR/stranger4.out" 127.0.0.1 "$ANSWER_PORT" 100 9 "$ATTACK_SECONDS"
attack "$STRANGER_UID" "$STRANGER_GID" "$TEST_DIR/stranger6.out" ::1 "$ANSWER_PORT" 100 9 "$ATTACK_SECONDS"

# answerer_connections: TCP connections the answerer holds now.
answerer_connections ()
{
  in_client ss -Htn state established "( sport = :$ANSWER_PORT )" | wc -l
}
answerer_holds_at_least ()
{
  [ "$(answerer_connections)" -ge "$1" ]
}
answerer_holds_none ()
{
  [ "$(answerer_connections)" = 0 ]
}

# Wait until the attackers have their connections open.
wait_until 5 answerer_holds_at_least "$PER_PRINCIPAL" \
  || fail "the attack did not get going ($(answerer_connections) connections at the answerer)"

# Alex, throughout the attack, over IPv4 and IPv6.
attack_end=$(( $(date +%s) + ATTACK_SECONDS - 2 ))
rounds=0
while [ "$(date +%s)" -lt "$attack_end" ]; do
  alex_dig example-game.com A "$UPSTREAM_V4" assert_blocked "$rule"
  alex_dig en.wikipedia.org A "$UPSTREAM_V4" assert_resolved
  alex_dig casino.example AAAA "$UPSTREAM_V6" assert_blocked "$(alex_rule casino.example)"
  alex_dig www.bbc.co.uk A "$UPSTREAM_V6" assert_resolved
  rounds=$((rounds + 1))
  # Pacing, not waiting: about two rounds a second, all through the attack.
  sleep 0.5
done
[ "$rounds" -ge 3 ] || fail "only $rounds rounds of Alex's queries during the attack"

slowest=0
for t in "${TIMES[@]}"; do
  [ "$t" -gt "$slowest" ] && slowest=$t
done
log "Alex's TCP answers before the attack (ms): ${baseline[*]}"
log "Alex's TCP answers during the attack (ms): ${TIMES[*]}"
# dig's own timeout is 2 s; a refused or stalled query would fail above.
[ "$slowest" -lt 1000 ] || fail "an answer to Alex took $slowest ms during the attack"

for pid in "${ATTACKERS[@]}"; do
  rc=0
  wait "$pid" || rc=$?
  _untrack_pid "$pid"
  [ "$rc" = 0 ] || fail "an attacker's helper failed (exit $rc)"
done
sam=$(grep '^SUMMARY' "$TEST_DIR/sam.out") || fail "no summary from Sam's attack: $(cat "$TEST_DIR/sam.out")"
log "Sam: $sam"
for f in stranger4 stranger6; do
  s=$(grep '^SUMMARY' "$TEST_DIR/$f.out") || fail "no summary from the local user's attack: $(cat "$TEST_DIR/$f.out")"
  log "local user ($f): $s"
  # Nobody's child: every connection closed at once, none held.
  case "$s" in
    *" later=0 open_at_end=0 max_held=0 "*) ;;
    *) fail "the local user held connections to the answerer: $s";;
  esac
done

# Sam: never more than his share held, and each held one closed at its
# message's deadline (not before, not after).
field () { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
[ "$(field "$sam" max_held)" -le "$PER_PRINCIPAL" ] \
  || fail "Sam held more than $PER_PRINCIPAL connections: $sam"
[ "$(field "$sam" max_held)" -ge 1 ] || fail "Sam held no connection at all (the test sees nothing): $sam"
[ "$(field "$sam" later)" -ge 1 ] || fail "none of Sam's held connections was closed: $sam"
lifetime=$(field "$sam" max_lifetime)
awk -v l="$lifetime" -v d="$MESSAGE_DEADLINE" 'BEGIN { exit !(l >= d - 1 && l <= d + 2) }' \
  || fail "Sam's held connections lived up to $lifetime s, not the $MESSAGE_DEADLINE s deadline: $sam"

# After the attack nothing is left open, and the answerer still answers.
wait_until 5 answerer_holds_none \
  || fail "$(answerer_connections) connections still open at the answerer after the attack"
trellisd_running || fail "trellisd died"
dig_as_child "$UPSTREAM_V4" example-game.com A +tcp
assert_blocked "$(deny_rule_text example-game.com)"
assert_upstream_never_saw example-game.com
assert_upstream_never_saw casino.example

log "PASS: Alex answered in at most $slowest ms during the attack; Sam held at most $(field "$sam" max_held)"
