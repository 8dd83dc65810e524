#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: the same name, another record type.  A browser asks HTTPS
# (type 65) and SVCB (64) records, whose ipv4hint/ipv6hint give addresses
# without any A query; ANY, TXT, MX, CAA, a type with no name, or class
# CHAOS are other doors a filter of "A and AAAA" leaves open.  For a denied
# name trellisd decides by the name alone: every type and class is
# NXDOMAIN + EDE 17 for the child, UDP and TCP, IPv4 and IPv6, and none
# reaches the upstream.  For a safe-search name the child's HTTPS query is
# answered with the CNAME to the safe endpoint and nothing else: the
# upstream's HTTPS record for the name (with an address hint) never
# reaches the child, and the child's own name never leaves the machine.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

# HTTPS records with an ipv4hint (SvcPriority 1, TargetName ".",
# ipv4hint=ADDRESS) for the unsafe name and for the safe endpoint.
https_rr ()  # ADDRESS: the RDATA as hex
{
  printf '00010000040004%02x%02x%02x%02x' $(printf '%s' "$1" | tr . ' ')
}
UPSTREAM_EXTRA_ARGS=(
  --dns-rr=www.google.com,65,"$(https_rr 192.0.2.66)"
  --dns-rr=forcesafesearch.google.com,65,"$(https_rr 192.0.2.67)"
  --address=/forcesafesearch.google.com/216.239.38.120
)
setup_stack
rule=$(deny_rule_text example-game.com)

types=(A AAAA HTTPS SVCB ANY TXT MX NS SOA CNAME CAA SRV PTR NULL TYPE65280 TYPE0)
before=$(upstream_query_count)
for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  for type in "${types[@]}"; do
    dig_as_child "$server" "$type.example-game.com" "$type"
    assert_blocked "$rule"
  done
  for type in HTTPS SVCB ANY TXT; do
    dig_as_child "$server" "tcp-$type.example-game.com" "$type" +tcp
    assert_blocked "$rule"
  done
  # other classes: CHAOS, HESIOD, ANY
  for class in CH HS CLASS255; do
    shown=$class; [ "$class" != CLASS255 ] || shown=ANY
    dig_as_child "$server" "class-$class.example-game.com" TXT "$class"
    printf '%s\n' "$DIG_OUT" | grep -qi "^;class-$class.example-game.com.[[:space:]]*$shown[[:space:]]*TXT" \
      || { _dig_context; fail "dig did not ask in class $class"; }
    assert_blocked "$rule"
  done
done
[ "$(upstream_query_count)" = "$before" ] \
  || fail "the upstream logged $(( $(upstream_query_count) - before )) queries while only a denied name was asked"

# Safe search (Sam is 10: strict): HTTPS for www.google.com is the CNAME
# alone; no hint of the unsafe service, none of the endpoint either.
for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  for tcp in "" +tcp; do
    dig_as_child "$server" www.google.com HTTPS $tcp
    [ "$(dig_status)" = NOERROR ] || { _dig_context; fail "www.google.com HTTPS: not NOERROR"; }
    got=$(printf '%s\n' "$DIG_OUT" | awk '/^;; ANSWER SECTION:/ { a = 1; next } a && /^$/ { a = 0 } a && !/^;/ { print tolower($1), $4, tolower($5) }')
    [ "$got" = "www.google.com. CNAME forcesafesearch.google.com." ] \
      || { _dig_context; fail "www.google.com HTTPS ($server $tcp): expected only the CNAME, got: $got"; }
    printf '%s\n' "$DIG_OUT" | grep -q 'ipv4hint' && { _dig_context; fail "an address hint reached the child"; }
  done
done
assert_upstream_never_saw www.google.com.

# The upstream does serve it (checked last: the parent's query reaches it) the HTTPS record: the parent sees its hint.
dig_as_parent "$UPSTREAM_V4" www.google.com HTTPS
printf '%s\n' "$DIG_OUT" | grep -q 'ipv4hint=192.0.2.66' \
  || { _dig_context; fail "the upstream's HTTPS record for www.google.com is not there: no control"; }


trellisd_running || fail "trellisd is no longer running"
log "PASS: ${#types[@]} types and 3 classes of a denied name held (UDP, TCP; IPv4, IPv6); HTTPS of a safe-search name is the CNAME alone"
