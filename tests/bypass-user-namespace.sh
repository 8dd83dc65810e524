#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: an unprivileged user namespace (`unshare -Ur`).  Inside it
# the child is "root", but the kernel's socket owner is still the child's
# uid outside, so the DNS path, DNS-over-TLS and the rest of the network
# policy hold, IPv4 and IPv6.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

setup_stack
rule=$(deny_rule_text example-game.com)
[ "$(as_child unshare -Ur id -u)" = 0 ] || fail "unshare -Ur does not work for the child here"
start_listener --tcp 853 "$UPSTREAM_V4" "$UPSTREAM_V6"

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  DIG_WHO=child DIG_NAME=example-game.com DIG_SERVER=$server DIG_RC=0
  DIG_OUT=$(as_child unshare -Ur dig "${DIG_OPTS[@]}" "@$server" example-game.com A 2>&1) || DIG_RC=$?
  assert_blocked "$rule"
  DIG_OUT=$(as_child unshare -Ur dig "${DIG_OPTS[@]}" +tcp "@$server" sub.example-game.com A 2>&1) || DIG_RC=$?
  DIG_NAME=sub.example-game.com
  assert_blocked "$rule"
  CONNECT_OUT=$(as_child unshare -Ur "$PYTHON3" "$NET_CONNECT" tcp "$server" 853 2>&1) || true
  [ "$CONNECT_OUT" = refused ] || fail "DoT from a user namespace to $server: $CONNECT_OUT"
done
assert_upstream_never_saw example-game.com
assert_upstream_never_saw sub.example-game.com
log "PASS: a child in a user namespace is still the child"
