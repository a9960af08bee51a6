"""API.md "Images": accepting uploads for every service and alias, job
status, the gallery, deletion, the staff override and signed media URLs."""
import os
import re
import time
import unittest
import urllib.parse
import uuid

from iatest import (MEDIA_ROOT, ApiTestCase, db_query, iactl, image_bytes, media, media_path,
                    media_sign, paused_batch, request, unique_email, upload, wait_image)

PNG = image_bytes("PNG", (40, 30))
IMAGE_KEYS = ["id", "image", "alternate_url", "user", "prompt", "processed", "aspect_ratio",
              "ai_response", "payment_made", "created", "updated", "service", "status", "error",
              "width", "height", "content_type", "bytes", "cost", "source", "thumbnail",
              "original_name", "params"]
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"

# slug -> (name, params that make it valid for PNG)
UPLOAD_SERVICES = {
    "greyscale": ("Greyscale", {}),
    "remove-background": ("Remove Background", {}),
    "resize": ("Resize", {"width": 20, "height": 10}),
    "thumbnail": ("Thumbnail", {}),
    "cropping": ("Cropping", {"x": 1, "y": 2, "width": 10, "height": 8}),
    "enhancement": ("Enhancement", {"scale": 2}),
    "outline": ("Image Outline", {}),
    "avatar": ("Avatar Creation", {}),
}
ALIASES = {
    "/api/v1/remove/background/": ("remove-background", "Background removal started."),
    "/api/v1/create/grayscale/": ("greyscale", "Grayscale conversion started."),
    "/api/v1/create/outline/": ("outline", "Outline creation started."),
}
NOT_FOUND = {"detail": "Image not found."}


def get(url):
    """GET a signed media URL (root-relative, as the API gives it) from the test stack."""
    return request("GET", media_path(url))


def media_key(url):
    return urllib.parse.urlsplit(url).path[len("/media/"):]


class ImagesBase(ApiTestCase):
    def submit(self, access, slug="greyscale", data=PNG, fields=None, filename="in.png"):
        r = upload(slug, data, filename, fields, token=access)
        self.assertJsonResponse(r, 202)
        return r.json["image_id"]

    def done(self, access, image_id):
        r = wait_image(image_id, access)
        body = self.assertJsonResponse(r, 200)
        self.assertEqual(body["status"], "done", body)
        return body


