#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""nss-client.py — talk to trellisd's NSS socket as a program of the
caller's would, politely or not (nss/nss-protocol.h).

    nss-client.py SOCKET ask NAME
        One request for NAME; prints the reply ("B rule...", "A", "O",
        "E why") or "CLOSED" when the server closed without one.

    nss-client.py SOCKET send HEX
        Sends the bytes HEX as one message; prints the reply as above.

    nss-client.py SOCKET hold N SECONDS
        Opens N connections and sends nothing on them for SECONDS; prints
        "HOLD kept=K closed_at_once=C closed_later=L max_life_ms=M": K the
        connections still open at the end, C those the server closed
        within 200 ms, L those it closed later, M the longest one lived.

Exit status 0, or 2 on a usage or socket error.
"""
import select
import socket
import sys
import time


def reply_of(s):
    try:
        data = s.recv(4096)
    except socket.timeout:
        return "TIMEOUT"
    except OSError:
        return "CLOSED"
    if not data:
        return "CLOSED"
    kind, rest = chr(data[0]), data[1:].decode("utf-8", "replace")
    return kind + (" " + rest if rest else "")


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    return s


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, mode = argv[1], argv[2]
    if mode == "ask" and len(argv) == 4:
        s = connect(path)
        s.send(b"Q" + argv[3].encode("utf-8", "surrogateescape"))
        print(reply_of(s))
    elif mode == "send" and len(argv) == 4:
        s = connect(path)
        s.send(bytes.fromhex(argv[3]))
        print(reply_of(s))
    elif mode == "hold" and len(argv) == 5:
        n, seconds = int(argv[3]), float(argv[4])
        start = time.monotonic()
        conns = {}
        for _ in range(n):
            s = connect(path)
            s.setblocking(False)
            conns[s] = time.monotonic()
        at_once = later = 0
        max_life = 0.0
        end = start + seconds
        while conns and time.monotonic() < end:
            ready, _, _ = select.select(list(conns), [], [], max(0.0, end - time.monotonic()))
            for s in ready:
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    continue
                life = time.monotonic() - conns.pop(s)
                max_life = max(max_life, life)
                if life < 0.2:
                    at_once += 1
                else:
                    later += 1
                s.close()
        print("HOLD kept=%d closed_at_once=%d closed_later=%d max_life_ms=%d" % (
            len(conns), at_once, later, max_life * 1000))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:
        print("nss-client.py: %s" % e, file=sys.stderr)
        sys.exit(2)
