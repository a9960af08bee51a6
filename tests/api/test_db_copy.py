"""test_db_copy.py - `iactl db copy-to URL` (README "Moving to PostgreSQL"):
a populated SQLite stack (users signed up over the API, credits bought
through the Stripe webhook and granted with iactl, a finished job, a
password reset and a contact message in the outbox, a flag assigned) is
copied into a fresh database of a private PostgreSQL cluster. The copy holds
the same rows, ids included; a stack started on it with DATABASE_URL logs
the same users in with the same passwords and shows the same balances,
flags and images, and hands out new ids past the copied ones; a second copy
into the now non-empty database is refused with exit 1 and changes nothing.

Skipped only when the PostgreSQL 15 binaries (Debian postgresql-15) or psql
are missing."""
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

import iatest
from iatest import (BUILD, SRC, ApiTestCase, free_port, image_bytes, request, upload,
                    unique_email, wait_image)

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
HAVE_PG = all(os.access(os.path.join(PG_BIN, p), os.X_OK)
              for p in ("initdb", "pg_ctl", "postgres")) and shutil.which("psql") is not None
WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")

# Every table copy-to copies, with the columns that order its rows.
TABLES = {
    "users": "id", "flags": "id", "services": "code", "user_flags": "flag_id, user_id",
    "images": "id", "credit_ledger": "id", "password_resets": "id",
    "email_verifications": "id", "contact_messages": "id", "stripe_events": "event_id",
    "outbox": "id",
}
PG_NULL = "\\N(null)"


