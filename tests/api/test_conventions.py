"""test_conventions.py - API.md "Conventions", "Health" and the settings the
API shows: 404/405/413/400 replies, trailing slashes, CORS, content types,
throttling, /health/, public config and the Google login failures."""
import json
import os
import unittest

from iatest import (CORS_ORIGIN, RATE_LIMIT, ApiTestCase, fresh_source, log_dirs, minute_window,
                    request, unique_email)

JSON_CT = "application/json; charset=utf-8"


class RoutingTest(ApiTestCase):
    def test_unknown_api_path(self):
        for path in ("/api/v1/nope/", "/api/v1/nope", "/api/v1/", "/api/v1/users/",
                     "/api/v1/users/signup/extra/", "/api/v2/users/signup/", "/api/v1/USER/INFO/"):
            with self.subTest(path=path):
                r = request("GET", path)
                self.assertJsonResponse(r, 404, {"detail": "Not found."})
        r = request("POST", "/api/v1/nope/", {"a": 1})
        self.assertJsonResponse(r, 404, {"detail": "Not found."})

    def test_path_without_trailing_slash(self):
        r = request("GET", "/api/v1/public/config")
        self.assertJsonResponse(r, 200)
        r = request("POST", "/api/v1/users/signup", {"email": unique_email(), "password": "long enough pw"})
        self.assertJsonResponse(r, 201, {"detail": "User created successfully."})

    def test_query_string_is_not_part_of_the_path(self):
        self.assertJsonResponse(request("GET", "/api/v1/public/config/?x=1"), 200)

    def test_wrong_method(self):
        cases = [("GET", "/api/v1/users/signup/", "POST"), ("PUT", "/api/v1/token/obtain/", "POST"),
                 ("DELETE", "/api/v1/user/info/", "GET"), ("POST", "/api/v1/public/config/", "GET"),
                 ("PATCH", "/api/v1/contact/", "POST"), ("GET", "/api/v1/token/refresh", "POST")]
        for method, path, allowed in cases:
            with self.subTest(method=method, path=path):
                r = request(method, path)
                self.assertJsonResponse(r, 405, {"detail": 'Method "%s" not allowed.' % method})
                allow = [m.strip() for m in r.headers.get("allow", "").split(",")]
                self.assertIn(allowed, allow)
                self.assertNotIn(method, allow)

    def test_head_of_post_only_path(self):
        r = request("HEAD", "/api/v1/users/signup/")
        self.assertEqual(r.status, 405, r)


class CorsTest(ApiTestCase):
    def setUp(self):
        if CORS_ORIGIN is None:
            self.skipTest("run-api.sh sets CORS_ALLOWED_ORIGINS")

    def preflight(self, origin, path="/api/v1/token/obtain/"):
        hdrs = {"Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization"}
        if origin:
            hdrs["Origin"] = origin
        return request("OPTIONS", path, headers=hdrs)

    def test_preflight_allowed_origin(self):
        for path in ("/api/v1/token/obtain/", "/api/v1/user/info/", "/api/v1/users/signup"):
            with self.subTest(path=path):
                r = self.preflight(CORS_ORIGIN, path)
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.body, b"")
                self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)
                self.assertIn("POST", r.headers.get("access-control-allow-methods", ""))
                allow_headers = r.headers.get("access-control-allow-headers", "").lower()
                self.assertIn("authorization", allow_headers)
                self.assertIn("content-type", allow_headers)

    def test_preflight_other_origin(self):
        for origin in ("http://evil.example", CORS_ORIGIN + ".evil.example", None):
            with self.subTest(origin=origin):
                r = self.preflight(origin)
                self.assertEqual(r.status, 204, r)
                self.assertNotIn("access-control-allow-origin", r.headers)

    def test_simple_request_headers(self):
        r = request("GET", "/api/v1/public/config/", headers={"Origin": CORS_ORIGIN})
        self.assertJsonResponse(r, 200)
        self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)
        r = request("GET", "/api/v1/public/config/", headers={"Origin": "http://evil.example"})
        self.assertJsonResponse(r, 200)
        self.assertNotIn("access-control-allow-origin", r.headers)
        # error replies carry them too, or the browser cannot read the error
        r = request("GET", "/api/v1/user/info/", headers={"Origin": CORS_ORIGIN})
        self.assertJsonResponse(r, 401)
        self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)


