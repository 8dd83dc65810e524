#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The bash completion of trellis: commands, options, policy's subcommands,
# and the children's names for whoever may read the household file; a
# user who may not read it (a child) is offered no name.
set -eu
TEST_NAME=bash-completion
src=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
fail () { echo "$TEST_NAME: FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
cat > "$tmp/household.conf" <<'EOC'
[household]
parents = root

  [child sam]
age = 9
accounts = sam
[child alex]
age = 12
accounts = alex
# [child ghost]
[group year3]
age = 7
devices = 10.42.3.0/24
 [group year5]
age = 10
devices = 10.42.5.0/24
EOC

# complete WORD...: what completing the last word offers, one a line.
complete_words ()
{
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _trellis; printf "%s\n" "${COMPREPLY[@]}"' \
    complete "$src/data/trellis.bash-completion" trellis "$@" | sort | paste -sd' ' -
}
expect ()
{
  local want=$1 got
  shift
  got=$(complete_words "$@")
  [ "$got" = "$want" ] || fail "trellis $*<TAB>: offered '$got', not '$want'"
  echo "trellis $*<TAB> -> $got"
}

expect "allow approve ask child decline deny helplines lists log pause policy report requests status why" ""
expect "pause policy" p
expect "year3 year5" --household "$tmp/household.conf" log --group ""
expect "1 30 7" report --since ""
expect "" log --device ""
expect "--device" --dev
expect "apply check show" policy ""
expect "update" lists ""
expect "" lists update ""
expect "--json" --js
expect "alex sam" --household "$tmp/household.conf" policy show ""
expect "sam" --household="$tmp/household.conf" pause s
expect "alex sam" --household "$tmp/household.conf" log --child ""
expect "" --household "$tmp/household.conf" policy show sam ""
expect "1d 1h 2h 30m" approve 3 --for ""
expect "add remove set" child ""
expect "alex sam" --household "$tmp/household.conf" child set ""
expect "sam" --household "$tmp/household.conf" child remove s
expect "age birth block mode quiet-hours safe-search" --household "$tmp/household.conf" child set sam ""
expect "allowlist blocklist" --household "$tmp/household.conf" child set sam mode ""
expect "alex sam" --household "$tmp/household.conf" deny example.org --child ""
expect "--account --age --always" --a

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
  chmod 0600 "$tmp/household.conf"
  got=$(setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c \
        '. "$1"; COMP_WORDS=(trellis --household "$2" log --child ""); COMP_CWORD=5; _trellis; echo "${COMPREPLY[*]}"' \
        complete "$src/data/trellis.bash-completion" "$tmp/household.conf")
  [ -z "$got" ] || fail "a user who cannot read the household file was offered: $got"
  echo "a user who cannot read the household file is offered no name"
fi
echo "$TEST_NAME: PASS"
