#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a program in Sam's account hides a blocked name behind an
# allowed one in a single send.  With UDP_SEGMENT (the socket option, or a
# control message on sendmsg) one sendto() hands the kernel one buffer that
# leaves as two datagrams: the first asks for an allowed name and ends in an
# additional record (a NULL record, or an OPT option) whose RDLENGTH runs to
# the end of the whole buffer; the second is a complete query for a blocked
# name.  Read as one message, the buffer asks only for the allowed name.
# trellisd must judge what actually leaves, datagram by datagram: the
# upstream's query log never shows the blocked name (nor the carrier, whose
# datagram alone is malformed), over IPv4 and IPv6.
#
# The TCP relatives go to the answerer: two queries in one segment, a batch
# of queries in one write large enough to be sent as one GSO packet, and a
# query whose additional record holds a second framed query.  Each message
# is judged on its own; the one with a record that is not OPT is malformed
# and ends the connection, unforwarded.
#
# The control: the parent (unfiltered) sends the same buffer, and the
# upstream logs the hidden name: the kernel really splits it.  The
# upstream's query log is the witness; for the TCP cases also a counter of
# the connections that reach the upstream.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

gso=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/send-gso.py")

in_upstream nft add table inet trellistest
in_upstream nft add chain inet trellistest input '{ type filter hook input priority 0; policy accept; }'
in_upstream nft add rule inet trellistest input tcp dport 53 tcp flags syn counter

# upstream_tcp_connections: how many TCP connections to port 53 reached the upstream.
upstream_tcp_connections ()
{
  in_upstream nft list chain inet trellistest input \
    | sed -n 's/.*tcp dport 53 .*counter packets \([0-9]*\) .*/\1/p'
}

# send WHO ARGS...: runs send-gso.py as WHO; sets OUT.
send ()
{
  local who=$1 rc=0
  shift
  OUT=$("as_$who" "$PYTHON3" "$gso" "$@" 2>&1) || rc=$?
  [ "$rc" = 0 ] || fail "send-gso.py $* as the $who failed (exit $rc): $OUT"
  printf '%s\n' "$OUT" | grep -q '^SENT ' || fail "send-gso.py $*: nothing sent: $OUT"
}

# ---- the control: the kernel splits the buffer, and the upstream reads both
for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  tag=$( [ "$server" = "$UPSTREAM_V4" ] && echo v4 || echo v6 )
  send parent udp --timeout 1 "$server" "carrier-$tag.parent.example" "hidden-$tag.parent.example"
  assert_upstream_saw "hidden-$tag.parent.example"
done

# ---- the attack, as the child: every variant, both families.  Every
# variant is tried before the verdict, so a failure lists them all.
n=0
leaks=()
for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  for hide in rr opt; do
    for how in "" --cmsg; do
      n=$((n + 1))
      carrier="carrier$n.wikipedia.org"
      hidden="gso$n.example-game.com"
      case $hide in rr) behind="a NULL record";; opt) behind="an OPT option";; esac
      what="UDP_SEGMENT by ${how:-setsockopt}, hidden behind $behind, @$server"
      send child udp $how --hide "$hide" --timeout 1 "$server" "$carrier" "$hidden"
      log "$what: $(printf '%s' "$OUT" | tr '\n' ' ')"
      # The blocked datagram, judged on its own, gets the filter's answer;
      # the carrier's, malformed alone, none.
      replies=$(printf '%s\n' "$OUT" | grep '^REPLY ' || true)
      [ "$replies" = "REPLY 2222 $hidden NXDOMAIN 0" ] \
        || leaks+=("$what: expected only the filter's NXDOMAIN for $hidden, got: ${replies:-no reply}")
      upstream_saw "$hidden" && leaks+=("$what: the upstream saw the hidden $hidden")
      upstream_saw "$carrier" && leaks+=("$what: the upstream saw the carrier $carrier (its datagram alone is malformed)")
    done
  done
done
if [ "${#leaks[@]}" -gt 0 ]; then
  for leak in "${leaks[@]}"; do
    log "LEAK: $leak"
  done
  fail "${#leaks[@]} problem(s) in $n UDP_SEGMENT sends"
fi

# ---- TCP: two queries in one segment
for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  tag=$( [ "$server" = "$UPSTREAM_V4" ] && echo v4 || echo v6 )
  send child tcp-pair "$server" "pair-$tag.wikipedia.org" "pair-$tag.example-game.com"
  replies=$(printf '%s\n' "$OUT" | grep '^REPLY ' | cut -d' ' -f3,4 | tr '\n' ' ')
  [ "$replies" = "pair-$tag.wikipedia.org NOERROR pair-$tag.example-game.com NXDOMAIN " ] \
    || fail "two queries in one TCP segment @$server: expected NOERROR then NXDOMAIN, got: $OUT"
  assert_upstream_saw "pair-$tag.wikipedia.org"
  assert_upstream_never_saw "pair-$tag.example-game.com"
done

# ---- TCP: 2000 queries in one write (about 60 KB, far more than a segment:
# the kernel sends it as GSO packets), three
# blocked for each allowed one
started=$(date +%s%N)
send child tcp-batch --timeout 20 "$UPSTREAM_V4" 2000 \
  example-game.com batch.wikipedia.org casino.example www.example-game.com
log "2000 queries in one TCP write answered in $(( ($(date +%s%N) - started) / 1000000 )) ms"
total=$(printf '%s\n' "$OUT" | grep -c '^REPLY ' || true)
nx=$(printf '%s\n' "$OUT" | grep '^REPLY ' | awk '$3 ~ /(^|\.)(example-game\.com|casino\.example)$/ && $4 == "NXDOMAIN"' | wc -l)
ok=$(printf '%s\n' "$OUT" | grep '^REPLY ' | awk '$3 ~ /\.batch\.wikipedia\.org$/ && $4 == "NOERROR"' | wc -l)
[ "$total" = 2000 ] && [ "$nx" = 1500 ] && [ "$ok" = 500 ] \
  || fail "a batch of 2000 TCP queries: $total replies, $nx blocked (want 1500), $ok allowed (want 500)"
assert_upstream_saw q1.batch.wikipedia.org
grep -E ' query\[[A-Z]+\] q[0-9]+\.(example-game\.com|casino\.example|www\.example-game\.com) ' \
  "$UPSTREAM_LOG" >&2 && fail "the upstream saw blocked names of the TCP batch"

# ---- TCP: a framed query hidden in an additional record
for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  tag=$( [ "$server" = "$UPSTREAM_V4" ] && echo v4 || echo v6 )
  before=$(upstream_tcp_connections)
  send child tcp-hide "$server" "tcphide-$tag.wikipedia.org" "tcphide-$tag.example-game.com"
  [ "$(upstream_tcp_connections)" = "$before" ] \
    || fail "a TCP query with a NULL additional record was passed on to the upstream @$server"
  printf '%s\n' "$OUT" | grep -q '^REPLY ' && fail "a query with a NULL additional record got a reply over TCP: $OUT"
  printf '%s\n' "$OUT" | grep -qx 'END closed\|END reset' \
    || fail "a malformed TCP query did not end the connection: $OUT"
  assert_upstream_never_saw "tcphide-$tag.wikipedia.org"
  assert_upstream_never_saw "tcphide-$tag.example-game.com"
done

# ---- and trellisd goes on filtering
trellisd_running || fail "trellisd died"
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
dig_as_child "$UPSTREAM_V6" en.wikipedia.org A
assert_resolved
assert_upstream_never_saw example-game.com

log "PASS: $n UDP_SEGMENT sends judged per datagram, TCP judged per message"
