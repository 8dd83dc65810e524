#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent's lookup must never be taken for a child's.  The
# kernel keeps a conntrack entry for every DNS flow for a while after its
# answer; a child's blocked query was redirected to trellisd's answerer,
# and NAT follows an entry, not a rule.  So when the parent's next query
# happens to leave from the same source port to the same server (ports
# are reused all the time), it would follow the child's entry to the
# answerer, which cannot place it: REFUSED.  Protected accounts' DNS flows
# live in a conntrack zone of their own (original direction), so the
# parent's query is the parent's: answered by the server.  UDP, IPv4 and
# IPv6; the child's next query from that port is still the child's.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack
raw=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/dns-raw.py")
port=40053

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  port=$((port + 1))
  out=$(as_child "$PYTHON3" "$raw" udp --sport "$port" "$server" 53 q:from-port.example-game.com)
  case "$out" in
    *"rcode=NXDOMAIN "*"ede=17 "*) ;;
    *) fail "the child's blocked query from port $port: $out" ;;
  esac
  out=$(as_parent "$PYTHON3" "$raw" udp --sport "$port" "$server" 53 q:parent-same-port.example q:from-port.example-game.com)
  n=$(printf '%s\n' "$out" | grep -c "rcode=NOERROR .*answers=A:$UPSTREAM_ANSWER_V4" || true)
  [ "$n" = 2 ] || fail "the parent's queries from port $port (the child's a moment ago) to $server: $out"
  # and the child, from that port again, is still filtered
  out=$(as_child "$PYTHON3" "$raw" udp --sport "$port" "$server" 53 q:again.example-game.com q:child-allowed-port.example)
  printf '%s\n' "$out" | grep -q "^REPLY 0 .*rcode=NXDOMAIN .*ede=17" || fail "the child's blocked query from port $port again: $out"
  printf '%s\n' "$out" | grep -q "^REPLY 1 .*rcode=NOERROR .*answers=A:$UPSTREAM_ANSWER_V4" \
    || fail "the child's allowed query from port $port: $out"
done
assert_upstream_saw parent-same-port.example
assert_upstream_never_saw again.example-game.com
trellisd_running || fail "trellisd is no longer running"
log "PASS: the parent's queries from a port a child just used are the parent's (IPv4, IPv6)"
