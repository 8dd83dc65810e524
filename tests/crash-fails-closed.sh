#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: trellisd crashes (here: SIGKILL).  A crash must never be a way
# around the filter: with on-failure=closed (the default) the kernel keeps
# the table inet trellis and the queue has no listener, so the child's DNS
# gets no answer at all and nothing reaches the upstream.  When trellisd is
# started again with the same options it takes the queue back and filtering
# resumes.
#
# The household can choose on-failure=open instead: then the queue carries
# the bypass flag and, while trellisd is down, the child's UDP DNS flows to
# the upstream UNFILTERED (an allowed name resolves, and so would a denied
# one).  This test checks that documented trade-off too.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack

rule=$(deny_rule_text example-game.com)
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

# ---- on-failure = closed ----------------------------------------------------
stop_trellisd KILL
[ "$TRELLISD_EXIT" = 137 ] || fail "trellisd was expected to die of SIGKILL (137), exit $TRELLISD_EXIT"
trellis_table_exists || fail "after SIGKILL the table inet trellis is gone: the filter failed open"

dig_as_child "$UPSTREAM_V4" crashed.example-game.com A
assert_no_answer
dig_as_child "$UPSTREAM_V4" crashed-allowed.example A
assert_no_answer
dig_as_child "$UPSTREAM_V6" crashed6.example-game.com AAAA
assert_no_answer
assert_upstream_never_saw crashed.example-game.com
assert_upstream_never_saw crashed-allowed.example
assert_upstream_never_saw crashed6.example-game.com

# the parent is not held up by the child's dead queue
dig_as_parent "$UPSTREAM_V4" parent-during-crash.example A
assert_resolved

# ---- restart: filtering resumes -------------------------------------------------
start_trellisd
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"
dig_as_child "$UPSTREAM_V4" after-restart.example A
assert_resolved
assert_upstream_saw after-restart.example
assert_upstream_never_saw example-game.com

stop_trellisd TERM
[ "$TRELLISD_EXIT" = 0 ] || fail "SIGTERM: trellisd exited with $TRELLISD_EXIT, expected 0"

# ---- on-failure = open ------------------------------------------------------
ON_FAILURE=open write_household
start_trellisd
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$rule"

stop_trellisd KILL
trellis_table_exists || fail "on-failure=open: after SIGKILL the table inet trellis is gone"

# bypass: the child's queries now reach the upstream unfiltered, UDP and
# TCP, the denied name included: that is what "open" means.
dig_as_child "$UPSTREAM_V4" open-bypass.example A
assert_resolved
assert_upstream_saw open-bypass.example
dig_as_child "$UPSTREAM_V4" sub.example-game.com A
assert_resolved
assert_upstream_saw sub.example-game.com
dig_as_child "$UPSTREAM_V4" open-bypass-tcp.example A +tcp
assert_resolved
assert_upstream_saw open-bypass-tcp.example

log "PASS: a crash fails closed by default (and open only when the household says so)"
