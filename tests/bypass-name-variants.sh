#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: the same name, written otherwise.  A filter that compares
# strings is walked round by mixed case, a trailing dot, a subdomain, a
# label with odd octets (\000, a dot inside a label, \255), an escaped
# letter or a name near the 255-octet limit.  DNS names are compared octet
# by octet and label by label, case aside: trellisd reads the wire name,
# so every such spelling of a denied name (or of a name below it) is
# NXDOMAIN + EDE 17 for the child, UDP and TCP, IPv4 and IPv6, and none of
# them reaches the upstream.  A name that only looks alike
# (notexample-game.com, example-game.com.evil.example) is not the denied
# site and resolves.  An IDN deny holds in its xn-- form, any case.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

DENY="example-game.com;casino.example;bücher.example" setup_stack
rule=$(deny_rule_text example-game.com)
idn_rule="deny xn--bcher-kva.example ($(basename "$HOUSEHOLD"):$(household_line deny))"

label63=$(printf 'a%.0s' $(seq 1 63))
# 255 octets on the wire, the most a name may have
long="$label63.$label63.$label63.b$(printf '9%.0s' $(seq 1 43)).example-game.com"

variants=(
  ExAmPlE-GaMe.CoM
  EXAMPLE-GAME.COM.
  example-game.com.
  www.example-game.com
  a.b.c.d.e.f.example-game.com
  WWW.Example-Game.Com.
  '\069xample-game.com'
  'ex\097mple-game.com'
  'sub\000.example-game.com'
  'sub\.dot.example-game.com'
  'sub\255\128.example-game.com'
  'sub\032space.example-game.com'
  '*.example-game.com'
  _dmarc.example-game.com
  '\045.example-game.com'
  "$long"
)

before=$(upstream_query_count)
i=0
for name in "${variants[@]}"; do
  for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
    # UDP for every variant, TCP for every other one (each path reads the
    # name itself: the queue for UDP, the answerer for TCP)
    for tcp in "" +tcp; do
      [ -z "$tcp" ] || [ $((i % 2)) = 0 ] || continue
      dig_as_child "$server" "$name" A $tcp
      assert_blocked "$rule"
    done
  done
  i=$((i + 1))
done
for name in xn--bcher-kva.example XN--BCHER-KVA.EXAMPLE www.Xn--Bcher-Kva.example.; do
  dig_as_child "$UPSTREAM_V4" "$name" AAAA
  assert_blocked "$idn_rule"
done
[ "$(upstream_query_count)" = "$before" ] \
  || fail "the upstream logged $(( $(upstream_query_count) - before )) queries while only denied names were asked"

# Look-alikes are other names: not blocked, they reach the upstream.
for name in notexample-game.com example-game.community example-game.com.evil.example \
            example-gamecom.example; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_resolved
  assert_upstream_saw "$name"
done

trellisd_running || fail "trellisd is no longer running"
log "PASS: ${#variants[@]} spellings of a denied name held (UDP, TCP; IPv4, IPv6); look-alikes resolve"
