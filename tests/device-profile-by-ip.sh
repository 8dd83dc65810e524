#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# device-profile-by-ip: behind a Trellis gateway, a device is its
# address's principal: one address, a CIDR (IPv4 and IPv6); a device just
# outside the CIDR gets the default profile.  A device that takes an
# address of another class gets that class's profile (what an address can
# prove: docs/gateway.md), never "unfiltered".
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

setup_gateway "[household]
parents = root
gateway-interfaces = lan0
default-profile = visitors
[group year5]
age = 10
devices = 10.42.5.0/24; fd42::5:0/112
deny = example-game.com
[child sam]
age = 11
devices = 10.42.9.9
deny = sam-only.example
[group visitors]
age = 12
devices = 10.42.200.0/24"

add_device pc5 02:00:00:00:05:07 10.42.5.7
add_device pc5v6 02:00:00:00:05:08 fd42::5:8
add_device laptop 02:00:00:00:09:09 10.42.9.9
add_device outside 02:00:00:00:06:07 10.42.6.7

dig_from pc5 "$GW_LAN_V4" example-game.com
assert_blocked "deny example-game.com (household.conf:8)"

dig_from pc5v6 "$UPSTREAM_V6" example-game.com
assert_blocked "deny example-game.com (household.conf:8)"
dig_from laptop "$UPSTREAM_V4" sam-only.example
assert_blocked "deny sam-only.example (household.conf:12)"
dig_from laptop "$UPSTREAM_V4" example-game.com
assert_resolved
dig_from outside "$UPSTREAM_V4" example-game.com
assert_resolved
dig_from outside "$UPSTREAM_V4" sam-only.example
assert_resolved

# The outside device takes year 5's address: it gets year 5's profile.
in_device outside ip addr flush dev eth0
in_device outside ip addr add 10.42.5.99/16 dev eth0
in_device outside ip route add default via "$GW_LAN_V4"
dig_from outside "$UPSTREAM_V4" example-game.com
assert_blocked "deny example-game.com (household.conf:8)"
log "devices by address and CIDR, IPv4 and IPv6"
