#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the household keeps blocked events for log-retention-days
# (here 2) and no longer (GC25 §55, §69).  An event older than that, left
# in the log from before, is gone once trellisd starts; a recent one and the
# new block stay.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack --no-trellisd
sed -i "s/^\[household\]$/[household]\nlog-retention-days = 2/" "$HOUSEHOLD"

# A first run makes the database; then two events are put in by hand, one
# 3 days old and one 1 day old.
start_trellisd
stop_trellisd TERM
db="$TEST_DIR/state/events.db"
/usr/bin/python3 - "$db" <<'PY'
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1])
now = int(time.time())
for seq, (age, name) in enumerate([(3, "old.example"), (1, "recent.example")], 1):
    t = now - age * 86400
    con.execute("INSERT INTO events (child, seq, time, last, slot, name, rule, category, count) "
                "VALUES ('sam', ?, ?, ?, ?, ?, ?, NULL, 1)", (seq, t, t, t // 600, name, "deny " + name))
con.commit()
PY

start_trellisd
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
stop_trellisd TERM

names=$(/usr/bin/python3 - "$db" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(" ".join(r[0] for r in con.execute("SELECT name FROM events ORDER BY time")))
PY
)
echo "events left: $names"
[ "$names" = "recent.example example-game.com" ] || fail "expected 'recent.example example-game.com', got '$names'"
grep -q "purged 1 event" "$TRELLISD_LOG" || fail "trellisd did not say it purged the old event"
log "PASS: events older than log-retention-days are purged at start"
