#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam (allow-list mode) may use scratch.mit.edu and nothing
# else.  A hard-coded address is refused in the kernel; once Sam's DNS
# answer for the allowed name comes back, its addresses (IPv4 and IPv6) are
# in Sam's learned set before Sam sees them, and connections to them work
# until the answer's TTL runs out (bounded by --learn-ttl-min/-max); then
# they are refused again.  An address Sam's answers never carried stays
# refused; the parent is not touched.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

UPSTREAM_EXTRA_ARGS=(--address=/scratch.mit.edu/192.0.2.80 --address=/scratch.mit.edu/2001:db8::80
                     --local-ttl=4)
setup_stack --line "mode = allowlist" -- --learn-ttl-min 2 --learn-ttl-max 4
use_test_addresses 192.0.2.80 192.0.2.81 2001:db8::80 2001:db8::81
start_listener --tcp 80 192.0.2.80 192.0.2.81 2001:db8::80 2001:db8::81

# Nothing learned yet: a known address is no way in.
expect_connect child no tcp 192.0.2.80 80
expect_connect child no tcp 2001:db8::80 80
expect_connect parent ok tcp 192.0.2.81 80

dig_as_child "$UPSTREAM_V4" scratch.mit.edu A
assert_resolved 192.0.2.80
expect_connect child ok tcp 192.0.2.80 80
dig_as_child "$UPSTREAM_V6" scratch.mit.edu AAAA
assert_resolved 2001:db8::80
expect_connect child ok tcp 2001:db8::80 80
nft_set_has child-sam-learned-v4 192.0.2.80 || fail "192.0.2.80 is not in Sam's learned set"
# What no answer carried stays closed.
expect_connect child no tcp 192.0.2.81 80
expect_connect child no tcp 2001:db8::81 80
# A name outside the list is not resolved, and teaches nothing.
dig_as_child "$UPSTREAM_V4" elsewhere.example A
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "allow-list mode resolved a name outside the list"; }

# The TTL runs out: closed again.
expired ()
{
  connect_as child tcp 192.0.2.80 80
  [ "$CONNECT_OUT" = refused ]
}
wait_until 10 expired || fail "the learned address still works 10 s after a 4 s TTL"
expired6 ()
{
  connect_as child tcp 2001:db8::80 80
  [ "$CONNECT_OUT" = refused ]
}
wait_until 10 expired6 || fail "the learned IPv6 address still works 10 s after a 4 s TTL"
log "PASS: allow-list mode: only addresses learned from allowed answers, until their TTL"
