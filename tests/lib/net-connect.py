#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Try to reach a server as a program would: net-connect.py [--tls] tcp|udp ADDR PORT

Prints "ok" and exits 0 when the server answered; otherwise prints what
happened ("refused", "timeout", "unreachable: ...", "error: ...") and exits 1.
TCP: connect (and a TLS handshake with --tls, certificate not checked: the
test's own), then read the server's "ok".  UDP: send a datagram on a
connected socket and wait for the answer.  Every wait is 3 seconds at most.
"""
import errno
import socket
import ssl
import sys


def main():
    args = sys.argv[1:]
    tls = False
    if args and args[0] == "--tls":
        tls = True
        args = args[1:]
    proto, addr, port = args[0], args[1], int(args[2])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((addr, port))
        if proto == "tcp":
            if tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(s)
            data = s.recv(16)
        else:
            s.send(b"hi")
            data = s.recv(16)
        if data.startswith(b"ok"):
            print("ok")
            return 0
        print("error: unexpected %r" % data)
    except ConnectionRefusedError:
        print("refused")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            print("unreachable: %s" % e)
        else:
            print("error: %s" % e)
    return 1


if __name__ == "__main__":
    sys.exit(main())
