#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Every man page the build made renders with man(1) without a warning;
# trellis-household.conf(5) documents exactly the keys the policy library
# reads (the household's, a child's and a [source]'s); and its examples
# (a family, a school) pass trellis policy check.
set -eu
TEST_NAME=man-pages-build
src=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${TRELLIS_TOP_BUILDDIR:-$(pwd)}
fail () { echo "$TEST_NAME: FAIL: $*" >&2; exit 1; }
command -v man >/dev/null 2>&1 || fail "needs man (man-db)"

pages=(man/trellis.1 man/trellis-notify.1 man/trellis-household.conf.5 man/trellisd.8 man/trellis-lists-update.8)
for p in "${pages[@]}"; do
  [ -s "$build/$p" ] || fail "$p was not built"
  warnings=$(MANWIDTH=80 man --warnings -l "$build/$p" 2>&1 >/dev/null) || fail "man -l $p failed: $warnings"
  [ -z "$warnings" ] || fail "man --warnings -l $p: $warnings"
  text=$(MANWIDTH=80 man -l "$build/$p" 2>/dev/null)
  grep -q '^NAME' <<<"$text" && grep -q '^SYNOPSIS' <<<"$text" && grep -q '^SEE ALSO' <<<"$text" ||
    fail "$p lacks NAME, SYNOPSIS or SEE ALSO"
  echo "$p: $(wc -l <<<"$text") lines, no warnings"
done

# The keys: what policy/ accepts against what the page documents.
known=$(sed -n '/^\(static \)\?const char \*const \(household\|child\|trellis_list_source\)_keys\[\] = {/,/};/p' \
          "$src"/policy/*.c | grep -o '"[a-z-]*"' | tr -d '"' | sort -u)
[ -n "$known" ] || fail "cannot find the keys in policy/*.c"
# A key is documented where a definition line (one that begins with *)
# names it: "*key =*", one or several keys a line.
documented=$(grep '^\*' "$src/man/trellis-household.conf.5.scd" | grep -o '\*[a-z-]* =\*' | tr -d '*=' | tr -d ' ' |
             sort -u)
missing=$(comm -23 <(echo "$known") <(echo "$documented"))
extra=$(comm -13 <(echo "$known") <(echo "$documented"))
[ -z "$missing" ] || fail "keys the policy reads but trellis-household.conf(5) does not document: $missing"
[ -z "$extra" ] || fail "keys trellis-household.conf(5) documents but the policy does not read: $extra"
echo "trellis-household.conf(5) documents all $(wc -l <<<"$known") keys"

# The examples, as a parent would copy them.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '/^```$/ { n++; next } n % 2 == 1 { print > (dir "/example" (n + 1) / 2 ".conf") }' \
  "$src/man/trellis-household.conf.5.scd"
n=0
for f in "$tmp"/example*.conf; do
  grep -q '^\[household\]' "$f" || continue
  out=$("$build/cli/trellis" policy check --data-dir "$src/policy/data" "$f" 2>&1) ||
    fail "an example in trellis-household.conf(5) does not check: $out"
  n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "trellis-household.conf(5) should carry a family's and a school's example"
echo "its $n example household files pass trellis policy check"
echo "$TEST_NAME: PASS"
