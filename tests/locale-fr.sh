#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# locale-fr: a child whose desktop speaks French (or Arabic) gets Trellis's
# answers in that language.  "trellis why" runs in fr_FR.UTF-8 and in
# ar_EG.UTF-8 and must print the translated "is blocked for" sentence, the
# translated explanation of a parent's rule and of a category (the
# category.desktop's Explanation-9-12[LL] key), and none of the English
# ones; "trellis policy check" must report a household file's mistake in
# French.  Every po/LL.po of po/LINGUAS must compile (msgfmt -c) with no
# untranslated or fuzzy message, and every category.desktop must have a
# Key[LL]= line for each of its texts and each of those languages.
#
# Nothing is installed: the catalogs are compiled into a temporary folder
# that the CLI reads through TRELLIS_LOCALEDIR, and the locales are built
# with localedef into another one that glibc reads through LOCPATH.
# Exit 77 (SKIP) only when msgfmt, localedef or the glibc locale sources
# (Debian package "locales") are missing.  No root needed.
set -eu

top_srcdir=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${TRELLIS_TOP_BUILDDIR:-$top_srcdir}
trellis=${TRELLIS_CLI:-$top_builddir/cli/trellis}
po=$top_srcdir/po
data=$top_srcdir/policy/data

skip () { echo "SKIP: $*"; exit 77; }
fail () { echo "FAIL: $*" >&2; exit 1; }

[ -x "$trellis" ] || fail "$trellis is not built"
command -v msgfmt >/dev/null || skip "msgfmt (gettext) is not installed"
command -v localedef >/dev/null || skip "localedef (libc-bin) is not installed"

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# --------------------------------------------------------------------------
# Every catalog is complete and compiles; install it where the CLI looks.
for lang in $(sed -e 's/#.*//' "$po/LINGUAS"); do
  mkdir -p "$tmp/mo/$lang/LC_MESSAGES"
  if ! stats=$(msgfmt -c --statistics -o "$tmp/mo/$lang/LC_MESSAGES/trellis.mo" \
                      "$po/$lang.po" 2>&1); then
    printf '%s\n' "$stats" >&2
    fail "po/$lang.po does not compile"
  fi
  case $stats in
    *untranslated*|*fuzzy*) fail "po/$lang.po is incomplete: $stats" ;;
  esac
  echo "po/$lang.po: $stats"
done
[ -f "$tmp/mo/fr/LC_MESSAGES/trellis.mo" ] || fail "po/LINGUAS lists no fr"
[ -f "$tmp/mo/ar/LC_MESSAGES/trellis.mo" ] || fail "po/LINGUAS lists no ar"

# Every category text is translated into every language of po/LINGUAS.
for desktop in "$top_srcdir"/policy/categories/*/category.desktop; do
  for key in $(sed -n -e 's/^\(Name\|Description\|Explanation-[a-z0-9-]*\)=.*/\1/p' "$desktop"); do
    for lang in $(sed -e 's/#.*//' "$po/LINGUAS"); do
      grep -q "^$key\[$lang\]=." "$desktop" \
        || fail "${desktop#"$top_srcdir"/}: no ${key}[${lang}]= line"
    done
  done
done

# --------------------------------------------------------------------------
# The locales, built here so the test does not depend on the machine's.
# make_locale NAME SOURCE: sets LOC_ENV to the environment selecting it.
make_locale ()
{
  local name=$1 source=$2 out
  mkdir -p "$tmp/locale"
  if out=$(localedef -i "$source" -f UTF-8 "$tmp/locale/$name" 2>&1) \
     && [ -d "$tmp/locale/$name" ]; then
    LOC_ENV="LOCPATH=$tmp/locale LC_ALL=$name"
  elif locale -a 2>/dev/null | grep -qixF "${name/UTF-8/utf8}"; then
    LOC_ENV="LC_ALL=$name"
  else
    printf '%s\n' "$out"
    skip "cannot make the $name locale (install the Debian package \"locales\")"
  fi
  # glibc refuses a locale it cannot load: check the setting took.
  # LOC_ENV is split into words on purpose (mktemp paths have no spaces).
  # shellcheck disable=SC2086
  if [ "$(env $LOC_ENV locale charmap 2>/dev/null)" != "UTF-8" ]; then
    fail "$name was built but does not load (env $LOC_ENV)"
  fi
}

