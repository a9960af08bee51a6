#!/usr/bin/python3
"""reclaim_after_kill.py - issue 9 point 7: how long the job of an ia-batch
worker killed with SIGKILL mid-job stays stuck before another worker takes
it. Against a running stack started with IA_NO_BATCH=1 (this script runs
the ia-batch processes), with IA_STATE_DIR/DB_PATH in the environment:

    tests/bench/reclaim_after_kill.py BASE_URL BUILD_DIR same-host|other-host [RUNS]

same-host: the second worker runs on this host and sees the dead pid at
once (the liveness shortcut); other-host: it runs in its own UTS namespace
under another host name (needs root: unshare -u), so only the short lease
(15 s, renewed every 5 s while a job runs) can free the job.
"""
import io
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

base, build, mode = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
state = os.environ.get("IA_STATE_DIR", "var")
db_path = os.environ.get("DB_PATH", os.path.join(state, "ia.sqlite3"))
batch = os.path.join(build, "bin", "ia-batch")


def api(method, path, body=None, token=None, ctype="application/json"):
    req = urllib.request.Request(base + path, method=method, data=body)
    req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def row(image_id):
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return conn.execute("select status, attempts, worker from images where id = ?",
                            (image_id,)).fetchone()
    finally:
        conn.close()


def start_batch(other):
    cmd = [batch, "--watch"]
    if other:
        cmd = ["unshare", "-u", "sh", "-c", 'hostname reclaim-other-host && exec "$0" "$@"'] + cmd
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


email = "reclaim-%s@example.com" % uuid.uuid4().hex[:8]
cred = json.dumps({"email": email, "password": "benchmark-password"}).encode()
api("POST", "/api/v1/users/signup/", cred)
token = api("POST", "/api/v1/token/obtain/", cred)["access"]
subprocess.run([os.path.join(build, "bin", "iactl"), "credits", "grant", email, "100"], check=True,
               capture_output=True)
from PIL import Image  # noqa: E402
buf = io.BytesIO()
Image.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3)).save(buf, "JPEG", quality=80)
boundary = uuid.uuid4().hex
body = (("--%s\r\nContent-Disposition: form-data; name=\"scale\"\r\n\r\n4\r\n--%s\r\n"
         "Content-Disposition: form-data; name=\"image\"; filename=\"big.jpg\"\r\n\r\n")
        % (boundary, boundary)).encode() + buf.getvalue() + ("\r\n--%s--\r\n" % boundary).encode()
times = []
for _ in range(runs):
    image_id = api("POST", "/api/v1/process/enhancement/", body, token,
                   "multipart/form-data; boundary=" + boundary)["image_id"]
    victim = start_batch(False)
    while row(image_id)[0] != "processing":
        if victim.poll() is not None:
            sys.exit("ia-batch exited (%d): same environment as the stack? (DEV_MODE=1 or "
                     "SECRET_KEY)" % victim.returncode)
        time.sleep(0.01)
    time.sleep(1)
    rescuer = start_batch(mode == "other-host")
    time.sleep(0.5)
    victim.send_signal(signal.SIGKILL)
    t0 = time.time()
    victim.wait()
    dead = row(image_id)[2]
    while True:
        status, attempts, worker = row(image_id)
        if worker != dead or status in ("done", "failed"):
            break
        time.sleep(0.01)
    took = time.time() - t0
    times.append(took)
    while row(image_id)[0] not in ("done", "failed"):
        time.sleep(0.1)
    rescuer.send_signal(signal.SIGTERM)
    rescuer.wait()
    print("run: reclaimed after %.2f s by %s; job %s with %d attempts"
          % (took, worker, row(image_id)[0], row(image_id)[1]), flush=True)
print("%s: reclaim after kill -9, median of %d: %.2f s (max %.2f s)"
      % (mode, runs, statistics.median(times), max(times)))
