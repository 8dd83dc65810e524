#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the parents choose their lists.  Trellis ships two gambling
# sources (UT1's, and a hosts list); the household adds a list of its own
# to the adult category and stops using UT1's gambling list:
#
#   [household]  remove-sources = ut1-gambling
#   [source family-adult]  category = adult, url = ..., format = plain
#
# trellis policy apply reads the file, trellisd sees the sources changed
# and runs the updater by itself; then UT1's names are no longer blocked
# (those the other gambling list also has still are), the household's are
# blocked as adult, and trellis lists shows the shipped source as removed
# and the household's as the household's, with the line it is written on.
# A source written wrong (http://) is refused with its line and column,
# and the lists in force stay as they were.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/lists.sh"

require_root_and_netns
setup_net
start_upstream
create_accounts
make_test_ca
start_list_server
make_test_data_dir
setup_lists_dir
start_system_bus

printf 'ut1-only-casino.example\nshared-casino.example\n' > "$TEST_DIR/ut1.domains"
publish_ut1 gambling "$TEST_DIR/ut1.domains"
printf '0.0.0.0 hosts-only-casino.example\n0.0.0.0 shared-casino.example\n' > "$LIST_ROOT/gambling-hosts.txt"
printf 'family-one.example\nfamily-two.example\nfamily-three.example\n' > "$LIST_ROOT/family-adult.txt"
write_sources gambling "[source ut1-gambling]
url = $LIST_URL/gambling.tar.gz
format = ut1
licence = CC-BY-SA-4.0

[source hosts-gambling]
url = $LIST_URL/gambling-hosts.txt
format = hosts
licence = Unlicense"

write_household
# shellcheck disable=SC2046
start_trellisd $(lists_trellisd_args)
trellis_as parent lists update
expect_cli_rc 0
for name in ut1-only-casino.example shared-casino.example hosts-only-casino.example; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_blocked "category gambling (age 9-12)"
done
dig_as_child "$UPSTREAM_V4" family-one.example A
assert_resolved

# The household's choice.
cat >> "$HOUSEHOLD" <<EOF

[source family-adult]
category = adult
url = $LIST_URL/family-adult.txt   # our own list
format = plain
licence = CC0-1.0
attribution = the Example family
EOF
sed -i "s/^on-failure = .*/&\nremove-sources = ut1-gambling/" "$HOUSEHOLD"
source_line=$(grep -n '^\[source family-adult\]' "$HOUSEHOLD" | cut -d: -f1)

trellis_as parent policy check "$HOUSEHOLD" --data-dir "$TRELLIS_DATA_DIR"
expect_cli_rc 0
expect_cli_output "^  adult: family-adult \($HOUSEHOLD:$source_line\)$"
expect_cli_output "^  gambling: hosts-gambling; removed by the household: ut1-gambling$"

trellis_as parent policy apply
expect_cli_rc 0
wait_for_generation 2
grep -q "list update started" "$TRELLISD_LOG" || fail "trellisd did not run the updater when the sources changed"

dig_as_child "$UPSTREAM_V4" ut1-only-casino.example A
assert_resolved
for name in shared-casino.example hosts-only-casino.example; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_blocked "category gambling (age 9-12)"
done
for name in family-one.example www.family-three.example; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_blocked "category adult (age 9-12)"
done

trellis_as child lists
expect_cli_rc 0
printf '%s\n' "$CLI_OUT" > "$TEST_DIR/lists.out"
block_of ()
{
  awk -v id="$1" '$1 == id { on = 1; print; next } on && /^  [^ ]/ { on = 0 } on' <<<"$CLI_OUT"
}
grep -qF "  family-adult (adult; the household's, $HOUSEHOLD:$source_line)" <<<"$CLI_OUT" \
  || { _cli_context; fail "trellis lists does not show the household's source and where it is written"; }
block_of family-adult | grep -qF "in force   3 names" || { _cli_context; fail "the household's list is not in force"; }
block_of family-adult | grep -qF "licence    CC0-1.0: the Example family" || { _cli_context; fail "its licence is not shown"; }
block_of ut1-gambling | grep -qF "state      removed by the household (remove-sources=): not used" \
  || { _cli_context; fail "trellis lists does not show ut1-gambling as removed"; }
block_of hosts-gambling | grep -qF "in force   2 names" || { _cli_context; fail "the other gambling list is not in force"; }
trellis_as child --json lists
"$PYTHON3" -c '
import json, sys
d = {s["id"]: s for s in json.loads(sys.stdin.read())["sources"]}
assert d["ut1-gambling"]["removed"] and not d["ut1-gambling"]["in_force"], d["ut1-gambling"]
assert d["family-adult"]["origin"] == "household" and d["family-adult"]["names"] == 3, d["family-adult"]
' <<<"$CLI_OUT" || fail "trellis lists --json: $CLI_OUT"

# A source written wrong: refused, with its place; nothing changes.
generation_before=$(sed -n 's/^generation=//p' "$LISTS_DIR/manifest")
sed -i "s|^url = $LIST_URL/family-adult.txt.*|url = http://10.53.0.2/family-adult.txt|" "$HOUSEHOLD"
url_line=$(grep -n '^url = http://' "$HOUSEHOLD" | cut -d: -f1)
trellis_as parent policy check "$HOUSEHOLD" --data-dir "$TRELLIS_DATA_DIR"
expect_cli_rc 1
grep -qF "household.conf:$url_line:7: “http://10.53.0.2/family-adult.txt” is not an https:// address: lists are only fetched over HTTPS" \
  <<<"$CLI_ERR" || { _cli_context; fail "the http:// source is not refused with its place"; }
failures=$(grep -c "household not reloaded" "$TRELLISD_LOG" || true)
kill -HUP "$TRELLISD_PID"
for i in $(seq 1 50); do
  [ "$(grep -c "household not reloaded" "$TRELLISD_LOG" || true)" -gt "$failures" ] && break
  sleep 0.1
done
[ "$(grep -c "household not reloaded" "$TRELLISD_LOG" || true)" -gt "$failures" ] || fail "trellisd took the broken file"
[ "$(sed -n 's/^generation=//p' "$LISTS_DIR/manifest")" = "$generation_before" ] || fail "the lists changed"
dig_as_child "$UPSTREAM_V4" family-two.example A
assert_blocked "category adult (age 9-12)"

trellisd_running || fail "trellisd is no longer running"
log "PASS: the household adds a list to a category and removes a shipped one; trellis lists shows both"
