#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The queue demo's producer: pushes jobs onto a Redis list at a rate that follows the Force12 demo's random walk
(every 3 s the level moves by up to 3 within 0..9; the rate is LEVEL * PER_LEVEL jobs a second). Speaks the Redis
protocol over a plain socket (no client library). Writes its level and rate to STATEFILE each step.
Usage: producer.py PORT KEY PER_LEVEL STATEFILE [SEED]"""
import os
import random
import socket
import sys
import time


def command(sock, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return sock.recv(4096)  # ":N\r\n" for LPUSH: one short line


def main():
    port, key, per_level, statefile = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
    rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] else None)
    sock = socket.create_connection(("127.0.0.1", port))
    level, owed, n = 3, 0.0, 0
    next_step = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_step:
            if n:  # the first step starts at the initial level
                level = min(9, max(0, level + rng.randint(-3, 3)))
            n = n or 1
            next_step = now + 3
            with open(statefile + ".tmp", "w") as f:
                f.write("%d %g\n" % (level, level * per_level))
            os.replace(statefile + ".tmp", statefile)
        owed += level * per_level * 0.1
        while owed >= 1:
            n += 1
            command(sock, "LPUSH", key, "job-%d" % n)
            owed -= 1
        time.sleep(0.1)


if __name__ == "__main__":
    main()
