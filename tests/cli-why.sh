#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam wonders why a site does not open and runs
# "trellis why NAME" (GC25 §59: every restriction is explainable).  For a
# denied name it says so and names the rule (exit 1); for an ordinary name
# it says it is not filtered (exit 0); a helpline is always allowed and it
# says so (exit 0), even when the household file tries to deny it.  A parent
# is not filtered, and may ask on Sam's behalf with --account; Sam may not
# look at another account (privacy even from family, GC25 §77).
# No daemon is needed: the CLI reads the household file.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
DENY="example-game.com;childline.org.uk" setup_stack --no-upstream --no-trellisd
deny_line=$(household_line deny)

# why WHO NAME [ARGS...]: run "trellis why" as WHO; sets WHY_OUT and WHY_RC.
why ()
{
  local who=$1 name=$2
  shift 2
  WHY_DESC="trellis why $name $* (as $who)"
  WHY_RC=0
  WHY_OUT=$("as_$who" "$TRELLIS_CLI" why "$name" --household "$HOUSEHOLD" \
           --data-dir "$TRELLIS_DATA_DIR" "$@" 2>&1) || WHY_RC=$?
}

expect_rc ()
{
  if [ "$WHY_RC" != "$1" ]; then
    printf '%s\n' "---- $WHY_DESC: exit $WHY_RC ----" "$WHY_OUT" >&2
    fail "$WHY_DESC: expected exit $1, got $WHY_RC"
  fi
}

# expect_output ERE: the output matches (case-insensitive) ERE.
expect_output ()
{
  if ! printf '%s\n' "$WHY_OUT" | grep -qiE -- "$1"; then
    printf '%s\n' "---- $WHY_DESC: exit $WHY_RC ----" "$WHY_OUT" >&2
    fail "$WHY_DESC: the output does not match /$1/"
  fi
}

expect_no_output ()
{
  if printf '%s\n' "$WHY_OUT" | grep -qiE -- "$1"; then
    printf '%s\n' "---- $WHY_DESC: exit $WHY_RC ----" "$WHY_OUT" >&2
    fail "$WHY_DESC: the output matches /$1/ and should not"
  fi
}

# the child, a denied name: blocked, and which rule (file and line)
why child example-game.com
expect_rc 1
expect_output 'example-game\.com'
expect_output "household\.conf:$deny_line"

why child www.example-game.com
expect_rc 1
expect_output "household\.conf:$deny_line"

# the child, an ordinary name and an allowed one
why child en.wikipedia.org
expect_rc 0
expect_no_output "household\.conf:$deny_line"

why child scratch.mit.edu
expect_rc 0

# the child, a helpline the household file tries to deny
why child childline.org.uk
expect_rc 0
expect_output 'helpline'

# the integrity rule
why child use-application-dns.net
expect_rc 1

# the parent: not filtered
why parent example-game.com
expect_rc 0
expect_no_output "household\.conf:$deny_line"

# the parent asks about the child's account
why parent example-game.com --account "$CHILD_ACCOUNT"
expect_rc 1
expect_output "household\.conf:$deny_line"

# root too
why root example-game.com --account "$CHILD_ACCOUNT"
expect_rc 1

# the child may not ask about someone else's account
why child example-game.com --account "$PARENT_ACCOUNT"
expect_rc 2

# a household file that does not exist is an error, not "allowed"
WHY_DESC="trellis why with a missing household file (as child)"
WHY_RC=0
WHY_OUT=$(as_child "$TRELLIS_CLI" why example-game.com --household "$TEST_DIR/missing.conf" \
         --data-dir "$TRELLIS_DATA_DIR" 2>&1) || WHY_RC=$?
expect_rc 2

log "PASS: trellis why explains denied, allowed and helpline names"
