#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# unknown-device-default-profile: a device listed nowhere (by MAC or
# address) gets default-profile's rules, never "unfiltered": a device
# whose MAC and address no section names, and a device that spoofs a MAC
# nobody listed.  A listed device keeps its own profile beside it, and the
# kernel table names the default's mark for every device on lan0.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

setup_gateway "[household]
parents = root
gateway-interfaces = lan0
default-profile = visitors
[group year9]
age = 14
devices = 02:00:00:00:09:01
[group visitors]
age = 9
devices = 10.42.200.0/24
deny = casino.example"

add_device pupil 02:00:00:00:09:01
add_device stranger 02:00:00:00:77:77
add_device spoofer 02:00:00:00:09:02 10.42.77.77

dig_from pupil "$UPSTREAM_V4" casino.example
assert_resolved
dig_from stranger "$UPSTREAM_V4" casino.example
assert_blocked "deny casino.example (household.conf:11)"
dig_from stranger "$GW_LAN_V4" casino.example
assert_blocked "deny casino.example (household.conf:11)"
dig_from spoofer "$UPSTREAM_V4" casino.example
assert_blocked "deny casino.example (household.conf:11)"
# The default's category rules apply too: age 9's band blocks gambling.
dig_from stranger "$UPSTREAM_V4" example-game.com
assert_resolved
in_client nft list chain inet trellis gateway-devices | grep -q 'iifname "lan0" meta mark set 0x54524401' \
  || fail "the kernel does not give lan0's devices the default profile's mark"
log "devices listed nowhere get the default profile"
