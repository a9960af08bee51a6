"""test_image_fields.py - issue 13, points 2, 12, 13 and 14 (API.md "Images",
"Media", "Payments"):

- <image> carries `thumbnail`, `original_name` and `params`; `image`, `source`
  and `thumbnail` are root-relative signed media URLs that work once the API's
  origin is put in front (as the original client does: `${API_URL}${image}`);
- `original_name` is the uploaded file's name without directories or control
  characters, bounded; null for prompts;
- `params` are the job's parameters as accepted: typed, defaults filled in,
  unknown fields dropped;
- ia-batch writes a WebP preview with every result, at most 512 px on the
  longer side and never enlarged, served by the same signed URLs and removed
  with the image; a gallery page of ten photos loads in at most 2 MB of
  previews;
- /media/ replies carry the API's CORS headers for allowed origins only, and
  a preflight there answers 204;
- POST /api/v1/users/add/credits/ answers the original client's success path
  and changes nothing.
Runs against any storage: IA_MEDIA=s3 runs it on the bucket."""
import io
import random
import urllib.request

from iatest import (BASE_URL, CORS_ORIGIN, ApiTestCase, db_query, image_bytes, media, media_path,
                    noise_image, open_image, request, settle, upload, wait_image)

ADD_CREDITS = "/api/v1/users/add/credits/"
HISTORY = "/api/v1/credits/history/?page_size=50"


def media_key(url):
    return url.split("?", 1)[0][len("/media/"):]


