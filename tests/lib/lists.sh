# SPDX-License-Identifier: GPL-3.0-or-later
# lists.sh — what the list tests share, on top of common.sh: a publisher of
# lists over HTTPS in the upstream namespace, with a CA made for the test,
# and the list updater run as an unprivileged account of its own.
#
#   . "$TRELLIS_TOP_SRCDIR/tests/lib/lists.sh"      # after common.sh
#   make_test_ca; start_list_server                 # https://10.53.0.2:8443/
#   setup_lists_dir                                 # $LISTS_DIR, owned by $UPDATER_ACCOUNT
#   start_trellisd --lists-dir "$LISTS_DIR" ...     # (lists_trellisd_args gives them all)
#   trellis_as parent lists update                 # system-bus.sh's: CLI_OUT, CLI_RC
#
# The CA is trusted by the updater only, through a configuration file of
# root's ($LISTS_CONF: test-ca-file =); nothing of the machine's trust
# store changes.

LIST_SERVER_PORT=8443
LIST_URL="https://$UPSTREAM_V4:$LIST_SERVER_PORT"
LIST_SERVER_PID=
LIST_ROOT=
LIST_SERVER_LOG=
LISTS_DIR=
LISTS_CONF=
CA_DIR=
UPDATER=${UPDATER:-$TRELLIS_TOP_BUILDDIR/lists/trellis-lists-update}
UPDATER_ACCOUNT="trt-${TEST_ID}-u"
UPDATER_UID=
UPDATER_GID=

