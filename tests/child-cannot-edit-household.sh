#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a child (or a program on the child's account) talks to
# trellisd's household edits directly on the bus, to lift its own rules or
# to make itself a parent: AddChild, RemoveChild, SetChild, Allow, Deny and
# ApproveAlways, plain and with hostile arguments (newlines that would
# start a "[household]" section or a "parents =" key, "[", "]", "=", "#",
# control characters, 100 KB names).  Another account that is neither a
# child nor a parent tries too.  Every call is refused, the household file
# is byte for byte as it was, and trellisd still filters.  Then a parent's
# own hostile values are refused the same way: a parent's typo or a
# pasted line must never inject a key or a section either.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus --second-child

rule=$(deny_rule_text example-game.com)
cp "$HOUSEHOLD" "$TEST_DIR/original"
inode=$(stat -c %i "$HOUSEHOLD")

unchanged ()
{
  if ! cmp -s "$HOUSEHOLD" "$TEST_DIR/original" || [ "$(stat -c %i "$HOUSEHOLD")" != "$inode" ]; then
    diff -u "$TEST_DIR/original" "$HOUSEHOLD" >&2 || true
    fail "$1: the household file changed"
  fi
  trellisd_running || fail "$1: trellisd is no longer running"
}

# (gdbus reads an argument that starts with "-" as an option: such a
# string is given quoted, "'-adult'", as GVariant text.)
# refused WHO ERROR METHOD ARGS...: the call fails with ERROR (a D-Bus
# error name, or "." for any) and changes nothing.
refused ()
{
  local who=$1 error=$2
  shift 2
  gdbus_as "$who" "$@"
  expect_gdbus_error "$error"
  unchanged "$GDBUS_DESC"
}

denied=org.freedesktop.DBus.Error.AccessDenied
invalid=org.freedesktop.DBus.Error.InvalidArgs
evil=$'x\n[household]\nparents = '"$CHILD_ACCOUNT"
big=$(head -c 100000 /dev/zero | tr '\0' a)

# a request of the child's, for ApproveAlways
trellis_as child ask example-game.com "please"
expect_cli_rc 0
trellis_as child requests --json
json_check 'j[0]["id"]'
id=$JSON_VALUE

for who in child sibling; do
  # every edit, plain
  refused $who $denied AddChild "kid" "10" "" "$CHILD_ACCOUNT"
  refused $who $denied RemoveChild "sam"
  refused $who $denied SetChild "sam" "age" "17"
  refused $who $denied SetChild "sam" "mode" ""
  refused $who $denied SetChild "sam" "block" "'-adult'"
  refused $who $denied Allow "sam" "example-game.com"
  refused $who $invalid Allow "" "example-game.com"
  refused $who $denied Deny "sam" "scratch.mit.edu"
  refused $who $denied ApproveAlways "$id"
  # and hostile: refused before anyone asks who is calling, or as not a parent
  refused $who . AddChild "$evil" "10" "" "$CHILD_ACCOUNT"
  refused $who . AddChild "[child x]" "10" "" "$CHILD_ACCOUNT"
  refused $who . AddChild "kid" $'10\nparents = x' "" "$CHILD_ACCOUNT"
  refused $who . AddChild "kid" "10" "" "$CHILD_ACCOUNT;root"
  refused $who . SetChild "sam" $'age\nparents' "x"
  refused $who . SetChild "sam" "quiet-hours" "$evil"
  refused $who . SetChild "sam" "age" $'10\r\n[parent evil]'
  refused $who . SetChild "sam" "block" "'-adult"$'\x01'"'"
  refused $who . SetChild "$big" "age" "9"
  refused $who . SetChild "sam" "quiet-hours" "$big"
  refused $who . Allow "sam" "$evil"
  refused $who . Allow "sam=x" "a.example"
  refused $who . Deny "$big" "a.example"
  refused $who . ApproveAlways 0
  # through the command, as a child would try it
  trellis_as $who child set sam mode blocklist
  expect_cli_rc 2
  expect_cli_error 'Only parents'
  trellis_as $who allow example-game.com --child sam
  expect_cli_rc 2
  trellis_as $who approve "$id" --always
  expect_cli_rc 2
  unchanged "trellis as $who"
done

# the child is filtered as before, and the request is still pending
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"
trellis_as child requests --json
json_check "[r for r in j if r['id'] == $id and r['state'] == 'pending']"

# --- a parent's hostile values ----------------------------------------------
# Refused with InvalidArgs: nothing may inject a key or a section.
refused parent $invalid AddChild "$evil" "10" "" "$SIBLING_ACCOUNT"
refused parent $invalid AddChild "kid]" "10" "" "$SIBLING_ACCOUNT"
refused parent $invalid AddChild "kid x" "10" "" "$SIBLING_ACCOUNT"
refused parent $invalid AddChild "a=b" "10" "" "$SIBLING_ACCOUNT"
refused parent $invalid AddChild "kid" $'10\n[household]' "" "$SIBLING_ACCOUNT"
refused parent $invalid AddChild "kid" "10" "2015-01" "$SIBLING_ACCOUNT"
refused parent $invalid AddChild "kid" "10 # a comment" "" "$SIBLING_ACCOUNT"
refused parent $invalid AddChild "kid" "10" "" "$SIBLING_ACCOUNT;$CHILD_ACCOUNT"
refused parent $invalid AddChild "kid" "10" "" $'x\nparents = x'
refused parent $invalid AddChild "$big" "10" "" "$SIBLING_ACCOUNT"
refused parent $invalid SetChild "sam" "quiet-hours" "$evil"
refused parent $invalid SetChild "sam" "quiet-hours" $'Mon 20:00-21:00\rparents = x'
refused parent $invalid SetChild "sam" "block" "'-adult"$'\u202e'"'"
refused parent $invalid SetChild "sam" "block" "'-adult\\\\nparents=x'"
refused parent $invalid SetChild "sam" $'age\n[household]' "9"
refused parent $invalid SetChild "sam" "parents" "x"
refused parent $invalid SetChild "sam" "accounts" "root"
refused parent $invalid SetChild "sam" "allow" "com"
refused parent $invalid Allow "sam" "a.example;b.example"
refused parent $invalid Allow "sam" "$evil"
refused parent $invalid Allow "sam" "com"
refused parent $invalid Deny "sam" "x y"
refused parent org.trellis.Trellis1.Error.NotFound SetChild "nobody" "age" "9"
refused parent org.trellis.Trellis1.Error.NotFound RemoveChild "nobody"
# the command line refuses a newline before it asks
trellis_as parent child set sam quiet-hours "$evil"
expect_cli_rc 2
unchanged "trellis child set with a newline"

# the file is the parent's still: an ordinary change works afterwards
trellis_as parent deny casino2.example --child sam
expect_cli_rc 0
grep -qx 'deny = example-game.com;casino.example;casino2.example' "$HOUSEHOLD" \
  || { cat "$HOUSEHOLD" >&2; fail "the ordinary change after the refused ones did not land"; }
[ "$(grep -c '^\[' "$HOUSEHOLD")" = 2 ] || fail "the household file has other sections now"
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

trellisd_running || fail "trellisd is no longer running"
log "PASS: children and strangers cannot edit the household; hostile values never reach the file"
