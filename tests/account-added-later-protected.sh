#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the parents list Robin's account in the household file
# before the account exists (the new laptop's account is made later, or
# comes from the school's directory).  trellisd starts without it.  When
# the account is added (useradd, which replaces /etc/passwd), Robin is
# protected within seconds: the kernel queues the account's DNS, a denied
# name is blocked with its rule, and trellisd knows the account as Robin
# on the bus; no restart, no `trellis policy apply`.  When the account is
# removed, its uid is no longer queued.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
LATE_ACCOUNT="trt-${TEST_ID}-l"
getent passwd "$LATE_ACCOUNT" >/dev/null && fail "$LATE_ACCOUNT exists already"
setup_stack --bus --line "" --line "[child robin]" --line "age = 12" \
  --line "accounts = $LATE_ACCOUNT" --line "deny = example-game.com"
robin_deny_line=$(grep -n '^deny = example-game.com$' "$HOUSEHOLD" | cut -d: -f1)
grep -q "account $LATE_ACCOUNT does not exist" "$TRELLISD_LOG" \
  || fail "trellisd did not say that $LATE_ACCOUNT does not exist yet"
pid_at_start=$TRELLISD_PID
reloads_at_start=$(grep -c 'household reloaded' "$TRELLISD_LOG" || true)

# protected_uids: the uids in the kernel's protected-uids set, one a line.
protected_uids ()
{
  in_client nft -j list set inet trellis protected-uids 2>/dev/null | "$PYTHON3" -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        print(e)'
}

# uid_queued UID: the kernel's set holds UID (a condition for wait_until).
uid_queued ()
{
  protected_uids | grep -qx "$1"
}

uid_not_queued ()
{
  ! uid_queued "$1"
}

# Sam is protected from the start.
protected_uids | grep -qx "$CHILD_UID" || fail "Sam's uid is not in the kernel's set"
dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"

# The account appears.
ensure_account "$LATE_ACCOUNT" || fail "could not create $LATE_ACCOUNT"
LATE_UID=$(id -u "$LATE_ACCOUNT")
LATE_GID=$(id -g "$LATE_ACCOUNT")
as_late ()
{
  as_uid "$LATE_UID" "$LATE_GID" "$@"
}
wait_until 10 uid_queued "$LATE_UID" \
  || fail "the new account's uid $LATE_UID is not queued within 10 s of useradd"
grep -q 'the accounts changed: protecting 2 account(s)' "$TRELLISD_LOG" \
  || fail "trellisd did not say that it protects the new account"

dig_as late "$UPSTREAM_V4" example-game.com
assert_blocked "deny example-game.com ($(basename "$HOUSEHOLD"):$robin_deny_line)"
assert_upstream_never_saw example-game.com
dig_as late "$UPSTREAM_V4" wikipedia.org
assert_resolved
trellis_as late status --json
expect_cli_rc 0
json_check 'j["name"] == "robin"'

# Without a restart or an apply.
[ "$TRELLISD_PID" = "$pid_at_start" ] && trellisd_running || fail "trellisd was restarted"
[ "$(grep -c 'household reloaded' "$TRELLISD_LOG" || true)" = "$reloads_at_start" ] \
  || fail "the household was reloaded"

# The account goes: its uid is no longer queued.
flock "$ACCOUNTS_LOCK" userdel "$LATE_ACCOUNT" || fail "userdel $LATE_ACCOUNT failed"
wait_until 10 uid_not_queued "$LATE_UID" \
  || fail "the removed account's uid $LATE_UID is still queued 10 s after userdel"
protected_uids | grep -qx "$CHILD_UID" || fail "Sam's uid left the kernel's set"
dig_as_child "$UPSTREAM_V4" example-game.com
assert_blocked "$(deny_rule_text example-game.com)"

trellisd_running || fail "trellisd is no longer running"
log "PASS: an account added after start is protected without a restart or an apply"
