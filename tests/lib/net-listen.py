#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Listen on TCP and UDP ports of some addresses, as the servers a child
would try to reach (a DNS-over-TLS server on 853, an HTTPS server on 443).

net-listen.py [--tcp PORT]... [--udp PORT]... [--tls-cert C --tls-key K] ADDR...

TCP: accepts, does the TLS handshake when a certificate is given, writes
"ok\n" and closes.  UDP: answers every datagram with "ok".  Each contact is
printed on stdout ("tcp ADDR PORT" / "udp ADDR PORT"), flushed.  Runs until
killed.
"""
import argparse
import selectors
import socket
import ssl
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp", type=int, action="append", default=[])
    ap.add_argument("--udp", type=int, action="append", default=[])
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("addrs", nargs="+")
    a = ap.parse_args()
    ctx = None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    sel = selectors.DefaultSelector()
    for addr in a.addrs:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        for port in a.tcp:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(64)
            sel.register(s, selectors.EVENT_READ, ("tcp", addr, port))
        for port in a.udp:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((addr, port))
            sel.register(s, selectors.EVENT_READ, ("udp", addr, port))
    print("listening", flush=True)
    while True:
        for key, _ in sel.select():
            proto, addr, port = key.data
            s = key.fileobj
            try:
                if proto == "tcp":
                    c, _ = s.accept()
                    c.settimeout(3)
                    try:
                        if ctx is not None:
                            c = ctx.wrap_socket(c, server_side=True)
                        c.sendall(b"ok\n")
                    finally:
                        c.close()
                else:
                    data, peer = s.recvfrom(2048)
                    s.sendto(b"ok", peer)
                print("%s %s %d" % (proto, addr, port), flush=True)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
