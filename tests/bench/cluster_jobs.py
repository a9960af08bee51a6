#!/usr/bin/python3
"""cluster_jobs.py - jobs per second: the cluster with two batch hosts, with
one, and a single-host stack, in one run.

    /usr/bin/python3 tests/bench/cluster_jobs.py [BUILD_DIR]    (run by hand, as root)
    N=60 MIX=40 USERS=4 CONC=4 ROUNDS=2 ...                     (the defaults)

Starts, from the same build, side by side:
  cluster   ./stack cluster start: PostgreSQL, the S3 gateway (radosgw), app1,
            app2, batch1, batch2 (each `ia-batch --watch`), the front nginx;
  single    IA_DB=postgres IA_MEDIA=s3 ./stack start: its own PostgreSQL,
            gateway, nginx + FastCGI and one `ia-batch --watch`.
All with RATE_LIMIT_PER_MINUTE=0, MAX_ACTIVE_JOBS_PER_USER=0, DEV_MODE=1, a
fixed SECRET_KEY. USERS users per stack (signed up through the API, credits
granted with iactl); jobs go to them in turn.

The inputs: N different ~0.8 MP photos, 1024x768 crops of the photo-like
image of make_bench_images.py, even ones JPEG q90, odd ones PNG. Two
workloads on those same images:
  grey  N greyscale jobs;
  mix   MIX jobs cycling outline, enhancement (scale 2), avatar, greyscale.
For each configuration
  A  cluster, batch1 + batch2        B  cluster, batch2 stopped (stop-host)
  C  single host
the jobs are POSTed as fast as CONC client threads can (each request on a
new connection, through the front for the cluster), and the run is timed
from the first POST until the last job is done: a thread polls the images
table every 10 ms (so a job's "done" is late by up to 10 ms). Reported:
jobs/s, p50/p90 of submit -> done per job (from sending its POST), the time
to get all the 202s, how many jobs each worker process took, the machine's
busy share of its cores during the run (/proc/stat: everything, other
sessions too) and the CPU seconds of the configuration's own processes by
kind (ia-batch, PostgreSQL, Ceph, nginx, FastCGI) and of this client.
Before every measurement 4 greyscale jobs warm it up (not counted). ROUNDS
rounds, the order reversed every other round (A B C, then C B A). A
measurement not done after TIMEOUT (120) seconds prints the jobs by state
and worker, the processes and the end of the batch logs, and ends the run.

Everything is stopped and removed at the end (also on Ctrl-C).
"""
import http.client
import io
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build"))
N = int(os.environ.get("N", "60"))
MIX = int(os.environ.get("MIX", "40"))
USERS = int(os.environ.get("USERS", "4"))
CONC = int(os.environ.get("CONC", "4"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
WARM = 4
TIMEOUT = int(os.environ.get("TIMEOUT", "120"))  # seconds for one measurement
SECRET = "bench-secret-key-0123456789abcdef"
PASSWORD = "benchmark-password"
MIX_SERVICES = [("outline", {}), ("enhancement", {"scale": "2"}), ("avatar", {}), ("greyscale", {})]
HZ = os.sysconf("SC_CLK_TCK")
_sources = itertools.count(1)

sys.path.insert(0, os.path.dirname(__file__))
import make_bench_images  # noqa: E402


def free_port(n=1):
    """A port p with p..p+n-1 free (the cluster uses IA_PORT, +1, +2)."""
    import socket
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p + n > 65535:
            continue
        ok = True
        for q in range(p + 1, p + n):
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", q))
            except OSError:
                ok = False
            t.close()
        if ok:
            return p


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def clean_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("PUBLIC_URL", "DATABASE_URL", "DB_PATH", "MEDIA_ROOT", "MEDIA_STORAGE",
                         "IA_ROLE", "IA_NO_BATCH", "IA_DB", "IA_MEDIA", "IA_CLUSTER_MEDIA")
            and not k.startswith("AWS_")}


class Stack:
    """A cluster (kind "cluster") or a single-host stack (kind "single")."""

    def __init__(self, kind):
        self.kind = kind
        self.state = tempfile.mkdtemp(prefix="ia-clbench-%s." % kind, dir="/tmp")
        os.chmod(self.state, 0o700)
        self.port = free_port(3 if kind == "cluster" else 1)
        self.base = "http://127.0.0.1:%d" % self.port
        self.env = clean_env()
        self.env.update(IA_STATE_DIR=self.state, IA_PORT=str(self.port), IA_BUILD_DIR=BUILD,
                        IA_SKIP_BUILD="1", RATE_LIMIT_PER_MINUTE="0", MAX_ACTIVE_JOBS_PER_USER="0",
                        DEV_MODE="1", SECRET_KEY=SECRET)
        if kind == "single":
            self.env.update(IA_DB="postgres", IA_MEDIA="s3")
        self.started = False
        self.tokens = []
        self.emails = []

    def stack(self, *args):
        cmd = [os.path.join(SRC, "stack")] + (["cluster"] if self.kind == "cluster" else []) + list(args)
        subprocess.run(cmd, env=self.env, check=True, stdout=subprocess.DEVNULL)

    def start(self):
        self.started = True
        self.stack("start")

    def stop(self):
        if self.started:
            try:
                self.stack("stop")
            except subprocess.CalledProcessError as e:
                print("stop %s: %s" % (self.kind, e))
        shutil.rmtree(self.state, ignore_errors=True)

    def db(self):
        with open(os.path.join(self.state, "database.url")) as f:
            return psycopg2.connect(f.read().strip())

    def iactl(self, *args):
        subprocess.run([os.path.join(BUILD, "bin", "iactl")] + list(args), check=True,
                       env=dict(self.env), stdout=subprocess.DEVNULL)

    def users(self):
        hdr = {"Content-Type": "application/json"}
        for i in range(USERS):
            email = "bench%d@example.com" % i
            body = json.dumps({"email": email, "password": PASSWORD})
            code, data, _ = request(self.base, "POST", "/api/v1/users/signup/", body, hdr)
            assert code == 201, (code, data)
            self.iactl("credits", "grant", email, "100000")
            code, data, _ = request(self.base, "POST", "/api/v1/token/obtain/", body, hdr)
            assert code == 200, (code, data)
            self.emails.append(email)
            self.tokens.append(json.loads(data)["access"])


def request(base, method, path, body=None, headers=None):
    """One request on a new connection, from a fresh loopback address (the
    per-IP throttles of signup/login stay out of the way); (status, body, s)."""
    n = next(_sources)
    src = "127.%d.%d.%d" % (10 + n // 65025 % 200, n // 255 % 255, 1 + n % 254)
    port = int(base.rsplit(":", 1)[1])
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(src, 0))
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data, time.perf_counter() - t0


def multipart(fields, name, data, ctype):
    b = "----iabench%d" % time.time_ns()
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (b, k, v)).encode())
    out.write(('--%s\r\nContent-Disposition: form-data; name="image"; filename="%s"\r\n'
               "Content-Type: %s\r\n\r\n" % (b, name, ctype)).encode())
    out.write(data)
    out.write(("\r\n--%s--\r\n" % b).encode())
    return "multipart/form-data; boundary=" + b, out.getvalue()