class ProcessTest(ImagesBase):
    def test_every_upload_service_accepts_and_finishes(self):
        _, _, access, _ = self.new_user()
        user_id = self.user_info(access)["id"]
        ids = {}
        for slug, (name, fields) in UPLOAD_SERVICES.items():
            r = upload(slug, PNG, "in.png", fields, token=access)
            body = self.assertJsonResponse(r, 202)
            self.assertEqual(sorted(body), ["detail", "image_id"])
            self.assertEqual(body["detail"], name + " started.")
            self.assertIsInstance(body["image_id"], int)
            self.assertGreater(body["image_id"], 0)
            ids[slug] = body["image_id"]
        costs = {"greyscale": 1, "remove-background": 3, "resize": 1, "thumbnail": 1,
                 "cropping": 0, "enhancement": 3, "outline": 2, "avatar": 5}
        for slug, image_id in ids.items():
            img = self.done(access, image_id)
            self.assertEqual(list(img), IMAGE_KEYS)
            self.assertEqual(img["id"], image_id)
            self.assertEqual(img["user"], user_id)
            self.assertEqual(img["service"], slug)
            self.assertIs(img["processed"], True)
            self.assertIsNone(img["error"])
            self.assertIsNone(img["alternate_url"])
            self.assertEqual(img["cost"], costs[slug])
            self.assertIs(img["payment_made"], costs[slug] > 0)
            self.assertRegex(img["created"], ISO)
            self.assertRegex(img["updated"], ISO)
            self.assertEqual(img["content_type"], "image/png")
            self.assertGreater(img["width"], 0)
            self.assertGreater(img["height"], 0)
            out = get(img["image"])
            self.assertStatus(out, 200)
            self.assertEqual(len(out.body), img["bytes"])
            self.assertTrue(out.body.startswith(b"\x89PNG\r\n\x1a\n"), slug)
            self.assertRegex(media_key(img["image"]), r"^images/[0-9a-f/]+\.png$")
            self.assertRegex(media_key(img["source"]), r"^sources/[0-9a-f/]+\.png$")
        self.assertEqual(self.user_info(access)["credits"], 100 - sum(costs.values()))

    def test_seed_aliases(self):
        _, _, access, _ = self.new_user()
        for path, (slug, msg) in ALIASES.items():
            r = upload(None, PNG, token=access, path=path)
            body = self.assertJsonResponse(r, 202)
            self.assertEqual(sorted(body), ["detail", "image_id"])
            self.assertEqual(body["detail"], msg)
            img = self.done(access, body["image_id"])
            self.assertEqual(img["service"], slug)
            # without the trailing slash too
            r = upload(None, PNG, token=access, path=path.rstrip("/"))
            self.assertJsonResponse(r, 202)
            self.assertEqual(r.json["detail"], msg)

    def test_unknown_slug_is_404(self):
        _, _, access, _ = self.new_user()
        for slug in ["nope", "generate", "GREYSCALE"]:
            r = upload(slug, PNG, token=access)
            self.assertJsonResponse(r, 404, {"detail": "Not found."})
        self.assertEqual(self.user_info(access)["credits"], 100)

    def test_upload_needs_auth(self):
        r = upload("greyscale", PNG, token=None)
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)

    def test_get_on_process_is_405(self):
        _, _, access, _ = self.new_user()
        r = request("GET", "/api/v1/process/greyscale/", token=access)
        self.assertJsonResponse(r, 405, {"detail": 'Method "GET" not allowed.'})


class StatusTest(ImagesBase):
    def test_pending_then_done(self):
        _, _, access, _ = self.new_user()
        with paused_batch():
            image_id = self.submit(access)
            r = request("GET", "/api/v1/image/status/%d/" % image_id, token=access)
            body = self.assertJsonResponse(r, 202)
            # position: the jobs ahead of it (test_queue_position.py checks the values)
            self.assertIsInstance(body.pop("position"), int)
            self.assertEqual(body, {"detail": "Image is still being processed.",
                                    "status": "pending"})
            # not in the gallery while pending
            g = request("GET", "/api/v1/user/images/", token=access)
            self.assertEqual(self.assertJsonResponse(g, 200)["count"], 0)
        img = self.done(access, image_id)
        self.assertEqual(img["status"], "done")

    def test_processing_is_202(self):
        _, _, access, _ = self.new_user()
        image_id = self.submit(access)
        self.done(access, image_id)
        # hold the row as if a worker were busy on it
        db_query("update images set status = 'processing', worker = 'iatest', "
                 "lease_until = strftime('%s','now') + 3600 where id = ?", (image_id,))
        try:
            r = request("GET", "/api/v1/image/status/%d" % image_id, token=access)
            self.assertJsonResponse(r, 202, {"detail": "Image is still being processed.",
                                             "status": "processing"})
            g = request("GET", "/api/v1/user/images/", token=access)
            self.assertEqual(self.assertJsonResponse(g, 200)["count"], 0)
        finally:
            db_query("update images set status = 'done', worker = NULL, lease_until = NULL "
                     "where id = ?", (image_id,))

    def test_failed_is_200_with_error(self):
        _, _, access, _ = self.new_user()
        with paused_batch():
            image_id = self.submit(access)
            key = db_query("select source_key from images where id = ?", (image_id,))[0][0]
            media.write(key, PNG[:40])
        r = wait_image(image_id, access)
        img = self.assertJsonResponse(r, 200)
        self.assertEqual(list(img), IMAGE_KEYS)
        self.assertEqual(img["status"], "failed")
        self.assertIs(img["processed"], True)
        self.assertIsInstance(img["error"], str)
        self.assertTrue(img["error"])
        self.assertIsNone(img["image"])
        for k in ["width", "height", "content_type", "bytes"]:
            self.assertIsNone(img[k], k)
        self.assertEqual(self.user_info(access)["credits"], 100)

    def test_other_users_image_is_not_found_everywhere(self):
        _, _, owner, _ = self.new_user()
        _, _, other, _ = self.new_user()
        image_id = self.submit(owner)
        self.done(owner, image_id)
        r = request("GET", "/api/v1/image/status/%d/" % image_id, token=other)
        self.assertJsonResponse(r, 404, NOT_FOUND)
        r = request("DELETE", "/api/v1/images/%d/" % image_id, token=other)
        self.assertJsonResponse(r, 404, NOT_FOUND)
        g = request("GET", "/api/v1/user/images/", token=other)
        self.assertEqual(self.assertJsonResponse(g, 200)["count"], 0)
        r = request("PUT", "/api/v1/update/processed/image/%d/" % image_id,
                    {"name": "x"}, token=other)
        self.assertJsonResponse(r, 403)
        # the owner still has it
        self.done(owner, image_id)

    def test_unknown_ids(self):
        _, _, access, _ = self.new_user()
        for i in ["999999999", "0"]:
            r = request("GET", "/api/v1/image/status/%s/" % i, token=access)
            self.assertEqual(r.status, 404, r)
            r = request("DELETE", "/api/v1/images/%s/" % i, token=access)
            self.assertEqual(r.status, 404, r)

    def test_status_needs_auth(self):
        r = request("GET", "/api/v1/image/status/1/")
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)


