#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam calls on a helpline (GC25 §76, §78).  Even with the
# household file trying to deny it, the helpline resolves, and nothing of it
# is kept or told to anyone: no row in the event log, no signal to Sam's or
# the parent's session agent, no notification, no word in trellisd's log.
# A denied name right after is recorded and signalled, so the silence above
# is the helpline's, not a broken pipeline's.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/notify-session.sh"

require_root_and_netns
require_notify_session
DENY="example-game.com;childline.org.uk" setup_stack --bus

start_notify_session sam "$CHILD_UID" "$CHILD_GID"
start_notify_session parent "$PARENT_UID" "$PARENT_GID"

signals ()  # signals KEY: how many signals KEY's agent received
{
  grep -c "signal " "$(_notify_dir "$1")/agent.log" 2>/dev/null || true
}

for name in childline.org.uk www.childline.org.uk; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_resolved
  dig_as_child "$UPSTREAM_V4" "$name" A +tcp
  assert_resolved
done
# Time must pass: what is checked next is that nothing arrives.
sleep 3
[ "$(signals sam)" = 0 ] || { notify_log sam; fail "Sam's agent was signalled about a helpline"; }
[ "$(signals parent)" = 0 ] || { notify_log parent; fail "the parent's agent was signalled about a helpline"; }
[ "$(notify_count sam)" = 0 ] || { notify_log sam; fail "a notification was shown for a helpline"; }

# The positive control: a denied name is recorded and signalled.
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
notify_wait sam 1 5 || { notify_log sam; fail "no notification for the denied name: the pipeline is broken"; }

stop_trellisd TERM
db="$TEST_DIR/state/events.db"
names=$(/usr/bin/python3 - "$db" <<'PY'
import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(" ".join(r[0] for r in con.execute("SELECT name FROM events")))
PY
)
[ "$names" = "example-game.com" ] || fail "the event log holds '$names', expected only example-game.com"
if grep -rqaF "www.childline" "$TEST_DIR/state"; then
  fail "the helpline is stored in $(grep -rlaF "www.childline" "$TEST_DIR/state")"
fi
if grep -qiF "childline" "$TRELLISD_LOG"; then
  fail "trellisd's log mentions the helpline"
fi
log "PASS: a helpline is never logged, never signalled, never shown"
