# SPDX-License-Identifier: GPL-3.0-or-later
# net.sh — servers in the upstream namespace and connections to them, for
# the tests of the network policy (encrypted DNS, quiet hours, allow-list
# mode, helplines).  Source after common.sh.

NET_LISTEN=$TRELLIS_TOP_SRCDIR/tests/lib/net-listen.py
NET_CONNECT=$TRELLIS_TOP_SRCDIR/tests/lib/net-connect.py
LISTEN_LOG=

# Addresses the upstream namespace holds beyond its own, so a test can name
# servers apart from the resolver: 192.0.2.0/24 and 2001:db8::/64 are routed
# to it from the client namespace.
use_test_addresses ()
{
  local a
  for a in "$@"; do
    case "$a" in
      *:*) ip -n "$NS_UPSTREAM" -6 addr add "$a/128" dev lo nodad ;;
      *)   ip -n "$NS_UPSTREAM" addr add "$a/32" dev lo ;;
    esac
  done
  ip -n "$NS_CLIENT" route replace 192.0.2.0/24 via "$UPSTREAM_V4"
  ip -n "$NS_CLIENT" -6 route replace 2001:db8::/64 via "$UPSTREAM_V6"
}

# make_tls_cert: a throwaway certificate for the TLS listeners ($TEST_DIR/tls.*).
make_tls_cert ()
{
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=trellis-test -days 1 \
    -keyout "$TEST_DIR/tls.key" -out "$TEST_DIR/tls.crt" >/dev/null 2>&1 \
    || fail "openssl could not make a test certificate"
}

# start_listener ARGS...: net-listen.py ARGS in the upstream namespace.
start_listener ()
{
  LISTEN_LOG="$TEST_DIR/listen.$RANDOM.log"
  : > "$LISTEN_LOG"
  ip netns exec "$NS_UPSTREAM" "$PYTHON3" "$NET_LISTEN" "$@" > "$LISTEN_LOG" 2>&1 &
  track_pid $!
  wait_until 5 grep -q listening "$LISTEN_LOG" || fail "the test's listener did not start: $(cat "$LISTEN_LOG")"
}

# connect_as WHO [--tls] PROTO ADDR PORT: sets CONNECT_OUT ("ok", "refused", ...).
connect_as ()
{
  local who=$1
  shift
  CONNECT_OUT=$("as_$who" "$PYTHON3" "$NET_CONNECT" "$@" 2>&1) || true
}

# expect_connect WHO WANT [--tls] PROTO ADDR PORT: WANT is ok, or "no" for
# anything but ok.
expect_connect ()
{
  local who=$1 want=$2
  shift 2
  connect_as "$who" "$@"
  if [ "$want" = ok ]; then
    [ "$CONNECT_OUT" = ok ] || fail "the $who could not reach $* ($CONNECT_OUT)"
  else
    [ "$CONNECT_OUT" != ok ] || fail "the $who reached $*: it should have been refused"
    case "$CONNECT_OUT" in
      refused|error:*) ;;
      *) fail "the $who's $* was not refused but: $CONNECT_OUT" ;;
    esac
  fi
}

# nft_set_has SET ELEMENT: the kernel's set SET holds ELEMENT.
nft_set_has ()
{
  in_client nft -j list set inet trellis "$1" 2>/dev/null | "$PYTHON3" -c '
import json, sys
want = sys.argv[1]
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        v = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
        if str(v) == want:
            sys.exit(0)
sys.exit(1)' "$2"
}
