#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The installed unit's sandbox as systemd 252 rates it: prints every check
# and the score, and fails above 2.0.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

ct_require
deb_ensure
ct_root_ensure
ct_boot
ct_install /debs

out=$(cx systemd-analyze security --no-pager trellisd.service 2>&1) ||
  fail "systemd-analyze security failed: $out"
printf '%s\n' "$out"
score=$(sed -n 's/.*Overall exposure level for trellisd.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || fail "no score in systemd-analyze's output"
echo "systemd-analyze security trellisd.service: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score is above 2.0"
log "PASS"
