#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""burst.py — a burst of DNS queries of every kind, each answer checked.

    burst.py ROLE COUNT V4 V6 SAM_RULE ALEX_RULE

ROLE is sam, alex (two children) or parent.  In bursts (32 at once, every
20 ms), from several UDP sockets per family, it sends COUNT queries over
IPv4 to V4 and COUNT/4 over IPv6 to V6 (port 53), A and AAAA, for names of
three kinds:

    ROLE-N.ok.example          allowed for everyone
    ROLE-N.example-game.com    denied for sam (the rule SAM_RULE)
    ROLE-N.casino.example      denied for alex (the rule ALEX_RULE)

plus, from a child, COUNT/20 malformed queries (each naming
ROLE-N.malformed.example somewhere in it), and meanwhile COUNT/40 TCP
connections (2 to 6: the answerer keeps 8 for one account) with three
queries each.  Then it waits (up to 10 s) for every answer and reads them
for a second more, to see any second answer.

Every well-formed query must be answered exactly once, by the server it
asked, with its own id and question: NOERROR with 192.0.2.1 (A) or
2001:db8::1 (AAAA) and no EDE where ROLE may have the name; NXDOMAIN, no
records, and (when the query had EDNS) EDE 17 with the rule's text where it
is denied.  A malformed
query must get no answer at all.

Prints, sorted, one line per query:
    ANSWER ROLE PROTO FAMILY EDNS NAME TYPE RCODE DATA EDE
