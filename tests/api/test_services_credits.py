"""API.md "Services and credits": the catalogue, the ledger, and how the
admin tool's service commands (disable, set-cost, set-engine) show through
the API."""
import json
import os
import unittest
import urllib.parse

from iatest import (MEDIA_ROOT, ApiTestCase, media, db_query, iactl, image_bytes, media_files,
                    paused_batch, request, upload, wait_image)

DEFAULT_SERVICES = [
    (1, "greyscale", "Greyscale", 1),
    (2, "remove-background", "Remove Background", 3),
    (3, "resize", "Resize", 1),
    (4, "thumbnail", "Thumbnail", 1),
    (5, "cropping", "Cropping", 0),
    (6, "enhancement", "Enhancement", 3),
    (7, "generate", "GenerateImage", 9),
    (8, "outline", "Image Outline", 2),
    (9, "avatar", "Avatar Creation", 5),
]
PNG = image_bytes("PNG", (24, 16))


def services():
    r = request("GET", "/api/v1/services/")
    assert r.status == 200, r
    return {s["slug"]: s for s in r.json}


class ServicesTest(ApiTestCase):
    def test_defaults_exact(self):
        r = request("GET", "/api/v1/services/")
        body = self.assertJsonResponse(r, 200)
        got = [(s["code"], s["slug"], s["name"], s["tokens"], s["free"], s["enabled"]) for s in body]
        want = [(c, slug, name, tokens, tokens == 0, True) for c, slug, name, tokens in DEFAULT_SERVICES]
        self.assertEqual(got, want)
        for s in body:
            self.assertEqual(sorted(s), sorted(["code", "slug", "name", "description", "tokens",
                                                "free", "enabled", "formats", "params"]))
            self.assertIsInstance(s["description"], str)
            self.assertTrue(s["description"])

    def test_no_trailing_slash_and_no_auth_needed(self):
        r = request("GET", "/api/v1/services")
        self.assertJsonResponse(r, 200)
        self.assertEqual(len(r.json), 9)

    def test_wrong_method(self):
        r = request("POST", "/api/v1/services/", {})
        self.assertJsonResponse(r, 405, {"detail": 'Method "POST" not allowed.'})

    def test_iactl_service_list_json_matches_api(self):
        p = iactl("service", "list", "--json")
        admin = json.loads(p.stdout)
        api = request("GET", "/api/v1/services/").json
        self.assertEqual([{k: v for k, v in s.items() if k != "engine"} for s in admin], api)
        self.assertEqual({s["slug"]: s["engine"] for s in admin}["generate"], "stability")

    def test_iactl_service_usage_errors(self):
        self.assertEqual(iactl("service", "set-cost", "greyscale", "-1", check=False).returncode, 2)
        self.assertEqual(iactl("service", "set-cost", "greyscale", "x", check=False).returncode, 2)
        self.assertEqual(iactl("service", "set-cost", "nope", "1", check=False).returncode, 1)
        self.assertEqual(iactl("service", "enable", "nope", check=False).returncode, 1)
        self.assertEqual(iactl("service", "set-engine", "resize", "gpu", check=False).returncode, 2)
        self.assertEqual(iactl("service", "set-engine", "generate", "local", check=False).returncode, 1)
        self.assertEqual(iactl("job", "list", "--status", "bogus", check=False).returncode, 2)
        self.assertEqual(iactl("job", "retry", "abc", check=False).returncode, 2)
        self.assertEqual(iactl("job", "retry", "999999999", check=False).returncode, 1)
        self.assertEqual(services()["greyscale"]["tokens"], 1)


