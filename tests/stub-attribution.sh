#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: a local stub resolver run by root (dnsmasq, systemd-resolved's
# 127.0.0.53, unbound) on loopback, port 53.  What the stub sends upstream
# is root's traffic and is never filtered; does the child get round the
# filter through it?  No: the child's query to the stub is the child's own
# packet to port 53, queued like any other.  So:
#   - a denied name asked of the stub (127.0.0.1 and ::1, UDP and TCP) is
#     NXDOMAIN + EDE 17 from trellisd in the stub's name, and neither the
#     stub nor the upstream sees it;
#   - even after the parent asked the stub for it (the stub then holds the
#     answer in its cache), the child's query never reaches the stub;
#   - an allowed name reaches the stub, which asks the upstream as root;
# and the attribution: the block is the child's, in the child's log; the
# stub's upstream query for the parent's lookup is root's and in no log;
# nothing of the parent's is stored.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack --bus
rule=$(deny_rule_text example-game.com)

STUB_LOG=$TEST_DIR/stub.log
: > "$STUB_LOG"
ip netns exec "$NS_CLIENT" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$TEST_DIR/stub.pid" --user=root --group=root --no-resolv --no-hosts \
  --bind-interfaces --listen-address=127.0.0.1 --listen-address=::1 --port=53 \
  --cache-size=1000 --server="$UPSTREAM_V4" --log-queries --log-facility="$STUB_LOG" 2>>"$STUB_LOG" &
track_pid $!
stub_listening ()
{
  [ "$(in_client ss -Hlnu "sport = :53" | wc -l)" -ge 2 ] && [ "$(in_client ss -Hlnt "sport = :53" | wc -l)" -ge 2 ]
}
wait_until 5 stub_listening || fail "the stub does not listen on 127.0.0.1:53 and [::1]:53"
stub_saw ()
{
  grep -F " query[" "$STUB_LOG" | grep -qiF " $1 from"
}

# The stub works, and what it sends upstream is root's: not queued, not
# redirected, answered by the upstream.
dig_as_root 127.0.0.1 stub-works.example A
assert_resolved
stub_saw stub-works.example || fail "the stub did not see root's query"
assert_upstream_saw stub-works.example

# The parent asks the stub for the denied name first: the stub now has it
# in its cache, and its own query upstream was unfiltered (root's).
dig_as_parent 127.0.0.1 example-game.com A
assert_resolved
stub_saw example-game.com || fail "the stub did not see the parent's query"
assert_upstream_saw example-game.com
stub_queries=$(grep -c " query\[" "$STUB_LOG")

# The child, through the stub: every form held, none reaches the stub.
for server in 127.0.0.1 ::1; do
  for tcp in "" +tcp; do
    dig_as_child "$server" example-game.com A $tcp
    assert_blocked "$rule"
    dig_as_child "$server" "via-stub${tcp:+-tcp}.example-game.com" AAAA $tcp
    assert_blocked "$rule"
  done
done
[ "$(grep -c " query\[" "$STUB_LOG")" = "$stub_queries" ] \
  || fail "a query of the child's for a denied name reached the stub: $(tail -n 5 "$STUB_LOG")"
assert_upstream_never_saw via-stub.example-game.com
assert_upstream_never_saw via-stub-tcp.example-game.com

# Allowed names go through the stub, which asks the upstream.
for server in 127.0.0.1 ::1; do
  name="allowed-via-${server//[:.]/}.example"
  dig_as_child "$server" "$name" A
  assert_resolved
  stub_saw "$name" || fail "$name: the child's allowed query did not reach the stub"
  assert_upstream_saw "$name"
done

# Attribution: the child's blocks are the child's, and only they are kept.
wait_for_logged example-game.com via-stub.example-game.com via-stub-tcp.example-game.com
trellis_as parent log --child sam --json
expect_cli_rc 0
json_check 'all(e["name"] != "stub-works.example" and not e["name"].startswith("allowed-via") for e in j["events"])'
json_check 'sum(e["count"] for e in j["events"] if e["name"] == "example-game.com") == 4'

trellisd_running || fail "trellisd is no longer running"
log "PASS: a root-run stub is no way around: the child's queries to it are the child's, filtered and logged as the child's"
