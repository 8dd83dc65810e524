#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Removing the .deb stops trellisd and ends the filter (the table goes)
# but keeps the family's data: installed again, it protects the child as
# before, with the child's log.  The table goes with the remove even when
# trellisd was not running to take it away (killed, then stopped): a
# table left behind with on-failure=closed would hold the child's DNS for
# good.  Purging removes the data and the household file too.
#
# What the package adds outside its own files goes with it, exactly: the
# "trellis" source in nsswitch.conf's hosts line (the file as it was), and
# the browsers' policies (an administrator's Firefox file given back byte
# for byte).  Installed, the NSS module answers over trellisd's socket
# under the real unit: a denied name is not found for the child by
# getent, found for the parent.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

ct_require
deb_ensure
ct_root_ensure
ct_boot
# The administrator's own files, before the package comes.
show sh -c 'mkdir -p /etc/firefox/policies &&
  printf "{\n  \"policies\": { \"DisableTelemetry\": true }\n}\n" > /etc/firefox/policies/policies.json &&
  cp -p /etc/firefox/policies/policies.json /root/admin-firefox.json &&
  cp -p /etc/nsswitch.conf /root/nsswitch.conf.before && grep ^hosts: /etc/nsswitch.conf'
ct_install /debs
ct_upstream
ct_protect_child
cx sh -c "echo nameserver $UPSTREAM > /etc/resolv.conf"

added ()
{
  show sh -c 'grep ^hosts: /etc/nsswitch.conf; ls -l /run/trellis/nss.socket; cat /etc/firefox/policies/policies.json; ls /etc/chromium/policies/managed /etc/opt/chrome/policies/managed'
  cx grep -q '^hosts:.* trellis \[!UNAVAIL=return\] dns' /etc/nsswitch.conf || fail "nsswitch.conf has no trellis source before dns"
  cx test -f /usr/lib/x86_64-linux-gnu/libnss_trellis.so.2 || fail "libnss_trellis.so.2 is not installed"
  case $(cx stat -c '%F %a %U' /run/trellis/nss.socket 2>&1) in
    "socket 666 _trellis") ;;
    *) fail "/run/trellis/nss.socket is not trellisd's socket, mode 666: $(cx stat -c '%F %a %U' /run/trellis/nss.socket 2>&1)" ;;
  esac
  cx grep -q '"DisableTelemetry" : true' /etc/firefox/policies/policies.json || fail "the administrator's Firefox policy is gone"
  cx grep -q '"DNSOverHTTPS"' /etc/firefox/policies/policies.json || fail "Firefox's DNSOverHTTPS is not in place"
  cx grep -q '"DnsOverHttpsMode" : "off"' /etc/chromium/policies/managed/trellis.json || fail "Chromium's policy is not in place"
  cx grep -q '"DnsOverHttpsMode" : "off"' /etc/opt/chrome/policies/managed/trellis.json || fail "Chrome's policy is not in place"
  # The module, under the real unit: the child's lookup of the denied name
  # ends at trellis; the parent's goes on to dns and the upstream.
  rc=0; cx setpriv --reuid="$CHILD" --regid="$CHILD" --init-groups getent hosts "$BLOCKED_NAME" >/dev/null || rc=$?
  [ "$rc" = 2 ] || fail "getent hosts $BLOCKED_NAME as the child: exit $rc, want 2 (not found)"
  out=$(cx setpriv --reuid="$PARENT" --regid="$PARENT" --init-groups getent hosts "$BLOCKED_NAME") ||
    fail "getent hosts $BLOCKED_NAME as the parent failed"
  grep -q "^$UPSTREAM_ANSWER " <<<"$out" || fail "the parent's getent: $out"
}
gone ()
{
  show sh -c 'grep ^hosts: /etc/nsswitch.conf; ls -la /etc/firefox/policies /etc/chromium /etc/opt/chrome 2>&1 || true'
  cx cmp -s /etc/nsswitch.conf /root/nsswitch.conf.before || fail "nsswitch.conf is not as it was before the package"
  cx cmp -s /etc/firefox/policies/policies.json /root/admin-firefox.json || fail "the administrator's Firefox file is not given back as it was"
  cx test -e /etc/chromium/policies/managed/trellis.json && fail "Chromium's policy is still there"
  cx test -e /etc/opt/chrome/policies/managed/trellis.json && fail "Chrome's policy is still there"
  cx test -e /etc/chromium && fail "/etc/chromium, made by the package, is still there"
  :
}
added

out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NXDOMAIN" <<<"$out" || fail "the child's lookup is not blocked: $out"
as_child () { cx setpriv --reuid="$CHILD" --regid="$CHILD" --init-groups "$@"; }
log_before=$(as_child trellis log)
grep -q "$BLOCKED_NAME" <<<"$log_before" || fail "the block is not in the child's log"

remove ()
{
  show apt-get remove -y -o Dpkg::Use-Pty=0 trellis-notify trellis || fail "apt-get remove failed"
  show sh -c 'echo "nft tables: $(nft list tables | wc -l)"; pidof trellisd || echo "no trellisd"; ls /var/lib/trellis'
  cx pidof trellisd >/dev/null && fail "trellisd still runs after the remove"
  cx nft list table inet trellis >/dev/null 2>&1 && fail "the table is still there after the remove"
  cx test -f /var/lib/trellis/events.db || fail "the remove took the event log"
  cx test -f /etc/trellis/household.conf || fail "the remove took the household file (a conffile)"
  out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
  grep -q "status: NOERROR" <<<"$out" || fail "with Trellis removed, the child's lookup still fails: $out"
  gone
}

log "remove, with trellisd running"
remove

log "installed again: the household and the log were kept"
# Active means READY=1: the table and the queue are in place.
ct_install /debs
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NXDOMAIN" <<<"$out" || fail "installed again, the child is not protected: $out"
added
grep -qF -- "$(grep "$BLOCKED_NAME" <<<"$log_before" | head -n1)" <<<"$(as_child trellis log)" ||
  fail "installed again, the child's log lost its block"

log "trellisd killed and stopped: its table stays, and the child's DNS waits"
show systemctl kill --kill-who=main --signal=SIGKILL trellisd.service
show systemctl stop trellisd.service
show nft list tables
cx nft list table inet trellis >/dev/null 2>&1 || fail "the killed trellisd's table is gone already"
out=$(ct_dig "$CHILD" "$BLOCKED_NAME" +timeout=1)
grep -q "status: NOERROR" <<<"$out" && fail "the child's lookup went through with trellisd down"

log "remove, with trellisd not running"
remove

log "purge"
show apt-get purge -y -o Dpkg::Use-Pty=0 trellis || fail "apt-get purge failed"
show sh -c 'echo "nft tables: $(nft list tables | wc -l)"; ls -ld /var/lib/trellis /etc/trellis; dpkg-query -W -f "\${db:Status-Abbrev} \${Package}\n" trellis' || true
cx nft list table inet trellis >/dev/null 2>&1 && fail "the table is still there after the purge"
cx test -e /var/lib/trellis && fail "/var/lib/trellis is still there after the purge"
cx test -e /etc/trellis && fail "/etc/trellis is still there after the purge"
gone
cx test -e /usr/lib/x86_64-linux-gnu/libnss_trellis.so.2 && fail "libnss_trellis.so.2 is still there after the purge"
case $(cx dpkg-query -W -f '${db:Status-Abbrev}' trellis 2>/dev/null | tr -d ' ') in
  un|pn|'') ;;
  *) fail "trellis is not purged" ;;
esac
log "PASS"
