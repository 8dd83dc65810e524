#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the household lives in Kiritimati (UTC+14) and Sam's bedtime
# is now, there.  Quiet hours hold in the kernel: Sam's new connections are
# refused (IPv4 and IPv6, TCP and UDP), whatever zone Sam's session says,
# and Sam's DNS is answered NXDOMAIN with the quiet-hours rule.  The parent
# is not touched.  Alex, whose quiet hours are written for the same clock
# time read in UTC (which is not the household's zone), is not quiet now:
# the zone that counts is the household's, not the kernel's nor anyone's
# session.  `trellis status` tells Sam until when quiet time lasts, in
# Sam's language.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

ZONE=Pacific/Kiritimati
# window DAY-AND-TIME: "Day HH:MM-HH:MM" from that minute for 30 minutes.
window ()
{
  local day=$1 start=$2 end=$3
  echo "$day $start-$end"
}
now=$(date +%s)
h_day=$(TZ=$ZONE date -d "@$now" +%a); h_start=$(TZ=$ZONE date -d "@$now" +%H:%M)
h_end=$(TZ=$ZONE date -d "@$((now + 1800))" +%H:%M)
u_day=$(TZ=UTC date -d "@$now" +%a); u_start=$(TZ=UTC date -d "@$now" +%H:%M)
u_end=$(TZ=UTC date -d "@$((now + 1800))" +%H:%M)

setup_stack --bus --second-child --no-trellisd \
  --line "quiet-hours = $(window "$h_day" "$h_start" "$h_end")" \
  --line "" --line "[child alex]" --line "age = 12" --line "accounts = $SIBLING_ACCOUNT" \
  --line "quiet-hours = $(window "$u_day" "$u_start" "$u_end")"
sed -i "s|^\[household\]|[household]\ntimezone = $ZONE|" "$HOUSEHOLD"
# The French catalog and locale, made here (nothing is installed).
mkdir -p "$TEST_DIR/mo/fr/LC_MESSAGES" "$TEST_DIR/locale"
msgfmt -o "$TEST_DIR/mo/fr/LC_MESSAGES/trellis.mo" "$TRELLIS_TOP_SRCDIR/po/fr.po"
localedef -i fr_FR -f UTF-8 "$TEST_DIR/locale/fr_FR.UTF-8" 2>/dev/null \
  || [ -d "$TEST_DIR/locale/fr_FR.UTF-8" ] || fail "cannot build the fr_FR.UTF-8 locale (package locales)"
chmod -R a+rX "$TEST_DIR/mo" "$TEST_DIR/locale"
# trellisd explains in the caller's language (Why): its catalogs too
export LOCPATH="$TEST_DIR/locale" TRELLIS_LOCALEDIR="$TEST_DIR/mo"
start_trellisd
wait_for_trellisd_on_bus
start_listener --tcp 80 --udp 4433 "$UPSTREAM_V4" "$UPSTREAM_V6"

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  expect_connect parent ok tcp "$server" 80
  expect_connect child no tcp "$server" 80
  expect_connect child no udp "$server" 4433
  # the session's zone changes nothing
  CONNECT_OUT=$(as_child env TZ=UTC "$PYTHON3" "$NET_CONNECT" tcp "$server" 80 2>&1) || true
  [ "$CONNECT_OUT" = refused ] || fail "with TZ=UTC the child reached $server: $CONNECT_OUT"
  expect_connect sibling ok tcp "$server" 80
done

dig_as_child "$UPSTREAM_V4" bedtime.example A
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "a quiet child's query was not NXDOMAIN"; }
dig_ede | grep -q "quiet-hours $h_day $h_start-$h_end" || { _dig_context; fail "the answer does not name the quiet hours"; }
assert_upstream_never_saw bedtime.example
dig_as_child "$UPSTREAM_V6" bedtime6.example AAAA
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "a quiet child's AAAA query over IPv6 was not NXDOMAIN"; }
dig_as sibling "$UPSTREAM_V4" awake.example A
assert_resolved

in_client nft list set inet trellis child-sam-quiet | grep -q '"' || fail "no quiet times in the kernel"

# Until when, in the child's words and language.
trellis_as child status
expect_cli_rc 0
expect_cli_output "^Quiet hours: $h_day $h_start-$h_end \(it is quiet time now, until $h_end: only helplines and allowed sites work\)$"
out=$(as_child env LC_ALL=fr_FR.UTF-8 LOCPATH="$TEST_DIR/locale" TRELLIS_LOCALEDIR="$TEST_DIR/mo" \
      "$TRELLIS_CLI" status 2>&1) || fail "trellis status in French failed: $out"
grep -qF "Heures calmes : $h_day $h_start-$h_end (c’est l’heure calme jusqu’à $h_end : seuls" <<<"$out" \
  || fail "trellis status in French does not say until when: $out"
trellis_as child why bedtime.example
expect_cli_output "It is quiet time until $h_end\. Helplines still work\."
out=$(as_child env LC_ALL=fr_FR.UTF-8 LOCPATH="$TEST_DIR/locale" TRELLIS_LOCALEDIR="$TEST_DIR/mo" \
      "$TRELLIS_CLI" why bedtime.example 2>&1) || true
grep -qF "$h_end" <<<"$out" && ! grep -q "It is quiet time" <<<"$out" \
  || fail "trellis why in French does not say until when, in French: $out"
trellis_as sibling status
expect_cli_output "^Quiet hours: .*\(not now\)$"
log "PASS: quiet hours in the household's zone, in the kernel, IPv4 and IPv6"
