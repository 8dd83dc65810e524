#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam's ordinary lookups are nobody's business (GC25 §55, §69):
# Trellis keeps blocked events only, and never a helpline (§76).  After Sam
# looks up ordinary names, a helpline and one blocked name, the event log
# holds exactly one row, the blocked one, and no file in trellisd's state
# directory holds any of the other names, not even in the database's
# write-ahead log.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

for name in en.wikipedia.org www.bbc.co.uk scratch.mit.edu www.childline.org.uk; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_resolved
  dig_as_child "$UPSTREAM_V4" "$name" A +tcp
  assert_resolved
done
dig_as_child "$UPSTREAM_V4" www.example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"

# A clean stop commits what the log has queued.
stop_trellisd TERM
[ "$TRELLISD_EXIT" = 0 ] || fail "trellisd exited with $TRELLISD_EXIT"

db="$TEST_DIR/state/events.db"
[ -f "$db" ] || fail "no event log at $db"
[ "$(stat -c %a "$db")" = 600 ] || fail "the event log is mode $(stat -c %a "$db"), not 600"
[ "$(stat -c %a "$TEST_DIR/state")" = 700 ] || fail "the state directory is mode $(stat -c %a "$TEST_DIR/state"), not 700"

rows=$(/usr/bin/python3 - "$db" <<'PY'
import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for row in con.execute("SELECT child, name, rule FROM events ORDER BY id"):
    print("|".join(row))
PY
)
echo "events: $rows"
[ "$rows" = "sam|www.example-game.com|$(deny_rule_text example-game.com)" ] \
  || fail "the event log should hold exactly the one blocked lookup, it holds: $rows"

for name in en.wikipedia.org www.bbc.co.uk www.childline.org.uk; do
  if grep -rqaF "$name" "$TEST_DIR/state"; then
    fail "$name is stored in $(grep -rlaF "$name" "$TEST_DIR/state")"
  fi
done
log "PASS: only the blocked lookup is stored; allowed names and the helpline are nowhere"
