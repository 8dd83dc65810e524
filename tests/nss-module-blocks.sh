#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: lookups that never reach port 53.  With systemd-resolved and
# nss-resolve (Fedora's default, Debian's with libnss-resolve),
# getaddrinfo() asks the resolver over a Unix socket, and the queue never
# sees the child's lookup.  libnss_trellis, placed by trellis-nsswitch
# before resolve, asks trellisd first, over its socket.
#
# Here the source after trellis is a hosts file that knows the denied
# names (resolve is not installed, so it is skipped): like resolved, it
# answers without any packet of the child's.  In a mount namespace of the
# test's own (the machine's nsswitch.conf, /etc/hosts and /run are never
# touched), real getent hosts, getent ahosts and getaddrinfo() run as the
# child and as the parent:
#   - a denied name, in any spelling, is not found for the child (and the
#     block is the child's, with its rule), and found for the parent;
#   - an allowed name and a helpline are found for the child;
#   - a search engine's name is the safe endpoint's addresses for the
#     child (safe search, strict at 10), the real ones for the parent;
#   - trellisd killed, with on-failure = closed: the child's lookups fail
#     (EAI_AGAIN), at once; the parent's do not; with on-failure = open,
#     the child's go on; trellisd stopped (SIGSTOP): failed within 2 s;
#     stopped cleanly (no table): the child is no longer filtered;
#   - the socket refuses a hostile client (too long, garbage, a NUL), and
#     a child who holds connections open holds up only itself.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

NSS_DIR=$TRELLIS_TOP_BUILDDIR/nss
[ -r "$NSS_DIR/libnss_trellis.so.2" ] || fail "$NSS_DIR/libnss_trellis.so.2 is not built"
command -v unshare >/dev/null 2>&1 || fail "needs unshare (util-linux)"

setup_stack --bus
rule=$(deny_rule_text example-game.com)
resolver=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/resolve-name.py")
client=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/nss-client.py")
helpline=$(awk '!/^#/ && NF { print $1; exit }' "$TRELLIS_DATA_DIR/helplines")

# The line trellis-nsswitch writes into a Fedora-like hosts line, checked,
# then used.
NSSWITCH=$TEST_DIR/nsswitch.conf
printf '%s\n' "passwd: files" "group: files" \
  "hosts:      mymachines resolve [!UNAVAIL=return] files myhostname dns" "networks: files" > "$NSSWITCH"
"$TRELLIS_TOP_SRCDIR/nss/trellis-nsswitch" add --file "$NSSWITCH"
want="hosts:      mymachines trellis [!UNAVAIL=return] resolve [!UNAVAIL=return] files myhostname dns"
[ "$(grep '^hosts:' "$NSSWITCH")" = "$want" ] || fail "trellis-nsswitch add wrote: $(grep '^hosts:' "$NSSWITCH")"
printf '%s\n' "passwd: files" "group: files" "hosts: files" > "$TEST_DIR/nsswitch-without.conf"
{
  echo "127.0.0.1 localhost"
  echo "192.0.2.77 example-game.com www.example-game.com"
  echo "2001:db8::77 example-game.com www.example-game.com"
  echo "192.0.2.79 casino.example"
  echo "192.0.2.78 allowed-by-files.example"
  echo "2001:db8::78 allowed-by-files.example"
  echo "192.0.2.80 $helpline"
  echo "2001:db8::80 $helpline"
  echo "192.0.2.99 www.google.com"
  echo "2001:db8::99 www.google.com"
  echo "216.239.38.120 forcesafesearch.google.com"
  echo "2001:4860:4802:32::78 forcesafesearch.google.com"
} > "$TEST_DIR/hosts"
echo "nameserver $UPSTREAM_V4" > "$TEST_DIR/resolv.conf"
chmod 644 "$NSSWITCH" "$TEST_DIR/nsswitch-without.conf" "$TEST_DIR/hosts" "$TEST_DIR/resolv.conf"
mkdir -p "$TEST_DIR/run"
chmod 755 "$TEST_DIR/run"

# in_nss WHO NSSWITCH CMD...: CMD as WHO (child, parent) in the client
# namespace, in a mount namespace where NSSWITCH is /etc/nsswitch.conf,
# the test's hosts and resolv.conf are /etc's, /run is empty but for
# /run/trellis (the test's), and the build's module is found.
in_nss ()
{
  local who=$1 conf=$2 uid gid
  shift 2
  case $who in
    child) uid=$CHILD_UID gid=$CHILD_GID ;;
    parent) uid=$PARENT_UID gid=$PARENT_GID ;;
  esac
  ip netns exec "$NS_CLIENT" unshare -m --propagation private sh -e -c '
    mount --bind "$1" /etc/nsswitch.conf
    mount --bind "$2/hosts" /etc/hosts
    [ -L /etc/resolv.conf ] || mount --bind "$2/resolv.conf" /etc/resolv.conf
    mount -t tmpfs -o mode=0755 trellis-test /run
    mkdir /run/trellis
    mount --bind "$2/run" /run/trellis
    shift 2
    exec "$@"' sh "$conf" "$TEST_DIR" \
    setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    env HOME=/ PATH=/usr/bin:/bin LD_LIBRARY_PATH="$NSS_DIR" "$@"
}

