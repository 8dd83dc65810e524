#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The .deb's list updater under a booted systemd 252, as a family gets it.
# From the first boot, offline, the child is filtered by what the package
# ships (the curated lists and Debian's copy of uBlock Origin's malware
# list).  The updater's timer and path unit are enabled; its service runs
# as _trellis-lists with no capabilities, never as root, and not as
# trellisd's account.  A parent's "trellis lists update" goes through
# trellisd, which has no right over systemd: it writes the file
# trellis-lists-update.path watches, and answers with what the run said.
# Offline, every shipped source fails, and the lists in force stay.  Then
# the household replaces the shipped sources with its own, served over
# HTTPS (a test CA that only the updater trusts, through root's
# /etc/trellis/lists.conf); the update fetches UT1's gambling list
# (32,247 names), and names drawn from it are NXDOMAIN with EDE 17 for the
# child, not for the parent.  An HTTP 500 later changes nothing and says
# so.  A purge removes the lists.  systemd-analyze rates the updater's
# sandbox 1.5 at most.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

PUBLISHER=10.53.0.2
PORT=8443
SERVER_PID=

ct_require
lists_cleanup ()
{
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  ct_cleanup
}
trap lists_cleanup EXIT
command -v openssl >/dev/null 2>&1 || fail "needs openssl (./bootstrap deps installs it)"
deb_ensure
ct_root_ensure
ct_boot

ct_install /debs
ct_upstream

log "the updater's units"
for unit in trellis-lists-update.timer trellis-lists-update.path; do
  [ "$(cx systemctl is-enabled "$unit")" = enabled ] || fail "$unit is not enabled"
  cx systemctl --quiet is-active "$unit" || fail "$unit is not active"
done
show systemctl show -p User -p DynamicUser -p CapabilityBoundingSet -p NoNewPrivileges \
  -p ProtectSystem -p PrivateTmp -p StateDirectory trellis-lists-update.service > "$CT_DIR/unit"
cat "$CT_DIR/unit"
for want in User=_trellis-lists CapabilityBoundingSet= NoNewPrivileges=yes ProtectSystem=strict \
            PrivateTmp=yes StateDirectory=trellis-lists; do
  grep -qx "$want" "$CT_DIR/unit" || fail "trellis-lists-update.service: no $want"
done
[ "$(cx systemctl show -p RandomizedDelayUSec --value trellis-lists-update.timer)" = 2h ] ||
  fail "the timer has no two hours of random delay"
cx getent passwd _trellis-lists >/dev/null || fail "no _trellis-lists account"
out=$(cx systemd-analyze security --no-pager trellis-lists-update.service 2>&1) ||
  fail "systemd-analyze security failed: $out"
