#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the administrator stops trellisd (systemctl stop sends
# SIGTERM).  It exits 0 and removes its own table inet trellis, and nothing
# else: another program's nftables table is untouched, and the machine's
# DNS works as before for every account (no stale rule holds the child's
# queries).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack --no-trellisd

# someone else's table, made before trellisd starts
in_client nft add table ip bystander
in_client nft add chain ip bystander out '{ type filter hook output priority 0; policy accept; }'
in_client nft add rule ip bystander out udp dport 9 counter accept comment '"not trellis"'
in_client nft add set ip bystander hosts '{ type ipv4_addr; elements = { 192.0.2.7, 192.0.2.8 }; }'
bystander_before=$(in_client nft -a list table ip bystander)

start_trellisd
trellis_table_exists || fail "trellisd said ready but the table inet trellis does not exist"
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"

[ "$(in_client nft -a list table ip bystander)" = "$bystander_before" ] \
  || fail "starting trellisd changed the table ip bystander"

stop_trellisd TERM
[ "$TRELLISD_EXIT" = 0 ] || fail "SIGTERM: trellisd exited with $TRELLISD_EXIT, expected 0"

if trellis_table_exists; then
  fail "after SIGTERM the table inet trellis is still there: $(in_client nft list table inet trellis 2>&1)"
fi

bystander_after=$(in_client nft -a list table ip bystander) \
  || fail "the table ip bystander is gone after trellisd stopped"
if [ "$bystander_after" != "$bystander_before" ]; then
  diff <(printf '%s\n' "$bystander_before") <(printf '%s\n' "$bystander_after") >&2 || true
  fail "the table ip bystander changed while trellisd stopped"
fi

# No table left: the child's DNS goes straight to the upstream again.
dig_as_child "$UPSTREAM_V4" after-stop.example A
assert_resolved
assert_upstream_saw after-stop.example

log "PASS: SIGTERM removes exactly trellisd's table and exits 0"
