# SPDX-License-Identifier: GPL-3.0-or-later
# system-bus.sh — a private system bus for one test, and running `trellis`
# as the child, a sibling or the parent.  Sourced by common.sh's
# start_system_bus; needs common.sh's TEST_DIR, track_pid and fail.
#
# The bus is a dbus-daemon of type "system" whose default policy is the
# real system bus's (no one owns names or sends method calls unless a
# file allows it) plus the project's own data/org.trellis.Trellis1.conf, so
# the tests exercise the bus policy we install.  It listens on a unix socket
# in the test dir that every account may connect to; its pid goes to
# track_pid, so the cleanup stops it.  DBUS_SYSTEM_BUS_ADDRESS is exported:
# trellisd, trellis and gdbus --system started afterwards use this bus.

SYSTEM_BUS_PID=
SYSTEM_BUS_CONF=
SYSTEM_BUS_SOCKET=

_system_bus_start ()
{
  local addr_file
  command -v dbus-daemon >/dev/null 2>&1 || skip "needs 'dbus-daemon' (not found in PATH)"
  command -v gdbus >/dev/null 2>&1 || skip "needs 'gdbus' (not found in PATH)"
  SYSTEM_BUS_SOCKET="$TEST_DIR/system_bus_socket"
  SYSTEM_BUS_CONF="$TEST_DIR/system-bus.conf"
  addr_file="$TEST_DIR/system-bus.address"
  cat > "$SYSTEM_BUS_CONF" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$SYSTEM_BUS_SOCKET</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <!-- For the tests (as root): the match rules each connection holds. -->
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <include>$TRELLIS_TOP_SRCDIR/data/org.trellis.Trellis1.conf</include>
</busconfig>
EOC
  : > "$addr_file"
  dbus-daemon --config-file="$SYSTEM_BUS_CONF" --nofork --nopidfile \
    --print-address=1 > "$addr_file" 2>"$TEST_DIR/system-bus.log" &
  SYSTEM_BUS_PID=$!
  track_pid "$SYSTEM_BUS_PID"
  wait_until 5 _system_bus_listening "$addr_file" \
    || fail "dbus-daemon (test system bus) did not listen within 5 s"
  # Every account may connect, as on the real system bus.
  chmod 666 "$SYSTEM_BUS_SOCKET"
  DBUS_SYSTEM_BUS_ADDRESS="unix:path=$SYSTEM_BUS_SOCKET"
  export DBUS_SYSTEM_BUS_ADDRESS
}

_system_bus_listening ()
{
  kill -0 "$SYSTEM_BUS_PID" 2>/dev/null \
    || fail "dbus-daemon (test system bus) died at start: $(cat "$TEST_DIR/system-bus.log")"
  [ -s "$1" ] && [ -S "$SYSTEM_BUS_SOCKET" ]
}

# trellisd_on_bus: org.trellis.Trellis1 has an owner on the test system bus.
trellisd_on_bus ()
{
  gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner org.trellis.Trellis1 2>/dev/null \
    | grep -q true
}

# wait_for_trellisd_on_bus: up to 10 s for org.trellis.Trellis1 to have an owner.
wait_for_trellisd_on_bus ()
{
  wait_until 10 trellisd_on_bus \
    || fail "trellisd did not take org.trellis.Trellis1 on the test system bus within 10 s"
}

# cli_output_has WHO ERE ARGS...: `trellis ARGS` as WHO succeeds and its
# output matches ERE (a condition for wait_until).
cli_output_has ()
{
  local who=$1 ere=$2
  shift 2
  trellis_as "$who" "$@"
  [ "$CLI_RC" = 0 ] && printf '%s\n' "$CLI_OUT" | grep -qE -- "$ere"
}

# wait_for_logged NAME...: up to 5 s for each NAME to be in the child's
# event log (trellis log --json as the child): the log is written as the
# query is answered, not before the answer.
wait_for_logged ()
{
  local name
  for name in "$@"; do
    wait_until 5 cli_output_has child "\"${name//./\\.}\"" log --json \
      || { _cli_context; fail "$name is not in the child's log within 5 s"; }
  done
}

