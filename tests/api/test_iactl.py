"""test_iactl.py - the admin tool end to end: what it changes shows in the
HTTP API (login, /user/info credits, flags, staff, bans), JSON output
parses, and its exit statuses are 0 ok, 1 failure, 2 usage."""
import json
import os
import sqlite3
import tempfile
import unittest
import uuid

from iatest import POSTGRES, ApiTestCase, iactl, request, unique_email

NO_ACCOUNT = {"detail": "No active account found with the given credentials"}


def flag_name():
    return "f" + uuid.uuid4().hex[:10]


class IactlUserTest(ApiTestCase):
    def create(self, *opts, password="admin made pw 1"):
        email = unique_email("ctl")
        p = iactl("user", "create", email, "--password-stdin", *opts, stdin=password + "\n")
        self.assertEqual(p.returncode, 0)
        return email, password

    def test_create_then_login(self):
        email, password = self.create()
        info = self.user_info(self.login(email, password)["access"])
        self.assertEqual(info["email"], email)
        self.assertIs(info["is_staff"], False)
        self.assertEqual(info["credits"], 0)  # no signup credits for admin-made users
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": "wrong pw 123"})
        self.assertJsonResponse(r, 401, NO_ACCOUNT)

    def test_create_existing_email_fails(self):
        email, _ = self.signup()
        p = iactl("user", "create", email.upper(), "--password-stdin", stdin="whatever pw 1\n", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)

    def test_create_staff(self):
        email, password = self.create("--staff")
        self.assertIs(self.user_info(self.login(email, password)["access"])["is_staff"], True)

    def test_staff_unstaff(self):
        email, password, access, _ = self.new_user()
        iactl("user", "staff", email)
        self.assertIs(self.user_info(access)["is_staff"], True)
        iactl("user", "unstaff", email)
        self.assertIs(self.user_info(access)["is_staff"], False)

    def test_list_json(self):
        email, _ = self.signup()
        p = iactl("user", "list", "--json")
        users = json.loads(p.stdout)
        self.assertIsInstance(users, list)
        [me] = [u for u in users if u["email"] == email]
        self.assertEqual(me["credits"], 100)
        self.assertIs(me["banned"], False)
        self.assertIsInstance(me["id"], int)
        self.assertNotIn("password_hash", me)
        self.assertNotIn("$argon2", p.stdout)

    def test_list_text(self):
        email, _ = self.signup()
        self.assertIn(email, iactl("user", "list").stdout)

    def test_show(self):
        email, _, access, _ = self.new_user(first_name="Ada")
        info = self.user_info(access)
        shown = json.loads(iactl("user", "show", email, "--json").stdout)
        for k in ("id", "email", "first_name", "credits", "feature_flags", "is_staff"):
            self.assertEqual(shown[k], info[k], k)
        self.assertIn(email, iactl("user", "show", email.upper()).stdout)
        self.assertNotIn("$argon2", iactl("user", "show", email).stdout)

    def test_show_unknown_user(self):
        p = iactl("user", "show", unique_email("nobody"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr)

    def test_ban_unban(self):
        email, password, access, _ = self.new_user()
        iactl("user", "ban", email, "--reason", "spam")
        self.assertJsonResponse(request("GET", "/api/v1/user/info/", token=access), 403, self.SUSPENDED)
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        self.assertJsonResponse(r, 403, self.SUSPENDED)
        self.assertIs(json.loads(iactl("user", "show", email, "--json").stdout)["banned"], True)
        iactl("user", "unban", email)
        self.user_info(access)
        self.login(email, password)

    def test_ban_needs_reason(self):
        email, _ = self.signup()
        p = iactl("user", "ban", email, check=False)
        self.assertEqual(p.returncode, 2)
        self.login(email, "correct horse battery")

    def test_password_stdin_revokes_tokens(self):
        email, _, access, _ = self.new_user()
        iactl("user", "password", email, "--password-stdin", stdin="admin set pw 99\n")
        self.assertTokenRejected(access)
        self.login(email, "admin set pw 99")


class IactlCreditsTest(ApiTestCase):
    def test_grant_and_revoke_show_in_user_info(self):
        email, _, access, _ = self.new_user()
        iactl("credits", "grant", email, "25")
        self.assertEqual(self.user_info(access)["credits"], 125)
        iactl("credits", "revoke", email, "20")
        self.assertEqual(self.user_info(access)["credits"], 105)

    def test_revoke_beyond_balance_changes_nothing(self):
        email, _, access, _ = self.new_user()
        before = json.loads(iactl("credits", "history", email, "--json").stdout)
        p = iactl("credits", "revoke", email, "101", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(self.user_info(access)["credits"], 100)
        self.assertEqual(json.loads(iactl("credits", "history", email, "--json").stdout), before)
        iactl("credits", "revoke", email, "100")
        self.assertEqual(self.user_info(access)["credits"], 0)

    def test_history_json(self):
        email, _ = self.signup()
        iactl("credits", "grant", email, "7")
        iactl("credits", "revoke", email, "3")
        rows = json.loads(iactl("credits", "history", email, "--json").stdout)
        self.assertEqual([(r["delta"], r["balance_after"], r["reason"]) for r in rows],
                         [(-3, 104, "admin_revoke"), (7, 107, "admin_grant"), (100, 100, "signup_bonus")])
        for r in rows:
            self.assertTrue({"id", "delta", "balance_after", "reason", "image_id", "created"} <= set(r))
            self.assertRegex(r["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_bad_amounts_are_usage_errors(self):
        email, _, access, _ = self.new_user()
        for n in ("abc", "0", "-5", "1.5", "", "99999999999999999999"):
            with self.subTest(n=n):
                p = iactl("credits", "grant", email, n, check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(self.user_info(access)["credits"], 100)

    def test_unknown_user(self):
        p = iactl("credits", "grant", unique_email("nobody"), "5", check=False)
        self.assertEqual(p.returncode, 1)


class IactlFlagsTest(ApiTestCase):
    def test_assign_unassign(self):
        name = flag_name()
        email, _, access, _ = self.new_user()
        iactl("flag", "create", name)
        self.assertNotIn(name, self.user_info(access)["feature_flags"])
        iactl("flag", "assign", name, email)
        self.assertIn(name, self.user_info(access)["feature_flags"])
        iactl("flag", "unassign", name, email)
        self.assertNotIn(name, self.user_info(access)["feature_flags"])

    def test_enable_disable_globally(self):
        name = flag_name()
        _, _, access, _ = self.new_user()
        _, _, other, _ = self.new_user()
        iactl("flag", "create", name)
        iactl("flag", "enable", name)
        self.assertIn(name, self.user_info(access)["feature_flags"])
        self.assertIn(name, self.user_info(other)["feature_flags"])
        listed = json.loads(iactl("flag", "list", "--json").stdout)
        self.assertIn(name, [f["name"] for f in listed])
        iactl("flag", "disable", name)
        self.assertNotIn(name, self.user_info(access)["feature_flags"])

    def test_flag_listed_once_when_enabled_and_assigned(self):
        name = flag_name()
        email, _, access, _ = self.new_user()
        iactl("flag", "create", name)
        iactl("flag", "assign", name, email)
        iactl("flag", "enable", name)
        self.assertEqual(self.user_info(access)["feature_flags"].count(name), 1)
        iactl("flag", "disable", name)

    def test_bad_flag_names(self):
        for bad in ("Bad Name", "", "x" * 65, "a/b"):
            with self.subTest(name=bad):
                p = iactl("flag", "create", bad, check=False)
                self.assertIn(p.returncode, (1, 2), p.stderr)
        p = iactl("flag", "enable", flag_name(), check=False)
        self.assertEqual(p.returncode, 1)

    def test_duplicate_flag(self):
        name = flag_name()
        iactl("flag", "create", name)
        self.assertEqual(iactl("flag", "create", name, check=False).returncode, 1)


class IactlDbTest(ApiTestCase):
    @unittest.skipIf(POSTGRES, "db backup copies SQLite; a PostgreSQL server is backed up with pg_dump")
    def test_backup_is_a_readable_copy(self):
        email, _ = self.signup()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "backup.sqlite3")
            iactl("db", "backup", path)
            conn = sqlite3.connect(path)
            try:
                self.assertEqual(conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                rows = conn.execute("SELECT credits FROM users WHERE email = ?", (email,)).fetchall()
            finally:
                conn.close()
            self.assertEqual(rows, [(100,)])
            # never overwrites an existing file
            p = iactl("db", "backup", path, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)

    def test_migrate_is_idempotent(self):
        iactl("db", "migrate")
        self.assertHealthy()


class IactlUsageTest(unittest.TestCase):
    def test_usage_errors_exit_2(self):
        for args in ((), ("bogus",), ("user",), ("user", "bogus"), ("user", "show"),
                     ("user", "create"), ("credits", "grant", "a@example.com"),
                     ("flag", "assign", "x"), ("db",), ("db", "backup"),
                     ("user", "list", "--nope"), ("user", "show", "a@example.com", "extra")):
            with self.subTest(args=args):
                p = iactl(*args, check=False)
                self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                self.assertTrue(p.stderr)

    def test_help_exits_0(self):
        p = iactl("help", check=False)
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage", (p.stdout + p.stderr).lower())


if __name__ == "__main__":
    unittest.main()
