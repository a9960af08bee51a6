"""test_password_reset.py - the reset request (no enumeration, mail only to
real accounts) and the confirm step (single use, 3-day lifetime)."""
import unittest

from iatest import (RESET_SUBJECT, ApiTestCase, b64url, db_query, mails, request, reset_link,
                    unique_email)

RESET = "/api/v1/users/change/password/"
CONFIRM = "/api/v1/users/password/reset/confirm/"
SENT = {"detail": "Password reset email sent successfully."}
INVALID = {"detail": "Invalid token."}
DONE = {"detail": "Password reset successfully."}
NO_ACCOUNT = {"detail": "No active account found with the given credentials"}


class ResetRequestTest(ApiTestCase):
    def test_same_reply_for_existing_unknown_and_google_users(self):
        existing, _ = self.signup()
        google, _ = self.signup()
        db_query("UPDATE users SET password_hash = '!' WHERE email = ?", (google,))
        unknown = unique_email("unknown")
        replies = {}
        for email in (existing, unknown, google):
            r = request("POST", RESET, {"email": email})
            self.assertJsonResponse(r, 200, SENT)
            replies[email] = r.body
        self.assertEqual(len(set(replies.values())), 1)
        self.assertEqual(len(mails(existing, RESET_SUBJECT)), 1)
        self.assertEqual(mails(unknown), [])
        self.assertEqual(mails(google, RESET_SUBJECT), [])

    def test_mail_content(self):
        email, _ = self.signup()
        self.assertJsonResponse(request("POST", RESET, {"email": email}), 200, SENT)
        [msg] = mails(email, RESET_SUBJECT)
        self.assertIn(email, str(msg["To"]))
        self.assertTrue(msg["Subject"])
        self.assertTrue(msg["From"])
        uid, token = reset_link(email)
        self.assertIn("/users/reset/password/confirm/%s/%s/" % (uid, token), msg.get_content())

    def test_email_in_other_case_gets_the_mail(self):
        email, _ = self.signup()
        self.assertJsonResponse(request("POST", RESET, {"email": email.upper()}), 200, SENT)
        self.assertEqual(len(mails(email, RESET_SUBJECT)), 1)

    def test_invalid_email(self):
        for bad in ("not-an-email", "a@b", "user@example..com", 42):
            with self.subTest(email=bad):
                r = request("POST", RESET, {"email": bad})
                self.assertJsonResponse(r, 400, {"email": ["Enter a valid email address."]})

    def test_missing_or_blank_email(self):
        for body in ({}, {"email": ""}, {"email": None}):
            with self.subTest(body=body):
                r = request("POST", RESET, body)
                self.assertEqual(list(self.assertJsonResponse(r, 400)), ["email"])

    def test_without_trailing_slash(self):
        self.assertJsonResponse(request("POST", RESET.rstrip("/"), {"email": unique_email()}), 200, SENT)


