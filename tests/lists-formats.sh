#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the household's published lists come in every format
# publishers use.  One source of each feeds the adult category: a hosts
# file, a plain list served gzip-compressed, an adblock list, a UT1
# archive, and a plain list that is mostly junk.  After trellis lists
# update, every name the formats hold is blocked for Sam (10), names below
# them too, an international name in its punycode form; every line that
# holds no usable name (an address, localhost, a single label, a public
# suffix, an adblock rule for something else than a whole host, two
# words, a NUL byte, bytes that are not UTF-8, a 5,000-byte line) is
# refused and counted by reason in trellis lists, and what it named is
# not blocked; the list that is mostly junk is refused whole, and none of
# its names are blocked.

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

# hosts: 4 names; an address as a name, localhost, a public suffix and a
# name without an address are refused; one comment.
cat > "$LIST_ROOT/hosts.txt" <<'EOF'
# a hosts file
0.0.0.0 hosts-a.example
127.0.0.1 hosts-b.example hosts-c.example   # two on a line
::1 localhost
0.0.0.0 0.0.0.0
0.0.0.0 co.uk
hosts-alone.example
0.0.0.0 HOSTS-D.Example.
EOF

# plain, gzip-compressed: 6 names (case, trailing dot, "*." and "." in
# front, an IDN, a comment after a name); an address, a single label, two
# words, a NUL byte, bytes that are not UTF-8 and a 5,000-byte line refused.
{
  printf 'plain-a.example\nPLAIN-B.EXAMPLE.\n*.plain-c.example\n.plain-d.example\n'
  printf 'b\xc3\xbccher-wetten.example\n192.0.2.7\nintranet\ntwo words.example\n'
  printf 'plain-e.example # with a comment\nplain-nul\000.example\n\xff\xfe-bytes.example\n'
  head -c 5000 /dev/zero | tr '\0' 'a'
  printf '.example\n'
} | gzip -c > "$LIST_ROOT/plain.txt.gz"

# adblock: 4 whole hosts; a rule with another option, one with a path, a
# cosmetic filter, an exception and a regular expression left out.
cat > "$LIST_ROOT/adblock.txt" <<'EOF'
[Adblock Plus 2.0]
! Title: a test list
||adblock-a.example^
||adblock-b.example^$third-party
||adblock-c.example^|
||adblock-d.example^$script
||adblock-e.example/ads
##.banner
@@||adblock-f.example^
adblock-g.example
/banner[0-9]+/
EOF

# UT1: adult.tar.gz holding adult/domains.
printf 'ut1-a.example\nut1-b.example\n' > "$TEST_DIR/ut1.domains"
publish_ut1 adult "$TEST_DIR/ut1.domains"

# Mostly junk: 3 names among 27 lines that are not names.
{
  printf 'junk-ok-1.example\njunk-ok-2.example\njunk-ok-3.example\n'
  for i in $(seq 1 27); do printf '<td class="x%d">not a list</td>\n' "$i"; done
} > "$LIST_ROOT/junk.txt"

write_sources adult "[source test-hosts]
url = $LIST_URL/hosts.txt
format = hosts

[source test-plain]
url = $LIST_URL/plain.txt.gz
format = plain

[source test-adblock]
url = $LIST_URL/adblock.txt
format = adblock

[source test-ut1]
url = $LIST_URL/adult.tar.gz
format = ut1

[source test-junk]
url = $LIST_URL/junk.txt
format = plain"

write_household
# shellcheck disable=SC2046
start_trellisd $(lists_trellisd_args)
trellis_as parent lists update
printf '%s\n' "$CLI_OUT" > "$TEST_DIR/update.out"
[ "$CLI_RC" = 1 ] || { _cli_context; fail "trellis lists update: exit $CLI_RC, expected 1 (the junk list fails)"; }
grep -q "5 source(s): 4 fetched, 0 not modified, 1 failed" <<<"$CLI_OUT" || { _cli_context; fail "not 4 fetched and 1 failed"; }

# source_block ID: the lines of ID's block in the last trellis lists output.
source_block ()
{
  awk -v id="$1" '$1 == id { on = 1; print; next } on && /^  [^ ]/ { on = 0 } on' <<<"$CLI_OUT"
}
expect_source ()
{
  local id=$1 want=$2 block
  block=$(source_block "$id")
  grep -qF -- "$want" <<<"$block" || { printf '%s\n' "$block" >&2; fail "$id: trellis lists lacks “$want”"; }
}

trellis_as child lists
expect_cli_rc 0
expect_source test-hosts "in force   4 names"
expect_source test-hosts "refused    4 (address 1, local 1, suffix 1, invalid 1) of 8 lines"
expect_source test-plain "in force   6 names"
expect_source test-plain "refused    6 (address 1, local 1, invalid 1, too-long 1, binary 2) of 12 lines"
expect_source test-adblock "in force   4 names"
expect_source test-adblock "refused    5 (not-host 5) of 11 lines"
expect_source test-ut1 "in force   2 names"
expect_source test-junk "in force   nothing yet: no update of it has succeeded"
expect_source test-junk "error      27 of its 30 lines are not names: not a list of this format (plain)"

blocked="hosts-a.example hosts-b.example hosts-c.example hosts-d.example
 plain-a.example plain-b.example plain-c.example www.plain-c.example plain-d.example
 xn--bcher-wetten-dlb.example plain-e.example
 adblock-a.example adblock-b.example adblock-c.example adblock-g.example
 ut1-a.example cdn.ut1-b.example"
for name in $blocked; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_blocked "category adult (age 9-12)"
done
# What was refused is not blocked (and co.uk is not, for a name under it).
for name in hosts-alone.example www.bbc.co.uk adblock-d.example adblock-e.example adblock-f.example \
            two.example plain-nul.example junk-ok-1.example junk-ok-3.example; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_resolved
done

# The names files hold exactly the names taken, normalized and sorted.
[ "$(cat "$LISTS_DIR"/sources/test-plain.*.names)" = "$(printf '%s\n' plain-a.example plain-b.example \
   plain-c.example plain-d.example plain-e.example xn--bcher-wetten-dlb.example)" ] \
  || fail "the plain list's names: $(cat "$LISTS_DIR"/sources/test-plain.*.names)"

trellisd_running || fail "trellisd is no longer running"
log "PASS: hosts, plain (gzip), adblock, UT1, an IDN and junk lines read as they should"
