"""test_stack.py - what ./stack and the supervisor promise about the running
stack (DESIGN.md "Running", issue 9 points 7, 12, 13, 14):

- PUBLIC_URL follows IA_PORT: mailed links point at this stack, media URLs are
  root-relative (tests/with-stack leaves PUBLIC_URL unset on purpose);
- every response carries the security headers, /media/ included, and the SPA
  its Content-Security-Policy;
- started as root, nothing but the nginx master runs as root; the state dir is
  0700 and the service user's, the database, media and mail files 0600;
- the access log never records a reset or verification token;
- a program killed with SIGKILL is back within a second or two (ia-batch, the
  FastCGI master of ia-images, nginx).
"""
import glob
import os
import signal
import stat
import subprocess
import time
import unittest
import urllib.parse

import iatest
from iatest import (BASE_URL, BUILD, CLUSTER, CORS_ORIGIN, DB_PATH, MAIL_DIR, POSTGRES, SRC, STATE,
                    ApiTestCase, host_dirs, iactl, image_bytes, mails, media_path, media_sign, read_pid,
                    request, reset_link, upload, wait_image, wait_new_pid)

# In a cluster (tests/cluster/run.sh): the programs of app1 (ia-batch: of
# batch1, see iatest.default_run_dir), and the front's access log.
RUN = os.path.join(host_dirs("app")[0], "run")
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", os.path.join(STATE, "media"))
ACCESS_LOG = os.path.join(STATE, "front", "log", "nginx-access.log") if CLUSTER else \
    os.path.join(STATE, "log", "root", "nginx-access.log")
PNG = image_bytes("PNG", (24, 16), (10, 120, 200))
RESET = "/api/v1/users/change/password/"
AS_ROOT = os.geteuid() == 0


def proc_stat(pid):
    """(ppid, pgid) of a process, from /proc/<pid>/stat (its name may hold spaces)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])


def proc_ids(pid):
    """{"Uid": [real, effective, saved, fs], "Gid": [...], "Groups": [...]}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(v) for v in value.split()]
    return out


def group_members(pgid):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if proc_stat(int(d))[1] == pgid:
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def wait_mail(to, timeout=10):
    deadline = time.time() + timeout
    while not mails(to) and time.time() < deadline:
        time.sleep(0.1)
    return mails(to)


class PublicUrlTest(ApiTestCase):
    """Issue 9 point 13: with IA_PORT set and no PUBLIC_URL, links pointed at :8080."""

    def test_media_urls_point_at_this_stack(self):
        self.assertNotIn("PUBLIC_URL", os.environ)  # the stack derives it
        _, _, access, _ = self.new_user()
        r = upload("greyscale", PNG, "in.png", token=access)
        self.assertJsonResponse(r, 202)
        img = self.assertJsonResponse(wait_image(r.json["image_id"], access), 200)
        # media URLs are root-relative (issue 13, point 12): they point at
        # whichever origin serves the API, this stack's included
        for url in (img["source"], img["image"]):
            self.assertTrue(url.startswith("/media/"), url)
            self.assertStatus(request("GET", media_path(url)), 200)

    def test_reset_link_points_at_this_stack(self):
        email, _ = self.signup()
        self.assertJsonResponse(request("POST", RESET, {"email": email}), 200)
        msgs = wait_mail(email)
        self.assertTrue(msgs, "no reset mail")
        uid, token = reset_link(email)
        link = "%s/users/reset/password/confirm/%s/%s/" % (BASE_URL, uid, token)
        self.assertIn(link, msgs[-1].get_content())


