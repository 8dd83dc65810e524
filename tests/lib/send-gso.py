#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""send-gso.py — DNS sends that put more than one message in one system call.

    send-gso.py udp [--cmsg] [--hide rr|opt] [--timeout S] HOST CARRIER HIDDEN
        One sendto() with UDP_SEGMENT (the socket option, or with --cmsg a
        control message) of a buffer the kernel splits into two datagrams:
        the first a query for CARRIER whose last additional record (--hide
        rr: a NULL record, the default; --hide opt: an OPT option) has an
        RDLENGTH that runs to the end of the whole buffer; the second a
        complete query for HIDDEN.  Read as one message, the buffer asks
        only for CARRIER.
    send-gso.py tcp-pair [--timeout S] HOST FIRST SECOND
        One TCP connection, one send() of two length-prefixed queries.
    send-gso.py tcp-batch [--timeout S] HOST COUNT NAME...
        One send() of COUNT length-prefixed queries (names round-robin, each
        prefixed with "qN."): more than one segment's worth, so the kernel
        sends it as one GSO packet.
    send-gso.py tcp-hide [--timeout S] HOST CARRIER HIDDEN
        One length-prefixed message: a query for CARRIER whose additional
        NULL record holds a length-prefixed query for HIDDEN.

Replies (port 53 of HOST) are printed one per line, then a last line:

    SENT <bytes>
    REPLY <id> <qname> <rcode> <answer-count>
    END done | END timeout | END closed | END reset

Exit status 0, or 2 on a usage or socket error (the send itself refused).
Standard library only: the tests run it as the child's account with the
system python.
"""

import socket
import struct
import sys
import threading
import time

UDP_SEGMENT = 103           # linux/udp.h
SEGMENT_SIZE = 256
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def query(qid, name, arcount=0):
    return (struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, arcount)
            + wire_name(name) + struct.pack("!HH", 1, 1))


def udp_buffer(carrier, hidden, hide):
    """The GSO buffer: SEGMENT_SIZE bytes of carrier query, then the hidden one."""
    second = query(0x2222, hidden)
    head = query(0x1111, carrier, arcount=1)
    # root owner, type, class, ttl, rdlength: 11 bytes
    pad = SEGMENT_SIZE - len(head) - 11
    rdlength = pad + len(second)
    if hide == "opt":
        # An OPT whose one option (a private code) holds the rest.
        rr = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, rdlength)
        rdata = struct.pack("!HH", 65001, rdlength - 4) + b"\x00" * (pad - 4)
    else:
        rr = b"\x00" + struct.pack("!HHIH", 10, 1, 0, rdlength)
        rdata = b"\x00" * pad
    first = head + rr + rdata
    assert len(first) == SEGMENT_SIZE
    return first + second


def reply_line(msg):
    if len(msg) < 12:
        return "REPLY short %s" % msg.hex()
    qid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    labels, off = [], 12
    while qd and off < len(msg) and msg[off] != 0 and msg[off] < 64:
        labels.append(msg[off + 1:off + 1 + msg[off]].decode("ascii", "replace"))
        off += 1 + msg[off]
    qname = ".".join(labels) if qd else "-"
    return "REPLY %04x %s %s %d" % (qid, qname, RCODES.get(flags & 0xF, str(flags & 0xF)), an)


def run_udp(args, timeout):
    cmsg, hide = False, "rr"
    while args and args[0].startswith("--"):
        if args[0] == "--cmsg":
            cmsg = True
            args = args[1:]
        elif args[0] == "--hide":
            hide = args[1]
            args = args[2:]
        elif args[0] == "--timeout":
            timeout = float(args[1])
            args = args[2:]
        else:
            raise SystemExit("unknown option " + args[0])
    host, carrier, hidden = args
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    buf = udp_buffer(carrier, hidden, hide)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((host, 53))
        if cmsg:
            n = sock.sendmsg([buf], [(socket.SOL_UDP, UDP_SEGMENT,
                                      struct.pack("=H", SEGMENT_SIZE))])
        else:
            sock.setsockopt(socket.SOL_UDP, UDP_SEGMENT, SEGMENT_SIZE)
            n = sock.send(buf)
        print("SENT %d" % n, flush=True)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                print(reply_line(sock.recv(65535)), flush=True)
            except socket.timeout:
                break
            except ConnectionRefusedError:
                print("REPLY icmp-unreachable", flush=True)
    print("END timeout", flush=True)


def complete_messages(buf):
    """How many whole length-prefixed messages @buf holds."""
    n, off = 0, 0
    while len(buf) - off >= 2 and len(buf) - off >= 2 + struct.unpack("!H", buf[off:off + 2])[0]:
        off += 2 + struct.unpack("!H", buf[off:off + 2])[0]
        n += 1
    return n


def tcp_exchange(host, data, expect, timeout):
    """Sends @data and reads until @expect replies came, the server closed
    or @timeout passed (@expect 0: until closed or timeout)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, 53))
        # The writer in a thread of its own: the replies come back while the
        # queries still go out, and neither side may wait for the other.
        sender = threading.Thread(target=sock.sendall, args=(data,), daemon=True)
        sender.start()
        buf = b""
        end = "timeout"
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if expect and complete_messages(buf) >= expect:
                end = "done"
                break
            sock.settimeout(left)
            try:
                chunk = sock.recv(65535)
            except socket.timeout:
                break
            except ConnectionResetError:
                end = "reset"
                break
            if not chunk:
                end = "closed"
                break
            buf += chunk
        sender.join(1)
        print("SENT %d" % len(data), flush=True)
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            print(reply_line(buf[2:2 + n]), flush=True)
            buf = buf[2 + n:]
        print("END %s" % end, flush=True)


def framed(msg):
    return struct.pack("!H", len(msg)) + msg


def main(argv):
    args = list(argv[1:])
    if not args:
        sys.stderr.write(__doc__)
        return 2
    mode, args = args[0], args[1:]
    timeout = 3.0
    if len(args) >= 2 and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    try:
        if mode == "udp":
            run_udp(args, timeout)
        elif mode == "tcp-pair":
            host, first, second = args
            tcp_exchange(host, framed(query(0x3001, first)) + framed(query(0x3002, second)),
                         2, timeout)
        elif mode == "tcp-batch":
            host, count, names = args[0], int(args[1]), args[2:]
            data = b"".join(framed(query(0x4000 + i, "q%d.%s" % (i, names[i % len(names)])))
                            for i in range(count))
            tcp_exchange(host, data, count, timeout)
        elif mode == "tcp-hide":
            host, carrier, hidden = args
            inner = framed(query(0x5002, hidden))
            head = query(0x5001, carrier, arcount=1)
            rr = b"\x00" + struct.pack("!HHIH", 10, 1, 0, len(inner))
            tcp_exchange(host, framed(head + rr + inner), 0, timeout)
        else:
            sys.stderr.write(__doc__)
            return 2
    except (OSError, ValueError) as e:
        sys.stderr.write("send-gso.py: %s\n" % e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