class GalleryTest(ImagesBase):
    def gallery(self, access, **q):
        qs = "?" + urllib.parse.urlencode(q) if q else ""
        return request("GET", "/api/v1/user/images/" + qs, token=access)

    def test_pages_newest_first_processed_only(self):
        _, _, access, _ = self.new_user()
        ids = [self.submit(access) for _ in range(3)]
        for i in ids:
            self.done(access, i)
        body = self.assertJsonResponse(self.gallery(access), 200)
        self.assertEqual(list(body), ["count", "next", "previous", "results"])
        self.assertEqual(body["count"], 3)
        self.assertEqual([x["id"] for x in body["results"]], ids[::-1])
        for x in body["results"]:
            self.assertEqual(list(x), IMAGE_KEYS)

        p1 = self.assertJsonResponse(self.gallery(access, page=1, page_size=2), 200)
        self.assertEqual([x["id"] for x in p1["results"]], [ids[2], ids[1]])
        self.assertIsNone(p1["previous"])
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(p1["next"]).query)
        self.assertEqual((q["page"], q["page_size"]), (["2"], ["2"]))
        p2 = self.assertJsonResponse(request("GET", media_path(p1["next"]), token=access), 200)
        self.assertEqual([x["id"] for x in p2["results"]], [ids[0]])
        self.assertIsNone(p2["next"])
        self.assertIsNotNone(p2["previous"])
        for page in [3, 0, -1, "abc"]:
            r = self.gallery(access, page=page, page_size=2)
            self.assertJsonResponse(r, 404, {"detail": "Invalid page."})

        # a pending job is not listed
        with paused_batch():
            pending = self.submit(access)
            body = self.assertJsonResponse(self.gallery(access), 200)
            self.assertEqual(body["count"], 3)
            self.assertNotIn(pending, [x["id"] for x in body["results"]])
        self.done(access, pending)
        self.assertEqual(self.gallery(access).json["count"], 4)

    def test_empty_gallery(self):
        _, _, access, _ = self.new_user()
        body = self.assertJsonResponse(self.gallery(access), 200)
        self.assertEqual(body, {"count": 0, "next": None, "previous": None, "results": []})
        r = self.gallery(access, page=2)
        self.assertJsonResponse(r, 404, {"detail": "Invalid page."})

    def test_page_size_capped_at_50(self):
        _, _, access, _ = self.new_user()
        user_id = self.user_info(access)["id"]
        now = int(time.time())
        for i in range(55):
            db_query("insert into images(user_id, service, status, cost, created, updated) "
                     "values (?, 'greyscale', ?, 0, ?, ?)",
                     (user_id, "failed" if i % 5 == 0 else "done", now, now))
        body = self.assertJsonResponse(self.gallery(access, page_size=100), 200)
        self.assertEqual(body["count"], 55)
        self.assertEqual(len(body["results"]), 50)
        ids = [x["id"] for x in body["results"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        p2 = self.assertJsonResponse(self.gallery(access, page=2, page_size=100), 200)
        self.assertEqual(len(p2["results"]), 5)
        self.assertEqual(len(self.gallery(access).json["results"]), 10)  # default 10

    def test_gallery_needs_auth(self):
        r = self.gallery(None)
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)


class DeleteTest(ImagesBase):
    def test_regression_image_id_reused_after_delete(self):
        """Found by this suite: while images.id was a plain INTEGER PRIMARY KEY,
        deleting the newest image let SQLite hand its id out again; the new
        job's charge then collided with the deleted job's ledger row (one
        charge per image_id), and every upload failed with 503 until some
        other row took that id. Fixed with AUTOINCREMENT."""
        _, _, first, _ = self.new_user()
        _, _, second, _ = self.new_user()
        image_id = self.submit(first)
        self.done(first, image_id)
        self.assertStatus(request("DELETE", "/api/v1/images/%d/" % image_id, token=first), 204)
        r = upload("greyscale", PNG, token=second)
        self.assertJsonResponse(r, 202)
        self.assertNotEqual(r.json["image_id"], image_id)
        self.done(second, r.json["image_id"])
        self.assertEqual(self.user_info(second)["credits"], 99)

    def test_delete_removes_row_and_files(self):
        _, _, access, _ = self.new_user()
        image_id = self.submit(access)
        img = self.done(access, image_id)
        files = [media_key(img[k]) for k in ("image", "source")]
        for f in files:
            self.assertTrue(media.exists(f), f)
        self.assertStatus(get(img["image"]), 200)
        r = request("DELETE", "/api/v1/images/%d/" % image_id, token=access)
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        for f in files:
            self.assertFalse(media.exists(f), f)
        for k in ("image", "source"):
            self.assertIn(get(img[k]).status, (403, 404))
        self.assertEqual(db_query("select count(*) from images where id = ?", (image_id,))[0][0], 0)
        r = request("GET", "/api/v1/image/status/%d/" % image_id, token=access)
        self.assertJsonResponse(r, 404, NOT_FOUND)
        r = request("DELETE", "/api/v1/images/%d" % image_id, token=access)
        self.assertJsonResponse(r, 404, NOT_FOUND)
        # a finished job's charge stays (no refund for deleting a result)
        self.assertEqual(self.user_info(access)["credits"], 99)

    def test_other_user_cannot_delete(self):
        _, _, owner, _ = self.new_user()
        _, _, other, _ = self.new_user()
        image_id = self.submit(owner)
        img = self.done(owner, image_id)
        r = request("DELETE", "/api/v1/images/%d/" % image_id, token=other)
        self.assertJsonResponse(r, 404, NOT_FOUND)
        self.assertTrue(media.exists(media_key(img["image"])))
        self.assertStatus(get(img["image"]), 200)

    def test_delete_pending_refunds(self):
        _, _, access, _ = self.new_user()
        with paused_batch():
            image_id = self.submit(access)
            self.assertEqual(self.user_info(access)["credits"], 99)
            key = db_query("select source_key from images where id = ?", (image_id,))[0][0]
            r = request("DELETE", "/api/v1/images/%d/" % image_id, token=access)
            self.assertStatus(r, 204)
            self.assertFalse(media.exists(key))
        self.assertEqual(self.user_info(access)["credits"], 100)
        reasons = [e["reason"] for e in
                   request("GET", "/api/v1/credits/history/", token=access).json["results"]]
        self.assertEqual(reasons, ["refund", "charge", "signup_bonus"])


class UpdateProcessedTest(ImagesBase):
    FORBIDDEN = {"detail": "You do not have permission to perform this action."}

    def staff(self):
        email = unique_email("staff")
        iactl("user", "create", email, "--staff", "--password-stdin",
              stdin="staff password 123\n")
        return self.login(email, "staff password 123")["access"]

    def test_non_staff_forbidden(self):
        _, _, access, _ = self.new_user()
        image_id = self.submit(access)
        img = self.done(access, image_id)
        r = request("PUT", "/api/v1/update/processed/image/%d/" % image_id,
                    {"name": media_key(img["source"])}, token=access)
        self.assertJsonResponse(r, 403, self.FORBIDDEN)
        r = request("PUT", "/api/v1/update/processed/image/%d/" % image_id, {"name": "x"})
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)

    def test_staff_sets_result(self):
        _, _, access, _ = self.new_user()
        staff = self.staff()
        with paused_batch():
            image_id = self.submit(access, "resize", fields={"width": 5, "height": 5})
            key = db_query("select source_key from images where id = ?", (image_id,))[0][0]
            r = request("PUT", "/api/v1/update/processed/image/%d/" % image_id,
                        {"name": key, "url": "https://cdn.example/x.png"}, token=staff)
            img = self.assertJsonResponse(r, 202)
        self.assertEqual(list(img), IMAGE_KEYS)
        self.assertEqual(img["id"], image_id)
        self.assertEqual(img["status"], "done")
        self.assertIs(img["processed"], True)
        self.assertEqual(img["alternate_url"], "https://cdn.example/x.png")
        self.assertEqual(media_key(img["image"]), key)
        self.assertEqual((img["width"], img["height"], img["content_type"]), (40, 30, "image/png"))
        self.assertEqual(img["bytes"], media.size(key))
        self.assertStatus(get(img["image"]), 200)
        # the owner sees it done, and the batch processor leaves it alone
        time.sleep(0.5)
        owner_view = self.done(access, image_id)
        self.assertEqual(media_key(owner_view["image"]), key)
        self.assertEqual(owner_view["width"], 40)

    def test_staff_bad_keys(self):
        _, _, access, _ = self.new_user()
        staff = self.staff()
        image_id = self.submit(access)
        before = self.done(access, image_id)
        path = "/api/v1/update/processed/image/%d/" % image_id
        # an existing image outside the two media trees (an upload in flight)
        tmp_dir = os.path.join(MEDIA_ROOT, "tmp")
        os.makedirs(tmp_dir, exist_ok=True)
        upload_tmp = os.path.join(tmp_dir, "ia-upload-staffkey%s" % uuid.uuid4().hex[:8])
        with open(upload_tmp, "wb") as f:
            f.write(image_bytes("PNG", (4, 4), (1, 2, 3)))
        st = os.stat(MEDIA_ROOT)  # readable by the stack's service user, like a real upload
        os.chown(upload_tmp, st.st_uid, st.st_gid)
        self.addCleanup(lambda: os.path.exists(upload_tmp) and os.unlink(upload_tmp))
        rel = os.path.relpath(upload_tmp, MEDIA_ROOT)
        for name in ["../etc/passwd", "/etc/passwd", "sources/../../ia.sqlite3",
                     "images/00/missing.png", "", "tmp/x", "./" + rel, rel,
                     "images/./../" + rel, "sources//../" + rel, "images/.", "images"]:
            r = request("PUT", path, {"name": name}, token=staff)
            body = self.assertJsonResponse(r, 400)
            self.assertEqual(list(body), ["name"], (name, body))
            self.assertIsInstance(body["name"], list)
        r = request("PUT", path, {}, token=staff)
        self.assertJsonResponse(r, 400, {"name": ["This field is required."]})
        after = self.done(access, image_id)
        self.assertEqual(media_key(after["image"]), media_key(before["image"]))
        r = request("PUT", "/api/v1/update/processed/image/999999999/",
                    {"name": media_key(before["image"])}, token=staff)
        self.assertJsonResponse(r, 404, NOT_FOUND)
        # deleting the image leaves the upload temp file alone
        self.assertStatus(request("DELETE", "/api/v1/images/%d/" % image_id, token=access), 204)
        self.assertTrue(os.path.exists(upload_tmp))


