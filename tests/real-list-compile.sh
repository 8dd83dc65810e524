#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The compiler on real lists: more than 100,000 names that people publish
# as block lists (uBlock Origin's lists as Debian ships them, and the
# eth-phishing-detect list from npm), imported with policy/import-list.
#  1. the compiled index answers exactly as a plain suffix walk over them;
#  2. a household whose child blocks them as a category compiles
#     (trellis policy check counts every name), and trellis why blocks a
#     sample of them for the child and not the names next to them.
# Skips (77) only when a list package is absent.

set -eu
top=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${TRELLIS_TOP_BUILDDIR:-$(pwd)}
assets=/usr/share/chromium/extensions/ublock-origin/assets

if ! dpkg-query -W -f='${Status}' webext-ublock-origin-chromium 2>/dev/null | grep -q "ok installed"; then
  echo "SKIP: the list package webext-ublock-origin-chromium is not installed"
  exit 77
fi
tmp=$(mktemp -d /tmp/trellis-real-list.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

/usr/bin/python3 "$top/policy/import-list" --from-deb webext-ublock-origin-chromium \
  --member "$assets/ublock/badware.min.txt" \
  --member "$assets/thirdparties/urlhaus-filter/urlhaus-filter-online.txt" \
  --member "$assets/thirdparties/easylist/easylist.txt" \
  --member "$assets/thirdparties/easylist/easyprivacy.txt" \
  --licence "see /usr/share/doc/webext-ublock-origin-chromium/copyright" \
  -o "$tmp/deb.list"
if ! command -v npm >/dev/null || ! (cd "$tmp" && timeout 120 npm pack --silent --prefer-offline eth-phishing-detect@1.2.0 >/dev/null 2>&1); then
  echo "SKIP: the list package eth-phishing-detect@1.2.0 cannot be had from npm here"
  exit 77
fi
/usr/bin/python3 "$top/policy/import-list" --from-npm "$tmp/eth-phishing-detect-1.2.0.tgz" \
  --member src/config.json --json-key blacklist --licence DBAD-1.1 -o "$tmp/phish.list" \
  || /usr/bin/python3 "$top/policy/import-list" --from-npm eth-phishing-detect@1.2.0 \
       --member src/config.json --json-key blacklist -o "$tmp/phish.list"
/usr/bin/python3 "$top/policy/import-list" --licence "as recorded in each part" \
  -o "$tmp/corpus.list" "$tmp/deb.list" "$tmp/phish.list" --min-names 100000 --stats

n=$(grep -vc '^#' "$tmp/corpus.list")
echo "corpus: $n real names"
[ "$n" -ge 100000 ] || { echo "FAIL: only $n names"; exit 1; }

# 1. The index against the naive matcher, on every one of them.
TRELLIS_REAL_NAMES="$tmp/corpus.list" "$build/tests/unit/index-matches-naive"

# 2. The same names as a category a household blocks.
data="$tmp/data"
cp -rL "$top/policy/data" "$data"
mkdir -p "$data/categories/published-lists"
cp "$tmp/corpus.list" "$data/categories/published-lists/domains"
cat > "$data/categories/published-lists/category.desktop" <<'DESKTOP'
[Trellis Category]
Version=1
Name=Published lists
Description=Every name of the published lists this test imports.
Explanation-under-6=This test list blocks it.
Explanation-6-8=This test list blocks it.
Explanation-9-12=This test list blocks it.
Explanation-13-15=This test list blocks it.
Explanation-16-17=This test list blocks it.
DESKTOP
cat > "$tmp/household.conf" <<'HOUSEHOLD'
[household]
parents = real-list-parent
[child robin]
age = 12
accounts = real-list-child
block = +published-lists
HOUSEHOLD

start=$(date +%s%N)
"$build/cli/trellis" policy check "$tmp/household.conf" --data-dir "$data" --json > "$tmp/check.json"
end=$(date +%s%N)
echo "policy check of $n names: $(( (end - start) / 1000000 )) ms"
counted=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"], d
cats = {c["id"]: c["names"] for c in d["children"][0]["categories"]}
print(cats["published-lists"])' "$tmp/check.json")
echo "policy check counts $counted names in the category"
[ "$counted" -eq "$n" ] || { echo "FAIL: policy check counts $counted names, the list has $n"; exit 1; }

# trellis why, for a sample of the names, a name below each, and a near miss.
fails=0
for name in $(grep -v '^#' "$tmp/corpus.list" | awk 'NR % 1000 == 7'); do
  rc=0
  out=$("$build/cli/trellis" why "sub.$name" --household "$tmp/household.conf" --data-dir "$data" \
        --account real-list-child 2>&1) || rc=$?
  if [ "$rc" != 1 ] || ! grep -q "published-lists" <<<"$out"; then
    echo "FAIL: sub.$name is not blocked by the category (exit $rc): $out"
    fails=$((fails + 1))
  fi
  rc=0
  "$build/cli/trellis" why "x$name" --household "$tmp/household.conf" --data-dir "$data" \
     --account real-list-child >/dev/null 2>&1 || rc=$?
  if [ "$rc" = 1 ] && ! grep -qx "x$name" "$tmp/corpus.list" \
     && ! grep -q "\.x$name\$\|^x$name\$" "$tmp/corpus.list"; then
    # x<name> is blocked only if a listed name covers it; check with the list itself
    parent=${name#*.}
    grep -qx "$parent" "$tmp/corpus.list" || { echo "FAIL: x$name is blocked but not listed"; fails=$((fails + 1)); }
  fi
done
[ "$fails" = 0 ] || exit 1
echo "PASS: $n real names compile, count and block as listed"
