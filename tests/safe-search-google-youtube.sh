#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam (10) has safe-search = strict.  When Sam's browser looks up
# www.google.com (or www.google.fr, or www.youtube.com), the answer is the
# search engine's own safe endpoint: "www.google.com CNAME
# forcesafesearch.google.com" followed by the address the server Sam asked
# gives for forcesafesearch.google.com, so Google serves SafeSearch locked
# on.  Sam's own name never leaves the machine; other Google names
# (mail.google.com) and the parent's lookups are left alone.  Over TCP too.
# With safe-search = moderate, YouTube goes to restrictmoderate.youtube.com.
#
# The upstream answers every name with 192.0.2.1, except the safe endpoints,
# which get distinct addresses: an endpoint's address in Sam's answer can
# only have come from the upstream's answer for the endpoint.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

GOOGLE_SAFE_V4=216.239.38.120
GOOGLE_SAFE_V6=2001:4860:4802:32::78
YT_STRICT_V4=216.239.38.120
YT_MODERATE_V4=216.239.38.119

UPSTREAM_EXTRA_ARGS=(
  --address=/forcesafesearch.google.com/"$GOOGLE_SAFE_V4"
  --address=/forcesafesearch.google.com/"$GOOGLE_SAFE_V6"
  --address=/restrict.youtube.com/"$YT_STRICT_V4"
  --address=/restrictmoderate.youtube.com/"$YT_MODERATE_V4"
)

# dig_answer_lines: the answer section as "OWNER TYPE RDATA", one per line.
dig_answer_lines ()
{
  printf '%s\n' "$DIG_OUT" | awk '
    /^;; ANSWER SECTION:/ { in_answer = 1; next }
    in_answer && /^$/ { in_answer = 0 }
    in_answer && !/^;/ { print tolower($1), $4, tolower($5) }'
}

# assert_safe_search NAME TARGET TYPE ADDRESS: the last dig (for NAME) got
# NOERROR from the server it asked with exactly "NAME CNAME TARGET" and
# "TARGET TYPE ADDRESS", and no EDE.
assert_safe_search ()
{
  local name=$1 target=$2 type=$3 address=$4 status server want got
  status=$(dig_status)
  server=$(dig_server)
  if [ "$DIG_RC" != 0 ] || [ "$status" != NOERROR ]; then
    _dig_context
    fail "$name for the $DIG_WHO: expected NOERROR, got '${status:-no answer}' (dig exit $DIG_RC)"
  fi
  case "$server" in
    "$DIG_SERVER#53("*) ;;
    *) _dig_context; fail "$name: the answer did not come from $DIG_SERVER#53 (SERVER: $server)";;
  esac
  want=$(printf '%s CNAME %s.\n%s. %s %s' "$name." "$target" "$target" "$type" "$address")
  got=$(dig_answer_lines)
  if [ "$got" != "$want" ]; then
    _dig_context
    fail "$name for the $DIG_WHO: expected the answer
$want
got
$got"
  fi
  if [ -n "$(dig_ede)" ]; then
    _dig_context
    fail "$name: a safe-search answer carries an EDE: $(dig_ede)"
  fi
}

setup_stack --line "safe-search = strict"

# --- strict, UDP --------------------------------------------------------------
dig_as_child "$UPSTREAM_V4" www.google.com A
assert_safe_search www.google.com forcesafesearch.google.com A "$GOOGLE_SAFE_V4"

dig_as_child "$UPSTREAM_V4" www.google.fr A
assert_safe_search www.google.fr forcesafesearch.google.com A "$GOOGLE_SAFE_V4"

dig_as_child "$UPSTREAM_V4" google.co.uk AAAA
assert_safe_search google.co.uk forcesafesearch.google.com AAAA "$GOOGLE_SAFE_V6"

dig_as_child "$UPSTREAM_V4" www.youtube.com A
assert_safe_search www.youtube.com restrict.youtube.com A "$YT_STRICT_V4"

# Over IPv6 to the server's v6 address: the same.
dig_as_child "$UPSTREAM_V6" www.google.com A
assert_safe_search www.google.com forcesafesearch.google.com A "$GOOGLE_SAFE_V4"

assert_upstream_saw forcesafesearch.google.com
assert_upstream_saw restrict.youtube.com

# --- strict, TCP --------------------------------------------------------------
dig_as_child "$UPSTREAM_V4" www.google.com A +tcp
dig_server | grep -q '(TCP)' || fail "dig did not use TCP: $(dig_server)"
assert_safe_search www.google.com forcesafesearch.google.com A "$GOOGLE_SAFE_V4"

dig_as_child "$UPSTREAM_V4" m.youtube.com A +tcp
assert_safe_search m.youtube.com restrict.youtube.com A "$YT_STRICT_V4"

# The child's own names never left the machine.
assert_upstream_never_saw www.google.com
assert_upstream_never_saw www.google.fr
assert_upstream_never_saw google.co.uk
assert_upstream_never_saw www.youtube.com
assert_upstream_never_saw m.youtube.com

# --- names that are not search: untouched ---------------------------------------
dig_as_child "$UPSTREAM_V4" mail.google.com A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw mail.google.com

dig_as_child "$UPSTREAM_V4" forcesafesearch.google.com A
assert_resolved "$GOOGLE_SAFE_V4"

# --- the parent: untouched ---------------------------------------------------------
dig_as_parent "$UPSTREAM_V4" www.google.com A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw www.google.com

# --- moderate -------------------------------------------------------------------
stop_trellisd
write_household "safe-search = moderate"
start_trellisd

dig_as_child "$UPSTREAM_V4" www.youtube.com A
assert_safe_search www.youtube.com restrictmoderate.youtube.com A "$YT_MODERATE_V4"
dig_as_child "$UPSTREAM_V4" www.youtube.com A +tcp
assert_safe_search www.youtube.com restrictmoderate.youtube.com A "$YT_MODERATE_V4"
dig_as_child "$UPSTREAM_V4" www.google.de A
assert_safe_search www.google.de forcesafesearch.google.com A "$GOOGLE_SAFE_V4"
assert_upstream_saw restrictmoderate.youtube.com
assert_upstream_never_saw www.youtube.com
assert_upstream_never_saw www.google.de

log "PASS: safe search rewrites Google and YouTube to their safe endpoints, UDP and TCP"
