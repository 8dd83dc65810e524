#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: the parents' accounts (parents= in the household file) and
# root are never filtered: the name denied for Sam resolves for them from
# the upstream, unchanged, while Sam's lookup of it is blocked.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

# the control: Sam is filtered
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"
assert_upstream_never_saw example-game.com

dig_as_parent "$UPSTREAM_V4" example-game.com A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw example-game.com

dig_as_parent "$UPSTREAM_V6" www.example-game.com AAAA +tcp
assert_resolved "$UPSTREAM_ANSWER_V6"
assert_upstream_saw www.example-game.com

dig_as_parent "$UPSTREAM_V4" use-application-dns.net A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw use-application-dns.net

dig_as_root "$UPSTREAM_V4" casino.example A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw casino.example

dig_as_root "$UPSTREAM_V4" sub.casino.example A +tcp
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw sub.casino.example

log "PASS: the parent and root get the upstream's answers for the child's denied names"
