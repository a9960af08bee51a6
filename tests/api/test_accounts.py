"""test_accounts.py - signup, token obtain (both paths) and /user/info over HTTP."""
import base64
import hashlib
import unittest

from iatest import ApiTestCase, db_query, iactl, request, unique_email

SIGNUP = "/api/v1/users/signup/"
OBTAIN_PATHS = ("/api/v1/token/obtain/", "/api/v1/custom/token/obtain/")
CREATED = {"detail": "User created successfully."}
NO_ACCOUNT = {"detail": "No active account found with the given credentials"}
USER_KEYS = {"id", "email", "first_name", "last_name", "credits", "feature_flags", "is_staff",
             "email_verified"}


class SignupTest(ApiTestCase):
    def signup_error(self, body, expected=None):
        r = request("POST", SIGNUP, body)
        self.assertJsonResponse(r, 400, expected)
        return r.json

    def test_signup_creates_user_with_credits_and_flag(self):
        email, password, access, _ = self.new_user(first_name="Ada", last_name="Lovelace")
        info = self.user_info(access)
        self.assertEqual(set(info), USER_KEYS)
        self.assertIsInstance(info["id"], int)
        self.assertGreater(info["id"], 0)
        self.assertEqual(info["email"], email)
        self.assertEqual(info["first_name"], "Ada")
        self.assertEqual(info["last_name"], "Lovelace")
        self.assertEqual(info["credits"], 100)
        self.assertIn("show_credits", info["feature_flags"])
        self.assertIs(info["is_staff"], False)

    def test_signup_bonus_in_credit_history(self):
        _, _, access, _ = self.new_user()
        r = request("GET", "/api/v1/credits/history/", token=access)
        body = self.assertJsonResponse(r, 200)
        self.assertEqual(body["count"], 1)
        entry = body["results"][0]
        self.assertEqual((entry["delta"], entry["balance_after"], entry["reason"], entry["image_id"]),
                         (100, 100, "signup_bonus", None))

    def test_signup_without_names_defaults_to_empty(self):
        _, _, access, _ = self.new_user()
        info = self.user_info(access)
        self.assertEqual((info["first_name"], info["last_name"]), ("", ""))

    def test_empty_honeypot_is_fine(self):
        self.signup(website="")

    def test_duplicate_email_in_other_case(self):
        email, _ = self.signup()
        self.signup_error({"email": email.upper(), "password": "another password"},
                          {"email": ["user with this email already exists."]})
        self.signup_error({"email": email, "password": "another password"},
                          {"email": ["user with this email already exists."]})

    def test_honeypot_filled(self):
        email = unique_email()
        self.signup_error({"email": email, "password": "correct horse battery",
                           "website": "http://spam.example"}, {"detail": "Error Occurred."})
        # nothing was created: the same email still signs up
        self.signup(email=email)

    def test_password_length_bounds(self):
        self.signup_error({"email": unique_email(), "password": "x" * 7},
                          {"password": ["Ensure this field has at least 8 characters."]})
        self.signup_error({"email": unique_email(), "password": "x" * 129},
                          {"password": ["Ensure this field has no more than 128 characters."]})
        email, _ = self.signup(password="y" * 8)
        self.login(email, "y" * 8)
        email, _ = self.signup(password="z" * 128)
        self.login(email, "z" * 128)

    def test_names_without_control_characters(self):
        # issue 9: a name holding ESC [ 2 J was stored and later cleared the
        # admin's screen in `iactl user show`
        for field in ("first_name", "last_name"):
            for bad in ("Eve\x1b[2J", "two\nlines", "tab\there", "cr\r", "del\x7f", "csi\x9b2J",
                        "nul\x00"):
                with self.subTest(field=field, value=bad):
                    email = unique_email("ctl")
                    body = self.signup_error({"email": email, "password": "correct horse battery",
                                              field: bad})
                    self.assertEqual(list(body), [field])
                    self.assertEqual(db_query("SELECT count(*) FROM users WHERE email = ?",
                                              (email,)), [(0,)])
        self.signup_error({"email": unique_email(), "password": "correct horse battery",
                           "first_name": "Eve\x1b[2J"},
                          {"first_name": ["Control characters are not allowed."]})
        _, _, access, _ = self.new_user(first_name="Zoë", last_name="O'Brien-Smíth")
        self.assertEqual(self.user_info(access)["first_name"], "Zoë")

    def test_name_length_bounds(self):
        self.signup_error({"email": unique_email(), "password": "correct horse battery",
                           "first_name": "a" * 31},
                          {"first_name": ["Ensure this field has no more than 30 characters."]})
        self.signup_error({"email": unique_email(), "password": "correct horse battery",
                           "last_name": "b" * 31},
                          {"last_name": ["Ensure this field has no more than 30 characters."]})
        self.signup(first_name="a" * 30, last_name="b" * 30)

    def test_missing_fields(self):
        self.signup_error({"password": "correct horse battery"}, {"email": ["This field is required."]})
        self.signup_error({"email": unique_email()}, {"password": ["This field is required."]})
        body = self.signup_error({})
        self.assertEqual(set(body), {"email", "password"})

    def test_blank_email(self):
        body = self.signup_error({"email": "", "password": "correct horse battery"})
        self.assertEqual(list(body), ["email"])

    def test_invalid_email(self):
        for bad in ("not-an-email", "a@b", "@example.com", "a@@example.com", "a b@example.com",
                    "a@example..com"):
            with self.subTest(email=bad):
                self.signup_error({"email": bad, "password": "correct horse battery"},
                                  {"email": ["Enter a valid email address."]})

    def test_wrong_json_types(self):
        body = self.signup_error({"email": unique_email(), "password": 123})
        self.assertEqual(list(body), ["password"])
        self.signup_error({"email": [], "password": "correct horse battery"},
                          {"email": ["Not a valid string."]})
        body = self.signup_error({"email": {"a": 1}, "password": "correct horse battery"})
        self.assertEqual(list(body), ["email"])
        body = self.signup_error({"email": unique_email(), "password": "correct horse battery",
                                  "first_name": ["x"]})
        self.assertEqual(list(body), ["first_name"])
        body = self.signup_error({"email": True, "password": False})
        self.assertEqual(set(body), {"email", "password"})

    def test_several_field_errors_at_once(self):
        body = self.signup_error({"email": "nope", "password": "short", "first_name": "c" * 31})
        self.assertEqual(set(body), {"email", "password", "first_name"})
        for v in body.values():
            self.assertIsInstance(v, list)
            self.assertTrue(all(isinstance(m, str) for m in v))


class TokenObtainTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.email = unique_email("obtain")
        cls.password = "obtain password 1"
        r = request("POST", SIGNUP, {"email": cls.email, "password": cls.password})
        assert r.status == 201, r

    def test_both_paths_issue_a_pair(self):
        for path in OBTAIN_PATHS:
            with self.subTest(path=path):
                r = request("POST", path, {"email": self.email, "password": self.password})
                body = self.assertJsonResponse(r, 200)
                self.assertEqual(set(body), {"refresh", "access"})
                self.assertEqual(self.user_info(body["access"])["email"], self.email)

    def test_paths_without_trailing_slash(self):
        for path in OBTAIN_PATHS:
            r = request("POST", path.rstrip("/"), {"email": self.email, "password": self.password})
            self.assertJsonResponse(r, 200)

    def test_email_case_insensitive(self):
        r = request("POST", OBTAIN_PATHS[0], {"email": self.email.upper(), "password": self.password})
        self.assertJsonResponse(r, 200)

    def test_missing_fields(self):
        for path in OBTAIN_PATHS:
            for body in ({}, {"email": self.email}, {"password": self.password},
                         {"email": "", "password": self.password}, {"email": self.email, "password": ""},
                         {"email": None, "password": self.password}):
                with self.subTest(path=path, body=body):
                    r = request("POST", path, body)
                    self.assertJsonResponse(r, 400, {"detail": "Email and password are required."})

    def test_invalid_email_format(self):
        for path in OBTAIN_PATHS:
            r = request("POST", path, {"email": "not-an-email", "password": self.password})
            self.assertJsonResponse(r, 400, {"detail": "Invalid email format."})

    def test_wrong_password_and_unknown_email_look_the_same(self):
        for path in OBTAIN_PATHS:
            wrong = request("POST", path, {"email": self.email, "password": "wrong password"})
            unknown = request("POST", path, {"email": unique_email("nobody"), "password": self.password})
            self.assertJsonResponse(wrong, 401, NO_ACCOUNT)
            self.assertJsonResponse(unknown, 401, NO_ACCOUNT)
            self.assertEqual(wrong.body, unknown.body)

    def test_128_emoji_password_signs_in(self):
        # issue 9: signup counted code points (128 emoji = 512 bytes passed) but
        # login bounded the password at 128 bytes, so the account could never sign in
        password = "\U0001F600" * 128
        email, _ = self.signup(password=password)
        for path in OBTAIN_PATHS:
            r = request("POST", path, {"email": email, "password": password})
            self.assertJsonResponse(r, 200)
        # one more code point is past the bound at login too, without a hash
        r = request("POST", OBTAIN_PATHS[0], {"email": email, "password": password + "\U0001F600"})
        self.assertJsonResponse(r, 401, NO_ACCOUNT)
        r = request("POST", SIGNUP, {"email": unique_email(), "password": password + "x"})
        self.assertJsonResponse(r, 400, {"password": ["Ensure this field has no more than 128 characters."]})

    def test_password_is_case_sensitive(self):
        r = request("POST", OBTAIN_PATHS[0], {"email": self.email, "password": self.password.upper()})
        self.assertJsonResponse(r, 401, NO_ACCOUNT)

    def test_banned_user_gets_403(self):
        email, password = self.signup()
        iactl("user", "ban", email, "--reason", "x")
        for path in OBTAIN_PATHS:
            r = request("POST", path, {"email": email, "password": password})
            self.assertJsonResponse(r, 403, {"detail": "Account is suspended."})
        iactl("user", "unban", email)
        self.login(email, password)


