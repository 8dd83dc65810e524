#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# gateway-resolver-relay-attributed: devices ask the gateway's own resolver
# (dnsmasq, which relays to the school's upstream).  Each query is decided
# on the device → gateway hop, as the device's: a blocked name is answered
# by trellisd in the resolver's name and never reaches dnsmasq, and it is
# logged to the device's group, not to the resolver (which has no
# profile) nor to another class; an allowed name is relayed, and the
# upstream sees it from the gateway only.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

setup_gateway "[household]
parents = root
gateway-interfaces = lan0
default-profile = visitors
[group year3]
age = 7
devices = 02:00:00:00:03:01
deny = year3-blocked.example
[group year9]
age = 14
devices = 10.42.9.0/24
deny = year9-blocked.example
[group visitors]
age = 12
devices = 10.42.200.0/24"

add_device tablet 02:00:00:00:03:01
add_device laptop 02:00:00:00:09:01 10.42.9.1

dig_from tablet "$GW_LAN_V4" year3-blocked.example
assert_blocked "deny year3-blocked.example (household.conf:8)"
dig_from laptop "$GW_LAN_V4" year9-blocked.example
assert_blocked "deny year9-blocked.example (household.conf:12)"
dig_from laptop "$GW_LAN_V4" year3-blocked.example
assert_resolved
dig_from tablet "$GW_LAN_V4" year9-blocked.example
assert_resolved

gateway_resolver_saw year3-blocked.example || fail "the laptop's allowed query was not relayed"
grep -q "year3-blocked.example from $(device_addr tablet)\$" "$GW_DNSMASQ_LOG" &&
  fail "the tablet's blocked query reached the gateway's resolver"
grep -q "year9-blocked.example from 10.42.9.1\$" "$GW_DNSMASQ_LOG" &&
  fail "the laptop's blocked query reached the gateway's resolver"
grep -q "year3-blocked.example from $CLIENT_V4\$" "$UPSTREAM_LOG" || fail "the relayed query did not reach the upstream from the gateway"

# The event log: each block under its device's group, and nothing else.
db=$TEST_DIR/state/events.db
two_entries () { [ "$(sqlite3 "$db" "SELECT count(*) FROM events" 2>/dev/null)" = 2 ]; }
wait_until 5 two_entries ||
  fail "the event log holds $(sqlite3 "$db" "SELECT count(*) FROM events" 2>/dev/null) entries, not 2"
rows=$(sqlite3 "$db" "SELECT child || ' ' || name FROM events ORDER BY child")
[ "$rows" = "year3 year3-blocked.example
year9 year9-blocked.example" ] || fail "the blocks are not each under its device's group: $rows"
log "the gateway resolver's queries are decided and logged as the device's that asked"
