# SPDX-License-Identifier: GPL-3.0-or-later
# notify-session.sh — a desktop session for one account, for the
# trellis-notify tests: an X server (Xvfb), a private session bus, a real
# notification daemon (dunst) on it, a dbus-monitor that records every
# org.freedesktop.Notifications.Notify call made on that bus, and the agent
# (trellis-notify) itself.  All of it runs in the client namespace, all but
# Xvfb as the account; every pid goes to track_pid, so the cleanup stops it.
# Needs common.sh (TEST_DIR, in_client, track_pid, fail, skip) and a system
# bus (start_system_bus) before start_notify_session.
#
#   require_notify_session          exit 77 naming the missing package
#   start_notify_session KEY UID GID
#       sets NOTIFY_MONITOR_<KEY> (the monitor's log) and NOTIFY_AGENT_LOG_<KEY>
#   notify_count KEY                how many Notify calls KEY's bus has seen
#   notify_wait KEY N [SECONDS]     wait until it has seen at least N
#   notify_summaries KEY            the summary of each, one a line
#   notify_log_all                  every session's Notify calls and agent log
#   notify_expect_count KEY N       KEY's bus has seen exactly N (else fail)
#   notify_expect_summary KEY LINE  LINE is the summary of KEY's last one

TRELLIS_NOTIFY=${TRELLIS_NOTIFY:-$TRELLIS_TOP_BUILDDIR/cli/trellis-notify}
_notify_keys=()

require_notify_session ()
{
  command -v Xvfb >/dev/null 2>&1 || skip "needs Xvfb (Debian package: xvfb)"
  command -v dunst >/dev/null 2>&1 || skip "needs a notification daemon (Debian package: dunst)"
  command -v dbus-daemon >/dev/null 2>&1 || skip "needs dbus-daemon (Debian package: dbus)"
  command -v dbus-monitor >/dev/null 2>&1 || skip "needs dbus-monitor (Debian package: dbus-bin)"
  command -v gdbus >/dev/null 2>&1 || skip "needs gdbus (Debian package: libglib2.0-bin)"
  [ -x "$TRELLIS_NOTIFY" ] || fail "$TRELLIS_NOTIFY is not built"
}

# _session_as UID GID DISPLAY BUS CMD...: CMD as UID in the client namespace
# with the session's environment.  exec'd all the way, so $! is CMD.
_session_as ()
{
  local uid=$1 gid=$2 display=$3 bus=$4
  shift 4
  exec ip netns exec "$NS_CLIENT" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    env -i HOME=/ PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C.UTF-8 \
    DISPLAY="$display" DBUS_SESSION_BUS_ADDRESS="$bus" \
    DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
    XDG_RUNTIME_DIR="$TEST_DIR/run-$uid" "$@"
}

# _file_has_line FILE ERE PID WHAT: FILE has a line matching ERE; fails the
# test if PID (WHAT) died first.
_file_has_line ()
{
  grep -qE -- "$2" "$1" 2>/dev/null && return 0
  kill -0 "$3" 2>/dev/null || { cat "$1" >&2 2>/dev/null; fail "$4 died at start"; }
  return 1
}

_wait_for_file_line ()
{
  local file=$1 pattern=$2 pid=$3 what=$4
  wait_until 10 _file_has_line "$file" "$pattern" "$pid" "$what" && return 0
  cat "$file" >&2 2>/dev/null
  fail "$what: no /$pattern/ in $file within 10 s"
}

start_notify_session ()
{
  local key=$1 uid=$2 gid=$3 dir display bus conf pid
  dir="$TEST_DIR/session-$key"
  mkdir -p "$dir" "$TEST_DIR/run-$uid"
  chown "$uid:$gid" "$dir" "$TEST_DIR/run-$uid"
  chmod 700 "$TEST_DIR/run-$uid"

  # The X server picks a free display and writes its number to fd 3.
  ip netns exec "$NS_CLIENT" Xvfb -displayfd 3 -nolisten tcp -ac -screen 0 640x480x24 \
    3>"$dir/display" 2>"$dir/xvfb.log" &
  pid=$!
  track_pid "$pid"
  _wait_for_file_line "$dir/display" '^[0-9]+$' "$pid" "Xvfb"
  display=":$(head -n1 "$dir/display")"

  # A session bus of the account's own, on a socket in its folder.
  conf="$dir/session-bus.conf"
  cat > "$conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$dir/bus</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOC
  chmod 644 "$conf"
  ( _session_as "$uid" "$gid" "$display" "" dbus-daemon --config-file="$conf" --nofork \
      --nopidfile --print-address=1 ) >"$dir/bus.address" 2>"$dir/bus.log" &
  pid=$!
  track_pid "$pid"
  _wait_for_file_line "$dir/bus.address" '^unix:' "$pid" "the session bus ($key)"
  bus="unix:path=$dir/bus"

  # The monitor first, so it sees every Notify.
  ( _session_as "$uid" "$gid" "$display" "$bus" dbus-monitor --session \
      "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" ) \
    >"$dir/monitor.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  # It prints NameLost for its own name once it has become a monitor.
  _wait_for_file_line "$dir/monitor.log" 'member=NameLost' "$pid" "dbus-monitor ($key)"

  # A real notification daemon, on the X display and the session bus.
  ( _session_as "$uid" "$gid" "$display" "$bus" dunst ) >"$dir/dunst.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  wait_until 10 _dunst_ready "$uid" "$gid" "$display" "$bus" "$pid" "$dir" \
    || fail "dunst ($key) did not own org.freedesktop.Notifications within 10 s"

  # The agent.
  ( _session_as "$uid" "$gid" "$display" "$bus" "$TRELLIS_NOTIFY" --verbose ) \
    >"$dir/agent.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  _wait_for_file_line "$dir/agent.log" '^trellis-notify: subscribed' "$pid" "trellis-notify ($key)"

  _notify_keys+=("$key")
  printf -v "NOTIFY_DIR_$key" '%s' "$dir"
  printf -v "NOTIFY_AGENT_PID_$key" '%s' "$pid"
}

