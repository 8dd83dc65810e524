#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# class-group-quiet-hours: a class's quiet hours hold for each of its
# devices behind the gateway, in the kernel: names are answered NXDOMAIN
# naming the quiet hours, a new connection to an address is refused, but a
# helpline resolves and connects (its address learned from the answer the
# gateway relays).  Another class's device, at the same moment, is not in
# quiet hours.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

HELPLINE=childline.org.uk
UPSTREAM_EXTRA_ARGS=(--address=/$HELPLINE/192.0.2.90)
window="Mon-Sun $(date -d @$(( $(date +%s) - 120 )) +%H:%M)-$(date -d @$(( $(date +%s) + 1800 )) +%H:%M)"
setup_gateway "[household]
parents = root
gateway-interfaces = lan0
default-profile = year9
[group year3]
age = 7
devices = 02:00:00:00:03:01
quiet-hours = $window
[group year9]
age = 14
devices = 10.42.9.0/24"
use_test_addresses 192.0.2.90 192.0.2.91
start_listener --tcp 443 192.0.2.90 192.0.2.91

add_device tablet 02:00:00:00:03:01 10.42.3.1
add_device laptop 02:00:00:00:09:01 10.42.9.1

# The tablet: quiet.
dig_from tablet "$GW_LAN_V4" example.org
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "a name in quiet hours was not NXDOMAIN"; }
case "$(dig_ede)" in *quiet*) ;; *) _dig_context; fail "the answer does not name the quiet hours: $(dig_ede)" ;; esac
connect_from tablet no tcp 192.0.2.91 443
dig_from tablet "$GW_LAN_V4" "$HELPLINE" A
assert_resolved 192.0.2.90
connect_from tablet ok tcp 192.0.2.90 443
connect_from tablet no tcp 192.0.2.91 443

# The laptop, in year 9: not quiet.
dig_from laptop "$GW_LAN_V4" example.org
assert_resolved
connect_from laptop ok tcp 192.0.2.91 443
log "year 3's quiet hours hold for its tablet in the kernel, helplines first; year 9's laptop is free"
