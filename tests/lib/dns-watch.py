#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""dns-watch.py — ask one name at a steady pace and write down each answer.

    dns-watch.py [--interval-ms MS] [--timeout S] [--tries N]
                 [--expect noerror|nxdomain] --until FILE --out FILE SERVER NAME

Every MS milliseconds (default 20) an A query for NAME (UDP, EDNS, a socket
of its own, as a stub resolver would) goes to SERVER; each waits up to S
seconds (default 1) in a thread of its own, so a query that gets no answer
does not hold the next one back.  With --tries N (default 1) a lookup not
answered in time is asked again, up to N times in all, with a new id on the
same socket, as glibc's stub resolver does (resolv.conf's "attempts").  It stops when FILE exists, waits for the
queries still out, and writes --out, one line a query in the order sent:

    SENT_MS RESULT LATENCY_MS [RCODE/ANSWERS]

SENT_MS is CLOCK_BOOTTIME in milliseconds (what /proc/uptime counts, so a
shell can compare it with its own clock), RESULT "ok" (the expected rcode,
with an A record for noerror), "wrong" (another answer) or "none" (no
answer in time, after every try).  Then it prints one line:

    sent=N ok=N wrong=N none=N retried=N p50_ms=X p99_ms=X max_ms=X

retried: the lookups that needed more than one try (answered or not).
Standard library only: the tests run it as a child's or a parent's account.
"""
import argparse
import os
import random
import socket
import struct
import sys
import threading
import time


def now_ms():
    return time.clock_gettime(time.CLOCK_BOOTTIME) * 1000.0


def build_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    q += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return q


def one(server, family, name, timeout, tries, expect, slot, results):
    sent = now_ms()
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    result, latency, detail, tried = "none", timeout * tries * 1000.0, "", 0
    try:
        while result == "none" and tried < tries:
            tried += 1
            qid = random.randrange(65536)
            s.sendto(build_query(qid, name), (server, 53))
            try:
                while True:
                    data, _ = s.recvfrom(4096)
                    if len(data) < 12 or struct.unpack("!H", data[:2])[0] != qid:
                        continue
                    latency = now_ms() - sent
                    flags, an = struct.unpack("!H", data[2:4])[0], struct.unpack("!H", data[6:8])[0]
                    rcode = flags & 0xF
                    detail = " %d/%d" % (rcode, an)
                    if expect == "noerror":
                        result = "ok" if rcode == 0 and an > 0 else "wrong"
                    else:
                        result = "ok" if rcode == 3 else "wrong"
                    break
            except socket.timeout:
                pass
    except OSError:
        result = "none"
    finally:
        s.close()
    results[slot] = (sent, result, latency, detail, tried)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--interval-ms", type=float, default=20.0)
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--tries", type=int, default=1)
    p.add_argument("--expect", choices=("noerror", "nxdomain"), default="noerror")
    p.add_argument("--until", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("server")
    p.add_argument("name")
    a = p.parse_args()
    family = socket.AF_INET6 if ":" in a.server else socket.AF_INET
    results, threads = [], []
    next_at = now_ms()
    while not os.path.exists(a.until):
        results.append(None)
        t = threading.Thread(target=one, args=(a.server, family, a.name, a.timeout, max(1, a.tries), a.expect,
                                                len(results) - 1, results))
        t.start()
        threads.append(t)
        threads = [x for x in threads if x.is_alive()]
        next_at += a.interval_ms
        delay = (next_at - now_ms()) / 1000.0
        if delay > 0:
            time.sleep(delay)
    for t in threads:
        t.join()
    with open(a.out, "w") as f:
        for sent, result, latency, detail, _ in results:
            f.write("%.1f %s %.2f%s\n" % (sent, result, latency, detail))
    lat = sorted(r[2] for r in results) or [0.0]
    count = {k: sum(1 for r in results if r[1] == k) for k in ("ok", "wrong", "none")}
    retried = sum(1 for r in results if r[4] > 1)
    print("sent=%d ok=%d wrong=%d none=%d retried=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f" % (
        len(results), count["ok"], count["wrong"], count["none"], retried,
        lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], lat[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
