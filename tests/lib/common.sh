# SPDX-License-Identifier: GPL-3.0-or-later
# common.sh — the machinery every integration test sources.
#
# A test gets two throwaway network namespaces joined by a veth pair:
#
#   client   (10.53.0.1/24, fd53::1/64)  trellisd and the child's processes
#   upstream (10.53.0.2/24, fd53::2/64)  dnsmasq answering EVERY name with
#                                         192.0.2.1 / 2001:db8::1
#
# so any NXDOMAIN the child sees can only have come from trellisd, and the
# upstream's query log tells whether a name ever left the client namespace.
# A child and a parent Linux account are created per test.  A trap removes
# everything the test made (processes by pid, namespaces, accounts, files)
# however the test ends.  Nothing outside the namespaces is touched: the
# machine's own DNS and firewall stay as they are.
#
# Use from a test:
#   . "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/common.sh"
#   setup_stack [--bus]        # all of: require_root_and_netns; setup_net;
#                              # start_upstream; create_accounts;
#                              # write_household; [start_system_bus];
#                              # start_trellisd [wait_for_trellisd_on_bus]
#   dig_as_child 10.53.0.2 example-game.com; assert_blocked ...
#   wait_until 5 some_condition || fail "..."   # never a bare sleep
#
# Bash only.  Safe under set -eu.

set -eu

# --------------------------------------------------------------------------
# Where things are.

if [ -z "${TRELLIS_TOP_SRCDIR:-}" ]; then
  TRELLIS_TOP_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
if [ -z "${TRELLIS_TOP_BUILDDIR:-}" ]; then
  TRELLIS_TOP_BUILDDIR=$(pwd)
fi
export TRELLIS_TOP_SRCDIR TRELLIS_TOP_BUILDDIR
export LC_ALL=C.UTF-8

TRELLISD=${TRELLISD:-$TRELLIS_TOP_BUILDDIR/daemon/trellisd}
TRELLIS_CLI=${TRELLIS_CLI:-$TRELLIS_TOP_BUILDDIR/cli/trellis}
TRELLIS_DATA_DIR=${TRELLIS_DATA_DIR:-$TRELLIS_TOP_SRCDIR/policy/data}

# The child runs programs through setpriv; a python3 from root's home (pyenv)
# is not reachable for it, so use the system's.
PYTHON3=${PYTHON3:-/usr/bin/python3}

# The addresses of the test network.
CLIENT_V4=10.53.0.1
UPSTREAM_V4=10.53.0.2
CLIENT_V6=fd53::1
UPSTREAM_V6=fd53::2
UPSTREAM_ANSWER_V4=192.0.2.1
UPSTREAM_ANSWER_V6=2001:db8::1

# trellisd's settings; the queue number is per network namespace.
QUEUE_NUM=${QUEUE_NUM:-7}
ANSWER_PORT=${ANSWER_PORT:-5300}

DIG_OPTS=(+tries=1 +timeout=2)

# --------------------------------------------------------------------------
# Per-test names.  The namespaces are files under /run/netns (any length);
# the veth is created inside the namespaces, so its short fixed names never
# meet another test's.  Account names stay well under 32 characters.

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
_tag=$(printf '%s' "$TEST_NAME" | tr -cd 'a-z0-9' | cut -c1-10)
[ -n "$_tag" ] || _tag=t
TEST_ID="${_tag}-$$"
NS_CLIENT="trellis-${TEST_ID}-client"
NS_UPSTREAM="trellis-${TEST_ID}-upstream"
VETH_CLIENT=tv-client
VETH_UPSTREAM=tv-upstream
CHILD_ACCOUNT="trt-${TEST_ID}-c"
PARENT_ACCOUNT="trt-${TEST_ID}-p"
CHILD_UID=
CHILD_GID=
PARENT_UID=
PARENT_GID=
unset _tag

ACCOUNTS_LOCK=/run/lock/trellis-tests.lock

TEST_DIR=
TRELLISD_LOG=
TRELLISD_PID=
TRELLISD_ARGS=()
UPSTREAM_LOG=
UPSTREAM_PID=
HOUSEHOLD=

# What the cleanup has to undo.
_pids=()
_namespaces=()
_accounts=()
_cleanup_done=0

# --------------------------------------------------------------------------
# Messages.

