#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Removing the .deb stops trellisd and ends the filter (the table goes)
# but keeps the family's data: installed again, it protects the child as
# before, with the child's log.  The table goes with the remove even when
# trellisd was not running to take it away (killed, then stopped): a
# table left behind with on-failure=closed would hold the child's DNS for
# good.  Purging removes the data and the household file too.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/nspawn.sh"

ct_require
deb_ensure
ct_root_ensure
ct_boot
ct_install /debs
ct_upstream
ct_protect_child

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
}

log "remove, with trellisd running"
remove

log "installed again: the household and the log were kept"
# Active means READY=1: the table and the queue are in place.
ct_install /debs
out=$(ct_dig "$CHILD" "$BLOCKED_NAME")
grep -q "status: NXDOMAIN" <<<"$out" || fail "installed again, the child is not protected: $out"
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
case $(cx dpkg-query -W -f '${db:Status-Abbrev}' trellis 2>/dev/null | tr -d ' ') in
  un|pn|'') ;;
  *) fail "trellis is not purged" ;;
esac
log "PASS"
