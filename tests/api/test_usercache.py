"""test_usercache.py - the accounts workers cache users and their profiles
while the database is unchanged (lib/usercache.c). Every change must reach
the very next request, whichever worker answers it, including changes made
behind the service's back with the sqlite3 module. Each test warms every
worker's cache first (the stack runs several), then changes one thing."""
import sqlite3
import unittest

from iatest import DB_PATH, POSTGRES, ApiTestCase, db_query, iactl, request, settle

WARM = 12  # requests: more than the accounts workers, so each has the user cached


class UserCacheTest(ApiTestCase):
    def setUp(self):
        self.email, self.password, self.access, _ = self.new_user()
        self.uid = self.user_info(self.access)["id"]

    def warm(self):
        return [self.user_info(self.access) for _ in range(WARM)][-1]

    def assertEveryWorkerSees(self, field, value):
        settle()
        for _ in range(WARM):
            self.assertEqual(self.user_info(self.access)[field], value)

    def test_credits_changed_in_sqlite_show_at_once(self):
        before = self.warm()["credits"]
        db_query("UPDATE users SET credits = credits + 5 WHERE id = ?", (self.uid,))
        self.assertEveryWorkerSees("credits", before + 5)

    def test_names_changed_in_sqlite_show_at_once(self):
        self.warm()
        db_query("UPDATE users SET first_name = 'Ada' WHERE id = ?", (self.uid,))
        self.assertEveryWorkerSees("first_name", "Ada")

    def test_credit_grant_by_iactl_shows_at_once(self):
        before = self.warm()["credits"]
        iactl("credits", "grant", self.email, "3")
        self.assertEveryWorkerSees("credits", before + 3)

    def test_flag_assignment_shows_at_once(self):
        name = "cache-flag-%d" % self.uid
        iactl("flag", "create", name)
        self.assertNotIn(name, self.warm()["feature_flags"])
        iactl("flag", "assign", name, self.email)
        settle()
        for _ in range(WARM):
            self.assertIn(name, self.user_info(self.access)["feature_flags"])
        iactl("flag", "unassign", name, self.email)
        settle()
        for _ in range(WARM):
            self.assertNotIn(name, self.user_info(self.access)["feature_flags"])

    def test_ban_applies_to_the_next_request(self):
        self.warm()
        iactl("user", "ban", self.email, "--reason", "cache test")
        settle()
        for _ in range(WARM):
            r = request("GET", "/api/v1/user/info/", token=self.access)
            self.assertJsonResponse(r, 403, {"detail": "Account is suspended."})
        iactl("user", "unban", self.email)
        settle()
        self.warm()

    def test_ban_written_in_sqlite_applies_to_the_next_request(self):
        self.warm()
        db_query("UPDATE users SET banned = 1 WHERE id = ?", (self.uid,))
        settle()
        for _ in range(WARM):
            self.assertStatus(request("GET", "/api/v1/user/info/", token=self.access), 403)

    def test_revoked_token_fails_on_the_next_request(self):
        self.warm()
        db_query("UPDATE users SET token_version = token_version + 1 WHERE id = ?", (self.uid,))
        settle()
        for _ in range(WARM):
            self.assertTokenRejected(self.access)

    def test_deleted_user_token_fails_on_the_next_request(self):
        self.warm()
        if POSTGRES:  # foreign keys always cascade there
            db_query("DELETE FROM users WHERE id = ?", (self.uid,))
        else:
            conn = sqlite3.connect(DB_PATH, timeout=10, isolation_level=None)
            try:  # with its cascades, as the service deletes
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("DELETE FROM users WHERE id = ?", (self.uid,))
            finally:
                conn.close()
        settle()
        for _ in range(WARM):
            self.assertTokenRejected(self.access)


if __name__ == "__main__":
    unittest.main()
