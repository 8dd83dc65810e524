#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Send DNS queries in a loop and count what came back.

query-loop.py SERVER SECONDS NAME...

Round-robins over the NAMEs (A queries with EDNS, UDP, one at a time, 2 s
timeout each) for SECONDS, then prints one line per name:

    NAME sent=N noerror=N nxdomain_ede17=N nxdomain_plain=N other=N timeout=N answers=A,B other_rcodes=R/N,...

noerror counts only NOERROR answers that hold at least one A record;
nxdomain_ede17 counts NXDOMAIN with an Extended DNS Error 17 (Filtered).
"""
import random
import socket
import struct
import sys
import time


def build_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    # OPT: root, type 41, payload 1232, no options
    q += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return q


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def parse(msg):
    """Returns (rcode, [A addresses], has_ede17)."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    addrs = []
    ede = False
    for i in range(an + ns + ar):
        off = skip_name(msg, off)
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if i < an and rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(rdata))
        if rtype == 41:
            o = 0
            while o + 4 <= len(rdata):
                code, olen = struct.unpack("!HH", rdata[o:o + 4])
                if code == 15 and olen >= 2 and struct.unpack("!H", rdata[o + 4:o + 6])[0] == 17:
                    ede = True
                o += 4 + olen
    return flags & 0xF, addrs, ede


def main():
    server, seconds, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    stats = {n: dict(sent=0, noerror=0, nxdomain_ede17=0, nxdomain_plain=0,
                     other=0, timeout=0, answers=set(), other_rcodes=set()) for n in names}
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        name = names[i % len(names)]
        i += 1
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(2.0)
        qid = random.randrange(65536)
        st = stats[name]
        st["sent"] += 1
        try:
            s.sendto(build_query(qid, name), (server, 53))
            while True:
                msg, _ = s.recvfrom(65535)
                if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid:
                    break
            rcode, addrs, ede = parse(msg)
            if rcode == 0 and addrs:
                st["noerror"] += 1
                st["answers"].update(addrs)
            elif rcode == 3 and ede:
                st["nxdomain_ede17"] += 1
            elif rcode == 3:
                st["nxdomain_plain"] += 1
            else:
                st["other"] += 1
                st["other_rcodes"].add("%d/%d" % (rcode, len(addrs)))
        except socket.timeout:
            st["timeout"] += 1
        finally:
            s.close()
    for n in names:
        st = stats[n]
        print("%s sent=%d noerror=%d nxdomain_ede17=%d nxdomain_plain=%d other=%d timeout=%d answers=%s other_rcodes=%s"
              % (n, st["sent"], st["noerror"], st["nxdomain_ede17"], st["nxdomain_plain"],
                 st["other"], st["timeout"], ",".join(sorted(st["answers"])) or "-",
                 ",".join(sorted(st["other_rcodes"])) or "-"))


if __name__ == "__main__":
    main()