def webp_size(data):
    """(width, height) read from a WebP file's own header, whichever of the three
    bitstream chunks it starts with (RIFF container, Google's WebP spec)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:16]
    chunk, body = data[12:16], data[20:]
    if chunk == b"VP8 ":  # lossy: frame tag (3), start code 9d 01 2a, 14-bit sizes
        assert body[3:6] == b"\x9d\x01\x2a", body[:10]
        return (int.from_bytes(body[6:8], "little") & 0x3FFF,
                int.from_bytes(body[8:10], "little") & 0x3FFF)
    if chunk == b"VP8L":  # lossless: signature 2f, then 14 bits each of size - 1
        assert body[0] == 0x2F
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: flags (4), then 24 bits each of size - 1
        return int.from_bytes(body[4:7], "little") + 1, int.from_bytes(body[7:10], "little") + 1
    raise AssertionError("unknown WebP chunk %r" % chunk)


def photo(size, seed):
    """A photo-like JPEG (smooth light, shapes, sensor noise), not a worst case."""
    from PIL import Image, ImageDraw, ImageFilter
    rnd = random.Random(seed)
    w, h = size
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    d = ImageDraw.Draw(im)
    for _ in range(40):
        x, y, r = rnd.randrange(w), rnd.randrange(h), rnd.randrange(20, w // 4)
        d.ellipse((x - r, y - r, x + r, y + r),
                  fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    im = im.filter(ImageFilter.GaussianBlur(3))
    noise = Image.effect_noise(size, 12).convert("RGB")
    im = Image.blend(im, noise, 0.08)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


class FieldsBase(ApiTestCase):
    def done(self, access, slug="greyscale", data=None, filename="in.png", fields=None):
        r = upload(slug, data if data is not None else image_bytes("PNG", (40, 30)), filename,
                   fields, token=access)
        image_id = self.assertJsonResponse(r, 202)["image_id"]
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual(img["status"], "done", img)
        return img

    def fetch(self, url):
        """GET a media URL the way the original client does: the API's origin + the URL."""
        self.assertTrue(url.startswith("/media/"), url)
        with urllib.request.urlopen(BASE_URL + url, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read()


class OriginalNameTest(FieldsBase):
    def test_directories_and_control_characters_are_stripped(self):
        _, _, access, _ = self.new_user()
        # (the file name as it goes into the multipart header, what <image> shows);
        # a quoted-string's backslash escapes itself, as a Windows path needs
        for raw, want in (("../../evil.png", "evil.png"),
                          ("../../evil\t\u0085\u009b.png", "evil.png"),
                          ("C:\\\\Users\\\\me\\\\Desktop\\\\cat.png", "cat.png"),
                          ("  holiday photo.png", "holiday photo.png"),
                          ("caf\u00e9.png", "caf\u00e9.png")):
            with self.subTest(raw=raw):
                img = self.done(access, filename=raw)
                self.assertEqual(img["original_name"], want)
                self.assertEqual(db_query("SELECT original_name FROM images WHERE id = ?",
                                          (img["id"],))[0][0], want)

    def test_line_break_in_the_file_name_is_refused(self):
        """A raw CR or LF cannot be part of a multipart header: the upload is refused
        before anything is stored or charged (browsers send them as %0D/%0A)."""
        _, _, access, _ = self.new_user()
        r = upload("greyscale", image_bytes("PNG", (40, 30)), "../../evil\n.png", token=access)
        self.assertJsonResponse(r, 400, {"detail": "Malformed multipart body."})
        self.assertEqual(self.user_info(access)["credits"], 100)
        img = self.done(access, filename="../../evil%0A.png")
        self.assertEqual(img["original_name"], "evil%0A.png")

    def test_length_is_bounded_and_keeps_the_extension(self):
        _, _, access, _ = self.new_user()
        img = self.done(access, filename="x" * 600 + ".png")
        self.assertEqual(len(img["original_name"].encode()), 255)
        self.assertTrue(img["original_name"].endswith("xx.png"), img["original_name"])

    def test_prompt_has_no_file_name_and_its_params(self):
        _, _, access, _ = self.new_user()
        r = request("POST", "/api/v1/create/image/from/prompt/",
                    {"prompt": "a tree", "aspect_ratio": "1:1", "negative_prompt": "fog",
                     "seed": 5}, token=access)
        image_id = self.assertJsonResponse(r, 202)["image_id"]
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertIsNone(img["original_name"])
        self.assertEqual(img["params"], {"negative_prompt": "fog", "seed": 5})


class ParamsTest(FieldsBase):
    def test_params_as_accepted(self):
        _, _, access, _ = self.new_user()
        src = image_bytes("PNG", (80, 60))
        cases = [
            ("resize", {"width": " 40 ", "height": "30.0", "junk": "x"},
             {"width": 40, "height": 30, "format": "png"}),
            ("thumbnail", {"format": "webp"},
             {"max_width": 1280, "max_height": 720, "format": "webp"}),
            ("cropping", {"x": "1", "y": "2", "width": "10", "height": "8", "format": "jpeg"},
             {"x": 1, "y": 2, "width": 10, "height": 8, "format": "jpeg"}),
            ("enhancement", {"scale": "2", "prompt": "crisp"},
             {"scale": 2, "prompt": "crisp", "format": "png"}),
            ("outline", {}, {"low_threshold": 50, "high_threshold": 150, "format": "png"}),
            ("greyscale", {"unknown": "1"}, {"format": "png"}),
        ]
        for slug, fields, want in cases:
            with self.subTest(slug=slug):
                img = self.done(access, slug, src, "in.png", fields)
                self.assertEqual(img["params"], want)
        # the gallery shows the same
        page = self.assertJsonResponse(request("GET", "/api/v1/user/images/?page_size=50",
                                               token=access), 200)
        got = {i["service"]: i["params"] for i in page["results"]}
        self.assertEqual(got, {slug: want for slug, _, want in cases})


class MediaUrlTest(FieldsBase):
    def test_root_relative_urls_work_behind_the_api_origin(self):
        _, _, access, _ = self.new_user()
        img = self.done(access, data=image_bytes("PNG", (64, 48)))
        for name in ("image", "source", "thumbnail"):
            with self.subTest(name=name):
                url = img[name]
                self.assertRegex(url, r"^/media/(images|sources)/[0-9a-f]{2}/[0-9a-f]{32}"
                                      r"(\.preview)?\.(png|webp)\?exp=\d+&sig=[0-9a-f]{64}$")
                status, _, body = self.fetch(url)
                self.assertEqual(status, 200)
                self.assertGreater(len(body), 0)


class ThumbnailTest(FieldsBase):
    def assertPreview(self, img, size):
        status, ctype, data = self.fetch(img["thumbnail"])
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "image/webp")
        self.assertEqual(webp_size(data), size)
        im = open_image(data)  # it decodes
        self.assertEqual((im.format, im.size), ("WEBP", size))
        key = media_key(img["thumbnail"])
        self.assertEqual(key, media_key(img["image"]).rsplit(".", 1)[0] + ".preview.webp")
        self.assertEqual(db_query("SELECT thumbnail_key FROM images WHERE id = ?",
                                  (img["id"],))[0][0], key)
        self.assertEqual(media.size(key), len(data))
        return data

    def test_preview_is_webp_at_most_512_on_the_longer_side(self):
        _, _, access, _ = self.new_user()
        for size, want in (((1200, 800), (512, 341)), ((300, 900), (171, 512)),
                           ((512, 200), (512, 200))):
            with self.subTest(size=size):
                img = self.done(access, data=noise_image(size, "PNG"))
                self.assertEqual((img["width"], img["height"]), size)
                self.assertPreview(img, want)

    def test_small_result_is_never_enlarged(self):
        _, _, access, _ = self.new_user()
        img = self.done(access, "resize", image_bytes("PNG", (400, 300)), "in.png",
                        {"width": 30, "height": 20, "format": "jpeg"})
        self.assertPreview(img, (30, 20))

    def test_webp_result_gets_its_own_preview(self):
        _, _, access, _ = self.new_user()
        img = self.done(access, "greyscale", noise_image((900, 900), "PNG"), "in.png",
                        {"format": "webp"})
        self.assertNotEqual(media_key(img["thumbnail"]), media_key(img["image"]))
        self.assertPreview(img, (512, 512))

    def test_delete_removes_the_preview(self):
        _, _, access, _ = self.new_user()
        img = self.done(access, data=noise_image((700, 500), "PNG"))
        keys = [media_key(img[n]) for n in ("image", "source", "thumbnail")]
        for key in keys:
            self.assertTrue(media.exists(key), key)
        self.assertStatus(request("DELETE", "/api/v1/images/%d/" % img["id"], token=access), 204)
        for key in keys:
            self.assertFalse(media.exists(key), key)
        self.assertEqual(request("GET", media_path(img["thumbnail"])).status, 404)

    def test_failed_job_has_no_preview(self):
        _, _, access, _ = self.new_user()
        r = upload("greyscale", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "x.png", token=access)
        if r.status != 202:  # refused at the header: nothing to check here
            return
        img = self.assertJsonResponse(wait_image(r.json["image_id"], access), 200)
        self.assertEqual(img["status"], "failed")
        self.assertIsNone(img["thumbnail"])

    def test_gallery_page_of_ten_photos_within_2_mb(self):
        """Issue 13's goal: a gallery page of 10 results <= 2 MB of images when the
        client loads the previews (86 MB for 8 cards with full-size files)."""
        _, _, access, _ = self.new_user()
        ids = []
        # five photos (two of them enlarged 2x: 4000 x 3000 PNGs), and five colour
        # noise images, the worst case of any encoder (about 180 KB at 512 x 512)
        jobs = [("enhancement", photo((2000, 1500), 0), "a.jpg", {"scale": 2}),
                ("enhancement", photo((2000, 1500), 1), "b.jpg", {"scale": 2})]
        jobs += [("greyscale", photo((2000, 1500), i), "p%d.jpg" % i, None) for i in range(3)]
        jobs += [("resize", noise_image((800, 800), "PNG"), "n%d.png" % i,
                  {"width": 700, "height": 700}) for i in range(5)]
        for slug, data, name, fields in jobs:
            r = upload(slug, data, name, fields, token=access)
            ids.append(self.assertJsonResponse(r, 202)["image_id"])
        for image_id in ids:
            self.assertEqual(wait_image(image_id, access, timeout=120).json["status"], "done")
        page = self.assertJsonResponse(request("GET", "/api/v1/user/images/?page_size=10",
                                               token=access), 200)
        self.assertEqual(len(page["results"]), 10)
        previews = full = 0
        for img in page["results"]:
            previews += len(self.fetch(img["thumbnail"])[2])
            full += img["bytes"]
        self.assertLessEqual(previews, 2 * 1024 * 1024, (previews, full))
        self.assertLess(previews * 10, full, (previews, full))