class EngineAutoTest(ApiTestCase):
    """`iactl service set-engine SLUG auto` (issue 12, item 3): remove-background only."""

    def engine(self, slug):
        admin = json.loads(iactl("service", "list", "--json").stdout)
        return {s["slug"]: s["engine"] for s in admin}[slug]

    def test_auto_for_remove_background(self):
        self.addCleanup(iactl, "service", "set-engine", "remove-background", "local")
        p = iactl("service", "set-engine", "remove-background", "auto")
        self.assertEqual(p.stdout, "service remove-background now runs on the auto engine\n")
        self.assertEqual(self.engine("remove-background"), "auto")
        # the public catalogue does not show engines
        self.assertNotIn("engine", services()["remove-background"])

    def test_auto_refused_for_other_services(self):
        for slug in ("greyscale", "enhancement", "avatar", "generate"):
            before = self.engine(slug)
            p = iactl("service", "set-engine", slug, "auto", check=False)
            self.assertEqual(p.returncode, 1, p)
            self.assertEqual(p.stderr, "iactl: service %s has no auto engine\n" % slug)
            self.assertEqual(self.engine(slug), before)
        p = iactl("service", "set-engine", "remove-background", "AUTO", check=False)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("local, stability or auto", p.stderr)


class CreditsTest(ApiTestCase):
    def balance(self, access):
        return self.user_info(access)["credits"]

    def history(self, access, **q):
        qs = "?" + urllib.parse.urlencode(q) if q else ""
        return request("GET", "/api/v1/credits/history/" + qs, token=access)

    def test_signup_bonus_is_the_first_row(self):
        _, _, access, _ = self.new_user()
        body = self.assertJsonResponse(self.history(access), 200)
        self.assertEqual(body["count"], 1)
        self.assertIsNone(body["next"])
        self.assertIsNone(body["previous"])
        row = body["results"][0]
        self.assertEqual(sorted(row), sorted(["id", "delta", "balance_after", "reason",
                                              "image_id", "created"]))
        self.assertEqual((row["delta"], row["balance_after"], row["reason"], row["image_id"]),
                         (100, 100, "signup_bonus", None))
        self.assertRegex(row["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_history_needs_auth(self):
        r = request("GET", "/api/v1/credits/history/")
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)

    def test_charge_refund_and_paging_newest_first(self):
        _, _, access, _ = self.new_user()
        done = []
        for _ in range(2):
            r = upload("greyscale", PNG, token=access)
            self.assertJsonResponse(r, 202)
            done.append(r.json["image_id"])
        for i in done:
            self.assertEqual(wait_image(i, access).json["status"], "done")
        # A job that fails (its source is corrupted on disk before the batch
        # processor reaches it) is refunded.
        with paused_batch():
            r = upload("greyscale", PNG, token=access)
            self.assertJsonResponse(r, 202)
            failed = r.json["image_id"]
            key = db_query("select source_key from images where id = ?", (failed,))[0][0]
            media.write(key, b"\x89PNG\r\n\x1a\n" + b"\0garbage" * 20)
        img = wait_image(failed, access)
        self.assertJsonResponse(img, 200)
        self.assertEqual(img.json["status"], "failed")
        self.assertTrue(img.json["error"])
        self.assertEqual(self.balance(access), 98)

        want = [("refund", 1, 98, failed), ("charge", -1, 97, failed),
                ("charge", -1, 98, done[1]), ("charge", -1, 99, done[0]),
                ("signup_bonus", 100, 100, None)]
        rows, page = [], 1
        while True:
            body = self.assertJsonResponse(self.history(access, page=page, page_size=2), 200)
            self.assertEqual(body["count"], 5)
            self.assertEqual(body["previous"] is None, page == 1)
            self.assertEqual(body["next"] is None, page == 3)
            if body["next"]:
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(body["next"]).query)
                self.assertEqual(q["page"], [str(page + 1)])
            rows += body["results"]
            if body["next"] is None:
                break
            page += 1
        self.assertEqual([(r["reason"], r["delta"], r["balance_after"], r["image_id"]) for r in rows],
                         want)
        ids = [r["id"] for r in rows]
        self.assertEqual(ids, sorted(ids, reverse=True))
        r = self.history(access, page=4, page_size=2)
        self.assertJsonResponse(r, 404, {"detail": "Invalid page."})
        r = self.history(access, page=0)
        self.assertJsonResponse(r, 404, {"detail": "Invalid page."})

    def test_insufficient_credits(self):
        email, _, access, _ = self.new_user()
        iactl("credits", "revoke", email, "100")
        rows = db_query("select count(*) from images")[0][0]
        files = media_files()
        r = upload("greyscale", PNG, token=access)
        self.assertJsonResponse(r, 402, {"detail": "Insufficient credits."})
        self.assertEqual(db_query("select count(*) from images")[0][0], rows)
        self.assertEqual({f for f in media_files() - files if not f.startswith("images/")}, set())
        self.assertEqual(self.balance(access), 0)
        # A free service still runs with an empty balance, and charges nothing.
        r = upload("cropping", PNG, token=access, fields={"x": 0, "y": 0, "width": 4, "height": 4})
        self.assertJsonResponse(r, 202)
        self.assertEqual(wait_image(r.json["image_id"], access).json["status"], "done")
        self.assertEqual(self.balance(access), 0)
        reasons = [e["reason"] for e in self.history(access).json["results"]]
        self.assertEqual(reasons, ["admin_revoke", "signup_bonus"])

    def test_short_by_one(self):
        email, _, access, _ = self.new_user()
        iactl("credits", "revoke", email, "98")  # 2 left, remove-background costs 3
        r = upload("remove-background", PNG, token=access)
        self.assertJsonResponse(r, 402, {"detail": "Insufficient credits."})
        r = upload("outline", PNG, token=access)  # costs exactly 2
        self.assertJsonResponse(r, 202)
        self.assertEqual(self.balance(access), 0)

    def test_disabled_service(self):
        _, _, access, _ = self.new_user()
        iactl("service", "disable", "resize")
        try:
            self.assertFalse(services()["resize"]["enabled"])
            rows = db_query("select count(*) from images")[0][0]
            r = upload("resize", PNG, token=access, fields={"width": 5, "height": 5})
            self.assertJsonResponse(r, 503, {"detail": "Service not available."})
            self.assertEqual(db_query("select count(*) from images")[0][0], rows)
        finally:
            iactl("service", "enable", "resize")
        self.assertTrue(services()["resize"]["enabled"])
        self.assertEqual(self.balance(access), 100)
        r = upload("resize", PNG, token=access, fields={"width": 5, "height": 5})
        self.assertJsonResponse(r, 202)

    def test_disabled_alias(self):
        _, _, access, _ = self.new_user()
        iactl("service", "disable", "greyscale")
        try:
            r = upload(None, PNG, token=access, path="/api/v1/create/grayscale/")
            self.assertJsonResponse(r, 503, {"detail": "Service not available."})
        finally:
            iactl("service", "enable", "greyscale")

    def test_set_cost_changes_the_charge(self):
        _, _, access, _ = self.new_user()
        iactl("service", "set-cost", "greyscale", "7")
        try:
            s = services()["greyscale"]
            self.assertEqual((s["tokens"], s["free"]), (7, False))
            r = upload("greyscale", PNG, token=access)
            self.assertJsonResponse(r, 202)
            image_id = r.json["image_id"]
            iactl("service", "set-cost", "greyscale", "0")
            s = services()["greyscale"]
            self.assertEqual((s["tokens"], s["free"]), (0, True))
            r = upload("greyscale", PNG, token=access)
            self.assertJsonResponse(r, 202)
            free_id = r.json["image_id"]
        finally:
            iactl("service", "set-cost", "greyscale", "1")
        self.assertEqual(services()["greyscale"]["tokens"], 1)
        self.assertEqual(self.balance(access), 93)
        top = self.history(access).json["results"][0]
        self.assertEqual((top["reason"], top["delta"], top["balance_after"], top["image_id"]),
                         ("charge", -7, 93, image_id))
        img = wait_image(image_id, access).json
        self.assertEqual((img["cost"], img["payment_made"]), (7, True))
        img = wait_image(free_id, access).json
        self.assertEqual((img["cost"], img["payment_made"]), (0, False))


if __name__ == "__main__":
    unittest.main()
