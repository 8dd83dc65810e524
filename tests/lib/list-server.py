#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# list-server.py — a publisher of block lists for the tests, over HTTPS.
#
#   list-server.py --root DIR --cert CERT [--other-cert CERT] --key KEY
#                  --address ADDR --port PORT --log FILE
#
# Serves the files of DIR with an ETag (of the file's content) and a
# Last-Modified date, and answers a matching If-None-Match with 304.  A
# file may be replaced while the server runs: the next request sees the
# new one.  Some paths are made up rather than stored:
#
#   /status/CODE        an empty answer with that status (500, 404, ...)
#   /stream/BYTES       BYTES of list-like lines, made as they are sent
#                       (a "1 GB list" costs no disk), Content-Length given
#   /slow/SECONDS       a list that sends one line every SECONDS
#
# A stored file's answer can be changed without changing its URL: beside
# FILE, FILE.status holds a status to answer with instead (500), and
# FILE.stream a number of bytes to stream instead.  SIGUSR1 switches
# between --cert and --other-cert (an expired one, say) for the
# connections that come after.
#
# Each request is logged to FILE, one line: "METHOD PATH if-none-match=...".
# "ready" is printed on stdout once it listens.  It stops on SIGTERM.
import argparse
import hashlib
import http.server
import os
import signal
import socketserver
import ssl
import sys
import time
from email.utils import formatdate


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log_request_line(self):
        with open(self.server.log_path, "a") as log:
            log.write("%s %s if-none-match=%s\n" % (
                self.command, self.path, self.headers.get("If-None-Match", "-")))

    def send_body(self, status, body, content_type="text/plain", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def stream(self, total):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        block = b"".join(b"stream-%08d.example\n" % i for i in range(4096))
        sent = 0
        try:
            while sent < total:
                chunk = block[: total - sent]
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def slow(self, seconds):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            for i in range(100000):
                self.wfile.write(b"slow-%d.example\n" % i)
                self.wfile.flush()
                time.sleep(seconds)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log_request_line()
        path = self.path.split("?", 1)[0]
        if path.startswith("/status/"):
            self.send_body(int(path[len("/status/"):]), b"")
            return
        if path.startswith("/stream/"):
            self.stream(int(path[len("/stream/"):]))
            return
        if path.startswith("/slow/"):
            self.slow(float(path[len("/slow/"):]))
            return
        name = os.path.normpath(path).lstrip("/")
        if name.startswith(".."):
            self.send_body(404, b"not here\n")
            return
        file_path = os.path.join(self.server.root, name)
        if os.path.isfile(file_path + ".status"):
            with open(file_path + ".status") as f:
                self.send_body(int(f.read().strip()), b"")
            return
        if os.path.isfile(file_path + ".stream"):
            with open(file_path + ".stream") as f:
                self.stream(int(f.read().strip()))
            return
        if not os.path.isfile(file_path):
            self.send_body(404, b"not here\n")
            return
        with open(file_path, "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        mtime = formatdate(os.stat(file_path).st_mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        content_type = "text/html" if name.endswith(".html") else "application/octet-stream"
        self.send_body(200, body, content_type, {"ETag": etag, "Last-Modified": mtime})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--other-cert")
    parser.add_argument("--key", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    server = Server((args.address, args.port), Handler)
    server.root = os.path.abspath(args.root)
    server.log_path = args.log
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    certs = [args.cert, args.other_cert or args.cert]

    def switch(*_):
        certs.reverse()
        context.load_cert_chain(certs[0], args.key)

    server.socket = context.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGUSR1, switch)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