class BodyTest(ApiTestCase):
    def test_malformed_json(self):
        for raw in (b"{", b'{"email": }', b"{'email': 'a'}", b'{"a":1}}', b"nope"):
            with self.subTest(raw=raw):
                r = request("POST", "/api/v1/token/obtain/", raw=raw, content_type="application/json")
                body = self.assertJsonResponse(r, 400)
                self.assertEqual(list(body), ["detail"])
                self.assertTrue(body["detail"].startswith("JSON parse error - "), body)

    def test_body_too_large(self):
        big = {"email": "a@example.com", "password": "p" * (64 * 1024)}
        r = request("POST", "/api/v1/token/obtain/", big)
        self.assertJsonResponse(r, 413, {"detail": "Request body too large."})
        r = request("POST", "/api/v1/contact/", {"message": "m" * 70000})
        self.assertJsonResponse(r, 413, {"detail": "Request body too large."})

    def test_body_at_limit_is_read(self):
        prefix = b'{"email": "x@example.com", "pad": "'
        raw = prefix + b"a" * (64 * 1024 - len(prefix) - 2) + b'"}'
        self.assertEqual(len(raw), 64 * 1024)
        r = request("POST", "/api/v1/users/change/password/", raw=raw, content_type="application/json")
        self.assertJsonResponse(r, 200, {"detail": "Password reset email sent successfully."})
        r = request("POST", "/api/v1/users/change/password/", raw=raw[:-2] + b'a"}',
                    content_type="application/json")
        self.assertJsonResponse(r, 413, {"detail": "Request body too large."})

    def test_body_beyond_nginx_limit(self):
        raw = b"{" + b" " * (12 * 1024 * 1024) + b"}"
        try:
            r = request("POST", "/api/v1/contact/", raw=raw, content_type="application/json")
        except (BrokenPipeError, ConnectionResetError):
            return  # nginx may close before the whole body is sent
        self.assertJsonResponse(r, 413, {"detail": "Request body too large."})

    def test_every_reply_is_json(self):
        cases = [("GET", "/api/v1/public/config/", None), ("GET", "/api/v1/user/info/", None),
                 ("GET", "/api/v1/nope/", None), ("GET", "/api/v1/contact/", None),
                 ("POST", "/api/v1/token/obtain/", {}), ("POST", "/api/v1/token/refresh/", {}),
                 ("POST", "/api/v1/users/signup/", {}), ("POST", "/api/v1/contact/", {}),
                 ("POST", "/api/v1/google/login/", {}), ("GET", "/health/", None),
                 ("POST", "/api/v1/users/password/reset/confirm/", {})]
        for method, path, body in cases:
            with self.subTest(method=method, path=path):
                r = request(method, path, body)
                self.assertEqual(r.headers.get("content-type"), JSON_CT, r)
                self.assertIsInstance(json.loads(r.body), dict)
                self.assertEqual(int(r.headers.get("content-length", len(r.body))), len(r.body))