class MediaCorsTest(FieldsBase):
    def setUp(self):
        if CORS_ORIGIN is None:
            self.skipTest("run-api.sh sets CORS_ALLOWED_ORIGINS")

    def test_get_carries_cors_for_allowed_origins_only(self):
        _, _, access, _ = self.new_user()
        img = self.done(access)
        for name in ("image", "thumbnail"):
            path = media_path(img[name])
            r = request("GET", path, headers={"Origin": CORS_ORIGIN})
            self.assertStatus(r, 200)
            self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)
            self.assertIn("Origin", r.headers.get("vary", ""))
            for origin in ("http://evil.example", CORS_ORIGIN + ".evil.example"):
                r = request("GET", path, headers={"Origin": origin})
                self.assertStatus(r, 200)
                self.assertNotIn("access-control-allow-origin", r.headers)

    def test_preflight_answers_204(self):
        _, _, access, _ = self.new_user()
        img = self.done(access)
        path = media_path(img["image"])
        hdrs = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range"}
        r = request("OPTIONS", path, headers=dict(hdrs, Origin=CORS_ORIGIN))
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)
        self.assertIn("GET", r.headers.get("access-control-allow-methods", ""))
        self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
        r = request("OPTIONS", path, headers=dict(hdrs, Origin="http://evil.example"))
        self.assertStatus(r, 204)
        self.assertNotIn("access-control-allow-origin", r.headers)
        # the preflight reads nothing: the file is not sent, whatever the URL
        r = request("OPTIONS", path.replace("sig=", "sig=0"), headers=dict(hdrs, Origin=CORS_ORIGIN))
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")


