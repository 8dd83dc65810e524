#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# lists-scale.sh — the published lists at UT1 adult's size, side by side
# with unbound and dnsmasq loading the same list, in one run.  A report,
# not a test: it prints figures and decides nothing.
#
#   sudo ../bench/lists-scale.sh [--names N]        # from the build directory
#
# N (default 4,600,000) synthetic names of UT1 adult's shape (sorted,
# unique, mostly a label under a common TLD, some deeper) are published as
# a UT1 archive (adult.tar.gz holding adult/domains, with its MD5SUM.LST)
# over HTTPS in the test namespaces (tests/lib/common.sh, lists.sh), and:
#
#   1. the real updater fetches, checks and compiles them (a full run), as
#      its own account; then compiles them again offline (compile only);
#   2. trellisd starts with them: the time until a child's query for a
#      listed name is answered NXDOMAIN, and its memory after dnsperf has
#      asked it for listed and unlisted names for 10 s;
#   3. the publisher changes 1% of the names (removes one in 100, adds as
#      many), and back, three times: the updater patches the index in
#      force, trellisd puts it in force (peak and final memory of both);
#      the same updates are then compiled in full (--full), for
#      comparison.  Best of six each, wall clock and CPU time (the machine
#      is shared: CPU time is the steadier figure);
#   4. unbound (local-zone: "NAME." always_nxdomain) and dnsmasq
#      (address=/NAME/) load the same names, in the upstream namespace:
#      the time until each answers NXDOMAIN for a listed name, and its
#      memory once it does.
#
# Needs root, network namespaces, unbound, dnsmasq, dig, dnsperf, openssl,
# python3 and GNU time.  Each server is bounded by LIMIT seconds (900).
set -eu

NAMES=4600000
LIMIT=${LIMIT:-900}
while [ $# -gt 0 ]; do
  case "$1" in
    --names) NAMES=$2; shift 2 ;;
    *) echo "usage: $0 [--names N]" >&2; exit 2 ;;
  esac
done

TEST_NAME=lists-scale
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/lists.sh"
BENCH_PROGRAM=${BENCH_PROGRAM:-$TRELLIS_TOP_BUILDDIR/bench/domain-index-bench}
for tool in unbound dnsmasq dig dnsperf /usr/bin/time; do
  command -v "$tool" >/dev/null || skip "needs $tool"
done
[ -x "$BENCH_PROGRAM" ] || skip "needs $BENCH_PROGRAM (make)"

require_root_and_netns
setup_net
UPSTREAM_LOG_QUERIES=0
start_upstream
create_accounts
make_test_ca
start_list_server
make_test_data_dir
LISTS_MAX_DOWNLOAD=1G
setup_lists_dir
start_system_bus
ip -n "$NS_UPSTREAM" link set lo up