printf '%s\n' "$out" | tail -n 1
score=$(sed -n 's/.*Overall exposure level for trellis-lists-update.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || fail "no score in systemd-analyze's output"
awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || fail "the updater's exposure $score is above 1.5"

ct_protect_child
# The parent who runs the updates, named as a family would, by hand.
show sed -i "s/^parents = root\$/parents = root;$PARENT/" /etc/trellis/household.conf
cx grep -qx "parents = root;$PARENT" /etc/trellis/household.conf || fail "$PARENT is not a parent"
ct_apply

# A name of each shipped kind: curated gambling, and malware from the
# Debian package the build imported.
first_name ()
{
  cx sh -c "grep -v -E '^[[:space:]]*(#|\$)' $1 | grep -v -E '^[0-9.]+\$' | head -n 1"
}
curated=$(first_name /usr/share/trellis/categories/gambling/domains)
badware=$(first_name /usr/share/trellis/categories/malware/domains.badware)
[ -n "$curated" ] && [ -n "$badware" ] || fail "the package has no curated gambling or imported malware list"

# assert_blocked NAME CATEGORY: NXDOMAIN with EDE 17 for the child.
assert_blocked ()
{
  local out
  out=$(ct_dig "$CHILD" "$1")
  printf 'container# dig @%s %s  (as %s)\n%s\n' "$UPSTREAM" "$1" "$CHILD" "$(grep -E 'status:|EDE' <<<"$out")"
  grep -q "status: NXDOMAIN" <<<"$out" && grep -q "EDE: 17 (Filtered): (category $2" <<<"$out" ||
    fail "$1 is not blocked as $2 for the child: $out"
}

log "offline, from the first boot: the shipped lists"
assert_blocked "$curated" gambling
assert_blocked "$badware" malware

as_parent () { cx setpriv --reuid="$PARENT" --regid="$PARENT" --init-groups "$@"; }

log "trellis lists update, offline: every shipped source fails, nothing changes"
printf 'container$ trellis lists update   (as %s)\n' "$PARENT"
rc=0; out=$(as_parent trellis lists update 2>&1) || rc=$?
printf '%s\n(exit status %s)\n' "$out" "$rc"
[ "$rc" -eq 1 ] || fail "an update that failed did not exit 1"
grep -q "8 source(s): 0 fetched, 0 not modified, 8 failed" <<<"$out" ||
  fail "the run's own words are not in the answer: $out"
grep -q "Some lists could not be updated: their last good lists stay in force" <<<"$out" ||
  fail "the parent is not told the last good lists stay: $out"
grep -q "^    error" <<<"$out" || fail "no source's error is shown: $out"
cx journalctl -q -u trellis-lists-update.service -g 'Started|Finished|Deactivated' | grep -q . ||
  fail "systemd did not run trellis-lists-update.service"
[ "$(cx stat -c %U /var/lib/trellis-lists/run)" = _trellis-lists ] ||
  fail "the updater's run file is not _trellis-lists's"
assert_blocked "$curated" gambling
assert_blocked "$badware" malware

log "the household's own source, served over HTTPS"
ca=$CT_DIR/ca
mkdir -p "$ca" "$CT_DIR/publisher"
(
  cd "$ca"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=Trellis package test CA" >/dev/null 2>&1 &&
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/CN=$PUBLISHER" >/dev/null 2>&1 &&
  printf 'subjectAltName=IP:%s\n' "$PUBLISHER" > san.ext &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 2 -extfile san.ext >/dev/null 2>&1
) || fail "cannot make the test CA"
work=$CT_DIR/ut1
mkdir -p "$work/gambling"
gunzip -c "$TRELLIS_TOP_SRCDIR/tests/lists/ut1-gambling.gz" > "$work/gambling/domains"
[ "$(wc -l < "$work/gambling/domains")" = 32247 ] || fail "the UT1 gambling list is not 32,247 lines"
tar -C "$work" -czf "$CT_DIR/publisher/gambling.tar.gz" gambling
(cd "$CT_DIR/publisher" && md5sum gambling.tar.gz > MD5SUM.LST)
# The publisher runs in the container's upstream namespace (this
# machine's python3: the container has none).
nsenter --net="/proc/$CT_LEADER/root/run/netns/up" python3 "$TRELLIS_TOP_SRCDIR/tests/lib/list-server.py" \
  --root "$CT_DIR/publisher" --cert "$ca/server.pem" --key "$ca/server.key" \
  --address "$PUBLISHER" --port "$PORT" --log "$CT_DIR/publisher.log" > "$CT_DIR/publisher.out" 2>&1 &
SERVER_PID=$!
wait_until 10 "the publisher listens" grep -q ready "$CT_DIR/publisher.out"

# The test CA, for the updater alone: root's configuration names it.
cx sh -c 'cat > /etc/trellis/test-ca.pem' < "$ca/ca.pem"
show sh -c "cat > /etc/trellis/lists.conf <<EOF
[updater]
test-ca-file = /etc/trellis/test-ca.pem
EOF"
shipped=$(cx sh -c 'sed -n "s/^\[source \(.*\)\]$/\1/p" /usr/share/trellis/categories/*/sources' | paste -sd ';' -)
show sh -c "cat > /etc/trellis/household.conf <<EOF
[household]
parents = root;$PARENT
remove-sources = $shipped

[source family-gambling]
category = gambling
url = https://$PUBLISHER:$PORT/gambling.tar.gz
format = ut1
checksum-url = https://$PUBLISHER:$PORT/MD5SUM.LST
checksum = md5
licence = CC-BY-SA-4.0
attribution = UT1 blacklists, Université Toulouse Capitole (Fabrice Prigent)

[child $CHILD]
age = 10
accounts = $CHILD
deny = $BLOCKED_NAME
EOF"
ct_apply

# Names drawn from the list: not addresses, not on the curated list, not
# kept open by the information list (UT1 lists the NHS's gambling help).
cx sh -c "grep -v -E '^[[:space:]]*(#|\$)' /usr/share/trellis/categories/gambling/domains" > "$CT_DIR/curated"
grep -v -E '^[0-9.]+$' "$work/gambling/domains" | grep -v -F -x -f "$CT_DIR/curated" |
  grep -v -E '\.nhs\.uk$' | shuf -n 300 --random-source=<(yes) > "$CT_DIR/sample"
[ "$(wc -l < "$CT_DIR/sample")" = 300 ] || fail "could not draw 300 names"
cx sh -c 'cat > /tmp/sample && chmod 644 /tmp/sample' < "$CT_DIR/sample"

# dig_batch USER: the sample in one dig; prints the NXDOMAIN answers with
# the category's EDE, then the NOERROR ones.
dig_batch ()
{
  local out
  out=$(cx setpriv --reuid="$1" --regid="$1" --init-groups \
          dig @"$UPSTREAM" -f /tmp/sample +tries=1 +timeout=2 +noall +comments 2>&1) || true
  printf '%s\n' "$out" > "$CT_DIR/dig-$1.out"
  printf '%s %s\n' "$(grep -c '^; EDE: 17 (Filtered): (category gambling (age 9-12))$' <<<"$out" || true)" \
    "$(grep -c 'status: NOERROR' <<<"$out" || true)"
}

printf 'container$ trellis lists update   (as %s)\n' "$PARENT"
rc=0; out=$(as_parent trellis lists update 2>&1) || rc=$?
printf '%s\n(exit status %s)\n' "$out" "$rc"
[ "$rc" -eq 0 ] || fail "the update from the test publisher failed"
grep -q "^GET /gambling.tar.gz " "$CT_DIR/publisher.log" || fail "the publisher was not asked for the list"
# Generation 2: the offline run compiled the shipped names into the first.
grep -q "In force: the published lists, generation 2" <<<"$out" &&
  grep -q "gambling (Gambling): 32236 names" <<<"$out" ||
  fail "the lists are not in force when trellis lists update returns: $out"
grep -qF "in force   32233 names" <<<"$out" || fail "the source's names are not shown: $out"
[ "$(cx stat -c %U /var/lib/trellis-lists/manifest)" = _trellis-lists ] ||
  fail "the manifest is not _trellis-lists's"

printf 'container$ trellis lists   (as %s)\n' "$CHILD"
out=$(cx setpriv --reuid="$CHILD" --regid="$CHILD" --init-groups trellis lists 2>&1) ||
  fail "the child's trellis lists failed: $out"
printf '%s\n' "$out"
grep -qF "family-gambling (gambling; the household's, /etc/trellis/household.conf:" <<<"$out" || fail "trellis lists does not show the household's source: $out"

# The parent first (a child's answered query leaves a NAT flow a parent's
# query on the same source port would follow).
read -r blocked resolved < <(dig_batch "$PARENT")
[ "$blocked" = 0 ] && [ "$resolved" = 300 ] || fail "the parent: $resolved of 300 resolved, $blocked blocked"
read -r blocked resolved < <(dig_batch "$CHILD")
[ "$blocked" = 300 ] || fail "the child: $blocked of 300 names blocked with EDE 17 (see $CT_DIR/dig-$CHILD.out)"
log "300 names of the published list: NXDOMAIN with EDE 17 for the child, answered for the parent"

log "an HTTP 500: the last good list stays, and the parent is told"
echo 500 > "$CT_DIR/publisher/gambling.tar.gz.status"
echo 500 > "$CT_DIR/publisher/MD5SUM.LST.status"
printf 'container$ trellis lists update   (as %s)\n' "$PARENT"
rc=0; out=$(as_parent trellis lists update 2>&1) || rc=$?
printf '%s\n(exit status %s)\n' "$out" "$rc"
[ "$rc" -eq 1 ] || fail "a failed update did not exit 1"
grep -q "error      .*HTTP 500" <<<"$out" || fail "the HTTP 500 is not shown: $out"
grep -q "In force: the published lists, generation 2" <<<"$out" || fail "the last good lists are not in force: $out"
read -r blocked resolved < <(dig_batch "$CHILD")
[ "$blocked" = 300 ] || fail "after the HTTP 500: $blocked of 300 names blocked"

log "a purge removes the lists"
show bash -o pipefail -c "apt-get purge -y -o Dpkg::Use-Pty=0 trellis-notify trellis 2>&1 | tail -n 2" ||
  fail "apt-get purge failed"
cx test -e /var/lib/trellis-lists && fail "/var/lib/trellis-lists is still there after the purge"

log "PASS"