def make_images(n):
    """n different 1024x768 crops of one 4000x3000 photo-like image; even
    ones JPEG q90, odd ones PNG: [(filename, bytes, content type)]."""
    photo = make_bench_images.photo(4000, 3000)
    out = []
    for i in range(n):
        x, y = (i * 389) % (4000 - 1024), (i * 233) % (3000 - 768)
        im = photo.crop((x, y, x + 1024, y + 768))
        buf = io.BytesIO()
        if i % 2 == 0:
            im.save(buf, "JPEG", quality=90)
            out.append(("photo%d.jpg" % i, buf.getvalue(), "image/jpeg"))
        else:
            im.save(buf, "PNG")
            out.append(("photo%d.png" % i, buf.getvalue(), "image/png"))
    return out


# --- CPU accounting ---------------------------------------------------------------

def proc_table():
    """{pid: (ppid, comm, cpu ticks incl. reaped children, cmdline)}"""
    t = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        t[int(p)] = (int(f[1]), comm, sum(int(x) for x in f[11:15]), cmd)
    return t


def kind_of(comm):
    if comm == "ia-batch":
        return "ia-batch"
    if comm.startswith("postgres") or comm == "postmaster":
        return "postgres"
    if comm in ("radosgw", "ceph-osd", "ceph-mon") or comm.startswith("rgw") or comm.startswith("ceph"):
        return "ceph"
    if comm == "nginx":
        return "nginx"
    if comm.startswith("ia-") and comm != "ia-supervise":
        return "fastcgi"
    return "other"


