#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""compose-driver: what a single-host user would run instead of an agent: Debian's docker-compose, scaling the
services of one compose file to the demand. It reads demand lines "APP=N [APP=N...]" from a FIFO (what
compare/drive.sh writes) and, for each, runs `docker-compose -p PROJECT -f FILE up -d --no-recreate --scale APP=N
...`. docker-compose runs one change at a time; a change that comes while one runs is merged into the next run
(the latest demand of each app wins), as a script that always scales to the current demand would.

On SIGTERM it finishes the running docker-compose, then writes the cost of every docker-compose process it ran to
--cost: "RSS_KIB CPU_SECONDS" (the largest peak resident set of one process, and user + system CPU seconds summed,
from getrusage(RUSAGE_CHILDREN)). Each docker-compose's output goes to stderr."""

import argparse
import os
import resource
import signal
import subprocess
import sys
import threading
import time


def log(msg):
    sys.stderr.write("compose-driver: %s\n" % msg)
    sys.stderr.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--project", required=True)
    p.add_argument("--file", required=True, help="the compose file")
    p.add_argument("--demand-fifo", required=True)
    p.add_argument("--cost", required=True, help="where to write 'RSS_KIB CPU_SECONDS' at the end")
    p.add_argument("--compose", default="docker-compose")
    a = p.parse_args()

    pending = {}
    cond = threading.Condition()
    stopping = []

    def on_term(*_):
        with cond:
            stopping.append(True)
            cond.notify()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def reader():
        while True:
            with open(a.demand_fifo) as f:
                for line in f:
                    change = {}
                    for word in line.split():
                        app, _, n = word.partition("=")
                        if n.isdigit():
                            change[app] = int(n)
                        else:
                            log("ignored %r" % word)
                    with cond:
                        pending.update(change)
                        cond.notify()

    threading.Thread(target=reader, daemon=True).start()
    runs = 0
    log("ready")
    while True:
        with cond:
            while not pending and not stopping:
                cond.wait(0.5)
            if stopping:
                break
            change = dict(pending)
            pending.clear()
        cmd = [a.compose, "-p", a.project, "-f", a.file, "--ansi", "never", "up", "-d", "--no-recreate"]
        for app, n in sorted(change.items()):
            cmd += ["--scale", "%s=%d" % (app, n)]
        t0 = time.monotonic()
        rc = subprocess.call(cmd, stdout=sys.stderr, stderr=sys.stderr)
        runs += 1
        log("%s took %.2f s, exit %d" % (" ".join("%s=%d" % kv for kv in sorted(change.items())),
                                         time.monotonic() - t0, rc))
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(a.cost + ".tmp", "w") as f:
        f.write("%d %.3f\n" % (ru.ru_maxrss, ru.ru_utime + ru.ru_stime))
    os.rename(a.cost + ".tmp", a.cost)
    log("%d docker-compose runs" % runs)


if __name__ == "__main__":
    main()
