#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: DNS-over-HTTPS.  A child's browser (or curl --doh-url) asks a
# DoH endpoint by name, or by a hard-coded https://ADDRESS/dns-query.
# Listed names are NXDOMAIN for the child (the shipped list, a test list,
# and UT1's 3,015-name doh category where the copy is at hand); their
# addresses are refused on 443, TCP and UDP (HTTP/3), IPv4 and IPv6: the
# addresses written in the data at once, and those of a listed name
# without any as soon as trellisd has resolved it itself.  An address
# written in the data is a resolver's own: every port of it but 53 is
# refused (some answer DNS on 443 and 5353).  A learned address may be
# shared with websites: its port 80 stays open, and so does 443 of an
# address that is no endpoint's.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

UT1_DOH=${TRELLIS_SHARED_DIR:-$TRELLIS_TOP_SRCDIR/../shared}/lists/ut1/doh/domains
[ -r "$UT1_DOH" ] || UT1_DOH=/work/shared/lists/ut1/doh/domains
UPSTREAM_EXTRA_ARGS=(--address=/learned.doh-test.example/192.0.2.54 --address=/learned.doh-test.example/2001:db8::54)
setup_stack --no-trellisd
data="$TEST_DIR/data"
cp -rL "$TRELLIS_DATA_DIR" "$data"
printf '%s\n' "dns.doh-test.example 192.0.2.53 2001:db8::53" "learned.doh-test.example" > "$data/doh/0-test"
ut1_names=()
if [ -r "$UT1_DOH" ]; then
  cp "$UT1_DOH" "$data/doh/ut1"
  mapfile -t ut1_names < <(grep -vE '^([0-9.]+|.*:.*)$' "$UT1_DOH" | awk 'NR % 600 == 1' | head -5)
  log "with UT1's doh list ($(wc -l < "$UT1_DOH") lines)"
else
  log "UT1's doh list is not here: the shipped and test lists only"
fi
chmod -R a+rX "$data"
TRELLIS_DATA_DIR=$data start_trellisd --resolver "$UPSTREAM_V4"
use_test_addresses 192.0.2.53 192.0.2.54 192.0.2.55 2001:db8::53 2001:db8::54
start_listener --tcp 443 --tcp 80 --udp 443 192.0.2.53 192.0.2.54 192.0.2.55 2001:db8::53 2001:db8::54

for name in dns.doh-test.example learned.doh-test.example dns.google cloudflare-dns.com "${ut1_names[@]}"; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  [ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "$name is a DoH endpoint but resolved for the child"; }
  dig_ede | grep -q 'integrity' || { _dig_context; fail "$name: not the integrity rule"; }
  dig_as_child "$UPSTREAM_V6" "$name" HTTPS
  [ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "$name HTTPS over IPv6 resolved for the child"; }
done

learned ()
{
  nft_set_has doh-learned-v4 192.0.2.54 && nft_set_has doh-learned-v6 2001:db8::54
}
wait_until 10 learned || fail "trellisd did not learn learned.doh-test.example's addresses within 10 s"

for addr in 192.0.2.53 2001:db8::53 192.0.2.54 2001:db8::54; do
  expect_connect parent ok tcp "$addr" 443
  expect_connect child no tcp "$addr" 443
  expect_connect child no udp "$addr" 443
done
for addr in 192.0.2.53 2001:db8::53; do
  expect_connect parent ok tcp "$addr" 80
  expect_connect child no tcp "$addr" 80
done
for addr in 192.0.2.54 2001:db8::54; do
  expect_connect child ok tcp "$addr" 80
done
expect_connect child ok tcp 192.0.2.55 443
log "PASS: DoH endpoints refused by name, by address on 443 (TCP, UDP; IPv4, IPv6), and a resolver's own address on every port but 53"
