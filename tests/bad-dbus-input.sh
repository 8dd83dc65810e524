#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a curious (or hostile) program on a child's account talks to
# trellisd directly on the system bus with nonsense: wrong argument types,
# a 100 KB name and message, a child that does not exist, negative and
# enormous durations, request id 0.  Each gets a clear D-Bus error, nothing
# changes, and trellisd still answers an ordinary call afterwards and still
# filters.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
command -v dbus-send >/dev/null 2>&1 || skip "needs 'dbus-send'"
setup_stack --bus

# send_as WHO METHOD TYPED-ARGS...: dbus-send with explicit types (so the
# types can be wrong, which gdbus would not send).  Sets GDBUS_OUT, GDBUS_RC.
send_as ()
{
  local who=$1 method=$2
  shift 2
  GDBUS_DESC="dbus-send $method $* (as $who)"
  GDBUS_RC=0
  GDBUS_OUT=$("as_$who" dbus-send --system --print-reply --reply-timeout=10000 \
              --dest=org.trellis.Trellis1 /org/trellis/Trellis1 \
              "org.trellis.Trellis1.$method" "$@" 2>&1) || GDBUS_RC=$?
}

# wrong types and wrong numbers of arguments
send_as child GetLog uint32:42 string:sam
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as child GetStatus
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as child Ask string:example-game.com
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as parent Approve string:1 int64:60
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as child NoSuchMethod
expect_gdbus_error org.freedesktop.DBus.Error.UnknownMethod

# 100 KB strings
big=$(head -c 100000 /dev/zero | tr '\0' a)
gdbus_as child Ask "$big.com" "hello"
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
gdbus_as child Ask example-game.com "$big"
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
gdbus_as child Why "" "$big" ""
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
gdbus_as parent GetLog "$big" 0 0
expect_gdbus_error .Error.
gdbus_as child ListRequests ""
expect_gdbus_ok
case "$GDBUS_OUT" in *aaaaaaaa*) fail "a refused request was stored: ${GDBUS_OUT:0:200}";; esac

# an empty name, and a name that is not a DNS name
gdbus_as child Ask "" "x"
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs

# a child that does not exist
gdbus_as parent GetLog nobody 0 0
expect_gdbus_error org.trellis.Trellis1.Error.NotFound
gdbus_as parent Pause nobody 60
expect_gdbus_error org.trellis.Trellis1.Error.NotFound

# negative, zero and enormous durations; request id 0 and unknown ids
send_as parent Pause string:sam int64:-60
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as parent Pause string:sam int64:0
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as parent Pause string:sam int64:9223372036854775807
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as parent Approve uint32:1 int64:-1
expect_gdbus_error .Error.
send_as parent Approve uint32:0 int64:60
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
send_as parent Decline uint32:4000000000 string:no
expect_gdbus_error org.trellis.Trellis1.Error.NotFound

# the CLI refuses bad durations and ids itself, exit 2
trellis_as parent pause sam --for -5m
expect_cli_rc 2
trellis_as parent pause sam --for soon
expect_cli_rc 2
trellis_as parent approve -- -3
expect_cli_rc 2
trellis_as parent approve abc
expect_cli_rc 2

# nothing changed: not paused, still filtered, and trellisd answers
gdbus_as child GetStatus ""
expect_gdbus_ok
trellis_as child status --json
expect_cli_rc 0
json_check 'j["paused_until"] == 0'
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"

trellisd_running || fail "trellisd is no longer running"
log "PASS: bad D-Bus input gets clear errors and trellisd keeps working"
