# SPDX-License-Identifier: GPL-3.0-or-later
# flood.sh — a child's DNS flood (dnsperf as the child's account), a count
# of the blocked names that reach the upstream, and probes that say
# whether the parent's and the child's allowed lookups are answered
# meanwhile.  For flood-no-leak, kill-under-flood and reload-under-flood.
# Source after common.sh.
#
# The names: blocked ones are "blkNNNNN.example-game.com" (denied), allowed
# ones "okxNNNNN.flood.example"; the first label of both is 8 octets, so
# the upstream namespace counts the blocked names that reach it with one
# nft rule on the first octets of the question (@th,160,32 is "\x08blk"
# right after the UDP and DNS headers), whatever the upstream logs.

command -v dnsperf >/dev/null 2>&1 || fail "needs dnsperf (Debian package dnsperf; ./bootstrap deps installs it)"

FLOOD_DIR=
# How long a query waits for its answer: dnsperf's and the watchers'.  5 s
# by default, glibc's resolver's own wait: on two busy CPUs an answer can
# be a second late without being lost.
FLOOD_TIMEOUT=${FLOOD_TIMEOUT:-5}
WATCH_TIMEOUT=${WATCH_TIMEOUT:-5}
_flood_pids=()
_watch_pids=()

# flood_setup: the query files and the upstream's counter.  Call after
# setup_stack (the upstream without its query log: UPSTREAM_LOG_QUERIES=0).
flood_setup ()
{
  local i
  FLOOD_DIR=$TEST_DIR/flood
  mkdir -p "$FLOOD_DIR"
  chmod 755 "$FLOOD_DIR"
  for i in $(seq -w 1 2000); do echo "blk$(printf '%05d' "$((10#$i))").example-game.com A"; done > "$FLOOD_DIR/blocked"
  for i in $(seq -w 1 2000); do echo "okx$(printf '%05d' "$((10#$i))").flood.example A"; done > "$FLOOD_DIR/allowed"
  chmod 644 "$FLOOD_DIR/blocked" "$FLOOD_DIR/allowed"
  in_upstream nft add table inet flood
  in_upstream nft add chain inet flood input '{ type filter hook input priority 0; policy accept; }'
  in_upstream nft add rule inet flood input udp dport 53 @th,160,32 0x08626c6b counter comment '"blocked"'
  in_upstream nft add rule inet flood input udp dport 53 counter comment '"all"'
  # The control: a blocked name that does reach the upstream (the
  # parent's, unfiltered) is counted.
  dig_as_parent "$UPSTREAM_V4" blk00000.example-game.com A
  assert_resolved
  dig_as_parent "$UPSTREAM_V6" blk00000.example-game.com A
  assert_resolved
  [ "$(flood_upstream_count blocked)" = 2 ] \
    || fail "the upstream's counter of blocked names does not count (it says $(flood_upstream_count blocked), want 2)"
  FLOOD_LEAK_BASE=$(flood_upstream_count blocked)
}

# flood_upstream_count blocked|all: packets the upstream's rule counted.
flood_upstream_count ()
{
  in_upstream nft list chain inet flood input \
    | sed -n "s/.*counter packets \([0-9]*\) bytes [0-9]* comment \"$1\".*/\1/p"
}

# flood_leaks: blocked names that reached the upstream since flood_setup.
flood_leaks ()
{
  echo $(( $(flood_upstream_count blocked) - FLOOD_LEAK_BASE ))
}

# queue_drops: the child's queries the kernel dropped at the queue so far:
# queue full (trellisd too slow) plus could not be handed to trellisd (its
# socket's buffer full), /proc/net/netfilter/nfnetlink_queue's fields 6
# and 7.  A dropped query fails closed; a stub resolver asks again.
queue_drops ()
{
  in_client cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null \
    | awk -v q="$QUEUE_NUM" '$1 == q { n += $6 + $7 } END { print n + 0 }'
}

# socket_drops: datagrams the kernel dropped because a socket's buffer was
# full, in the client and the upstream namespaces (UDP, IPv4 and IPv6):
# dnsperf, the watchers and dnsmasq not reading fast enough.
socket_drops ()
{
  local ns n=0 v
  for ns in "$NS_CLIENT" "$NS_UPSTREAM"; do
    v=$(ip netns exec "$ns" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp)
    n=$(( n + ${v:-0} ))
    v=$(ip netns exec "$ns" awk '$1 == "Udp6RcvbufErrors" { print $2 }' /proc/net/snmp6)
    n=$(( n + ${v:-0} ))
  done
  echo "$n"
}

# flood_start LABEL SERVER FILE QPS SECONDS: dnsperf as the child, in the
# background, its report in $FLOOD_DIR/LABEL.out.  It stops after SECONDS,
# or at flood_stop (SIGINT: it reports then, the queries still out counted
# apart, as interrupted).
flood_start ()
{
  local label=$1 server=$2 file=$3 qps=$4 seconds=$5
  ip netns exec "$NS_CLIENT" setpriv --reuid="$CHILD_UID" --regid="$CHILD_GID" --clear-groups \
    env --default-signal=INT \
    dnsperf -s "$server" -d "$FLOOD_DIR/$file" -l "$seconds" -Q "$qps" -c 4 -q 2000 -t "$FLOOD_TIMEOUT" \
    > "$FLOOD_DIR/$label.out" 2>&1 &
  _flood_pids+=($!)
  track_pid $!
}

# flood_wait: waits for every dnsperf; fails if one failed.
flood_wait ()
{
  local pid rc
  for pid in "${_flood_pids[@]}"; do
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "dnsperf (pid $pid) failed with exit $rc: $(cat "$FLOOD_DIR"/*.out)"
  done
  _flood_pids=()
}

# flood_stop: ends every dnsperf now, and waits for their reports.
flood_stop ()
{
  local pid
  for pid in "${_flood_pids[@]}"; do
    kill -INT "$pid" 2>/dev/null || true
  done
  flood_wait
}

# flood_field LABEL sent|completed|lost|noerror|nxdomain|other: from dnsperf's report.
flood_field ()
{
  local out=$FLOOD_DIR/$1.out
  case $2 in
    sent)      sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$out" ;;
    completed) sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$out" ;;
    lost)      sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$out" ;;
    noerror)   sed -n 's/^ *Response codes:.*NOERROR \([0-9]*\).*/\1/p' "$out" | grep . || echo 0 ;;
    nxdomain)  sed -n 's/^ *Response codes:.*NXDOMAIN \([0-9]*\).*/\1/p' "$out" | grep . || echo 0 ;;
    other)     echo $(( $(flood_field "$1" completed) - $(flood_field "$1" noerror) - $(flood_field "$1" nxdomain) )) ;;
  esac
}

