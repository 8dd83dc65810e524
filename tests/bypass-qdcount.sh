#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: a message whose header does not say what it holds.  A filter
# that reads the first question and passes the message on is walked round
# by a second question (QDCOUNT=2: an allowed name first, the denied one
# after), by QDCOUNT=0 with a question there anyway, by QDCOUNT=65535, or
# by a second question hidden after the one the header announces.
# trellisd passes on only what it has read: every such message from a
# protected account is dropped (UDP) or ends the connection (TCP), IPv4
# and IPv6; nothing reaches the upstream (its packet counter stays still),
# and a well-formed query right after is answered as usual.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack
raw=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/dns-raw.py")

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

A_IN=00010001
OPT=0000291000000000000000   # root, OPT, payload 4096, no options
allowed=$(name_hex allowed-first.example)
denied=$(name_hex qd.example-game.com)
other=$(name_hex qd2.casino.example)

messages=(
  # QDCOUNT=2: an allowed name, then the denied one
  "hex:$(header 0x2001 0x0100 2 0 0 0)${allowed}${A_IN}${denied}${A_IN}"
  # QDCOUNT=2: the denied one first
  "hex:$(header 0x2002 0x0100 2 0 0 0)${denied}${A_IN}${allowed}${A_IN}"
  # QDCOUNT=2, EDNS after both
  "hex:$(header 0x2003 0x0100 2 0 0 1)${allowed}${A_IN}${denied}${A_IN}${OPT}"
  # QDCOUNT=3
  "hex:$(header 0x2004 0x0100 3 0 0 0)${allowed}${A_IN}${denied}${A_IN}${other}${A_IN}"
  # QDCOUNT=0 with a question after the header anyway
  "hex:$(header 0x2005 0x0100 0 0 0 0)${denied}${A_IN}"
  # QDCOUNT=0 and nothing else
  "hex:$(header 0x2006 0x0100 0 0 0 0)"
  # QDCOUNT=65535 with one question
  "hex:$(header 0x2007 0x0100 65535 0 0 0)${denied}${A_IN}"
  # QDCOUNT=1 and a second question hidden after the first
  "hex:$(header 0x2008 0x0100 1 0 0 0)${allowed}${A_IN}${denied}${A_IN}"
  # QDCOUNT=1, ARCOUNT=1, and the second question where the OPT should be
  "hex:$(header 0x2009 0x0100 1 0 0 1)${allowed}${A_IN}${denied}${A_IN}"
  # QDCOUNT=1 with the question in the answer section's place (ANCOUNT=1)
  "hex:$(header 0x200a 0x0100 1 1 0 0)${allowed}${A_IN}${denied}${A_IN}00000e1000047f000001"
)

# A packet counter on the upstream's side of the link.
in_upstream nft add table inet trellistest
in_upstream nft add chain inet trellistest input '{ type filter hook input priority 0; policy accept; }'
in_upstream nft add rule inet trellistest input udp dport 53 counter
in_upstream nft add rule inet trellistest input tcp dport 53 meta l4proto tcp 'tcp flags & (syn|ack) != syn' counter
upstream_packets ()
{
  in_upstream nft list chain inet trellistest input | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

# The control: a well-formed allowed query in the same way reaches the
# upstream, so a still counter below means something.
before=$(upstream_packets)
out=$(as_child "$PYTHON3" "$raw" udp "$UPSTREAM_V4" 53 q:control.example) || fail "dns-raw.py: $out"
case "$out" in *"rcode=NOERROR"*) ;; *) fail "the control query was not answered: $out" ;; esac
[ "$(upstream_packets)" -gt "$before" ] || fail "the control query did not move the upstream's counter"

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  before=$(upstream_packets)
  queries=$(upstream_query_count)
  out=$(as_child "$PYTHON3" "$raw" udp --timeout 1 "$server" 53 "${messages[@]}") || fail "dns-raw.py: $out"
  if printf '%s\n' "$out" | grep -q '^REPLY'; then
    printf '%s\n' "$out" >&2
    fail "UDP to $server: a message with a lying QDCOUNT got a reply"
  fi
  [ "$(printf '%s\n' "$out" | grep -c '^NOREPLY')" = "${#messages[@]}" ] || fail "dns-raw.py said: $out"

  # Over TCP each message on a connection of its own: the answerer ends it
  # unanswered.
  for m in "${messages[@]}"; do
    out=$(as_child "$PYTHON3" "$raw" tcp --timeout 3 "$server" 53 "$m") || fail "dns-raw.py: $out"
    case "$out" in
      *"END replies=0 closed=yes"*) ;;
      *) fail "TCP to $server: ${m:0:40}... was not refused by closing: $out" ;;
    esac
  done
  [ "$(upstream_packets)" = "$before" ] \
    || fail "$server: the upstream's DNS counter went from $before to $(upstream_packets)"
  [ "$(upstream_query_count)" = "$queries" ] || fail "$server: the upstream logged a query"
done
for name in qd.example-game.com allowed-first.example qd2.casino.example; do
  assert_upstream_never_saw "$name"
done

# Still filtering, and still answering.
trellisd_running || fail "trellisd died"
dig_as_child "$UPSTREAM_V4" qd.example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
dig_as_child "$UPSTREAM_V6" after-qdcount.example A +tcp
assert_resolved
log "PASS: ${#messages[@]} messages with a lying QDCOUNT dropped (UDP) or closed (TCP), IPv4 and IPv6"
