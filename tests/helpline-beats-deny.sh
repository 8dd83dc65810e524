#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: whatever the household file says, Sam can always reach a
# helpline (GC25 §76, §78): a deny= of the helpline, a category list that
# (wrongly) contains it, quiet hours that cover this very minute, and
# allow-list mode all lose to the shipped helpline list.  Each time, another
# name is checked to be blocked, so the filter is really on.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack --no-household

helpline=$(grep -v -E '^[[:space:]]*(#|$)' "$TRELLIS_DATA_DIR/helplines" | head -1 | cut -d'|' -f1 | tr -d '[:space:]')
[ -n "$helpline" ] || fail "no helpline in $TRELLIS_DATA_DIR/helplines"

# A private copy of the shipped data whose gambling list wrongly holds the helpline.
data="$TEST_DIR/data"
cp -rL "$TRELLIS_DATA_DIR" "$data"
echo "$helpline" >> "$data/categories/gambling/domains"
chmod -R a+rX "$data"
TRELLIS_DATA_DIR=$data

check ()  # check WHAT BLOCKED-NAME
{
  dig_as_child "$UPSTREAM_V4" "$helpline" A
  assert_resolved
  dig_as_child "$UPSTREAM_V4" "www.$helpline" AAAA
  assert_resolved "$UPSTREAM_ANSWER_V6"
  dig_as_child "$UPSTREAM_V4" "$2" A
  if [ "$(dig_status)" != NXDOMAIN ]; then
    _dig_context
    fail "$1: $2 should be blocked (is the filter on?), got '$(dig_status)'"
  fi
  log "ok: the helpline $helpline resolves despite $1"
}

# 1. deny= names the helpline; the category list holds it.
DENY="$helpline;example-game.com" write_household
start_trellisd
check "deny= and a category list" example-game.com

# 2. Quiet hours that cover now, in the household's zone (UTC here), all week.
from=$(date -u -d '-1 hour' +%H:%M)
to=$(date -u -d '+1 hour' +%H:%M)
DENY="example-game.com" write_household "quiet-hours = Mon-Sun $from-$to"
sed -i "s/^\[household\]$/[household]\ntimezone = UTC/" "$HOUSEHOLD"
reload_trellisd
check "quiet hours ($from-$to UTC)" en.wikipedia.org

# 3. Allow-list mode: only allow= and the curated list; the helpline is on neither.
DENY="example-game.com" write_household "mode = allowlist"
reload_trellisd
check "allow-list mode" not-on-the-list.example

assert_upstream_saw "$helpline"
trellisd_running || fail "trellisd is no longer running"
log "PASS: a helpline beats deny, categories, quiet hours and allow-list mode"
