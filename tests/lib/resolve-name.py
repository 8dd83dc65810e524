#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""resolve-name.py — look names up as a program does, through glibc's
getaddrinfo() (and so nsswitch.conf's hosts line), and say what came back.

    resolve-name.py NAME...

One line a name:

    NAME ok ADDRESS,... MS
    NAME error EAI_NONAME|EAI_AGAIN|EAI_FAIL|... MS

MS is how long the lookup took, in milliseconds.  Standard library only:
the tests run it as a child's or a parent's account.
"""
import socket
import sys
import time

CODES = {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}


def main():
    for name in sys.argv[1:]:
        start = time.monotonic()
        try:
            infos = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
            addrs = sorted({i[4][0] for i in infos})
            result = "ok " + ",".join(addrs)
        except socket.gaierror as e:
            result = "error " + CODES.get(e.errno, str(e.errno))
        print("%s %s %d" % (name, result, (time.monotonic() - start) * 1000))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
