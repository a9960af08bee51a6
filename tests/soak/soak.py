#!/usr/bin/python3
"""soak.py - the chaos/soak run behind tests/soak/soak.sh (which starts the
private stack and the fakes through tests/with-stack and runs this inside).

Signs up USERS users, then CLIENTS threads send mixed traffic for SECONDS:
uploads to every upload service in png/jpeg/webp (now and then a file that
passes the header checks but does not decode), prompts (LOCAL_GENERATOR=1),
status polls, deletes, balance reads and credit purchases through the signed
Stripe webhook (sometimes replayed). Meanwhile a killer sends SIGKILL every
~KILL_INTERVAL seconds to a random FastCGI worker or to ia-batch of this
stack (found by pid: the program's path in this build and IA_STATE_DIR in
its environment), and starts ia-batch again when nothing else has done so
within a few seconds (the stack may or may not supervise it).

Then it waits for the queue to drain and checks, against the database and
the API: for every user the balance equals the sum of their ledger rows and
the API's balance; no image is charged (or refunded) twice; every failed
job with a cost is refunded exactly once; no job is left pending or
processing; no temp file is left behind (media tmp/ia-upload-*, *.tmp);
every done job's file exists. Ends with one line

  soak: 300 s, 3638 jobs, 14 kills, 0 ledger mismatches, 0 double charges,
        0 missing refunds, 0 stuck, 0 orphans, 0 missing files

(on one line) and exits 1 on any violation.

Settings (environment): SOAK_SECONDS (300), SOAK_CLIENTS (16), SOAK_USERS
(40), SOAK_KILL_INTERVAL (20), SOAK_DRAIN_TIMEOUT (420: a job whose
ia-batch was killed waits out its lease), SOAK_THINK_MS (50: mean pause
between a client's requests), SOAK_QUEUE_MAX (100: clients stop submitting
while more jobs than this are pending), SOAK_SEED.
"""
import hashlib
import hmac
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import iatest  # noqa: E402  (the API tests' request helpers)
from PIL import Image  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "300"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "16"))
USERS = int(os.environ.get("SOAK_USERS", "40"))
KILL_INTERVAL = float(os.environ.get("SOAK_KILL_INTERVAL", "20"))
DRAIN_TIMEOUT = int(os.environ.get("SOAK_DRAIN_TIMEOUT", "420"))
THINK_MS = float(os.environ.get("SOAK_THINK_MS", "50"))
QUEUE_MAX = int(os.environ.get("SOAK_QUEUE_MAX", "100"))
STATE = os.environ["IA_STATE_DIR"]
BUILD = os.path.realpath(os.environ["IA_BUILD_DIR"])
MEDIA = os.environ.get("MEDIA_ROOT", os.path.join(STATE, "media"))
DB_PATH = os.environ.get("DB_PATH", os.path.join(STATE, "ia.sqlite3"))
RUN_DIR = os.path.join(STATE, "run")
WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")

SERVICES = [  # slug, fields, formats
    ("greyscale", {}, ["png", "jpeg", "webp"]),
    ("thumbnail", {"max_width": "32", "max_height": "32"}, ["png", "jpeg", "webp"]),
    ("resize", {"width": "40", "height": "30"}, ["png", "jpeg", "webp"]),
    ("outline", {}, ["png", "jpeg"]),
    ("avatar", {}, ["png", "webp"]),
    ("remove-background", {}, ["png", "webp"]),
    ("cropping", {"x": "2", "y": "2", "width": "20", "height": "16"}, ["png", "jpeg"]),
    ("enhancement", {"scale": "2"}, ["png", "jpeg"]),
]
PROMPTS = ["a lighthouse at dusk", "a red bicycle", "mountains in fog", "a cat, ink drawing"]


