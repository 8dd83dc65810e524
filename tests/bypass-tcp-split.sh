#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Way around: DNS over TCP cut where a filter reading packets one at a
# time would lose the thread.  A child's program sends a blocked query's
# length prefix alone, then the message; cuts a query inside its name;
# writes it one byte at a time; or pipelines an allowed, a blocked and an
# allowed query in one write, the blocked one cut across two writes.  TCP
# port 53 of a protected account goes to trellisd's answerer, which reads
# whole messages: every blocked query is answered NXDOMAIN with EDE 17 in
# the name of the server asked and never reaches it, every allowed one is
# answered by the server, IPv4 and IPv6.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"

setup_stack
raw=$(copy_helper "$TRELLIS_TOP_SRCDIR/tests/lib/dns-raw.py")

# tcp_as_child SERVER [OPTIONS] MSG...: dns-raw.py tcp as the child; sets OUT.
tcp_as_child ()
{
  local server=$1
  shift
  OUT=$(as_child "$PYTHON3" "$raw" tcp --timeout 4 "$server" 53 "$@" 2>&1) \
    || fail "dns-raw.py failed: $OUT"
}

# reply_for NAME: the reply line for NAME in OUT (the answerer may answer
# pipelined queries in any order, RFC 7766).
reply_for ()
{
  printf '%s\n' "$OUT" | grep " name=$1\. " | head -n1
}

expect_blocked ()
{
  local line
  line=$(reply_for "$1")
  case "$line" in
    *" rcode=NXDOMAIN "*" an=0 ede=17 "*) ;;
    *) printf '%s\n' "$OUT" >&2; fail "$2: $1 was not answered NXDOMAIN + EDE 17 ('$line')" ;;
  esac
}

expect_answered ()
{
  local line
  line=$(reply_for "$1")
  case "$line" in
    *" rcode=NOERROR "*"answers=A:$UPSTREAM_ANSWER_V4"*) ;;
    *) printf '%s\n' "$OUT" >&2; fail "$2: $1 was not answered by the upstream ('$line')" ;;
  esac
}

# The query for NAME is 12 + name + 4 + 11 (OPT) bytes; the stream adds 2.
qlen ()
{
  local wire
  wire=$(printf '%s' "$1" | awk -F. '{ n = 1; for (i = 1; i <= NF; i++) n += 1 + length($i); print n }')
  echo $(( 12 + wire + 4 + 11 ))
}

for server in "$UPSTREAM_V4" "$UPSTREAM_V6"; do
  v=v4; case "$server" in *:*) v=v6 ;; esac

  # the length prefix on its own, then the message
  tcp_as_child "$server" --cut 2 --gap 0.5 "q:prefix-$v.example-game.com"
  expect_blocked "prefix-$v.example-game.com" "length prefix apart ($v)"

  # half of the prefix, then the rest
  tcp_as_child "$server" --cut 1 --gap 0.5 "q:halfprefix-$v.example-game.com"
  expect_blocked "halfprefix-$v.example-game.com" "the prefix cut in two ($v)"

  # cut inside the name: "ins" | "ide-..."
  tcp_as_child "$server" --cut 18 --gap 0.5 "q:inside-$v.example-game.com"
  expect_blocked "inside-$v.example-game.com" "cut inside the name ($v)"

  # one byte a write (Nagle off), 20 ms apart: well inside the 5 s a
  # message has once it began
  name="bytes-$v.example-game.com"
  len=$(( $(qlen "$name") + 2 ))
  tcp_as_child "$server" --cut "$(seq -s, 1 $((len - 1)))" --gap 0.02 "q:$name"
  expect_blocked "$name" "one byte at a time ($v)"

  # pipelined: allowed, blocked, allowed in one write
  tcp_as_child "$server" "q:first-$v.example" "q:piped-$v.example-game.com" "q:third-$v.example"
  expect_answered "first-$v.example" "pipelined ($v)"
  expect_blocked "piped-$v.example-game.com" "pipelined ($v)"
  expect_answered "third-$v.example" "pipelined ($v)"
  printf '%s\n' "$OUT" | grep -q '^END replies=3 ' || fail "pipelined ($v): not three replies: $OUT"

  # pipelined, the blocked query cut across two writes, in its name
  first="early-$v.example"
  cut=$(( $(qlen "$first") + 2 + 2 + 15 ))
  tcp_as_child "$server" --cut "$cut" --gap 0.5 "q:$first" "q:across-$v.example-game.com" "q:late-$v.example"
  expect_answered "$first" "cut across messages ($v)"
  expect_blocked "across-$v.example-game.com" "cut across messages ($v)"
  expect_answered "late-$v.example" "cut across messages ($v)"
done

for v in v4 v6; do
  for name in prefix-$v.example-game.com halfprefix-$v.example-game.com inside-$v.example-game.com \
              bytes-$v.example-game.com piped-$v.example-game.com across-$v.example-game.com; do
    assert_upstream_never_saw "$name"
  done
  for name in first-$v.example third-$v.example early-$v.example late-$v.example; do
    assert_upstream_saw "$name"
  done
done

trellisd_running || fail "trellisd is no longer running"
log "PASS: blocked queries held however the TCP stream is cut or pipelined (IPv4, IPv6)"
