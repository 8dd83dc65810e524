#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The list importer reads hosts files, plain lists and adblock lines as its
# documentation says: its own self-test on inline samples.
set -eu
top=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
if ! [ -x /usr/bin/python3 ]; then
  echo "SKIP: /usr/bin/python3 is not installed"
  exit 77
fi
out=$(/usr/bin/python3 "$top/policy/import-list" --self-test)
echo "$out"
grep -q ", 0 failed" <<<"$out"
