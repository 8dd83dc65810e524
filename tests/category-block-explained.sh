#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam (10) follows a link to a betting site.  The age band 9-12
# blocks gambling, so Sam's query gets NXDOMAIN in the name of the server
# asked, with an Extended DNS Error naming the category and the band; the
# name never leaves the machine.  "trellis why" tells Sam, in words for a
# 10-year-old, why (GC25 §59).  When Sam turns 14 the words are the ones for
# 13-15; with block=-gambling the parents lift the category.  Ordinary
# information about the same subject (sports news, help for problem
# gambling) is never blocked (§56).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

# A gambling name from the shipped category list, not a literal of this test.
cat_dir="$TRELLIS_DATA_DIR/categories/gambling"
name=$(grep -v -E '^[[:space:]]*(#|$)' "$cat_dir/domains" | head -1)
[ -n "$name" ] || fail "no name in $cat_dir/domains"

# explanation BAND: the child-facing text the category ships for BAND.
explanation ()
{
  sed -n "s/^Explanation-$1=//p" "$cat_dir/category.desktop"
}

# why_as_child NAME: sets WHY_OUT and WHY_RC.
why_as_child ()
{
  WHY_RC=0
  WHY_OUT=$(as_child "$TRELLIS_CLI" why "$1" --household "$HOUSEHOLD" \
            --data-dir "$TRELLIS_DATA_DIR" 2>&1) || WHY_RC=$?
}

dig_as_child "$UPSTREAM_V4" "$name" A
assert_blocked "category gambling (age 9-12)"
dig_as_child "$UPSTREAM_V4" "www.$name" AAAA
assert_blocked "category gambling (age 9-12)"
assert_upstream_never_saw "$name"

# Information about gambling is not gambling.
for ok in www.bbc.co.uk gamblersanonymous.org; do
  dig_as_child "$UPSTREAM_V4" "$ok" A
  assert_resolved
done

why_as_child "$name"
[ "$WHY_RC" = 1 ] || fail "trellis why $name: exit $WHY_RC, expected 1 (blocked): $WHY_OUT"
want=$(explanation 9-12)
[ -n "$want" ] || fail "no Explanation-9-12 in $cat_dir/category.desktop"
grep -qF -- "$want" <<<"$WHY_OUT" || fail "trellis why $name does not give the 9-12 explanation:
$WHY_OUT"
grep -qF -- "category gambling (age 9-12)" <<<"$WHY_OUT" || fail "trellis why $name does not name the rule: $WHY_OUT"

# Sam is 14 now: the same block, the words of the 13-15 band.
sed -i 's/^age = 10$/age = 14/' "$HOUSEHOLD"
reload_trellisd
dig_as_child "$UPSTREAM_V4" "$name" A
assert_blocked "category gambling (age 13-15)"
why_as_child "$name"
[ "$WHY_RC" = 1 ] || fail "trellis why $name at 14: exit $WHY_RC: $WHY_OUT"
grep -qF -- "$(explanation 13-15)" <<<"$WHY_OUT" || fail "trellis why $name does not give the 13-15 explanation:
$WHY_OUT"

# The parents lift the category: the name resolves from the upstream.
write_household "block = -gambling"
reload_trellisd
dig_as_child "$UPSTREAM_V4" "$name" A
assert_resolved
assert_upstream_saw "$name"

trellisd_running || fail "trellisd is no longer running"
log "PASS: a category block is answered with its reason and explained in the child's band"
