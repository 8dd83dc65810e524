#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent protects a second child without opening an editor:
# "trellis child add kim --age 10 --account kim".  From the moment the
# command returns, Kim's account is filtered (a betting site is blocked by
# the 9-12 band).  The parent then changes Kim's settings with
# "trellis child set" (block, age, quiet-hours, safe-search, mode), blocks
# and allows single sites with "trellis deny/allow NAME --child kim",
# approves one of Kim's requests for good with "trellis approve ID
# --always", and finally takes Kim out with "trellis child remove": each
# change is in the household file and in force when the command returns.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --bus --second-child

gambling=$(grep -v -E '^[[:space:]]*(#|$)' "$TRELLIS_DATA_DIR/categories/gambling/domains" | head -1)
[ -n "$gambling" ] || fail "no name in the shipped gambling list"

dig_as_kim ()
{
  dig_as sibling "$UPSTREAM_V4" "$@"
}

# kim_rule KIND NAME: the EDE text of Kim's deny= rule for NAME, with its line.
kim_rule ()
{
  local n
  n=$(awk -v key="$1" '/^\[child kim\]/ { kim = 1; next } /^\[/ { kim = 0 }
                       kim && $0 ~ "^" key " *=" { print NR; exit }' "$HOUSEHOLD")
  [ -n "$n" ] || { cat "$HOUSEHOLD" >&2; fail "no $1= in [child kim]"; }
  echo "$1 $2 ($(basename "$HOUSEHOLD"):$n)"
}

# assert_filtered: NXDOMAIN with EDE 17, whatever the rule.
assert_filtered ()
{
  if [ "$(dig_status)" != NXDOMAIN ] || ! dig_ede | grep -q '^; EDE: 17 (Filtered)'; then
    _dig_context
    fail "$DIG_NAME for the $DIG_WHO: expected NXDOMAIN with EDE 17"
  fi
}

# file_has ERE: the household file has a line matching ERE.
file_has ()
{
  grep -qE -- "$1" "$HOUSEHOLD" || { cat "$HOUSEHOLD" >&2; fail "the household file has no line /$1/"; }
}

# kim_has ERE, kim_lacks ERE: a line of [child kim] matches ERE, or none does.
kim_section ()
{
  awk '/^\[child kim\]/ { kim = 1 } /^\[/ && !/^\[child kim\]/ { kim = 0 } kim' "$HOUSEHOLD"
}

kim_has ()
{
  kim_section | grep -qE -- "$1" || { cat "$HOUSEHOLD" >&2; fail "[child kim] has no line /$1/"; }
}

kim_lacks ()
{
  ! kim_section | grep -qE -- "$1" || { cat "$HOUSEHOLD" >&2; fail "[child kim] still has /$1/"; }
}

file_lacks ()
{
  ! grep -qE -- "$1" "$HOUSEHOLD" || { cat "$HOUSEHOLD" >&2; fail "the household file still has /$1/"; }
}

# Kim is nobody's child yet: not filtered.
dig_as_kim "$gambling" A
assert_resolved

# --- child add -------------------------------------------------------------
trellis_as parent child add kim --age 10 --account "$SIBLING_ACCOUNT"
expect_cli_rc 0
expect_cli_output 'kim'
file_has '^\[child kim\]$'
kim_has '^age = 10$'
file_has "^accounts = $SIBLING_ACCOUNT\$"
# in force when the command returned: no wait
dig_as_kim "$gambling" A
assert_blocked "category gambling (age 9-12)"
dig_as_kim scratch.mit.edu A
assert_resolved
# Kim sees the profile as Kim's own
trellis_as sibling status --json
expect_cli_rc 0
json_check 'j["name"] == "kim" and j["age"] == 10'
# Sam is as before
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"

# adding Kim twice, or without an age, is refused and changes nothing
cp "$HOUSEHOLD" "$TEST_DIR/before"
trellis_as parent child add kim --age 11 --account "$SIBLING_ACCOUNT"
expect_cli_rc 2
expect_cli_error 'already'
trellis_as parent child add lee --account "$SIBLING_ACCOUNT"
expect_cli_rc 2
cmp -s "$HOUSEHOLD" "$TEST_DIR/before" || fail "a refused child add changed the file"

# --- child set -------------------------------------------------------------
trellis_as parent child set kim block -gambling
expect_cli_rc 0
kim_has '^block = -gambling$'
dig_as_kim "$gambling" A
assert_resolved
trellis_as parent child set kim block ""
expect_cli_rc 0
kim_lacks '^block'
dig_as_kim "$gambling" A
assert_blocked "category gambling (age 9-12)"

trellis_as parent child set kim age 14
expect_cli_rc 0
kim_has '^age = 14$'
dig_as_kim "$gambling" A
assert_blocked "category gambling (age 13-15)"
# a birth month replaces the age
trellis_as parent child set kim birth 2015-01
expect_cli_rc 0
kim_has '^birth = 2015-01$'
kim_lacks '^age ='
trellis_as parent child set kim age 10
expect_cli_rc 0
kim_lacks '^birth ='

# a bedtime that is not now, so that the lookups below are not quiet
quiet="Mon-Sun $(date -d '+2 hours' +%H:00)-$(date -d '+3 hours' +%H:00)"
trellis_as parent child set kim quiet-hours "$quiet"
expect_cli_rc 0
trellis_as parent child set kim safe-search moderate
expect_cli_rc 0
trellis_as parent child set kim mode allowlist
expect_cli_rc 0
trellis_as parent status --child kim --json
expect_cli_rc 0
json_check "j['quiet_hours'] == '$quiet' and not j['quiet_now']"
json_check 'j["safe_search"] == "moderate" and j["mode"] == "allowlist"'
# allow-list mode: only allow= and the curated list
dig_as_kim example.org A
assert_filtered
trellis_as parent child set kim mode blocklist
expect_cli_rc 0
dig_as_kim example.org A
assert_resolved

# an unknown key and an unknown child
trellis_as parent child set kim accounts root
expect_cli_rc 2
trellis_as parent child set nobody age 9
expect_cli_rc 2
expect_cli_error 'not found|no child'

# --- deny / allow ----------------------------------------------------------
trellis_as parent deny Example.ORG --child kim
expect_cli_rc 0
kim_has '^deny = example\.org$'
dig_as_kim example.org A
assert_blocked "$(kim_rule deny example.org)"
trellis_as parent allow example.org --child kim
expect_cli_rc 0
kim_has '^allow = example\.org$'
kim_lacks '^deny = example\.org'
dig_as_kim example.org A
assert_resolved
# allow= beats the category
trellis_as parent allow "$gambling" --child kim
expect_cli_rc 0
kim_has "^allow = example\\.org;${gambling//./\\.}\$"
dig_as_kim "$gambling" A
assert_resolved
# a public suffix is not a site
trellis_as parent allow com --child kim
expect_cli_rc 2
# Sam's section is untouched by Kim's rules
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
trellis_as parent deny example-game.com --child kim
expect_cli_rc 0
trellis_as parent deny --child kim
expect_cli_rc 2

# --- approve --always ------------------------------------------------------
dig_as_kim example-game.com A
assert_blocked "$(kim_rule deny example-game.com)"
trellis_as sibling ask example-game.com "for the school project"
expect_cli_rc 0
trellis_as parent requests --json
json_check "[r['id'] for r in j if r['child'] == 'kim' and r['state'] == 'pending'][0]"
id=$JSON_VALUE
trellis_as parent approve "$id" --always
expect_cli_rc 0
kim_lacks '^deny = .*example-game'
kim_has '^allow = .*example-game\.com'
dig_as_kim example-game.com A
assert_resolved
trellis_as sibling requests --json
json_check "[r for r in j if r['id'] == $id and r['state'] == 'approved' and r['expires'] == 0]"
# for good: still allowed after trellisd reads the file again
reload_trellisd
dig_as_kim example-game.com A
assert_resolved
# a child cannot approve for good
trellis_as sibling ask casino.example "please"
trellis_as parent requests --json
json_check "[r['id'] for r in j if r['child'] == 'kim' and r['state'] == 'pending'][0]"
id2=$JSON_VALUE
trellis_as sibling approve "$id2" --always
expect_cli_rc 2
kim_lacks 'casino'
trellis_as parent approve 999999 --always
expect_cli_rc 2

# --- child remove ----------------------------------------------------------
trellis_as parent child remove kim
expect_cli_rc 0
file_lacks '^\[child kim\]'
file_lacks "$SIBLING_ACCOUNT"
dig_as_kim "$gambling" A
assert_resolved
trellis_as sibling status
expect_cli_rc 2
# Sam still filtered
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
trellis_as parent child remove kim
expect_cli_rc 2

trellisd_running || fail "trellisd is no longer running"
log "PASS: child add, child set, deny, allow, approve --always and child remove, each in force at once"
