#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent wrote the household file by hand, with comments,
# blank lines, their own spacing and their own order, then uses the
# commands.  Each command changes only the lines of its change: the rest of
# the file is byte for byte what the parent wrote (the expected file is the
# old one with those lines edited, compared with cmp).  A change that would
# not compile is refused with the very FILE:LINE:COL message "trellis policy
# check" gives for the file it would have made, and the file is untouched
# (same bytes, same inode, same mode and group).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus --second-child --no-trellisd

cat > "$HOUSEHOLD" <<EOT
# SPDX-License-Identifier: CC0-1.0
#   Our family's rules.   Mum, 2024.

[household]
# we two
parents=$PARENT_ACCOUNT
on-failure  =  closed


[child sam]
	# Sam's own accounts first
	accounts = $CHILD_ACCOUNT
	allow = scratch.mit.edu
	age=10   # ten this spring
	deny   =   example-game.com;casino.example   # games
# --- end of Sam ---

# [child old] was here
[child alex]
age = 12
accounts = $SIBLING_ACCOUNT
EOT
chmod 640 "$HOUSEHOLD"
chgrp "$PARENT_ACCOUNT" "$HOUSEHOLD"
start_trellisd
wait_for_trellisd_on_bus

expected="$TEST_DIR/expected.conf"

# after_deny LINE: stdin with LINE (printf escapes) after Sam's deny= line.
after_deny ()
{
  awk -v add="$(printf "$1")" '{ print } /^\tdeny / { print add }'
}

# expect_file WHAT: the household file is $expected, byte for byte, and
# still 0640 with the parent's group.
expect_file ()
{
  if ! cmp -s "$HOUSEHOLD" "$expected"; then
    diff -u "$expected" "$HOUSEHOLD" >&2 || true
    fail "$1: the household file is not the old one with only the changed lines"
  fi
  [ "$(stat -c '%a %G' "$HOUSEHOLD")" = "640 $PARENT_ACCOUNT" ] \
    || fail "$1: the file is now $(stat -c '%a %U:%G' "$HOUSEHOLD")"
}

# an existing key: only its value changes; the tab, the spacing and the
# comment stay
cp "$HOUSEHOLD" "$expected"
sed -i 's/^\tage=10   # ten this spring$/\tage=11   # ten this spring/' "$expected"
trellis_as parent child set sam age 11
expect_cli_rc 0
expect_file "child set sam age 11"

# a list: the new name after the others, with their separator
cp "$HOUSEHOLD" "$expected"
sed -i 's/^\tdeny   =   example-game.com;casino.example   # games$/\tdeny   =   example-game.com;casino.example;new.example   # games/' "$expected"
trellis_as parent deny new.example --child sam
expect_cli_rc 0
expect_file "deny new.example --child sam"
dig_as_child "$UPSTREAM_V4" new.example A
assert_blocked "deny new.example ($(basename "$HOUSEHOLD"):$(household_line deny))"

# a new key: one line after the section's last key, indented as it is
cp "$HOUSEHOLD" "$expected"
after_deny '\tsafe-search = strict' < "$HOUSEHOLD" > "$expected"
trellis_as parent child set sam safe-search strict
expect_cli_rc 0
expect_file "child set sam safe-search strict"

# a name out of a list (allow puts it in allow= and takes it out of deny=)
cp "$HOUSEHOLD" "$expected"
sed -i -e 's/^\tallow = scratch.mit.edu$/\tallow = scratch.mit.edu;casino.example/' \
       -e 's/example-game.com;casino.example;new.example   # games/example-game.com;new.example   # games/' "$expected"
trellis_as parent allow casino.example --child sam
expect_cli_rc 0
expect_file "allow casino.example --child sam"

# a key removed: its line alone
cp "$HOUSEHOLD" "$expected"
sed -i '/^\tsafe-search = strict$/d' "$expected"
trellis_as parent child set sam safe-search ""
expect_cli_rc 0
expect_file "child set sam safe-search \"\""

