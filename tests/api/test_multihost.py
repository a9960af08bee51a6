"""test_multihost.py - two hosts on one PostgreSQL (issue 10).

Two complete stacks stand in for two machines: each has its own state
directory, nginx, FastCGI pools (each worker with its own user cache) and
ia-batch --watch; they share one database of a private PostgreSQL cluster
(and, as a network file system would let them, one MEDIA_ROOT). The tests
prove what "many hosts" needs:
  - a change made through one host, with iactl, or with raw SQL is seen by
    the very next request on the other host, whichever worker answers:
    a ban, an unban, a credit change, a flag change, a password set with
    iactl (its old tokens die), a user deleted with its cascades;
  - jobs submitted to both hosts at once are each run once by one of the
    two batch processes, charged once, never refunded;
  - a PostgreSQL restart gives clean 503s while it is down, and both hosts
    serve again afterwards without being restarted.
Runs in the PostgreSQL pass of the API suite (IA_DB=postgres)."""
import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import iatest
from iatest import BUILD, SRC, ApiTestCase, free_port, multipart, noise_image, unique_email

PG_BIN = "/usr/lib/postgresql/15/bin"
WARM = 12  # requests per host: more than its accounts workers
SETTLE = 0.1  # seconds between a change and the requests that must see it


class Host:
    """One stack on the shared database; requests go to its nginx."""

    def __init__(self, name, root, url, media):
        self.name = name
        self.port = free_port()
        self.state = os.path.join(root, name)
        drop = ("DB_PATH", "MEDIA_ROOT", "DATABASE_URL", "IA_NO_BATCH")
        self.env = {k: v for k, v in os.environ.items() if k not in drop}
        self.env.update(IA_STATE_DIR=self.state, IA_PORT=str(self.port), IA_SKIP_BUILD="1",
                        IA_BUILD_DIR=BUILD, DATABASE_URL=url, MEDIA_ROOT=media,
                        PUBLIC_URL="http://127.0.0.1:%d" % self.port,
                        MAIL_DIR=os.path.join(self.state, "mail"), RATE_LIMIT_PER_MINUTE="0")

    def stack(self, command):
        return subprocess.run([os.path.join(SRC, "stack"), command], env=self.env,
                              capture_output=True, text=True, timeout=120)

    def request(self, method, path, body=None, **kw):
        # not by swapping iatest._url: requests are sent from several threads
        return iatest.request(method, path, body, url="http://127.0.0.1:%d" % self.port, **kw)

    def iactl(self, *args):
        return subprocess.run([os.path.join(BUILD, "bin", "iactl"), *args], env=self.env,
                              capture_output=True, text=True, timeout=60)


@unittest.skipIf(iatest.CLUSTER, iatest.OWN_STACK + " (tests/cluster covers the same)")
@unittest.skipUnless(iatest.POSTGRES and os.path.exists(os.path.join(PG_BIN, "initdb")),
                     "the PostgreSQL pass of the API suite runs it")
