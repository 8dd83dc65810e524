#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam's filter blocks harmful material only (GC25 §56).  An
# ordinary name, and the name the parents allowed, resolve for Sam exactly
# as the upstream answers them, with no EDE.  A helpline (childline.org.uk)
# always resolves, even when the household file tries to deny it (GC25 §76):
# helplines come before every other rule.  Allowed lookups are not stored
# and helplines are never logged (GC25 §55, §76): neither trellisd's log
# (even with --verbose) nor its state directory mention them.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

DENY="example-game.com;childline.org.uk" setup_stack

# The filter is on: the denied name is blocked (so "allowed" below means
# trellisd decided, not that it did nothing).
dig_as_child "$UPSTREAM_V4" example-game.com A
assert_blocked "$(deny_rule_text example-game.com)"

dig_as_child "$UPSTREAM_V4" en.wikipedia.org A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw en.wikipedia.org

dig_as_child "$UPSTREAM_V4" www.bbc.co.uk AAAA
assert_resolved "$UPSTREAM_ANSWER_V6"
assert_upstream_saw www.bbc.co.uk

dig_as_child "$UPSTREAM_V4" scratch.mit.edu A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw scratch.mit.edu

# a helpline, although deny= names it
dig_as_child "$UPSTREAM_V4" childline.org.uk A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw childline.org.uk

dig_as_child "$UPSTREAM_V4" www.childline.org.uk A
assert_resolved "$UPSTREAM_ANSWER_V4"
assert_upstream_saw www.childline.org.uk

assert_upstream_never_saw example-game.com

# The state directory keeps a copy of the parents' household file (the last
# one that worked), which names childline.org.uk and scratch.mit.edu
# itself; nothing else there may name what the child looked up.
for name in childline en.wikipedia.org www.bbc.co.uk scratch.mit.edu; do
  if grep -qiF "$name" "$TRELLISD_LOG"; then
    fail "trellisd's log mentions $name: $(grep -iF "$name" "$TRELLISD_LOG" | head -n3)"
  fi
  if [ -d "$TEST_DIR/state" ] &&
     grep -rqiaF --exclude=household.conf.last-good "$name" "$TEST_DIR/state"; then
    fail "trellisd's state directory holds $name: $(grep -rliaF --exclude=household.conf.last-good "$name" "$TEST_DIR/state")"
  fi
done
for name in www.childline.org.uk en.wikipedia.org www.bbc.co.uk; do
  if grep -rqiaF "$name" "$TEST_DIR/state"; then
    fail "trellisd's state directory holds $name: $(grep -rliaF "$name" "$TEST_DIR/state")"
  fi
done

log "PASS: ordinary names, allow= names and helplines resolve for the child"