def stack_cpu(state):
    """CPU seconds by kind of the processes of a state dir: every process
    whose command line names it, and their descendants (their reaped
    children's time included, as the kernel adds it to the parent's)."""
    t = proc_table()
    kids = {}
    for pid, (ppid, _, _, _) in t.items():
        kids.setdefault(ppid, []).append(pid)
    todo = [pid for pid, v in t.items() if state in v[3]]
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo += kids.get(pid, [])
    out = {}
    for pid in seen:
        k = kind_of(t[pid][1])
        out[k] = out.get(k, 0) + t[pid][2] / HZ
    return out


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]), idle


# --- one measurement -----------------------------------------------------------------

def stuck(st, cur, base_id):
    """What a measurement that did not end left: the jobs by state and
    worker, the end of the batch logs."""
    cur.execute("SELECT status, worker, attempts, count(*) FROM images WHERE id > %s "
                "GROUP BY 1, 2, 3 ORDER BY 1, 2", (base_id,))
    for row in cur.fetchall():
        print("  stuck: status %s worker %s attempts %s: %d jobs" % row)
    os.system("ps -eo pid,ppid,stat,etime,time,args | grep -F %s | grep -v grep" % st.state)
    for host in ("", "batch1", "batch2"):
        log = os.path.join(st.state, host, "log", "batch.log")
        if os.path.exists(log):
            print("  == %s" % log)
            os.system("tail -n 15 %s" % log)


def run_jobs(st, jobs):
    """Submit jobs [(image, slug, fields)] as fast as CONC threads can; wait
    until all are done. Returns the figures of the run."""
    conn = st.db()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT coalesce(max(id), 0) FROM images")
    base_id = cur.fetchone()[0]
    bodies = []
    for i, ((name, data, ctype), slug, fields) in enumerate(jobs):
        ct, body = multipart(fields, name, data, ctype)
        bodies.append((slug, ct, body, st.tokens[i % len(st.tokens)]))
    t_sub = [None] * len(jobs)
    t_202 = [None] * len(jobs)
    ids = {}
    done = {}
    errors = []
    nxt = itertools.count()
    lock = threading.Lock()
    all_submitted = threading.Event()

    def submitter():
        while True:
            i = next(nxt)
            if i >= len(bodies) or errors:
                return
            slug, ct, body, tok = bodies[i]
            t_sub[i] = time.perf_counter()
            try:
                code, resp, _ = request(st.base, "POST", "/api/v1/process/%s/" % slug, body,
                                        {"Content-Type": ct, "Authorization": "Bearer " + tok})
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
                return
            t_202[i] = time.perf_counter()
            if code != 202:
                errors.append((i, code, resp[:200]))
                return
            with lock:
                ids[json.loads(resp)["image_id"]] = i

    cpu0 = stack_cpu(st.state)
    m0 = machine_ticks()
    c0 = os.times()
    threads = [threading.Thread(target=submitter) for _ in range(CONC)]
    for th in threads:
        th.start()
    deadline = time.perf_counter() + TIMEOUT
    while len(done) < len(jobs) and not errors:
        cur.execute("SELECT id, status, worker FROM images WHERE id > %s AND status IN ('done', 'failed')",
                    (base_id,))
        now = time.perf_counter()
        for image_id, status, worker in cur.fetchall():
            if image_id not in done:
                done[image_id] = (now, status, worker)
        if not all_submitted.is_set() and not any(th.is_alive() for th in threads):
            all_submitted.set()
        if now > deadline:
            stuck(st, cur, base_id)
            raise RuntimeError("%d of %d jobs not done after %d s" % (len(jobs) - len(done), len(jobs), TIMEOUT))
        time.sleep(0.01)
    for th in threads:
        th.join()
    m1 = machine_ticks()
    c1 = os.times()
    cpu1 = stack_cpu(st.state)
    conn.close()
    if errors:
        raise RuntimeError("submission failed: %r" % errors[:3])
    assert len(ids) == len(jobs) and set(ids) == set(done), (len(ids), len(done))
    failed = [d for d in done.values() if d[1] != "done"]
    assert not failed, failed[:3]
    t_first = min(t_sub)
    t_last = max(d[0] for d in done.values())
    lat = sorted(done[image_id][0] - t_sub[i] for image_id, i in ids.items())
    per_worker = {}
    for d in done.values():
        per_worker[d[2]] = per_worker.get(d[2], 0) + 1
    total, idle = m1[0] - m0[0], m1[1] - m0[1]
    return {
        "wall": t_last - t_first,
        "rate": len(jobs) / (t_last - t_first),
        "p50": statistics.median(lat),
        "p90": lat[int(0.9 * (len(lat) - 1))],
        "submit": max(t_202) - t_first,
        "workers": sorted(per_worker.values(), reverse=True),
        "busy": 1 - idle / total if total else 0,
        "cpu": {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in set(cpu0) | set(cpu1)},
        "client": (c1.user + c1.system) - (c0.user + c0.system),
    }


