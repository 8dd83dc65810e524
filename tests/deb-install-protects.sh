#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The .deb, installed with apt in a Debian 12 booted under systemd 252:
# trellisd starts as its own account and protects no one until a parent
# names a child; then the child's blocked lookup is answered NXDOMAIN with
# EDE 17 and never leaves the machine, the parent's is not touched, and
# `trellis`, run as the child over the real system bus, shows the block.
# The household file is the parents' alone; polkit lets trellisd (not
# root) ask about an account that is neither a parent nor a child.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

ct_require
deb_ensure
ct_root_ensure
ct_boot

ct_install /debs
show systemctl status trellisd --no-pager --lines=0 || fail "trellisd.service is not running"
[ "$(cx systemctl show -p Type --value trellisd)" = notify ] || fail "trellisd.service is not Type=notify"
case $(cx systemctl show -p StatusText --value trellisd) in
  filtering*) ;;
  *) fail "trellisd did not say READY=1 with its status" ;;
esac
user=$(cx ps -o user= -C trellisd | head -n1)
[ "$user" = _trellis ] || fail "trellisd runs as '$user', not _trellis"
caps=$(cx sh -c 'grep ^CapEff /proc/$(pidof trellisd)/status' | awk '{print $2}')
# CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13).
[ "$caps" = 0000000000003400 ] || fail "trellisd's effective capabilities are $caps, not NET_BIND_SERVICE, NET_ADMIN, NET_RAW"
cx journalctl -q -u trellisd -g 'protecting 0 account' | grep -q . ||
  fail "trellisd did not start with the installed household (no child)"
show busctl status --no-pager org.trellis.Trellis1 | grep -q "^UID=$(cx id -u _trellis)$" ||
  fail "org.trellis.Trellis1 is not owned by trellisd's account on the system bus"
# trellisd writes the household for the parents: its folder and file are
# trellisd's, the parents' group reads them, children nothing.
household_owned_right ()
{
  show stat -c '%A %U:%G %n' /etc/trellis | grep -q '^drwxr-s--x _trellis:trellis-parents ' ||
    fail "/etc/trellis is not 2751 _trellis:trellis-parents ($1)"
  show stat -c '%A %U:%G %n' /etc/trellis/household.conf | grep -q '^-rw-r----- _trellis:trellis-parents ' ||
    fail "the household file is not 0640 _trellis:trellis-parents ($1)"
}
household_owned_right "as installed"

ct_upstream
# Nobody is named yet: nobody is filtered, the child-to-be included.
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NOERROR" <<<"$out" || fail "with no child named, an account's lookup was touched: $out"
upstream_forget

ct_protect_child
household_owned_right "after trellis child add and trellis deny"

log "the child's blocked lookup"
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
printf 'container# dig @%s %s  (as %s)\n%s\n' "$UPSTREAM" "$BLOCKED_NAME" "$CHILD" "$(grep -E 'status:|EDE' <<<"$out")"
grep -q "status: NXDOMAIN" <<<"$out" || fail "the child's lookup of $BLOCKED_NAME was not NXDOMAIN: $out"
grep -q "EDE: 17 (Filtered)" <<<"$out" || fail "no EDE 17 (Filtered) in the answer: $out"
grep -q "deny $BLOCKED_NAME" <<<"$out" || fail "the EDE text does not name the rule: $out"
upstream_saw "$BLOCKED_NAME" && fail "the child's blocked query reached the upstream"

log "the parent's lookup of the same name"
out=$(ct_dig "$PARENT" "$BLOCKED_NAME")
printf 'container# dig @%s %s  (as %s)\n%s\n' "$UPSTREAM" "$BLOCKED_NAME" "$PARENT" "$(grep -E 'status:|IN[[:space:]]+A' <<<"$out")"
grep -q "status: NOERROR" <<<"$out" || fail "the parent's lookup was touched: $out"
grep -q "$UPSTREAM_ANSWER" <<<"$out" || fail "the parent got no answer from the upstream: $out"
upstream_saw "$BLOCKED_NAME" || fail "the parent's query did not reach the upstream"

out=$(ct_dig "$CHILD" "$ALLOWED_NAME")
grep -q "status: NOERROR" <<<"$out" || fail "the child's allowed lookup failed: $out"

log "trellis, as the child, over the system bus"
as_child () { cx setpriv --reuid="$CHILD" --regid="$CHILD" --init-groups "$@"; }
printf 'container$ trellis log   (as %s)\n' "$CHILD"
out=$(as_child trellis log 2>&1) || fail "trellis log as the child failed: $out"
printf '%s\n' "$out"
grep -q "$BLOCKED_NAME.*deny $BLOCKED_NAME" <<<"$out" || fail "the child's log does not show the block"
printf 'container$ trellis why %s   (as %s)\n' "$BLOCKED_NAME" "$CHILD"
rc=0; out=$(as_child trellis why "$BLOCKED_NAME" 2>&1) || rc=$?
printf '%s\n(exit status %s)\n' "$out" "$rc"
[ "$rc" -eq 1 ] || fail "trellis why did not exit 1 for a blocked name"
grep -q "is blocked for you" <<<"$out" || fail "trellis why does not say it is blocked"

log "the household file is for the parents"
as_child cat /etc/trellis/household.conf >/dev/null 2>&1 &&
  fail "the child can read the household file"
cx setpriv --reuid="$PARENT" --regid="$PARENT" --init-groups trellis policy show "$CHILD" >/dev/null 2>&1 &&
  fail "a parent outside trellis-parents read the household file"
cx adduser --quiet "$PARENT" trellis-parents
out=$(cx setpriv --reuid="$PARENT" --regid="$PARENT" --init-groups trellis policy show "$CHILD" 2>&1) ||
  fail "a parent in trellis-parents cannot read the household: $out"
grep -q "Accounts: $CHILD" <<<"$out" || fail "trellis policy show does not show the child's profile: $out"

log "polkit answers trellisd (not root) about someone else"
cx useradd --create-home admin
rc=0; cx setpriv --reuid=admin --regid=admin --init-groups trellis policy apply >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "an account neither parent nor child applied the policy without polkit's word (exit $rc)"
cx sh -c 'cat > /etc/polkit-1/rules.d/50-trellis-test.rules <<EOF
polkit.addRule(function(action, subject) {
  if (action.id == "org.trellis.Trellis1.apply-policy" && subject.user == "admin")
    return polkit.Result.YES;
});
EOF'
wait_until 10 "polkit lets admin apply the policy" \
  cx setpriv --reuid=admin --regid=admin --init-groups trellis policy apply

log "PASS"
