#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the lists change while Sam (10) is online.  Sam's resolver
# keeps asking for names of the gambling list (and for ordinary names)
# while the parents run update after update, each changing 1% of a list of
# 232,000 names (UT1's gambling list and 200,000 more), and apply the
# household in between.  Not one of Sam's queries for a listed name is
# answered unfiltered, times out or leaves the machine: the old index
# serves until the new one is mapped.  The ordinary names resolve
# throughout.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/lists.sh"

require_root_and_netns
setup_net
UPSTREAM_LOG_QUERIES=1
start_upstream
create_accounts
make_test_ca
start_list_server
make_test_data_dir
setup_lists_dir
start_system_bus
loop=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/query-loop.py")

gunzip -c "$TRELLIS_TOP_SRCDIR/tests/lists/ut1-gambling.gz" | grep -v -E '^[0-9.]+$' > "$TEST_DIR/ut1.domains"
# 200,000 more, of a list's shape; each update drops 1% of them and adds 1% new.
"$PYTHON3" -c '
import random
r = random.Random(7)
for i in range(200000):
    print("bet%06d-%s.example" % (i, "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))))
' > "$TEST_DIR/more.domains"
publish ()
{
  local generation=$1
  awk -v g="$generation" 'NR % 100 != g % 100' "$TEST_DIR/more.domains" > "$TEST_DIR/round.domains"
  awk -v g="$generation" 'NR <= 2000 { printf "new%d-%d.example\n", g, NR }' "$TEST_DIR/more.domains" \
    >> "$TEST_DIR/round.domains"
  cat "$TEST_DIR/ut1.domains" "$TEST_DIR/round.domains" | sort > "$TEST_DIR/published.domains"
  publish_ut1 gambling "$TEST_DIR/published.domains"
}
publish 0
write_sources gambling "[source ut1-gambling]
url = $LIST_URL/gambling.tar.gz
format = ut1
licence = CC-BY-SA-4.0"

write_household
# shellcheck disable=SC2046
start_trellisd $(lists_trellisd_args)
trellis_as parent lists update
expect_cli_rc 0

# Names on every version of the list (UT1's), and names on none.
listed=$(grep -v -E '\.nhs\.uk$' "$TEST_DIR/ut1.domains" | shuf -n 40 --random-source=<(yes))
ordinary="www.bbc.co.uk en.wikipedia.org example.org gamblersanonymous.org"
# shellcheck disable=SC2086
as_child "$PYTHON3" "$loop" "$UPSTREAM_V4" 25 $listed $ordinary > "$TEST_DIR/loop.out" 2>&1 &
loop_pid=$!
track_pid "$loop_pid"

updates=0
while kill -0 "$loop_pid" 2>/dev/null; do
  updates=$((updates + 1))
  publish "$updates"
  trellis_as parent lists update
  [ "$CLI_RC" = 0 ] || { _cli_context; fail "update $updates failed"; }
  if [ $((updates % 3)) = 0 ]; then
    trellis_as parent policy apply
  fi
done
wait "$loop_pid" || fail "the query loop failed: $(cat "$TEST_DIR/loop.out")"
_untrack_pid "$loop_pid"
[ "$updates" -ge 3 ] || fail "only $updates update(s) ran while the child asked"
patched=$(grep -c "patched into generation" "$TRELLISD_LOG" || true)
[ "$patched" -ge 2 ] || fail "the updates were not patches of the index in force ($patched)"
log "$updates updates ($patched patched) while the child asked; the loop says:"
cat "$TEST_DIR/loop.out" >&2

for name in $listed; do
  line=$(grep "^$name " "$TEST_DIR/loop.out") || fail "no result for $name"
  sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$line")
  blocked=$(sed -n 's/.* nxdomain_ede17=\([0-9]*\).*/\1/p' <<<"$line")
  [ "$sent" -gt 0 ] || fail "$name was never asked"
  [ "$blocked" = "$sent" ] || fail "$name: $blocked of $sent answers were blocked: $line"
  assert_upstream_never_saw "$name"
done
for name in $ordinary; do
  line=$(grep "^$name " "$TEST_DIR/loop.out") || fail "no result for $name"
  sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$line")
  resolved=$(sed -n 's/.* noerror=\([0-9]*\).*/\1/p' <<<"$line")
  [ "$resolved" = "$sent" ] || fail "$name: $resolved of $sent resolved: $line"
done

trellisd_running || fail "trellisd is no longer running"
log "PASS: no listed name was answered unfiltered during $updates list updates"
