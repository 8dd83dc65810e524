#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: DNS-over-TLS.  A child points a resolver (or `kdig +tls`) at a
# DoT server on port 853 and resolves past the filter.  trellisd's table
# rejects every protected account's TCP to port 853, IPv4 and IPv6, while a
# parent reaches the same TLS server.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

setup_stack
make_tls_cert
start_listener --tcp 853 --tls-cert "$TEST_DIR/tls.crt" --tls-key "$TEST_DIR/tls.key" \
  "$UPSTREAM_V4" "$UPSTREAM_V6"

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  expect_connect parent ok --tls tcp "$server" 853
  expect_connect child no --tls tcp "$server" 853
  [ "$CONNECT_OUT" = refused ] || fail "DoT to $server: expected refused, got $CONNECT_OUT"
done
# The listener saw the parent's two connections and none of the child's.
[ "$(grep -c '^tcp .* 853$' "$LISTEN_LOG")" = 2 ] || fail "the DoT server saw $(grep -c '^tcp' "$LISTEN_LOG") connections, want 2 (the parent's)"
log "PASS: DNS-over-TLS refused for the child (IPv4, IPv6), open for the parent"
