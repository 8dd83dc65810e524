#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# device-profile-by-mac: behind a Trellis gateway, a device listed by its
# MAC gets its group's profile whatever address the gateway's DHCP gives
# it, asking the gateway's own resolver or a server beyond it; a device
# with another MAC gets the default profile.  A malformed query from a
# device is dropped, and trellisd stays up.
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
deny = example-game.com
[group visitors]
age = 12
devices = 10.42.200.0/24
deny = visitors-only.example"

add_device tablet 02:00:00:00:03:01       # DHCP
add_device phone 02:00:00:00:99:01        # DHCP, listed nowhere
log "tablet has $(device_addr tablet), phone $(device_addr phone)"

for server in "$GW_LAN_V4" "$UPSTREAM_V4"; do
  dig_from tablet "$server" example-game.com
  assert_blocked "deny example-game.com (household.conf:8)"
  dig_from tablet "$server" visitors-only.example
  assert_resolved
  dig_from phone "$server" example-game.com
  assert_resolved
  dig_from phone "$server" visitors-only.example
  assert_blocked "deny visitors-only.example (household.conf:12)"
done
# The tablet's blocked name never left: neither the upstream nor the
# gateway's resolver ever had it from the tablet (the phone's did go).
tablet=$(device_addr tablet)
grep -q "example-game.com from $tablet\$" "$UPSTREAM_LOG" && fail "the upstream had example-game.com from the tablet"
grep -q "example-game.com from $tablet\$" "$GW_DNSMASQ_LOG" && fail "the gateway's resolver had example-game.com from the tablet"
grep -q "example-game.com from $(device_addr phone)\$" "$UPSTREAM_LOG" || fail "the phone's allowed query did not reach the upstream"

# The same device over TCP, to the gateway's resolver.
dig_from tablet "$GW_LAN_V4" example-game.com A +tcp
assert_blocked "deny example-game.com (household.conf:8)"

# Hostile: a malformed query (a second question) from the tablet: no
# answer, nothing relayed, trellisd still up and still deciding.
malformed=$(in_device tablet "$PYTHON3" - "$GW_LAN_V4" <<'PY'

import socket, sys
hdr = bytes.fromhex("123401000002000000000000")
name = b"\x0bexample-ok2\x03com\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.sendto(hdr + name + name, (sys.argv[1], 53))
try:
    s.recv(512)
    print("answered")
except socket.timeout:
    print("no answer")
PY
)
[ "$malformed" = "no answer" ] || fail "a malformed query from a device was answered: $malformed"
gateway_resolver_saw example-ok2.com && fail "a malformed query from a device was passed on"
trellisd_running || fail "trellisd died after a malformed query from a device"
dig_from tablet "$GW_LAN_V4" example-game.com
assert_blocked "deny example-game.com (household.conf:8)"
log "a device is its MAC's principal, through the gateway's resolver and beyond it"
