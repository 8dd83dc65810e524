#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the publisher has a bad day.  After a good update (UT1's
# gambling list, 32,233 names in force), each of these is served in turn
# at the same address, and a parent runs trellis lists update:
#
#   HTTP 500; the archive cut in half (a truncated gzip); an HTML page with
#   status 200; a 1 GB stream (generated as it is sent, never stored); a
#   list that shrank by 90%; a certificate that expired yesterday; and an
#   archive whose MD5 is not the one in the publisher's MD5SUM.LST.
#
# Each time the update reports the failure (exit 1), trellis lists shows
# the error in words, the last good list stays in force (the same
# generation, the same 32,233 names), and the child's queries for names of
# the list are still answered NXDOMAIN.  Then the publisher recovers and
# the next update is in force again.

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
LISTS_MAX_DOWNLOAD=64M
setup_lists_dir
start_system_bus

gunzip -c "$TRELLIS_TOP_SRCDIR/tests/lists/ut1-gambling.gz" > "$TEST_DIR/gambling.domains"
publish_ut1 gambling "$TEST_DIR/gambling.domains"
cp "$LIST_ROOT/gambling.tar.gz" "$TEST_DIR/good.tar.gz"
cp "$LIST_ROOT/MD5SUM.LST" "$TEST_DIR/good.md5"
write_sources gambling "[source ut1-gambling]
url = $LIST_URL/gambling.tar.gz
format = ut1
checksum-url = $LIST_URL/MD5SUM.LST
checksum = md5
licence = CC-BY-SA-4.0"
grep -v -E '^[0-9.]+$' "$TEST_DIR/gambling.domains" | grep -v -E '\.nhs\.uk$' \
  | shuf -n 50 --random-source=<(yes) > "$TEST_DIR/sample"
chmod 644 "$TEST_DIR/sample"

write_household
# shellcheck disable=SC2046
start_trellisd $(lists_trellisd_args)

trellis_as parent lists update
expect_cli_rc 0
index_before=$(sed -n 's/^index=//p' "$LISTS_DIR/manifest")

# The sample is blocked for the child, every one of them.
child_still_blocked ()
{
  local out n
  out=$(as_child dig "${DIG_OPTS[@]}" "@$UPSTREAM_V4" -f "$TEST_DIR/sample" +noall +comments 2>&1) || true
  n=$(grep -c '^; EDE: 17 (Filtered): (category gambling (age 9-12))$' <<<"$out" || true)
  [ "$n" = 50 ] || fail "$1: $n of 50 names of the list are blocked for the child"
}
child_still_blocked "after the good update"

# bad_update WHAT ERROR-TEXT: an update now fails with ERROR-TEXT in
# trellis lists, and nothing in force changed.
bad_update ()
{
  local what=$1 want=$2
  trellis_as parent lists update
  printf '%s\n' "---- $what" "$CLI_OUT" >> "$TEST_DIR/failed-updates.out"
  [ "$CLI_RC" = 1 ] || { _cli_context; fail "$what: trellis lists update exited $CLI_RC, expected 1"; }
  grep -q "0 fetched, 0 not modified, 1 failed" <<<"$CLI_OUT" || { _cli_context; fail "$what: not reported as failed"; }
  grep -q "Some lists could not be updated: their last good lists stay in force" <<<"$CLI_OUT" \
    || { _cli_context; fail "$what: the parent is not told the last good list stays"; }
  trellis_as parent lists
  grep '^    error ' <<<"$CLI_OUT" | grep -qF -- "$want" \
    || { _cli_context; fail "$what: trellis lists does not show “$want”"; }
  grep -q "In force: the published lists, generation 1," <<<"$CLI_OUT" || { _cli_context; fail "$what: the generation in force changed"; }
  grep -qF "in force   32233 names" <<<"$CLI_OUT" || { _cli_context; fail "$what: the list in force changed"; }
  [ "$(sed -n 's/^index=//p' "$LISTS_DIR/manifest")" = "$index_before" ] || fail "$what: a new index was compiled"
  child_still_blocked "$what"
  trellisd_running || fail "$what: trellisd is no longer running"
  log "ok: $what"
}