# a child added at the end, after a blank line, and removed again: the
# file is what it was
cp "$HOUSEHOLD" "$TEST_DIR/before-add"
cp "$HOUSEHOLD" "$expected"
printf '\n[child lee]\nage = 7\naccounts = nobody\n' >> "$expected"
trellis_as parent child add lee --age 7 --account nobody
expect_cli_rc 0
expect_file "child add lee"
cp "$TEST_DIR/before-add" "$expected"
trellis_as parent child remove lee
expect_cli_rc 0
expect_file "child remove lee"

# a child in the middle removed: its lines go, the comments around it stay
cp "$HOUSEHOLD" "$TEST_DIR/before-remove"
cp "$HOUSEHOLD" "$expected"
sed -i '/^\[child alex\]$/,$d' "$expected"
trellis_as parent child remove alex
expect_cli_rc 0
expect_file "child remove alex"

# --- a change that would not compile -----------------------------------------
# refused_like FILTER ARGS...: "trellis ARGS" is refused with the error
# "trellis policy check" gives for the file FILTER (a command, from the
# household file on stdin) makes of it, and the file is untouched.
refused_like ()
{
  local filter=$1 would="$TEST_DIR/would.conf" inode check_out msg
  shift
  cp "$HOUSEHOLD" "$expected"
  eval "$filter" < "$HOUSEHOLD" > "$would"
  cmp -s "$would" "$HOUSEHOLD" && fail "'$filter' changes nothing"
  check_out=$("$TRELLIS_CLI" policy check "$would" --data-dir "$TRELLIS_DATA_DIR" 2>&1) \
    && fail "policy check accepts what trellis $* would write"
  # FILE:LINE:COL: message, named as the daemon names its file
  msg=$(printf '%s\n' "$check_out" | grep -m1 -E "^$would:[0-9]+:[0-9]+: " \
        | sed "s|^$would:|$HOUSEHOLD:|") || true
  [ -n "$msg" ] || fail "policy check gave no FILE:LINE:COL line: $check_out"
  inode=$(stat -c %i "$HOUSEHOLD")
  trellis_as parent "$@"
  expect_cli_rc 2
  if ! printf '%s\n' "$CLI_ERR" | grep -qxF -- "$msg"; then
    _cli_context
    fail "trellis $*: the error does not have policy check's line: $msg"
  fi
  expect_file "the refused trellis $*"
  [ "$(stat -c %i "$HOUSEHOLD")" = "$inode" ] || fail "trellis $*: the file was replaced"
}

refused_like "sed 's/^\\tage=11   #/\\tage=ten   #/'" child set sam age ten
refused_like "after_deny '\\tquiet-hours = Mon-Fri 25:00-07:00'" \
  child set sam quiet-hours "Mon-Fri 25:00-07:00"
refused_like "after_deny '\\tmode = sometimes'" child set sam mode sometimes
refused_like "after_deny '\\tblock = +no-such-category'" child set sam block +no-such-category
# the account of another child
append_lee ()
{
  cat
  printf '\n[child lee]\nage = 7\naccounts = %s\n' "$CHILD_ACCOUNT"
}
refused_like append_lee child add lee --age 7 --account "$CHILD_ACCOUNT"

# nothing of it reached the daemon: the policy in force is the last one
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "deny example-game.com ($(basename "$HOUSEHOLD"):$(household_line deny))"
trellis_as parent status --child sam --json
json_check 'j["age"] == 11'
# no temporary file is left beside it
[ -z "$(find "$(dirname "$HOUSEHOLD")" -maxdepth 1 -name '.household.conf.*')" ] \
  || fail "a temporary file was left beside the household file"

trellisd_running || fail "trellisd is no longer running"
log "PASS: edits change only their lines; a change that would not compile is refused with policy check's message"
