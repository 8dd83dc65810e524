#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp-dns.py — DNS over TCP the slow ways: a held connection, a dribble.

    tcp-dns.py session HOST SPACING NAME...
        One TCP connection to HOST port 53; a query (A, EDNS) for each NAME,
        one every SPACING seconds, each answer read before the next query.
        Prints "PORT <local port>" first, then for each NAME
            ANSWER <seconds since connect> <name> <rcode> <first A or ->
        or, when the connection fails, "FAILED <seconds> <name> <reason>"
        and stops.

    tcp-dns.py dribble [--reconnect] HOST PORT COUNT INTERVAL SECONDS
        Opens COUNT connections to HOST:PORT and on each sends one byte at
        once and one more every INTERVAL seconds (the start of a length
        prefix, then of a message, never a whole one), for SECONDS.  With
        --reconnect a connection the server closed is opened again half a
        second later.  Prints at the end
            SUMMARY opened=N at_once=A later=L open_at_end=E max_held=H
                    max_lifetime=S
        at_once: closed by the server within 1 s of connecting; later: closed
        after that; max_held: the most connections older than 1 s open at
        one time; max_lifetime: the longest a closed connection lived.

Exit status 0, or 2 on a usage or socket error.  Standard library only: the
tests run it as a child's account with the system python.
"""

import select
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    return q + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed by the server")
        buf += chunk
    return buf


def first_a(msg):
    """The first A record of the answer section, or "-"."""
    qd, an = struct.unpack("!HH", msg[4:8])
    off = 12

    def skip_name(off):
        while True:
            n = msg[off]
            if n == 0:
                return off + 1
            if n & 0xC0 == 0xC0:
                return off + 2
            off += 1 + n

    for _ in range(qd):
        off = skip_name(off) + 4
    for _ in range(an):
        off = skip_name(off)
        rtype, _, _, rdlength = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rdlength == 4:
            return socket.inet_ntoa(msg[off:off + 4])
        off += rdlength
    return "-"


def session(host, spacing, names):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    start = time.monotonic()
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect((host, 53))
        print("PORT %d" % sock.getsockname()[1], flush=True)
        for i, name in enumerate(names):
            if i > 0:
                time.sleep(max(0.0, start + i * spacing - time.monotonic()))
            try:
                msg = query(0x6000 + i, name)
                sock.sendall(struct.pack("!H", len(msg)) + msg)
                n = struct.unpack("!H", recv_exact(sock, 2))[0]
                reply = recv_exact(sock, n)
            except (OSError, ConnectionError) as e:
                print("FAILED %.1f %s %s" % (time.monotonic() - start, name, e), flush=True)
                return
            rcode = RCODES.get(reply[3] & 0xF, str(reply[3] & 0xF))
            print("ANSWER %.1f %s %s %s" % (time.monotonic() - start, name, rcode,
                                           first_a(reply)), flush=True)


def dribble(host, port, count, interval, seconds, reconnect):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    start = time.monotonic()
    end = start + seconds
    conns = {}          # fd → [socket, opened, next byte due]
    pending = []        # times at which to open a new connection
    intervals = []      # (opened, closed) of connections the server closed
    opened = 0

    def open_one(now):
        nonlocal opened
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((host, port))
            s.send(b"\x00")
        except OSError:
            s.close()
            intervals.append((now, time.monotonic()))
            opened += 1
            return
        s.setblocking(False)
        conns[s.fileno()] = [s, now, now + interval]
        opened += 1

    for _ in range(count):
        open_one(time.monotonic())

    while True:
        now = time.monotonic()
        if now >= end:
            break
        for t in [t for t in pending if t <= now]:
            pending.remove(t)
            open_one(now)
        readable, _, _ = select.select(list(conns), [], [], 0.05)
        now = time.monotonic()
        for fd in readable:
            s, t0, _ = conns[fd]
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                del conns[fd]
                s.close()
                intervals.append((t0, now))
                if reconnect:
                    pending.append(now + 0.5)
        for fd, c in list(conns.items()):
            if c[2] <= now:
                try:
                    c[0].send(b"\x20")
                except OSError:
                    del conns[fd]
                    c[0].close()
                    intervals.append((c[1], now))
                    if reconnect:
                        pending.append(now + 0.5)
                    continue
                c[2] = now + interval

    now = time.monotonic()
    at_once = sum(1 for a, b in intervals if b - a <= 1.0)
    later = [b - a for a, b in intervals if b - a > 1.0]
    # The most connections older than 1 s open at one time.
    events = []
    for a, b in intervals:
        if b - a > 1.0:
            events += [(a + 1.0, 1), (b, -1)]
    for c in conns.values():
        if now - c[1] > 1.0:
            events += [(c[1] + 1.0, 1), (now, -1)]
    held = max_held = 0
    for _, d in sorted(events, key=lambda e: (e[0], e[1])):
        held += d
        max_held = max(max_held, held)
    print("SUMMARY opened=%d at_once=%d later=%d open_at_end=%d max_held=%d max_lifetime=%.1f"
          % (opened, at_once, len(later), len(conns), max_held, max(later) if later else 0.0),
          flush=True)
    for c in conns.values():
        c[0].close()


def main(argv):
    args = list(argv[1:])
    try:
        if args and args[0] == "session" and len(args) >= 4:
            session(args[1], float(args[2]), args[3:])
        elif args and args[0] == "dribble":
            args = args[1:]
            reconnect = bool(args) and args[0] == "--reconnect"
            if reconnect:
                args = args[1:]
            host, port, count, interval, seconds = args
            dribble(host, int(port), int(count), float(interval), float(seconds), reconnect)
        else:
            sys.stderr.write(__doc__)
            return 2
    except (OSError, ValueError) as e:
        sys.stderr.write("tcp-dns.py: %s\n" % e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
