# SPDX-License-Identifier: GPL-3.0-or-later
# deb.sh — the .deb files the package tests install, built from the tree
# under test.  Sourced by tests/lib/nspawn.sh and the deb-* tests; also a
# command: tests/lib/deb.sh build  (prints the directory holding them).
#
# Where the .debs come from:
#   - TRELLIS_DEB_DIR, when set (.ci/run builds them first and sets it): it
#     must hold trellis_*.deb, trellis-notify_*.deb and the .changes;
#   - else they are built with dpkg-buildpackage from the source tree as it
#     is (committed or not: the working tree's files that git tracks or
#     would track), into /var/cache/trellis-ci/debs/KEY, KEY being the git
#     tree of those files, so each state of the tree is built once, under a
#     lock, however many tests ask at once;
#   - from a release tarball's tree (make distcheck), KEY is a hash of its
#     files, and the tree is copied as it is.
#
# deb_ensure sets DEB_DIR, DEB_VERSION, DEB_TRELLIS, DEB_NOTIFY, DEB_CHANGES.
# deb_next_version sets DEB_NEXT_DIR: the same packages as version
# DEB_VERSION+t1 (the second version an upgrade test needs).

TRELLIS_CI_CACHE=${TRELLIS_CI_CACHE:-/var/cache/trellis-ci}
DEB_CACHE=$TRELLIS_CI_CACHE/debs

DEB_DIR=
DEB_VERSION=
DEB_TRELLIS=
DEB_NOTIFY=
DEB_CHANGES=
DEB_NEXT_DIR=

_deb_say ()
{
  printf '%s: %s\n' "${TEST_NAME:-deb.sh}" "$*" >&2
}

_deb_die ()
{
  printf '%s: FAIL: %s\n' "${TEST_NAME:-deb.sh}" "$*" >&2
  exit 1
}

# The git tree of the working tree's files (tracked, and untracked ones
# that are not ignored), without touching the index or HEAD.
_deb_tree_key ()
{
  local src=$1 tmp rc=0
  tmp=$(mktemp -d)
  (
    export GIT_INDEX_FILE=$tmp/index
    cd "$src" &&
      git read-tree HEAD &&
      git add -A . &&
      git write-tree
  ) || rc=$?
  rm -rf "$tmp"
  return $rc
}

# _deb_is_checkout SRC: SRC is the top of a git working tree (not a folder
# that only lies inside one, as the unpacked tarball of make distcheck does).
_deb_is_checkout ()
{
  local top
  top=$(git -C "$1" rev-parse --show-toplevel 2>/dev/null) || return 1
  [ "$(cd "$top" && pwd -P)" = "$(cd "$1" && pwd -P)" ]
}

# _deb_dir_key SRC: a hash of every file's path and contents below SRC.
_deb_dir_key ()
{
  (cd "$1" && find . -type f ! -path './_build/*' ! -path './_inst/*' -print0 |
     LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-40)
}

# _deb_find DIR: sets the DEB_* names from DIR; 1 when something is missing.
_deb_find ()
{
  local dir=$1 f
  DEB_TRELLIS=; DEB_NOTIFY=; DEB_CHANGES=
  for f in "$dir"/trellis_*.deb; do [ -f "$f" ] && DEB_TRELLIS=$f; done
  for f in "$dir"/trellis-notify_*.deb; do [ -f "$f" ] && DEB_NOTIFY=$f; done
  for f in "$dir"/trellis_*.changes; do [ -f "$f" ] && DEB_CHANGES=$f; done
  [ -n "$DEB_TRELLIS" ] && [ -n "$DEB_NOTIFY" ] && [ -n "$DEB_CHANGES" ] || return 1
  DEB_DIR=$dir
  DEB_VERSION=$(dpkg-deb -f "$DEB_TRELLIS" Version)
}

