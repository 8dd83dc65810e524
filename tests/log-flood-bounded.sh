#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam runs a loop that asks for blocked names as fast as it
# can: 100,000 lookups (dnsperf, from Sam's account, 4,000 a second), over
# 30,000 different long names under a denied domain, each asked three
# times, and one name asked 10,000 times.  The event log must not fill the
# disk, and the family's DNS must go on meanwhile:
#
#   - the parent's and Alex's (another child's) lookups, asked every 50 ms
#     all through the flood, are all answered (no timeout, no error);
#   - afterwards the database (events.db with its -wal and -shm) is under
#     8 MiB and holds at most 10,000 entries of Sam's (the per-child cap;
#     docs/decisions.md);
#   - "trellis log" tells Sam in words what was folded ("blocked N times")
#     and that older entries were dropped because the log was full, and
#     --json says the same in numbers: every block trellisd answered is in
#     an entry's count, or among the dropped or missed ones.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
command -v dnsperf >/dev/null 2>&1 || skip "needs dnsperf (Debian package dnsperf)"
command -v sqlite3 >/dev/null 2>&1 || skip "needs sqlite3"

QUERIES=100000
NAMES=30000
HOT=www.example-game.com
RATE=${FLOOD_RATE:-4000}        # queries per second, what trellisd answers on this machine
# The bound: at the cap, at most 7 MiB of entries even with the longest
# names (docs/decisions.md), and 1 MiB of write-ahead log.
SIZE_MAX=$((8 * 1024 * 1024))   # bytes: events.db + -wal + -shm
ENTRIES_MAX=10000               # TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX

UPSTREAM_LOG_QUERIES=0 setup_stack --bus --second-child --line "[child alex]" --line "age = 12" \
  --line "accounts = $SIBLING_ACCOUNT"