class SecurityHeadersTest(ApiTestCase):
    """Issue 9 point 14: an add_header in location /media/ dropped the server's headers."""

    def assertSecurityHeaders(self, r, what):
        h = r.headers
        self.assertEqual(h.get("x-content-type-options"), "nosniff", what)
        self.assertEqual(h.get("referrer-policy"), "same-origin", what)
        self.assertEqual(h.get("x-frame-options"), "DENY", what)
        self.assertIn("frame-ancestors 'none'", h.get("content-security-policy", ""), what)

    def test_spa_pages_carry_the_csp(self):
        for path in ("/", "/login", "/users/reset/password/confirm/MQ/x-y/", "/no/such/page"):
            r = request("GET", path)
            self.assertStatus(r, 200)
            self.assertSecurityHeaders(r, path)
            csp = [d.strip() for d in r.headers["content-security-policy"].split(";")]
            self.assertIn("default-src 'self'", csp)
            self.assertIn("object-src 'none'", csp)
            self.assertIn("base-uri 'self'", csp)
            script = next(d for d in csp if d.startswith("script-src "))
            self.assertIn("'self'", script.split())
            self.assertNotIn("'unsafe-inline'", script)
            self.assertNotIn("'unsafe-eval'", script)
            img = next(d for d in csp if d.startswith("img-src ")).split()
            for source in ("'self'", "data:", "blob:"):
                self.assertIn(source, img)

    def test_assets_carry_the_headers(self):
        index = request("GET", "/").body.decode()
        asset = index.split('src="', 1)[1].split('"', 1)[0] if 'src="/assets/' in index else None
        if asset is None:
            self.skipTest("no built SPA assets")
        r = request("GET", asset)
        self.assertStatus(r, 200)
        self.assertSecurityHeaders(r, asset)

    def test_api_replies_carry_the_headers(self):
        for method, path, status in (("GET", "/api/v1/services/", 200),
                                     ("GET", "/api/v1/user/info/", 401),
                                     ("GET", "/api/v1/no/such/endpoint/", 404),
                                     ("GET", "/health/", 200)):
            r = request(method, path)
            self.assertStatus(r, status)
            self.assertSecurityHeaders(r, path)

    def test_media_replies_carry_the_headers(self):
        _, _, access, _ = self.new_user()
        r = upload("greyscale", PNG, "in.png", token=access)
        self.assertJsonResponse(r, 202)
        img = self.assertJsonResponse(wait_image(r.json["image_id"], access), 200)
        r = request("GET", media_path(img["image"]))
        self.assertStatus(r, 200)
        self.assertSecurityHeaders(r, "media")
        self.assertIn("sandbox", r.headers.get("content-security-policy", ""))
        # max-age is what the signed URL has left, not a constant (API.md "Media")
        cc = r.headers.get("cache-control", "")
        self.assertTrue(cc.startswith("private, max-age="), cc)
        exp = int(urllib.parse.parse_qs(urllib.parse.urlsplit(img["image"]).query)["exp"][0])
        self.assertLessEqual(abs(int(cc.split("=", 1)[1]) - (exp - time.time())), 3, cc)
        key = media_path(img["image"]).split("?", 1)[0][len("/media/"):]
        short = int(time.time()) + 60
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (key, short, media_sign(key, short)))
        self.assertStatus(r, 200)
        self.assertIn(int(r.headers["cache-control"].split("=", 1)[1]), range(55, 61))
        # the API's CORS header for an allowed origin, none for another
        if CORS_ORIGIN:
            r = request("GET", media_path(img["image"]), headers={"Origin": CORS_ORIGIN})
            self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)
            self.assertSecurityHeaders(r, "media with Origin")
        r = request("GET", media_path(img["image"]), headers={"Origin": "http://evil.example"})
        self.assertStatus(r, 200)
        self.assertNotIn("access-control-allow-origin", r.headers)
        denied = request("GET", media_path(img["image"]).replace("sig=", "sig=0"))
        self.assertStatus(denied, 403)
        self.assertSecurityHeaders(denied, "media 403")


