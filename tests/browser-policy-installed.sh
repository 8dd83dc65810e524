#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: the browser's own resolver.  Firefox and Chromium can look
# names up over DNS-over-HTTPS themselves, outside the family's filter.
# The package puts in their policies (trellis-browser-policy install) and
# takes them out when it goes (remove): Firefox's DNSOverHTTPS off and
# locked, Chromium's and Chrome's DnsOverHttpsMode off.  Here against a
# root of the test's own (--root):
#   - an administrator's Firefox file is merged into, never replaced: their
#     policies stay, ours is added, and removal gives the file back byte
#     for byte; if they changed it meanwhile, only our key goes;
#   - an administrator's own DNSOverHTTPS is kept as it is (and said);
#   - a file that is not JSON is left as it is, and said;
#   - an administrator's Chromium file is never touched (ours is a file of
#     its own); directories we made go again, no others;
#   - SafeSearch (a managed policy applies to every account, parents too)
#     is set only when asked, or with --safe-search auto when every account
#     that can log in is a child's with safe search.
# The .deb does the same on a real system (tests/deb-purge-removes-state.sh).

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

TOOL=$TRELLIS_TOP_BUILDDIR/browser/trellis-browser-policy
[ -x "$TOOL" ] || fail "$TOOL is not built"
_make_test_dir
command -v python3 >/dev/null || fail "needs python3"

R=$TEST_DIR/root
FF=$R/etc/firefox/policies/policies.json
CR=$R/etc/chromium/policies/managed/trellis.json
GC=$R/etc/opt/chrome/policies/managed/trellis.json

tool ()  # tool ARGS...: sets TOOL_OUT, TOOL_ERR, TOOL_RC
{
  TOOL_RC=0
  TOOL_OUT=$("$TOOL" "$@" --root "$R" 2>"$TEST_DIR/tool.err") || TOOL_RC=$?
  TOOL_ERR=$(cat "$TEST_DIR/tool.err")
}

# json_is FILE PYTHON-EXPR: FILE parses as JSON and EXPR (on j) holds.
json_is ()
{
  "$PYTHON3" -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" || fail "$1: not ($2): $(cat "$1")"
}

tree ()  # what is under the root, one path a line
{
  (cd "$R" && find . | sort)
}

ours_ff='j["policies"]["DNSOverHTTPS"] == {"Enabled": False, "Locked": True}'
ours_cr='j == {"DnsOverHttpsMode": "off"}'

# ---- 1. nothing there: ours made, and all of it gone again ------------------
mkdir -p "$R/etc"
before=$(tree)
tool install
[ "$TOOL_RC" = 0 ] || fail "install on an empty root: exit $TOOL_RC: $TOOL_ERR"
json_is "$FF" "$ours_ff and list(j) == ['policies'] and list(j['policies']) == ['DNSOverHTTPS']"
json_is "$CR" "$ours_cr"
json_is "$GC" "$ours_cr"
tool install   # twice: the same
json_is "$FF" "$ours_ff and list(j['policies']) == ['DNSOverHTTPS']"
tool remove
[ "$TOOL_RC" = 0 ] || fail "remove: exit $TOOL_RC: $TOOL_ERR"
[ "$(tree)" = "$before" ] || fail "remove left things behind: $(diff <(echo "$before") <(tree))"
log "ok: made on an empty root, and all of it gone again"

# ---- 2. the administrator's files: merged, and given back byte for byte -----
mkdir -p "$R/etc/firefox/policies" "$R/etc/chromium/policies/managed"
printf '{\n    "policies": {\n        "DisableTelemetry": true,\n        "Homepage": {"URL": "https://school.example/", "Locked": true}\n    }\n}\n' > "$FF"
chmod 640 "$FF"
cp -p "$FF" "$TEST_DIR/admin-ff.json"
printf '{ "HomepageLocation": "https://school.example/" }\n' > "$R/etc/chromium/policies/managed/school.json"
cp "$R/etc/chromium/policies/managed/school.json" "$TEST_DIR/admin-cr.json"
before=$(tree)
tool install
[ "$TOOL_RC" = 0 ] || fail "install over the administrator's files: exit $TOOL_RC: $TOOL_ERR"
json_is "$FF" "$ours_ff and j['policies']['DisableTelemetry'] is True and j['policies']['Homepage'] == {'URL': 'https://school.example/', 'Locked': True}"
[ "$(stat -c %a "$FF")" = 640 ] || fail "the merge changed the mode of the administrator's file"
cmp -s "$R/etc/chromium/policies/managed/school.json" "$TEST_DIR/admin-cr.json" || fail "the administrator's Chromium file was touched"
json_is "$CR" "$ours_cr"
tool remove
cmp -s "$FF" "$TEST_DIR/admin-ff.json" || fail "the administrator's Firefox file is not given back as it was: $(cat "$FF")"
[ "$(stat -c %a "$FF")" = 640 ] || fail "removal changed the mode of the administrator's file"
cmp -s "$R/etc/chromium/policies/managed/school.json" "$TEST_DIR/admin-cr.json" || fail "removal touched the administrator's Chromium file"
[ "$(tree)" = "$before" ] || fail "remove left things or took things: $(diff <(echo "$before") <(tree))"
log "ok: the administrator's files merged into and given back byte for byte"

