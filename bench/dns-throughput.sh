#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# dns-throughput.sh — what trellisd costs a child's DNS.  A report, not a
# test: it prints numbers and never fails on them.
#
# In the integration tests' throwaway namespaces (tests/lib/common.sh), as a
# protected child account, dnsperf sends ~1000 distinct allowed names at the
# upstream (dnsmasq) for BENCH_SECONDS (default 10):
#   1. through trellisd (queued, decided, forwarded),
#   2. blocked names (answered by trellisd's answerer itself),
#   3. allowed names again with trellisd stopped (its table removed),
# and prints queries/s, average latency and the ratio of 1 to 3.
#
# Run as root from the build directory:  ../bench/dns-throughput.sh
# Needs dnsperf (Debian package dnsperf).

set -eu

if [ -z "${TRELLIS_TOP_SRCDIR:-}" ]; then
  TRELLIS_TOP_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
TEST_NAME=bench
. "$TRELLIS_TOP_SRCDIR/tests/lib/common.sh"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_NAMES=${BENCH_NAMES:-1000}

require_root_and_netns
command -v dnsperf >/dev/null 2>&1 || skip "needs dnsperf (apt install dnsperf)"
[ -x "$TRELLISD" ] || fail "$TRELLISD is not built"

setup_net
UPSTREAM_LOG_QUERIES=0 start_upstream
create_accounts
write_household

allowed="$TEST_DIR/allowed.queries"
blocked="$TEST_DIR/blocked.queries"
for i in $(seq 1 "$BENCH_NAMES"); do
  echo "host$i.bench$((i % 37)).example.org A"
done > "$allowed"
for i in $(seq 1 "$BENCH_NAMES"); do
  echo "host$i.example-game.com A"
done > "$blocked"
chmod 644 "$allowed" "$blocked"

# run_dnsperf LABEL FILE [DNSPERF-OPTIONS]: prints one report line; sets
# QPS and RCODES.  The default load: 4 clients, 200 queries in flight.
run_dnsperf ()
{
  local label=$1 file=$2 out rc=0 completed lost latency
  shift 2
  [ $# -gt 0 ] || set -- -l "$BENCH_SECONDS" -c 4 -q 200
  out=$(as_child dnsperf -s "$UPSTREAM_V4" -d "$file" -t 2 "$@" 2>&1) || rc=$?
  QPS=$(printf '%s\n' "$out" | sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p')
  completed=$(printf '%s\n' "$out" | sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p')
  lost=$(printf '%s\n' "$out" | sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p')
  latency=$(printf '%s\n' "$out" | sed -n 's/^ *Average Latency (s): *\([0-9.]*\).*/\1/p')
  if [ "$rc" != 0 ] || [ -z "$QPS" ]; then
    printf '%s\n' "$out" >&2
    fail "dnsperf failed ($label, exit $rc)"
  fi
  printf '  %-44s %10.0f q/s   avg latency %7.3f ms   completed %s, lost %s\n' \
    "$label" "$QPS" "$(echo "$latency * 1000" | bc -l)" "$completed" "$lost"
  RCODES=$(printf '%s\n' "$out" | sed -n 's/^ *Response codes: *//p')
}

LATENCY_SECONDS=${LATENCY_SECONDS:-3}
one_at_a_time=(-l "$LATENCY_SECONDS" -c 1 -q 10 -Q 500)

echo "DNS throughput as a child account: dnsperf -c 4 -q 200 (saturating), ${BENCH_SECONDS} s per run;"
echo "latency at light load: -Q 500 (500 queries/s), ${LATENCY_SECONDS} s.  $(nproc) CPUs; upstream is dnsmasq in a namespace."

start_trellisd
run_dnsperf "allowed names, through trellisd" "$allowed"
qps_with=$QPS
rc_allowed=$RCODES
run_dnsperf "blocked names, answered by trellisd" "$blocked"
rc_blocked=$RCODES
run_dnsperf "allowed, 500 q/s, through trellisd" "$allowed" "${one_at_a_time[@]}"
stop_trellisd TERM
trellis_table_exists && fail "the table inet trellis is still there after SIGTERM"
run_dnsperf "allowed names, trellisd stopped (no table)" "$allowed"
qps_without=$QPS
run_dnsperf "allowed, 500 q/s, trellisd stopped" "$allowed" "${one_at_a_time[@]}"

printf '  %-44s %10.2f\n' "throughput through trellisd / without" \
  "$(echo "$qps_with / $qps_without" | bc -l)"
echo "  response codes: allowed via trellisd: $rc_allowed; blocked: $rc_blocked"
