#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam tries a site the parents blocked and a notification on
# Sam's desktop says so, why, and how to find out more ("trellis why").
# Robin, Sam's sibling, logged in on another desktop, hears nothing about
# Sam's browsing (privacy even from family, GC25 §77): trellisd unicasts its
# signals to the child's and the parents' agents only.  And the other way
# round.  Five tries of the same blocked name make one notification, and
# no more than three go out in a minute.  During quiet hours only the first
# block is told, as "off during quiet hours" and until when.  When trellisd
# restarts, the agents subscribe again.  A parent's agent shows Sam's
# request to look at a site again, and never Sam's blocks.
#
# Each account has its own X server (Xvfb), session bus and real
# notification daemon (dunst); a dbus-monitor on each session bus records
# the exact Notify calls trellis-notify makes, and those are checked.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/notify-session.sh"

require_root_and_netns
require_notify_session
DENY="example-game.com;casino.example;one.example;two.example" setup_stack --bus --second-child \
  --line "" --line "[child robin]" --line "age = 12" --line "accounts = $SIBLING_ACCOUNT" \
  --line "deny = example-game.com;casino.example"

start_notify_session sam "$CHILD_UID" "$CHILD_GID"
start_notify_session robin "$SIBLING_UID" "$SIBLING_GID"
start_notify_session parent "$PARENT_UID" "$PARENT_GID"

# expect_text KEY TEXT: TEXT is somewhere in KEY's notifications.
expect_text ()
{
  if ! grep -qF -- "$2" "$(_notify_dir "$1")/monitor.log"; then
    notify_log_all
    fail "$1's desktop: no notification says '$2'"
  fi
}

# what trellisd says about example-game.com for Sam (the Why method)
gdbus_as child Why "" example-game.com ""
expect_gdbus_ok
explanation=$(printf '%s\n' "$GDBUS_OUT" | "$PYTHON3" -c '
import ast, sys
t = sys.stdin.read().strip().replace("(true,", "(True,", 1)
print(ast.literal_eval(t)[2])')
[ -n "$explanation" ] || fail "Why gave no explanation: $GDBUS_OUT"

# 1. Sam digs a denied name: Sam's desktop says so; Robin's and the parent's do not.
dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"
notify_wait sam 1 5 || { notify_log_all; fail "no notification on Sam's desktop within 5 s"; }
notify_expect_summary sam "example-game.com is blocked."
expect_text sam "$explanation"
expect_text sam "Type “trellis why example-game.com” to see why."
# Time must pass: what is checked next is that nothing more arrives.
sleep 3
notify_expect_count sam 1
notify_expect_count robin 0
notify_expect_count parent 0

# 2. Robin digs it: Robin's desktop, and nothing new on Sam's.
dig_as sibling "$UPSTREAM_V4" example-game.com
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "example-game.com is not blocked for Robin"; }
notify_wait robin 1 5 || { notify_log_all; fail "no notification on Robin's desktop within 5 s"; }
notify_expect_summary robin "example-game.com is blocked."
# Time must pass: what is checked next is that nothing more arrives.
sleep 3
notify_expect_count robin 1
notify_expect_count sam 1
notify_expect_count parent 0
# Not just held back by the agent: the bus never brought Robin's agent
# Sam's signal, nor Sam's agent Robin's.
for key in sam robin; do
  n=$(grep -c '^trellis-notify: signal Blocked' "$(_notify_dir "$key")/agent.log" || true)
  [ "$n" = 1 ] || { notify_log_all; fail "$key's agent received $n Blocked signals, expected only its own 1"; }
done

# 3. Rate limit: five tries of one name make one notification.  trellisd
#    signals a name at most once in 10 s, and the agent shows it at most once
#    a minute: either may be what held the repeats back, never neither.
for i in 1 2 3 4 5; do
  dig_as_child "$UPSTREAM_V4" casino.example
  assert_blocked "$(deny_rule_text casino.example)"
