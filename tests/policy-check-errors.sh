#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# policy-check-errors: every malformed household file in
# tests/policy-check-errors/NN-name.conf is refused by `trellis policy
# check` with exit status 1, and its output holds every line of
# NN-name.expected ("NN-name.conf:LINE:COL: message"; "#" lines are
# comments).  A line matches when it appears in an output line after the
# file's directory, so the test does not depend on how the path is printed.
set -u

top_srcdir=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${TRELLIS_TOP_BUILDDIR:-$top_srcdir}
trellis=$top_builddir/cli/trellis
dir=$top_srcdir/tests/policy-check-errors

if [ ! -x "$trellis" ]; then
  echo "SKIP: $trellis is not built"
  exit 77
fi

failed=0
count=0
out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT

for conf in "$dir"/*.conf; do
  name=$(basename "$conf" .conf)
  expected=$dir/$name.expected
  count=$((count + 1))
  if [ ! -f "$expected" ]; then
    echo "FAIL $name: no $name.expected"
    failed=$((failed + 1))
    continue
  fi
  rc=0
  "$trellis" policy check "$conf" --data-dir "$top_srcdir/policy/data" >"$out" 2>&1 || rc=$?
  if [ "$rc" -ne 1 ]; then
    echo "FAIL $name: exit status $rc, expected 1"
    sed 's/^/  | /' "$out"
    failed=$((failed + 1))
    continue
  fi
  if ! grep -q '^policy check: the file has errors$' "$out"; then
    echo "FAIL $name: no \"policy check: the file has errors\""
    failed=$((failed + 1))
  fi
  n_lines=0
  while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    n_lines=$((n_lines + 1))
    if ! grep -qF -- "$line" "$out"; then
      echo "FAIL $name: expected a line with"
      echo "  $line"
      echo "in:"
      sed 's/^/  | /' "$out"
      failed=$((failed + 1))
    fi
  done <"$expected"
  if [ "$n_lines" -eq 0 ]; then
    echo "FAIL $name: $name.expected expects nothing"
    failed=$((failed + 1))
  fi
done

if [ "$count" -lt 30 ]; then
  echo "FAIL: only $count malformed files (at least 30 wanted)"
  failed=$((failed + 1))
fi
echo "$count malformed household files, $failed failures"
[ "$failed" -eq 0 ]
