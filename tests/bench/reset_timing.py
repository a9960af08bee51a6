#!/usr/bin/env python3
"""reset_timing.py - does POST /api/v1/users/change/password/ take the same
time for an existing account and an unknown address? (API.md: no account
enumeration, by body, status or time; issue 9 point 2.)

Against a running stack with throttling off:

    IA_PORT=18510 IA_STATE_DIR=$PWD/var RATE_LIMIT_PER_MINUTE=0 ./stack start
    tests/bench/reset_timing.py http://127.0.0.1:18510 [N]

Signs up one account, then sends N (200) requests for it and N for a fresh
unknown address, interleaved (so drift hits both alike), each on a new
connection as a browser's first request would, and prints the medians,
the 90th percentiles and the difference of the medians. Exits 1 when a
reply differs (status or body) between the two.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse
import uuid

PATH = "/api/v1/users/change/password/"


def post(url, path, body):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    data = json.dumps(body).encode()
    start = time.perf_counter()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    payload = r.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return r.status, payload, elapsed


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    url = urllib.parse.urlsplit(base)
    existing = "reset-timing-%s@example.com" % uuid.uuid4().hex[:10]
    unknown = "nobody-%s@example.com" % uuid.uuid4().hex[:10]
    status, payload, _ = post(url, "/api/v1/users/signup/",
                              {"email": existing, "password": "reset timing password"})
    if status != 201:
        sys.exit("signup failed: %d %r" % (status, payload))
    times = {existing: [], unknown: []}
    replies = {existing: set(), unknown: set()}
    for _ in range(10):  # warm-up: connections, caches, the worker processes
        post(url, PATH, {"email": existing})
        post(url, PATH, {"email": unknown})
    for i in range(n):
        order = (existing, unknown) if i % 2 == 0 else (unknown, existing)
        for email in order:
            status, payload, elapsed = post(url, PATH, {"email": email})
            times[email].append(elapsed * 1000)
            replies[email].add((status, payload))
    for label, email in (("existing", existing), ("unknown", unknown)):
        t = sorted(times[email])
        print("%-8s n=%d median %.3f ms  p90 %.3f ms  replies %s" %
              (label, len(t), statistics.median(t), t[int(len(t) * 0.9)],
               sorted(replies[email])))
    diff = statistics.median(times[existing]) - statistics.median(times[unknown])
    print("median difference (existing - unknown): %+.3f ms" % diff)
    if replies[existing] != replies[unknown] or len(replies[existing]) != 1:
        print("replies differ", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
