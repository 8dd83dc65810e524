#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Replays the D-Bus arguments fuzz corpus through the fuzz target (built without
# libFuzzer).  Fails if the replay fails or finds fewer than 10 inputs.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${TRELLIS_TOP_SRCDIR:-$here/../..}
builddir=${TRELLIS_TOP_BUILDDIR:-$srcdir}

replay="$builddir/tests/fuzz/fuzz-dbus-args-replay"
corpus="$srcdir/tests/fuzz/corpus/dbus-args"

if [ ! -x "$replay" ]; then
  echo "dbus-args-corpus: $replay is missing (make check builds it)" >&2
  exit 99
fi

out=$("$replay" "$corpus") || {
  echo "dbus-args-corpus: replay failed (exit $?)" >&2
  printf '%s\n' "$out"
  exit 1
}
printf '%s\n' "$out"

n=$(printf '%s\n' "$out" | sed -n 's/^replayed \([0-9][0-9]*\) inputs$/\1/p')
if [ -z "$n" ] || [ "$n" -lt 10 ]; then
  echo "dbus-args-corpus: expected at least 10 inputs in $corpus, got '${n:-none}'" >&2
  exit 1
fi
exit 0
