#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: DNS-over-QUIC (RFC 9250), UDP port 853.  A protected
# account's datagrams to 853 are rejected in the kernel, IPv4 and IPv6;
# the parent's reach the server.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

setup_stack
start_listener --udp 853 "$UPSTREAM_V4" "$UPSTREAM_V6"

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  expect_connect parent ok udp "$server" 853
  expect_connect child no udp "$server" 853
done
[ "$(grep -c '^udp .* 853$' "$LISTEN_LOG")" = 2 ] || fail "the DoQ server heard $(grep -c '^udp' "$LISTEN_LOG") datagrams, want 2 (the parent's)"
log "PASS: DNS-over-QUIC refused for the child (IPv4, IPv6), open for the parent"