class TwoHostsOnePostgres(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="ia-multihost.")
        os.chmod(cls.root, 0o755)  # the service user walks into it
        cls.pg = iatest.PgCluster("ia-multihost-pg.").start()
        cls.url = cls.pg.database("ia_multihost")
        media = os.path.join(cls.root, "media")
        cls.hosts = [Host(n, cls.root, cls.url, media) for n in ("a", "b")]
        for h in cls.hosts:
            r = h.stack("start")
            if r.returncode != 0:
                cls.tearDownClass()
                raise AssertionError("host %s did not start: %s" % (h.name, r.stderr))
        cls.a, cls.b = cls.hosts

    @classmethod
    def tearDownClass(cls):
        for h in getattr(cls, "hosts", []):
            h.stack("stop")
        if getattr(cls, "pg", None):
            cls.pg.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    @staticmethod
    def psql(url, sql):
        p = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-At", "-v",
                            "ON_ERROR_STOP=1", url, "-c", sql], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql: %s" % p.stderr)
        return p.stdout.strip()

    def sql(self, statement):
        return self.psql(self.url, statement)

    # --- helpers -----------------------------------------------------------

    def new_user(self, host, password="correct horse battery"):
        email = unique_email("multi")
        r = host.request("POST", "/api/v1/users/signup/", {"email": email, "password": password})
        self.assertStatus(r, 201)
        r = host.request("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        self.assertStatus(r, 200)
        return email, r.json["access"]

    def info(self, host, token):
        return host.request("GET", "/api/v1/user/info/", token=token)

    def warm(self, token):
        """Every worker of both hosts answers user/info for token from its cache."""
        for h in self.hosts:
            for _ in range(WARM):
                self.assertStatus(self.info(h, token), 200)

    def assertEveryWorker(self, token, status, field=None, value=None):
        """The next requests on both hosts, whichever worker answers. The
        change notification is on its way for well under a millisecond on
        an idle machine; SETTLE covers a loaded 2-core CI machine."""
        time.sleep(SETTLE)
        for h in self.hosts:
            for _ in range(WARM):
                r = self.info(h, token)
                self.assertEqual(r.status, status, "host %s: %r" % (h.name, r))
                if field is not None:
                    self.assertEqual(r.json[field], value, "host %s" % h.name)

    # --- caches -------------------------------------------------------------

    def test_ban_with_iactl_on_one_host_reaches_every_worker_of_the_other(self):
        email, token = self.new_user(self.a)
        self.warm(token)
        r = self.a.iactl("user", "ban", email, "--reason", "spam")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEveryWorker(token, 403)
        self.sql("UPDATE users SET banned = 0, ban_reason = NULL WHERE email = '%s'" % email)
        self.assertEveryWorker(token, 200)

    def test_ban_and_credits_with_raw_sql_reach_both_hosts(self):
        email, token = self.new_user(self.b)
        self.warm(token)
        credits = self.info(self.a, token).json["credits"]
        self.sql("UPDATE users SET credits = credits + 7 WHERE email = '%s'" % email)
        self.assertEveryWorker(token, 200, "credits", credits + 7)
        self.sql("UPDATE users SET banned = 1, ban_reason = 'psql' WHERE email = '%s'" % email)
        self.assertEveryWorker(token, 403)

    def test_flag_change_reaches_both_hosts(self):
        email, token = self.new_user(self.a)
        self.warm(token)
        name = "multihost_%d" % os.getpid()
        self.sql("INSERT INTO flags(name, enabled, created) VALUES ('%s', 1, 0)" % name)
        time.sleep(SETTLE)  # the notification's way, as assertEveryWorker waits
        try:
            for h in self.hosts:
                for _ in range(WARM):
                    self.assertIn(name, self.info(h, token).json["feature_flags"], h.name)
        finally:
            self.sql("DELETE FROM flags WHERE name = '%s'" % name)
        time.sleep(SETTLE)
        for h in self.hosts:
            for _ in range(WARM):
                self.assertNotIn(name, self.info(h, token).json["feature_flags"], h.name)

    def test_password_set_on_one_host_revokes_tokens_on_the_other(self):
        email, token = self.new_user(self.a)
        self.warm(token)
        r = subprocess.run([os.path.join(BUILD, "bin", "iactl"), "user", "password", email,
                            "--password-stdin"], input="another horse battery\n",
                           env=self.a.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEveryWorker(token, 401)
        _, fresh = self.new_login(self.b, email, "another horse battery")
        self.assertEveryWorker(fresh, 200)

    def new_login(self, host, email, password):
        r = host.request("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        self.assertStatus(r, 200)
        return email, r.json["access"]

    def test_deleted_user_is_gone_on_both_hosts(self):
        email, token = self.new_user(self.b)
        self.warm(token)
        self.sql("DELETE FROM users WHERE email = '%s'" % email)  # cascades
        self.assertEveryWorker(token, 401)
        self.assertEqual(self.sql("SELECT count(*) FROM credit_ledger l WHERE NOT EXISTS "
                                  "(SELECT 1 FROM users u WHERE u.id = l.user_id)"), "0")

    # --- jobs -----------------------------------------------------------------

    def submit(self, host, token, data):
        ctype, body = multipart(None, {"image": ("n.png", data)})
        return host.request("POST", "/api/v1/process/greyscale/", raw=body, content_type=ctype,
                            token=token)

    def test_jobs_from_both_hosts_run_once_and_are_charged_once(self):
        users = [self.new_user(h) for h in self.hosts]
        for email, _ in users:
            r = self.a.iactl("credits", "grant", email, "100")
            self.assertEqual(r.returncode, 0, r.stderr)
        data = noise_image((64, 48))
        per_user = 12

        def one(i):
            email, token = users[i % 2]
            return self.submit(self.hosts[(i // 2) % 2], token, data)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(one, range(2 * per_user)))
        for r in replies:
            self.assertStatus(r, 202)
        ids = [r.json["image_id"] for r in replies]
        id_list = ",".join(str(i) for i in ids)
        deadline = time.time() + 60
        while time.time() < deadline:
            left = self.sql("SELECT count(*) FROM images WHERE id IN (%s) AND status IN "
                            "('pending', 'processing')" % id_list)
            if left == "0":
                break
            time.sleep(0.1)
        self.assertEqual(self.sql("SELECT status, count(*) FROM images WHERE id IN (%s) "
                                  "GROUP BY status" % id_list), "done|%d" % len(ids))
        self.assertEqual(self.sql("SELECT max(attempts) FROM images WHERE id IN (%s)" % id_list),
                         "1")
        self.assertEqual(self.sql("SELECT count(*) FROM credit_ledger WHERE image_id IN (%s) "
                                  "AND reason = 'charge'" % id_list), str(len(ids)))
        self.assertEqual(self.sql("SELECT count(*) FROM credit_ledger WHERE image_id IN (%s) "
                                  "AND reason = 'refund'" % id_list), "0")
        for email, _ in users:
            self.assertEqual(self.sql("SELECT u.credits = (SELECT sum(delta) FROM credit_ledger "
                                      "WHERE user_id = u.id) FROM users u WHERE email = '%s'"
                                      % email), "t")
        # Both batch hosts took part: the worker column names "host:pid".
        workers = self.sql("SELECT count(DISTINCT worker) FROM images WHERE id IN (%s)" % id_list)
        self.assertGreaterEqual(int(workers), 2)
        # Each job ran once: one "done" log line per job across both hosts.
        lines = []
        for h in self.hosts:
            with open(os.path.join(h.state, "log", "batch.log"), errors="replace") as f:
                lines += [ln for ln in f if ln.rstrip().endswith(" done")]
        for i in ids:
            self.assertEqual(sum(1 for ln in lines if "job %d (" % i in ln), 1, "job %d" % i)

    # --- the server going away ----------------------------------------------

    def test_postgres_restart_gives_503_then_both_hosts_serve_again(self):
        email, token = self.new_user(self.a)
        self.warm(token)
        self.pg.halt()
        try:
            for h in self.hosts:
                r = self.info(h, token)
                self.assertEqual(r.status, 503, "host %s: %r" % (h.name, r))
                self.assertEqual(r.headers.get("content-type"), "application/json; charset=utf-8")
                self.assertEqual(h.request("GET", "/health/").status, 503)
        finally:
            self.pg.start()
        self.assertEveryWorker(token, 200)
        for h in self.hosts:
            self.assertEqual(h.request("GET", "/health/").json["db"], "ok")


if __name__ == "__main__":
    unittest.main()
