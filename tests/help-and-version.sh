#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# --help and --version on every program: exit 0, a usage text, the
# version configure was given; an unknown option is a usage error (2).
set -eu
TEST_NAME=help-and-version
build=${TRELLIS_TOP_BUILDDIR:-$(pwd)}
fail () { echo "$TEST_NAME: FAIL: $*" >&2; exit 1; }
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$build/config.h")
[ -n "$version" ] || fail "no PACKAGE_VERSION in config.h"

for prog in daemon/trellisd cli/trellis cli/trellis-notify; do
  name=$(basename "$prog")
  out=$("$build/$prog" --version) || fail "$name --version failed"
  [ "$out" = "$name $version" ] || fail "$name --version says '$out', not '$name $version'"
  out=$("$build/$prog" --help) || fail "$name --help failed"
  grep -q "^Usage:" <<<"$out" && grep -q -- "--version" <<<"$out" ||
    fail "$name --help prints no usage, or does not mention --version"
  rc=0; "$build/$prog" --no-such-option >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "$name --no-such-option exits $rc, not 2"
  echo "$name: --version, --help, a bad option: fine"
done
echo "$TEST_NAME: PASS"
