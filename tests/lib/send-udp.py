#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""send-udp.py — send raw UDP payloads and report whether anything answers.

    send-udp.py [--timeout SECONDS] HOST PORT HEX...

Each HEX argument is one datagram (hex digits, spaces/colons/dots ignored;
"" or "-" sends an empty datagram).  Each is sent from its own socket, then
the socket waits up to --timeout seconds (default 2) for a reply.  One line
per payload on stdout:

    NOREPLY <index>
    REPLY <index> <hex of the reply>

Exit status: 0 when no payload got a reply, 1 when at least one did,
2 on a usage or socket error.  Standard library only: the tests run it as
the child's account with the system python.
"""

import socket
import sys


def parse_hex(text):
    if text in ("", "-"):
        return b""
    cleaned = "".join(c for c in text if c not in " :.\n\t")
    return bytes.fromhex(cleaned)


def main(argv):
    timeout = 2.0
    args = list(argv[1:])
    if len(args) >= 2 and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    if len(args) < 3:
        sys.stderr.write(__doc__)
        return 2
    host, port = args[0], int(args[1])
    try:
        payloads = [parse_hex(a) for a in args[2:]]
    except ValueError as e:
        sys.stderr.write("send-udp.py: bad hex payload: %s\n" % e)
        return 2

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    answered = False
    for index, payload in enumerate(payloads):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.settimeout(timeout)
                sock.connect((host, port))
                sock.send(payload)
                try:
                    reply = sock.recv(65535)
                except socket.timeout:
                    print("NOREPLY %d" % index, flush=True)
                    continue
                except ConnectionRefusedError:
                    # An ICMP port unreachable: not a DNS reply, but the
                    # packet did reach something; report it.
                    print("REPLY %d icmp-unreachable" % index, flush=True)
                    answered = True
                    continue
                print("REPLY %d %s" % (index, reply.hex()), flush=True)
                answered = True
        except OSError as e:
            sys.stderr.write("send-udp.py: payload %d: %s\n" % (index, e))
            return 2
    return 1 if answered else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