# A household where the caller is a parent, so --account works without root.
caller=$(id -un)
cat >"$tmp/household.conf" <<EOF
# SPDX-License-Identifier: GPL-3.0-or-later
[household]
parents = $caller
[child sam]
age = 10
accounts = trellis-child
deny = example-game.com
EOF

# run LOCALE_ENV ARGS...: the CLI in that locale; sets OUT and RC.
run ()
{
  local loc=$1
  shift
  DESC="env $loc trellis $*"
  RC=0
  # shellcheck disable=SC2086  # $loc: VAR=VALUE words, split on purpose
  OUT=$(env -u LANGUAGE -u LANG $loc TRELLIS_LOCALEDIR="$tmp/mo" "$trellis" "$@" 2>&1) || RC=$?
}

why ()
{
  run "$1" why "$2" --household "$tmp/household.conf" --data-dir "$data" --account trellis-child
}

# show: the failing run's output, and the likely cause of English output.
show ()
{
  printf '%s\n' "---- $DESC: exit $RC ----" "$OUT" >&2
  grep -q TRELLIS_LOCALEDIR "$trellis" \
    || echo "note: $trellis does not read TRELLIS_LOCALEDIR, so it cannot find the catalogs" >&2
}

expect_rc ()
{
  [ "$RC" = "$1" ] || { show; fail "$DESC: expected exit $1, got $RC"; }
}

expect ()
{
  printf '%s\n' "$OUT" | grep -qF -- "$1" || { show; fail "$DESC: the output lacks \"$1\""; }
}

expect_not ()
{
  if printf '%s\n' "$OUT" | grep -qiF -- "$1"; then
    show
    fail "$DESC: the output holds the English \"$1\""
  fi
}

# --------------------------------------------------------------------------
# English first, so the checks below are known to look at the right lines.
why "LC_ALL=C.UTF-8" example-game.com
expect_rc 1
expect "example-game.com is blocked for sam (account trellis-child)."
expect "Your parents have blocked example-game.com."
why "LC_ALL=C.UTF-8" bet365.com
expect_rc 1
expect "This is a betting site where people can lose real money"

# --------------------------------------------------------------------------
# French.
make_locale fr_FR.UTF-8 fr_FR
fr=$LOC_ENV

why "$fr" example-game.com
expect_rc 1
expect "example-game.com est bloqué pour sam (compte trellis-child)."
expect "Règle : deny example-game.com"
expect "Tes parents ont bloqué example-game.com. Si tu penses que c’est une erreur"
expect_not "is blocked for"
expect_not "Your parents"
expect_not "Rule:"

# The category's own explanation, from category.desktop's Explanation-9-12[fr].
why "$fr" bet365.com
expect_rc 1
expect "bet365.com est bloqué pour sam"
expect "C’est un site de paris où l’on peut perdre de l’argent réel, alors il est bloqué."
expect_not "betting site"
expect_not "is blocked for"

why "$fr" example.org
expect_rc 0
expect "example.org n’est pas bloqué pour sam (compte trellis-child)."
expect "Aucune règle de ta famille ne parle de ce site"
expect_not "not blocked"

# A household file's mistake, in French, with its line and column.
run "$fr" policy check "$top_srcdir/tests/policy-check-errors/01-unknown-category.conf" \
    --data-dir "$data"
expect_rc 1
expect "01-unknown-category.conf:7:10"
expect "il n’y a pas de catégorie « gambing » ; voulais-tu dire « gambling » ?"
expect_not "there is no category"
expect_not "did you mean"

# --------------------------------------------------------------------------
# Arabic: right-to-left text, with Latin names inside it.
make_locale ar_EG.UTF-8 ar_EG
ar=$LOC_ENV

why "$ar" example-game.com
expect_rc 1
expect "الموقع example-game.com محجوب عن sam (الحساب trellis-child)."
expect "القاعدة: deny example-game.com"
expect "حجب والداك الموقع example-game.com."
expect_not "is blocked for"
expect_not "Your parents"

why "$ar" bet365.com
expect_rc 1
expect "هذا موقع مراهنات يمكن أن يخسر فيه الناس مالًا حقيقيًّا، لذلك هو محجوب."
expect_not "betting site"

# The output is well-formed UTF-8 (no byte cut in the middle of a letter).
printf '%s' "$OUT" | iconv -f UTF-8 -t UTF-8 >/dev/null \
  || { show; fail "$DESC: the output is not valid UTF-8"; }

echo "PASS: trellis why and policy check speak French and Arabic"
