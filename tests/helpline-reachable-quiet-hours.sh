#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam is in quiet hours (now, every day of the week) and needs Childline.  The helpline
# resolves (IPv4 and IPv6) and its addresses go into the always-allowed set
# (helplines-v4/-v6) that the network policy checks first, so Sam connects
# to it; a hard-coded address that no helpline answer carried stays
# refused.  The helpline is never logged.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

HELPLINE=childline.org.uk
UPSTREAM_EXTRA_ARGS=(--address=/$HELPLINE/192.0.2.90 --address=/$HELPLINE/2001:db8::90)
setup_stack --line "quiet-hours = Mon-Sun $(date -d @$(( $(date +%s) - 120 )) +%H:%M)-$(date -d @$(( $(date +%s) + 1800 )) +%H:%M)"
use_test_addresses 192.0.2.90 192.0.2.91 2001:db8::90
start_listener --tcp 443 192.0.2.90 192.0.2.91 2001:db8::90

expect_connect child no tcp 192.0.2.91 443
dig_as_child "$UPSTREAM_V4" "$HELPLINE" A
assert_resolved 192.0.2.90
expect_connect child ok tcp 192.0.2.90 443
dig_as_child "$UPSTREAM_V6" "www.$HELPLINE" AAAA
assert_resolved 2001:db8::90
expect_connect child ok tcp 2001:db8::90 443
nft_set_has helplines-v4 192.0.2.90 || fail "the helpline's address is not in helplines-v4"
expect_connect child no tcp 192.0.2.91 443
! grep -q "$HELPLINE" "$TRELLISD_LOG" || fail "trellisd's log names the helpline"
! grep -aq "$HELPLINE" "$TEST_DIR"/state/events.db* 2>/dev/null || fail "the event log holds the helpline"
log "PASS: a helpline resolves and connects in quiet hours, IPv4 and IPv6"
