#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# corpus-replay.sh NAME: replays tests/fuzz/corpus/NAME through the fuzz
# target NAME, built without libFuzzer as tests/fuzz/fuzz-NAME-replay.
# Fails if the replay fails or finds fewer than 10 inputs.
set -u

name=$1
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${TRELLIS_TOP_SRCDIR:-$here/../..}
builddir=${TRELLIS_TOP_BUILDDIR:-$srcdir}

replay="$builddir/tests/fuzz/fuzz-$name-replay"
corpus="$srcdir/tests/fuzz/corpus/$name"

if [ ! -x "$replay" ]; then
  echo "$name-corpus: $replay is missing (make check builds it)" >&2
  exit 99
fi

out=$("$replay" "$corpus") || {
  echo "$name-corpus: replay failed (exit $?)" >&2
  printf '%s\n' "$out"
  exit 1
}
printf '%s\n' "$out"

n=$(printf '%s\n' "$out" | sed -n 's/^replayed \([0-9][0-9]*\) inputs$/\1/p')
if [ -z "$n" ] || [ "$n" -lt 10 ]; then
  echo "$name-corpus: expected at least 10 inputs in $corpus, got '${n:-none}'" >&2
  exit 1
fi
exit 0
