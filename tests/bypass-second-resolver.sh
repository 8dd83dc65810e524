#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: another DNS server than the machine's.  A child's program
# asks a second resolver on the network, a hard-coded public one
# (9.9.9.9, 2620:fe::fe), one that does not exist, or 127.0.0.1, over UDP
# or TCP.  The queue takes every port-53 query of a protected account,
# whatever the server: a denied name is NXDOMAIN + EDE 17 in the name of
# the server asked and reaches no server; an allowed name goes to the
# server the child asked, and only to it.  IPv4 and IPv6.  A known public
# resolver's address on another port (OpenDNS answers DNS on 443 and 5353)
# is refused: the shipped resolvers' addresses take only DNS on port 53.
#
# The second server is a second dnsmasq in the upstream namespace, with
# its own query log; the "public" addresses are held there too, so no
# packet leaves the test's namespaces.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

SECOND_V4=10.53.0.3
SECOND_V6=fd53::3
PUBLIC_V4=9.9.9.9
PUBLIC_V6=2620:fe::fe

setup_stack
rule=$(deny_rule_text example-game.com)

ip -n "$NS_UPSTREAM" addr add "$SECOND_V4/24" dev "$VETH_UPSTREAM"
ip -n "$NS_UPSTREAM" addr add "$SECOND_V6/64" dev "$VETH_UPSTREAM" nodad
ip -n "$NS_UPSTREAM" addr add "$PUBLIC_V4/32" dev lo
ip -n "$NS_UPSTREAM" -6 addr add "$PUBLIC_V6/128" dev lo nodad
ip -n "$NS_CLIENT" route add "$PUBLIC_V4/32" via "$UPSTREAM_V4"
ip -n "$NS_CLIENT" -6 route add "$PUBLIC_V6/128" via "$UPSTREAM_V6"
SECOND_LOG=$TEST_DIR/second.log
: > "$SECOND_LOG"
ip netns exec "$NS_UPSTREAM" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$TEST_DIR/second.pid" --user=root --group=root --no-resolv --no-hosts \
  --bind-interfaces --listen-address="$SECOND_V4" --listen-address="$SECOND_V6" \
  --listen-address="$PUBLIC_V4" --listen-address="$PUBLIC_V6" --port=53 --cache-size=0 \
  --log-queries --log-facility="$SECOND_LOG" \
  --address=/#/192.0.2.2 --address=/#/2001:db8::2 2>>"$SECOND_LOG" &
track_pid $!
second_listening ()
{
  [ "$(in_upstream ss -Hlnu "sport = :53" | wc -l)" -ge 6 ] && [ "$(in_upstream ss -Hlnt "sport = :53" | wc -l)" -ge 6 ]
}
wait_until 5 second_listening || fail "the second dnsmasq does not listen"

second_saw ()
{
  grep -F " query[" "$SECOND_LOG" | grep -qiF " $1 from"
}

# Denied names, to every server, UDP and TCP.
i=0
for server in "$UPSTREAM_V4" "$UPSTREAM_V6" "$SECOND_V4" "$SECOND_V6" "$PUBLIC_V4" "$PUBLIC_V6" \
              10.53.0.77 fd53::77 127.0.0.1 ::1; do
  for tcp in "" +tcp; do
    i=$((i + 1))
    dig_as_child "$server" "r$i.example-game.com" A $tcp
    assert_blocked "$rule"
  done
done
for n in $(seq 1 $i); do
  assert_upstream_never_saw "r$n.example-game.com"
  ! second_saw "r$n.example-game.com" || fail "the second server saw r$n.example-game.com"
done

# Allowed names go to the server asked, and only there.
for server in "$SECOND_V4" "$SECOND_V6" "$PUBLIC_V4" "$PUBLIC_V6"; do
  for tcp in "" +tcp; do
    name="to-${server//[:.]/-}${tcp:+-tcp}.example"
    dig_as_child "$server" "$name" A $tcp
    assert_resolved 192.0.2.2
    second_saw "$name" || fail "$name: the second server never saw the child's query"
    assert_upstream_never_saw "$name"
  done
done
dig_as_child "$UPSTREAM_V6" to-first.example AAAA +tcp
assert_resolved "$UPSTREAM_ANSWER_V6"
! second_saw to-first.example || fail "a query for the first server reached the second"

# A shipped resolver's address, on another port than 53: refused.
start_listener --udp 5353 --tcp 5353 --tcp 8053 "$PUBLIC_V4" "$PUBLIC_V6"
for addr in "$PUBLIC_V4" "$PUBLIC_V6"; do
  expect_connect parent ok tcp "$addr" 5353
  expect_connect child no tcp "$addr" 5353
  expect_connect child no udp "$addr" 5353
  expect_connect child no tcp "$addr" 8053
done

trellisd_running || fail "trellisd is no longer running"
log "PASS: every resolver the child names gets the filter (UDP, TCP; IPv4, IPv6); a public resolver on another port is refused"
