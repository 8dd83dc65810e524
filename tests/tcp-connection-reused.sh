#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a resolver in Sam's session keeps one TCP connection to its
# server and uses it for minutes (RFC 7766 allows it).  Every query on it is
# filtered as the first one was: over 35 s, longer than the flow table keeps
# a flow (30 s), the same connection gets NXDOMAIN + EDE for denied names and
# the upstream's answer for allowed ones, and the denied names never reach
# the upstream.  The answerer keeps whose the connection is from the moment
# it accepts it.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

tcp=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/tcp-dns.py")

# Eight queries, one every 5 s (under the answerer's 10 s idle limit): the
# last at 35 s.
names=(r0.wikipedia.org r1.example-game.com r2.wikipedia.org casino.example
       r4.wikipedia.org r5.example-game.com r6.wikipedia.org r7.example-game.com)
rc=0
out=$(as_child "$PYTHON3" "$tcp" session "$UPSTREAM_V4" 5 "${names[@]}" 2>&1) || rc=$?
printf '%s\n' "$out" | sed "s/^/$TEST_NAME: /" >&2
[ "$rc" = 0 ] || fail "tcp-dns.py failed (exit $rc)"
printf '%s\n' "$out" | grep -q '^PORT [0-9]' || fail "no connection: $out"

for name in "${names[@]}"; do
  line=$(printf '%s\n' "$out" | awk -v n="$name" '$1 == "ANSWER" && $3 == n') \
    || true
  [ -n "$line" ] || fail "no answer for $name on the reused connection: $(printf '%s\n' "$out" | grep "$name" || echo none)"
  case $name in
    *.wikipedia.org)
      [ "$(echo "$line" | cut -d' ' -f4,5)" = "NOERROR $UPSTREAM_ANSWER_V4" ] \
        || fail "$name: expected NOERROR $UPSTREAM_ANSWER_V4, got: $line"
      assert_upstream_saw "$name";;
    *)
      [ "$(echo "$line" | cut -d' ' -f4,5)" = "NXDOMAIN -" ] \
        || fail "$name: expected NXDOMAIN, got: $line"
      assert_upstream_never_saw "$name";;
  esac
done
last=$(printf '%s\n' "$out" | awk '$1 == "ANSWER" { t = $2 } END { print t }')
awk -v t="$last" 'BEGIN { exit !(t >= 34) }' || fail "the last answer came at $last s, not after 34 s"

# And the filter goes on as before.
trellisd_running || fail "trellisd died"
dig_as_child "$UPSTREAM_V4" example-game.com A +tcp
assert_blocked "$(deny_rule_text example-game.com)"

log "PASS: one TCP connection filtered for $last s"
