#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story (GC25 §56): a published adult list, written by someone else,
# also lists sites about sexual education.  After the update, Sam (10)
# still reaches them: a name on Trellis's information list (UT1's
# sexual_education list), or below one of its names, is decided as if no
# category listed it, and trellis why tells Sam why it is open.  The same
# list's pornography stays blocked, and so does the part of a listed site
# that is not on the information list.  A name the parents put in deny=
# is blocked even when it is on the information list, and explained as
# the parents' rule.  trellis lists and trellis policy check say how many
# category entries the information list overrides.

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

info=$TRELLIS_DATA_DIR/information/ut1-sexual_education
for name in doctissimo.fr onsexprime.fr masexualite.ca heterosexualite.blogs.liberation.fr; do
  grep -qx "$name" "$info" || fail "$name is not on the shipped information list"
done
line_of () { grep -n -x "$1" "$info" | cut -d: -f1; }

# The published adult list: pornography, and the over-blocking of a list
# written by someone else.
cat > "$TEST_DIR/adult.domains" <<'EOF'
doctissimo.fr
forum.doctissimo.fr
onsexprime.fr
masexualite.ca
liberation.fr
porn-one.example
porn-two.example
EOF
publish_ut1 adult "$TEST_DIR/adult.domains"
write_sources adult "[source ut1-adult]
url = $LIST_URL/adult.tar.gz
format = ut1
licence = CC-BY-SA-4.0"

DENY="example-game.com;masexualite.ca"
write_household
# shellcheck disable=SC2046
start_trellisd $(lists_trellisd_args)
trellis_as parent lists update
expect_cli_rc 0

# Pornography is blocked; the site above an information name, too.
for name in porn-one.example www.porn-two.example liberation.fr www.liberation.fr; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_blocked "category adult (age 9-12)"
done
# Sexual education resolves, as do the names below it.
for name in doctissimo.fr www.doctissimo.fr forum.doctissimo.fr onsexprime.fr \
            heterosexualite.blogs.liberation.fr; do
  dig_as_child "$UPSTREAM_V4" "$name" A
  assert_resolved
done
assert_upstream_saw doctissimo.fr
# The parents' deny= wins over the information list.
dig_as_child "$UPSTREAM_V4" masexualite.ca A
assert_blocked "$(deny_rule_text masexualite.ca)"

# trellis why, as Sam asks it.
trellis_as child why doctissimo.fr
expect_cli_rc 0
expect_cli_output "^doctissimo.fr is not blocked for you\.$"
expect_cli_output "^Rule: information doctissimo\.fr \(ut1-sexual_education:$(line_of doctissimo.fr)\)$"
expect_cli_output "doctissimo\.fr is a place to learn about health, your body and growing up\. Trellis keeps it open, even though a list of blocked websites named it"
trellis_as child why forum.doctissimo.fr
expect_cli_rc 0
expect_cli_output "Rule: information doctissimo\.fr"
trellis_as child why masexualite.ca
expect_cli_rc 1
expect_cli_output "^masexualite.ca is blocked for you\.$"
expect_cli_output "Rule: deny masexualite\.ca \(household\.conf:"
expect_cli_output "Your parents have blocked masexualite\.ca"
# A name the category lists do not hold is decided by the default.
trellis_as child why sexinfoonline.com
expect_cli_rc 0
expect_cli_output "^Rule: default$"

# How many category entries it overrides: doctissimo.fr, forum.doctissimo.fr,
# onsexprime.fr and masexualite.ca are on or below it, and
# heterosexualite.blogs.liberation.fr lies below liberation.fr.
trellis_as child lists
expect_cli_output "it overrides 5 category entries"
trellis_as parent policy check "$HOUSEHOLD" --data-dir "$TRELLIS_DATA_DIR"
expect_cli_rc 0
expect_cli_output "with the published lists in force \(trellisd\): it overrides 5 category entries"

# A 14-year-old is told in a teenager's words.
sed -i 's/^age = 10$/age = 14/' "$HOUSEHOLD"
reloads=$(grep -c 'household reloaded' "$TRELLISD_LOG" || true)
trellis_as parent policy apply
expect_cli_rc 0
for i in $(seq 1 50); do
  [ "$(grep -c 'household reloaded' "$TRELLISD_LOG")" -gt "$reloads" ] && break
  sleep 0.1
done
trellis_as child why onsexprime.fr
expect_cli_rc 0
expect_cli_output "onsexprime\.fr is on Trellis's information list \(health, sexuality, encyclopaedias\)"

trellisd_running || fail "trellisd is no longer running"
log "PASS: the information list keeps sexual education open against a category list, not against a parent's deny="
