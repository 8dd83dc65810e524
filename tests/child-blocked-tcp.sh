#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam (or a program Sam runs) asks over TCP instead of UDP to get
# round the filter.  TCP port 53 of a protected account goes to trellisd's
# answerer: a denied name is NXDOMAIN + EDE 17 in the name of the server Sam
# asked and never reaches it; an allowed name is forwarded over TCP to the
# server Sam asked and its answer comes back unchanged.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

rule=$(deny_rule_text example-game.com)

dig_as_child "$UPSTREAM_V4" example-game.com A +tcp
assert_blocked "$rule"
dig_server | grep -q '(TCP)' || fail "dig did not use TCP: $(dig_server)"

dig_as_child "$UPSTREAM_V4" www.example-game.com AAAA +tcp
assert_blocked "$rule"

dig_as_child "$UPSTREAM_V4" use-application-dns.net A +tcp
assert_blocked "integrity use-application-dns.net"

assert_upstream_never_saw example-game.com
assert_upstream_never_saw www.example-game.com
assert_upstream_never_saw use-application-dns.net

dig_as_child "$UPSTREAM_V4" en.wikipedia.org A +tcp
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw en.wikipedia.org

dig_as_child "$UPSTREAM_V4" www.bbc.co.uk AAAA +tcp
assert_resolved "$UPSTREAM_ANSWER_V6"
assert_upstream_saw www.bbc.co.uk

# A second query on one TCP connection (dig +keepopen with two names):
# the answerer must decide each message, not only the first.
DIG_WHO=child DIG_SERVER=$UPSTREAM_V4 DIG_NAME="wikipedia.org + example-game.com on one connection" DIG_RC=0
DIG_OUT=$(as_child dig "${DIG_OPTS[@]}" +tcp +keepopen "@$UPSTREAM_V4" \
          wikipedia.org A example-game.com A 2>&1) || DIG_RC=$?
statuses=$(printf '%s\n' "$DIG_OUT" | sed -n 's/.*, status: \([A-Z]*\),.*/\1/p' | tr '\n' ' ')
if [ "$DIG_RC" != 0 ] || [ "$statuses" != "NOERROR NXDOMAIN " ]; then
  _dig_context
  fail "two queries on one TCP connection: expected 'NOERROR NXDOMAIN', got '$statuses'"
fi
assert_upstream_saw wikipedia.org
assert_upstream_never_saw example-game.com

log "PASS: over TCP, denied names are answered by trellisd and allowed names are forwarded"
