#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam's machine has IPv6, and Sam asks a server at an IPv6
# address.  The filter holds there too: over UDP and TCP to fd53::2, a denied
# name is NXDOMAIN + EDE 17 from fd53::2 and never reaches it; allowed names
# resolve from the upstream.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

rule=$(deny_rule_text example-game.com)

dig_as_child "$UPSTREAM_V6" example-game.com AAAA
assert_blocked "$rule"
dig_server | grep -q '(UDP)' || fail "dig did not use UDP: $(dig_server)"

dig_as_child "$UPSTREAM_V6" www.example-game.com A
assert_blocked "$rule"

dig_as_child "$UPSTREAM_V6" casino.example AAAA +tcp
assert_blocked "$(deny_rule_text casino.example)"
dig_server | grep -q '(TCP)' || fail "dig did not use TCP: $(dig_server)"

dig_as_child "$UPSTREAM_V6" use-application-dns.net AAAA
assert_blocked "integrity use-application-dns.net"

for name in example-game.com www.example-game.com casino.example use-application-dns.net; do
  assert_upstream_never_saw "$name"
done

dig_as_child "$UPSTREAM_V6" en.wikipedia.org AAAA
assert_resolved "$UPSTREAM_ANSWER_V6"
assert_upstream_saw en.wikipedia.org

dig_as_child "$UPSTREAM_V6" www.bbc.co.uk A +tcp
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw www.bbc.co.uk

log "PASS: IPv6 UDP and TCP are filtered like IPv4"