done
notify_wait sam 2 5 || { notify_log_all; fail "no notification for casino.example within 5 s"; }
# Time must pass: what is checked next is that nothing more arrives.
sleep 3
notify_expect_count sam 2
notify_expect_summary sam "casino.example is blocked."
signalled=$(grep -c '^trellis-notify: signal Blocked' "$(_notify_dir sam)/agent.log" || true)
held=$(grep -c 'not shown (casino.example was shown' "$(_notify_dir sam)/agent.log" || true)
if [ "$signalled" != 2 ] && [ "$held" -lt 1 ]; then
  notify_log_all
  fail "the repeated casino.example was neither coalesced by trellisd ($signalled signals) nor held back by the agent"
fi

# 4. At most three a minute: a third name shows, a fourth does not.
dig_as_child "$UPSTREAM_V4" one.example
notify_wait sam 3 5 || { notify_log_all; fail "no notification for one.example within 5 s"; }
notify_expect_summary sam "one.example is blocked."
dig_as_child "$UPSTREAM_V4" two.example
assert_blocked "$(deny_rule_text two.example)"
wait_until 5 grep -q 'not shown (3 notifications in the last minute)' "$(_notify_dir sam)/agent.log" \
  || { notify_log_all; fail "Sam's agent did not hold two.example back within 5 s"; }
notify_expect_count sam 3

# 5. Sam asks the parents to look at a name again: the parent's desktop shows
#    the request; Robin's stays quiet.
gdbus_as child Ask example-game.com "It is for school"
expect_gdbus_ok
notify_wait parent 1 5 || { notify_log_all; fail "no notification on the parent's desktop within 5 s"; }
notify_expect_summary parent "A request from sam"
expect_text parent "sam asks to open example-game.com: “It is for school”. Type “trellis requests” to answer."
# Time must pass: what is checked next is that nothing more arrives.
sleep 2
notify_expect_count parent 1
notify_expect_count robin 1

# 6. trellisd restarts: the agents subscribe again and go on working.
stop_trellisd
start_trellisd
for key in sam robin parent; do
  wait_until 10 log_has_more "$(_notify_dir "$key")/agent.log" '^trellis-notify: subscribed' 1 \
    || { notify_log_all; fail "$key's agent did not subscribe again after trellisd restarted"; }
done
dig_as sibling "$UPSTREAM_V4" casino.example
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "casino.example is not blocked for Robin"; }
notify_wait robin 2 5 || { notify_log_all; fail "no notification on Robin's desktop after trellisd restarted"; }
notify_expect_summary robin "casino.example is blocked."
notify_expect_count sam 3

# 7. Quiet hours: the first block says so and when they end; then silence,
#    even for a denied name.
from=$(date -u -d '-1 hour' +%H:%M)
to=$(date -u -d '+1 hour' +%H:%M)
DENY="example-game.com;casino.example;one.example;two.example" write_household \
  "quiet-hours = Mon-Sun $from-$to" \
  "" "[child robin]" "age = 12" "accounts = $SIBLING_ACCOUNT" "deny = example-game.com;casino.example"
sed -i "s/^\[household\]$/[household]\ntimezone = UTC/" "$HOUSEHOLD"
stop_trellisd
start_trellisd
wait_until 10 log_has_more "$(_notify_dir sam)/agent.log" '^trellis-notify: subscribed' 2 \
  || { notify_log_all; fail "Sam's agent did not subscribe again after the second restart"; }
dig_as_child "$UPSTREAM_V4" youtube.com
[ "$(dig_status)" = NXDOMAIN ] || { _dig_context; fail "youtube.com is not blocked during quiet hours"; }
notify_wait sam 4 5 || { notify_log_all; fail "no quiet-hours notification on Sam's desktop within 5 s"; }
notify_expect_summary sam "youtube.com is off during quiet hours."
expect_text sam "It opens again at $to."
dig_as_child "$UPSTREAM_V4" wikipedia.org
dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"
# Time must pass: what is checked next is that nothing more arrives.
sleep 3
notify_expect_count sam 4
notify_expect_count robin 2

# 8. The agents stop cleanly on SIGTERM.
for key in sam robin parent; do
  var="NOTIFY_AGENT_PID_$key"
  rc=0
  kill_pid "${!var}" TERM || rc=$?
  _untrack_pid "${!var}"
  [ "$rc" = 0 ] || { notify_log_all; fail "trellis-notify ($key) exited with $rc on SIGTERM"; }
done

log "PASS: notifications reach the child's own desktop only, rate-limited; the parent sees requests"
