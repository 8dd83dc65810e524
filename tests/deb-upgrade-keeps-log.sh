#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# An upgrade of the .deb (to the same packages as a newer version) in a
# booted Debian 12: the event log, the child's request and the parent's
# grant are all there afterwards, the parent's household file is kept as
# it was, and the new trellisd takes over with the table kept: while the
# upgrade runs, none of the child's lookups of a blocked name goes through
# unfiltered.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

ct_require
deb_ensure
deb_next_version
ct_root_ensure
ct_boot
ct_install /debs
ct_upstream
ct_protect_child

as_child () { cx setpriv --reuid="$CHILD" --regid="$CHILD" --init-groups "$@"; }

# What the family has made: a blocked lookup in the log, a request, and a
# parent's grant for it.
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NXDOMAIN" <<<"$out" || fail "the child's lookup is not blocked: $out"
id=$(as_child trellis ask --json "$BLOCKED_NAME" "for my homework" | sed -n 's/^{"id": \([0-9]*\)}$/\1/p')
[ -n "$id" ] || fail "trellis ask gave no request id"
show trellis approve "$id" --for 1d || fail "the parent could not approve request $id"
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NOERROR" <<<"$out" || fail "the grant does not let the child through: $out"
# A second name, blocked, to watch during the upgrade.
cx sed -i "s/^deny = .*/deny = $BLOCKED_NAME; casino.example/" /etc/trellis/household.conf
ct_apply
out=$(ct_dig "$CHILD" casino.example)
grep -q "status: NXDOMAIN" <<<"$out" || fail "casino.example is not blocked: $out"
# As a version from before trellisd wrote the household left them: root's.
show chown root:trellis-parents /etc/trellis /etc/trellis/household.conf
show chmod 0755 /etc/trellis
show sh -c 'ls -l /var/lib/trellis; sha256sum /etc/trellis/household.conf'
conf_before=$(cx sha256sum /etc/trellis/household.conf)
log_before=$(as_child trellis log)
pid=$(cx systemctl show -p MainPID --value trellisd)
upstream_forget

log "upgrading to $DEB_VERSION+t1 while the child asks for casino.example"
t0=$(now_ms)
rm -f "$CT_DIR/upgraded"
probe_run casino.example 3 "$t0" "$CT_DIR/upgraded" &
probes=$!
sleep 0.5
show bash -o pipefail -c "apt-get install -y -o Dpkg::Use-Pty=0 /debs-next/trellis_*.deb /debs-next/trellis-notify_*.deb 2>&1 | grep -v '^\(Reading\|Building\|Note, selecting\)'" ||
  { touch "$CT_DIR/upgraded"; fail "the upgrade failed"; }
touch "$CT_DIR/upgraded"
wait "$probes"
echo "the child's lookups of casino.example during the upgrade (ms since it began):"
probe_summary
grep -q " ANSWER$" "$CT_DIR/probes" && fail "a query went through unfiltered during the upgrade"
upstream_saw casino.example && fail "the upstream saw the blocked name during the upgrade"
[ -n "$(probe_filtered_again)" ] || fail "the child's lookups are not filtered after the upgrade"

ct_wait_active
show dpkg-query -W trellis trellis-notify
[ "$(cx dpkg-query -W -f '${Version}' trellis)" = "$DEB_VERSION+t1" ] || fail "trellis was not upgraded"
new_pid=$(cx systemctl show -p MainPID --value trellisd)
[ "$new_pid" != "$pid" ] || fail "the old trellisd (pid $pid) still runs after the upgrade"
cx journalctl -q -u trellisd -g 'exiting for the next trellisd; the table stays' | grep -q . ||
  fail "the old trellisd did not hand over (SIGUSR2)"

log "what was kept"
show sh -c 'ls -l /var/lib/trellis; sha256sum /etc/trellis/household.conf; stat -c "%A %U:%G %n" /etc/trellis/household.conf'
[ "$(cx sha256sum /etc/trellis/household.conf)" = "$conf_before" ] || fail "the upgrade changed the parent's household file"
printf 'container$ trellis log   (as %s; the lookups made during the upgrade counted, not shown)\n' "$CHILD"
log_after=$(as_child trellis log) || fail "trellis log failed after the upgrade"
grep -v casino.example <<<"$log_after"
echo "... and $(grep -c casino.example <<<"$log_after") blocks of casino.example"
# Everything logged before is still there (the lookups during the upgrade
# are new blocks on top).
while IFS= read -r line; do
  grep -qxF -- "$line" <<<"$log_after" || fail "the upgrade lost this from the child's log: $line"
done < <(grep "deny" <<<"$log_before")
grep -q "$BLOCKED_NAME" <<<"$log_after" || fail "the child's log lost its block"
printf 'container$ trellis requests   (as %s)\n' "$CHILD"
out=$(as_child trellis requests) || fail "trellis requests failed after the upgrade"
printf '%s\n' "$out"
grep -q "#$id .*$BLOCKED_NAME" <<<"$out" || fail "the child's request is gone"
grep -q "allowed until" <<<"$out" || fail "the parent's grant is gone from the request"
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NOERROR" <<<"$out" || fail "the grant no longer lets the child through: $out"
out=$(ct_dig "$CHILD" casino.example)
grep -q "status: NXDOMAIN" <<<"$out" || fail "casino.example is no longer blocked: $out"

log "the new trellisd still writes the household for the parents"
show stat -c '%A %U:%G %n' /etc/trellis /etc/trellis/household.conf
[ "$(cx stat -c '%a %U:%G' /etc/trellis)" = "2751 _trellis:trellis-parents" ] ||
  fail "the upgrade did not give /etc/trellis to trellisd"
[ "$(cx stat -c '%a %U:%G' /etc/trellis/household.conf)" = "640 _trellis:trellis-parents" ] ||
  fail "the upgrade did not give the household file to trellisd"
show trellis deny casino2.example --child "$CHILD" || fail "trellis deny failed after the upgrade"
out=$(ct_dig "$CHILD" casino2.example)
grep -q "status: NXDOMAIN" <<<"$out" || fail "casino2.example is not blocked after trellis deny: $out"
cx grep -q '^deny = .*casino2\.example' /etc/trellis/household.conf ||
  fail "trellis deny did not write the household file"
log "PASS"
