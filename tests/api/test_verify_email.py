"""test_verify_email.py - email verification, the Google linking rule and
mail through the outbox (API.md "Accounts"; issue 9 points 1 and 2).

Sign-up queues exactly one verification mail, which the batch processor
delivers; its link verifies once (3 days); resend mails again only while
unverified and is throttled; `email_verified` is in <user> (also when the
profile comes from the accounts workers' cache). A Google sign-in into an
unverified account with a password takes the password away and revokes
every earlier token; into a verified one it changes nothing. The reset
mail travels through the outbox too, and an unknown address leaves
nothing behind."""
import json
import os
import unittest

from iatest import (RATE_LIMIT, RESET_SUBJECT, VERIFY_SUBJECT, ApiTestCase, b64url, db_query,
                    fresh_source, iactl, mails, minute_window, request, reset_link, unique_email,
                    verify_link, wait_outbox)
from test_google import FAKE, credential, google_login

VERIFY = "/api/v1/users/verify/email/"
RESEND = "/api/v1/users/verify/email/resend/"
VERIFIED = {"detail": "Email verified."}
INVALID = {"detail": "Invalid token."}
SENT = {"detail": "Verification email sent."}
NO_ACCOUNT = {"detail": "No active account found with the given credentials"}


def outbox_rows(rcpt):
    return db_query("SELECT kind, state FROM outbox WHERE rcpt = ? ORDER BY id", (rcpt,))


class VerifyEmailTest(ApiTestCase):
    def setUp(self):
        self.email, self.password = self.signup()
        tokens = self.login(self.email, self.password)
        self.access = tokens["access"]

    def verify(self, uid, token):
        return request("POST", VERIFY, {"uidb64": uid, "token": token})

    def test_signup_sends_exactly_one_verification_mail(self):
        [msg] = mails(self.email, VERIFY_SUBJECT)
        self.assertEqual(len(mails(self.email)), 1)
        self.assertIn(self.email, str(msg["To"]))
        uid, token = verify_link(self.email)
        base = os.environ.get("PUBLIC_URL", "")
        self.assertIn("%s/users/verify/email/%s/%s/" % (base, uid, token), msg.get_content())
        # it went through the outbox, delivered by the batch processor, body wiped
        self.assertEqual(outbox_rows(self.email), [("verify", "sent")])
        self.assertEqual(db_query("SELECT body FROM outbox WHERE rcpt = ?", (self.email,)),
                         [("",)])
        # only a hash of the token is stored
        rows = db_query("SELECT token_hash FROM email_verifications WHERE user_id = "
                        "(SELECT id FROM users WHERE email = ?)", (self.email,))
        self.assertEqual(len(rows), 1)
        self.assertNotIn(token, rows[0][0])

    def test_link_verifies_once(self):
        self.assertIs(self.user_info(self.access)["email_verified"], False)
        uid, token = verify_link(self.email)
        self.assertJsonResponse(self.verify(uid, token), 200, VERIFIED)
        # seen at once, although the profile of a moment ago was cached
        self.assertIs(self.user_info(self.access)["email_verified"], True)
        self.assertJsonResponse(self.verify(uid, token), 400, INVALID)
        self.assertIs(self.user_info(self.access)["email_verified"], True)

    def test_bad_links(self):
        uid, token = verify_link(self.email)
        other, _ = self.signup()
        other_uid, other_token = verify_link(other)
        flip = token[:-1] + ("a" if token[-1] != "a" else "b")
        for u, t in ((uid, flip), (uid, other_token), (other_uid, token), (uid, ""), ("", token),
                     (b64url("999999999"), token), ("!!!", token), (uid, token.upper()),
                     (uid, None), (None, token), (uid, 42)):
            with self.subTest(uid=u, token=t):
                body = {k: v for k, v in (("uidb64", u), ("token", t)) if v is not None}
                self.assertJsonResponse(request("POST", VERIFY, body), 400, INVALID)
        self.assertIs(self.user_info(self.access)["email_verified"], False)
        self.assertJsonResponse(self.verify(uid, token), 200, VERIFIED)

    def test_expired_link(self):
        uid, token = verify_link(self.email)
        db_query("UPDATE email_verifications SET created = created - 3*86400 - 60 "
                 "WHERE user_id = (SELECT id FROM users WHERE email = ?)", (self.email,))
        self.assertJsonResponse(self.verify(uid, token), 400, INVALID)
        self.assertIs(self.user_info(self.access)["email_verified"], False)

    def test_without_trailing_slash(self):
        uid, token = verify_link(self.email)
        r = request("POST", VERIFY.rstrip("/"), {"uidb64": uid, "token": token})
        self.assertJsonResponse(r, 200, VERIFIED)

    def test_resend(self):
        self.assertJsonResponse(request("POST", RESEND), 401)
        first = verify_link(self.email)
        self.assertJsonResponse(request("POST", RESEND, token=self.access), 200, SENT)
        self.assertEqual(len(mails(self.email, VERIFY_SUBJECT)), 2)
        second = verify_link(self.email)
        self.assertNotEqual(first, second)
        self.assertJsonResponse(self.verify(*second), 200, VERIFIED)
        self.assertJsonResponse(self.verify(*first), 400, INVALID)  # retired with it
        # verified: same reply, nothing sent
        self.assertJsonResponse(request("POST", RESEND, token=self.access), 200, SENT)
        self.assertEqual(len(mails(self.email, VERIFY_SUBJECT)), 2)

    @unittest.skipUnless(RATE_LIMIT > 0, "RATE_LIMIT_PER_MINUTE=0")
    def test_resend_throttled(self):
        for attempt in range(2):
            src, start = fresh_source(), minute_window()
            passed = [request("POST", RESEND, token=self.access, source=src)
                      for _ in range(RATE_LIMIT)]
            r = request("POST", RESEND, token=self.access, source=src)
            if minute_window() != start and attempt == 0:
                continue  # the burst straddled a minute boundary
            for p in passed:
                self.assertJsonResponse(p, 200, SENT)
            self.assertJsonResponse(r, 429)
            self.assertIn("retry-after", r.headers)
            return