def main():
    print("cluster_jobs: %d cores, %s; build %s" % (os.cpu_count(), load(), BUILD))
    print("N=%d MIX=%d USERS=%d CONC=%d ROUNDS=%d" % (N, MIX, USERS, CONC, ROUNDS))
    t0 = time.perf_counter()
    images = make_images(max(N, MIX))
    jpg = [len(d) for _, d, c in images if c == "image/jpeg"]
    png = [len(d) for _, d, c in images if c == "image/png"]
    print("inputs: %d x 1024x768 (0.79 MP): %d JPEG q90 (median %d bytes), %d PNG (median %d bytes); "
          "made in %.1f s" % (len(images), len(jpg), statistics.median(jpg), len(png),
                              statistics.median(png), time.perf_counter() - t0))
    workloads = {
        "grey": [(images[i], "greyscale", {}) for i in range(N)],
        "mix": [(images[i], MIX_SERVICES[i % len(MIX_SERVICES)][0], MIX_SERVICES[i % len(MIX_SERVICES)][1])
                for i in range(MIX)],
    }
    warm = [(images[i], "greyscale", {}) for i in range(WARM)]
    cluster, single = Stack("cluster"), Stack("single")
    results = {}
    try:
        for st in (cluster, single):
            t0 = time.perf_counter()
            st.start()
            st.users()
            print("started %s on %s in %.1f s (state %s)" % (st.kind, st.base, time.perf_counter() - t0, st.state))
        batch2_up = True
        configs = {"A": (cluster, True), "B": (cluster, False), "C": (single, None)}
        for r in range(ROUNDS):
            order = "ABC" if r % 2 == 0 else "CBA"
            for name in order:
                st, want_b2 = configs[name]
                if want_b2 is not None and want_b2 != batch2_up:
                    cluster.stack("start-host" if want_b2 else "stop-host", "batch2")
                    batch2_up = want_b2
                    time.sleep(1)
                run_jobs(st, warm)
                for wl in ("grey", "mix"):
                    before = load()
                    res = run_jobs(st, workloads[wl])
                    results.setdefault((name, wl), []).append(res)
                    cpu = res["cpu"]
                    print("round %d %s %-4s %3d jobs: %6.2f s  %5.2f jobs/s  submit->done p50 %6.0f ms p90 %6.0f ms"
                          "  all 202s %.2f s  per worker %s  busy %.0f%% of %d cores" % (
                              r + 1, name, wl, len(workloads[wl]), res["wall"], res["rate"],
                              1000 * res["p50"], 1000 * res["p90"], res["submit"],
                              "/".join(map(str, res["workers"])), 100 * res["busy"], os.cpu_count()))
                    print("      CPU s: ia-batch %.1f  postgres %.1f  ceph %.1f  nginx %.1f  fastcgi %.1f"
                          "  other %.1f  client %.1f;  before: %s  after: %s" % (
                              cpu.get("ia-batch", 0), cpu.get("postgres", 0), cpu.get("ceph", 0),
                              cpu.get("nginx", 0), cpu.get("fastcgi", 0), cpu.get("other", 0),
                              res["client"], before, load()))
        print("\nmedians of %d rounds:" % ROUNDS)
        labels = {"A": "cluster, batch1+batch2", "B": "cluster, batch2 stopped", "C": "single host"}
        for wl in ("grey", "mix"):
            ref = statistics.median(x["rate"] for x in results[("C", wl)])
            for name in "ABC":
                xs = results[(name, wl)]
                rate = statistics.median(x["rate"] for x in xs)
                print("  %-4s %-24s %5.2f jobs/s (x%.2f of single; rounds %s)  p50 %6.0f ms  p90 %6.0f ms"
                      "  ia-batch CPU %.1f s of %.1f s wall" % (
                          wl, labels[name], rate, rate / ref, " ".join("%.2f" % x["rate"] for x in xs),
                          1000 * statistics.median(x["p50"] for x in xs),
                          1000 * statistics.median(x["p90"] for x in xs),
                          statistics.median(x["cpu"].get("ia-batch", 0) for x in xs),
                          statistics.median(x["wall"] for x in xs)))
        print("\nend: %s" % load())
    finally:
        for st in (cluster, single):
            st.stop()


if __name__ == "__main__":
    main()
