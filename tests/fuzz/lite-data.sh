#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# lite-data.sh SRC DEST: a copy of the data folder SRC (policy/data) for
# long fuzzing runs of fuzz-household: every file and every group the tree
# has, but each list cut to its first three entries (the helplines, the
# category domains and addresses, the allow list, the safe-search host
# names) and the category.desktop translations left out.  The household
# loader reads the whole data folder on every load, and under ASan the
# shipped data costs four times what a household file does; cut, the runs
# go to the household parser.  The corpus replay in "make check" uses SRC
# itself.
set -eu

src=$1
dest=$2
first3 () { grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$' | head -n 3; }

mkdir -p "$dest/categories"
cp "$src/age-bands" "$dest/"
first3 "$src/helplines" > "$dest/helplines"
first3 "$src/allowlist" > "$dest/allowlist"
# safe-search: every provider, three host names in each list
awk -F';' '/^[[:space:]]*(domains|with-www)[[:space:]]*=/ {
             n = NF < 3 ? NF : 3; line = $1
             for (i = 2; i <= n; i++) line = line ";" $i
             print line; next }
           { print }' "$src/safe-search" > "$dest/safe-search"
for dir in "$src"/categories/*/; do
  id=$(basename "$dir")
  mkdir -p "$dest/categories/$id"
  grep -v '^[A-Za-z0-9-]*\[[^]]*\][[:space:]]*=' "$dir/category.desktop" \
    > "$dest/categories/$id/category.desktop"
  for list in "$dir"/domains "$dir"/domains.* "$dir"/cidrs; do
    [ -f "$list" ] || continue
    first3 "$list" > "$dest/categories/$id/$(basename "$list")"
  done
done