class MediaTest(ImagesBase):
    @classmethod
    def setUpClass(cls):
        t = cls()
        _, _, cls.access, _ = t.new_user()
        cls.data = image_bytes("PNG", (33, 21), (10, 200, 90))
        r = upload("greyscale", cls.data, token=cls.access)
        cls.img = wait_image(r.json["image_id"], cls.access).json
        cls.key = media_key(cls.img["source"])

    def test_valid_url_serves_the_file(self):
        r = get(self.img["source"])
        self.assertStatus(r, 200)
        self.assertEqual(r.body, media.read(self.key))
        r = get(self.img["image"])
        self.assertStatus(r, 200)
        self.assertEqual(len(r.body), self.img["bytes"])
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.img["image"]).query)
        exp = int(q["exp"][0])
        self.assertTrue(time.time() + 3000 < exp <= time.time() + 3700, exp)

    def test_own_signature_is_accepted(self):
        exp = int(time.time()) + 60
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (self.key, exp, media_sign(self.key, exp)))
        self.assertStatus(r, 200)

    def test_tampered_signature(self):
        path = media_path(self.img["source"])
        sig = re.search(r"sig=([0-9a-f]+)", path).group(1)
        flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        for bad in [path.replace(sig, flipped), path.replace(sig, sig[:-2]),
                    path.replace(sig, sig + "00"), re.sub(r"&sig=.*", "", path),
                    path.split("?")[0]]:
            self.assertStatus(request("GET", bad), 403)

    def test_tampered_key(self):
        path = media_path(self.img["source"])
        other = media_key(self.img["image"])
        self.assertStatus(request("GET", path.replace(self.key, other)), 403)

    def test_tampered_exp(self):
        path = media_path(self.img["source"])
        exp = re.search(r"exp=(\d+)", path).group(1)
        self.assertStatus(request("GET", path.replace("exp=" + exp, "exp=%d" % (int(exp) + 1))), 403)

    def test_expired(self):
        exp = int(time.time()) - 5
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (self.key, exp, media_sign(self.key, exp)))
        self.assertStatus(r, 403)
        self.assertEqual(r.json, {"detail": "Invalid or expired media signature."})

    def test_media_errors_are_json_whatever_the_extension(self):
        # nginx's mime.types used to win over the error location's
        # default_type: the 403 JSON went out as image/png, the 404 as HTML
        exp = int(time.time()) - 5
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (self.key, exp, media_sign(self.key, exp)))
        self.assertStatus(r, 403)
        self.assertTrue(r.headers["content-type"].startswith("application/json"), r.headers["content-type"])
        key = "images/00/%s.png" % uuid.uuid4().hex
        exp = int(time.time()) + 60
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (key, exp, media_sign(key, exp)))
        self.assertStatus(r, 404)
        self.assertTrue(r.headers["content-type"].startswith("application/json"), r.headers["content-type"])
        self.assertEqual(r.json, {"detail": "Not found."})

    def test_wrong_secret(self):
        exp = int(time.time()) + 60
        sig = media_sign(self.key, exp, secret="not-the-secret")
        self.assertStatus(request("GET", "/media/%s?exp=%d&sig=%s" % (self.key, exp, sig)), 403)

    def test_signed_traversal_is_refused(self):
        exp = int(time.time()) + 60
        for key in ["../ia.sqlite3", "sources/../../ia.sqlite3", "%2e%2e/ia.sqlite3"]:
            r = request("GET", "/media/%s?exp=%d&sig=%s" % (key, exp, media_sign(key, exp)))
            self.assertNotIn(b"SQLite format", r.body, key)

    def test_missing_file_with_valid_signature_is_404(self):
        key = "images/00/%s.png" % uuid.uuid4().hex
        exp = int(time.time()) + 60
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (key, exp, media_sign(key, exp)))
        self.assertStatus(r, 404)


if __name__ == "__main__":
    unittest.main()