then "UPSTREAM-ONCE NAME TYPE" for each query the upstream must have seen
exactly once and "UPSTREAM-NEVER NAME" for each it must never have seen,
then "SUMMARY sent=N answered=N malformed=N tcp=N".  Each problem is a
line "PROBLEM ..." on stderr.  Exit status 1 when there is one, 2 on a
usage or socket error, else 0.  Standard library only: the tests run it as
a child's account with the system python.
"""

import random
import select
import socket
import struct
import sys
import threading
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TYPES = {1: "A", 28: "AAAA"}
ANSWER = {1: "192.0.2.1", 28: "2001:db8::1"}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def query(qid, name, qtype, edns):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    q += wire_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        q += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return q


def malformed(qid, name, kind):
    """A query the filter must drop: each kind breaks one rule."""
    n = wire_name(name)
    qa = struct.pack("!HH", 1, 1)
    if kind == 0:   # trailing garbage after the question
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + n + qa + b"\xff\xff"
    if kind == 1:   # a response (QR=1) sent to port 53
        return struct.pack("!HHHHHH", qid, 0x8100, 1, 0, 0, 0) + n + qa
    if kind == 2:   # two questions
        return struct.pack("!HHHHHH", qid, 0x0100, 2, 0, 0, 0) + n + qa + n + qa
    if kind == 3:   # label type 0x40
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x41" + n + qa
    # an announced answer record that is not there
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 1, 0, 0) + n + qa


def skip_name(msg, off):
    hops = 0
    while True:
        if off >= len(msg):
            raise ValueError("name runs off the end")
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
        hops += 1
        if hops > 128:
            raise ValueError("too many labels")


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def parse_answer(msg):
    """(id, qname, qtype, rcode, data, ede) of a response."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    if not flags & 0x8000 or qd != 1:
        raise ValueError("not a response to one question")
    qname, off = read_name(msg, 12)
    qtype, _ = struct.unpack("!HH", msg[off:off + 4])
    off += 4
    data = []
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if rtype == 1 and rdlen == 4:
            data.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and rdlen == 16:
            data.append(socket.inet_ntop(socket.AF_INET6, rdata))
        else:
            data.append("type%d" % rtype)
    for _ in range(ns):
        off = skip_name(msg, off)
        rdlen = struct.unpack("!H", msg[off + 8:off + 10])[0]
        off += 10 + rdlen
    ede = "-"
    for _ in range(ar):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == 41:
            opt = msg[off:off + rdlen]
            o = 0
            while o + 4 <= len(opt):
                code, olen = struct.unpack("!HH", opt[o:o + 4])
                if code == 15 and olen >= 2:
                    info = struct.unpack("!H", opt[o + 4:o + 6])[0]
                    ede = "%d:%s" % (info, opt[o + 6:o + 4 + olen].decode("utf-8", "replace"))
                o += 4 + olen
        off += rdlen
    return qid, qname, qtype, RCODES.get(flags & 0xF, str(flags & 0xF)), ",".join(data) or "-", ede


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    role, count, v4, v6, sam_rule, alex_rule = sys.argv[1:]
    count = int(count)
    problems = []
    lines = []
    upstream_once = []
    upstream_never = []

    def expect(name, edns):
        """(rcode, ede) the name must get for this role: an EDE only when
        the query had EDNS (RFC 6891)."""
        if name.endswith(".example-game.com") and role == "sam":
            return "NXDOMAIN", "17:" + sam_rule if edns else "-"
        if name.endswith(".casino.example") and role == "alex":
            return "NXDOMAIN", "17:" + alex_rule if edns else "-"
        return "NOERROR", "-"

    kinds = ["ok.example", "example-game.com", "casino.example"]
    rng = random.Random(sum(map(ord, role)))
    ids = list(range(1, 0x10000))
    rng.shuffle(ids)
    ids.reverse()

    # The UDP queries: (family, server, name, qtype, edns, id)
    udp = []
    for i in range(count + count // 4):
        family = socket.AF_INET if i < count else socket.AF_INET6
        name = "%s-%d.%s" % (role, i, kinds[i % 3])
        qtype = 28 if i % 5 == 4 else 1
        udp.append((family, v4 if family == socket.AF_INET else v6, name, qtype, i % 2 == 0, ids.pop()))
    bad = []
    # The parent is not filtered: what the parent sends is the upstream's to answer.
    for i in range(max(count // 20, 5) if role != "parent" else 0):
        name = "%s-%d.malformed.example" % (role, i)
        bad.append((socket.AF_INET if i % 3 else socket.AF_INET6, name, i % 5, ids.pop()))
        upstream_never.append(name)

    socks = {socket.AF_INET: [], socket.AF_INET6: []}
    for family, n in ((socket.AF_INET, 8), (socket.AF_INET6, 4)):
        for _ in range(n):
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind(("0.0.0.0", 0) if family == socket.AF_INET else ("::", 0))
            s.setblocking(False)
            socks[family].append(s)
    pending = {}   # (sock fileno, id) -> query
    seen = {}      # (sock fileno, id) -> number of answers

    # TCP meanwhile, in threads: COUNT/40 connections, three queries each.
    tcp_results = []
    tcp_lock = threading.Lock()

    def tcp_conn(k):
        family = socket.AF_INET if k % 2 == 0 else socket.AF_INET6
        server = v4 if family == socket.AF_INET else v6
        names = ["%s-tcp%d-%d.%s" % (role, k, j, kinds[(k + j) % 3]) for j in range(3)]
        try:
            c = socket.create_connection((server, 53), timeout=10)
            for j, name in enumerate(names):
                qid = (k * 3 + j) & 0xffff
                q = query(qid, name, 1, True)
                c.sendall(struct.pack("!H", len(q)) + q)
                hdr = b""
                while len(hdr) < 2:
                    chunk = c.recv(2 - len(hdr))
                    if not chunk:
                        raise ConnectionError("closed")
                    hdr += chunk
                (n,) = struct.unpack("!H", hdr)
                msg = b""
                while len(msg) < n:
                    chunk = c.recv(n - len(msg))
                    if not chunk:
                        raise ConnectionError("closed")
                    msg += chunk
                got = parse_answer(msg)
                with tcp_lock:
                    tcp_results.append((family, name, qid, got))
            c.close()
        except (OSError, ValueError) as e:
            with tcp_lock:
                for name in names:
                    tcp_results.append((family, name, None, str(e)))

    # At most 6 at once: the answerer holds 8 connections for one account.
    threads = [threading.Thread(target=tcp_conn, args=(k,)) for k in range(min(max(count // 40, 2), 6))]
    for t in threads:
        t.start()

    # The burst, round-robin over the sockets: 32 queries at once, then a
    # breath of 20 ms (the upstream, which logs every query, has the
    # kernel's default socket buffer).
    sent = 0
    for k, (family, server, name, qtype, edns, qid) in enumerate(udp):
        s = socks[family][k % len(socks[family])]
        pending[(s.fileno(), qid)] = (family, name, qtype, edns)
        s.sendto(query(qid, name, qtype, edns), (server, 53))
        sent += 1
        if sent % 32 == 0:
            time.sleep(0.02)
    for k, (family, name, kind, qid) in enumerate(bad):
        s = socks[family][k % len(socks[family])]
        s.sendto(malformed(qid, name, kind), (v4 if family == socket.AF_INET else v6, 53))
        pending[(s.fileno(), qid)] = (family, name, None, False)

    every = socks[socket.AF_INET] + socks[socket.AF_INET6]
    deadline = time.monotonic() + 10
    quiet_until = None
    while True:
        now = time.monotonic()
        wellformed_left = sum(1 for key, q in pending.items() if q[2] is not None and key not in seen)
        if wellformed_left == 0 and quiet_until is None:
            quiet_until = now + 1.0   # a second more: a second answer would show
        if now > deadline or (quiet_until is not None and now > quiet_until):
            break
        ready, _, _ = select.select(every, [], [], 0.05)
        for s in ready:
            while True:
                try:
                    msg, peer = s.recvfrom(4096)
                except BlockingIOError:
                    break
                if len(msg) < 12:
                    problems.append("a %d-byte datagram from %s" % (len(msg), peer[0]))
                    continue
                qid = struct.unpack("!H", msg[:2])[0]
                key = (s.fileno(), qid)
                q = pending.get(key)
                if q is None:
                    problems.append("an answer nobody asked for (id %d, from %s)" % (qid, peer[0]))
                    continue
                family, name, qtype, edns = q
                seen[key] = seen.get(key, 0) + 1
                if qtype is None:
                    problems.append("the malformed %s was answered" % name)
                    continue
                if seen[key] > 1:
                    problems.append("%s %s answered %d times" % (name, TYPES[qtype], seen[key]))
                    continue
                server = v4 if family == socket.AF_INET else v6
                if socket.inet_pton(family, peer[0]) != socket.inet_pton(family, server) or peer[1] != 53:
                    problems.append("%s: answered from %s port %d" % (name, peer[0], peer[1]))
                try:
                    _, qname, rqtype, rcode, data, ede = parse_answer(msg)
                except (ValueError, struct.error, IndexError) as e:
                    problems.append("%s: an answer that does not parse (%s)" % (name, e))
                    continue
                if qname.lower() != name or rqtype != qtype:
                    problems.append("%s: the answer is for %s type %d" % (name, qname, rqtype))
                lines.append("ANSWER %s udp %s %s %s %s %s %s %s" % (
                    role, "v4" if family == socket.AF_INET else "v6", "edns" if edns else "plain",
                    name, TYPES[qtype], rcode, data, ede))

    for key, (family, name, qtype, _) in pending.items():
        if qtype is not None and key not in seen:
            problems.append("%s %s (%s) got no answer" % (
                name, TYPES[qtype], "v4" if family == socket.AF_INET else "v6"))
    for t in threads:
        t.join(30)

    # Each answer the right way.
    for line in lines:
        _, _, _, _, how, name, qtype, rcode, data, ede = line.split(" ", 9)
        want_rcode, want_ede = expect(name, how == "edns")
        if rcode != want_rcode or ede != want_ede:
            problems.append("%s %s: %s %s, expected %s %s" % (name, qtype, rcode, ede, want_rcode, want_ede))
        elif rcode == "NOERROR" and data != ANSWER[1 if qtype == "A" else 28]:
            problems.append("%s %s: the answer is %s" % (name, qtype, data))
        elif rcode == "NXDOMAIN" and data != "-":
            problems.append("%s %s: a blocked answer carries %s" % (name, qtype, data))
        if want_rcode == "NOERROR":
            upstream_once.append("%s %s" % (name, qtype))
        else:
            upstream_never.append(name)
    for family, name, qid, got in tcp_results:
        if qid is None:
            problems.append("TCP %s: %s" % (name, got))
            continue
        rid, qname, qtype, rcode, data, ede = got
        want_rcode, want_ede = expect(name, True)
        if rid != qid or qname.lower() != name:
            problems.append("TCP %s: the answer is for %s (id %d)" % (name, qname, rid))
        if rcode != want_rcode or ede != want_ede:
            problems.append("TCP %s: %s %s, expected %s %s" % (name, rcode, ede, want_rcode, want_ede))
        elif rcode == "NOERROR" and data != ANSWER[1]:
            problems.append("TCP %s: the answer is %s" % (name, data))
        lines.append("ANSWER %s tcp %s edns %s A %s %s %s" % (
            role, "v4" if family == socket.AF_INET else "v6", name, rcode, data, ede))
        if want_rcode == "NOERROR":
            upstream_once.append("%s A" % name)
        else:
            upstream_never.append(name)

    for line in sorted(lines):
        print(line)
    for entry in sorted(upstream_once):
        print("UPSTREAM-ONCE " + entry)
    for name in sorted(upstream_never):
        print("UPSTREAM-NEVER " + name)
    print("SUMMARY sent=%d answered=%d malformed=%d tcp=%d" % (
        sent, len([k for k in seen if pending[k][2] is not None]), len(bad), len(tcp_results)))
    for p in problems:
        print("PROBLEM " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print("burst.py: %s" % e, file=sys.stderr)
        sys.exit(2)
