"""iatest.py - the shared harness of the HTTP API tests.

The tests talk to a real running stack (nginx -> FastCGI -> SQLite) at
BASE_URL, started by tests/api/run-api.sh. Each request goes out from its
own loopback source address (127.x.y.z), so the per-IP throttles of the
login/signup/reset endpoints do not interfere between tests; a test that
wants to be throttled passes a fixed `source`.
"""
import http.client
import itertools
import json
import os
import subprocess
import unittest
import urllib.parse
import uuid

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8080")
SRC = os.environ.get("IA_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("IA_BUILD_DIR", os.path.join(SRC, "build"))
STATE = os.environ.get("IA_STATE_DIR", os.path.join(SRC, "var"))
_url = urllib.parse.urlsplit(BASE_URL)
_sources = itertools.count(1)


def fresh_source():
    """A loopback address no other request of this run has used."""
    n = next(_sources)
    return "127.%d.%d.%d" % (10 + n // 65025 % 200, n // 255 % 255, 1 + n % 254)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


def request(method, path, body=None, *, token=None, headers=None, source=None, raw=None,
            content_type=None):
    """Send one request; body is JSON-encoded unless raw bytes are given."""
    conn = http.client.HTTPConnection(_url.hostname, _url.port, timeout=60,
                                      source_address=(source or fresh_source(), 0))
    hdrs = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if content_type:
        hdrs["Content-Type"] = content_type
    if token:
        hdrs["Authorization"] = "Bearer " + token
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    out = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    conn.close()
    return out


def unique_email(prefix="user"):
    return "%s-%s@example.com" % (prefix, uuid.uuid4().hex[:12])


def iactl(*args, stdin=None, check=True):
    """Run the admin tool of this build against the test stack's database."""
    p = subprocess.run([os.path.join(BUILD, "bin", "iactl"), *args], input=stdin,
                       capture_output=True, text=True, env=os.environ.copy())
    if check and p.returncode != 0:
        raise AssertionError("iactl %s failed (%d): %s" % (args, p.returncode, p.stderr))
    return p


class ApiTestCase(unittest.TestCase):
    maxDiff = None

    def assertStatus(self, r, status):
        self.assertEqual(r.status, status, r)

    def assertJsonResponse(self, r, status, body=None):
        """Status, JSON content type, and (when given) the exact body."""
        self.assertStatus(r, status)
        self.assertEqual(r.headers.get("content-type"), "application/json; charset=utf-8", r)
        if body is not None:
            self.assertEqual(r.json, body)
        return r.json

    def signup(self, email=None, password="correct horse battery", **extra):
        email = email or unique_email()
        r = request("POST", "/api/v1/users/signup/", {"email": email, "password": password, **extra})
        self.assertJsonResponse(r, 201, {"detail": "User created successfully."})
        return email, password

    def login(self, email, password):
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        self.assertJsonResponse(r, 200)
        return r.json

    def new_user(self, **extra):
        """Sign up a fresh user and return (email, password, access, refresh)."""
        email, password = self.signup(**extra)
        t = self.login(email, password)
        return email, password, t["access"], t["refresh"]

    def assertHealthy(self):
        self.assertJsonResponse(request("GET", "/health/"), 200, {"status": "ok", "db": "ok"})