# getent_as WHO hosts|ahosts NAME: sets GETENT_OUT and GETENT_RC.
getent_as ()
{
  GETENT_RC=0
  GETENT_OUT=$(in_nss "$1" "$NSSWITCH" getent "$2" "$3" 2>&1) || GETENT_RC=$?
}

# expect_found WHO DB NAME N: found, with the hosts file's address
# 192.0.2.N or 2001:db8::N (getent hosts prints the IPv6 one first).
expect_found ()
{
  getent_as "$1" "$2" "$3"
  [ "$GETENT_RC" = 0 ] && grep -qE "^(192\.0\.2\.$4|2001:db8::$4)[[:space:]]" <<<"$GETENT_OUT" \
    || fail "getent $2 $3 as the $1: expected 192.0.2.$4 or 2001:db8::$4, got (exit $GETENT_RC) $GETENT_OUT"
}

expect_not_found ()  # WHO DB NAME
{
  getent_as "$1" "$2" "$3"
  [ "$GETENT_RC" = 2 ] && [ -z "$GETENT_OUT" ] \
    || fail "getent $2 $3 as the $1: expected not found (exit 2), got (exit $GETENT_RC) $GETENT_OUT"
}

# resolve_as WHO NAME: getaddrinfo() as WHO; sets RESOLVED ("ok ADDRS" or
# "error CODE") and RESOLVE_MS.
resolve_as ()
{
  local out
  out=$(in_nss "$1" "$NSSWITCH" "$PYTHON3" "$resolver" "$2") || fail "resolve-name.py failed: $out"
  RESOLVED=$(awk '{ print $2, $3 }' <<<"$out")
  RESOLVE_MS=$(awk '{ print $NF }' <<<"$out")
}

# ---- the module is what blocks: without it the hosts file answers ---------
GETENT_RC=0
GETENT_OUT=$(in_nss child "$TEST_DIR/nsswitch-without.conf" getent hosts example-game.com 2>&1) || GETENT_RC=$?
[ "$GETENT_RC" = 0 ] || fail "the control: without trellis, the hosts file does not answer the child ($GETENT_OUT)"

# ---- the child: denied names not found, in every spelling; the rest found --
for db in hosts ahosts; do
  for name in example-game.com www.example-game.com WWW.Example-Game.COM. casino.example; do
    expect_not_found child "$db" "$name"
  done
  expect_found child "$db" allowed-by-files.example 78
  expect_found child "$db" "$helpline" 80
done
getent_as child ahosts allowed-by-files.example
grep -q '^2001:db8::78 ' <<<"$GETENT_OUT" || fail "getent ahosts: no IPv6 address for the child's allowed name: $GETENT_OUT"
resolve_as child example-game.com
[ "$RESOLVED" = "error EAI_NONAME" ] || fail "getaddrinfo(example-game.com) as the child: $RESOLVED"
out=$(as_child "$PYTHON3" "$client" "$TEST_DIR/run/nss.socket" ask 'ex\097mple-game.com')
[ "$out" = "B $rule" ] || fail "an escaped spelling, asked of the socket as the child: $out"
out=$(as_child "$PYTHON3" "$client" "$TEST_DIR/run/nss.socket" ask allowed-by-files.example)
[ "$out" = "A" ] || fail "an allowed name, asked as the child: $out"

# ---- safe search: the safe endpoint's addresses, under its name -------------
getent_as child ahosts www.google.com
[ "$GETENT_RC" = 0 ] && head -n1 <<<"$GETENT_OUT" | grep -q ' STREAM forcesafesearch\.google\.com$' \
  && grep -q '^216\.239\.38\.120 ' <<<"$GETENT_OUT" && grep -q '^2001:4860:4802:32::78 ' <<<"$GETENT_OUT" \
  && ! grep -q '::99 \|\.99 ' <<<"$GETENT_OUT" \
  || fail "getent ahosts www.google.com as the child: not the safe endpoint: $GETENT_OUT"
getent_as child hosts www.google.com
[ "$GETENT_RC" = 0 ] && grep -q '^2001:4860:4802:32::78 *forcesafesearch\.google\.com$' <<<"$GETENT_OUT" \
  || fail "getent hosts www.google.com as the child: $GETENT_OUT"
resolve_as child www.google.com
[ "$RESOLVED" = "ok 2001:4860:4802:32::78,216.239.38.120" ] || fail "getaddrinfo(www.google.com) as the child: $RESOLVED"
resolve_as parent www.google.com
[ "$RESOLVED" = "ok 192.0.2.99,2001:db8::99" ] || fail "getaddrinfo(www.google.com) as the parent: $RESOLVED"

