#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent writes "deny = example-game.com" for their child Sam.
# When Sam's account looks the name up (any server, here the upstream the
# child chose), Sam gets NXDOMAIN in the name of that server, with an
# Extended DNS Error 17 (Filtered) saying which rule did it, and the query
# never leaves the machine (even a server that does not exist "answers").  Names below the denied one are blocked too, and
# the Firefox canary use-application-dns.net is answered NXDOMAIN so the
# browser does not go around the filter.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

rule=$(deny_rule_text example-game.com)

dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

dig_as_child "$UPSTREAM_V4" www.Example-Game.com AAAA
assert_blocked "$rule"

# any server: one that does not even exist answers, in its own name
dig_as_child 10.53.0.77 example-game.com A
assert_blocked "$rule"

# the second name of the same deny= line
dig_as_child "$UPSTREAM_V4" casino.example A
assert_blocked "$(deny_rule_text casino.example)"

# the browser canary: a built-in integrity rule
dig_as_child "$UPSTREAM_V4" use-application-dns.net A
assert_blocked "integrity use-application-dns.net"

# Only the EDNS-less form is left: no OPT in the query, so no EDE possible,
# but still NXDOMAIN from the asked server.
dig_as_child "$UPSTREAM_V4" sub.example-game.com A +noedns
if [ "$DIG_RC" != 0 ] || [ "$(dig_status)" != NXDOMAIN ]; then
  _dig_context
  fail "sub.example-game.com without EDNS: expected NXDOMAIN, got '$(dig_status)'"
fi

for name in example-game.com www.example-game.com casino.example \
            use-application-dns.net sub.example-game.com; do
  assert_upstream_never_saw "$name"
done

trellisd_running || fail "trellisd is no longer running"
log "PASS: denied names are NXDOMAIN + EDE 17 for the child and never reach the upstream"