def django_pbkdf2(password, salt="Zl4Jc9sSmtmFJ0a1Q7Pa2e", rounds=100000):
    """A hash as Django's default PBKDF2PasswordHasher stores it."""
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return "pbkdf2_sha256$%d$%s$%s" % (rounds, salt, base64.b64encode(key).decode())


class DjangoPasswordTest(ApiTestCase):
    """Accounts carried over from the Django service sign in with their old
    password; the first sign-in replaces the PBKDF2 hash with Argon2id."""

    def setUp(self):
        self.email, _ = self.signup()
        db_query("UPDATE users SET password_hash = ? WHERE email = ?",
                 (django_pbkdf2("old django pässword"), self.email))

    def stored_hash(self):
        return db_query("SELECT password_hash FROM users WHERE email = ?", (self.email,))[0][0]

    def test_old_password_signs_in_and_is_upgraded(self):
        tokens = self.login(self.email, "old django pässword")
        self.assertEqual(self.user_info(tokens["access"])["email"], self.email)
        self.assertTrue(self.stored_hash().startswith("$argon2id$"), self.stored_hash())
        self.login(self.email, "old django pässword")  # and again, now with Argon2id
        self.user_info(tokens["access"])  # the upgrade revokes nothing

    def test_wrong_password_is_refused_and_changes_nothing(self):
        before = self.stored_hash()
        r = request("POST", "/api/v1/token/obtain/",
                    {"email": self.email, "password": "old django password"})
        self.assertStatus(r, 401)
        self.assertEqual(self.stored_hash(), before)


class UserInfoTest(ApiTestCase):
    def test_no_header(self):
        r = request("GET", "/api/v1/user/info/")
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)
        self.assertIn("www-authenticate", r.headers)

    def test_basic_auth_header(self):
        r = request("GET", "/api/v1/user/info/", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)

    def test_bearer_without_token(self):
        r = request("GET", "/api/v1/user/info/", headers={"Authorization": "Bearer "})
        self.assertJsonResponse(r, 401)
        self.assertIn(r.json, (self.NO_CREDENTIALS, self.TOKEN_INVALID))

    def test_shape_and_types(self):
        _, _, access, _ = self.new_user(first_name="Zoë", last_name="李")
        r = request("GET", "/api/v1/user/info", token=access)  # no trailing slash
        info = self.assertJsonResponse(r, 200)
        self.assertEqual(set(info), USER_KEYS)
        self.assertIsInstance(info["credits"], int)
        self.assertIsInstance(info["feature_flags"], list)
        self.assertEqual((info["first_name"], info["last_name"]), ("Zoë", "李"))

    def test_banned_user_token_issued_before_ban(self):
        email, _, access, refresh = self.new_user()
        self.user_info(access)
        iactl("user", "ban", email, "--reason", "x")
        r = request("GET", "/api/v1/user/info/", token=access)
        self.assertJsonResponse(r, 403, self.SUSPENDED)
        r = request("POST", "/api/v1/token/refresh/", {"refresh": refresh})
        self.assertIn(r.status, (401, 403), r)
        iactl("user", "unban", email)
        self.user_info(access)


if __name__ == "__main__":
    unittest.main()
