#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# policy-no-cycles: no file of policy/, daemon/ or lists/ calls, however
# indirectly, a file that calls it back; no file of policy/ calls into
# daemon/ or lists/, and daemon/ and lists/ (trellisd and the unprivileged
# updater) never call each other.
# Read from the objects the build made (tools/file-cycles: nm's defined and
# undefined symbols of each member of policy/libtrellis-policy.a and
# daemon/libtrellisd.a), so a cycle through a prototype written by hand
# counts as much as one through a header.
#
# The checker is tried first on two throwaway objects that call each
# other: it must find that cycle, and it must see the uses of the real
# archives, or this test would pass by seeing nothing.
set -u

top_srcdir=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${TRELLIS_TOP_BUILDDIR:-$top_srcdir}
check=$top_srcdir/tools/file-cycles
python=/usr/bin/python3
policy=$top_builddir/policy/libtrellis-policy.a
daemon=$top_builddir/daemon/libtrellisd.a
lists=$top_builddir/lists/libtrellis-lists.a

[ -x "$python" ] || { echo "SKIP: $python is not installed"; exit 77; }
command -v nm >/dev/null || { echo "SKIP: nm (binutils) is not installed"; exit 77; }
for a in "$policy" "$daemon" "$lists"; do
  [ -f "$a" ] || { echo "FAIL: $a is not built"; exit 1; }
done

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
failed=0

# The checker finds a cycle it is shown.
mkdir "$tmp/loop"
printf 'void loop_b (int n);\nvoid loop_a (int n) { if (n > 0) loop_b (n - 1); }\n' >"$tmp/loop/a.c"
printf 'void loop_a (int n);\nvoid loop_b (int n) { if (n > 0) loop_a (n - 1); }\n' >"$tmp/loop/b.c"
${CC:-cc} -c -o "$tmp/loop/liblooptest_a-a.o" "$tmp/loop/a.c" &&
  ${CC:-cc} -c -o "$tmp/loop/liblooptest_a-b.o" "$tmp/loop/b.c" &&
  ar cr "$tmp/loop/liblooptest.a" "$tmp/loop/liblooptest_a-a.o" "$tmp/loop/liblooptest_a-b.o" ||
  { echo "FAIL: cannot build the checker's own example"; exit 1; }
if "$python" "$check" "$tmp/loop/liblooptest.a" >"$tmp/loop.out" 2>&1; then
  echo "FAIL: tools/file-cycles did not see loop/a.c -> loop/b.c -> loop/a.c:"
  sed 's/^/  | /' "$tmp/loop.out"
  failed=1
elif ! grep -q '^cycle: loop/a.c -> loop/b.c -> loop/a.c$' "$tmp/loop.out"; then
  echo "FAIL: tools/file-cycles failed without naming the cycle:"
  sed 's/^/  | /' "$tmp/loop.out"
  failed=1
fi

# The real archives.
"$python" "$check" --forbid policy:daemon --forbid policy:lists --forbid daemon:lists --forbid lists:daemon \
  "$policy" "$daemon" "$lists" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
# It read them: decide.c asks the matcher, trellisd.c the decision.
for use in 'policy/decide.c -> policy/matcher.c: ' 'daemon/trellisd.c -> policy/decide.c: ' \
           'lists/updater.c -> lists/list-parse.c: '; do
  grep -qF -- "$use" "$tmp/out" || { echo "FAIL: no use \"$use\" seen"; failed=1; }
done
if [ "$rc" -ne 0 ]; then
  echo "FAIL: files that call each other (or policy/ calling daemon/), above"
  failed=1
fi
[ "$failed" -eq 0 ]
