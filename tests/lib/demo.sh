#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# demo.sh — "make demo": the example household, run for real in a throwaway
# network namespace, explained line by line for someone new to Trellis.
#
# Run from the build directory (make demo does), as root.  Uses the built
# daemon/trellisd and cli/trellis, policy/data/example-household.conf and
# the accounts trellis-child / trellis-parent (created for the demo when
# missing, and then removed again).  Exits non-zero if any outcome is not
# the one it describes.

set -eu

if [ -z "${TRELLIS_TOP_SRCDIR:-}" ]; then
  TRELLIS_TOP_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
if [ -z "${TRELLIS_TOP_BUILDDIR:-}" ]; then
  TRELLIS_TOP_BUILDDIR=$(pwd)
fi
export TRELLIS_TOP_SRCDIR TRELLIS_TOP_BUILDDIR

if [ "$(id -u)" != 0 ]; then
  echo "The Trellis demo must be run as root: it creates a throwaway network" >&2
  echo "namespace, runs trellisd in it, and runs lookups as two demo accounts." >&2
  echo "Try: sudo make demo" >&2
  exit 1
fi

TEST_NAME=demo
. "$TRELLIS_TOP_SRCDIR/tests/lib/common.sh"

for bin in "$TRELLISD" "$TRELLIS_CLI"; do
  [ -x "$bin" ] || { echo "demo: $bin is not built; run make first." >&2; exit 1; }
done

require_root_and_netns

DEMO_CHILD=trellis-child
DEMO_PARENT=trellis-parent
created=""
if ensure_account "$DEMO_CHILD"; then created+=" $DEMO_CHILD"; fi
if ensure_account "$DEMO_PARENT"; then created+=" $DEMO_PARENT"; fi
use_accounts "$DEMO_CHILD" "$DEMO_PARENT"

# The example household, copied where the child account can read it.
HOUSEHOLD="$TEST_DIR/example-household.conf"
cp "$TRELLIS_TOP_SRCDIR/policy/data/example-household.conf" "$HOUSEHOLD"
chmod 644 "$HOUSEHOLD"

bold=""; dim=""; red=""; green=""; reset=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  bold=$'\e[1m'; dim=$'\e[2m'; red=$'\e[31m'; green=$'\e[32m'; reset=$'\e[0m'
fi

cat <<EOF
${bold}Trellis demo${reset}

This runs the real trellisd with the example household file
  policy/data/example-household.conf
inside a throwaway network namespace, next to a stand-in DNS server that
answers every name with $UPSTREAM_ANSWER_V4.  Nothing on this machine's own DNS,
firewall or accounts changes: the namespace, the daemon and any demo
accounts it creates${created:+ (here:$created)} are removed at the end.

The household: the parent account $DEMO_PARENT, and a child, sam (10),
who uses the account $DEMO_CHILD.

EOF

setup_net
start_upstream
start_system_bus
start_trellisd
wait_for_trellisd_on_bus

bad=0
WIDTH=26

# show WHO NAME EXPECT WHY
#   EXPECT is "allowed" or "blocked:RULE-PREFIX".  Prints one line: what was
#   asked, what WHO saw, why; counts a mismatch.
show ()
{
  local who=$1 name=$2 expect=$3 why=$4 status answer ede seen ok=1
  dig_as "$who" "$UPSTREAM_V4" "$name" A
  status=$(dig_status)
  answer=$(dig_answers | tr '\n' ' ' | sed 's/ $//')
  ede=$(dig_ede | sed -n 's/^; EDE: 17 (Filtered): (\(.*\))$/\1/p')
  # what the child saw, as it is
  case "$status" in
    NOERROR)  seen="${green}allowed${reset}  got ${answer:-no address} from the DNS server";;
    NXDOMAIN) seen="${red}blocked${reset}  NXDOMAIN, reason: \"$ede\"";;
    "")       seen="no answer at all";;
    *)        seen="$status";;
  esac
  # and whether that is what the demo says
  case "$expect" in
    allowed)
      if [ "$status" != NOERROR ] || [ "$answer" != "$UPSTREAM_ANSWER_V4" ] || ! upstream_saw "$name"; then
        ok=0
      fi
      ;;
    blocked:*)
      case "$ede" in
        "${expect#blocked:}"*) ;;
        *) ok=0;;
      esac
      if [ "$status" != NXDOMAIN ] || upstream_saw "$name"; then
        ok=0
      fi
      ;;
  esac
  printf '  %-*s %s\n  %-*s %s\n' "$WIDTH" "$name" "$seen" "$WIDTH" "" "${dim}$why${reset}"
  if [ "$ok" = 0 ]; then
    printf '  %-*s %s\n' "$WIDTH" "" "${red}!! the demo expected it ${expect%%:*}${reset}"
    bad=$((bad + 1))
  fi
}

