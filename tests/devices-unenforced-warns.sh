#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# devices-unenforced-warns: devices= and default-profile= are enforced on a
# gateway, that is when [household] gateway-interfaces= names the
# interfaces the devices are on.  Without it, `trellis policy check` says,
# as a warning with FILE:LINE:COL, that they are not enforced, and names a
# child (or group) configured only by devices=, which is not filtered at
# all; the file still checks (exit 0).  With it, no such warning, and a
# gateway without default-profile= is refused: devices listed nowhere are
# never left unfiltered.
set -eu

top_srcdir=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${TRELLIS_TOP_BUILDDIR:-$top_srcdir}
trellis=$top_builddir/cli/trellis
export LC_ALL=C.UTF-8

if [ ! -x "$trellis" ]; then
  echo "SKIP: $trellis is not built"
  exit 77
fi

dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
conf=$dir/school.conf
cat >"$conf" <<'CONF'
[household]
parents = root
default-profile = guest
[child tab]
age = 9
devices = aa:bb:cc:dd:ee:01; 10.42.0.20
[child sam]
age = 10
accounts = trt-sam
devices = 10.42.0.0/28
[group guest]
age = 12
devices = 10.42.1.0/24
CONF

failed=0
rc=0
"$trellis" policy check "$conf" --data-dir "$top_srcdir/policy/data" >"$dir/out" 2>"$dir/err" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "FAIL: exit status $rc, expected 0 (the keys are legal)"
  sed 's/^/  | /' "$dir/out" "$dir/err"
  exit 1
fi

expect ()
{
  if ! grep -qF -- "$1" "$dir/err"; then
    echo "FAIL: expected on stderr a line with"
    echo "  $1"
    echo "in:"
    sed 's/^/  | /' "$dir/err"
    failed=$((failed + 1))
  fi
}

expect "school.conf:3:19: warning: default-profile = is not enforced: this household names no gateway-interfaces =, so devices listed nowhere are not filtered"
expect "school.conf:6:11: warning: devices = is not enforced: this household names no gateway-interfaces =, and [child tab] has no accounts =: tab is not filtered at all"
expect "school.conf:10:11: warning: devices = is not enforced: this household names no gateway-interfaces =; only the accounts of [child sam] are filtered"
expect "school.conf:13:11: warning: devices = is not enforced: this household names no gateway-interfaces =, and [group guest] has no accounts =: guest is not filtered at all"

# The same warnings in --json, for a tool that reads them.
"$trellis" --json policy check "$conf" --data-dir "$top_srcdir/policy/data" >"$dir/json" 2>/dev/null
if ! /usr/bin/python3 - "$dir/json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["warnings"]
need = ["school.conf:6:11: warning: devices = is not enforced: this household names no gateway-interfaces =, and [child tab]"]
sys.exit(0 if all(any(n in x for x in w) for n in need) else 1)
PY
then
  echo "FAIL: --json does not carry the warning about [child tab]"
  sed 's/^/  | /' "$dir/json"
  failed=$((failed + 1))
fi

# On a gateway the same keys are enforced (device-profile-by-mac and the
# other gateway tests prove it): no warning, and the summary shows the
# devices.
sed -i 's/^default-profile = guest$/default-profile = guest\ngateway-interfaces = eth1/' "$conf"
rc=0
"$trellis" policy check "$conf" --data-dir "$top_srcdir/policy/data" >"$dir/out" 2>"$dir/err" || rc=$?
if [ "$rc" -ne 0 ] || grep -q 'not enforced' "$dir/err"; then
  echo "FAIL: with gateway-interfaces = eth1: exit status $rc, or still a warning:"
  sed 's/^/  | /' "$dir/out" "$dir/err"
  failed=$((failed + 1))
fi
if ! grep -qF 'Devices: aa:bb:cc:dd:ee:01, 10.42.0.20' "$dir/out" \
   || ! grep -qF 'Devices listed nowhere get: guest' "$dir/out"; then
  echo "FAIL: the summary does not show the devices and the default profile:"
  sed 's/^/  | /' "$dir/out"
  failed=$((failed + 1))
fi

# A gateway without default-profile= is refused, where it is written.
sed -i '/^default-profile = /d' "$conf"
rc=0
"$trellis" policy check "$conf" --data-dir "$top_srcdir/policy/data" >"$dir/out" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] || ! grep -qF "school.conf:3:22: a gateway needs default-profile = the child or group" "$dir/out"; then
  echo "FAIL: a gateway without default-profile = was not refused at 3:22 (exit $rc):"
  sed 's/^/  | /' "$dir/out"
  failed=$((failed + 1))
fi

# A household without devices= or default-profile= gets no such warning.
cat >"$conf" <<'CONF'
[household]
parents = root
[child sam]
age = 10
accounts = trt-sam
CONF
"$trellis" policy check "$conf" --data-dir "$top_srcdir/policy/data" >"$dir/out" 2>"$dir/err"
if grep -q 'not enforced' "$dir/err"; then
  echo "FAIL: a warning about devices for a household without any:"
  sed 's/^/  | /' "$dir/err"
  failed=$((failed + 1))
fi

[ "$failed" -eq 0 ] && echo "devices-unenforced-warns: every warning seen"
[ "$failed" -eq 0 ]