# trellis_as WHO ARGS...: run the CLI as WHO (child, parent, sibling, root)
# in the client namespace.  Sets CLI_OUT (stdout), CLI_ERR (stderr), CLI_RC
# and CLI_DESC.
trellis_as ()
{
  local who=$1
  shift
  CLI_DESC="trellis $* (as $who)"
  CLI_RC=0
  CLI_OUT=$("as_$who" "$TRELLIS_CLI" "$@" 2>"$TEST_DIR/cli.err") || CLI_RC=$?
  CLI_ERR=$(cat "$TEST_DIR/cli.err")
}

_cli_context ()
{
  printf '%s\n' "---- $CLI_DESC: exit $CLI_RC ----" "$CLI_OUT" "---- stderr ----" "$CLI_ERR" >&2
}

# expect_cli_rc N: the last trellis_as exited with N.
expect_cli_rc ()
{
  if [ "$CLI_RC" != "$1" ]; then
    _cli_context
    fail "$CLI_DESC: expected exit $1, got $CLI_RC"
  fi
}

# expect_cli_output ERE / expect_cli_error ERE: stdout / stderr matches ERE.
expect_cli_output ()
{
  if ! printf '%s\n' "$CLI_OUT" | grep -qiE -- "$1"; then
    _cli_context
    fail "$CLI_DESC: the output does not match /$1/"
  fi
}

expect_no_cli_output ()
{
  if printf '%s\n' "$CLI_OUT" | grep -qiE -- "$1"; then
    _cli_context
    fail "$CLI_DESC: the output matches /$1/ and should not"
  fi
}

expect_cli_error ()
{
  if ! printf '%s\n' "$CLI_ERR" | grep -qiE -- "$1"; then
    _cli_context
    fail "$CLI_DESC: the error output does not match /$1/"
  fi
}

# json_check PYTHON-EXPR: CLI_OUT parses as JSON and PYTHON-EXPR (over the
# value "j") is true.  JSON_VALUE is set to the printed result of the
# expression when it is not a boolean.
json_check ()
{
  local expr=$1 out
  if ! out=$(printf '%s' "$CLI_OUT" | "$PYTHON3" -c '
import json, sys
j = json.load(sys.stdin)
r = eval(sys.argv[1])
if r is False or r is None:
    sys.exit(1)
print(r)' "$expr" 2>&1); then
    _cli_context
    fail "$CLI_DESC: the output is not JSON, or not ($expr): $out"
  fi
  JSON_VALUE=$out
}

# gdbus_as WHO METHOD ARGS...: call org.trellis.Trellis1.METHOD with gdbus as
# WHO.  Sets GDBUS_OUT (stdout and stderr) and GDBUS_RC.
gdbus_as ()
{
  local who=$1 method=$2
  shift 2
  GDBUS_DESC="gdbus call $method $* (as $who)"
  GDBUS_RC=0
  GDBUS_OUT=$("as_$who" gdbus call --system --dest org.trellis.Trellis1 \
              --object-path /org/trellis/Trellis1 \
              --method "org.trellis.Trellis1.$method" "$@" 2>&1) || GDBUS_RC=$?
}

# expect_gdbus_error ERROR-NAME: the last gdbus_as failed with ERROR-NAME.
expect_gdbus_error ()
{
  if [ "$GDBUS_RC" = 0 ] || ! printf '%s\n' "$GDBUS_OUT" | grep -qF -- "$1"; then
    printf '%s\n' "---- $GDBUS_DESC: exit $GDBUS_RC ----" "${GDBUS_OUT:0:2000}" >&2
    fail "$GDBUS_DESC: expected the error $1"
  fi
}

expect_gdbus_ok ()
{
  if [ "$GDBUS_RC" != 0 ]; then
    printf '%s\n' "---- $GDBUS_DESC: exit $GDBUS_RC ----" "${GDBUS_OUT:0:2000}" >&2
    fail "$GDBUS_DESC: expected success"
  fi
}
