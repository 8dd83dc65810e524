# SPDX-License-Identifier: GPL-3.0-or-later
# nspawn.sh — the package tests: the .deb installed in a Debian 12 booted
# under its own systemd 252 (PID 1 here is not systemd), with
# systemd-nspawn.
#
# The root, /var/cache/trellis-ci/nspawn-root, is a debootstrap'd bookworm
# with what the .debs depend on and what the tests use (dig, dnsmasq,
# nft, ps), made once (with the network, under a lock) and brought up to
# date when the .debs' dependencies change.  Each test boots its own
# container over it with --volatile=overlay (everything it does is gone
# when it ends) and --private-network (nothing touches this machine's
# network), and runs commands inside with nsenter.  Inside, the child's
# "internet" is a second network namespace behind a veth pair, where
# dnsmasq answers every name with 192.0.2.1 and logs every query:
#
#   container  10.53.0.1  trellisd, the child sam, the parent mum
#   netns up   10.53.0.2  dnsmasq
#
# Use from a test:
#   . "$TRELLIS_TOP_SRCDIR/tests/lib/nspawn.sh"
#   ct_require; deb_ensure; ct_root_ensure; ct_boot
#   ct_install /debs; ct_upstream; ct_protect_child
#   ct_dig sam example-game.com
#
# Bash only.  Safe under set -eu.

set -eu

if [ -z "${TRELLIS_TOP_SRCDIR:-}" ]; then
  TRELLIS_TOP_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
TRELLIS_TOP_BUILDDIR=${TRELLIS_TOP_BUILDDIR:-$(pwd)}
export TRELLIS_TOP_SRCDIR TRELLIS_TOP_BUILDDIR
export LC_ALL=C.UTF-8
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}

. "$TRELLIS_TOP_SRCDIR/tests/lib/deb.sh"