log ()
{
  printf '%s: %s\n' "$TEST_NAME" "$*" >&2
}

skip ()
{
  printf '%s: SKIP: %s\n' "$TEST_NAME" "$*" >&2
  exit 77
}

print_logs ()
{
  if [ -n "$TRELLISD_LOG" ] && [ -s "$TRELLISD_LOG" ]; then
    echo "----- trellisd log ($TRELLISD_LOG, last 80 lines) -----" >&2
    tail -n 80 "$TRELLISD_LOG" >&2 || true
  fi
  if [ -n "$UPSTREAM_LOG" ] && [ -s "$UPSTREAM_LOG" ]; then
    echo "----- upstream (dnsmasq) log, last 60 lines -----" >&2
    tail -n 60 "$UPSTREAM_LOG" >&2 || true
  fi
  if [ -n "$TRELLISD_PID" ]; then
    if kill -0 "$TRELLISD_PID" 2>/dev/null; then
      echo "----- trellisd (pid $TRELLISD_PID) is running -----" >&2
    else
      echo "----- trellisd (pid $TRELLISD_PID) is NOT running -----" >&2
    fi
  fi
  if _ns_exists "$NS_CLIENT"; then
    echo "----- nft ruleset in the client namespace -----" >&2
    ip netns exec "$NS_CLIENT" nft list ruleset >&2 2>/dev/null || true
  fi
}

# fail MSG: the test failed; say why, show the logs, exit 1 (the trap cleans up).
fail ()
{
  printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
  print_logs
  exit 1
}

# --------------------------------------------------------------------------
# Waiting: poll a condition with a bound, never a fixed sleep.

