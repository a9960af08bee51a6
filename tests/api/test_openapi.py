"""test_openapi.py - docs/openapi.yaml covers the router's routes, and the
checker every other test goes through (openapi_check.py, called by
iatest.request) really rejects what the document does not describe."""
import glob
import json
import os
import re
import unittest

import openapi_check
from iatest import SRC, ApiTestCase, request

ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|DELETE)",\s*"([^"]+)"')
# nginx's internal location for its auth_request (media signature checks):
# not reachable from outside (nginx/nginx.conf.in, location = /_media_auth).
INTERNAL = {"/_media_auth"}


def router_routes():
    """(method, path template) of every route table in cgi-bin/*.c, in the
    document's spelling ({id}, {slug})."""
    out = set()
    for path in glob.glob(os.path.join(SRC, "cgi-bin", "*.c")):
        with open(path) as f:
            for method, pattern in ROUTE.findall(f.read()):
                if pattern in INTERNAL:
                    continue
                out.add((method, pattern.replace("<id>", "{id}").replace("<slug>", "{slug}")))
    return out


class OpenApiCoverage(unittest.TestCase):
    def setUp(self):
        self.spec = openapi_check.spec()
        self.doc = self.spec.doc

    def test_every_route_is_described(self):
        routes = router_routes()
        self.assertGreater(len(routes), 25, routes)  # the parse found the tables
        missing = sorted("%s %s" % r for r in routes
                         if r[0].lower() not in self.doc["paths"].get(r[1], {}))
        self.assertEqual(missing, [], "routes of cgi-bin/*.c missing from docs/openapi.yaml")

    def test_every_described_operation_is_routed(self):
        routes = router_routes()
        extra = []
        for template, item in self.doc["paths"].items():
            if template.startswith("/media/"):  # nginx serves these (media-*.conf.in)
                continue
            for method in openapi_check.METHODS:
                if method in item and (method.upper(), template) not in routes:
                    extra.append("%s %s" % (method.upper(), template))
        self.assertEqual(extra, [], "operations of docs/openapi.yaml no route answers")

    def test_root_extensions_resolve(self):
        resp, _ = self.spec.resolve(self.doc["x-unknown-path-responses"]["404"], "#")
        self.assertIn("application/json", resp["content"])
        resp, _ = self.spec.resolve(self.doc["x-unknown-path-responses"]["400"], "#")
        self.assertIn("text/html", resp["content"])
        for status in ("204", "405"):
            resp, _ = self.spec.resolve(self.doc["x-other-method-responses"][status], "#")
            self.assertIn("description", resp)

    def test_trailing_slash_optional_and_templates(self):
        self.assertEqual(self.spec.find("/api/v1/user/info")[0], "/api/v1/user/info/")
        self.assertEqual(self.spec.find("/health")[0], "/health/")
        self.assertEqual(self.spec.find("/api/v1/images/12/")[0], "/api/v1/images/{id}/")
        self.assertEqual(self.spec.find("/media/images/ab/x.png")[0], "/media/{key}")
        self.assertIsNone(self.spec.find("/api/v1/images/12/extra/")[0])
        self.assertEqual(openapi_check.normalise("/api/v1//user/./info/"), "/api/v1/user/info/")
        self.assertEqual(openapi_check.normalise("/media/../ia.sqlite3"), "/ia.sqlite3")
        self.assertEqual(openapi_check.normalise("/api/v1/user/info?x=1"), "/api/v1/user/info")
        self.assertEqual(openapi_check.normalise("/"), "/")


class CheckerFails(unittest.TestCase):
    """The checker must be able to fail, or the suite proves nothing."""

    def setUp(self):
        self.spec = openapi_check.spec()

    def check(self, method, path, status, body, ctype="application/json; charset=utf-8"):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.spec.check(method, path, status, ctype, raw)

    def test_good_bodies_pass(self):
        self.check("GET", "/api/v1/user/info/", 200, {
            "id": 1, "email": "a@example.com", "first_name": "", "last_name": "", "credits": 100,
            "feature_flags": ["show_credits"], "is_staff": False, "email_verified": False})
        self.check("POST", "/api/v1/users/signup", 400, {"email": ["Enter a valid email address."]})
        self.check("GET", "/api/v1/nothing/here/", 404, {"detail": "Not found."})
        self.check("GET", "/api/v1/users/signup/", 405, {"detail": 'Method "GET" not allowed.'})
        self.check("OPTIONS", "/api/v1/users/signup/", 204, b"", None)
        self.check("GET", "/", 200, b"<html>", "text/html")  # the SPA: not the API

    def test_body_violating_the_schema_is_rejected(self):
        user = {"id": 1, "email": "a@example.com", "first_name": "", "last_name": "",
                "credits": 100, "feature_flags": [], "is_staff": False, "email_verified": False}
        for bad in ({**user, "credits": "100"},            # wrong type
                    {k: v for k, v in user.items() if k != "is_staff"},  # missing key
                    {**user, "password": "x"},             # a key the server never sends
                    {**user, "credits": -1}):              # out of range
            with self.assertRaises(AssertionError, msg=bad) as cm:
                self.check("GET", "/api/v1/user/info/", 200, bad)
            self.assertIn("/api/v1/user/info/", str(cm.exception))
            self.assertIn("200", str(cm.exception))
        with self.assertRaises(AssertionError):  # a reason outside the enum
            self.check("GET", "/api/v1/credits/history/", 200, {
                "count": 1, "next": None, "previous": None, "results": [{
                    "id": 1, "delta": 5, "balance_after": 5, "reason": "gift", "image_id": None,
                    "created": "2026-11-29T12:00:00Z"}]})
        with self.assertRaises(AssertionError):  # not JSON at all
            self.check("GET", "/api/v1/public/config/", 200, b"<html>")

    def test_undescribed_status_is_rejected(self):
        with self.assertRaises(AssertionError) as cm:
            self.check("GET", "/api/v1/public/config/", 418, {"detail": "teapot"})
        self.assertIn("418", str(cm.exception))
        with self.assertRaises(AssertionError):  # an unknown path is 404 only
            self.check("GET", "/api/v1/nothing/here/", 500, {"detail": "x"})
        with self.assertRaises(AssertionError):  # a body where the document has none
            self.check("DELETE", "/api/v1/images/3/", 204, {"detail": "x"})
        with self.assertRaises(AssertionError):  # an undescribed content type
            self.check("GET", "/api/v1/services/", 200, b"[]", "text/plain")
        with self.assertRaises(AssertionError):  # media errors are JSON, not the file's type
            self.check("GET", "/media/images/ab/x.png", 403,
                       {"detail": "Invalid or expired media signature."}, "image/png")


class LiveResponsesAreChecked(ApiTestCase):
    """iatest.request itself runs the checker on what the stack answers."""

    def test_request_checks_responses(self):
        r = request("GET", "/api/v1/public/config/")
        self.assertJsonResponse(r, 200)
        saved = openapi_check._spec
        doc = json.loads(json.dumps(saved.doc))
        cfg = doc["paths"]["/api/v1/public/config/"]["get"]["responses"]["200"]
        cfg["content"]["application/json"]["schema"]["properties"]["DEV_MODE"] = {"type": "string"}
        openapi_check._spec = openapi_check.Spec(doc=doc)
        try:
            with self.assertRaises(AssertionError) as cm:
                request("GET", "/api/v1/public/config/")
            self.assertIn("DEV_MODE", str(cm.exception))
        finally:
            openapi_check._spec = saved


if __name__ == "__main__":
    unittest.main()
