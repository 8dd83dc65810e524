#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# device-bypass-doh-endpoint: a device behind the gateway cannot reach a
# known DNS-over-HTTPS endpoint on 443 (TCP, and UDP for HTTP/3): one
# written in the data with its address, and one listed by name only,
# whose address trellisd resolves itself.  Port 80 of the same address
# and 443 of another stay open; the endpoint's name is answered NXDOMAIN.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

UPSTREAM_EXTRA_ARGS=(--address=/learned.doh-test.example/192.0.2.54)
gateway_before_trellisd ()
{
  local data="$TEST_DIR/data"
  cp -rL "$TRELLIS_DATA_DIR" "$data"
  printf '%s\n' "dns.doh-test.example 192.0.2.53" "learned.doh-test.example" > "$data/doh/0-test"
  TRELLIS_DATA_DIR=$data
}
# trellisd resolves the listed names itself, from the gateway.
GW_TRELLISD_ARGS=(--resolver "$UPSTREAM_V4")
setup_gateway "[household]
parents = root
gateway-interfaces = lan0
default-profile = visitors
[group visitors]
age = 12
devices = 10.42.200.0/24"
use_test_addresses 192.0.2.53 192.0.2.54 192.0.2.55
start_listener --tcp 443 --udp 443 --tcp 80 192.0.2.53 192.0.2.54 192.0.2.55

add_device phone 02:00:00:00:77:01 10.42.77.1

connect_from phone no tcp 192.0.2.53 443
connect_from phone no udp 192.0.2.53 443
connect_from phone ok tcp 192.0.2.53 80
connect_from phone ok tcp 192.0.2.55 443
wait_until 10 nft_set_has doh-learned-v4 192.0.2.54 || fail "trellisd did not learn learned.doh-test.example's address"
connect_from phone no tcp 192.0.2.54 443
dig_from phone "$GW_LAN_V4" dns.doh-test.example
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "a DoH endpoint's name resolved for a device"; }
log "DoH endpoints refused for devices, by address and by name"