TRELLIS_CI_MIRROR=${TRELLIS_CI_MIRROR:-http://deb.debian.org/debian}
CT_ROOT=$TRELLIS_CI_CACHE/nspawn-root
CT_ROOT_LOCK=$TRELLIS_CI_CACHE/nspawn-root.lock
# What the tests run inside, besides what the .debs depend on.
CT_TOOLS="systemd-sysv, dbus, iproute2, nftables, dnsmasq-base, bind9-dnsutils, procps"

CT_NAME=
CT_PID=
CT_LEADER=
CT_DIR=
CHILD=sam
PARENT=mum
UPSTREAM=10.53.0.2
UPSTREAM_ANSWER=192.0.2.1
BLOCKED_NAME=example-game.com
ALLOWED_NAME=example.org

log ()
{
  printf '%s: %s\n' "$TEST_NAME" "$*" >&2
}

skip ()
{
  printf '%s: SKIP: %s\n' "$TEST_NAME" "$*" >&2
  exit 77
}

fail ()
{
  printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
  ct_dump
  exit 1
}

# ct_require: what booting a container needs.  Without root the test
# cannot run here (77); a missing program is a failure (./bootstrap deps
# installs them all).
ct_require ()
{
  local t
  [ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn, debootstrap)"
  for t in systemd-nspawn debootstrap nsenter flock; do
    command -v "$t" >/dev/null 2>&1 ||
      fail "needs '$t' (./bootstrap deps installs it: systemd-container, debootstrap, util-linux)"
  done
  trap ct_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# _ct_wanted: the dependency line the root must satisfy: the .debs'
# Depends (trellis itself left out) and the tools.
_ct_wanted ()
{
  local deps
  deps="$(dpkg-deb -f "$DEB_TRELLIS" Depends), $(dpkg-deb -f "$DEB_NOTIFY" Depends)"
  printf '%s, %s\n' "$deps" "$CT_TOOLS" | tr ',' '\n' | sed 's/^ *//; s/ *$//' |
    grep -v '^trellis\( \|$\)' | sort -u | paste -sd, - | sed 's/,/, /g'
}

_ct_root_run ()
{
  # The network of this machine: the root is made with Debian's archive.
  systemd-nspawn -q --register=no --keep-unit -D "$CT_ROOT" \
    -E DEBIAN_FRONTEND=noninteractive -E LC_ALL=C.UTF-8 "$@"
}

# ct_root_ensure: the root exists and satisfies what the .debs depend on.
ct_root_ensure ()
{
  local wanted tmp
  wanted=$(_ct_wanted)
  mkdir -p "$TRELLIS_CI_CACHE"
  (
    flock 9
    if [ ! -f "$CT_ROOT/.trellis-ci-root" ]; then
      log "making the bookworm root $CT_ROOT (debootstrap from $TRELLIS_CI_MIRROR)"
      tmp=$CT_ROOT.tmp
      rm -rf "$tmp" "$CT_ROOT"
      debootstrap --variant=minbase --include=systemd-sysv,dbus,iproute2 \
        bookworm "$tmp" "$TRELLIS_CI_MIRROR" > "$TRELLIS_CI_CACHE/nspawn-root.debootstrap.log" 2>&1 ||
        { tail -n 20 "$TRELLIS_CI_CACHE/nspawn-root.debootstrap.log" >&2; exit 1; }
      # No getty on the console the tests never read.
      ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
      touch "$tmp/.trellis-ci-root"
      mv "$tmp" "$CT_ROOT"
    fi
    if [ "$(cat "$CT_ROOT/.trellis-ci-packages" 2>/dev/null)" != "$wanted" ]; then
      log "installing into the root: $wanted"
      _ct_root_run sh -c 'apt-get update -qq && apt-get satisfy -y -qq --no-install-recommends "$1" && apt-get clean' \
        sh "$wanted" > "$TRELLIS_CI_CACHE/nspawn-root.apt.log" 2>&1 ||
        { tail -n 20 "$TRELLIS_CI_CACHE/nspawn-root.apt.log" >&2; exit 1; }
      printf '%s\n' "$wanted" > "$CT_ROOT/.trellis-ci-packages"
    fi
  ) 9> "$CT_ROOT_LOCK" || fail "cannot prepare the container root $CT_ROOT"
}

# ct_boot [NSPAWN-OPTION...]: boots a container over the root; the .debs
# are at /debs inside (and the next version's at /debs-next when made).
ct_boot ()
{
  local i tag
  tag=$(printf '%s' "$TEST_NAME" | tr -cd 'a-z0-9' | cut -c1-16)
  CT_NAME="trellis-$tag-$$"
  CT_DIR=$(mktemp -d "/tmp/trellis-$tag.XXXXXX")
  local binds=(--bind-ro="$DEB_DIR:/debs")
  [ -n "$DEB_NEXT_DIR" ] && binds+=(--bind-ro="$DEB_NEXT_DIR:/debs-next")
  # The root must not change under a running container: a shared lock for
  # as long as it runs (ct_root_ensure takes it exclusively).
  exec 8> "$CT_ROOT_LOCK"
  flock -s 8
  systemd-nspawn --boot --register=no --keep-unit --private-network \
    --volatile=overlay --console=read-only -D "$CT_ROOT" --machine="$CT_NAME" \
    "${binds[@]}" "$@" > "$CT_DIR/console.log" 2>&1 &
  CT_PID=$!
  for i in $(seq 1 200); do
    CT_LEADER=$(pgrep -P "$CT_PID" -x systemd 2>/dev/null | head -n1 || true)
    [ -n "$CT_LEADER" ] && break
    kill -0 "$CT_PID" 2>/dev/null || fail "systemd-nspawn exited at start"
    sleep 0.05
  done
  [ -n "$CT_LEADER" ] || fail "the container's systemd did not start within 10 s"
  # "running", or "degraded" when some unit of the bare root failed.
  # systemctl cannot ask until systemd has set up its own socket.
  wait_until 60 "the container finishing its boot" _ct_booted
  log "container $CT_NAME booted (systemd $(cx systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), leader pid $CT_LEADER)"
}

_ct_booted ()
{
  kill -0 "$CT_PID" 2>/dev/null || fail "systemd-nspawn exited while booting"
  case $(cx timeout 10 systemctl is-system-running --wait 2>/dev/null || true) in
    running|degraded) return 0 ;;
  esac
  return 1
}

# cx CMD...: runs CMD inside the container, with a clean environment.
cx ()
{
  nsenter -t "$CT_LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root "$@"
}

# show CMD...: cx, with the command and its output in the test's log (the
# transcript).
show ()
{
  local rc=0
  printf 'container# %s\n' "$*"
  cx "$@" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || printf '(exit status %s)\n' "$rc"
  return "$rc"
}

# ct_install DIR: installs the .debs of DIR (inside the container) with
# apt, as a family would, and waits for trellisd to be up.
ct_install ()
{
  local dir=$1
  show bash -o pipefail -c "apt-get install -y -o Dpkg::Use-Pty=0 $dir/trellis_*.deb $dir/trellis-notify_*.deb 2>&1 | grep -v '^\(Reading\|Building\|Note, selecting\)'" ||
    fail "apt-get install of $dir failed"
  ct_wait_active
}

ct_wait_active ()
{
  local i
  for i in $(seq 1 100); do
    cx systemctl --quiet is-active trellisd.service && return 0
    sleep 0.1
  done
  fail "trellisd.service is not active"
}

# ct_upstream: accounts for the child and a parent, and the upstream.
ct_upstream ()
{
  cx useradd --create-home --shell /bin/bash "$CHILD"
  cx useradd --create-home --shell /bin/bash "$PARENT"
  cx sh -e -c "
    ip netns add up
    ip link add veth0 type veth peer name veth1
    ip link set veth1 netns up
    ip addr add 10.53.0.1/24 dev veth0
    ip link set veth0 up
    ip -n up addr add $UPSTREAM/24 dev veth1
    ip -n up link set veth1 up
    ip -n up link set lo up"
  cx systemd-run --quiet --unit=upstream-dns -p Type=simple ip netns exec up \
    dnsmasq --keep-in-foreground --no-resolv --no-hosts --address=/#/$UPSTREAM_ANSWER \
    --listen-address=$UPSTREAM --bind-interfaces --log-queries --log-facility=/run/upstream-dns.log
  wait_until 5 "the upstream answers" _ct_upstream_answers
}

# ct_protect_child: the child named in the household with the parents'
# commands, as root (a parent), as a family does it: trellis child add,
# trellis deny.  Each is in force when it returns.
ct_protect_child ()
{
  local since
  since=$(cx date +%s)
  show trellis child add "$CHILD" --age 10 --account "$CHILD" || fail "trellis child add failed"
  show trellis deny "$BLOCKED_NAME" --child "$CHILD" || fail "trellis deny failed"
  wait_until 10 "trellisd protects $CHILD's account" _ct_reloaded "$since" 1
  show ls -ld /etc/trellis /etc/trellis/household.conf
  show tail -n 5 /etc/trellis/household.conf
}

_ct_upstream_answers ()
{
  cx dig @"$UPSTREAM" +tries=1 +timeout=1 +short upstream.test | grep -qx "$UPSTREAM_ANSWER"
}

_ct_reloaded ()
{
  cx journalctl -q -u trellisd --since=@"$1" -g "household reloaded: protecting $2 account" | grep -q .
}

# ct_apply [N]: trellis policy apply, as root, and wait until trellisd
# says it protects N accounts (1).
ct_apply ()
{
  local since
  since=$(cx date +%s)
  show trellis policy apply || fail "trellis policy apply failed"
  wait_until 10 "trellisd reloaded the household" _ct_reloaded "$since" "${1:-1}"
}

# ct_dig USER NAME [DIG-OPTION...]: dig as USER (their uid, their groups).
ct_dig ()
{
  local user=$1 name=$2
  shift 2
  cx setpriv --reuid="$user" --regid="$user" --init-groups \
    dig @"$UPSTREAM" "$name" +tries=1 +timeout=2 "$@" 2>&1 || true
}

# upstream_saw NAME: the query reached the upstream resolver.
upstream_saw ()
{
  cx grep -q "query\[[A-Z]*\] $1 from" /run/upstream-dns.log
}

# upstream_forget: empties the upstream's query log (dnsmasq appends).
upstream_forget ()
{
  cx truncate -s 0 /run/upstream-dns.log
}

# wait_until SECONDS WHAT CMD...: runs CMD until it succeeds.
wait_until ()
{
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || fail "$what: not within $seconds s"
    sleep 0.1
  done
}

# probe_run NAME SECONDS T0 [DONE_FILE]: for SECONDS from now, every 50 ms,
# the child asks NAME (dig, one try, 1 s), each in the background; with
# DONE_FILE, also until that file exists and SECONDS more after it (at most
# 120 s in all), so what is watched is seen to its end on a slow machine.
# Writes
# $CT_DIR/probes, one line per query sorted by when it was sent:
# "MS RESULT", MS since T0 (now_ms), RESULT one of
#   NXDOMAIN  answered by trellisd (blocked)
#   ANSWER    answered by the upstream: the query went through unfiltered
#   NONE      no answer (dropped: the queue has no one, fail closed)
#   OTHER     anything else
probe_run ()
{
  local name=$1 until_ms t0=$3 done_file=${4:-} pids=() sent limit_ms
  until_ms=$(( $(now_ms) + $2 * 1000 ))
  limit_ms=$(( $(now_ms) + 120000 ))
  : > "$CT_DIR/probes.raw"
  while [ "$(now_ms)" -lt "$until_ms" ] ||
        { [ -n "$done_file" ] && [ "$(now_ms)" -lt "$limit_ms" ]; }; do
    if [ -n "$done_file" ] && [ -e "$done_file" ]; then
      until_ms=$(( $(stat -c %Y "$done_file") * 1000 + $2 * 1000 ))
      done_file=
      continue
    fi
    sent=$(( $(now_ms) - t0 ))
    _probe_one "$name" "$sent" &
    pids+=($!)
    sleep 0.05
  done
  wait "${pids[@]}" 2>/dev/null || true
  sort -n "$CT_DIR/probes.raw" > "$CT_DIR/probes"
}

_probe_one ()
{
  local out result=OTHER
  out=$(ct_dig "$CHILD" "$1" +timeout=1)
  case $out in
    *"status: NXDOMAIN"*) result=NXDOMAIN ;;
    *"status: NOERROR"*) result=ANSWER ;;
    *"timed out"*|*"no servers could be reached"*) result=NONE ;;
  esac
  echo "$2 $result" >> "$CT_DIR/probes.raw"
}