class ResetThroughOutboxTest(ApiTestCase):
    def test_reset_mail_goes_through_the_outbox(self):
        email, _ = self.signup()
        r = request("POST", "/api/v1/users/change/password/", {"email": email})
        self.assertJsonResponse(r, 200)
        self.assertEqual(len(mails(email, RESET_SUBJECT)), 1)
        self.assertEqual(outbox_rows(email), [("verify", "sent"), ("reset", "sent")])
        self.assertEqual(db_query("SELECT count(*) FROM outbox WHERE rcpt = ? AND body <> ''",
                                  (email,)), [(0,)])

    def test_reset_link_verifies_the_address(self):
        """A reset link is read from the mailbox too: it proves the address."""
        email, _ = self.signup()
        r = request("POST", "/api/v1/users/change/password/", {"email": email})
        self.assertJsonResponse(r, 200)
        uid, token = reset_link(email)
        r = request("POST", "/api/v1/users/password/reset/confirm/",
                    {"uidb64": uid, "token": token, "new_password": "a fresh password"})
        self.assertJsonResponse(r, 200)
        access = self.login(email, "a fresh password")["access"]
        self.assertIs(self.user_info(access)["email_verified"], True)

    def test_unknown_address_leaves_nothing(self):
        unknown = unique_email("nobody")
        r = request("POST", "/api/v1/users/change/password/", {"email": unknown})
        self.assertJsonResponse(r, 200)
        wait_outbox()
        self.assertEqual(mails(unknown), [])
        self.assertEqual(db_query("SELECT count(*) FROM outbox WHERE rcpt = ?", (unknown,)),
                         [(0,)])


class IactlMailTest(ApiTestCase):
    def test_list_and_retry(self):
        email, _ = self.signup()
        self.assertEqual(len(mails(email)), 1)
        rows = [r for r in json.loads(iactl("mail", "list", "--json").stdout) if r["to"] == email]
        self.assertEqual([(r["kind"], r["state"], r["attempts"]) for r in rows],
                         [("verify", "sent", 1)])
        self.assertNotIn("body", rows[0])
        self.assertIn(email, iactl("mail", "list", "--status", "sent").stdout)
        self.assertEqual(iactl("mail", "list", "--status", "bogus", check=False).returncode, 2)
        # a message that failed for good goes again after `iactl mail retry`
        db_query("INSERT INTO outbox(kind, rcpt, subject, body, token, state, attempts, "
                 "next_attempt, give_up, created, updated, last_error) VALUES ('contact', ?, "
                 "'retry me', 'body', 'retry1', 'failed', 9, 0, 0, strftime('%s','now'), "
                 "strftime('%s','now'), 'i/o error')", (email,))
        [(mid,)] = db_query("SELECT id FROM outbox WHERE token = 'retry1'")
        self.assertIn("i/o error", iactl("mail", "list", "--status", "failed").stdout)
        wait_outbox()
        self.assertEqual(mails(email, "retry me"), [])
        iactl("mail", "retry", str(mid))
        self.assertEqual(len(mails(email, "retry me")), 1)
        self.assertEqual(iactl("mail", "retry", str(mid), check=False).returncode, 1)


@unittest.skipUnless(FAKE, "the Google fake is not running (run through run-api.sh)")
class GoogleLinkingTest(ApiTestCase):
    def test_unverified_password_account_loses_password_and_tokens(self):
        """The pre-account takeover of issue 9 point 1: an attacker signs up
        with the victim's address; the victim signs in with Google."""
        email, password, access, refresh = self.new_user()
        body = self.assertJsonResponse(google_login(credential(email)), 200)
        self.assertIs(body["user"]["email_verified"], True)
        # the attacker's password and tokens are dead
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        self.assertJsonResponse(r, 401, NO_ACCOUNT)
        self.assertTokenRejected(access)
        r = request("POST", "/api/v1/token/refresh/", {"refresh": refresh})
        self.assertJsonResponse(r, 401)
        # the Google user's tokens work
        self.assertIs(self.user_info(body["access"])["email_verified"], True)
        # and a second Google sign-in does not revoke them
        again = self.assertJsonResponse(google_login(credential(email)), 200)
        self.assertEqual(self.user_info(body["access"])["id"], again["user"]["id"])

    def test_verified_password_account_keeps_password(self):
        email, password, access, _ = self.new_user()
        uid, token = verify_link(email)
        self.assertJsonResponse(request("POST", VERIFY, {"uidb64": uid, "token": token}), 200)
        self.assertJsonResponse(google_login(credential(email)), 200)
        self.login(email, password)
        self.assertIs(self.user_info(access)["email_verified"], True)

    def test_google_account_is_verified(self):
        email = unique_email("google")
        body = self.assertJsonResponse(google_login(credential(email)), 200)
        self.assertIs(body["user"]["email_verified"], True)
        self.assertIs(self.user_info(body["access"])["email_verified"], True)
        wait_outbox()
        self.assertEqual(mails(email), [])  # no verification mail for it


if __name__ == "__main__":
    unittest.main()
