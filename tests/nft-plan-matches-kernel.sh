#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: a parent asks `trellis policy show --nft` what the kernel
# holds for the household, and gets exactly what `nft list table inet
# trellis` prints once trellisd has applied it: the CLI and the daemon build
# the table from one plan (policy/nft-plan.c).  Checked as text, byte for
# byte, and through `nft -j` (set elements are the children's uids; chain
# names, hooks, priorities and rule counts), for one child, for two
# children with several accounts each, and with on-failure=open (bypass).
# The CLI renders trellisd's defaults, so trellisd runs with them here.

set -eu
QUEUE_NUM=5353
ANSWER_PORT=5354
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

require_root_and_netns
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
setup_stack --no-upstream --no-household

# compare CASE: the CLI's text against the kernel's, then the JSON view.
compare ()
{
  local what=$1 rendered listed want_uids
  shift
  rendered=$("$TRELLIS_CLI" --household "$HOUSEHOLD" --data-dir "$TRELLIS_DATA_DIR" policy show --nft) \
    || fail "$what: trellis policy show --nft failed"
  listed=$(in_client nft list table inet trellis 2>/dev/null) \
    || fail "$what: nft list table inet trellis failed"
  if [ "$rendered" != "$listed" ]; then
    diff -u <(printf '%s\n' "$listed") <(printf '%s\n' "$rendered") >&2 || true
    if ! grep -q 'queue num' <<<"$listed" && grep -q 'queue num' <<<"$rendered"; then
      fail "$what: nft printed the queue rules without their target: it cannot render" \
        "the xtables NFQUEUE target without iptables' libxt_NFQUEUE.so (Debian: iptables," \
        "which ./bootstrap deps installs; docs/decisions.md, \"Queue expression\")"
    fi
    fail "$what: the rendered plan (+) differs from the kernel's table (-)"
  fi

  want_uids=$(for a in "$@"; do id -u "$a"; done | sort -n | tr '\n' ' ')
  in_client nft -j list table inet trellis 2>/dev/null | "$PYTHON3" -c '
import json, sys
want_uids = [int(u) for u in sys.argv[1].split()]
bypass = sys.argv[2] == "open"
doc = json.load(sys.stdin)["nftables"]
sets = [o["set"] for o in doc if "set" in o]
chains = {o["chain"]["name"]: o["chain"] for o in doc if "chain" in o}
rules = [o["rule"] for o in doc if "rule" in o]
errors = []
want_sets = ["protected-uids", "learn-uids", "paused-uids", "helplines-v4", "helplines-v6",
             "doh-v4", "doh-v6", "doh-learned-v4", "doh-learned-v6"]
if [s["name"] for s in sets] != want_sets:
    errors.append("sets: %r" % [s["name"] for s in sets])
elif sets[0]["type"] != "uid" or sorted(sets[0].get("elem", [])) != want_uids:
    errors.append("protected-uids: %r, want %r" % (sets[0].get("elem"), want_uids))
want_chains = {"dns-zone": ("filter", "output", -300), "dns-queue": ("filter", "output", -150), "dns-redirect": ("nat", "output", -100),
               "dns-guard": ("filter", "postrouting", 100),
               "dns-learn": ("filter", "output", -140), "dns-answers": ("filter", "input", -150),
               "net-policy": ("filter", "output", 0)}
want_rules = {"dns-zone": 2, "dns-queue": 2, "dns-redirect": 2, "dns-guard": 2, "dns-learn": 1, "dns-answers": 1,
              "net-policy": 17}
for name, (typ, hook, prio) in want_chains.items():
    c = chains.get(name)
    if c is None or (c["type"], c["hook"], c["prio"], c["policy"]) != (typ, hook, prio, "accept"):
        errors.append("chain %s: %r" % (name, c))
if set(chains) != set(want_chains):
    errors.append("chains: %r" % sorted(chains))
for name in want_chains:
    n = sum(1 for r in rules if r["chain"] == name)
    if n != want_rules[name]:
        errors.append("chain %s has %d rules, want %d" % (name, n, want_rules[name]))
queued = [r for r in rules if r["chain"] == "dns-queue"]
for r in queued:
    if not any(("xt" in e and e["xt"].get("type") == "target" and e["xt"].get("name") == "NFQUEUE")
               or "queue" in e for e in r["expr"]):
        errors.append("dns-queue rule without a queue: %r" % r["expr"])
if errors:
    print("\n".join(errors))
    sys.exit(1)
' "$want_uids" "${ON_FAILURE:-closed}" >&2 || fail "$what: nft -j disagrees with the plan"
  log "ok: $what"
}

# 1. one child, one account
write_household
start_trellisd
compare "one child" "$CHILD_ACCOUNT"
stop_trellisd TERM

# 2. two children, several accounts each (more than five uids: nft wraps
#    the element list), one account that does not exist (left out)
extra=()
for n in 1 2 3; do
  _add_account "trt-$TEST_ID-a$n"; extra+=("trt-$TEST_ID-a$n")
done
for n in 1 2 3; do
  _add_account "trt-$TEST_ID-b$n"; extra+=("trt-$TEST_ID-b$n")
done
write_household "accounts = $CHILD_ACCOUNT;${extra[0]};${extra[1]};${extra[2]}"
# the line above is a second accounts= key: replace the first instead
sed -i "0,/^accounts = $CHILD_ACCOUNT\$/{/^accounts = $CHILD_ACCOUNT\$/d}" "$HOUSEHOLD"
{
  echo
  echo "[child robin]"
  echo "age = 14"
  echo "accounts = ${extra[3]};${extra[4]};${extra[5]};trt-$TEST_ID-gone"
} >> "$HOUSEHOLD"
start_trellisd
compare "two children" "$CHILD_ACCOUNT" "${extra[@]}"

# a child's view names only that child's uids
robin=$("$TRELLIS_CLI" --household "$HOUSEHOLD" --data-dir "$TRELLIS_DATA_DIR" policy show robin --nft) \
  || fail "trellis policy show robin --nft failed"
want="elements = { $(for a in "${extra[@]:3}"; do id -u "$a"; done | sort -n | paste -sd, - | sed 's/,/, /g') }"
printf '%s\n' "$robin" | grep -qF "$want" || fail "robin's view lacks '$want': $robin"
if printf '%s\n' "$robin" | grep -qw "$CHILD_UID"; then
  fail "robin's view shows sam's uid $CHILD_UID"
fi
stop_trellisd TERM

# 3. on-failure=open: the queue rules carry the bypass flag
ON_FAILURE=open write_household
ON_FAILURE=open
start_trellisd
in_client nft list table inet trellis 2>/dev/null | grep -q 'queue num 5353 bypass' \
  || fail "on-failure=open: no 'queue num 5353 bypass' in the kernel's table"
compare "on-failure=open" "$CHILD_ACCOUNT"
stop_trellisd TERM

log "PASS: trellis policy show --nft renders exactly the table trellisd applies"