# probe_summary: the probes in runs ("0-480 ms: NONE x10").
probe_summary ()
{
  awk '$2 != r { if (n) printf "  %5d-%5d ms  %-8s x%d\n", a, b, r, n; r = $2; a = $1; n = 0 }
       { b = $1; n++ }
       END { if (n) printf "  %5d-%5d ms  %-8s x%d\n", a, b, r, n }' "$CT_DIR/probes"
}

# probe_filtered_again: the time (ms) of the first query from which on
# every query was answered by trellisd; empty when the last was not.
probe_filtered_again ()
{
  awk '$2 != "NXDOMAIN" { t = "" ; next } t == "" { t = $1 } END { print t }' "$CT_DIR/probes"
}

# now_ms: the time in milliseconds.
now_ms ()
{
  echo $(( $(date +%s%N) / 1000000 ))
}

ct_dump ()
{
  [ -n "$CT_LEADER" ] && kill -0 "$CT_LEADER" 2>/dev/null || return 0
  {
    echo "----- journal of trellisd (last 60 lines) -----"
    cx journalctl -q -u trellisd --no-pager -n 60 || true
    echo "----- systemctl status trellisd -----"
    cx systemctl status trellisd --no-pager || true
    echo "----- nft list ruleset -----"
    cx nft list ruleset 2>/dev/null || true
  } >&2
}

ct_cleanup ()
{
  local i
  if [ -n "$CT_PID" ] && kill -0 "$CT_PID" 2>/dev/null; then
    # Killing the container's PID 1 ends every process in it; nspawn then
    # removes its mounts and exits.
    [ -n "$CT_LEADER" ] && kill -KILL "$CT_LEADER" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$CT_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$CT_PID" 2>/dev/null || true
    wait "$CT_PID" 2>/dev/null || true
  fi
  [ -n "$CT_DIR" ] && rm -rf "$CT_DIR"
  return 0
}