@unittest.skipUnless(AS_ROOT, "the stack drops privileges only when started as root")
class NotRootTest(ApiTestCase):
    """Issue 9 point 12: nginx workers, every FastCGI program and ia-batch ran as root."""

    def programs(self):
        names = [os.path.basename(p)[:-4] for p in glob.glob(os.path.join(RUN, "*.pid"))]
        return sorted(n for n in names if n != "supervise")

    def test_only_the_nginx_master_runs_as_root(self):
        names = self.programs()
        for want in ("accounts", "images", "media", "health", "payments", "nginx"):
            self.assertIn(want, names)
        service_uid = None
        checked = 0
        for name in names:
            pid = read_pid(name)
            for member in group_members(proc_stat(pid)[1]):
                try:
                    ids = proc_ids(member)
                except OSError:
                    continue  # gone meanwhile
                if name == "nginx" and member == pid:
                    self.assertEqual(ids["Uid"][1], 0, "the nginx master binds as root")
                    continue
                what = "%s pid %d" % (name, member)
                self.assertNotIn(0, ids["Uid"], what)
                self.assertNotIn(0, ids["Gid"], what)
                self.assertNotIn(0, ids["Groups"], what)
                service_uid = service_uid or ids["Uid"][1]
                self.assertEqual(ids["Uid"][1], service_uid, what)
                checked += 1
        self.assertGreater(checked, 8)  # masters and their workers, nginx workers

    def service_uid(self):
        return proc_ids(read_pid("images"))["Uid"][1]

    def assertPrivate(self, path, mode):
        st = os.lstat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), mode, "%s is %o" % (path, st.st_mode))
        self.assertEqual(st.st_uid, self.service_uid(), path)

    @unittest.skipIf(CLUSTER, "one host's state dir: a cluster's root is root's, mode 0711 "
                     "(bin/stack-cluster), its hosts' dirs are ./stack's")
    def test_state_dir_database_and_files_are_private(self):
        uid = self.service_uid()
        self.assertPrivate(STATE, 0o700)
        if POSTGRES:  # the URI the stack recorded, and its private cluster
            self.assertPrivate(os.path.join(STATE, "database.url"), 0o600)
            if os.path.isdir(os.path.join(STATE, "pg")):
                self.assertPrivate(os.path.join(STATE, "pg"), 0o700)
        else:
            self.assertPrivate(DB_PATH, 0o600)
        _, _, access, _ = self.new_user()
        r = upload("greyscale", PNG, "in.png", token=access)
        self.assertJsonResponse(r, 202)
        self.assertJsonResponse(wait_image(r.json["image_id"], access), 200)
        files = 0
        for top in (MEDIA_ROOT, MAIL_DIR, os.path.join(STATE, "log")):
            for d, dirs, names in os.walk(top):
                if d.startswith(os.path.join(STATE, "log", "root")):
                    continue
                st = os.stat(d)
                self.assertEqual(stat.S_IMODE(st.st_mode) & 0o077, 0, d)
                for n in names:
                    p = os.path.join(d, n)
                    st = os.lstat(p)
                    self.assertEqual(stat.S_IMODE(st.st_mode) & 0o077, 0, p)
                    if top == MEDIA_ROOT:
                        self.assertEqual(st.st_uid, uid, p)
                        files += 1
        # the source and the result; with S3 they live in the bucket, and
        # nothing but temp files (gone once the job is done) under MEDIA_ROOT
        self.assertGreaterEqual(files, 0 if iatest.media.s3 else 2)

    def test_root_admin_tool_leaves_the_database_to_the_service_user(self):
        iactl("user", "create", "root-admin-%d@example.com" % os.getpid(), "--password-stdin",
              stdin="a long enough password\n")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(DB_PATH + suffix):
                self.assertPrivate(DB_PATH + suffix, 0o600)
        self.assertHealthy()


class AccessLogTest(ApiTestCase):
    """Issue 9 point 12: the access log recorded the tokens of reset links."""

    def test_reset_and_verify_tokens_stay_out_of_the_access_log(self):
        email, _ = self.signup()
        self.assertJsonResponse(request("POST", RESET, {"email": email}), 200)
        self.assertTrue(wait_mail(email), "no reset mail")
        uid, token = reset_link(email)
        page = "/users/reset/password/confirm/%s/%s/" % (uid, token)
        self.assertStatus(request("GET", page), 200)
        # the page's own requests name it in their Referer
        self.assertStatus(request("GET", "/", headers={"Referer": BASE_URL + page}), 200)
        verify = "/users/verify/email/%s/verify-token-%d-x/" % (uid, os.getpid())
        self.assertStatus(request("GET", verify), 200)
        self.assertStatus(request("GET", verify.upper().replace("/USERS", "/users")), 200)
        time.sleep(0.2)
        with open(ACCESS_LOG, encoding="utf-8", errors="replace") as f:
            log = f.read()
        self.assertIn("/users/reset/password/confirm/<redacted>/", log)
        self.assertIn("/users/verify/email/<redacted>/", log)
        self.assertNotIn(token, log)
        self.assertNotIn("verify-token-%d" % os.getpid(), log)
        self.assertNotIn(("verify-token-%d" % os.getpid()).upper(), log)