_dunst_ready ()
{
  kill -0 "$5" 2>/dev/null || fail "dunst died at start: $(cat "$6/dunst.log")"
  _session_as_check "$1" "$2" "$3" "$4"
}

_session_as_check ()
{
  ( _session_as "$1" "$2" "$3" "$4" gdbus call --session --dest org.freedesktop.DBus \
      --object-path /org/freedesktop/DBus --method org.freedesktop.DBus.NameHasOwner \
      org.freedesktop.Notifications ) 2>/dev/null | grep -q true
}

_notify_dir ()
{
  local var="NOTIFY_DIR_$1"
  printf '%s' "${!var}"
}

notify_count ()
{
  grep -c 'member=Notify' "$(_notify_dir "$1")/monitor.log" 2>/dev/null || true
}

# notify_wait KEY N [SECONDS]: true when KEY's bus saw at least N Notify
# calls within SECONDS (default 5).
notify_wait ()
{
  wait_until "${3:-5}" _notify_count_at_least "$1" "$2"
}

_notify_count_at_least ()
{
  [ "$(notify_count "$1")" -ge "$2" ]
}

# notify_summaries KEY: the 4th argument (summary) of every Notify call.
notify_summaries ()
{
  awk '/member=Notify/ { n = 0; inside = 1; next }
       inside && /^   [a-z]/ { n++; if (n == 4) { s = $0; sub(/^   string "/, "", s); sub(/"$/, "", s); print s; inside = 0 } }' \
    "$(_notify_dir "$1")/monitor.log"
}

notify_log ()
{
  local dir
  dir=$(_notify_dir "$1")
  echo "----- $1: Notify calls seen -----" >&2
  cat "$dir/monitor.log" >&2
  echo "----- $1: trellis-notify log -----" >&2
  cat "$dir/agent.log" >&2
}

# notify_log_all: notify_log for every session the test started.
notify_log_all ()
{
  local key
  for key in ${_notify_keys[@]+"${_notify_keys[@]}"}; do
    notify_log "$key"
  done
}

# notify_expect_count KEY N: KEY's desktop has had exactly N notifications;
# else the test fails, with every session's log.
notify_expect_count ()
{
  local got
  got=$(notify_count "$1")
  if [ "$got" != "$2" ]; then
    notify_log_all
    fail "$1's desktop: expected $2 notification(s), saw $got"
  fi
}

# notify_expect_summary KEY LINE: LINE is the summary of KEY's last notification.
notify_expect_summary ()
{
  local got
  got=$(notify_summaries "$1" | tail -n1)
  if [ "$got" != "$2" ]; then
    notify_log_all
    fail "$1's desktop: expected the summary '$2', got '$got'"
  fi
}

# notify_session_run KEY UID GID CMD...: CMD as UID in KEY's session (its X
# display and session bus), e.g. dunstctl history.  Its output on stdout.
notify_session_run ()
{
  local key=$1 uid=$2 gid=$3 dir
  shift 3
  dir=$(_notify_dir "$key")
  ( _session_as "$uid" "$gid" ":$(head -n1 "$dir/display")" "unix:path=$dir/bus" "$@" )
}

# notify_bodies KEY: the first line of the 5th argument (body) of every Notify
# call, one a line, as dbus-monitor prints it.
notify_bodies ()
{
  awk '/member=Notify/ { n = 0; inside = 1; next }
       inside && /^   [a-z]/ { n++; if (n == 5) { s = $0; sub(/^   string "/, "", s); sub(/"$/, "", s); print s; inside = 0 } }' \
    "$(_notify_dir "$1")/monitor.log"
}