# ---- the parent: found, and not even decided (outside) ------------------------
for db in hosts ahosts; do
  expect_found parent "$db" example-game.com 77
done
getent_as parent ahosts www.example-game.com
grep -q '^2001:db8::77 ' <<<"$GETENT_OUT" || fail "getent ahosts as the parent: no IPv6 address: $GETENT_OUT"
out=$(as_parent "$PYTHON3" "$client" "$TEST_DIR/run/nss.socket" ask example-game.com)
[ "$out" = "O" ] || fail "the parent, asked of the socket: $out (want O: not protected)"

# The child's blocks through the module are the child's, in the child's log.
wait_for_logged example-game.com www.example-game.com casino.example

# ---- hostile clients ---------------------------------------------------------
sock=$TEST_DIR/run/nss.socket
out=$(as_child "$PYTHON3" "$client" "$sock" send "51$(printf '61%.0s' $(seq 1 3000))")
[ "$out" = "E request too long" ] || fail "a 3000-byte request: $out"
out=$(as_child "$PYTHON3" "$client" "$sock" send "ff00fe01")
[ "$out" = "E unknown request" ] || fail "garbage: $out"
out=$(as_child "$PYTHON3" "$client" "$sock" send "51616200632e636f6d")
[ "$out" = "E a NUL byte in the name" ] || fail "a NUL in the name: $out"
# The child holds 40 connections open and says nothing: trellisd keeps 8
# of them (then closes those too), the child's own lookups fail meanwhile,
# the parent's are answered at once.
as_child "$PYTHON3" "$client" "$sock" hold 40 4 > "$TEST_DIR/hold.out" 2>&1 &
hold_pid=$!
track_pid "$hold_pid"
sleep 0.5   # the connections are open
resolve_as parent allowed-by-files.example
[ "$RESOLVED" = "ok 192.0.2.78,2001:db8::78" ] || fail "the parent's lookup while the child holds connections: $RESOLVED"
[ "$RESOLVE_MS" -lt 1000 ] || fail "the parent's lookup took $RESOLVE_MS ms while the child held connections"
resolve_as child allowed-by-files.example
[ "$RESOLVED" = "error EAI_AGAIN" ] || fail "the child's lookup while it holds every connection of its own: $RESOLVED"
wait "$hold_pid" || fail "nss-client.py hold failed: $(cat "$TEST_DIR/hold.out")"
grep -q '^HOLD kept=0 closed_at_once=32 closed_later=8 ' "$TEST_DIR/hold.out" \
  || fail "trellisd did not keep 8 idle connections and close them in time: $(cat "$TEST_DIR/hold.out")"
resolve_as child allowed-by-files.example
[ "$RESOLVED" = "ok 192.0.2.78,2001:db8::78" ] || fail "the child's lookup after letting go: $RESOLVED"
trellisd_running || fail "trellisd died of the hostile clients"
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

# ---- trellisd down: on-failure says ------------------------------------------
kill -STOP "$TRELLISD_PID"
resolve_as child allowed-by-files.example
kill -CONT "$TRELLISD_PID"
[ "$RESOLVED" = "error EAI_AGAIN" ] || fail "the child's lookup with trellisd stopped: $RESOLVED"
[ "$RESOLVE_MS" -lt 2500 ] || fail "the child's lookup with trellisd stopped took $RESOLVE_MS ms"
resolve_as child allowed-by-files.example
[ "$RESOLVED" = "ok 192.0.2.78,2001:db8::78" ] || fail "the child's lookup after SIGCONT: $RESOLVED"

stop_trellisd KILL
for db in hosts ahosts; do
  getent_as child "$db" allowed-by-files.example
  [ "$GETENT_RC" != 0 ] || fail "getent $db as the child with trellisd dead (closed): found $GETENT_OUT"
  expect_found parent "$db" example-game.com 77
done
resolve_as child allowed-by-files.example
[ "$RESOLVED" = "error EAI_AGAIN" ] || fail "getaddrinfo as the child with trellisd dead (closed): $RESOLVED"
[ "$RESOLVE_MS" -lt 1000 ] || fail "the child's lookup with trellisd dead took $RESOLVE_MS ms"
resolve_as parent allowed-by-files.example
[ "$RESOLVED" = "ok 192.0.2.78,2001:db8::78" ] || fail "the parent's lookup with trellisd dead: $RESOLVED"

start_trellisd
expect_not_found child hosts example-game.com
expect_found child ahosts allowed-by-files.example 78
stop_trellisd TERM
[ -e "$TEST_DIR/run/nss.socket" ] && fail "a clean stop left the socket"
expect_found child hosts example-game.com 77

ON_FAILURE=open write_household
start_trellisd
expect_not_found child ahosts example-game.com
stop_trellisd KILL
expect_found child ahosts allowed-by-files.example 78
log "PASS: the NSS module blocks for the child only, follows on-failure when trellisd is down, and its socket holds against hostile clients"
