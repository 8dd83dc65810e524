#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# device-log-child-refused: what a gateway's devices asked is the
# parents' only.  A child (an account on the gateway) who calls
# GetDeviceLog or GetReport over D-Bus, or trellis log --device/--group or
# trellis report, is refused, whatever it names; GetLog of a class is
# refused too.  Bad devices and periods, from the command line or over the
# bus, get a clear error; nothing changes and trellisd stays up and keeps
# logging.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
gateway_before_trellisd () { start_system_bus; }

setup_gateway "[household]
parents = $PARENT_ACCOUNT
gateway-interfaces = lan0
default-profile = visitors
[group year3]
age = 7
devices = 02:00:00:00:03:10
deny = year3-game.example
[child sam]
age = 11
accounts = $CHILD_ACCOUNT
[group visitors]
age = 12
devices = 10.42.200.0/24"
wait_for_trellisd_on_bus

add_device tablet 02:00:00:00:03:10
dig_from tablet "$GW_LAN_V4" year3-game.example
assert_blocked "deny year3-game.example (household.conf:8)"
wait_until 5 cli_output_has parent 'year3-game' log --group year3 \
  || { _cli_context; fail "the tablet's block is not in year3's log within 5 s"; }

# The child, over the bus.
for args in "'' '02:00:00:00:03:10' 0 0" "'year3' '' 0 0" "'sam' '' 0 0" "'' '$(device_addr tablet)' 0 0"; do
  eval "gdbus_as child GetDeviceLog $args"
  expect_gdbus_error org.freedesktop.DBus.Error.AccessDenied
done
gdbus_as child GetReport 7
expect_gdbus_error org.freedesktop.DBus.Error.AccessDenied
gdbus_as child GetLog year3 0 0
expect_gdbus_error org.freedesktop.DBus.Error.AccessDenied
# Its own log has nothing of the tablet's.
gdbus_as child GetLog '' 0 0
expect_gdbus_ok
printf '%s' "$GDBUS_OUT" | grep -q 'year3-game' && fail "the child's own log shows a device's block"

# The child, from the command line: refused, in words.
trellis_as child log --device 02:00:00:00:03:10
expect_cli_rc 2
expect_cli_error 'parents'
expect_no_cli_output 'year3-game'
trellis_as child log --group year3
expect_cli_rc 2
expect_no_cli_output 'year3-game'
trellis_as child report
expect_cli_rc 2
expect_cli_error 'parents'

# Bad devices from the admin: a clear error, before and at the bus.
for bad in 'zz' '02:00:00:00:03' '10.42.0.0/16' '300.1.1.1' 'fd42::/64' '02:00:00:00:03:10; rm -rf /'; do
  trellis_as parent log --device "$bad"
  expect_cli_rc 2
  expect_cli_error 'not a device|a range, not one device'
  gdbus_as parent GetDeviceLog '' "$bad" 0 0
  expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
done
trellis_as parent log --device "$(printf 'ab\033[2Jcd')"
expect_cli_rc 2
printf '%s' "$CLI_ERR" | grep -q $'\033' && fail "a control character of the device reached the terminal"
gdbus_as parent GetDeviceLog '' "$(head -c 10000 /dev/zero | tr '\0' a)" 0 0
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
gdbus_as parent GetDeviceLog '' '' 0 0
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
for days in 0 366 4294967295; do
  gdbus_as parent GetReport "$days"
  expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
done
for since in 0 366 -1 7x ''; do
  trellis_as parent report --since "$since"
  expect_cli_rc 2
  expect_cli_error 'since takes a number of days'
done
trellis_as parent log --device 02:00:00:00:03:10 --child sam
expect_cli_rc 2

# Nothing changed: trellisd is up, still decides and logs per device.
trellisd_running || fail "trellisd died after bad calls"
dig_from tablet "$UPSTREAM_V4" year3-game.example
assert_blocked "deny year3-game.example (household.conf:8)"
trellis_as parent log --device 02:00:00:00:03:10 --json
expect_cli_rc 0
json_check 'j["blocked"] == 2 and j["events"][0]["group"] == "year3"'
log "a device's log and the report are the parents' only; bad devices are refused in words"
