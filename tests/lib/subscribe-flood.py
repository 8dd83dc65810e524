#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Open many connections to the system bus and Subscribe on each.

subscribe-flood.py N

Opens up to N connections to $DBUS_SYSTEM_BUS_ADDRESS (stopping at the
first the bus refuses), calls org.trellis.Trellis1.Subscribe on each, and
prints one line:

    connections=C subscribed=S refused=ERROR-NAME/COUNT,...

then holds every connection open until it is killed, as a hostile program
would.  Needs python3-gi (GLib's Gio).
"""
import os
import signal
import sys

from gi.repository import Gio, GLib


def main():
    n = int(sys.argv[1])
    address = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
    flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
             | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
    conns = []
    subscribed = 0
    refused = {}
    for _ in range(n):
        try:
            c = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        except GLib.Error as e:
            print("connect: %s" % e.message, file=sys.stderr)
            refused["connect"] = 1
            break
        conns.append(c)
        try:
            c.call_sync("org.trellis.Trellis1", "/org/trellis/Trellis1",
                        "org.trellis.Trellis1", "Subscribe", None, None,
                        Gio.DBusCallFlags.NO_AUTO_START, 10000, None)
            subscribed += 1
        except GLib.Error as e:
            name = Gio.DBusError.get_remote_error(e) or e.message
            refused[name] = refused.get(name, 0) + 1
    print("connections=%d subscribed=%d refused=%s" % (
        len(conns), subscribed,
        ",".join("%s/%d" % kv for kv in sorted(refused.items())) or "none"), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
