#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# User story: Sam writes a "message" for the parents that is really a
# weapon: terminal escape sequences that erase and rewrite the lines of the
# parent's `trellis requests` ("#1 sam asked for school.example: approved"),
# a newline that forges a line, a C1 control, a right-to-left override that
# makes a name read backwards; or markup that the parent's notification
# would draw as a link.  trellisd refuses every control character with a
# clear D-Bus error (nothing is stored, no one is notified), `trellis ask`
# says why in Sam's words, and markup is only text: the parent's terminal,
# --json and the notification (the Notify call dunst received, and what
# dunst itself kept of it) show it exactly as Sam wrote it, inert.  A
# request stored before the check existed (written into the event log
# directly) is shown inert too.

set -eu
. "${TRELLIS_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$TRELLIS_TOP_SRCDIR/tests/lib/notify-session.sh"

require_root_and_netns
require_notify_session
[ -x "$TRELLIS_CLI" ] || fail "$TRELLIS_CLI is not built"
command -v sqlite3 >/dev/null 2>&1 || skip "needs sqlite3 (Debian package: sqlite3)"
setup_stack --bus
start_notify_session parent "$PARENT_UID" "$PARENT_GID"

ESC=$'\033'

# 1. Control characters: refused at the bus, by gdbus and by trellis.
forged="${ESC}[2K${ESC}[1A${ESC}[2K#1  sam asked for school.example: approved"
trellis_as child ask example-game.com "$forged"
expect_cli_rc 2
expect_cli_error 'control character \(U\+001B, character 1\)'
for bad in "$forged" \
           "$(printf 'homework\n#2  sam asked for school.example: approved')" \
           "$(printf 'title\033]0;owned\007')" \
           "$(printf '\xc2\x9b2K csi')" \
           "$(printf 'abc\xe2\x80\xaemoc.elpmaxe')" \
           "$(printf 'tab\there')" \
           "$(printf 'del\x7f')"; do
  gdbus_as child Ask example-game.com "$bad"
  expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
  printf '%s\n' "$GDBUS_OUT" | grep -q 'control character' \
    || fail "the refusal does not say why: $GDBUS_OUT"
done
# in the name too
gdbus_as child Ask "$(printf 'example\033[1m.com')" ""
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
# nothing was stored (and no one was told: see 2)
trellis_as parent requests --json
expect_cli_rc 0
json_check 'j == []'
trellisd_running || fail "trellisd is no longer running"

# 2. A parent's answer is checked the same way (the child sees it).
trellis_as child ask casino.example "for my project"
expect_cli_rc 0
trellis_as child requests --json
json_check 'j[0]["id"]'
first=$JSON_VALUE
trellis_as parent decline "$first" "$(printf 'no\033[8m')"
expect_cli_rc 2
expect_cli_error 'control character \(U\+001B, character 3\)'
gdbus_as parent Decline "$first" "$(printf 'no\033[8m')"
expect_gdbus_error org.freedesktop.DBus.Error.InvalidArgs
notify_wait parent 1 5 || { notify_log_all; fail "no notification of Sam's request within 5 s"; }
# Signals reach the agent in the order trellisd sent them: had a refused
# request told the parents, its notification would have come first.
case "$(notify_bodies parent | head -n1)" in
  *casino.example*) ;;
  *) notify_log_all; fail "a refused request reached the parent's desktop" ;;
esac

# 3. Markup is text: allowed, and shown as written everywhere.
markup='<b>urgent</b> & <a href="http://evil.example/">open me</a> <3'
trellis_as child ask example-game.com "$markup"
expect_cli_rc 0
notify_wait parent 2 5 || { notify_log_all; fail "no notification of the request with markup within 5 s"; }
body=$(notify_bodies parent | tail -n1)
want='sam asks to open example-game.com: “&lt;b&gt;urgent&lt;/b&gt; &amp; &lt;a href=&quot;http://evil.example/&quot;&gt;open me&lt;/a&gt; &lt;3”. Type “trellis requests” to answer.'
[ "$body" = "$want" ] || { notify_log_all; fail "the notification's body is '$body', expected '$want'"; }
# What dunst made of it: the text it shows is the markup's characters.
# (dunst keeps a notification in its history once it is closed.)
notify_session_run parent "$PARENT_UID" "$PARENT_GID" dunstctl close-all \
  || { notify_log_all; fail "dunstctl close-all failed"; }
history=$(notify_session_run parent "$PARENT_UID" "$PARENT_GID" dunstctl history) \
  || { notify_log_all; fail "dunstctl history failed"; }
# Its "message" is the Pango markup it draws; the text drawn is that
# markup's text.
printf '%s' "$history" | "$PYTHON3" -c '
import json, sys, xml.etree.ElementTree as ET
h = json.load(sys.stdin)
want = sys.argv[1]
shown = []
for n in h["data"][0]:
    try:
        shown.append("".join(ET.fromstring("<m>" + n["message"]["data"] + "</m>").itertext()))
    except ET.ParseError as e:
        sys.exit("dunst was given broken markup (%s): %r" % (e, n["message"]["data"]))
if not any(("“" + want + "”") in t for t in shown):
    sys.exit("dunst does not draw the message as written: %r" % shown)
' "$markup" || { printf '%s\n' "$history" >&2; notify_log_all; fail "dunst drew the child's markup"; }

trellis_as parent requests
expect_cli_rc 0
printf '%s\n' "$CLI_OUT" | grep -qF "message: “$markup”" \
  || { _cli_context; fail "trellis requests does not show the message as written"; }
MARKUP=$markup
export MARKUP
trellis_as parent requests --json
json_check '[r for r in j if r["message"] == __import__("os").environ["MARKUP"]]'

# 4. A request stored before the bus checked messages: shown inert on the
#    parent's terminal (no ESC byte reaches it), escaped in --json.
sqlite3 "$TEST_DIR/state/events.db" \
  "INSERT INTO requests (child, name, message, state, created)
   VALUES ('sam', 'example-game.com',
           'old' || char(27) || '[2K' || char(27) || '[1A' || char(10) || '#9 forged' || char(8238) || 'gnp',
           'pending', strftime('%s', 'now'));" \
  || fail "cannot add the old request to the event log"
trellis_as parent requests
expect_cli_rc 0
if printf '%s' "$CLI_OUT" | grep -q "$ESC"; then
  _cli_context
  fail "an escape character reached the parent's terminal"
fi
printf '%s\n' "$CLI_OUT" | grep -qF 'message: “old\x1B[2K\x1B[1A\x0A#9 forged\u202Egnp”' \
  || { _cli_context; fail "the old request's message is not shown inert"; }
if printf '%s\n' "$CLI_OUT" | grep -q '^#9 forged'; then
  _cli_context
  fail "the old request forged a line of trellis requests"
fi
trellis_as parent requests --json
expect_cli_rc 0
if printf '%s' "$CLI_OUT" | grep -q "$ESC"; then
  _cli_context
  fail "an escape character reached the parent's terminal through --json"
fi
json_check '[r for r in j if r["message"] == "old\x1b[2K\x1b[1A\n#9 forged\u202egnp"]'
printf '%s\n' "$CLI_OUT" | grep -qF '\u001b[2K' \
  || { _cli_context; fail "--json does not escape the control characters"; }
printf '%s\n' "$CLI_OUT" | grep -qF '\u202e' \
  || { _cli_context; fail "--json does not escape the right-to-left override"; }

trellisd_running || fail "trellisd is no longer running"
log "PASS: control characters are refused at the bus; markup and old messages are shown inert"