# make_test_ca: a CA, a certificate for 10.53.0.2 signed by it, and one
# that expired yesterday.
make_test_ca ()
{
  CA_DIR="$TEST_DIR/ca"
  mkdir -p "$CA_DIR/db"
  command -v openssl >/dev/null || skip "needs openssl to make a test CA"
  (
    cd "$CA_DIR" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/CN=Trellis test CA $TEST_ID" >/dev/null 2>&1 || exit 1
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=$UPSTREAM_V4" >/dev/null 2>&1 || exit 1
    printf 'subjectAltName=IP:%s\n' "$UPSTREAM_V4" > san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out server.pem -days 2 -extfile san.ext >/dev/null 2>&1 || exit 1
    # An expired one: openssl ca takes explicit dates.
    : > db/index.txt
    echo 1000 > db/serial
    cat > ca.cnf <<EOF
[ca]
default_ca = test
[test]
dir = $CA_DIR
database = $CA_DIR/db/index.txt
serial = $CA_DIR/db/serial
new_certs_dir = $CA_DIR/db
certificate = $CA_DIR/ca.pem
private_key = $CA_DIR/ca.key
default_md = sha256
policy = anything
copy_extensions = none
x509_extensions = san
[anything]
commonName = supplied
[san]
subjectAltName = IP:$UPSTREAM_V4
EOF
    openssl ca -batch -config ca.cnf -in server.csr -out expired.pem \
      -startdate 20200101000000Z -enddate "$(date -u -d yesterday +%Y%m%d%H%M%SZ)" \
      >/dev/null 2>&1 || exit 1
  ) || fail "cannot make the test CA with openssl"
  chmod 644 "$CA_DIR"/*.pem
}

# start_list_server: the publisher, serving $LIST_ROOT on 10.53.0.2:8443 in
# the upstream namespace; switch_certificate toggles its certificate with
# the expired one.
start_list_server ()
{
  local i
  LIST_ROOT="$TEST_DIR/publisher"
  LIST_SERVER_LOG="$TEST_DIR/publisher.log"
  mkdir -p "$LIST_ROOT"
  : > "$LIST_SERVER_LOG"
  ip netns exec "$NS_UPSTREAM" "$PYTHON3" "$TRELLIS_TOP_SRCDIR/tests/lib/list-server.py" \
    --root "$LIST_ROOT" --cert "$CA_DIR/server.pem" --other-cert "$CA_DIR/expired.pem" \
    --key "$CA_DIR/server.key" --address "$UPSTREAM_V4" --port "$LIST_SERVER_PORT" \
    --log "$LIST_SERVER_LOG" > "$TEST_DIR/publisher.out" 2>&1 &
  LIST_SERVER_PID=$!
  track_pid "$LIST_SERVER_PID"
  for i in $(seq 1 100); do
    grep -q ready "$TEST_DIR/publisher.out" 2>/dev/null && return 0
    kill -0 "$LIST_SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$TEST_DIR/publisher.out" >&2
  fail "the list server did not start"
}

switch_certificate ()
{
  kill -USR1 "$LIST_SERVER_PID"
  sleep 0.2
}

# publish_ut1 NAME FILE: $LIST_ROOT/NAME.tar.gz holding NAME/domains (FILE),
# as UT1 publishes a category, and its line in MD5SUM.LST.
publish_ut1 ()
{
  local name=$1 file=$2 work
  work=$(mktemp -d "$TEST_DIR/ut1.XXXXXX")
  mkdir -p "$work/$name"
  cp "$file" "$work/$name/domains"
  printf 'usage: test list\n' > "$work/$name/usage"
  tar -C "$work" -czf "$LIST_ROOT/$name.tar.gz.tmp" "$name"
  mv "$LIST_ROOT/$name.tar.gz.tmp" "$LIST_ROOT/$name.tar.gz"
  rm -rf "$work"
  touch "$LIST_ROOT/MD5SUM.LST"
  grep -v " $name.tar.gz\$" "$LIST_ROOT/MD5SUM.LST" > "$LIST_ROOT/MD5SUM.LST.tmp" || true
  (cd "$LIST_ROOT" && md5sum "$name.tar.gz") >> "$LIST_ROOT/MD5SUM.LST.tmp"
  mv "$LIST_ROOT/MD5SUM.LST.tmp" "$LIST_ROOT/MD5SUM.LST"
}

# setup_lists_dir: the updater's account and its folder, and root's
# configuration that makes it trust the test CA (and smaller caps).
setup_lists_dir ()
{
  _add_account "$UPDATER_ACCOUNT"
  UPDATER_UID=$(id -u "$UPDATER_ACCOUNT")
  UPDATER_GID=$(id -g "$UPDATER_ACCOUNT")
  LISTS_DIR="$TEST_DIR/lists"
  mkdir -p "$LISTS_DIR"
  chown "$UPDATER_UID:$UPDATER_GID" "$LISTS_DIR"
  LISTS_CONF="$TEST_DIR/lists.conf"
  {
    echo "# SPDX-License-Identifier: CC0-1.0"
    echo "[updater]"
    echo "test-ca-file = $CA_DIR/ca.pem"
    echo "max-download = ${LISTS_MAX_DOWNLOAD:-64M}"
    echo "timeout = ${LISTS_TIMEOUT:-60}"
  } > "$LISTS_CONF"
  chmod 644 "$LISTS_CONF"
}

# lists_trellisd_args: what start_trellisd needs to hand lists over.
lists_trellisd_args ()
{
  echo --lists-dir "$LISTS_DIR" --updater "$UPDATER" --updater-config "$LISTS_CONF"
}

# run_updater [ARGS...]: the updater by hand, as its account, in the
# client namespace; sets UPDATER_OUT and UPDATER_RC.
run_updater ()
{
  UPDATER_RC=0
  UPDATER_OUT=$(in_client setpriv --reuid="$UPDATER_UID" --regid="$UPDATER_GID" --clear-groups \
                env -i PATH=/usr/bin:/bin "$UPDATER" --lists-dir "$LISTS_DIR" --config "$LISTS_CONF" \
                --data-dir "$TRELLIS_DATA_DIR" --household "$HOUSEHOLD" "$@" 2>&1) || UPDATER_RC=$?
}

# wait_for_generation N: until trellisd logs that lists of generation >= N are in force (20 s).
wait_for_generation ()
{
  local want=$1 i got
  for i in $(seq 1 200); do
    got=$(sed -n 's/.*lists of generation \([0-9]*\) in force.*/\1/p' "$TRELLISD_LOG" | tail -n1)
    if [ -n "$got" ] && [ "$got" -ge "$want" ]; then
      return 0
    fi
    sleep 0.1
  done
  fail "trellisd did not put lists of generation $want in force within 20 s (last: ${got:-none})"
}

# make_test_data_dir: a copy of the shipped data whose categories have no
# published sources (the shipped ones point at the publishers, which a test
# never reaches); TRELLIS_DATA_DIR names it.  Write a test's own with
# write_sources CATEGORY TEXT.
make_test_data_dir ()
{
  local data="$TEST_DIR/data"
  cp -rL "$TRELLIS_TOP_SRCDIR/policy/data" "$data"
  rm -f "$data"/categories/*/sources
  chmod -R a+rX "$data"
  TRELLIS_DATA_DIR=$data
}

# write_sources CATEGORY TEXT: the shipped sources file of CATEGORY in the test data.
write_sources ()
{
  printf '# SPDX-License-Identifier: CC0-1.0\n%s\n' "$2" > "$TRELLIS_DATA_DIR/categories/$1/sources"
  chmod 644 "$TRELLIS_DATA_DIR/categories/$1/sources"
}
