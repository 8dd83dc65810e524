#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a program in Sam's account sends DNS packets the filter cannot
# read (hoping an unreadable packet is waved through).  trellisd drops every
# malformed query from a protected account: no reply, nothing reaches the
# upstream (neither its query log nor a packet counter in the upstream
# namespace moves), trellisd keeps running, and the very next ordinary
# blocked query is still answered NXDOMAIN + EDE 17.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

sender=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/send-udp.py")

# name_hex NAME: NAME in DNS wire form, as hex.
name_hex ()
{
  local label out="" IFS=.
  for label in $1; do
    out+=$(printf '%02x' "${#label}")
    out+=$(printf '%s' "$label" | od -v -An -tx1 | tr -d ' \n')
  done
  printf '%s00' "$out"
}

# header ID FLAGS QD AN NS AR
header ()
{
  printf '%04x%04x%04x%04x%04x%04x' "$1" "$2" "$3" "$4" "$5" "$6"
}

QTYPE_A_IN=00010001

# A packet counter on the upstream's side of the link.
in_upstream nft add table inet trellistest
in_upstream nft add chain inet trellistest input '{ type filter hook input priority 0; policy accept; }'
in_upstream nft add rule inet trellistest input udp dport 53 counter
in_upstream nft add rule inet trellistest input tcp dport 53 counter

upstream_packets ()
{
  in_upstream nft list chain inet trellistest input \
    | sed -n 's/.*udp dport 53 counter packets \([0-9]*\) .*/\1/p'
}

# The positive control: the sender works, and a well-formed allowed query
# sent this way does reach the upstream and gets an answer.
before=$(upstream_packets)
rc=0
out=$(as_child "$PYTHON3" "$sender" "$UPSTREAM_V4" 53 \
      "$(header 0x1111 0x0100 1 0 0 0)$(name_hex control.example)$QTYPE_A_IN") || rc=$?
case "$out" in
  "REPLY 0 1111"*) ;;
  *) fail "control query: expected a reply with id 0x1111, got '$out' (exit $rc)";;
esac
after=$(upstream_packets)
[ "$after" = $((before + 1)) ] \
  || fail "control query: the upstream counter went from $before to $after, expected +1"
assert_upstream_saw control.example

# The malformed ones.  Each carries a name of its own where it has one, so
# the upstream log would show it if the packet got through.
denied=$(name_hex example-game.com)
long_name=""
for i in 1 2 3 4 5; do
  long_name+="3f$(printf 'a%.0s' $(seq 1 63) | od -v -An -tx1 | tr -d ' \n')"
done
long_name+="00"
payloads=(
  # 0: an empty datagram
  ""
  # 1: a truncated header (5 octets)
  "1234010000"
  # 2: a header announcing one question, and nothing after it
  "$(header 0x1202 0x0100 1 0 0 0)"
  # 3: a compression pointer to itself (loop)
  "$(header 0x1203 0x0100 1 0 0 0)c00c$QTYPE_A_IN"
  # 4: a forward compression pointer (to a valid name after the question)
  "$(header 0x1204 0x0100 1 0 0 0)c012${QTYPE_A_IN}$(name_hex malformed-fwd.example)"
  # 5: a two-pointer loop
  "$(header 0x1205 0x0100 1 0 0 0)$(name_hex malformed-loop | sed 's/00$//')c00c$QTYPE_A_IN"
  # 6: label type 0x40 (extended label, invalid)
  "$(header 0x1206 0x0100 1 0 0 0)41$(name_hex malformed-ext.example)$QTYPE_A_IN"
  # 7: a label running past the end of the packet
  "$(header 0x1207 0x0100 1 0 0 0)3f6d616c666f726d6564"
  # 8: a name longer than 255 octets
  "$(header 0x1208 0x0100 1 0 0 0)${long_name}$QTYPE_A_IN"
  # 9: the question cut inside its type/class
  "$(header 0x1209 0x0100 1 0 0 0)$(name_hex malformed-cut.example)0001"
  # 10: QDCOUNT=2 (an allowed and a denied name)
  "$(header 0x120a 0x0100 2 0 0 0)$(name_hex malformed-two.example)${QTYPE_A_IN}${denied}$QTYPE_A_IN"
  # 11: QDCOUNT=0
  "$(header 0x120b 0x0100 0 0 0 0)"
  # 12: the denied name with the QR bit set (a "response" sent to port 53)
  "$(header 0x120c 0x8100 1 0 0 0)${denied}$QTYPE_A_IN"
  # 13: QDCOUNT=1 but ANCOUNT=1 with nothing there
  "$(header 0x120d 0x0100 1 1 0 0)${denied}$QTYPE_A_IN"
  # 14: a denied name whose question has trailing garbage instead of the announced OPT
  "$(header 0x120e 0x0100 1 0 0 1)${denied}${QTYPE_A_IN}ff"
)

before=$(upstream_packets)
queries_before=$(upstream_query_count)
rc=0
out=$(as_child "$PYTHON3" "$sender" --timeout 1 "$UPSTREAM_V4" 53 "${payloads[@]}") || rc=$?
if [ "$rc" != 0 ]; then
  printf '%s\n' "$out" >&2
  fail "malformed queries got replies (sender exit $rc): $(printf '%s\n' "$out" | grep '^REPLY' | cut -d' ' -f2 | tr '\n' ' ')"
fi
[ "$(printf '%s\n' "$out" | grep -c '^NOREPLY')" = "${#payloads[@]}" ] \
  || fail "sender output not understood: $out"

after=$(upstream_packets)
[ "$after" = "$before" ] \
  || fail "the upstream's UDP/53 counter went from $before to $after: malformed packets left the client namespace"
[ "$(upstream_query_count)" = "$queries_before" ] \
  || fail "the upstream logged queries from the malformed packets"
for name in malformed-fwd.example malformed-loop malformed-ext.example \
            malformed-cut.example malformed-two.example example-game.com; do
  assert_upstream_never_saw "$name"
done

trellisd_running || fail "trellisd died on the malformed packets"

# the filter still works, right after
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
dig_as_child "$UPSTREAM_V4" en.wikipedia.org A
assert_resolved
assert_upstream_never_saw example-game.com

log "PASS: ${#payloads[@]} malformed queries dropped, trellisd still filtering"