# The flood: every tenth query the hot name, the rest 30,000 long names,
# each three times in a row.
flood="$TEST_DIR/flood.txt"
"$PYTHON3" - "$flood" "$QUERIES" "$NAMES" "$HOT" <<'PY'
import sys
path, n, names, hot = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
filler = "x" * 50
with open(path, "w") as f:
    for i in range(n):
        if i % 10 == 0:
            f.write("%s A\n" % hot)
        else:
            k = (i // 3) % names
            f.write("h%05d-%s.loop-%d.example-game.com A\n" % (k, filler, k % 7))
PY
chmod 644 "$flood"

# probe_start UID GID OUT: the lookups of en.wikipedia.org as that account,
# every 50 ms until the stop file is there, into OUT (each latency into
# OUT.samples as it comes).  Not through as_uid: a backgrounded function is
# a subshell, and $! must be the probe itself (ip netns exec, setpriv and
# env each exec the next in place), for the wait and for the cleanup.
probe=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/dns-probe.py")
stop="$TEST_DIR/probe.stop"
probe_start ()
{
  : > "$3.samples"
  chown "$1:$2" "$3.samples"
  ip netns exec "$NS_CLIENT" setpriv --reuid="$1" --regid="$2" --clear-groups \
    env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin "$PYTHON3" "$probe" \
    --seconds 600 --until "$stop" --interval-ms 50 --samples "$3.samples" \
    "$UPSTREAM_V4" en.wikipedia.org > "$3" &
  PROBE_PID=$!
  track_pid "$PROBE_PID"
}
probe_start "$PARENT_UID" "$PARENT_GID" "$TEST_DIR/probe-parent.txt"
parent_probe=$PROBE_PID
probe_start "$SIBLING_UID" "$SIBLING_GID" "$TEST_DIR/probe-alex.txt"
alex_probe=$PROBE_PID
# Both under way (a few answers each) before the flood starts.
for who in parent alex; do
  wait_until 10 log_has_more "$TEST_DIR/probe-$who.txt.samples" . 4 \
    || fail "the $who's probe did not start asking"
done

t0=$(date +%s)
rc=0
out=$(as_child dnsperf -s "$UPSTREAM_V4" -d "$flood" -n 1 -c 4 -q 100 -Q "$RATE" -t 2 2>&1) || rc=$?
t1=$(date +%s)
touch "$stop"
wait "$parent_probe" || fail "the parent's probe failed"
_untrack_pid "$parent_probe"
wait "$alex_probe" || fail "Alex's probe failed"
_untrack_pid "$alex_probe"
[ "$rc" = 0 ] || { printf '%s\n' "$out" >&2; fail "dnsperf failed (exit $rc)"; }

sent=$(printf '%s\n' "$out" | sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p')
completed=$(printf '%s\n' "$out" | sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p')
nxdomain=$(printf '%s\n' "$out" | sed -n 's/.*NXDOMAIN \([0-9]*\).*/\1/p' | head -n1)
log "flood: sent=$sent completed=$completed nxdomain=${nxdomain:-0} in $((t1 - t0)) s"
log "parent during the flood: $(cat "$TEST_DIR/probe-parent.txt")"
log "alex during the flood:   $(cat "$TEST_DIR/probe-alex.txt")"

field () { sed -n "s/.*\<$1=\([0-9.]*\).*/\1/p" "$2"; }
[ "$sent" = "$QUERIES" ] || { printf '%s\n' "$out" >&2; fail "dnsperf sent $sent queries, not $QUERIES"; }
[ "${nxdomain:-0}" -ge $((QUERIES * 95 / 100)) ] \
  || { printf '%s\n' "$out" >&2; fail "only ${nxdomain:-0} of $QUERIES blocked queries were answered NXDOMAIN"; }
for who in parent alex; do
  f="$TEST_DIR/probe-$who.txt"
  [ "$(field sent "$f")" -ge 50 ] || fail "the $who's probe sent only $(field sent "$f") lookups"
  [ "$(field failed "$f")" = 0 ] || fail "the $who's lookups failed during the flood: $(cat "$f")"
done

# What the child reads (it flushes the log first).
trellis_as child log --json
expect_cli_rc 0
json_out=$CLI_OUT
trellis_as child log
expect_cli_rc 0
text_out=$CLI_OUT

db="$TEST_DIR/state/events.db"
size=0
for f in "$db" "$db-wal" "$db-shm"; do
  [ -e "$f" ] && size=$((size + $(stat -c %s "$f")))
done
entries=$(sqlite3 "file:$db?mode=ro" "SELECT count(*) FROM events WHERE child = 'sam'")
rows=$(sqlite3 "file:$db?mode=ro" "SELECT count(*) FROM events")
log "database: $size bytes (events.db $(stat -c %s "$db"), -wal $(stat -c %s "$db-wal" 2>/dev/null || echo 0)), $rows entries ($entries of Sam's)"
[ "$size" -lt "$SIZE_MAX" ] || fail "the event log takes $size bytes, over $SIZE_MAX"
[ "$entries" -le "$ENTRIES_MAX" ] || fail "Sam has $entries entries, over the cap of $ENTRIES_MAX"
[ "$entries" -ge $((ENTRIES_MAX * 9 / 10)) ] || fail "Sam has only $entries entries: the flood was not logged"

# The numbers: every block answered is counted somewhere.
printf '%s' "$json_out" | "$PYTHON3" -c '
import json, sys
j = json.load(sys.stdin)
nx, sent, cap, hot = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ev = j["events"]
assert j["entries"] == len(ev) <= cap, ("entries", j["entries"], len(ev))
assert j["blocked"] == sum(e["count"] for e in ev), "blocked is not the sum of the counts"
total = j["blocked"] + j["dropped_blocked"] + j["missed"]
assert nx <= total <= sent, ("accounted", total, "answered", nx, "sent", sent)
assert j["dropped_entries"] > 0 and j["dropped_blocked"] >= j["dropped_entries"], j
assert j["losses_until"] > 0
h = [e for e in ev if e["name"] == hot]
assert h and max(e["count"] for e in h) >= 1000, ("the hot name is not folded", h[:2])
assert any(1 < e["count"] for e in ev if e["name"] != hot), "no long name was folded"
print("json: entries=%d blocked=%d dropped_entries=%d dropped_blocked=%d missed=%d hot=%d"
      % (j["entries"], j["blocked"], j["dropped_entries"], j["dropped_blocked"], j["missed"],
         sum(e["count"] for e in h)))
' "${nxdomain:-0}" "$sent" "$ENTRIES_MAX" "$HOT" >&2 || fail "trellis log --json does not account for the flood"

# The words.
printf '%s\n' "$text_out" | grep -qE '^ +blocked [0-9]{4,} times, the last at [0-9:]{8}$' \
  || fail "trellis log does not say how many times the hot name was blocked: $(printf '%s\n' "$text_out" | grep -m3 -A1 "$HOT")"
printf '%s\n' "$text_out" | grep -qE '^[0-9]+ older entries were dropped because the log was full\.$' \
  || fail "trellis log does not say that older entries were dropped: $(printf '%s\n' "$text_out" | tail -n 5)"

# The filter is still whole: a block for Sam, an answer for Alex.
dig_as_child "$UPSTREAM_V4" casino.example A
assert_blocked "$(deny_rule_text casino.example)"
dig_as sibling "$UPSTREAM_V4" en.wikipedia.org A
assert_resolved
trellisd_running || fail "trellisd is no longer running"
log "PASS: 100,000 blocked lookups: $size bytes, $entries entries for Sam, everyone's DNS answered"
