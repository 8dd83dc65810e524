#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent types "trellis lists update".  The updater fetches
# UT1's gambling category (32,247 real names, as UT1 publishes it: a
# gambling.tar.gz holding gambling/domains, with its MD5 in MD5SUM.LST)
# over HTTPS from a publisher in the upstream namespace, checks it,
# compiles it, and trellisd puts it in force.  Then 1,000 names drawn from
# the list are NXDOMAIN with EDE 17 for Sam (10) and resolve for the
# parent; before the update they resolved for Sam too.  trellis lists
# (anyone may read it) shows the source, its licence, the names taken and
# the lines refused.  A second update asks with If-None-Match and changes
# nothing.  A child cannot start an update.

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

gunzip -c "$TRELLIS_TOP_SRCDIR/tests/lists/ut1-gambling.gz" > "$TEST_DIR/gambling.domains"
[ "$(wc -l < "$TEST_DIR/gambling.domains")" = 32247 ] || fail "the UT1 gambling list is not 32,247 lines"
publish_ut1 gambling "$TEST_DIR/gambling.domains"
write_sources gambling "[source ut1-gambling]
url = $LIST_URL/gambling.tar.gz
format = ut1
checksum-url = $LIST_URL/MD5SUM.LST
checksum = md5
licence = CC-BY-SA-4.0
attribution = UT1 blacklists, Université Toulouse Capitole (Fabrice Prigent)"

# 1,000 names drawn from the list: names (not the addresses UT1 also lists),
# not on the shipped curated list and not kept open by the information list
# (UT1's gambling list holds the NHS's gambling-help services).
grep -v -E '^[0-9.]+$' "$TEST_DIR/gambling.domains" \
  | grep -v -F -x -f <(grep -v -E '^[[:space:]]*(#|$)' "$TRELLIS_DATA_DIR/categories/gambling/domains") \
  | grep -v -E '\.nhs\.uk$' \
  | shuf -n 1000 --random-source=<(yes) > "$TEST_DIR/sample"
[ "$(wc -l < "$TEST_DIR/sample")" = 1000 ] || fail "could not draw 1,000 names"
chmod 644 "$TEST_DIR/sample"

write_household
# shellcheck disable=SC2046
start_trellisd $(lists_trellisd_args)

# dig_batch WHO: every name of the sample, in one dig; prints the number of
# NXDOMAIN answers carrying the category's EDE, then of NOERROR answers.
dig_batch ()
{
  local out
  out=$("as_$1" dig "${DIG_OPTS[@]}" "@$UPSTREAM_V4" -f "$TEST_DIR/sample" +noall +comments 2>&1) || true
  printf '%s\n' "$out" > "$TEST_DIR/dig-$1.out"
  printf '%s %s\n' \
    "$(grep -c '^; EDE: 17 (Filtered): (category gambling (age 9-12))$' <<<"$out" || true)" \
    "$(grep -c 'status: NOERROR' <<<"$out" || true)"
}

# Before: only the shipped lists are in force, and these names resolve.
read -r blocked resolved < <(dig_batch child)
[ "$blocked" = 0 ] && [ "$resolved" = 1000 ] \
  || fail "before the update: $blocked blocked, $resolved resolved of 1,000 (expected 0 and 1,000)"
: > "$UPSTREAM_LOG"

# A child cannot start an update.
trellis_as child lists update
[ "$CLI_RC" = 2 ] || fail "a child's trellis lists update: exit $CLI_RC, expected 2: $CLI_OUT"
grep -q "Only parents can update the lists" <<<"$CLI_ERR" || fail "the child is not told why: $CLI_ERR"
[ ! -e "$LISTS_DIR/manifest" ] || fail "a child's request ran the updater"

