#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Replays the list reader fuzz corpus through the fuzz target (built without
# libFuzzer).  Fails if the replay fails or finds fewer than 10 inputs.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${TRELLIS_TOP_SRCDIR:-$here/../..}
builddir=${TRELLIS_TOP_BUILDDIR:-$srcdir}

replay="$builddir/tests/fuzz/fuzz-list-parse-replay"
corpus="$srcdir/tests/fuzz/corpus/list-parse"

if [ ! -x "$replay" ]; then
  echo "list-parse-corpus: $replay is missing (make check builds it)" >&2
  exit 99
fi

out=$("$replay" "$corpus") || {
  echo "list-parse-corpus: replay failed (exit $?)" >&2
  printf '%s\n' "$out"
  exit 1
}
printf '%s\n' "$out"

n=$(printf '%s\n' "$out" | sed -n 's/^replayed \([0-9][0-9]*\) inputs$/\1/p')
if [ -z "$n" ] || [ "$n" -lt 10 ]; then
  echo "list-parse-corpus: expected at least 10 inputs in $corpus, got '${n:-none}'" >&2
  exit 1
fi
exit 0
