"""API.md "Images", issue 13 points 1 and 11: GET /api/v1/user/images/ lists
the processed images (done, failed) by default; `status=` (comma-separated
pending, processing, done, failed) lists those states instead and
`service=<slug>` one service; bad values are 400 field errors; count and
the next/previous links keep the filters."""
import unittest
import urllib.parse

from iatest import (ApiTestCase, db_query, image_bytes, media, paused_batch, request, upload,
                    wait_image)

PNG = image_bytes("PNG", (16, 12))
GALLERY = "/api/v1/user/images/"
CHOICE = "Select a valid choice. %s is not one of the available choices."


def link_path(url):
    """Path and query of a page link (its host is PUBLIC_URL)."""
    u = urllib.parse.urlsplit(url)
    return u.path + "?" + u.query


class GalleryFiltersTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        """One user with: greyscale done, resize done, greyscale failed, and (batch
        paused meanwhile) greyscale pending, resize pending and one resize held as
        processing."""
        t = cls()
        _, _, cls.access, _ = t.new_user()
        cls.done = [cls.submit("greyscale"), cls.submit("resize", {"width": 4, "height": 3})]
        for i in cls.done:
            assert wait_image(i, cls.access).status == 200
        with paused_batch():
            bad = cls.submit("greyscale")
            key = db_query("select source_key from images where id = ?", (bad,))[0][0]
            media.write(key, PNG[:40])
        assert wait_image(bad, cls.access).json["status"] == "failed"
        cls.failed = bad
        cls.paused = paused_batch()
        cls.paused.__enter__()
        cls.pending = [cls.submit("greyscale"), cls.submit("resize", {"width": 4, "height": 3})]
        cls.processing = cls.submit("resize", {"width": 5, "height": 5})
        db_query("update images set status = 'processing', worker = 'iatest', "
                 "lease_until = strftime('%s','now') + 3600 where id = ?", (cls.processing,))

    @classmethod
    def tearDownClass(cls):
        db_query("update images set status = 'pending', worker = NULL, lease_until = NULL "
                 "where id = ?", (cls.processing,))
        cls.paused.__exit__(None, None, None)

    @classmethod
    def submit(cls, slug, fields=None):
        r = upload(slug, PNG, "in.png", fields, token=cls.access)
        assert r.status == 202, r
        return r.json["image_id"]

    def page(self, query, status=200):
        r = request("GET", GALLERY + query, token=self.access)
        return self.assertJsonResponse(r, status)

    def ids(self, query):
        body = self.page(query)
        self.assertEqual(body["count"], len(body["results"]))
        return [img["id"] for img in body["results"]]

    def test_default_is_processed_images(self):
        self.assertEqual(self.ids(""), [self.failed, self.done[1], self.done[0]])
        self.assertEqual(self.ids("?status="), self.ids(""))

    def test_status_filter(self):
        self.assertEqual(self.ids("?status=pending"), self.pending[::-1])
        self.assertEqual(self.ids("?status=processing"), [self.processing])
        self.assertEqual(self.ids("?status=pending,processing"),
                         [self.processing] + self.pending[::-1])
        self.assertEqual(self.ids("?status=processing%2Cpending"),
                         [self.processing] + self.pending[::-1])
        self.assertEqual(self.ids("?status=failed"), [self.failed])
        every = self.ids("?status=pending,processing,done,failed")
        self.assertEqual(every, sorted(self.done + [self.failed] + self.pending +
                                       [self.processing], reverse=True))
        for img in self.page("?status=pending,processing")["results"]:
            self.assertIn(img["status"], ("pending", "processing"))
            self.assertIs(img["processed"], False)

    def test_service_filter(self):
        self.assertEqual(self.ids("?service=resize"), [self.done[1]])
        self.assertEqual(self.ids("?service=greyscale"), [self.failed, self.done[0]])
        self.assertEqual(self.ids("?service=resize&status=pending,processing"),
                         [self.processing, self.pending[1]])
        self.assertEqual(self.ids("?service=cropping"), [])
        self.assertEqual(self.ids("?service="), self.ids(""))

    def test_links_keep_the_filters(self):
        first = self.page("?status=pending,processing&service=resize&page_size=1")
        self.assertEqual(first["count"], 2)
        self.assertIsNone(first["previous"])
        nxt = urllib.parse.urlsplit(first["next"])
        self.assertEqual(urllib.parse.parse_qs(nxt.query),
                         {"page": ["2"], "page_size": ["1"], "service": ["resize"],
                          "status": ["pending,processing"]})
        second = self.page(link_path(first["next"])[len(GALLERY):])
        self.assertEqual([i["id"] for i in second["results"]], [self.pending[1]])
        self.assertIsNone(second["next"])
        back = self.page(link_path(second["previous"])[len(GALLERY):])
        self.assertEqual(back, first)
        # the default list's links carry no filter
        plain = self.page("?page_size=1")
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(plain["next"]).query),
                         {"page": ["2"], "page_size": ["1"]})

    def test_page_past_the_filtered_end(self):
        self.page("?status=processing&page=2", 404)
        self.assertEqual(self.page("?status=processing&page=2", 404), {"detail": "Invalid page."})

    def test_bad_values(self):
        self.assertEqual(self.page("?status=bogus", 400), {"status": [CHOICE % "bogus"]})
        self.assertEqual(self.page("?status=done,Pending", 400), {"status": [CHOICE % "Pending"]})
        self.assertEqual(self.page("?service=nope", 400), {"service": [CHOICE % "nope"]})
        self.assertEqual(self.page("?status=x&service=y&page=abc", 400),
                         {"status": [CHOICE % "x"], "service": [CHOICE % "y"]})
        self.assertEqual(self.page("?status=%01", 400),
                         {"status": ["Select a valid choice. That choice is not one of the "
                                     "available choices."]})
        self.assertEqual(self.page("?service=" + "a" * 200, 400),
                         {"service": ["Select a valid choice. That choice is not one of the "
                                      "available choices."]})

    def test_needs_auth(self):
        r = request("GET", GALLERY + "?status=pending")
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)


if __name__ == "__main__":
    unittest.main()