class AddCreditsTest(ApiTestCase):
    def ledger(self, access):
        return self.assertJsonResponse(request("GET", HISTORY, token=access), 200)["count"]

    def test_needs_authentication(self):
        r = request("POST", ADD_CREDITS, {"credits": 500})
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)
        r = request("POST", ADD_CREDITS, {"credits": 500}, token="not.a.token")
        self.assertJsonResponse(r, 401, self.TOKEN_INVALID)

    def test_answers_the_balance_and_changes_nothing(self):
        _, _, access, _ = self.new_user()
        user_id = self.user_info(access)["id"]
        rows = db_query("SELECT count(*) FROM credit_ledger WHERE user_id = ?", (user_id,))[0][0]
        history = self.ledger(access)
        for path, body in ((ADD_CREDITS, {"credits": 500, "amount": 10}),
                           (ADD_CREDITS.rstrip("/"), None),
                           (ADD_CREDITS, {"credits": -100})):
            with self.subTest(path=path, body=body):
                r = request("POST", path, body, token=access)
                self.assertJsonResponse(r, 200, {"detail": "Credits added successfully.",
                                                 "credits": 100})
        self.assertEqual(self.user_info(access)["credits"], 100)
        self.assertEqual(self.ledger(access), history)
        self.assertEqual(db_query("SELECT count(*) FROM credit_ledger WHERE user_id = ?",
                                  (user_id,))[0][0], rows)
        # the balance it names is the current one (as /user/info/ names it: on
        # PostgreSQL other workers' caches learn of the charge by notification)
        self.assertStatus(upload("greyscale", image_bytes("PNG", (20, 20)), "a.png",
                                 token=access), 202)
        settle()
        r = request("POST", ADD_CREDITS, {}, token=access)
        self.assertJsonResponse(r, 200, {"detail": "Credits added successfully.", "credits": 99})

    def test_standard_failures(self):
        _, _, access, _ = self.new_user()
        r = request("GET", ADD_CREDITS, token=access)
        self.assertJsonResponse(r, 405, {"detail": 'Method "GET" not allowed.'})
        r = request("POST", ADD_CREDITS, raw=b"{", content_type="application/json", token=access)
        self.assertEqual(self.assertJsonResponse(r, 400)["detail"][:17], "JSON parse error ")
