#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# gateway-admin-log-report: a school's admin (a parents= account on the
# gateway) reads what the classroom's devices asked.  Devices behind a
# gateway namespace ask for blocked names; then, as the admin:
#   - trellis log --device MAC and --device ADDR show that device's blocks
#     only, each with its group, MAC and address (text and --json);
#   - trellis log --group year3 shows the class's devices, no other class;
#   - trellis report shows blocks per group and category, and names no site
#     and no device; --since bounds the period.
# Sam (a child with an account and a laptop behind the gateway) sees his
# account's blocks in trellis log, never his laptop's: a device's log is
# the parents' only.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
gateway_before_trellisd () { start_system_bus; }

gambling=$(grep -v -E '^[[:space:]]*(#|$)' "$TRELLIS_DATA_DIR/categories/gambling/domains" | head -1)
[ -n "$gambling" ] || fail "no gambling name in the shipped data"

setup_gateway "[household]
parents = $PARENT_ACCOUNT
gateway-interfaces = lan0
default-profile = visitors
[group year3]
age = 7
devices = 02:00:00:00:03:10; 02:00:00:00:03:11
deny = year3-game.example
[group year5]
age = 10
devices = 10.42.5.0/24
deny = year5-game.example
[child sam]
age = 11
accounts = $CHILD_ACCOUNT
devices = 02:00:00:00:11:01
[group visitors]
age = 12
devices = 10.42.200.0/24"
wait_for_trellisd_on_bus

add_device tablet1 02:00:00:00:03:10   # year3, by MAC, DHCP
add_device tablet2 02:00:00:00:03:11   # year3, by MAC, DHCP
add_device pc5 02:00:00:00:05:20 10.42.5.20   # year5, by address
add_device laptop 02:00:00:00:11:01    # sam's laptop
t1=$(device_addr tablet1)
t2=$(device_addr tablet2)

# What the devices ask: tablet1 twice through the gateway's resolver and
# once beyond it, tablet2 a gambling site, pc5 its class's denied name,
# sam's laptop the same gambling site; sam's account one name too.
dig_from tablet1 "$GW_LAN_V4" year3-game.example
assert_blocked "deny year3-game.example (household.conf:8)"
dig_from tablet1 "$UPSTREAM_V4" year3-game.example
assert_blocked "deny year3-game.example (household.conf:8)"
dig_from tablet1 "$GW_LAN_V4" "$gambling"
assert_blocked "category gambling (age 6-8)"
dig_from tablet2 "$GW_LAN_V4" "$gambling"
assert_blocked "category gambling (age 6-8)"
dig_from tablet2 "$GW_LAN_V4" allowed.example
assert_resolved
dig_from pc5 "$UPSTREAM_V4" year5-game.example
assert_blocked "deny year5-game.example (household.conf:12)"
dig_from laptop "$GW_LAN_V4" "$gambling"
assert_blocked "category gambling (age 9-12)"
dig_as_child "$UPSTREAM_V4" "$gambling" A
assert_blocked "category gambling (age 9-12)"

# The admin: one device by its MAC.
wait_until 5 cli_output_has parent 'year3-game' log --device 02:00:00:00:03:10 \
  || { _cli_context; fail "tablet1's block is not in its log within 5 s"; }
trellis_as parent log --device 02:00:00:00:03:10
expect_cli_rc 0
expect_cli_output 'year3-game\.example'
expect_cli_output "year3, device 02:00:00:00:03:10 ${t1//./\\.}"
expect_cli_output "$gambling"
expect_no_cli_output '02:00:00:00:03:11'
expect_no_cli_output 'year5-game'
echo "--- trellis log --device 02:00:00:00:03:10 (as the admin) ---"
printf '%s\n' "$CLI_OUT"

# JSON; the other tablet by its address.
trellis_as parent log --device 02:00:00:00:03:10 --json
expect_cli_rc 0
json_check 'j["blocked"] == 3 and len(j["events"]) == 2 and all(e["mac"] == "02:00:00:00:03:10" and e["group"] == "year3" for e in j["events"])'
json_check "sorted(e[\"count\"] for e in j[\"events\"]) == [1, 2]"
trellis_as parent log --device "$t2" --json
expect_cli_rc 0
json_check "len(j[\"events\"]) == 1 and j[\"events\"][0][\"address\"] == \"$t2\" and j[\"events\"][0][\"name\"] == \"$gambling\""
trellis_as parent log --device 02-00-00-00-03-10 --json
expect_cli_rc 0
json_check 'j["blocked"] == 3'
trellis_as parent log --device 02:00:00:00:03:1A
expect_cli_rc 0
expect_cli_output 'Nothing in the log'

# The class: both tablets, and no other class.
trellis_as parent log --group year3 --json
expect_cli_rc 0
json_check 'len(j["events"]) == 3 and {e["mac"] for e in j["events"]} == {"02:00:00:00:03:10", "02:00:00:00:03:11"}'
trellis_as parent log --group year5
expect_cli_rc 0
expect_cli_output 'year5-game\.example'
expect_cli_output 'device 02:00:00:00:05:20 10\.42\.5\.20'
expect_no_cli_output 'year3'
trellis_as parent log --group nosuchclass
expect_cli_rc 2
[ -n "$CLI_ERR" ] || fail "an unknown group: no error message"

# The report: counts per group and category, no site, no device.
trellis_as parent report
expect_cli_rc 0
echo "--- trellis report (as the admin) ---"
printf '%s\n' "$CLI_OUT"
expect_cli_output 'year3 +gambling +2 blocks, on 2 devices'
expect_cli_output "year3 +\\(the household's own rules\\) +2 blocks, on 1 device"
expect_cli_output 'year5 .* 1 block, on 1 device'
expect_cli_output 'sam +gambling +2 blocks, on 1 device'
expect_no_cli_output 'game\.example'
expect_no_cli_output "$gambling"
expect_no_cli_output '02:00:00'
expect_no_cli_output '10\.42\.'
trellis_as parent report --since 1 --json
expect_cli_rc 0
json_check 'j["days"] == 1 and sum(c["blocked"] for c in j["counts"]) == 7'
json_check 'all(set(c) == {"group", "kind", "category", "entries", "blocked", "devices"} for c in j["counts"])'
json_check '{c["kind"] for c in j["counts"]} == {"group", "child"}'

# Sam sees his account's block, and not what his laptop asked.
trellis_as child log --json
expect_cli_rc 0
json_check 'len(j["events"]) == 1 and j["blocked"] == 1 and "mac" not in j["events"][0]'
# The parents see both under his name.
trellis_as parent log --child sam --json
expect_cli_rc 0
json_check 'j["blocked"] == 2'

trellisd_running || fail "trellisd is no longer running"
log "the admin reads one device's log, a class's log, and a report with no names"
