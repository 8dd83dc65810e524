#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: the names that switch browsers and systems to their own
# resolvers.  Firefox's canary (use-application-dns.net), iCloud Private
# Relay (mask.icloud.com, mask-h2.icloud.com) and Discovery of Designated
# Resolvers (resolver.arpa, _dns.resolver.arpa, RFC 9462) are answered
# NXDOMAIN with the integrity rule, for every type asked, over IPv4 and
# IPv6, UDP and TCP: never 0.0.0.0, never a record; none reaches the
# upstream.  The parent gets the upstream's answer.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack
for name in use-application-dns.net mask.icloud.com mask-h2.icloud.com resolver.arpa _dns.resolver.arpa; do
  for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
    for type in A AAAA HTTPS SVCB; do
      for tcp in "" +tcp; do
        dig_as_child "$server" "$name" "$type" $tcp
        pattern=$name
        [ "$name" != _dns.resolver.arpa ] || pattern=resolver.arpa
        assert_blocked "integrity $pattern"
      done
    done
  done
  assert_upstream_never_saw "$name"
  dig_as_parent "$UPSTREAM_V4" "$name" A
  assert_resolved
done
log "PASS: the canaries are NXDOMAIN for the child, never an address"