class SupervisorTest(ApiTestCase):
    """Issue 9 point 7: nothing restarted a dead ia-batch, FastCGI master or nginx."""

    def kill_and_wait(self, name):
        old = read_pid(name)
        started = time.time()
        os.kill(old, signal.SIGKILL)
        new = wait_new_pid(name, old)
        self.assertIsNotNone(new, "%s was not restarted" % name)
        return new, time.time() - started

    def test_batch_killed_then_a_new_job_is_processed(self):
        _, _, access, _ = self.new_user()
        _, took = self.kill_and_wait("batch")
        self.assertLess(took, 2.0)
        r = upload("greyscale", PNG, "in.png", token=access)
        self.assertJsonResponse(r, 202)
        img = self.assertJsonResponse(wait_image(r.json["image_id"], access, timeout=30), 200)
        self.assertEqual(img["status"], "done", img)

    def test_images_master_killed_then_uploads_work_within_two_seconds(self):
        _, _, access, _ = self.new_user()
        old = read_pid("images")
        workers = [p for p in group_members(old) if p != old]
        self.assertTrue(workers)
        started = time.time()
        os.kill(old, signal.SIGKILL)
        while True:
            r = upload("greyscale", PNG, "in.png", token=access)
            if r.status == 202 or time.time() - started > 10:
                break
            time.sleep(0.05)
        took = time.time() - started
        self.assertJsonResponse(r, 202)
        self.assertLess(took, 2.0)
        new = wait_new_pid("images", old)
        self.assertIsNotNone(new)
        # the old master's workers went with it: no unsupervised strays
        deadline = time.time() + 5
        while any(os.path.exists("/proc/%d" % p) for p in workers) and time.time() < deadline:
            time.sleep(0.05)
        for p in workers:
            if os.path.exists("/proc/%d" % p):
                self.assertNotEqual(proc_stat(p)[1], old, "worker %d outlived its master" % p)
        self.assertEqual(wait_image(r.json["image_id"], access).json["status"], "done")

    def test_nginx_killed_then_the_stack_answers_again(self):
        _, took = self.kill_and_wait("nginx")
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if request("GET", "/health/").status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        self.assertHealthy()
        self.assertLess(took, 2.0)

    @unittest.skipIf(CLUSTER, "./stack status of one host; tests/cluster/test_failover.py "
                     "checks ./stack cluster status")
    def test_status_reports_every_program(self):
        env = dict(os.environ)
        p = subprocess.run([os.path.join(SRC, "stack"), "status"], env=env, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for name in ("supervise", "accounts", "health", "images", "media", "payments", "nginx"):
            self.assertIn("%s: running" % name, p.stdout)
        # and which database (IA_DB=postgres: the stack's own cluster, running)
        self.assertIn("database: postgresql, private cluster" if POSTGRES else "database: sqlite",
                      p.stdout)
        if POSTGRES:
            self.assertIn("(running)", p.stdout)


class SupervisorProgramTest(unittest.TestCase):
    """bin/ia-supervise on its own: backoff, group clean-up, stop."""

    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="ia-supervise-test.")
        self.log = os.path.join(self.dir, "supervise.log")
        self.addCleanup(subprocess.run, ["rm", "-rf", self.dir])

    def supervise(self, *programs):
        args = [os.path.join(BUILD, "bin", "ia-supervise"), "-p", os.path.join(self.dir, "sup.pid"),
                "-r", self.dir]
        for name, command in programs:
            args += [name, "-", os.path.join(self.dir, name + ".log"), "-", command]
        f = open(self.log, "ab")
        self.addCleanup(f.close)
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=f)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def stop(self, p, timeout=10):
        started = time.time()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout), 0)
        return time.time() - started

    def test_backoff_doubles_while_a_program_keeps_dying(self):
        p = self.supervise(("crash", "sh -c 'echo ran >&2; exit 3'"))
        time.sleep(2.2)  # starts at 0, 0.1, 0.3, 0.7, 1.5 s
        self.stop(p)
        with open(self.log) as f:
            delays = [line.rsplit("restart in ", 1)[1].split()[0] for line in f
                      if "crash:" in line and "exited with status 3" in line]
        self.assertGreaterEqual(len(delays), 4, delays)
        self.assertEqual(delays[:4], ["0.1", "0.2", "0.4", "0.8"])
        with open(os.path.join(self.dir, "crash.log")) as f:
            self.assertIn(f.read().count("ran"), (len(delays), len(delays) + 1))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "sup.pid")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "crash.pid")))

    def test_a_dead_programs_group_goes_before_the_restart(self):
        orphan = os.path.join(self.dir, "orphan")
        p = self.supervise(("main", "sh -c 'sleep 1000 & echo $! >>%s; sleep 0.3'" % orphan))
        time.sleep(1.0)
        self.stop(p)
        with open(orphan) as f:
            pids = [int(x) for x in f.read().split()]
        self.assertGreaterEqual(len(pids), 2)  # restarted at least once
        for pid in pids:
            self.assertFalse(os.path.exists("/proc/%d" % pid), "orphan %d still runs" % pid)

    def test_stop_kills_a_program_that_ignores_sigterm(self):
        p = self.supervise(("stubborn", "sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'"),
                           ("plain", "sleep 1000"))
        time.sleep(0.5)
        pids = [read_pid("stubborn", self.dir), read_pid("plain", self.dir)]
        took = self.stop(p)
        self.assertLess(took, 7.0)
        self.assertGreater(took, 3.0)  # SIGKILL only after the grace period
        for pid in pids:
            self.assertFalse(os.path.exists("/proc/%d" % pid))

    def test_usage_errors(self):
        exe = os.path.join(BUILD, "bin", "ia-supervise")
        self.assertEqual(subprocess.run([exe], capture_output=True).returncode, 2)
        self.assertEqual(subprocess.run([exe, "a", "-", "/dev/null", "-"],
                                        capture_output=True).returncode, 2)
        r = subprocess.run([exe, "a", "no-such-user-here", "/dev/null", "-", "true"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no user no-such-user-here", r.stderr)


if __name__ == "__main__":
    unittest.main()
