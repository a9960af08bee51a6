"""test_bad_input.py - hostile and odd request bodies against the accounts
endpoints: each must get a clear 4xx JSON reply, and both the health
program and the accounts program must still answer afterwards."""
import json
import unittest
import uuid

from iatest import ApiTestCase, db_query, request, unique_email

JSON_CT = "application/json; charset=utf-8"
ENDPOINTS = ("/api/v1/users/signup/", "/api/v1/token/obtain/", "/api/v1/token/refresh/",
             "/api/v1/users/change/password/", "/api/v1/users/password/reset/confirm/",
             "/api/v1/contact/", "/api/v1/google/login/")


class BadInputTest(ApiTestCase):
    def tearDown(self):
        self.assertHealthy()
        self.assertJsonResponse(request("GET", "/api/v1/public/config/"), 200)

    def assertClear4xx(self, r, status=None):
        self.assertEqual(r.headers.get("content-type"), JSON_CT, r)
        body = r.json
        self.assertIsInstance(body, dict, r)
        self.assertTrue(400 <= r.status < 500, r)
        if status is not None:
            self.assertEqual(r.status, status, r)
        return body

    def post_raw(self, path, raw, content_type="application/json"):
        return request("POST", path, raw=raw, content_type=content_type)

    def test_malformed_json_variants(self):
        variants = [b"{", b"}", b"[", b'{"a"', b'{"a":}', b'{"a":1,}', b'{"a":1}}', b'{"a":1} x',
                    b"{'a':1}", b'{"a":tru}', b'{"a":"\\x"}', b'{"a":"\\u12"}', b"\xff\xfe{}",
                    b"NaN", b'{"a":NaN}', b'{"a":Infinity}', b"\x00", b'{"a":"unterminated']
        for path in ENDPOINTS:
            for raw in variants:
                with self.subTest(path=path, raw=raw):
                    body = self.assertClear4xx(self.post_raw(path, raw), 400)
                    self.assertEqual(list(body), ["detail"])
                    self.assertTrue(body["detail"].startswith("JSON parse error - "), body)

    def test_lenient_json_forms_are_parse_errors(self):
        """Input that RFC 8259 (and DRF's json.loads) rejects but a lenient
        parser might take: leading zeros, raw NUL and control characters."""
        variants = [b'{"email":01}', b"{\x00}", b'{"email":"a\x00b@example.com"}',
                    b'{"email":"a\x01b@example.com"}', b'{"email":"a\tb@example.com"}']
        for raw in variants:
            with self.subTest(raw=raw):
                body = self.assertClear4xx(self.post_raw("/api/v1/token/obtain/", raw), 400)
                self.assertTrue(body.get("detail", "").startswith("JSON parse error - "), body)

    def test_invalid_utf8_in_string(self):
        for path in ("/api/v1/users/signup/", "/api/v1/contact/"):
            with self.subTest(path=path):
                r = self.post_raw(path, b'{"email":"\xc3","name":"\xff\xfe"}')
                self.assertClear4xx(r, 400)

    def test_arrays_and_scalars_instead_of_objects(self):
        for path in ENDPOINTS:
            for raw in (b"[]", b'[{"email":"a@example.com"}]', b'"email"', b"42", b"true", b"null"):
                with self.subTest(path=path, raw=raw):
                    body = self.assertClear4xx(self.post_raw(path, raw), 400)
                    self.assertIn("non_field_errors", body)

    def test_empty_body(self):
        for path in ENDPOINTS:
            with self.subTest(path=path):
                self.assertClear4xx(self.post_raw(path, b""), 400)

    def test_long_email(self):
        long_email = "a" * 10000 + "@example.com"
        r = request("POST", "/api/v1/users/signup/", {"email": long_email, "password": "long enough pw"})
        self.assertEqual(list(self.assertClear4xx(r, 400)), ["email"])
        r = request("POST", "/api/v1/token/obtain/", {"email": long_email, "password": "long enough pw"})
        self.assertJsonResponse(r, 400, {"detail": "Invalid email format."})
        r = request("POST", "/api/v1/users/change/password/", {"email": long_email})
        self.assertJsonResponse(r, 400, {"email": ["Enter a valid email address."]})
        r = request("POST", "/api/v1/contact/", {"email": long_email})
        self.assertIn("email", self.assertClear4xx(r, 400))

    def test_long_password_on_login(self):
        email, _ = self.signup()
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": "p" * 60000})
        self.assertClear4xx(r)

    def test_unicode_names(self):
        names = {"first_name": "Zoë 李小龍", "last_name": "😀" * 30}
        email, password, access, _ = self.new_user(**names)
        info = self.user_info(access)
        self.assertEqual((info["first_name"], info["last_name"]), (names["first_name"], names["last_name"]))
        r = request("POST", "/api/v1/users/signup/", {"email": unique_email(), "password": "long enough pw",
                                                       "last_name": "😀" * 31})
        self.assertJsonResponse(r, 400, {"last_name": ["Ensure this field has no more than 30 characters."]})

    def test_unicode_password(self):
        email, password = self.signup(password="pässwörd-🔑-密码")
        self.login(email, password)
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": "passwörd-🔑-密码"})
        self.assertJsonResponse(r, 401)

    def test_unicode_emails(self):
        for bad in ("zoë@example.com", "user@exämple.com", "用户@例子.广告"):
            with self.subTest(email=bad):
                r = request("POST", "/api/v1/users/signup/", {"email": bad, "password": "long enough pw"})
                self.assertEqual(list(self.assertClear4xx(r, 400)), ["email"])
                r = request("POST", "/api/v1/token/obtain/", {"email": bad, "password": "long enough pw"})
                self.assertClear4xx(r, r.status)
                self.assertIn(r.status, (400, 401))

    def test_nul_bytes_in_strings(self):
        """DRF rejects strings with NUL characters ("Null characters are not
        allowed."); C strings must not silently cut them off."""
        victim = unique_email("nul")
        r = request("POST", "/api/v1/users/signup/",
                    {"email": victim + "\u0000.evil.example", "password": "long enough pw"})
        self.assertEqual(list(self.assertClear4xx(r, 400)), ["email"])
        self.assertEqual(db_query("SELECT count(*) FROM users WHERE email = ?", (victim,)), [(0,)])
        r = request("POST", "/api/v1/users/signup/",
                    {"email": unique_email(), "password": "short\u0000 but long after the nul"})
        self.assertEqual(list(self.assertClear4xx(r, 400)), ["password"])
        r = request("POST", "/api/v1/users/signup/",
                    {"email": unique_email(), "password": "long enough pw", "first_name": "a\u0000b"})
        self.assertEqual(list(self.assertClear4xx(r, 400)), ["first_name"])

    def test_nul_byte_in_login(self):
        email, password = self.signup()
        r = request("POST", "/api/v1/token/obtain/",
                    {"email": email, "password": password + "\u0000anything"})
        self.assertClear4xx(r)
        r = request("POST", "/api/v1/token/obtain/",
                    {"email": email + "\u0000x", "password": password})
        self.assertClear4xx(r)

    def test_nul_byte_in_contact(self):
        subject = "nul " + uuid.uuid4().hex
        r = request("POST", "/api/v1/contact/", {"name": "a\u0000b", "email": "a@example.com",
                                                 "subject": subject, "message": "m" * 60,
                                                 "confirmHuman": True})
        self.assertEqual(list(self.assertClear4xx(r, 400)), ["name"])

    def test_text_plain_is_415(self):
        raw = json.dumps({"email": "a@example.com", "password": "x"}).encode()
        for path in ENDPOINTS:
            with self.subTest(path=path):
                r = self.post_raw(path, raw, "text/plain")
                self.assertJsonResponse(r, 415, {"detail": 'Unsupported media type "text/plain" in request.'})

    def test_form_encoded_is_415(self):
        r = self.post_raw("/api/v1/token/obtain/", b"email=a%40example.com&password=x",
                          "application/x-www-form-urlencoded")
        self.assertClear4xx(r, 415)

    def test_missing_content_type(self):
        raw = json.dumps({"email": "a@example.com", "password": "x"}).encode()
        for path in ENDPOINTS:
            with self.subTest(path=path):
                r = request("POST", path, raw=raw)
                self.assertClear4xx(r, 415)

    def test_json_with_charset_is_fine(self):
        r = self.post_raw("/api/v1/token/obtain/", b"{}", "application/json; charset=utf-8")
        self.assertJsonResponse(r, 400, {"detail": "Email and password are required."})

    def test_huge_numbers(self):
        cases = [("/api/v1/users/signup/", b'{"email": 1e400, "password": 99999999999999999999999999}'),
                 ("/api/v1/token/obtain/", b'{"email": -1e400, "password": 1e-400}'),
                 ("/api/v1/token/refresh/", b'{"refresh": 1e999}'),
                 ("/api/v1/users/change/password/", b'{"email": 123456789012345678901234567890}'),
                 ("/api/v1/contact/", b'{"confirmHuman": 1e400, "name": 1e308}'),
                 ("/api/v1/users/password/reset/confirm/",
                  b'{"uidb64": 1e400, "token": -0, "new_password": 1e400}')]
        for path, raw in cases:
            with self.subTest(path=path):
                self.assertClear4xx(self.post_raw(path, raw))

    def test_deeply_nested(self):
        for depth in (100, 2000, 20000):
            raw = b'{"email":' + b"[" * depth + b"]" * depth + b"}"
            for path in ("/api/v1/users/signup/", "/api/v1/token/obtain/", "/api/v1/contact/"):
                with self.subTest(path=path, depth=depth):
                    self.assertClear4xx(self.post_raw(path, raw), 400)
            raw = b"[" * depth + b"]" * depth
            self.assertClear4xx(self.post_raw("/api/v1/token/obtain/", raw), 400)

    def test_duplicate_keys(self):
        raw = b'{"email": "a@example.com", "email": "b@example.com", "password": "x"}'
        self.assertClear4xx(self.post_raw("/api/v1/token/obtain/", raw))

    def test_bad_authorization_headers(self):
        for h in ("Bearer", "Bearer  ", "Bearer a b c", "Bearer " + "x" * 6000, "Token abc",
                  "Bearer \u00e9".encode("utf-8").decode("latin-1"), "Bearer ....", "Bearer a.b"):
            with self.subTest(header=h[:20]):
                r = request("GET", "/api/v1/user/info/", headers={"Authorization": h})
                self.assertClear4xx(r, 401)

    def test_long_and_odd_paths(self):
        for path in ("/api/v1/" + "a" * 3000 + "/", "/api/v1/user/info/%00/", "/api/v1//user/info/",
                     "/api/v1/user/info/../../", "/api/v1/%2e%2e/health/"):
            with self.subTest(path=path[:30]):
                r = request("GET", path)
                self.assertIn(r.status, (200, 400, 401, 404, 414), r)


if __name__ == "__main__":
    unittest.main()