# now_ms: milliseconds on a clock that only goes forward (for deadlines).
now_ms ()
{
  local t
  read -r t _ < /proc/uptime
  echo $(( ${t%.*} * 1000 + 10#${t#*.} * 10 ))
}

# _ms SECONDS: SECONDS (an integer or a decimal, e.g. 0.5) in milliseconds.
_ms ()
{
  local s=$1 i f
  i=${s%%.*}
  f=
  [ "$i" = "$s" ] || f=${s#*.}
  f=${f}000
  echo $(( ${i:-0} * 1000 + 10#${f:0:3} ))
}

# wait_until TIMEOUT CMD [ARGS...]: run CMD every 0.1 s until it succeeds
# (return 0) or TIMEOUT seconds (may be a decimal) have passed (return 1).
# CMD runs at least once, and once more at the deadline, so a slow machine
# does not turn a late success into a failure.  CMD may be a shell function;
# its output is not hidden.  Use: wait_until 5 cond || fail "why".
wait_until ()
{
  local deadline
  deadline=$(( $(now_ms) + $(_ms "$1") ))
  shift
  while :; do
    "$@" && return 0
    [ "$(now_ms)" -lt "$deadline" ] || break
    sleep 0.1
  done
  "$@"
}

# log_has_more FILE ERE N: FILE has more than N lines matching ERE (a
# condition for wait_until: "a new line like this appeared").
log_has_more ()
{
  [ "$(grep -cE -- "$2" "$1" 2>/dev/null || true)" -gt "$3" ]
}

# --------------------------------------------------------------------------
# Cleanup: every pid we started, by pid; then namespaces, accounts, files.

_ns_exists ()
{
  [ -e "/run/netns/$1" ]
}

track_pid ()
{
  _pids+=("$1")
}

# pid_gone PID: PID has exited (a zombie child, which still answers kill -0,
# counts as gone: wait reaps it).
pid_gone ()
{
  ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]
}

# kill_pid PID [SIGNAL]: signal one of our pids, wait up to 3 s for it to go,
# then SIGKILL it.  Returns its exit status when it is our child.
kill_pid ()
{
  local pid=$1 sig=${2:-TERM} rc=0
  kill -0 "$pid" 2>/dev/null || { { wait "$pid"; } 2>/dev/null || rc=$?; return $rc; }
  kill -s "$sig" "$pid" 2>/dev/null || true
  wait_until 3 pid_gone "$pid" || kill -s KILL "$pid" 2>/dev/null || true
  { wait "$pid"; } 2>/dev/null || rc=$?
  return $rc
}

_untrack_pid ()
{
  local pid=$1 p keep=()
  for p in "${_pids[@]}"; do
    [ "$p" = "$pid" ] || keep+=("$p")
  done
  _pids=("${keep[@]}")
}

cleanup ()
{
  local rc=$? pid ns account
  [ "$_cleanup_done" = 0 ] || return 0
  _cleanup_done=1
  set +e
  # No "Killed"/"Terminated" job notices from here on; our own words to fd 4.
  exec 4>&2 2>/dev/null
  for pid in "${_pids[@]}"; do
    kill_pid "$pid" TERM >/dev/null 2>&1
  done
  _pids=()
  for ns in "${_namespaces[@]}"; do
    if _ns_exists "$ns"; then
      ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns" 2>&4
    fi
  done
  _namespaces=()
  if [ "${#_accounts[@]}" -gt 0 ]; then
    for account in "${_accounts[@]}"; do
      if getent passwd "$account" >/dev/null; then
        flock "$ACCOUNTS_LOCK" userdel "$account" >/dev/null 2>&1 \
          || log "could not remove account $account" 2>&4
      fi
    done
  fi
  _accounts=()
  if [ -n "$TEST_DIR" ] && [ -d "$TEST_DIR" ]; then
    rm -rf -- "$TEST_DIR"
  fi
  return $rc
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --------------------------------------------------------------------------
# Preconditions.

# require_root_and_netns: exit 77 (SKIP) saying why when the test cannot run here.
_preconditions_met=0
require_root_and_netns ()
{
  local cmd probe
  [ "$_preconditions_met" = 0 ] || return 0
  [ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables, accounts)"
  for cmd in ip nft dig dnsmasq setpriv flock useradd userdel ss; do
    command -v "$cmd" >/dev/null 2>&1 || skip "needs '$cmd' (not found in PATH)"
  done
  [ -x "$PYTHON3" ] || skip "needs $PYTHON3"
  probe="trellis-${TEST_ID}-probe"
  ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace (ip netns add failed)"
  if ! ip netns exec "$probe" nft list ruleset >/dev/null 2>&1; then
    ip netns del "$probe" 2>/dev/null || true
    skip "nftables does not work in a network namespace here"
  fi
  ip netns del "$probe"
  _make_test_dir
  _preconditions_met=1
}

_make_test_dir ()
{
  [ -z "$TEST_DIR" ] || return 0
  TEST_DIR=$(mktemp -d "/tmp/trellis-${TEST_ID}.XXXXXX")
  # The child account reads the household file and runs helpers from here.
  chmod 755 "$TEST_DIR"
  TRELLISD_LOG="$TEST_DIR/trellisd.log"
  UPSTREAM_LOG="$TEST_DIR/upstream.log"
  : > "$TRELLISD_LOG"
}

# --------------------------------------------------------------------------
# The network.

in_client ()
{
  ip netns exec "$NS_CLIENT" "$@"
}

in_upstream ()
{
  ip netns exec "$NS_UPSTREAM" "$@"
}

setup_net ()
{
  _make_test_dir
  ip netns add "$NS_CLIENT" || fail "ip netns add $NS_CLIENT"
  _namespaces+=("$NS_CLIENT")
  ip netns add "$NS_UPSTREAM" || fail "ip netns add $NS_UPSTREAM"
  _namespaces+=("$NS_UPSTREAM")

  ip -n "$NS_CLIENT" link add "$VETH_CLIENT" type veth peer name "$VETH_UPSTREAM" netns "$NS_UPSTREAM" \
    || fail "cannot create the veth pair"

  ip -n "$NS_CLIENT" link set lo up
  ip -n "$NS_UPSTREAM" link set lo up
  ip -n "$NS_CLIENT" addr add "$CLIENT_V4/24" dev "$VETH_CLIENT"
  ip -n "$NS_CLIENT" addr add "$CLIENT_V6/64" dev "$VETH_CLIENT" nodad
  ip -n "$NS_UPSTREAM" addr add "$UPSTREAM_V4/24" dev "$VETH_UPSTREAM"
  ip -n "$NS_UPSTREAM" addr add "$UPSTREAM_V6/64" dev "$VETH_UPSTREAM" nodad
  ip -n "$NS_CLIENT" link set "$VETH_CLIENT" up
  ip -n "$NS_UPSTREAM" link set "$VETH_UPSTREAM" up

  wait_until 5 _veth_ready || fail "the veth link between the namespaces does not come up"
}

# _veth_ready: both ends have carrier and no tentative address.
_veth_ready ()
{
  ip -n "$NS_CLIENT" -o link show dev "$VETH_CLIENT" | grep -q LOWER_UP \
    && ip -n "$NS_UPSTREAM" -o link show dev "$VETH_UPSTREAM" | grep -q LOWER_UP \
    && [ -z "$(ip -n "$NS_CLIENT" -6 addr show tentative)" ] \
    && [ -z "$(ip -n "$NS_UPSTREAM" -6 addr show tentative)" ]
}

# start_upstream: dnsmasq in the upstream namespace answering every name.
# Set UPSTREAM_LOG_QUERIES=0 to start it without the query log (benchmarks).
# UPSTREAM_EXTRA_ARGS (an array, default empty) is appended to dnsmasq's
# arguments, e.g. a more specific --address=/NAME/ADDR for one name.
start_upstream ()
{
  local log_opts=(--log-queries "--log-facility=$UPSTREAM_LOG")
  [ "${UPSTREAM_LOG_QUERIES:-1}" = 1 ] || log_opts=("--log-facility=$UPSTREAM_LOG")
  : > "$UPSTREAM_LOG"
  # Not through in_upstream: a backgrounded function would be a subshell,
  # and $! must be dnsmasq itself ("ip netns exec" execs it in place).
  ip netns exec "$NS_UPSTREAM" dnsmasq \
    --keep-in-foreground \
    --conf-file=/dev/null \
    --pid-file="$TEST_DIR/dnsmasq.pid" \
    --user=root --group=root \
    --no-resolv --no-hosts \
    --bind-interfaces \
    --listen-address="$UPSTREAM_V4" --listen-address="$UPSTREAM_V6" \
    --port=53 \
    --cache-size=0 \
    "${log_opts[@]}" \
    --address=/#/"$UPSTREAM_ANSWER_V4" --address=/#/"$UPSTREAM_ANSWER_V6" \
    ${UPSTREAM_EXTRA_ARGS[@]+"${UPSTREAM_EXTRA_ARGS[@]}"} \
    2>>"$UPSTREAM_LOG" &
  UPSTREAM_PID=$!
  track_pid "$UPSTREAM_PID"

  wait_until 5 _upstream_listening || fail "dnsmasq (upstream) does not listen on port 53"
}

# _upstream_listening: dnsmasq listens on UDP and TCP port 53 on both
# addresses; fails the test if it died.
_upstream_listening ()
{
  kill -0 "$UPSTREAM_PID" 2>/dev/null || fail "dnsmasq (upstream) died at start"
  [ "$(in_upstream ss -Hlnu "sport = :53" 2>/dev/null | wc -l)" -ge 2 ] \
    && [ "$(in_upstream ss -Hlnt "sport = :53" 2>/dev/null | wc -l)" -ge 2 ]
}

# upstream_saw NAME: true when the upstream's query log has a query for NAME
# (exactly that name, any type, any case).
upstream_saw ()
{
  local name=${1%.}
  grep -F ' query[' "$UPSTREAM_LOG" 2>/dev/null \
    | awk -v n="$name" 'BEGIN { n = tolower(n) }
        { for (i = 1; i < NF; i++) if ($i ~ /^query\[/ && tolower($(i+1)) == n) { found = 1 } }
        END { exit found ? 0 : 1 }'
}

# upstream_query_count: how many queries the upstream has logged so far.
upstream_query_count ()
{
  grep -c ' query\[' "$UPSTREAM_LOG" 2>/dev/null || true
}

# --------------------------------------------------------------------------
# Accounts.

_add_account ()
{
  local name=$1
  # /run/lock is made at boot by systemd-tmpfiles; a container may lack it.
  mkdir -p "$(dirname "$ACCOUNTS_LOCK")"
  flock "$ACCOUNTS_LOCK" useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --user-group "$name" >/dev/null \
    || fail "useradd $name failed"
  _accounts+=("$name")
}

# create_accounts: a child and a parent account for this test.
create_accounts ()
{
  _add_account "$CHILD_ACCOUNT"
  _add_account "$PARENT_ACCOUNT"
  CHILD_UID=$(id -u "$CHILD_ACCOUNT")
  CHILD_GID=$(id -g "$CHILD_ACCOUNT")
  PARENT_UID=$(id -u "$PARENT_ACCOUNT")
  PARENT_GID=$(id -g "$PARENT_ACCOUNT")
}

# use_accounts CHILD PARENT: existing accounts instead (the demo).
use_accounts ()
{
  CHILD_ACCOUNT=$1
  PARENT_ACCOUNT=$2
  CHILD_UID=$(id -u "$CHILD_ACCOUNT")
  CHILD_GID=$(id -g "$CHILD_ACCOUNT")
  PARENT_UID=$(id -u "$PARENT_ACCOUNT")
  PARENT_GID=$(id -g "$PARENT_ACCOUNT")
}

# ensure_account NAME: create NAME unless it exists; it is then removed by
# the cleanup.  Returns 0 when it created it.
ensure_account ()
{
  getent passwd "$1" >/dev/null && return 1
  _add_account "$1"
  return 0
}

# --------------------------------------------------------------------------
# The household file.

# write_household [EXTRA-LINES-FOR-THE-CHILD-SECTION...]
# Writes $TEST_DIR/household.conf: the test's parent, child "sam" (age 10)
# with the test's child account, deny example-game.com;casino.example,
# allow scratch.mit.edu.  ON_FAILURE (default closed) sets on-failure=.
# Extra arguments are appended to the child's section, one per line.
write_household ()
{
  HOUSEHOLD="$TEST_DIR/household.conf"
  {
    echo "# SPDX-License-Identifier: CC0-1.0"
    echo "# Written by $TEST_NAME."
    echo "[household]"
    echo "parents = $PARENT_ACCOUNT"
    echo "on-failure = ${ON_FAILURE:-closed}"
    echo
    echo "[child sam]"
    echo "age = 10"
    echo "accounts = $CHILD_ACCOUNT"
    echo "deny = ${DENY:-example-game.com;casino.example}"
    echo "allow = scratch.mit.edu"
    local line
    for line in "$@"; do
      echo "$line"
    done
  } > "$HOUSEHOLD"
  chmod 644 "$HOUSEHOLD"
}

# household_line KEY: the 1-based line of the first "KEY =" in the household file.
household_line ()
{
  local n
  n=$(grep -n -m1 -E "^[[:space:]]*$1[[:space:]]*=" "$HOUSEHOLD" | cut -d: -f1)
  [ -n "$n" ] || fail "no '$1 =' line in $HOUSEHOLD"
  echo "$n"
}

# deny_rule_text NAME: the short form trellisd puts in the EDE for the deny
# rule NAME, e.g. "deny example-game.com (household.conf:12)".
deny_rule_text ()
{
  echo "deny $1 ($(basename "$HOUSEHOLD"):$(household_line deny))"
}

# --------------------------------------------------------------------------
# trellisd.

# start_trellisd [EXTRA-ARGS...]: start it in the client namespace, wait up
# to 10 s for "trellisd ready"; fail with its log if it dies or stays silent.
# It gets --data-dir "$TRELLIS_DATA_DIR" unless TRELLIS_DATA_DIR is empty.
start_trellisd ()
{
  [ -x "$TRELLISD" ] || fail "$TRELLISD is not built"
  mkdir -p "$TEST_DIR/state"
  # The NSS module's socket goes in the test's own folder, never the
  # machine's /run/trellis (tests/nss-module-blocks.sh mounts it there in
  # a mount namespace of its own).
  TRELLISD_ARGS=(--household "$HOUSEHOLD" --state-dir "$TEST_DIR/state"
                 --queue-num "$QUEUE_NUM" --answer-port "$ANSWER_PORT"
                 --runtime-dir "$TEST_DIR/run")
  if [ -n "$TRELLIS_DATA_DIR" ]; then
    TRELLISD_ARGS+=(--data-dir "$TRELLIS_DATA_DIR")
  fi
  TRELLISD_ARGS+=(--verbose "$@")
  _ready_before=$(grep -c 'trellisd ready' "$TRELLISD_LOG" 2>/dev/null || true)
  echo "=== $(date +%T) starting: trellisd ${TRELLISD_ARGS[*]}" >> "$TRELLISD_LOG"
  # Directly, not through in_client: $! must be trellisd itself.
  ip netns exec "$NS_CLIENT" "$TRELLISD" "${TRELLISD_ARGS[@]}" 2>>"$TRELLISD_LOG" >>"$TRELLISD_LOG" &
  TRELLISD_PID=$!
  track_pid "$TRELLISD_PID"
  wait_until 10 _trellisd_ready || fail "trellisd did not say 'trellisd ready' within 10 s"
}

# _trellisd_ready: the trellisd just started said "trellisd ready"; fails
# the test if it exited first.
_trellisd_ready ()
{
  log_has_more "$TRELLISD_LOG" 'trellisd ready' "$_ready_before" && return 0
  if ! kill -0 "$TRELLISD_PID" 2>/dev/null; then
    local rc=0
    wait "$TRELLISD_PID" || rc=$?
    _untrack_pid "$TRELLISD_PID"
    fail "trellisd exited with status $rc before it was ready"
  fi
  return 1
}

# reload_trellisd [TIMEOUT]: SIGHUP, then wait (default 5 s) for a new
# "household reloaded" in its log; fail when it does not come (a household
# that does not compile says "household not reloaded" instead).
reload_trellisd ()
{
  local before
  before=$(grep -c 'household reloaded' "$TRELLISD_LOG" || true)
  kill -HUP "$TRELLISD_PID" || fail "trellisd (pid $TRELLISD_PID) is not running"
  wait_until "${1:-5}" log_has_more "$TRELLISD_LOG" 'household reloaded' "$before" \
    || fail "trellisd did not say 'household reloaded' within ${1:-5} s of SIGHUP"
}

# stop_trellisd [SIGNAL]: signal trellisd (TERM by default), wait for it;
# sets TRELLISD_EXIT to its exit status (128+N when killed by signal N).
stop_trellisd ()
{
  local sig=${1:-TERM}
  TRELLISD_EXIT=
  [ -n "$TRELLISD_PID" ] || fail "stop_trellisd: trellisd is not running"
  # The shell's own stderr goes to /dev/null meanwhile: bash would print a
  # "Killed" job notice when it reaps a daemon that died of a signal.
  exec 3>&2 2>/dev/null
  if ! kill -s "$sig" "$TRELLISD_PID"; then
    exec 2>&3 3>&-
    fail "trellisd (pid $TRELLISD_PID) was not running"
  fi
  if ! wait_until 10 pid_gone "$TRELLISD_PID"; then
    exec 2>&3 3>&-
    fail "trellisd did not exit within 10 s of SIG$sig"
  fi
  TRELLISD_EXIT=0
  wait "$TRELLISD_PID" || TRELLISD_EXIT=$?
  :
  exec 2>&3 3>&-
  _untrack_pid "$TRELLISD_PID"
  TRELLISD_PID=
}

trellisd_running ()
{
  [ -n "$TRELLISD_PID" ] && kill -0 "$TRELLISD_PID" 2>/dev/null \
    && [ "$(ps -o stat= -p "$TRELLISD_PID" 2>/dev/null | cut -c1)" != Z ]
}

# trellis_table_exists: the table inet trellis is in the client namespace.
trellis_table_exists ()
{
  in_client nft list table inet trellis >/dev/null 2>&1
}

# --------------------------------------------------------------------------
# Running things as the child, the parent, root.

as_uid ()
{
  local uid=$1 gid=$2
  shift 2
  in_client setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin "$@"
}

as_child ()
{
  as_uid "$CHILD_UID" "$CHILD_GID" "$@"
}

as_parent ()
{
  as_uid "$PARENT_UID" "$PARENT_GID" "$@"
}

as_root ()
{
  in_client "$@"
}

# dig_as WHO SERVER NAME [TYPE] [DIG-OPTIONS...]
#   WHO is child, parent or root.  Sets DIG_OUT (full output) and DIG_RC.
dig_as ()
{
  local who=$1 server=$2 name=$3 type=${4:-A}
  shift 3
  [ $# -eq 0 ] || shift
  DIG_WHO=$who
  DIG_NAME=$name
  DIG_SERVER=$server
  DIG_RC=0
  DIG_OUT=$("as_$who" dig "${DIG_OPTS[@]}" "@$server" "$name" "$type" "$@" 2>&1) || DIG_RC=$?
}

dig_as_child ()
{
  dig_as child "$@"
}

dig_as_parent ()
{
  dig_as parent "$@"
}

dig_as_root ()
{
  dig_as root "$@"
}

# What the last dig saw.
dig_status ()
{
  printf '%s\n' "$DIG_OUT" | sed -n 's/.*, status: \([A-Z]*\),.*/\1/p' | head -n1
}

dig_ede ()
{
  printf '%s\n' "$DIG_OUT" | grep '^; EDE: ' | head -n1 || true
}

# dig_answers: the rdata of the answer section, one per line.
dig_answers ()
{
  printf '%s\n' "$DIG_OUT" | awk '
    /^;; ANSWER SECTION:/ { in_answer = 1; next }
    in_answer && /^$/ { in_answer = 0 }
    in_answer && !/^;/ { print $NF }'
}

# dig_server: the "SERVER:" line's address, e.g. 10.53.0.2#53(10.53.0.2) (UDP)
dig_server ()
{
  printf '%s\n' "$DIG_OUT" | sed -n 's/^;; SERVER: //p' | head -n1
}

_dig_context ()
{
  printf '%s\n' "---- dig as $DIG_WHO @$DIG_SERVER $DIG_NAME (exit $DIG_RC) ----" "$DIG_OUT" >&2
}

# assert_blocked RULE-TEXT: the last dig got NXDOMAIN from the server it
# asked, with EDE 17 (Filtered) and exactly RULE-TEXT as extra text.
assert_blocked ()
{
  local rule=$1 status ede server
  status=$(dig_status)
  ede=$(dig_ede)
  server=$(dig_server)
  if [ "$DIG_RC" != 0 ] || [ "$status" != NXDOMAIN ]; then
    _dig_context
    fail "$DIG_NAME for the $DIG_WHO: expected NXDOMAIN, got '${status:-no answer}' (dig exit $DIG_RC)"
  fi
  case "$server" in
    "$DIG_SERVER#53("*) ;;
    *) _dig_context; fail "$DIG_NAME: the answer did not come from $DIG_SERVER#53 (SERVER: $server)";;
  esac
  if [ "$ede" != "; EDE: 17 (Filtered): ($rule)" ]; then
    _dig_context
    fail "$DIG_NAME: expected '; EDE: 17 (Filtered): ($rule)', got '${ede:-no EDE}'"
  fi
  if [ -n "$(dig_answers)" ]; then
    _dig_context
    fail "$DIG_NAME: a blocked answer carries records"
  fi
}

# assert_resolved [ADDRESS]: the last dig got NOERROR with ADDRESS (default
# the upstream's 192.0.2.1) from the server it asked, and no EDE.
assert_resolved ()
{
  local want=${1:-$UPSTREAM_ANSWER_V4} status server
  status=$(dig_status)
  server=$(dig_server)
  if [ "$DIG_RC" != 0 ] || [ "$status" != NOERROR ]; then
    _dig_context
    fail "$DIG_NAME for the $DIG_WHO: expected NOERROR, got '${status:-no answer}' (dig exit $DIG_RC)"
  fi
  if [ "$(dig_answers)" != "$want" ]; then
    _dig_context
    fail "$DIG_NAME for the $DIG_WHO: expected the answer $want, got '$(dig_answers | tr '\n' ' ')'"
  fi
  case "$server" in
    "$DIG_SERVER#53("*) ;;
    *) _dig_context; fail "$DIG_NAME: the answer did not come from $DIG_SERVER#53 (SERVER: $server)";;
  esac
  if [ -n "$(dig_ede)" ]; then
    _dig_context
    fail "$DIG_NAME: an allowed answer carries an EDE: $(dig_ede)"
  fi
}

# assert_no_answer: the last dig got no reply at all (timed out).
assert_no_answer ()
{
  if [ "$DIG_RC" != 9 ] || ! printf '%s\n' "$DIG_OUT" | grep -q 'timed out'; then
    _dig_context
    fail "$DIG_NAME for the $DIG_WHO: expected no answer at all, got '$(dig_status)' (dig exit $DIG_RC)"
  fi
}

assert_upstream_saw ()
{
  upstream_saw "$1" || fail "the upstream never saw a query for $1"
}

assert_upstream_never_saw ()
{
  if upstream_saw "$1"; then
    fail "the upstream saw a query for $1: it left the client namespace"
  fi
}

# copy_helper FILE: copy FILE into the test dir (readable by the child) and
# print the copy's path.
copy_helper ()
{
  local dst
  dst="$TEST_DIR/$(basename "$1")"
  cp "$1" "$dst"
  chmod 755 "$dst"
  echo "$dst"
}

# --------------------------------------------------------------------------
# The system bus (D-Bus tests) and a second child.

# start_system_bus: a private system bus for this test (tests/lib/system-bus.sh);
# exports DBUS_SYSTEM_BUS_ADDRESS, so call it before start_trellisd.
start_system_bus ()
{
  _make_test_dir
  . "$TRELLIS_TOP_SRCDIR/tests/lib/system-bus.sh"
  _system_bus_start
}

SIBLING_ACCOUNT="trt-${TEST_ID}-s"
SIBLING_UID=
SIBLING_GID=

# create_second_child: a second child's account, $SIBLING_ACCOUNT; give it
# a section with write_household "[child alex]" "age = 12" "accounts = $SIBLING_ACCOUNT".
create_second_child ()
{
  _add_account "$SIBLING_ACCOUNT"
  SIBLING_UID=$(id -u "$SIBLING_ACCOUNT")
  SIBLING_GID=$(id -g "$SIBLING_ACCOUNT")
}

as_sibling ()
{
  as_uid "$SIBLING_UID" "$SIBLING_GID" "$@"
}

# --------------------------------------------------------------------------
# The whole stack in one call.

# setup_stack [OPTIONS] [-- TRELLISD-ARGS...]
#   The topology every namespace test starts from: require_root_and_netns,
#   setup_net, start_upstream, create_accounts, write_household, then
#   start_trellisd TRELLISD-ARGS.  Options:
#     --bus             start_system_bus before trellisd, and
#                       wait_for_trellisd_on_bus after it
#     --second-child    create_second_child too ($SIBLING_ACCOUNT)
#     --line LINE       an extra line for write_household (repeatable; in
#                       order, e.g. --line "[child alex]" --line "age = 12")
#     --household FILE  a copy of FILE is the household instead
#     --household-text TEXT   TEXT is the household instead
#     --no-household    write none (the test writes it; implies --no-trellisd)
#     --no-upstream     no dnsmasq (tests of the kernel table or the CLI alone)
#     --no-trellisd     stop before trellisd: the test changes the household
#                       or the machine first, then calls start_trellisd (and,
#                       with --bus, wait_for_trellisd_on_bus) itself
#   DENY= and ON_FAILURE= work as for write_household (DENY=... setup_stack).
setup_stack ()
{
  local bus=0 upstream=1 trellisd=1 household=write second=0 file= text= lines=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --bus) bus=1 ;;
      --second-child) second=1 ;;
      --line) [ $# -ge 2 ] || fail "setup_stack: --line needs a value"; lines+=("$2"); shift ;;
      --household) [ $# -ge 2 ] || fail "setup_stack: --household needs a file"
                   household=file; file=$2; shift ;;
      --household-text) [ $# -ge 2 ] || fail "setup_stack: --household-text needs a value"
                        household=text; text=$2; shift ;;
      --no-household) household=none; trellisd=0 ;;
      --no-upstream) upstream=0 ;;
      --no-trellisd) trellisd=0 ;;
      --) shift; break ;;
      *) fail "setup_stack: unknown option '$1'" ;;
    esac
    shift
  done
  require_root_and_netns
  setup_net
  if [ "$upstream" = 1 ]; then
    start_upstream
  fi
  create_accounts
  if [ "$second" = 1 ]; then
    create_second_child
  fi
  case "$household" in
    write)
      write_household ${lines[@]+"${lines[@]}"} ;;
    file)
      [ -r "$file" ] || fail "setup_stack: cannot read the household $file"
      HOUSEHOLD="$TEST_DIR/$(basename "$file")"
      cp "$file" "$HOUSEHOLD"
      chmod 644 "$HOUSEHOLD" ;;
    text)
      HOUSEHOLD="$TEST_DIR/household.conf"
      printf '%s\n' "$text" > "$HOUSEHOLD"
      chmod 644 "$HOUSEHOLD" ;;
  esac
  if [ "$bus" = 1 ]; then
    start_system_bus
  fi
  if [ "$trellisd" = 1 ]; then
    start_trellisd "$@"
    if [ "$bus" = 1 ]; then
      wait_for_trellisd_on_bus
    fi
  fi
}