class ThrottleTest(ApiTestCase):
    def setUp(self):
        if RATE_LIMIT <= 0:
            self.skipTest("throttling is off")

    def test_login(self):
        # cheap requests (no password hashing) count as attempts too
        self.assertThrottles("POST", "/api/v1/token/obtain/", {"email": "a@example.com"})

    def test_login_paths_share_one_budget(self):
        for attempt in range(2):
            src, start = fresh_source(), minute_window()
            for i in range(RATE_LIMIT):
                path = "/api/v1/token/obtain/" if i % 2 else "/api/v1/custom/token/obtain/"
                self.assertNotEqual(request("POST", path, {}, source=src).status, 429)
            r = request("POST", "/api/v1/custom/token/obtain/", {}, source=src)
            if minute_window() == start:
                break
        self.assertJsonResponse(r, 429)

    def test_login_with_real_credentials(self):
        email, password = self.signup()
        r = self.assertThrottles("POST", "/api/v1/token/obtain/", {"email": email, "password": "wrong!"})
        self.assertNotIn("access", r.json)

    def test_signup(self):
        self.assertThrottles("POST", "/api/v1/users/signup/", {"email": "bad"})

    def test_reset(self):
        self.assertThrottles("POST", "/api/v1/users/change/password/", {"email": "bad"})

    def test_google(self):
        self.assertThrottles("POST", "/api/v1/google/login/", {})

    def test_contact(self):
        # issue 9: the contact form (no login, sends mail) is throttled like signup
        self.assertThrottles("POST", "/api/v1/contact/", {})

    def test_other_endpoints_not_throttled(self):
        src = fresh_source()
        for _ in range(RATE_LIMIT + 5):
            r = request("GET", "/api/v1/public/config/", source=src)
            self.assertJsonResponse(r, 200)


class HealthTest(ApiTestCase):
    def test_health(self):
        self.assertHealthy()
        self.assertJsonResponse(request("GET", "/health"), 200, {"status": "ok", "db": "ok", "storage": "ok", "batch": "ok"})


class PublicConfigTest(ApiTestCase):
    def test_public_config(self):
        r = request("GET", "/api/v1/public/config/")
        body = self.assertJsonResponse(r, 200)
        self.assertEqual(set(body), {"GOOGLE_CLIENT_ID", "GOOGLE_LOGIN_REDIRECT_URI",
                                     "STRIPE_PUBLIC_KEY", "CREDIT_MULTIPLIER", "DEV_MODE"})
        self.assertEqual(body["CREDIT_MULTIPLIER"], 50)
        self.assertIsInstance(body["CREDIT_MULTIPLIER"], int)
        self.assertIs(body["DEV_MODE"], True)
        for k in ("GOOGLE_CLIENT_ID", "GOOGLE_LOGIN_REDIRECT_URI", "STRIPE_PUBLIC_KEY"):
            self.assertIsInstance(body[k], str)

    def test_no_secrets(self):
        text = request("GET", "/api/v1/public/config/").body.decode()
        for name in ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
            v = os.environ.get(name)
            if v:
                self.assertNotIn(v, text)


class GoogleLoginTest(ApiTestCase):
    def test_credential_missing(self):
        for body in ({}, {"credential": ""}, {"credential": None}):
            with self.subTest(body=body):
                r = request("POST", "/api/v1/google/login/", body)
                self.assertJsonResponse(r, 400, {"detail": "Credential not provided."})

    def test_unverifiable_credential(self):
        for cred in ("abc", "a.b.c", "x" * 3000):
            with self.subTest(credential=cred[:10]):
                r = request("POST", "/api/v1/google/login/", {"credential": cred})
                self.assertJsonResponse(r, 400, {"detail": "Failed to verify token."})


if __name__ == "__main__":
    unittest.main()


class ProgramLogTest(ApiTestCase):
    """Regression: spawn-fcgi pointed the programs' stderr at /dev/null, so
    their logs were empty and the tests that grep logs for secrets proved
    nothing. Every FastCGI worker now says it is ready in its own log."""

    def test_each_program_logs_to_its_file(self):
        for log_dir in log_dirs("app"):  # each app host's, in a cluster
            for name in ("accounts", "health", "images", "media", "payments"):
                with open(os.path.join(log_dir, name + ".log"), encoding="utf-8") as f:
                    text = f.read()
                self.assertIn("ia-%s[" % name, text, name)
                self.assertIn("worker ready", text, name)