trellis_as parent lists update
printf '%s\n' "$CLI_OUT" > "$TEST_DIR/update.out"
[ "$CLI_RC" = 0 ] || fail "trellis lists update: exit $CLI_RC: $CLI_OUT"
grep -q "1 fetched, 0 not modified, 0 failed" <<<"$CLI_OUT" || fail "the update did not fetch the list: $CLI_OUT"
grep -q "In force: the published lists, generation 1" <<<"$CLI_OUT" \
  || fail "the update is not in force when trellis lists update returns: $CLI_OUT"
grep -q "lists of generation 1 in force" "$TRELLISD_LOG" || fail "trellisd did not say the lists are in force"
grep -q "^GET /MD5SUM.LST " "$LIST_SERVER_LOG" || fail "the publisher's checksums were not fetched"
# The updater ran as its own account, never as root.
[ "$(stat -c %u "$LISTS_DIR/manifest")" = "$UPDATER_UID" ] || fail "the manifest is not the updater account's"

# The parent first: a child's query that trellisd answered leaves a NAT
# flow in conntrack for a while, and a parent's query that happens to use
# the same source port to the same server would follow it.
read -r blocked resolved < <(dig_batch parent)
[ "$resolved" = 1000 ] && [ "$blocked" = 0 ] || fail "the parent: $resolved of 1,000 resolved, $blocked blocked"
: > "$UPSTREAM_LOG"
read -r blocked resolved < <(dig_batch child)
[ "$blocked" = 1000 ] || fail "after the update: $blocked of 1,000 names blocked for the child, with EDE 17 (see $TEST_DIR/dig-child.out)"
[ "$(grep -c 'status: NXDOMAIN' "$TEST_DIR/dig-child.out")" = 1000 ] || fail "not every answer is NXDOMAIN"
for name in $(head -n 20 "$TEST_DIR/sample"); do
  assert_upstream_never_saw "$name"
done

# trellis lists: anyone, the child too.
trellis_as child lists
printf '%s\n' "$CLI_OUT" > "$TEST_DIR/lists.out"
[ "$CLI_RC" = 0 ] || fail "the child's trellis lists: exit $CLI_RC: $CLI_OUT"
for want in "ut1-gambling (gambling; shipped)" "$LIST_URL/gambling.tar.gz (ut1)" \
            "CC-BY-SA-4.0: UT1 blacklists, Université Toulouse Capitole (Fabrice Prigent)" \
            "in force   32233 names, version" "refused    14 (address 14) of 32247 lines"; do
  grep -qF -- "$want" <<<"$CLI_OUT" || fail "trellis lists lacks “$want”:
$CLI_OUT"
done
grep -q "^    error" <<<"$CLI_OUT" && fail "trellis lists shows an error: $CLI_OUT"
trellis_as child --json lists
"$PYTHON3" -c '
import json, sys
d = json.loads(sys.stdin.read())
s = [x for x in d["sources"] if x["id"] == "ut1-gambling"][0]
assert d["lists"]["in_force"] == "published" and d["lists"]["generation"] == 1, d["lists"]
assert s["names"] == 32233 and s["in_force"] and s["licence"] == "CC-BY-SA-4.0", s
assert s["refused"] == "address=14" and s["last_error"] == "", s
' <<<"$CLI_OUT" || fail "trellis lists --json: $CLI_OUT"

# Again: a conditional request, nothing new to compile.
trellis_as parent lists update
[ "$CLI_RC" = 0 ] || fail "the second update: exit $CLI_RC: $CLI_OUT"
grep -q "0 fetched, 1 not modified, 0 failed; nothing to compile" <<<"$CLI_OUT" \
  || fail "the second update fetched again: $CLI_OUT"
grep -q '^GET /gambling.tar.gz if-none-match="' "$LIST_SERVER_LOG" || fail "no If-None-Match was sent"
read -r blocked resolved < <(dig_batch child)
[ "$blocked" = 1000 ] || fail "after the second update: $blocked of 1,000 blocked"

trellisd_running || fail "trellisd is no longer running"
log "PASS: 32,247 published names fetched over HTTPS, compiled, and 1,000 of them blocked for the child"
