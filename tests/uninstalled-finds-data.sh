#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Someone who has just built Trellis runs ./build/cli/trellis policy check
# FILE, or starts ./build/daemon/trellisd, without --data-dir: both read the
# source tree's shipped data, which the marker make writes at the top of the
# build tree (trellis-build-tree) names.  A program elsewhere reads the
# installed data, and when that is missing says in one line where it
# looked and how to point it elsewhere.  A marker that is not the
# program's owner's own file (writable by others, someone else's, a
# symbolic link, a relative path) is ignored: it must not choose what a
# root daemon reads.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack --no-trellisd
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
example="$TRELLIS_TOP_SRCDIR/policy/data/example-household.conf"
marker="$TRELLIS_TOP_BUILDDIR/trellis-build-tree"
[ -f "$marker" ] || fail "the build tree has no $marker"
[ "$(cat "$marker")" -ef "$TRELLIS_TOP_SRCDIR/policy/data" ] \
  || fail "$marker names $(cat "$marker"), not the source tree's policy/data"

# 1. The CLI in the build tree, no --data-dir.
out=$("$TRELLIS_CLI" policy check "$example" 2>&1) \
  || fail "trellis policy check without --data-dir failed in the build tree: $out"
grep -q 'no errors' <<<"$out" || fail "trellis policy check: $out"
gambling=$(grep -v -E '^[[:space:]]*(#|$)' "$TRELLIS_TOP_SRCDIR/policy/data/categories/gambling/domains" | head -1)
rc=0
out=$(as_child "$TRELLIS_CLI" why "$gambling" --household "$HOUSEHOLD" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "trellis why $gambling without --data-dir: exit $rc, expected 1 (blocked): $out"
log "ok: trellis finds the source tree's data"

# 2. trellisd in the build tree, no --data-dir: it says where the data is,
#    and blocks a name of the tree's gambling list.
TRELLIS_DATA_DIR=
start_trellisd
grep -qF "run from a build tree: the shipped data is $(cat "$marker")" "$TRELLISD_LOG" \
  || fail "trellisd does not say it reads the build tree's data"
dig_as_child "$UPSTREAM_V4" "$gambling" A
assert_blocked "category gambling (age 9-12)"
stop_trellisd
log "ok: trellisd finds the source tree's data"

# 3. A copy of the CLI elsewhere, with a marker of its own that names a
#    copy of the data holding one more gambling name.
tree="$TEST_DIR/tree"
mkdir -p "$tree/bin"
cp "$TRELLIS_CLI" "$tree/bin/trellis"
cp -rL "$TRELLIS_TOP_SRCDIR/policy/data" "$tree/data"
echo "only-in-the-test-data.example" >> "$tree/data/categories/gambling/domains"
chmod -R a+rX "$tree"
why_copy ()  # sets WHY_OUT, WHY_RC
{
  WHY_RC=0
  WHY_OUT=$(as_child "$tree/bin/trellis" why only-in-the-test-data.example --household "$HOUSEHOLD" 2>&1) \
    || WHY_RC=$?
}
echo "$tree/data" > "$tree/trellis-build-tree"
chmod 644 "$tree/trellis-build-tree"
why_copy
[ "$WHY_RC" = 1 ] || fail "a copy with its own marker does not read the data it names: exit $WHY_RC: $WHY_OUT"

# Hostile markers: each is ignored, so the copy does not read $tree/data
# (it reads the installed data, or says it is missing).
ignored ()  # ignored WHAT
{
  why_copy
  if [ "$WHY_RC" = 1 ] || grep -qF "$tree/data" <<<"$WHY_OUT"; then
    fail "$1: the marker was followed: exit $WHY_RC: $WHY_OUT"
  fi
  if [ "$WHY_RC" = 2 ]; then
    grep -qE 'the shipped data was looked for in /[^;]*; give another folder with --data-dir DIR' <<<"$WHY_OUT" \
      || fail "$1: the data is missing and trellis does not say where it looked: $WHY_OUT"
  fi
}
chmod 666 "$tree/trellis-build-tree"
ignored "a marker anyone may write"
chmod 644 "$tree/trellis-build-tree"
chown "$CHILD_UID" "$tree/trellis-build-tree"
ignored "a marker of another account"
chown 0 "$tree/trellis-build-tree"
mv "$tree/trellis-build-tree" "$tree/marker"
ln -s marker "$tree/trellis-build-tree"
ignored "a marker that is a symbolic link"
rm "$tree/trellis-build-tree"
echo "data" > "$tree/trellis-build-tree"
ignored "a marker with a relative path"
rm "$tree/trellis-build-tree"
ignored "no marker"
log "ok: a marker that is not the program's owner's own is ignored"

log "PASS: uninstalled programs find the tree's data, and say where they looked"
