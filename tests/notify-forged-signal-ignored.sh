#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: any local account can send a signal to any connection on the
# system bus, naming trellisd's path and interface.  Another account on the
# machine (and Sam, the child, too) sends the parent's agent a look-alike
# RequestChanged ("sam asks to open evil.example") and Sam's agent a
# look-alike Blocked, straight to each agent's connection with gdbus emit
# --dest.  Neither desktop shows anything: the agents take signals only
# from the connection that owns org.trellis.Trellis1 (with GLib before
# 2.78.5, CVE-2024-34397, GDBus itself does not check that for unicast
# signals subscribed by well-known name).  Real signals from trellisd are
# still shown, also from a restarted trellisd, which has a new unique
# name; the forgeries are still ignored after it.
#
# Debian 12's GLib carries the fix for CVE-2024-34397 (2.74.6-2+deb12u1 and
# later), so there GDBus drops the forgeries too, whatever the agent asks
# for.  That the agent does not depend on it is shown by the match rules
# the bus holds for it: they name trellisd's unique name, never the
# well-known name a GLib without the fix would trust any sender for.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/notify-session.sh"

require_root_and_netns
require_notify_session
# --second-child: another local account, in no section of the household.
setup_stack --bus --second-child
start_notify_session sam "$CHILD_UID" "$CHILD_GID"
start_notify_session parent "$PARENT_UID" "$PARENT_GID"

# bus_name_of PID: the unique name of PID's connection to the system bus.
bus_name_of ()
{
  local pid=$1 name
  for name in $(gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
                  --method org.freedesktop.DBus.ListNames | grep -oE "':[0-9.]+'" | tr -d "'"); do
    if gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
         --method org.freedesktop.DBus.GetConnectionUnixProcessID "$name" 2>/dev/null \
         | grep -qE "^\(uint32 $pid,\)$"; then
      echo "$name"
      return 0
    fi
  done
  return 1
}

sam_agent=$(bus_name_of "$NOTIFY_AGENT_PID_sam") || fail "Sam's agent is not on the system bus"
parent_agent=$(bus_name_of "$NOTIFY_AGENT_PID_parent") || fail "the parent's agent is not on the system bus"
log "agents: sam $sam_agent, parent $parent_agent"

# expect_rules_on_owner: every match rule of both agents for trellisd's
# signals names the current owner of org.trellis.Trellis1, by unique name.
expect_rules_on_owner ()
{
  local owner rules
  owner=$(gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus             --method org.freedesktop.DBus.GetNameOwner org.trellis.Trellis1 | grep -oE ":[0-9.]+")
  rules=$(gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus             --method org.freedesktop.DBus.Debug.Stats.GetAllMatchRules 2>&1) \
    || fail "cannot read the bus's match rules: $rules"
  printf '%s' "$rules" | "$PYTHON3" -c '
import ast, sys
text = sys.stdin.read().strip()
rules = ast.literal_eval(text.replace("@as []", "[]"))[0]
owner = sys.argv[1]
for agent in sys.argv[2:]:
    mine = [r for r in rules.get(agent, []) if "interface=%r" % "org.trellis.Trellis1" in r]
    if len(mine) < 2:
        sys.exit("%s holds no match rules for trellisd signals: %r" % (agent, rules.get(agent)))
    for r in mine:
        if "sender=%r" % owner not in r:
            sys.exit("%s: the rule %r does not name the owner %s" % (agent, r, owner))
' "$owner" "$sam_agent" "$parent_agent" || { notify_log_all; fail "an agent listens to trellisd's signals by well-known name"; }
}
expect_rules_on_owner

# forge WHO: WHO sends both look-alikes; each must reach its agent's
# connection (gdbus emit succeeds) and be shown nowhere.
forge ()
{
  local who=$1 out
  out=$("as_$who" gdbus emit --system --dest "$parent_agent" --object-path /org/trellis/Trellis1 \
          --signal org.trellis.Trellis1.RequestChanged \
          "uint32 99" sam evil.example pending "forged by $who" 2>&1) \
    || fail "gdbus emit RequestChanged as $who failed: $out"
  out=$("as_$who" gdbus emit --system --dest "$sam_agent" --object-path /org/trellis/Trellis1 \
          --signal org.trellis.Trellis1.Blocked \
          sam evil.example deny "forged by $who" "int64 0" 2>&1) \
    || fail "gdbus emit Blocked as $who failed: $out"
}

expect_no_forgery_shown ()
{
  if grep -q 'forged by' "$(_notify_dir parent)/monitor.log" "$(_notify_dir sam)/monitor.log"; then
    notify_log_all
    fail "a forged signal reached a notification"
  fi
}

# 1. Another account, then Sam, forge; then trellisd's real signals follow.
#    Each agent reads its connection in order: a forgery it let through
#    would be shown before the real signal sent after it, so once the real
#    one shows, nothing else may have.
forge sibling
forge child
dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"
notify_wait sam 1 5 || { notify_log_all; fail "no notification of Sam's block within 5 s"; }
[ "$(notify_summaries sam)" = "example-game.com is blocked." ] \
  || { notify_log_all; fail "Sam's notification is not the block of example-game.com"; }
gdbus_as child Ask example-game.com "for school"
expect_gdbus_ok
notify_wait parent 1 5 || { notify_log_all; fail "no notification of Sam's request within 5 s"; }
[ "$(notify_summaries parent)" = "A request from sam" ] \
  || { notify_log_all; fail "the parent's notification is not Sam's request"; }
expect_no_forgery_shown

# 2. While trellisd is away, and after it comes back under a new unique
#    name: forgeries ignored, real signals shown (after them, as above).
stop_trellisd
forge sibling
start_trellisd
wait_for_trellisd_on_bus
for key in sam parent; do
  wait_until 10 log_has_more "$(_notify_dir "$key")/agent.log" '^trellis-notify: subscribed' 1 \
    || { notify_log_all; fail "$key's agent did not subscribe again after trellisd restarted"; }
done
expect_rules_on_owner
forge sibling
gdbus_as child Ask casino.example "and this one"
expect_gdbus_ok
notify_wait parent 2 5 || { notify_log_all; fail "no notification from the restarted trellisd within 5 s"; }
notify_expect_count parent 2
notify_expect_summary parent "A request from sam"
# Another name: Sam's agent shows one notification per name per minute.
dig_as_child "$UPSTREAM_V4" casino.example
assert_blocked "$(deny_rule_text casino.example)"
notify_wait sam 2 5 || { notify_log_all; fail "no notification of Sam's block from the restarted trellisd within 5 s"; }
notify_expect_count sam 2
notify_expect_summary sam "casino.example is blocked."
expect_no_forgery_shown

log "PASS: look-alike signals from other connections are ignored; trellisd's are shown"