now () { date +%s.%N; }
since () { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# rss_of PID: "VmRSS RssAnon RssFile VmHWM" in MiB.
rss_of ()
{
  awk '/^(VmRSS|RssAnon|RssFile|VmHWM):/ { v[$1] = $2 }
       END { printf "%.1f %.1f %.1f %.1f\n", v["VmRSS:"] / 1024, v["RssAnon:"] / 1024,
                                              v["RssFile:"] / 1024, v["VmHWM:"] / 1024 }' "/proc/$1/status"
}

# ---------------------------------------------------------------- the list
log "making $NAMES names of UT1 adult's shape"
"$BENCH_PROGRAM" --names "$((NAMES + NAMES / 50))" --lookups 1 --write-list "$TEST_DIR/raw.txt" > /dev/null
LC_ALL=C sort -u "$TEST_DIR/raw.txt" | head -n "$NAMES" > "$TEST_DIR/names.txt"
rm -f "$TEST_DIR/raw.txt"
COUNT=$(wc -l < "$TEST_DIR/names.txt")
LIST_BYTES=$(stat -c %s "$TEST_DIR/names.txt")
PROBE=$(sed -n '1000p' "$TEST_DIR/names.txt")
publish_ut1 adult "$TEST_DIR/names.txt"
TARBALL_BYTES=$(stat -c %s "$LIST_ROOT/adult.tar.gz")
write_sources adult "[source ut1-adult]
url = $LIST_URL/adult.tar.gz
format = ut1
checksum-url = $LIST_URL/MD5SUM.LST
checksum = md5"
write_household

# timed_updater ARGS...: the updater as its account; sets RUN_S (wall),
# RUN_CPU (user + system), RUN_RSS (peak, MiB), COMPILE_S and COMPILE_CPU
# (as it reports them), RUN_OUT.
timed_updater ()
{
  local out
  out=$(in_client setpriv --reuid="$UPDATER_UID" --regid="$UPDATER_GID" --clear-groups \
        /usr/bin/time -f 'time %e %U %S %M' "$UPDATER" --lists-dir "$LISTS_DIR" --config "$LISTS_CONF" \
        --data-dir "$TRELLIS_DATA_DIR" --household "$HOUSEHOLD" "$@" 2>&1) || true
  RUN_OUT=$out
  read -r RUN_S RUN_CPU RUN_RSS < <(sed -n 's/^time \([0-9.]*\) \([0-9.]*\) \([0-9.]*\) \([0-9]*\)$/\1 \2 \3 \4/p' <<<"$out" \
                                    | awk '{ printf "%s %.2f %.1f\n", $1, $2 + $3, $4 / 1024 }')
  COMPILE_S=$(sed -n 's/.*(\([0-9.]*\) s, [0-9.]* s of CPU)$/\1/p' <<<"$out")
  COMPILE_CPU=$(sed -n 's/.*(\([0-9.]*\) s, \([0-9.]*\) s of CPU)$/\2/p' <<<"$out")
  RUN_ANON=$(sed -n 's/^memory: at most \([0-9]*\) MiB anonymous and \([0-9]*\) MiB.*/\1/p' <<<"$out")
  RUN_FILE=$(sed -n 's/^memory: at most \([0-9]*\) MiB anonymous and \([0-9]*\) MiB.*/\2/p' <<<"$out")
  printf '%s\n' "$out" | sed 's/^/    updater: /' >&2
}

# min A B...: the smallest number.
min () { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | head -n1; }

# ---------------------------------------------------------------- 1. the updater
log "1. the updater: fetch, check, compile"
timed_updater
FULL_RUN_S=$RUN_S FULL_RUN_CPU=$RUN_CPU FULL_RUN_RSS=$RUN_RSS FULL_COMPILE_S=$COMPILE_S FULL_COMPILE_CPU=$COMPILE_CPU
FULL_ANON=$RUN_ANON FULL_FILE=$RUN_FILE
INDEX_FILE=$(sed -n 's/^index=//p' "$LISTS_DIR/manifest")
INDEX_BYTES=$(stat -c %s "$LISTS_DIR/$INDEX_FILE")
ENTRIES=$(sed -n 's/^n-entries=//p' "$LISTS_DIR/manifest")
NAMES_FILE_BYTES=$(stat -c %s "$LISTS_DIR"/sources/ut1-adult.*.names)
log "   compile only, offline"
timed_updater --offline --full
ONLY_RUN_S=$RUN_S ONLY_RUN_CPU=$RUN_CPU ONLY_RUN_RSS=$RUN_RSS ONLY_COMPILE_S=$COMPILE_S ONLY_COMPILE_CPU=$COMPILE_CPU

# ---------------------------------------------------------------- 2. trellisd
log "2. trellisd takes them and answers"
start=$(now)
# shellcheck disable=SC2046
start_trellisd $(lists_trellisd_args)
for i in $(seq 1 600); do
  dig_as_child "$UPSTREAM_V4" "$PROBE" A
  [ "$(dig_status)" = NXDOMAIN ] && break
  sleep 0.05
done
[ "$(dig_status)" = NXDOMAIN ] || fail "trellisd does not block $PROBE"
TRELLIS_LOAD_S=$(since "$start")
read -r RSS_IDLE ANON_IDLE FILE_IDLE HWM_IDLE < <(rss_of "$TRELLISD_PID")
# dnsperf: half listed names (answered by trellisd), half not (forwarded).
{
  shuf -n 20000 --random-source=<(yes) "$TEST_DIR/names.txt" | sed 's/$/ A/'
  for i in $(seq 1 20000); do echo "unlisted-$i.example A"; done
} | shuf --random-source=<(yes) > "$TEST_DIR/queries.txt"
chmod 644 "$TEST_DIR/queries.txt"
PERF=$(as_child dnsperf -s "$UPSTREAM_V4" -d "$TEST_DIR/queries.txt" -l 10 -Q 4000 -c 4 2>&1) || true
QPS=$(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' <<<"$PERF")
LOST=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' <<<"$PERF")
read -r RSS_ANSWERED ANON_ANSWERED FILE_ANSWERED HWM_ANSWERED < <(rss_of "$TRELLISD_PID")

# ---------------------------------------------------------------- 3. a 1% update
log "3. 1% of the names change, three times back and forth: patched, then compiled in full"
awk 'NR % 100 != 0' "$TEST_DIR/names.txt" > "$TEST_DIR/names2.txt"
CHANGED=$(( COUNT / 100 ))
awk -v n="$CHANGED" 'BEGIN { for (i = 0; i < n; i++) printf "changed-%07d-x%d.com\n", i, (i * 7919) % 100003 }' \
  >> "$TEST_DIR/names2.txt"
LC_ALL=C sort -o "$TEST_DIR/names2.txt" "$TEST_DIR/names2.txt"
echo 5 > "/proc/$TRELLISD_PID/clear_refs"    # VmHWM from now on
# one_update FILE [--full]: publish FILE, run the updater, wait until
# trellisd has it; appends to the PATCH_* or FULLUPD_* lists.
P_COMPILE=() P_CPU=() P_RUN=() P_RUNCPU=() P_RSS=() P_APPLY=()
F_COMPILE=() F_CPU=() F_RUN=() F_RUNCPU=() F_RSS=() F_APPLY=()
one_update ()
{
  local file=$1 full=${2:-} before start
  publish_ut1 adult "$file"
  before=$(sed -n 's/^generation=//p' "$LISTS_DIR/manifest")
  start=$(now)
  timed_updater $full
  wait_for_generation $((before + 1))
  if [ -n "$full" ]; then
    FULLUPD_ANON=$RUN_ANON FULLUPD_FILE=$RUN_FILE
    F_COMPILE+=("$COMPILE_S") F_CPU+=("$COMPILE_CPU") F_RUN+=("$RUN_S") F_RUNCPU+=("$RUN_CPU")
    F_RSS+=("$RUN_RSS") F_APPLY+=("$(since "$start")")
  else
    grep -q "patched into" <<<"$RUN_OUT" || log "   (not a patch: $RUN_OUT)"
    PATCH_ANON=$RUN_ANON PATCH_FILE=$RUN_FILE
    P_COMPILE+=("$COMPILE_S") P_CPU+=("$COMPILE_CPU") P_RUN+=("$RUN_S") P_RUNCPU+=("$RUN_CPU")
    P_RSS+=("$RUN_RSS") P_APPLY+=("$(since "$start")")
  fi
}
for r in 1 2 3; do
  one_update "$TEST_DIR/names2.txt"
  one_update "$TEST_DIR/names.txt"
done
read -r RSS_UPDATED ANON_UPDATED FILE_UPDATED HWM_UPDATE < <(rss_of "$TRELLISD_PID")
one_update "$TEST_DIR/names2.txt"
dig_as_child "$UPSTREAM_V4" "changed-0000001-x7919.com" A
[ "$(dig_status)" = NXDOMAIN ] || fail "a name the update added is not blocked"
for r in 1 2 3; do
  one_update "$TEST_DIR/names.txt" --full
  one_update "$TEST_DIR/names2.txt" --full
done
PATCH_COMPILE_S=$(min "${P_COMPILE[@]}") PATCH_COMPILE_CPU=$(min "${P_CPU[@]}")
PATCH_RUN_S=$(min "${P_RUN[@]}") PATCH_RUN_CPU=$(min "${P_RUNCPU[@]}") PATCH_APPLY_S=$(min "${P_APPLY[@]}")
PATCH_RUN_RSS=$(printf '%s\n' "${P_RSS[@]}" | sort -g | tail -n1)
FULLUPD_COMPILE_S=$(min "${F_COMPILE[@]}") FULLUPD_COMPILE_CPU=$(min "${F_CPU[@]}")
FULLUPD_RUN_S=$(min "${F_RUN[@]}") FULLUPD_RUN_CPU=$(min "${F_RUNCPU[@]}") FULLUPD_APPLY_S=$(min "${F_APPLY[@]}")
FULLUPD_RUN_RSS=$(printf '%s\n' "${F_RSS[@]}" | sort -g | tail -n1)

# ---------------------------------------------------------------- 4. the peers
# cpu_of PID: its user + system seconds so far.
cpu_of ()
{
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^[^)]*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# time_server NAME CMD...: in the upstream namespace on 127.0.0.1:5399;
# sets SERVER_S (until it answers NXDOMAIN for $PROBE), SERVER_CPU (its
# CPU seconds by then) and SERVER_RSS (MiB).
time_server ()
{
  local name=$1 pid start status
  shift
  start=$(now)
  ip netns exec "$NS_UPSTREAM" "$@" > "$TEST_DIR/$name.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  SERVER_S=timeout SERVER_RSS=- SERVER_CPU=-
  while kill -0 "$pid" 2>/dev/null; do
    status=$(in_upstream dig @127.0.0.1 -p 5399 +tries=1 +timeout=1 +noall +comments "$PROBE" A 2>/dev/null \
             | sed -n 's/.*status: \([A-Z]*\).*/\1/p') || true
    if [ "$status" = NXDOMAIN ]; then
      SERVER_S=$(since "$start")
      SERVER_CPU=$(cpu_of "$pid")
      SERVER_RSS=$(rss_of "$pid" | cut -d' ' -f1)
      break
    fi
    if [ "$(awk -v a="$start" -v b="$(now)" 'BEGIN { print (b - a > '"$LIMIT"') }')" = 1 ]; then
      break
    fi
    sleep 0.2
  done
  kill_pid "$pid" TERM >/dev/null 2>&1 || true
  _untrack_pid "$pid"
}

log "4. unbound and dnsmasq load the same names"
{
  printf 'server:\n\tinterface: 127.0.0.1\n\tport: 5399\n\tdo-daemonize: no\n\tchroot: ""\n'
  printf '\tusername: ""\n\tdirectory: "%s"\n\tpidfile: ""\n\tuse-syslog: no\n\tlogfile: ""\n' "$TEST_DIR"
  printf '\tverbosity: 0\n\tdo-ip6: no\n\tnum-threads: 1\n\tmodule-config: "iterator"\n'
  awk '{ printf "\tlocal-zone: \"%s.\" always_nxdomain\n", $0 }' "$TEST_DIR/names.txt"
  printf 'remote-control:\n\tcontrol-enable: no\n'
} > "$TEST_DIR/unbound.conf"
time_server unbound unbound -d -c "$TEST_DIR/unbound.conf"
UNBOUND_S=$SERVER_S UNBOUND_CPU=$SERVER_CPU UNBOUND_RSS=$SERVER_RSS
rm -f "$TEST_DIR/unbound.conf"
{
  printf 'no-resolv\nno-hosts\nlisten-address=127.0.0.1\nbind-interfaces\n'
  awk '{ printf "address=/%s/\n", $0 }' "$TEST_DIR/names.txt"
} > "$TEST_DIR/dnsmasq.conf"
time_server dnsmasq dnsmasq -k --conf-file="$TEST_DIR/dnsmasq.conf" --port 5399 --user=root \
  --group=root --pid-file= --log-facility=/dev/null
DNSMASQ_S=$SERVER_S DNSMASQ_CPU=$SERVER_CPU DNSMASQ_RSS=$SERVER_RSS

# ---------------------------------------------------------------- the report
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "" && b != "") printf "%.3f", a / b; else print "-" }'; }
echo
echo "lists-scale: $COUNT names ($((LIST_BYTES / 1024 / 1024)) MiB as a list, $((TARBALL_BYTES / 1024 / 1024)) MiB as adult.tar.gz), $(nproc) cores, $(date -u +%F)"
echo
printf '%-58s %9s %9s %9s\n' "what" "seconds" "CPU s" "peak MiB"
printf '%-58s %9s %9s %9s\n' "updater: fetch + checksum + unpack + read + compile (full)" "$FULL_RUN_S" "$FULL_RUN_CPU" "$FULL_RUN_RSS"
printf '%-58s %9s %9s %9s\n' "  of which the compile" "$FULL_COMPILE_S" "$FULL_COMPILE_CPU" ""
printf '%-58s %9s %9s %9s\n' "updater --offline --full: compile only (whole run)" "$ONLY_RUN_S" "$ONLY_RUN_CPU" "$ONLY_RUN_RSS"
printf '%-58s %9s %9s %9s\n' "  of which the compile" "$ONLY_COMPILE_S" "$ONLY_COMPILE_CPU" ""
printf '%-58s %9s %9s %9s\n' "trellisd start until it answers NXDOMAIN for a listed name" "$TRELLIS_LOAD_S" "" "$HWM_IDLE"
printf '%-58s %9s %9s %9s\n' "unbound local-zone until it answers NXDOMAIN" "$UNBOUND_S" "$UNBOUND_CPU" "$UNBOUND_RSS"
printf '%-58s %9s %9s %9s\n' "dnsmasq address=/ until it answers NXDOMAIN" "$DNSMASQ_S" "$DNSMASQ_CPU" "$DNSMASQ_RSS"
printf '%-58s %9s %9s %9s\n' "1% update, patched (best of 6): updater run" "$PATCH_RUN_S" "$PATCH_RUN_CPU" "$PATCH_RUN_RSS"
printf '%-58s %9s %9s %9s\n' "  of which the compile (patch)" "$PATCH_COMPILE_S" "$PATCH_COMPILE_CPU" ""
printf '%-58s %9s %9s %9s\n' "  from the updater's start until trellisd has it" "$PATCH_APPLY_S" "" "$HWM_UPDATE"
printf '%-58s %9s %9s %9s\n' "1% update compiled in full (best of 6): updater run" "$FULLUPD_RUN_S" "$FULLUPD_RUN_CPU" "$FULLUPD_RUN_RSS"
printf '%-58s %9s %9s %9s\n' "  of which the compile (full)" "$FULLUPD_COMPILE_S" "$FULLUPD_COMPILE_CPU" ""
printf '%-58s %9s %9s %9s\n' "  from the updater's start until trellisd has it" "$FULLUPD_APPLY_S" "" ""
echo
echo "index: $INDEX_BYTES bytes for $ENTRIES names = $(awk -v a="$INDEX_BYTES" -v b="$ENTRIES" 'BEGIN { printf "%.2f", a / b }') bytes/name (names file kept by the updater: $((NAMES_FILE_BYTES / 1024 / 1024)) MiB)"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "trellisd memory, MiB (VmRSS = anonymous + mapped file):"
echo "  idle after start:        VmRSS $RSS_IDLE (anon $ANON_IDLE, file $FILE_IDLE)"
echo "  after 10 s of dnsperf:   VmRSS $RSS_ANSWERED (anon $ANON_ANSWERED, file $FILE_ANSWERED); $QPS queries/s, $LOST lost"
echo "  after the 1% update:     VmRSS $RSS_UPDATED (anon $ANON_UPDATED, file $FILE_UPDATED); peak during it $HWM_UPDATE"
echo
echo "targets:"
echo "  compile <= 0.1 x unbound's load:           $(ratio "$ONLY_COMPILE_S" "$UNBOUND_S") (compile only, wall), $(ratio "$ONLY_COMPILE_CPU" "$UNBOUND_CPU") (CPU); whole updater run: $(ratio "$FULL_RUN_S" "$UNBOUND_S") (wall), $(ratio "$FULL_RUN_CPU" "$UNBOUND_CPU") (CPU)"
echo "  index <= 16 bytes/name:                    $(awk -v a="$INDEX_BYTES" -v b="$ENTRIES" 'BEGIN { printf "%.2f", a / b }')"
echo "  trellisd RSS <= 0.25 x dnsmasq's:          $(ratio "$RSS_ANSWERED" "$DNSMASQ_RSS") (after dnsperf; idle $(ratio "$RSS_IDLE" "$DNSMASQ_RSS"))"
echo "  1% update <= 0.2 x a full compile:         $(ratio "$PATCH_COMPILE_S" "$FULLUPD_COMPILE_S") (compile step, wall), $(ratio "$PATCH_COMPILE_CPU" "$FULLUPD_COMPILE_CPU") (CPU); $(ratio "$PATCH_RUN_CPU" "$FULLUPD_RUN_CPU") (whole run, CPU); $(ratio "$PATCH_APPLY_S" "$FULLUPD_APPLY_S") (start to in force, wall)"
echo "  peak during an update: updater $PATCH_RUN_RSS MiB (patch) / $FULLUPD_RUN_RSS MiB (full), trellisd $HWM_UPDATE MiB (VmHWM: mapped files included)"
echo "    updater, anonymous / mapped files at its high points: patch $PATCH_ANON / $PATCH_FILE MiB,"
echo "    full compile of an update $FULLUPD_ANON / $FULLUPD_FILE MiB, first full run $FULL_ANON / $FULL_FILE MiB"
