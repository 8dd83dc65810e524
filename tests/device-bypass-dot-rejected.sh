#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# device-bypass-dot-rejected: a device behind the gateway cannot take its
# DNS around the filter by DNS-over-TLS (853/tcp) or DNS-over-QUIC
# (853/udp), whether it is listed or unknown, IPv4 or IPv6; another port
# of the same server stays open.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

setup_gateway "[household]
parents = root
gateway-interfaces = lan0
default-profile = visitors
[group year9]
age = 14
devices = 02:00:00:00:09:01
[group visitors]
age = 12
devices = 10.42.200.0/24"
use_test_addresses 192.0.2.53 2001:db8::53
start_listener --tcp 853 --udp 853 --tcp 8853 192.0.2.53 2001:db8::53

add_device pupil 02:00:00:00:09:01 10.42.9.1
add_device stranger 02:00:00:00:77:77 10.42.77.7
add_device pupil6 02:00:00:00:09:02 fd42::9:2

for d in pupil stranger; do
  connect_from "$d" no tcp 192.0.2.53 853
  connect_from "$d" no udp 192.0.2.53 853
  connect_from "$d" ok tcp 192.0.2.53 8853
done
connect_from pupil6 no tcp 2001:db8::53 853
connect_from pupil6 no udp 2001:db8::53 853
connect_from pupil6 ok tcp 2001:db8::53 8853
# The gateway itself (not a device) is not filtered.
out=$(in_client "$PYTHON3" "$NET_CONNECT" tcp 192.0.2.53 853 2>&1) || true
[ "$out" = ok ] || fail "the gateway's own connection to 853 was refused: $out"
log "DoT and DoQ refused for every device, IPv4 and IPv6"
