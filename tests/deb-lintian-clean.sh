#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# lintian finds no error and no warning in the .debs of this tree (the
# informational tags are printed, not counted), and every override in
# debian/ says why, in a comment just above it.
. "${TRELLIS_TOP_SRCDIR:-$(dirname "$0")/..}/tests/lib/deb.sh"
set -eu
TEST_NAME=deb-lintian-clean

command -v lintian >/dev/null 2>&1 || _deb_die "needs lintian (./bootstrap deps installs it)"
deb_ensure

rc=0
out=$(lintian --fail-on error,warning --display-info --pedantic "$DEB_CHANGES" 2>&1) || rc=$?
out=$(grep -v 'running with root privileges is not recommended' <<<"$out" || true)
echo "lintian $(lintian --version | sed 's/^Lintian v//') on $(basename "$DEB_CHANGES"):"
printf '%s\n' "${out:-(no tags)}"
errors=$(grep -c '^E: ' <<<"$out" || true)
warnings=$(grep -c '^W: ' <<<"$out" || true)
others=$(grep -c '^[IPX]: ' <<<"$out" || true)
echo "lintian: $errors error(s), $warnings warning(s), $others informational, pedantic or experimental tag(s); exit status $rc"
[ "$rc" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ] ||
  _deb_die "lintian reports errors or warnings"

for f in "$TRELLIS_TOP_SRCDIR"/debian/*lintian-overrides; do
  [ -f "$f" ] || continue
  awk -v f="${f#"$TRELLIS_TOP_SRCDIR"/}" '
    /^[[:space:]]*$/ { said = 0; next }
    /^#/ { said = 1; next }
    !said { printf "%s:%d: an override without a reason above it: %s\n", f, NR, $0; bad = 1 }
    END { exit bad }' "$f" || _deb_die "an override in $f does not say why"
done
echo "deb-lintian-clean: PASS"