@unittest.skipUnless(HAVE_PG, "PostgreSQL 15 binaries (%s) or psql are missing" % PG_BIN)
class DbCopyToTest(iatest.PrivateStack, ApiTestCase):
    state_prefix = "ia-copy-test."
    stack_settings = {"IA_DB": "sqlite"}  # the source, also in a suite run with IA_DB=postgres
    password = "copy me over 42"

    # --- fixture: a populated SQLite stack, a private cluster, one copy ---

    @classmethod
    def setUpClass(cls):
        super().setUpClass()  # the SQLite stack (no batch watcher: run_batch runs jobs)
        cls.env.pop("DATABASE_URL", None)
        cls.pg = None
        try:
            cls.pg = iatest.PgCluster("ia-copy-pg.").start()
            cls.pg_dir = cls.pg.dir
            cls.uri = cls.pg.database("ia_copy")
            cls.populate()
            cls.copy = cls.run_iactl("db", "copy-to", cls.uri)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.__dict__.get("pg"):
            cls.pg.stop()
        super().tearDownClass()

    @classmethod
    def run_iactl(cls, *args, stdin=None, env=None):
        return subprocess.run([os.path.join(BUILD, "bin", "iactl"), *args], input=stdin,
                              env=env or cls.env, capture_output=True, text=True, timeout=120)

    @classmethod
    def run_batch(cls):
        p = subprocess.run([os.path.join(BUILD, "bin", "ia-batch"), "--once"], env=cls.env,
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("ia-batch --once failed: %s" % p.stderr)

    @classmethod
    def psql(cls, uri, sql):
        """Rows of sql on the cluster as tuples of text (None for NULL)."""
        p = subprocess.run(["psql", uri, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-F", "\x1f", "-R", "\x1e", "-P", "null=" + PG_NULL, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql failed: %s" % p.stderr)
        out = p.stdout.rstrip("\n")
        return [tuple(None if v == PG_NULL else v for v in row.split("\x1f"))
                for row in out.split("\x1e") if row != ""]

    @classmethod
    def populate(cls):
        """Users, purchases, grants, a finished job, mail, a contact message
        and a flag, through the API and iactl as a running site makes them."""
        t = ApiTestCase("run")
        cls.alice, _ = t.signup(unique_email("alice"), cls.password, first_name="Alice")
        cls.bob, _ = t.signup(unique_email("bob"), cls.password)
        access = t.login(cls.alice, cls.password)["access"]
        alice_id = t.user_info(access)["id"]
        if WEBHOOK_SECRET:
            from test_stripe import succeeded_event, webhook
            r = webhook(succeeded_event(alice_id, 1000))
            t.assertJsonResponse(r, 200, {"received": True})
        for args in (("credits", "grant", cls.bob, "7"), ("credits", "revoke", cls.bob, "2"),
                     ("flag", "create", "copy-beta"), ("flag", "assign", "copy-beta", cls.alice)):
            p = cls.run_iactl(*args)
            if p.returncode != 0:
                raise AssertionError("iactl %s: %s" % (args, p.stderr))
        r = upload("greyscale", image_bytes("PNG", (40, 30)), token=access)
        t.assertJsonResponse(r, 202)
        cls.image_id = r.json["image_id"]
        t.assertJsonResponse(request("POST", "/api/v1/users/change/password/",
                                     {"email": cls.bob}), 200)
        t.assertJsonResponse(request("POST", "/api/v1/contact/", {
            "name": "Grace Hopper", "email": "grace@example.com", "subject": "Moving over",
            "message": "Does the move to the new database keep all of my images and credits?",
            "confirmHuman": True}), 200)
        cls.run_batch()  # the job, the reset request (-> a reset), the mails
        r = wait_image(cls.image_id, access)
        t.assertJsonResponse(r, 200)
        if r.json.get("status") != "done":
            raise AssertionError("the job did not finish: %r" % r)

    # --- helpers ---

    def sqlite_rows(self, table):
        """Every row of table on the SQLite side, as psql would print it."""
        rows = self.db("SELECT * FROM %s ORDER BY %s" % (table, TABLES[table]))
        return [tuple(None if v is None else str(v) for v in row) for row in rows]

    def pg_rows(self, table):
        return self.psql(self.uri, "SELECT * FROM %s ORDER BY %s" % (table, TABLES[table]))

    def pg_state(self):
        """Counts, ledger and sequences of the target: what a refused copy
        must leave as it found it."""
        state = {t: self.psql(self.uri, "SELECT count(*) FROM " + t)[0][0] for t in TABLES}
        state["ledger"] = self.pg_rows("credit_ledger")
        state["users"] = self.pg_rows("users")
        state["seq"] = self.psql(self.uri, "SELECT last_value, is_called FROM users_id_seq")
        return state

    def on_pg_stack(self, fn):
        """Run fn() with requests going to a stack started on the copy
        (DATABASE_URL, the SQLite stack's media), stopped afterwards."""
        state = tempfile.mkdtemp(prefix="ia-copy-pgstack.")
        port = free_port()
        env = dict(self.env, IA_DB="postgres", IA_STATE_DIR=state, IA_PORT=str(port),
                   DATABASE_URL=self.uri,
                   MEDIA_ROOT=self.media, PUBLIC_URL="http://127.0.0.1:%d" % port,
                   MAIL_DIR=os.path.join(state, "mail"))
        saved = iatest._url
        try:
            p = subprocess.run([os.path.join(SRC, "stack"), "start"], env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            iatest._url = urllib.parse.urlsplit("http://127.0.0.1:%d" % port)
            return fn()
        finally:
            iatest._url = saved
            subprocess.run([os.path.join(SRC, "stack"), "stop"], env=env, capture_output=True,
                           timeout=120)
            shutil.rmtree(state, ignore_errors=True)

    # --- tests (in name order: the stack test writes a new user) ---

    def test_1_copy_reports_ok_and_never_prints_the_url(self):
        p = self.copy
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip().splitlines()[-1], "ok", p.stdout)
        for table in TABLES:
            self.assertRegex(p.stdout, r"(?m)^\s+%s\s+\d+$" % table)
        self.assertRegex(p.stdout, r"ledger sum\s+\d+")
        for secret in (self.uri, "ia_copy?", self.pg_dir):
            self.assertNotIn(secret, p.stdout + p.stderr)

    def test_1_every_table_holds_the_same_rows_with_the_same_ids(self):
        self.assertEqual(self.copy.returncode, 0, self.copy.stderr)
        for table in TABLES:
            with self.subTest(table=table):
                src = self.sqlite_rows(table)
                self.assertEqual(self.pg_rows(table), src)
        # what the fixture made is there, not only equal emptiness
        counts = {t: len(self.sqlite_rows(t)) for t in TABLES}
        for table in ("users", "images", "credit_ledger", "user_flags", "password_resets",
                      "email_verifications", "contact_messages", "outbox"):
            self.assertGreater(counts[table], 0, table)
        if WEBHOOK_SECRET:
            self.assertGreater(counts["stripe_events"], 0)

    def test_1_balances_equal_ledger_sums(self):
        self.assertEqual(self.copy.returncode, 0, self.copy.stderr)
        bad = self.psql(self.uri, "SELECT u.id FROM users u LEFT JOIN credit_ledger l "
                                  "ON l.user_id = u.id GROUP BY u.id, u.credits "
                                  "HAVING u.credits <> coalesce(sum(l.delta), 0)")
        self.assertEqual(bad, [])
        total = self.db("SELECT coalesce(sum(delta), 0) FROM credit_ledger")[0][0]
        self.assertEqual(self.psql(self.uri, "SELECT coalesce(sum(delta), 0) FROM credit_ledger"),
                         [(str(total),)])

    def test_2_a_stack_on_the_copy_serves_the_same_users(self):
        self.assertEqual(self.copy.returncode, 0, self.copy.stderr)
        before = {}

        def on_sqlite():
            access = self.login(self.alice, self.password)["access"]
            before["info"] = self.user_info(access)
            r = request("GET", "/api/v1/user/images/", token=access)
            self.assertJsonResponse(r, 200)
            before["images"] = r.json
            before["bob"] = self.user_info(self.login(self.bob, self.password)["access"])

        on_sqlite()

        def on_pg():
            access = self.login(self.alice, self.password)["access"]
            info = self.user_info(access)
            self.assertEqual(info, before["info"])
            self.assertIn("copy-beta", info["feature_flags"])
            r = request("GET", "/api/v1/user/images/", token=access)
            self.assertJsonResponse(r, 200)
            self.assertEqual([i["id"] for i in r.json["results"]],
                             [i["id"] for i in before["images"]["results"]])
            self.assertIn(self.image_id, [i["id"] for i in r.json["results"]])
            self.assertEqual(self.user_info(self.login(self.bob, self.password)["access"]),
                             before["bob"])
            r = request("POST", "/api/v1/token/obtain/",
                        {"email": self.alice, "password": "not the password 1"})
            self.assertJsonResponse(r, 401)
            # new rows get ids past the copied ones (the sequences moved)
            email, _ = self.signup(unique_email("after"), self.password)
            new_id = self.user_info(self.login(email, self.password)["access"])["id"]
            self.assertGreater(new_id, max(int(r[0]) for r in self.pg_rows("users")
                                           if r[1] != email))

        self.on_pg_stack(on_pg)

    def test_3_second_copy_into_a_non_empty_database_is_refused(self):
        self.assertEqual(self.copy.returncode, 0, self.copy.stderr)
        before = self.pg_state()
        p = self.run_iactl("db", "copy-to", self.uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("not empty", p.stderr)
        self.assertNotIn("ok", p.stdout.split())
        self.assertNotIn(self.uri, p.stdout + p.stderr)
        self.assertEqual(self.pg_state(), before)

    def test_4_bad_targets(self):
        # not a PostgreSQL URI: a usage error, nothing opened
        p = self.run_iactl("db", "copy-to", os.path.join(self.state, "other.sqlite3"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state, "other.sqlite3")))
        # the source must be SQLite: with DATABASE_URL set iactl would read PostgreSQL
        p = self.run_iactl("db", "copy-to", self.uri, env=dict(self.env, DATABASE_URL=self.uri))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("SQLite", p.stderr)
        # a database that does not exist: exit 1, the URI not echoed
        missing = self.uri.replace("/ia_copy?", "/ia_missing?", 1)
        p = self.run_iactl("db", "copy-to", missing)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertNotIn(missing, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