# _deb_build SRC KEY: dpkg-buildpackage in a copy of the tree.
_deb_build ()
{
  local src=$1 key=$2 out=$DEB_CACHE/$2 work
  work=$(mktemp -d "$DEB_CACHE/build.XXXXXX")
  mkdir -p "$work/src"
  if [ "${key#dist-}" != "$key" ]; then
    if ! (cd "$src" && tar -c --exclude=./_build --exclude=./_inst .) | tar -x -C "$work/src"; then
      rm -rf "$work"
      _deb_die "cannot copy the source tree $src"
    fi
    chmod -R u+w "$work/src"
  elif ! git -C "$src" archive "$key" | tar -x -C "$work/src"; then
    rm -rf "$work"
    _deb_die "cannot export the source tree (git archive $key)"
  fi
  _deb_say "building the .debs of tree $key (dpkg-buildpackage; log in $out/build.log)"
  # nocheck: the unit tests ran in this very make check already.
  if ! (cd "$work/src" &&
        DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
          dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    mkdir -p "$DEB_CACHE/failed"
    mv "$work/build.log" "$DEB_CACHE/failed/$key.log"
    rm -rf "$work"
    _deb_die "dpkg-buildpackage failed (log: $DEB_CACHE/failed/$key.log)"
  fi
  mkdir -p "$work/out"
  chmod 0755 "$work/out"
  mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$work/out/"
  mv "$work/build.log" "$work/out/"
  rm -rf "$out"
  mv "$work/out" "$out"
  rm -rf "$work"
  # Trees not tested for a week go.
  find "$DEB_CACHE" -mindepth 1 -maxdepth 1 -type d -mtime +7 -exec rm -rf {} + 2>/dev/null || true
}

deb_ensure ()
{
  local src=${TRELLIS_TOP_SRCDIR:?} key
  if [ -n "${TRELLIS_DEB_DIR:-}" ]; then
    _deb_find "$TRELLIS_DEB_DIR" ||
      _deb_die "TRELLIS_DEB_DIR=$TRELLIS_DEB_DIR holds no trellis_*.deb, trellis-notify_*.deb and trellis_*.changes"
    return 0
  fi
  command -v dpkg-buildpackage >/dev/null 2>&1 ||
    _deb_die "needs dpkg-buildpackage to build the .deb (./bootstrap deps installs it), or TRELLIS_DEB_DIR"
  if _deb_is_checkout "$src"; then
    key=$(_deb_tree_key "$src") || _deb_die "cannot read the source tree's state with git"
  else
    # A release tarball's tree (make distcheck): keyed by its files' contents.
    key=dist-$(_deb_dir_key "$src") || _deb_die "cannot read the files of $src"
  fi
  mkdir -p "$DEB_CACHE"
  (
    flock 9
    _deb_find "$DEB_CACHE/$key" || _deb_build "$src" "$key"
  ) 9> "$DEB_CACHE/.lock" || exit 1
  _deb_find "$DEB_CACHE/$key" || _deb_die "no .debs in $DEB_CACHE/$key after building"
}

# deb_next_version: the same packages as DEB_VERSION+t1, repacked (their
# maintainer scripts and conffiles are what an upgrade exercises).
deb_next_version ()
{
  local next=${DEB_VERSION}+t1 dir=$DEB_DIR/next f work
  [ -n "$DEB_DIR" ] || deb_ensure
  DEB_NEXT_DIR=$dir
  (
    flock 9
    [ -f "$dir/trellis_${next}_$(dpkg-deb -f "$DEB_TRELLIS" Architecture).deb" ] && exit 0
    work=$(mktemp -d "$DEB_DIR/next.XXXXXX")
    for f in "$DEB_TRELLIS" "$DEB_NOTIFY"; do
      rm -rf "$work/root"
      dpkg-deb -R "$f" "$work/root"
      sed -i -e "s/^Version: .*/Version: $next/" \
             -e "s/trellis (= $DEB_VERSION)/trellis (= $next)/" "$work/root/DEBIAN/control"
      dpkg-deb -Zxz -b "$work/root" "$work/" >/dev/null
    done
    rm -rf "$work/root" "$dir"
    mv "$work" "$dir"
  ) 9> "$DEB_DIR/.next.lock" || _deb_die "cannot repack the .debs as version $next"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -eu
  TRELLIS_TOP_SRCDIR=${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
  case "${1:-}" in
    build) deb_ensure; echo "$DEB_DIR" ;;
    *) echo "usage: $0 build" >&2; exit 2 ;;
  esac
fi