restore ()
{
  rm -f "$LIST_ROOT"/gambling.tar.gz.status "$LIST_ROOT"/gambling.tar.gz.stream
  cp "$TEST_DIR/good.tar.gz" "$LIST_ROOT/gambling.tar.gz.new"
  mv "$LIST_ROOT/gambling.tar.gz.new" "$LIST_ROOT/gambling.tar.gz"
  cp "$TEST_DIR/good.md5" "$LIST_ROOT/MD5SUM.LST"
}

# 1. The server fails.
echo 500 > "$LIST_ROOT/gambling.tar.gz.status"
bad_update "HTTP 500" "the server answered HTTP 500"
restore

# 2. A truncated gzip: half the archive, its MD5 published to match (so it
#    is the archive, not the checksum, that gives it away).
size=$(stat -c %s "$TEST_DIR/good.tar.gz")
head -c $((size / 2)) "$TEST_DIR/good.tar.gz" > "$LIST_ROOT/gambling.tar.gz"
(cd "$LIST_ROOT" && md5sum gambling.tar.gz > MD5SUM.LST)
bad_update "a truncated gzip" "damaged or cut short"
restore

# 3. An HTML page with status 200.
printf '<!DOCTYPE html>\n<html><body><h1>Maintenance</h1><p>Back soon.</p></body></html>\n' \
  > "$LIST_ROOT/gambling.tar.gz"
(cd "$LIST_ROOT" && md5sum gambling.tar.gz > MD5SUM.LST)
bad_update "an HTML page" "the server sent a web page (HTML), not a list"
restore

# 4. A 1 GB stream, made as it is sent: the cap (64 MiB here) stops it.
echo 1073741824 > "$LIST_ROOT/gambling.tar.gz.stream"
start=$(date +%s)
bad_update "a 1 GB stream" "the list is larger than 64 MiB: stopped"
[ $(( $(date +%s) - start )) -lt 60 ] || fail "the 1 GB stream was not stopped early"
[ -z "$(ls -A "$LISTS_DIR/tmp")" ] || fail "the stream left files in tmp/: $(ls -la "$LISTS_DIR/tmp")"
restore

# 5. A list that shrank by 90%.
grep -v -E '^[0-9.]+$' "$TEST_DIR/gambling.domains" | awk 'NR % 10 == 0' > "$TEST_DIR/shrunk.domains"
publish_ut1 gambling "$TEST_DIR/shrunk.domains"
bad_update "a list that shrank by 90%" "the list shrank from 32233 to 3223 names, by more than half"
restore

# 6. A certificate that expired yesterday.
switch_certificate
bad_update "an expired certificate" "the server's certificate is not trusted"
trellis_as parent lists
grep -qi "expired" <<<"$CLI_OUT" || { _cli_context; fail "the expired certificate is not named as such"; }
switch_certificate

# 7. An archive that is not the one the publisher's MD5SUM.LST names.
publish_ut1 gambling "$TEST_DIR/shrunk.domains"
cp "$TEST_DIR/good.md5" "$LIST_ROOT/MD5SUM.LST"
bad_update "a checksum that does not match" "the download does not match the publisher's md5 checksum"
restore

# The publisher is back, with one name more: in force again.
echo "one-more-casino.example" >> "$TEST_DIR/gambling.domains"
publish_ut1 gambling "$TEST_DIR/gambling.domains"
trellis_as parent lists update
expect_cli_rc 0
grep -q "In force: the published lists, generation 2," <<<"$CLI_OUT" || { _cli_context; fail "the good update is not in force"; }
grep -qF "in force   32234 names" <<<"$CLI_OUT" || { _cli_context; fail "the good update's names are not in force"; }
grep -q "^    error" <<<"$CLI_OUT" && { _cli_context; fail "the error is still shown after a good update"; }
dig_as_child "$UPSTREAM_V4" one-more-casino.example A
assert_blocked "category gambling (age 9-12)"
child_still_blocked "after the publisher recovered"

log "PASS: seven bad downloads, each refused with its error shown, the last good list in force throughout"