echo "${bold}sam looks names up (as $DEMO_CHILD):${reset}"
show child scratch.mit.edu allowed \
  "the parents wrote allow = scratch.mit.edu"
show child en.wikipedia.org allowed \
  "nothing filters ordinary information"
show child example-game.com "blocked:deny example-game.com (example-household.conf:" \
  "the parents wrote deny = example-game.com; the answer says which line"
show child childline.org.uk allowed \
  "a helpline: helplines are never blocked and never logged"
show child use-application-dns.net "blocked:integrity use-application-dns.net" \
  "tells the browser not to switch to its own DNS-over-HTTPS around the filter"
gambling=$(grep -v -E '^[[:space:]]*(#|$)' "$TRELLIS_DATA_DIR/categories/gambling/domains" | head -1)
show child "$gambling" "blocked:category gambling (age 9-12)" \
  "a betting site: the 9-12 age band blocks gambling (sports news is not blocked)"
# Safe search: the answer is a CNAME to Google's safe endpoint.
dig_as child "$UPSTREAM_V4" www.google.com A
cname=$(printf '%s\n' "$DIG_OUT" | awk '$4 == "CNAME" { print $5; exit }')
printf '  %-*s %s\n  %-*s %s\n' "$WIDTH" www.google.com "${green}allowed${reset}  as $cname (safe search)" \
  "$WIDTH" "" "${dim}the 9-12 age band keeps search engines in their strict safe mode${reset}"
if [ "$cname" != "forcesafesearch.google.com." ]; then
  printf '  %-*s %s\n' "$WIDTH" "" "${red}!! the demo expected a CNAME to forcesafesearch.google.com${reset}"
  bad=$((bad + 1))
fi
echo
echo "${bold}The parent looks up the same blocked name (as $DEMO_PARENT):${reset}"
show parent example-game.com allowed \
  "parents are never filtered"
echo
echo "${bold}sam asks why:${reset} trellis why example-game.com"
why_rc=0
why_out=$(as_child "$TRELLIS_CLI" why example-game.com --household "$HOUSEHOLD" \
          --data-dir "$TRELLIS_DATA_DIR" 2>&1) || why_rc=$?
printf '%s\n' "$why_out" | sed 's/^/    /'
if [ "$why_rc" != 1 ]; then
  printf '  %s\n' "${red}!! trellis why exited $why_rc; expected 1 (blocked)${reset}"
  bad=$((bad + 1))
fi
echo

# demo_cli WHO TITLE ARGS...: run trellis as WHO, show its output indented.
demo_cli ()
{
  local who=$1 title=$2 rc=0 out
  shift 2
  echo "${bold}$title${reset} trellis $*"
  out=$("as_$who" env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$TRELLIS_CLI" "$@" 2>&1) || rc=$?
  printf '%s\n' "$out" | sed 's/^/    /'
  if [ "$rc" != 0 ]; then
    printf '  %s\n' "${red}!! trellis $* exited $rc${reset}"
    bad=$((bad + 1))
  fi
  echo
}
demo_cli child "sam looks at what was blocked:" log
demo_cli child "sam asks the parents to look again:" ask example-game.com "It is for a school project"
demo_cli parent "The parent sees the request:" requests

if [ "$bad" != 0 ]; then
  echo "${red}$bad outcome(s) were not what the demo expected.${reset}" >&2
  print_logs
  exit 1
fi
echo "Every lookup did what it says.  Cleaning up: the namespace, trellisd${created:+ and the demo accounts} go away."