def make_images():
    im = Image.new("RGB", (64, 48))
    for x in range(64):
        for y in range(48):
            im.putpixel((x, y), (x * 4, y * 5, (x + y) * 2 % 256))
    out = {}
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")):
        b = io.BytesIO()
        im.save(b, fmt)
        out[ext] = b.getvalue()
    # Headers intact, pixels cut off: passes the probe, fails to decode.
    out["bad.png"] = out["png"][:len(out["png"]) // 2]
    return out


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.jobs = 0
        self.requests = 0
        self.by_status = {}
        self.kills = {"worker": 0, "ia-batch": 0}
        self.batch_restarts = 0
        self.purchases = 0

    def count(self, r):
        with self.lock:
            self.requests += 1
            key = r.status if r is not None else "conn"
            self.by_status[key] = self.by_status.get(key, 0) + 1


STATS = Stats()
STOP = threading.Event()
QUEUE_FULL = threading.Event()  # backpressure: no new jobs while set


def req(*a, **kw):
    """iatest.request, counting the answer; None when the connection failed
    (a worker killed mid-request)."""
    try:
        r = iatest.request(*a, **kw)
    except (OSError, iatest.http.client.HTTPException):
        r = None
    STATS.count(r)
    return r


class User:
    def __init__(self, email, access, uid):
        self.email = email
        self.access = access
        self.id = uid
        self.images = []
        self.lock = threading.Lock()


def signup(i):
    email = "soak-%d-%s@example.com" % (i, uuid.uuid4().hex[:8])
    password = "soak password %d" % i
    for _ in range(20):
        r = req("POST", "/api/v1/users/signup/", {"email": email, "password": password})
        if r is not None and r.status in (201, 400):
            break
        time.sleep(0.5)
    for _ in range(20):
        r = req("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        if r is not None and r.status == 200:
            access = r.json["access"]
            info = req("GET", "/api/v1/user/info/", token=access)
            if info is not None and info.status == 200:
                return User(email, access, info.json["id"])
        time.sleep(0.5)
    raise SystemExit("soak: could not sign up %s" % email)


def purchase(user, replay_of=None):
    body = replay_of or json.dumps({
        "id": "evt_" + uuid.uuid4().hex, "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_" + uuid.uuid4().hex, "object": "payment_intent",
                            "amount_received": 1000, "currency": "usd",
                            "metadata": {"user_id": str(user.id)}}}}).encode()
    t = int(time.time())
    sig = hmac.new(WEBHOOK_SECRET.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    r = req("POST", "/api/v1/stripe/webhook/", raw=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": "t=%d,v1=%s" % (t, sig)})
    if r is not None and r.status == 200:
        with STATS.lock:
            STATS.purchases += 1
    return body


def client(users, images, seed):
    rnd = random.Random(seed)
    bodies = []
    while not STOP.is_set():
        time.sleep(rnd.uniform(0, 2 * THINK_MS) / 1000.0)
        u = rnd.choice(users)
        op = rnd.random()
        if op < 0.50 and QUEUE_FULL.is_set():
            op = 0.5 + op / 2  # the queue is long: poll, delete, buy or read instead
        if op < 0.42:
            slug, fields, formats = rnd.choice(SERVICES)
            fields = dict(fields, format=rnd.choice(formats))
            ext = rnd.choice(["png", "jpg", "webp"])
            data = images[ext]
            if rnd.random() < 0.05:
                ext, data = "png", images["bad.png"]
            r = req_upload(slug, data, "photo." + ext, fields, u.access)
            if r is not None and r.status == 202:
                with STATS.lock:
                    STATS.jobs += 1
                with u.lock:
                    u.images.append(r.json["image_id"])
        elif op < 0.50:
            r = req("POST", "/api/v1/create/image/from/prompt/",
                    {"prompt": rnd.choice(PROMPTS), "aspect_ratio": "1:1"}, token=u.access)
            if r is not None and r.status == 202:
                with STATS.lock:
                    STATS.jobs += 1
                with u.lock:
                    u.images.append(r.json["image_id"])
        elif op < 0.75:
            with u.lock:
                ids = list(u.images[-10:])
            if ids:
                req("GET", "/api/v1/image/status/%d/" % rnd.choice(ids), token=u.access)
        elif op < 0.78:
            with u.lock:
                ids = list(u.images)
            if ids:
                victim = rnd.choice(ids)
                r = req("DELETE", "/api/v1/images/%d/" % victim, token=u.access)
                if r is not None and r.status in (204, 404):
                    with u.lock:
                        if victim in u.images:
                            u.images.remove(victim)
        elif op < 0.83:
            if bodies and rnd.random() < 0.3:
                purchase(u, rnd.choice(bodies))  # a replay: must grant nothing
            else:
                bodies.append(purchase(u))
                bodies = bodies[-20:]
        elif op < 0.97:
            req("GET", "/api/v1/user/info/", token=u.access)
        else:
            req("GET", "/api/v1/user/images/?page=1&page_size=10", token=u.access)


def req_upload(slug, data, filename, fields, token):
    ctype, body = iatest.multipart(fields, {"image": (filename, data)})
    return req("POST", "/api/v1/process/%s/" % slug, raw=body, content_type=ctype, token=token)


# ---- processes of this stack -------------------------------------------------

def our_processes():
    """{pid: (exe, ppid)} of the programs of this build serving this state dir."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
            if not exe.startswith(BUILD + "/"):
                continue
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
            if ("IA_STATE_DIR=" + STATE).encode() not in env:
                continue
            with open("/proc/%d/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            out[pid] = (exe, ppid)
        except (OSError, ValueError, IndexError):
            continue
    return out


def batch_pids(procs):
    return [p for p, (exe, _) in procs.items() if exe.endswith("/bin/ia-batch")]


def worker_pids(procs):
    """FastCGI workers: a cgi-bin program whose parent is the same program."""
    return [p for p, (exe, ppid) in procs.items()
            if "/cgi-bin/" in exe and procs.get(ppid, ("",))[0] == exe]


def start_batch():
    log = open(os.path.join(STATE, "log", "batch.log"), "ab")
    p = subprocess.Popen([os.path.join(BUILD, "bin", "ia-batch"), "--watch"], stdout=log,
                         stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    # ./stack stop (run by with-stack at the end) stops every pid file in run/.
    with open(os.path.join(RUN_DIR, "soak-batch.pid"), "a") as f:
        f.write("%d\n" % p.pid)
    with STATS.lock:
        STATS.batch_restarts += 1


def ensure_batch(grace=3.0):
    """Start ia-batch when none of ours has been running for grace seconds."""
    deadline = time.time() + grace
    while time.time() < deadline:
        if batch_pids(our_processes()):
            return
        time.sleep(0.2)
    start_batch()


def killer(seed):
    rnd = random.Random(seed)
    while not STOP.wait(KILL_INTERVAL * rnd.uniform(0.75, 1.25)):
        procs = our_processes()
        batch, workers = batch_pids(procs), worker_pids(procs)
        if batch and (not workers or rnd.random() < 0.5):
            kind, pid = "ia-batch", rnd.choice(batch)
        elif workers:
            # Mostly ia-images workers: they are the ones caught mid-upload.
            images = [p for p in workers if procs[p][0].endswith("/ia-images")]
            kind = "worker"
            pid = rnd.choice(images if images and rnd.random() < 0.7 else workers)
        else:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        with STATS.lock:
            STATS.kills[kind] += 1
        print("soak: %s kill -9 %s %d (%s)" % (time.strftime("%H:%M:%S"), kind, pid,
                                                os.path.basename(procs[pid][0])), flush=True)
        if kind == "ia-batch":
            ensure_batch()


# ---- the checks ----------------------------------------------------------------

def db():
    c = sqlite3.connect(DB_PATH, timeout=30)
    c.execute("PRAGMA busy_timeout = 30000")
    return c


def queue_watch():
    """Keep at most about QUEUE_MAX jobs waiting, so that the run measures
    kills and recovery rather than an ever-growing backlog."""
    while not STOP.wait(1.0):
        try:
            with db() as c:
                n = c.execute("SELECT count(*) FROM images WHERE status = 'pending'").fetchone()[0]
        except sqlite3.Error:
            continue
        if n > QUEUE_MAX:
            QUEUE_FULL.set()
        else:
            QUEUE_FULL.clear()


def drain():
    start = time.time()
    while time.time() - start < DRAIN_TIMEOUT:
        ensure_batch(grace=1.0)
        with db() as c:
            left = c.execute("SELECT count(*) FROM images WHERE status IN "
                             "('pending', 'processing')").fetchone()[0]
        if left == 0:
            return time.time() - start
        time.sleep(1)
    return None


def check(users):
    v = {}
    c = db()
    v["ledger mismatches"] = c.execute(
        "SELECT count(*) FROM users u WHERE credits <> (SELECT coalesce(sum(delta), 0) "
        "FROM credit_ledger WHERE user_id = u.id)").fetchone()[0]
    api_mismatch = 0
    for u in users:
        r = req("GET", "/api/v1/user/info/", token=u.access)
        dbc = c.execute("SELECT credits FROM users WHERE id = ?", (u.id,)).fetchone()[0]
        if r is None or r.status != 200 or r.json["credits"] != dbc:
            api_mismatch += 1
    v["ledger mismatches"] += api_mismatch
    v["double charges"] = c.execute(
        "SELECT count(*) FROM (SELECT image_id FROM credit_ledger WHERE reason IN "
        "('charge', 'refund') GROUP BY image_id, reason HAVING count(*) > 1)").fetchone()[0]
    v["double charges"] += c.execute(
        "SELECT count(*) FROM (SELECT ref FROM credit_ledger WHERE reason = 'purchase' "
        "GROUP BY ref HAVING count(*) > 1)").fetchone()[0]
    v["missing refunds"] = c.execute(
        "SELECT count(*) FROM images i WHERE status = 'failed' AND cost > 0 AND "
        "(SELECT count(*) FROM credit_ledger WHERE image_id = i.id AND reason = 'refund') "
        "<> 1").fetchone()[0]
    v["stuck"] = c.execute(
        "SELECT count(*) FROM images WHERE status IN ('pending', 'processing')").fetchone()[0]
    orphans = []
    for root, _dirs, files in os.walk(MEDIA):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), MEDIA)
            if rel.startswith("tmp/") or f.endswith(".tmp"):
                orphans.append(rel)
    v["orphans"] = len(orphans)
    missing = 0
    for (key,) in c.execute("SELECT image_key FROM images WHERE status = 'done'"):
        if not key or not os.path.isfile(os.path.join(MEDIA, key)):
            missing += 1
    v["missing files"] = missing
    failed = c.execute("SELECT count(*) FROM images WHERE status = 'failed'").fetchone()[0]
    done = c.execute("SELECT count(*) FROM images WHERE status = 'done'").fetchone()[0]
    c.close()
    return v, orphans, done, failed


def main():
    seed = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
    print("soak: %d s, %d clients, %d users, a kill every ~%g s, seed %d, stack at %s"
          % (SECONDS, CLIENTS, USERS, KILL_INTERVAL, seed, iatest.BASE_URL), flush=True)
    images = make_images()
    users = [signup(i) for i in range(USERS)]
    t0 = time.time()
    threads = [threading.Thread(target=client, args=(users, images, seed + i), daemon=True)
               for i in range(CLIENTS)]
    threads.append(threading.Thread(target=killer, args=(seed,), daemon=True))
    threads.append(threading.Thread(target=queue_watch, daemon=True))
    for t in threads:
        t.start()
    while True:
        left = SECONDS - (time.time() - t0)
        if left <= 0:
            break
        time.sleep(min(30, left))
        with STATS.lock:
            print("soak: %3d s, %d requests, %d jobs, kills %s" % (
                time.time() - t0, STATS.requests, STATS.jobs, STATS.kills), flush=True)
    STOP.set()
    for t in threads:
        t.join(timeout=120)
    ran = time.time() - t0
    drained = drain()
    v, orphans, done, failed = check(users)
    kills = sum(STATS.kills.values())
    print("soak: %d requests %s; %d purchases; %d done, %d failed; %d ia-batch restarts by soak; "
          "queue drained in %s" % (STATS.requests, dict(sorted(STATS.by_status.items(), key=str)),
                                   STATS.purchases, done, failed, STATS.batch_restarts,
                                   "%.0f s" % drained if drained is not None else "NOT drained"))
    for o in orphans[:20]:
        print("soak: orphan %s" % o)
    print("soak: %d s, %d jobs, %d kills (%d workers, %d ia-batch), %d ledger mismatches, "
          "%d double charges, %d missing refunds, %d stuck, %d orphans, %d missing files"
          % (ran, STATS.jobs, kills, STATS.kills["worker"], STATS.kills["ia-batch"],
             v["ledger mismatches"], v["double charges"], v["missing refunds"], v["stuck"],
             v["orphans"], v["missing files"]))
    return 1 if any(v.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
