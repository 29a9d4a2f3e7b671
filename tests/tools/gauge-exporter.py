#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test helpers for metric scaling, in one small threaded HTTP server with two roles.

exporter PORTFILE: a Prometheus exporter whose gauge the test drives. GET /metrics answers
  force12_test_queue_depth{job_queue="a"} VALUE  (and a second series with --series 2, none with --series 0).
  POST /set with a body "VALUE" (a number, NaN, +Inf), "series=N", or "flap=LOW,HIGH,PERIOD" (the value alternates
  between LOW and HIGH every PERIOD seconds of wall time; "flap=" stops it).
proxy PORTFILE UPSTREAM: forwards GET requests to UPSTREAM (Prometheus) and, as asked by POST /_fault with a body
  "pass", "status=CODE" (answer CODE with a small body) or "slow=SECONDS" (wait, then forward), misbehaves.
  GET /_stats answers {"requests": N} (requests forwarded or refused, not counting /_ paths).
Both bind 127.0.0.1 on a free port and write it to PORTFILE once they listen."""
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

LOCK = threading.Lock()
STATE = {"value": "0", "series": 1, "flap": None, "fault": "pass", "requests": 0}


def gauge_value():
    flap = STATE["flap"]
    if flap:
        low, high, period = flap
        return high if int(time.time() / period) % 2 else low
    return STATE["value"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def send(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode().strip()
        with LOCK:
            if self.path == "/set" and body.startswith("series="):
                STATE["series"] = int(body[7:])
            elif self.path == "/set" and body.startswith("flap="):
                parts = body[5:].split(",")
                STATE["flap"] = (parts[0], parts[1], float(parts[2])) if len(parts) == 3 else None
            elif self.path == "/set":
                float(body)  # refuse what Prometheus would not parse
                STATE["value"], STATE["flap"] = body, None
            elif self.path == "/_fault":
                STATE["fault"] = body
            else:
                self.send(404, b"no such control\n")
                return
        self.send(200, b"ok\n")

    def do_GET(self):
        if self.server.role == "exporter":
            self.exporter()
        else:
            self.proxy()

    def exporter(self):
        if self.path != "/metrics":
            self.send(404, b"only /metrics\n")
            return
        with LOCK:
            v, n = gauge_value(), STATE["series"]
        lines = ["# HELP force12_test_queue_depth A gauge the test sets.",
                 "# TYPE force12_test_queue_depth gauge"]
        lines += ['force12_test_queue_depth{job_queue="%s"} %s' % ("ab"[i], v) for i in range(n)]
        self.send(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")

    def proxy(self):
        if self.path == "/_stats":
            with LOCK:
                self.send(200, json.dumps({"requests": STATE["requests"]}).encode(), "application/json")
            return
        with LOCK:
            STATE["requests"] += 1
            fault = STATE["fault"]
        if fault.startswith("status="):
            code = int(fault[7:])
            self.send(code, b"<html>proxy says %d</html>\n" % code, "text/html")
            return
        if fault.startswith("slow="):
            time.sleep(float(fault[5:]))
        try:
            with urllib.request.urlopen(self.server.upstream + self.path, timeout=30) as r:
                self.send(r.status, r.read(), r.headers.get("Content-Type", "application/json"))
        except urllib.error.HTTPError as e:
            self.send(e.code, e.read(), "application/json")
        except (OSError, ValueError):
            self.send(502, b"upstream unreachable\n")


def main():
    role, portfile = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.role = role
    server.upstream = sys.argv[3].rstrip("/") if role == "proxy" else None
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
