#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ask one name again and again, and say how long each answer took.

dns-probe.py [--interval-ms MS] [--timeout S] [--seconds S] [--until FILE]
             [--expect noerror|nxdomain] [--samples FILE] SERVER NAME

Sends an A query for NAME (UDP, EDNS, a new socket each time, as a stub
resolver would) every MS milliseconds (default 20), waiting up to S seconds
(default 2) for each answer, until SECONDS have passed (default 10) or FILE
exists, whichever comes first.  Then prints one line:

    sent=N answered=N failed=N timeouts=N wrong=N p50_ms=X p99_ms=X max_ms=X

An answer is "wrong" when its rcode is not the expected one (default
NOERROR, with at least one A record); "failed" is timeouts + wrong.  The
latencies (p50, p99, max) are over every query sent, a timeout counting
as S.  --samples FILE writes each latency in milliseconds, one a line, as
it is measured (a test waits on the file to know the probe is under way).
"""
import argparse
import os
import random
import socket
import struct
import sys
import time


def build_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    q += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return q


def answer_count_and_rcode(msg):
    _, flags, _, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    return flags & 0xF, an


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval-ms", type=float, default=20.0)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--until")
    ap.add_argument("--expect", choices=("noerror", "nxdomain"), default="noerror")
    ap.add_argument("--samples")
    ap.add_argument("server")
    ap.add_argument("name")
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    latencies = []
    samples = open(args.samples, "w") if args.samples else None
    sent = answered = timeouts = wrong = 0
    end = time.monotonic() + args.seconds
    next_send = time.monotonic()
    while time.monotonic() < end and not (args.until and os.path.exists(args.until)):
        now = time.monotonic()
        if now < next_send:
            time.sleep(next_send - now)
        next_send += args.interval_ms / 1000.0
        qid = random.randrange(65536)
        s = socket.socket(family, socket.SOCK_DGRAM)
        sent += 1
        t0 = time.monotonic()
        try:
            s.settimeout(args.timeout)
            s.sendto(build_query(qid, args.name), (args.server, 53))
            while True:
                left = args.timeout - (time.monotonic() - t0)
                if left <= 0:
                    raise socket.timeout()
                s.settimeout(left)
                msg, _ = s.recvfrom(65535)
                if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid:
                    break
            latencies.append((time.monotonic() - t0) * 1000.0)
            answered += 1
            rcode, an = answer_count_and_rcode(msg)
            if args.expect == "noerror" and not (rcode == 0 and an > 0):
                wrong += 1
            elif args.expect == "nxdomain" and rcode != 3:
                wrong += 1
        except socket.timeout:
            timeouts += 1
            latencies.append(args.timeout * 1000.0)
        finally:
            s.close()
        if samples:
            samples.write("%.3f\n" % latencies[-1])
            samples.flush()
        # A late start must not turn into a burst.
        if next_send < time.monotonic() - args.interval_ms / 1000.0:
            next_send = time.monotonic()

    if samples:
        samples.close()
    values = sorted(latencies)
    print("sent=%d answered=%d failed=%d timeouts=%d wrong=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f"
          % (sent, answered, timeouts + wrong, timeouts, wrong, percentile(values, 50),
             percentile(values, 99), values[-1] if values else 0.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
