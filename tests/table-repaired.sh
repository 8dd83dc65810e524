#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: a root user (or a program run as root: a VPN client, a
# firewall tool) flushes trellisd's table, deletes it, or deletes one of
# its chains.  trellisd's netlink monitor (no polling) sees the change and
# puts the table back within a second, logging it; the child is filtered
# again (IPv4 and IPv6).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack
rule=$(deny_rule_text example-game.com)
want_rules=$(in_client nft -a list table inet trellis 2>/dev/null | grep -c '# handle' || true)

table_whole ()
{
  in_client nft list chain inet trellis dns-queue >/dev/null 2>&1 \
    && in_client nft list chain inet trellis net-policy >/dev/null 2>&1 \
    && [ "$(in_client nft -a list table inet trellis 2>/dev/null | grep -c '# handle' || true)" = "$want_rules" ]
}

n=0
for damage in "flush table inet trellis" "delete table inet trellis" "delete chain inet trellis net-policy" \
              "flush chain inet trellis dns-queue"; do
  before=$(grep -c 'was changed by another process' "$TRELLISD_LOG" || true)
  t0=$(now_ms)
  in_client nft "$damage" 2>/dev/null || fail "nft $damage failed"
  wait_until 1 table_whole || fail "after 'nft $damage' the table was not whole again within a second"
  took=$(( $(now_ms) - t0 ))
  wait_until 2 log_has_more "$TRELLISD_LOG" 'was changed by another process' "$before" \
    || fail "trellisd did not log the repair after 'nft $damage'"
  dig_as_child "$UPSTREAM_V4" example-game.com A
  assert_blocked "$rule"
  dig_as_child "$UPSTREAM_V6" example-game.com AAAA
  assert_blocked "$rule"
  log "ok: nft $damage: put back in ${took} ms"
  n=$((n + 1))
done
assert_upstream_never_saw example-game.com
trellisd_running || fail "trellisd died"
log "PASS: $n kinds of damage to the table noticed and repaired within a second"