class ResetConfirmTest(ApiTestCase):
    def setUp(self):
        self.email, self.password = self.signup()
        self.assertJsonResponse(request("POST", RESET, {"email": self.email}), 200, SENT)
        self.uid, self.token = reset_link(self.email)

    def confirm(self, uid=None, token=None, new_password="the new password", **kw):
        body = {"uidb64": self.uid if uid is None else uid,
                "token": self.token if token is None else token,
                "new_password": new_password}
        body.update(kw)
        return request("POST", CONFIRM, {k: v for k, v in body.items() if v is not ...})

    def obtain(self, password):
        return request("POST", "/api/v1/token/obtain/", {"email": self.email, "password": password})

    def test_confirm_changes_the_password_once(self):
        self.assertJsonResponse(self.confirm(), 200, DONE)
        self.assertJsonResponse(self.obtain("the new password"), 200)
        self.assertJsonResponse(self.obtain(self.password), 401, NO_ACCOUNT)
        # the link is single use
        self.assertJsonResponse(self.confirm(new_password="yet another password"), 400, INVALID)
        self.assertJsonResponse(self.obtain("yet another password"), 401, NO_ACCOUNT)
        self.assertJsonResponse(self.obtain("the new password"), 200)

    def test_wrong_token(self):
        t = self.token
        for bad in (t[:-1] + ("a" if t[-1] != "a" else "b"), t[:-1], t + "a", "x", "",
                    "../" + t, t.upper() if t.upper() != t else t.lower()):
            with self.subTest(token=bad):
                self.assertJsonResponse(self.confirm(token=bad), 400, INVALID)
        # the real link still works afterwards
        self.assertJsonResponse(self.confirm(), 200, DONE)

    def test_wrong_uidb64(self):
        other, _ = self.signup()
        other_id = db_query("SELECT id FROM users WHERE email = ?", (other,))[0][0]
        for bad in (b64url(str(other_id)), b64url("999999999"), "!!!", "", "MA", b64url("-1")):
            with self.subTest(uidb64=bad):
                self.assertJsonResponse(self.confirm(uid=bad), 400, INVALID)
        self.assertJsonResponse(self.obtain(self.password), 200)
        self.assertJsonResponse(self.confirm(), 200, DONE)

    def test_token_of_another_user(self):
        other, _ = self.signup()
        self.assertJsonResponse(request("POST", RESET, {"email": other}), 200, SENT)
        other_uid, other_token = reset_link(other)
        self.assertJsonResponse(self.confirm(token=other_token), 400, INVALID)
        self.assertJsonResponse(self.confirm(uid=other_uid), 400, INVALID)

    def test_missing_new_password(self):
        for pw in (..., None, ""):
            with self.subTest(new_password=pw):
                self.assertJsonResponse(self.confirm(new_password=pw), 400,
                                        {"detail": "New password is required."})
        # a rejected attempt does not use the link up
        self.assertJsonResponse(self.confirm(), 200, DONE)

    def test_missing_uid_or_token(self):
        self.assertJsonResponse(self.confirm(uid=...), 400, INVALID)
        self.assertJsonResponse(self.confirm(token=...), 400, INVALID)

    def test_bad_new_password_length(self):
        r = self.confirm(new_password="short")
        self.assertJsonResponse(r, 400)
        r = self.confirm(new_password="x" * 129)
        self.assertJsonResponse(r, 400)
        self.assertJsonResponse(self.obtain(self.password), 200)
        self.assertJsonResponse(self.confirm(), 200, DONE)

    def test_128_emoji_new_password_signs_in(self):
        # counted in code points at reset as at signup and login (issue 9)
        password = "\U0001F511" * 128
        self.assertJsonResponse(self.confirm(new_password=password + "x"), 400)
        self.assertJsonResponse(self.confirm(new_password=password), 200, DONE)
        self.assertJsonResponse(self.obtain(password), 200)

    def test_expired_link(self):
        db_query("UPDATE password_resets SET created = created - 4*86400 "
                 "WHERE user_id = (SELECT id FROM users WHERE email = ?)", (self.email,))
        self.assertJsonResponse(self.confirm(), 400, INVALID)
        self.assertJsonResponse(self.obtain(self.password), 200)

    def test_link_almost_3_days_old_still_works(self):
        db_query("UPDATE password_resets SET created = created - 3*86400 + 120 "
                 "WHERE user_id = (SELECT id FROM users WHERE email = ?)", (self.email,))
        self.assertJsonResponse(self.confirm(), 200, DONE)

    def test_token_not_stored_in_clear(self):
        rows = db_query("SELECT token_hash FROM password_resets "
                        "WHERE user_id = (SELECT id FROM users WHERE email = ?)", (self.email,))
        self.assertEqual(len(rows), 1)
        self.assertNotIn(self.token, rows[0][0])

    def test_without_trailing_slash(self):
        r = request("POST", CONFIRM.rstrip("/"),
                    {"uidb64": self.uid, "token": self.token, "new_password": "the new password"})
        self.assertJsonResponse(r, 200, DONE)


if __name__ == "__main__":
    unittest.main()
