#!/usr/bin/env python3
"""notify_latency.py - how long a PostgreSQL notification takes from the
notifier's COMMIT returning until it can be read on a listener's socket:
the window in which another host's user cache can still answer from an
entry that a commit has just made stale (lib/db_pg.c, db_unchanged).

    tests/bench/notify_latency.py URI [N]     (python3-psycopg2; N = 500)
"""
import psycopg2, select, time, statistics, sys
url = sys.argv[1]
a = psycopg2.connect(url); a.autocommit = True
b = psycopg2.connect(url); b.autocommit = True
a.cursor().execute("LISTEN ia_bench")
cb = b.cursor()
lat = []
for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 500):
    cb.execute("NOTIFY ia_bench, 'x'")
    t0 = time.perf_counter()
    while True:
        if select.select([a], [], [], 1) == ([], [], []): raise SystemExit("lost")
        a.poll()
        if a.notifies:
            a.notifies.clear(); break
    lat.append(time.perf_counter() - t0)
lat.sort()
print("notify: commit returned -> on the listener's socket: p50 %.0f us, p99 %.0f us, max %.0f us (%d)" % (
    1e6*statistics.median(lat), 1e6*lat[int(0.99*len(lat))], 1e6*lat[-1], len(lat)))
