#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# piuparts on the .debs of this tree, in a bookworm chroot from a
# debootstrap base tarball (cached in /var/cache/trellis-ci, made when
# missing): install and purge; then install the previous version from a
# local archive, upgrade to this one, remove and purge.  Each step must
# leave the system as it found it.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/deb.sh"
set -eu
TEST_NAME=deb-piuparts
MIRROR=${TRELLIS_CI_MIRROR:-http://deb.debian.org/debian}
BASE=$TRELLIS_CI_CACHE/piuparts-bookworm.tgz

[ "$(id -u)" -eq 0 ] || { echo "deb-piuparts: SKIP: needs root (piuparts makes chroots)" >&2; exit 77; }
if [ -n "${TRELLIS_FRESH_CONTAINER:-}" ]; then
  echo "deb-piuparts: SKIP: inside .ci/fresh-container: no archive to make piuparts' chroot from (CI on the machine runs this test)" >&2
  exit 77
fi
for t in piuparts debootstrap dpkg-scanpackages; do
  command -v "$t" >/dev/null 2>&1 || _deb_die "needs '$t' (./bootstrap deps installs it)"
done
deb_ensure
deb_next_version

# The base: a minimal bookworm with systemd, as every Debian 12 runs it
# (from a base without it, purging systemd, pulled in as a dependency,
# leaves its own directories behind, which is not Trellis's doing).
mkdir -p "$TRELLIS_CI_CACHE"
(
  flock 9
  if [ ! -s "$BASE" ] || [ -n "$(find "$BASE" -mtime +30)" ]; then
    echo "deb-piuparts: making the base tarball $BASE (debootstrap from $MIRROR)" >&2
    tmp=$(mktemp -d "$TRELLIS_CI_CACHE/piuparts-base.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    debootstrap --variant=minbase --include=systemd-sysv bookworm "$tmp/root" "$MIRROR" \
      > "$tmp/debootstrap.log" 2>&1 || { tail -n 20 "$tmp/debootstrap.log" >&2; exit 1; }
    rm -f "$tmp"/root/var/cache/apt/archives/*.deb
    tar -C "$tmp/root" -czf "$tmp/base.tgz" .
    mv "$tmp/base.tgz" "$BASE"
  fi
) 9> "$BASE.lock" || _deb_die "cannot make the base tarball"

# The previous version, where apt finds it: a local archive.
work=$(mktemp -d "$TRELLIS_CI_CACHE/piuparts-run.XXXXXX")
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir "$work/repo"
cp "$DEB_TRELLIS" "$DEB_NOTIFY" "$work/repo/"
(cd "$work/repo" && dpkg-scanpackages -m . /dev/null > Packages 2>/dev/null)

new=("$DEB_NEXT_DIR"/trellis_*.deb "$DEB_NEXT_DIR"/trellis-notify_*.deb)
echo "deb-piuparts: piuparts $(dpkg-query -W -f '${Version}' piuparts): $DEB_VERSION from a local archive, upgraded to $(dpkg-deb -f "${new[0]}" Version)"
# polkitd's postinst gives /usr/share/polkit-1/rules.d (shipped by systemd)
# to its own account, and purging polkitd leaves it so: polkitd's doing,
# not Trellis's.
rc=0
piuparts -b "$BASE" -d bookworm -m "$MIRROR" -l "$work/piuparts.log" \
  --ignore=/usr/share/polkit-1/rules.d/ \
  --bindmount="$work/repo" --extra-repo="deb [trusted=yes] file://$work/repo ./" \
  "${new[@]}" > /dev/null 2>&1 || rc=$?
grep -E "(PASS|FAIL|ERROR):" "$work/piuparts.log" | sed 's/^[0-9hms.]* //' || true
echo "----- piuparts log, last lines -----"
tail -n 5 "$work/piuparts.log"
[ "$rc" -eq 0 ] || { cp "$work/piuparts.log" "$TRELLIS_CI_CACHE/piuparts-failed.log"; _deb_die "piuparts failed (exit $rc; log kept in $TRELLIS_CI_CACHE/piuparts-failed.log)"; }
grep -q "PASS: Installation and purging test." "$work/piuparts.log" || _deb_die "piuparts did not pass the install and purge test"
grep -q "PASS: Installation, upgrade and purging tests." "$work/piuparts.log" || _deb_die "piuparts did not run the upgrade test"
echo "deb-piuparts: PASS"
