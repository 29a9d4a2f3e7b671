#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A tiny HTTP server for the tests of the http:// demand source: serves DIR/targets.json with a strong ETag (a hash
of the content) and answers 304 to a matching If-None-Match, which python3 -m http.server does not do. DIR/status,
when present, holds an HTTP status to answer instead (a failing server). GET /_stats answers the counts:
{"requests", "conditional", "not_modified"}. Usage: etag-server.py DIR PORTFILE (binds 127.0.0.1, a free port,
written to PORTFILE once it listens)."""
import hashlib
import http.server
import json
import os
import sys

STATS = {"requests": 0, "conditional": 0, "not_modified": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        root = self.server.root
        if self.path == "/_stats":
            self.send(200, json.dumps(STATS).encode(), [("Content-Type", "application/json")])
            return
        STATS["requests"] += 1
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            STATS["conditional"] += 1
        status_file = os.path.join(root, "status")
        if os.path.exists(status_file):
            with open(status_file) as f:
                self.send(int(f.read().strip()), b"server trouble\n")
            return
        if self.path != "/targets.json":
            self.send(404, b"not found\n")
            return
        try:
            with open(os.path.join(root, "targets.json"), "rb") as f:
                body = f.read()
        except FileNotFoundError:
            self.send(404, b"no targets\n")
            return
        etag = '"%s"' % hashlib.sha1(body).hexdigest()
        if inm == etag:
            STATS["not_modified"] += 1
            self.send(304, headers=[("ETag", etag)])
            return
        self.send(200, body, [("Content-Type", "application/json"), ("ETag", etag)])


def main():
    root, portfile = sys.argv[1], sys.argv[2]
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.root = root
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
