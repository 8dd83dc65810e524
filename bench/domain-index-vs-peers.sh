#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# domain-index-vs-peers.sh — how long unbound and dnsmasq take to load a
# block list, against how long we take to compile it into a domain index.
#
#   bench/domain-index-vs-peers.sh [--names N | --list FILE] [--bench PATH]
#
# Makes (or reads) one list, writes it as unbound `local-zone: "NAME."
# always_nxdomain` lines and as dnsmasq `address=/NAME/` lines, starts each
# server in a throwaway network namespace on 127.0.0.1:5399 and times until
# it answers a query for a listed name; then kills it by pid.  Each run is
# bounded by 120 s.  Needs root (for the namespace), unbound, dnsmasq, dig.
set -euo pipefail

NAMES=1000000
LIST=
BENCH=${BENCH:-}
PORT=5399
LIMIT=120

while [ $# -gt 0 ]; do
	case "$1" in
	--names) NAMES=$2; shift 2 ;;
	--list) LIST=$2; shift 2 ;;
	--bench) BENCH=$2; shift 2 ;;
	*) echo "usage: $0 [--names N | --list FILE] [--bench PATH]" >&2; exit 2 ;;
	esac
done

if [ -z "$BENCH" ]; then
	for candidate in ./bench/domain-index-bench "$(dirname "$0")/domain-index-bench"; do
		if [ -x "$candidate" ]; then BENCH=$candidate; break; fi
	done
fi
[ -n "$BENCH" ] && [ -x "$BENCH" ] || { echo "no domain-index-bench: pass --bench PATH" >&2; exit 77; }
BENCH=$(readlink -f "$BENCH")
[ -z "$LIST" ] || LIST=$(readlink -f "$LIST")

for tool in unbound dnsmasq dig unshare ip timeout; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing (apt-get install -y unbound dnsmasq-base bind9-dnsutils)" >&2; exit 77; }
done

# Everything below runs in a network namespace of its own: nothing listens
# outside it, and it goes away with us.
if [ -z "${TRELLIS_BENCH_IN_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace" >&2; exit 77; }
	export TRELLIS_BENCH_IN_NETNS=1
	args=(--names "$NAMES" --bench "$BENCH")
	[ -z "$LIST" ] || args=(--list "$LIST" --bench "$BENCH")
	exec unshare --net -- "$0" "${args[@]}"
fi
ip link set lo up

TMP=$(mktemp -d /tmp/domain-index-vs-peers.XXXXXX)
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }

# The list: given, or made by the bench program so that all three load the same names.
if [ -n "$LIST" ]; then
	grep -v '^[[:space:]]*\(#\|$\)' "$LIST" | tr 'A-Z' 'a-z' | sed 's/\.$//' > "$TMP/names.txt"
else
	"$BENCH" --names "$NAMES" --lookups 1 --write-list "$TMP/names.txt" > /dev/null
fi
COUNT=$(wc -l < "$TMP/names.txt")
PROBE=$(head -n 1 "$TMP/names.txt")

# Our compile time, and the lookup numbers, from the bench program on the same list.
"$BENCH" --list "$TMP/names.txt" --index "$TMP/index" > "$TMP/ours.txt"
OURS=$(awk '/^compile /{print $2}' "$TMP/ours.txt")
OURS_READ=$(awk '/^read list /{print $3}' "$TMP/ours.txt")

# Starts "$@" in the background and prints the seconds until it answers for
# $PROBE with NXDOMAIN, or "timeout".  Kills it by pid afterwards.
time_until_answer() {
	local start deadline status
	start=$(now)
	"$@" > "$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	deadline=$(( $(date +%s) + LIMIT ))
	while :; do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "exited"; tail -n 5 "$TMP/server.log" >&2; SERVER_PID=; return
		fi
		status=$(dig @127.0.0.1 -p "$PORT" +tries=1 +timeout=1 +noall +comments "$PROBE" A 2>/dev/null \
			| sed -n 's/.*status: \([A-Z]*\).*/\1/p') || true
		if [ "$status" = NXDOMAIN ]; then
			echo "$(now) $start" | awk '{printf "%.3f\n", $1 - $2}'
			break
		fi
		if [ -n "$status" ]; then
			echo "answered $status" >&2
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then echo "timeout"; break; fi
		sleep 0.02
	done
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

# unbound
{
	cat <<EOF
server:
	interface: 127.0.0.1
	port: $PORT
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$TMP"
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 0
	do-ip6: no
	num-threads: 1
	module-config: "iterator"
EOF
	awk '{printf "\tlocal-zone: \"%s.\" always_nxdomain\n", $0}' "$TMP/names.txt"
	cat <<EOF
remote-control:
	control-enable: no
EOF
} > "$TMP/unbound.conf"
UNBOUND=$(time_until_answer timeout -k 5 "$LIMIT" unbound -d -c "$TMP/unbound.conf")

# dnsmasq
{
	echo "no-resolv"
	echo "no-hosts"
	echo "listen-address=127.0.0.1"
	echo "bind-interfaces"
	awk '{printf "address=/%s/\n", $0}' "$TMP/names.txt"
} > "$TMP/dnsmasq.conf"
DNSMASQ=$(time_until_answer timeout -k 5 "$LIMIT" dnsmasq -k --conf-file="$TMP/dnsmasq.conf" \
	--port "$PORT" --user=root --group=root --pid-file= --log-facility=/dev/null)

ratio() {
	case "$2" in
	[0-9]*) awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }' ;;
	*) echo "-" ;;
	esac
}

echo "names in list: $COUNT (probe: $PROBE)"
printf '%-34s %10s %14s\n' "loader" "seconds" "ours/theirs"
printf '%-34s %10s %14s\n' "unbound local-zone (until answer)" "$UNBOUND" "$(ratio "$OURS" "$UNBOUND")"
printf '%-34s %10s %14s\n' "dnsmasq address=/ (until answer)" "$DNSMASQ" "$(ratio "$OURS" "$DNSMASQ")"
printf '%-34s %10s %14s\n' "trellis domain index compile" "$OURS" "1.000"
printf '%-34s %10s\n' "  (reading the list file, extra)" "$OURS_READ"
echo
echo "goal: compile <= 0.2 x unbound load"
echo
sed 's/^/bench: /' "$TMP/ours.txt"