# flood_report LABEL: one line of what dnsperf LABEL saw.
flood_report ()
{
  log "$1: sent $(flood_field "$1" sent), answered $(flood_field "$1" completed) (NOERROR $(flood_field "$1" noerror), NXDOMAIN $(flood_field "$1" nxdomain), other $(flood_field "$1" other)), lost $(flood_field "$1" lost); $(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1 q\/s/p' "$FLOOD_DIR/$1.out")"
}

# watch_start LABEL WHO SERVER NAME [EXPECT]: dns-watch.py as WHO (child,
# parent) in the background until watch_stop; EXPECT noerror (default) or
# nxdomain.  Each lookup waits up to WATCH_TIMEOUT seconds.  A child's
# lookup is asked once (every one lost is counted against the kernel's
# drops); a parent's twice, as glibc's stub asks: the parent's queries
# never meet the queue, and on a busy machine the upstream's socket can
# overflow under the child's flood, so a first try lost there is asked
# again (watch_field LABEL retried counts them, for the tests to set
# against the drops at full sockets).
watch_start ()
{
  local label=$1 who=$2 server=$3 name=$4 expect=${5:-noerror} uid gid tries=1
  case $who in
    child) uid=$CHILD_UID gid=$CHILD_GID ;;
    parent) uid=$PARENT_UID gid=$PARENT_GID tries=2 ;;
    *) fail "watch_start: who is child or parent, not $who" ;;
  esac
  [ -x "$FLOOD_DIR/dns-watch.py" ] || cp "$TRELLIS_TOP_SRCDIR/tests/lib/dns-watch.py" "$FLOOD_DIR/" 
  chmod 755 "$FLOOD_DIR/dns-watch.py"
  rm -f "$FLOOD_DIR/stop"
  : > "$FLOOD_DIR/$label.times"
  chmod 666 "$FLOOD_DIR/$label.times"
  ip netns exec "$NS_CLIENT" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    "$PYTHON3" "$FLOOD_DIR/dns-watch.py" --expect "$expect" --timeout "$WATCH_TIMEOUT" --tries "$tries" --until "$FLOOD_DIR/stop" \
    --out "$FLOOD_DIR/$label.times" "$server" "$name" > "$FLOOD_DIR/$label.watch" 2>&1 &
  _watch_pids+=($!)
  track_pid $!
}

# watch_stop: ends every watcher and waits for their reports.
watch_stop ()
{
  local pid
  touch "$FLOOD_DIR/stop"
  for pid in "${_watch_pids[@]}"; do
    wait "$pid" || fail "dns-watch.py (pid $pid) failed: $(cat "$FLOOD_DIR"/*.watch)"
  done
  _watch_pids=()
}

# watch_field LABEL sent|ok|wrong|none|retried|p99_ms|max_ms
watch_field ()
{
  tr ' ' '\n' < "$FLOOD_DIR/$1.watch" | sed -n "s/^$2=//p"
}

watch_report ()
{
  log "$1: $(cat "$FLOOD_DIR/$1.watch")"
}

# watch_count LABEL RESULT FROM_MS TO_MS: the queries of LABEL sent in
# [FROM_MS, TO_MS) (now_ms) with RESULT (ok, wrong, none).
watch_count ()
{
  awk -v r="$2" -v a="$3" -v b="$4" '$1 >= a && $1 < b && $2 == r { n++ } END { print n + 0 }' "$FLOOD_DIR/$1.times"
}

# watch_longest_gap LABEL: the longest stretch (ms, by the times sent)
# between two lookups of LABEL answered as expected.
watch_longest_gap ()
{
  awk '$2 == "ok" { if (seen && $1 - last > gap) gap = $1 - last; last = $1; seen = 1 }
       END { printf "%d\n", gap }' "$FLOOD_DIR/$1.times"
}

# watch_first_ok LABEL FROM_MS: the send time of the first query sent at
# or after FROM_MS that was answered as expected ("" when none was).
watch_first_ok ()
{
  awk -v a="$2" '$1 >= a && $2 == "ok" { printf "%d\n", $1; exit }' "$FLOOD_DIR/$1.times"
}
