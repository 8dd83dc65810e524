#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# classroom-30-devices: 30 devices of a school behind one gateway
# namespace, 10 in year 3 (by MAC), 10 in year 5 (by address), 10 listed
# nowhere (the default profile), half asking the gateway's resolver and
# half a server beyond it, all at once for 6 seconds.  Each gets its own
# group's policy: its group's denied name is always NXDOMAIN with EDE 17
# (0 leaks), the other groups' are answered; the total rate is reported
# and must reach 2,000 queries a second.
set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/gateway.sh"

UPSTREAM_LOG_QUERIES=0
setup_gateway "[household]
parents = root
gateway-interfaces = lan0
default-profile = visitors
[group year3]
age = 7
devices = $(for i in $(seq 10 19); do printf '02:00:00:00:03:%02d; ' "$i"; done)
deny = g3.example
[group year5]
age = 10
devices = 10.42.5.0/24
deny = g5.example
[group visitors]
age = 12
devices = 10.42.200.0/24
deny = gv.example"

for i in $(seq 10 19); do add_device "y3d$i" "02:00:00:00:03:$i" "10.42.3.$i"; done
for i in $(seq 10 19); do add_device "y5d$i" "02:00:00:00:05:$i" "10.42.5.$i"; done
for i in $(seq 10 19); do add_device "vd$i" "02:00:00:00:77:$i" "10.42.77.$i"; done

seconds=6
pids=()
n=0
for d in "${DEVICES[@]}"; do
  server=$UPSTREAM_V4
  [ $((n % 2)) = 0 ] && server=$GW_LAN_V4
  in_device "$d" "$PYTHON3" "$TRELLIS_TOP_SRCDIR/tests/lib/query-loop.py" "$server" "$seconds" \
    g3.example g5.example gv.example allowed.example > "$TEST_DIR/loop-$d.txt" 2>&1 &
  pids+=($!)
  track_pid "$!"
  n=$((n + 1))
done
for pid in "${pids[@]}"; do wait "$pid" || true; done

total=0 leaks=0 wrong=0
for d in "${DEVICES[@]}"; do
  case $d in y3*) own=g3.example ;; y5*) own=g5.example ;; *) own=gv.example ;; esac
  while read -r name sent noerror ede plain other timeout rest; do
    sent=${sent#sent=}; noerror=${noerror#noerror=}; ede=${ede#nxdomain_ede17=}
    total=$((total + sent))
    if [ "$name" = "$own" ]; then
      [ "$noerror" = 0 ] || { leaks=$((leaks + noerror)); log "$d: $name answered $noerror times"; }
      [ "$plain" = nxdomain_plain=0 ] && [ "$other" = other=0 ] || { wrong=$((wrong + 1)); log "$d: $name: $plain $other"; }
    else
      [ "$ede" = 0 ] || { wrong=$((wrong + 1)); log "$d: $name (not its group's) blocked $ede times"; }
    fi
  done < "$TEST_DIR/loop-$d.txt"
done
rate=$((total / seconds))
log "30 devices: $total queries in $seconds s, $rate a second; $leaks leaks, $wrong wrong answers"
trellisd_running || fail "trellisd died under the classroom's load"
[ "$leaks" = 0 ] || fail "$leaks blocked queries were answered"
[ "$wrong" = 0 ] || fail "$wrong devices got another group's policy"
[ "$rate" -ge 2000 ] || fail "only $rate queries a second in all (2,000 wanted)"
