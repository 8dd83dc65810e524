#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the family gets a second computer account for Sam, and later
# a new child, Robin, whose account already exists.  A parent lists them
# in the household file and runs `trellis policy apply`.  From that moment,
# without a restart, both accounts are protected: the kernel queues their
# DNS (UDP and TCP, IPv4 and IPv6), a denied name is blocked by the rule of
# their own section, and the network policy (DNS-over-TLS) holds for
# them.  Before the apply they were nobody's, and not touched.  A child
# who runs the apply is refused, and nothing changes.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/net.sh"

setup_stack --bus
SECOND_ACCOUNT="trt-${TEST_ID}-2"
ROBIN_ACCOUNT="trt-${TEST_ID}-r"
ensure_account "$SECOND_ACCOUNT" || fail "$SECOND_ACCOUNT exists already"
ensure_account "$ROBIN_ACCOUNT" || fail "$ROBIN_ACCOUNT exists already"
as_second () { as_uid "$(id -u "$SECOND_ACCOUNT")" "$(id -g "$SECOND_ACCOUNT")" "$@"; }
as_robin () { as_uid "$(id -u "$ROBIN_ACCOUNT")" "$(id -g "$ROBIN_ACCOUNT")" "$@"; }
pid_at_start=$TRELLISD_PID

protected_uids ()
{
  in_client nft -j list set inet trellis protected-uids 2>/dev/null | "$PYTHON3" -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        print(e)'
}

make_tls_cert
start_listener --tcp 853 --tls-cert "$TEST_DIR/tls.crt" --tls-key "$TEST_DIR/tls.key" "$UPSTREAM_V4"

# Before: the two accounts are nobody's.
for who in second robin; do
  dig_as "$who" "$UPSTREAM_V4" example-game.com A
  assert_resolved
  expect_connect "$who" ok --tls tcp "$UPSTREAM_V4" 853
done
protected_uids | grep -x "$(id -u "$SECOND_ACCOUNT")" >/dev/null && fail "the second account is queued before it is listed"

# The household names them: a second account for Sam, and Robin.
sed -i "s/^accounts = $CHILD_ACCOUNT\$/accounts = $CHILD_ACCOUNT;$SECOND_ACCOUNT/" "$HOUSEHOLD"
printf '%s\n' "" "[child robin]" "age = 12" "accounts = $ROBIN_ACCOUNT" "deny = robin-denied.example" >> "$HOUSEHOLD"
robin_line=$(grep -n '^deny = robin-denied.example$' "$HOUSEHOLD" | cut -d: -f1)

# A child cannot put it in force.
reloads=$(grep -c 'household reloaded' "$TRELLISD_LOG" || true)
trellis_as child policy apply
[ "$CLI_RC" != 0 ] || { _cli_context; fail "the child could apply the household"; }
sleep 1   # time for a reload that should not happen
[ "$(grep -c 'household reloaded' "$TRELLISD_LOG" || true)" = "$reloads" ] || fail "a child's apply reloaded the household"
dig_as second "$UPSTREAM_V4" still-open.example-game.com A
assert_resolved

# The parent does.
trellis_as parent policy apply
expect_cli_rc 0
wait_until 10 log_has_more "$TRELLISD_LOG" 'household reloaded: protecting 3 account' 0 \
  || fail "trellisd did not say it protects 3 accounts after the apply"
[ "$TRELLISD_PID" = "$pid_at_start" ] && trellisd_running || fail "trellisd was restarted"
for uid in "$CHILD_UID" "$(id -u "$SECOND_ACCOUNT")" "$(id -u "$ROBIN_ACCOUNT")"; do
  protected_uids | grep -x "$uid" >/dev/null || fail "uid $uid is not in the kernel's protected-uids after the apply"
done

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  for tcp in "" +tcp; do
    dig_as second "$server" "second${tcp}.example-game.com" A $tcp
    assert_blocked "$(deny_rule_text example-game.com)"
    dig_as robin "$server" "robin${tcp}.robin-denied.example" A $tcp
    assert_blocked "deny robin-denied.example ($(basename "$HOUSEHOLD"):$robin_line)"
    # Robin's rules are Robin's: Sam's deny is not Robin's
    dig_as robin "$server" example-game.com A $tcp
    assert_resolved
  done
done
for who in second robin; do
  expect_connect "$who" no --tls tcp "$UPSTREAM_V4" 853
done
assert_upstream_never_saw second.example-game.com
assert_upstream_never_saw robin.robin-denied.example
trellis_as robin status --json
expect_cli_rc 0
json_check 'j["name"] == "robin"'
log "PASS: accounts listed later are protected on policy apply, without a restart; a child cannot apply"
