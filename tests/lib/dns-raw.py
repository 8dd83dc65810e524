#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""dns-raw.py — DNS messages as a program that tries to get round a filter
would send them, and what came back.

    dns-raw.py udp [--timeout S] HOST PORT MSG...
        Each MSG is one datagram, sent from a socket of its own; then that
        socket waits up to S seconds (default 2) for a reply.

    dns-raw.py tcp [--timeout S] [--cut N,...] [--gap S] HOST PORT MSG...
        (options may come anywhere)

    --sport PORT: send from that source port (both modes).
        One connection.  The MSGs, each with its two-byte length, make one
        stream, written in pieces cut at the stream offsets N (default: in
        one write), --gap seconds apart (default 0.3).  Then replies are
        read until there is one for every MSG, the server closes, or S
        seconds pass.

MSG is "hex:HEX" (the message itself) or "q:NAME[:TYPE[:CLASS]]" (a query
with RD, EDNS and a random id; NAME in presentation form, \\DDD and \\X
escapes allowed; TYPE a name or a number, default A; CLASS IN, CH or a
number).  One line a message, in order:

    REPLY I id=0xID name=QNAME. rcode=NXDOMAIN qd=1 an=0 ede=17 answers=TYPE:DATA,...
    NOREPLY I

and for TCP a last line "END replies=N closed=yes|no".  An answer's DATA is
the address for A and AAAA, the target for CNAME, "-" otherwise; QNAME is
the first question's name, lower case ("-" for none).  Exit
status 0, or 2 on a usage or socket error.  Standard library only: the
tests run it as a child's account with the system python.
"""

import random
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33, "SVCB": 64, "HTTPS": 65, "ANY": 255, "CAA": 257}
CLASSES = {"IN": 1, "CH": 3, "HS": 4, "ANY": 255}


def name_wire(text):
    """Presentation form (escapes allowed) to wire form."""
    if text in ("", "."):
        return b"\x00"
    labels, cur, i = [], bytearray(), 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text[i + 1:i + 4].isdigit() and len(text[i + 1:i + 4]) == 3:
                cur.append(int(text[i + 1:i + 4]))
                i += 4
            else:
                cur.append(ord(text[i + 1]))
                i += 2
            continue
        if c == ".":
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(ord(c))
        i += 1
    if cur:
        labels.append(bytes(cur))
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"


def build(spec):
    if spec.startswith("hex:"):
        return bytes.fromhex("".join(c for c in spec[4:] if c not in " :.\n\t"))
    if not spec.startswith("q:"):
        raise ValueError("a message is hex:HEX or q:NAME[:TYPE[:CLASS]], not %r" % spec)
    parts = spec[2:].split(":")
    name = parts[0]
    qtype = parts[1] if len(parts) > 1 else "A"
    qclass = parts[2] if len(parts) > 2 else "IN"
    qtype = TYPES[qtype] if qtype in TYPES else int(qtype)
    qclass = CLASSES[qclass] if qclass in CLASSES else int(qclass)
    msg = struct.pack("!HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 1)
    msg += name_wire(name) + struct.pack("!HH", qtype, qclass)
    msg += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return msg


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def read_name(msg, off, depth=0):
    out = []
    while depth < 20:
        n = msg[off]
        if n == 0:
            break
        if n & 0xC0 == 0xC0:
            off = ((n & 0x3F) << 8) | msg[off + 1]
            depth += 1
            continue
        out.append(msg[off + 1:off + 1 + n].decode("ascii", "backslashreplace"))
        off += 1 + n
    return ".".join(out) + "."


def describe(msg):
    if len(msg) < 12:
        return "short=%d" % len(msg)
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    rcode = flags & 0xF
    off, answers, ede, qname = 12, [], "-", "-"
    try:
        for k in range(qd):
            if k == 0:
                qname = read_name(msg, off).lower()
            off = skip_name(msg, off) + 4
        for i in range(an + ns + ar):
            off = skip_name(msg, off)
            rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            rdata = msg[off:off + rdlen]
            if i < an:
                if rtype == 1 and rdlen == 4:
                    data = socket.inet_ntop(socket.AF_INET, rdata)
                elif rtype == 28 and rdlen == 16:
                    data = socket.inet_ntop(socket.AF_INET6, rdata)
                elif rtype == 5:
                    data = read_name(msg, off)
                else:
                    data = "-"
                kind = next((k for k, v in TYPES.items() if v == rtype), str(rtype))
                answers.append("%s:%s" % (kind, data))
            if rtype == 41:
                o = 0
                while o + 4 <= len(rdata):
                    code, olen = struct.unpack("!HH", rdata[o:o + 4])
                    if code == 15 and olen >= 2:
                        ede = str(struct.unpack("!H", rdata[o + 4:o + 6])[0])
                    o += 4 + olen
            off += rdlen
    except (IndexError, struct.error):
        answers.append("?")
    return "id=0x%04x name=%s rcode=%s qd=%d an=%d ede=%s answers=%s" % (
        qid, qname, RCODES.get(rcode, str(rcode)), qd, an, ede, ",".join(answers) or "-")


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_sport(s, host, sport):
    if sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if ":" in host else "0.0.0.0", sport))


def run_udp(host, port, timeout, msgs, sport):
    for i, m in enumerate(msgs):
        s = socket.socket(family_of(host), socket.SOCK_DGRAM)
        bind_sport(s, host, sport)
        s.settimeout(timeout)
        try:
            s.sendto(m, (host, port))
            data, _ = s.recvfrom(65535)
            print("REPLY %d %s" % (i, describe(data)))
        except socket.timeout:
            print("NOREPLY %d" % i)
        except OSError as e:
            print("NOREPLY %d error=%s" % (i, e.strerror))
        finally:
            s.close()
        sys.stdout.flush()


def run_tcp(host, port, timeout, cuts, gap, msgs, sport):
    stream = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    bind_sport(s, host, sport)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(timeout)
    s.connect((host, port))
    start = 0
    for c in sorted(cuts) + [len(stream)]:
        if c <= start:
            continue
        s.sendall(stream[start:c])
        start = c
        if c < len(stream):
            time.sleep(gap)
    buf, replies, closed = b"", 0, False
    deadline = time.monotonic() + timeout
    while replies < len(msgs) and time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = s.recv(65535)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not data:
            closed = True
            break
        buf += data
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            print("REPLY %d %s" % (replies, describe(buf[2:2 + n])))
            buf = buf[2 + n:]
            replies += 1
    for i in range(replies, len(msgs)):
        print("NOREPLY %d" % i)
    print("END replies=%d closed=%s" % (replies, "yes" if closed else "no"))
    s.close()


def main(argv):
    if len(argv) < 2 or argv[1] not in ("udp", "tcp"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, rest, args = argv[1], argv[2:], []
    timeout, cuts, gap, sport = 2.0, [], 0.3, 0
    while rest:
        opt = rest.pop(0)
        if not opt.startswith("--"):
            args.append(opt)
        elif opt == "--timeout":
            timeout = float(rest.pop(0))
        elif opt == "--cut":
            cuts = [int(x) for x in rest.pop(0).split(",") if x]
        elif opt == "--gap":
            gap = float(rest.pop(0))
        elif opt == "--sport":
            sport = int(rest.pop(0))
        else:
            print("dns-raw.py: unknown option %s" % opt, file=sys.stderr)
            return 2
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = args[0], int(args[1])
    try:
        msgs = [build(a) for a in args[2:]]
        if mode == "udp":
            run_udp(host, port, timeout, msgs, sport)
        else:
            run_tcp(host, port, timeout, cuts, gap, msgs, sport)
    except (ValueError, OSError) as e:
        print("dns-raw.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
