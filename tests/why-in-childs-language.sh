#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam reads French (GC25 §25).  When Sam's trellis asks the
# daemon why a site is blocked, it sends Sam's locale, and the explanation
# comes back in French: the parents' deny rule from the catalogs, the
# category's from its category.desktop.  The daemon's own language is
# unchanged for everyone else.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
command -v msgfmt >/dev/null || skip "msgfmt (gettext) is not installed"
command -v localedef >/dev/null || skip "localedef (libc-bin) is not installed"
setup_stack --bus --no-trellisd

# The French catalog and locale, made here (nothing is installed).
mkdir -p "$TEST_DIR/mo/fr/LC_MESSAGES" "$TEST_DIR/locale"
msgfmt -o "$TEST_DIR/mo/fr/LC_MESSAGES/trellis.mo" "$TRELLIS_TOP_SRCDIR/po/fr.po"
localedef -i fr_FR -f UTF-8 "$TEST_DIR/locale/fr_FR.UTF-8" 2>/dev/null \
  || [ -d "$TEST_DIR/locale/fr_FR.UTF-8" ] || skip "cannot build the fr_FR.UTF-8 locale (package locales)"
export LOCPATH="$TEST_DIR/locale" TRELLIS_LOCALEDIR="$TEST_DIR/mo"
start_trellisd
wait_for_trellisd_on_bus

gambling=$(grep -v -E '^[[:space:]]*(#|$)' "$TRELLIS_DATA_DIR/categories/gambling/domains" | head -1)
want_fr=$(sed -n 's/^Explanation-9-12\[fr\]=//p' "$TRELLIS_DATA_DIR/categories/gambling/category.desktop")
want_en=$(sed -n 's/^Explanation-9-12=//p' "$TRELLIS_DATA_DIR/categories/gambling/category.desktop")

gdbus_as child Why "" example-game.com "fr_FR.UTF-8"
expect_gdbus_ok
grep -qF "Tes parents ont bloqué example-game.com" <<<"$GDBUS_OUT" \
  || fail "the deny explanation is not in French: $GDBUS_OUT"

gdbus_as child Why "" "$gambling" "fr_FR.UTF-8"
expect_gdbus_ok
grep -qF -- "$want_fr" <<<"$GDBUS_OUT" || fail "the category explanation is not the French one: $GDBUS_OUT"

# Without a locale: the daemon's (English here).
gdbus_as child Why "" "$gambling" ""
expect_gdbus_ok
grep -qF -- "$want_en" <<<"$GDBUS_OUT" || fail "without a locale the explanation should be English: $GDBUS_OUT"
log "PASS: the daemon explains in the language the child's trellis asks in"