# ---- 3. the administrator changed their file meanwhile: only our key goes ---
tool install
"$PYTHON3" -c 'import json, sys
p = sys.argv[1]; j = json.load(open(p))
j["policies"]["DisableFormHistory"] = True
json.dump(j, open(p, "w"), indent=1)' "$FF"
tool remove
json_is "$FF" "'DNSOverHTTPS' not in j['policies'] and j['policies']['DisableFormHistory'] is True and j['policies']['DisableTelemetry'] is True"
cp -p "$TEST_DIR/admin-ff.json" "$FF"
log "ok: changes made since stay; only our key goes"

# ---- 4. the administrator's own DNSOverHTTPS stays ----------------------------
printf '{"policies": {"DNSOverHTTPS": {"Enabled": true, "ProviderURL": "https://doh.school.example/dns-query"}}}\n' > "$FF"
cp -p "$FF" "$TEST_DIR/admin-doh.json"
tool install
[ "$TOOL_RC" = 0 ] || fail "install with the administrator's DNSOverHTTPS: exit $TOOL_RC"
grep -q "sets DNSOverHTTPS itself" <<<"$TOOL_ERR" || fail "install did not say it keeps the administrator's DNSOverHTTPS: $TOOL_ERR"
cmp -s "$FF" "$TEST_DIR/admin-doh.json" || fail "the administrator's DNSOverHTTPS was changed"
tool remove
cmp -s "$FF" "$TEST_DIR/admin-doh.json" || fail "removal changed the administrator's DNSOverHTTPS file"
log "ok: the administrator's own DNSOverHTTPS is theirs"

# ---- 5. a file that is no JSON is left alone ------------------------------------
printf '{"policies": { "DisableTelemetry": true,, }\n' > "$FF"
cp -p "$FF" "$TEST_DIR/broken.json"
tool install
[ "$TOOL_RC" = 1 ] || fail "install over a broken file: exit $TOOL_RC, want 1"
grep -q "left as it is" <<<"$TOOL_ERR" || fail "install did not say it leaves the broken file: $TOOL_ERR"
cmp -s "$FF" "$TEST_DIR/broken.json" || fail "the broken file was changed"
json_is "$CR" "$ours_cr"   # Chromium's policy is in place all the same
tool remove
cmp -s "$FF" "$TEST_DIR/broken.json" || fail "removal changed the broken file"
[ ! -e "$CR" ] || fail "removal left $CR"
rm -f "$FF"
log "ok: a file that is no JSON is left as it is, and said"

# ---- 6. SafeSearch: only when asked, or when every login is a child's ---------
tool install --safe-search strict
json_is "$CR" 'j == {"DnsOverHttpsMode": "off", "ForceGoogleSafeSearch": True, "ForceYouTubeRestrict": 2}'
tool remove
tool install --safe-search nonsense
[ "$TOOL_RC" = 2 ] || fail "--safe-search nonsense: exit $TOOL_RC, want 2"
{
  echo "[household]"
  echo "parents = mum"
  echo "[child sam]"
  echo "age = 10"
  echo "accounts = sam"
  echo "[child alex]"
  echo "age = 14"
  echo "accounts = alex"
} > "$TEST_DIR/household.conf"
printf '%s\n' "root:x:0:0:root:/root:/bin/bash" "sam:x:1001:1001::/home/sam:/bin/bash" \
  "alex:x:1002:1002::/home/alex:/bin/bash" "daemon:x:1:1::/:/usr/sbin/nologin" \
  "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin" > "$TEST_DIR/passwd-children"
cp "$TEST_DIR/passwd-children" "$TEST_DIR/passwd-family"
echo "mum:x:1000:1000::/home/mum:/bin/bash" >> "$TEST_DIR/passwd-family"
auto ()
{
  tool install --safe-search auto --household "$TEST_DIR/household.conf" --passwd "$1" \
    --data-dir "$TRELLIS_DATA_DIR"
  [ "$TOOL_RC" = 0 ] || fail "--safe-search auto: exit $TOOL_RC: $TOOL_ERR"
}
# sam (10) is strict, alex (14) moderate: the least strict, moderate
auto "$TEST_DIR/passwd-children"
json_is "$CR" 'j == {"DnsOverHttpsMode": "off", "ForceGoogleSafeSearch": True, "ForceYouTubeRestrict": 1}'
grep -q "every account that can log in is a child's" <<<"$TOOL_OUT" || fail "auto did not say why: $TOOL_OUT"
# mum can log in too: the managed policy would be hers as well
auto "$TEST_DIR/passwd-family"
json_is "$CR" "$ours_cr"
grep -q "the account mum can log in and is no child's" <<<"$TOOL_OUT" || fail "auto did not say why not: $TOOL_OUT"
tool remove
log "ok: SafeSearch in the browsers only when asked, or when every login is a child's"

log "PASS: browser policies merged into the administrator's, and taken out exactly"
