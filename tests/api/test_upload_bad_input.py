"""Hostile and broken uploads: each must get a 4xx JSON reply and leave no
trace - no images row, no file under MEDIA_ROOT (sources/, images/, tmp/),
no credit spent - and the stack must stay healthy."""
import io
import os
import struct
import time
import unittest
import zlib

from iatest import (ApiTestCase, db_query, image_bytes, media_files, multipart, request,
                    upload, wait_image)

JSON_CT = "application/json; charset=utf-8"
INVALID_IMAGE = {"image": ["Upload a valid image. The file you uploaded was either not an image "
                           "or a corrupted image."]}


def noise_image(fmt, size=(96, 64), **save):
    from PIL import Image
    im = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(w=60000, h=60000):
    """A PNG whose IHDR claims w x h (8-bit RGB) followed by one tiny IDAT."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 300)) + png_chunk(b"IEND", b""))


def corrupt_png():
    data = bytearray(noise_image("PNG"))
    i = data.index(b"IDAT") + 40
    data[i:i + 64] = b"\x55" * 64  # breaks the deflate stream and the CRC
    return bytes(data)


def corrupt_jpeg():
    """Valid markers up to the scan, then the entropy-coded data replaced by
    a marker that cannot appear there."""
    data = noise_image("JPEG", quality=90)
    sos = data.index(b"\xff\xda")
    return data[:sos + 30] + b"\xff\xd8" * 200 + b"\xff\xd9"


def corrupt_webp():
    data = bytearray(noise_image("WEBP", quality=80))
    i = data.index(b"\x9d\x01\x2a")  # VP8 key frame start code
    data[i:i + 3] = b"\x00\x00\x00"
    return bytes(data)


class UploadBadInputTest(ApiTestCase):
    def setUp(self):
        _, _, self.access, _ = self.new_user()
        self.quiesce()
        self.rows = db_query("select count(*) from images")[0][0]
        self.files = media_files()

    def tearDown(self):
        self.assertEqual(db_query("select count(*) from images")[0][0], self.rows)
        self.assertEqual(media_files() - self.files, set())
        self.assertEqual(self.user_info(self.access)["credits"], 100)
        self.assertHealthy()
        # and the images program still accepts a good upload afterwards
        ok = upload("cropping", image_bytes("PNG", (4, 4)), "ok.png",
                    {"x": 0, "y": 0, "width": 1, "height": 1}, token=self.access)
        self.assertJsonResponse(ok, 202)

    @staticmethod
    def quiesce():
        """Wait until the batch processor has no job in hand, so no output
        file appears under MEDIA_ROOT while a test compares listings."""
        for _ in range(300):
            n = db_query("select count(*) from images where status in ('pending', 'processing')")
            if n[0][0] == 0:
                return
            time.sleep(0.1)
        raise AssertionError("jobs still queued after 30 s")

    def bad(self, r, status=400, body=None):
        self.assertEqual(r.headers.get("content-type"), JSON_CT, r)
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.json, dict, r)
        if body is not None:
            self.assertEqual(r.json, body)
        return r.json

    def send(self, data, name="x.png", fields=None, slug="greyscale"):
        return upload(slug, data, name, fields, token=self.access)

    def test_not_an_image(self):
        for data, name in [(b"hello world\n" * 10, "x.png"), (b"GIF89a" + b"\0" * 10, "x.gif"),
                           (b"%PDF-1.4\n", "x.pdf"), (b"\x89PNG\r\n\x1a\n", "x.png")]:
            body = self.bad(self.send(data, name))
            self.assertEqual(list(body), ["image"], (name, body))

    def test_pixel_bomb_header(self):
        data = huge_png_header()
        self.assertLess(len(data), 400)
        body = self.bad(self.send(data, "bomb.png"))
        self.assertEqual(list(body), ["image"])
        self.assertIn("50000000 pixels", body["image"][0])
        # just over the bound: 7072 x 7071 = 50 006 112 pixels
        body = self.bad(self.send(huge_png_header(7072, 7071), "bomb.png"))
        self.assertEqual(list(body), ["image"])

    def test_wrong_extension(self):
        png = image_bytes("PNG", (8, 8))
        jpg = image_bytes("JPEG", (8, 8))
        want = {"detail": "File extension does not match content type."}
        for data, name in [(png, "x.jpg"), (png, "x.jpeg"), (jpg, "x.png"), (png, "x.webp"),
                           (png, "x.exe"), (png, "noext"), (png, "x.png.exe")]:
            self.bad(self.send(data, name), 400, want)

    def test_missing_file(self):
        want = {"detail": "Image file is required."}
        r = upload("greyscale", None, fields={"format": "png"}, token=self.access)
        self.bad(r, 400, want)
        self.bad(self.send(b"", "empty.png"), 400, want)
        ctype, body = multipart({}, {"other": ("x.png", image_bytes("PNG", (8, 8)))})
        r = request("POST", "/api/v1/process/greyscale/", raw=body, content_type=ctype,
                    token=self.access)
        self.bad(r, 400, want)  # issue 9: not "Malformed multipart body."

    def test_non_multipart_body(self):
        r = request("POST", "/api/v1/process/greyscale/", {"image": "x"}, token=self.access)
        self.bad(r, 400, {"detail": "Image file is required."})
        r = request("POST", "/api/v1/process/greyscale/", raw=image_bytes("PNG", (8, 8)),
                    content_type="image/png", token=self.access)
        self.bad(r, 400, {"detail": "Image file is required."})
        r = request("POST", "/api/v1/create/grayscale/", token=self.access)
        self.bad(r, 400, {"detail": "Image file is required."})

    def test_malformed_multipart(self):
        png = image_bytes("PNG", (8, 8))
        ctype, body = multipart({}, {"image": ("x.png", png)})
        for ct, raw in [(ctype, body[:len(body) // 2]),               # no closing boundary
                        ("multipart/form-data", body),                # no boundary parameter
                        ("multipart/form-data; boundary=zzz", body),  # wrong boundary
                        (ctype, b"garbage")]:
            r = request("POST", "/api/v1/process/greyscale/", raw=raw, content_type=ct,
                        token=self.access)
            self.bad(r)

    def test_field_errors(self):
        png = image_bytes("PNG", (8, 8))
        cases = [
            ({"width": 0, "height": 5}, {"width": ["Ensure this value is greater than or equal to 1."]}),
            ({"width": 9000, "height": 5}, {"width": ["Ensure this value is less than or equal to 8192."]}),
            ({"width": "abc", "height": 5}, {"width": ["A valid integer is required."]}),
            ({"width": 5}, {"height": ["This field is required."]}),
            ({"width": 5, "height": -3}, {"height": ["Ensure this value is greater than or equal to 1."]}),
            ({"width": 5, "height": 5, "format": "bmp"}, {"format": ['"bmp" is not a valid choice.']}),
        ]
        for fields, want in cases:
            self.bad(self.send(png, fields=fields, slug="resize"), 400, want)
        self.bad(self.send(png, fields={"scale": 3}, slug="enhancement"), 400,
                 {"scale": ['"3" is not a valid choice.']})
        self.bad(self.send(png, fields={"max_width": 0}, slug="thumbnail"), 400,
                 {"max_width": ["Ensure this value is greater than or equal to 1."]})
        self.bad(self.send(png, fields={"low_threshold": 300}, slug="outline"), 400,
                 {"low_threshold": ["Ensure this value is less than or equal to 255."]})

    def test_invalid_utf8_prompt_is_refused(self):
        # issue 9: an upload's invalid `prompt` was stored and then broke the
        # JSON of every list holding that image
        png = image_bytes("PNG", (8, 8))
        for bad in (b"caf\xe9", b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"ok\xc3"):
            with self.subTest(prompt=bad):
                self.bad(self.send(png, fields={"prompt": bad}), 400,
                         {"prompt": ["Not a valid string."]})
        self.bad(self.send(png, fields={"width": 5, "height": b"5\xff"}, slug="resize"), 400,
                 {"height": ["Not a valid string."]})
        r = request("GET", "/api/v1/user/images/?status=pending,processing,done,failed",
                    token=self.access)
        self.assertJsonResponse(r, 200)

    def test_control_characters_in_fields_are_refused(self):
        png = image_bytes("PNG", (8, 8))
        msg = "Control characters other than newline and tab are not allowed."
        for bad in ("\x1b[2J", "bell\x07", "lone\rcr", "del\x7f", "c1\x9b"):
            with self.subTest(prompt=bad):
                self.bad(self.send(png, fields={"prompt": bad}), 400, {"prompt": [msg]})
        self.bad(self.send(png, fields={"scale": "2\x1b"}, slug="enhancement"), 400, {"scale": [msg]})
        # a field's name becomes a JSON key of the job's params: text too
        self.bad(self.send(png, fields={"x\x9by": "1"}), 400,
                 {"detail": "Form field names must be text."})

    def test_upload_over_10_mib(self):
        big = b"\x89PNG\r\n\x1a\n" + os.urandom(10 * 1024 * 1024 + 1000)
        want = {"detail": "Request body too large."}
        self.bad(self.send(big, "big.png"), 413, want)          # file over 10 MiB
        big += os.urandom(200 * 1024)
        self.bad(self.send(big, "big.png"), 413, want)          # body over the program's bound
        big += os.urandom(1024 * 1024)
        self.bad(self.send(big, "big.png"), 413, want)          # body over nginx's bound


UNDECODABLE = "The uploaded file could not be decoded as an image."


class UndecodableUploadTest(ApiTestCase):
    """Issue 9 point 5: request workers read headers only. A file whose
    header is sound but whose pixels do not decode is either refused from
    its header (400, nothing kept, nothing charged) or accepted and then
    failed by the batch processor with a readable error and one refund."""

    def setUp(self):
        _, _, self.access, _ = self.new_user()

    def check(self, data, name):
        r = upload("greyscale", data, name, token=self.access)
        if r.status == 400:
            self.assertEqual(r.json, INVALID_IMAGE, name)
            return "refused"
        self.assertJsonResponse(r, 202)
        image_id = r.json["image_id"]
        img = self.assertJsonResponse(wait_image(image_id, self.access), 200)
        self.assertEqual((img["status"], img["error"], img["image"]), ("failed", UNDECODABLE, None),
                         name)
        ledger = sorted(x[0] for x in db_query(
            "select reason from credit_ledger where image_id = ?", (image_id,)))
        self.assertEqual(ledger, ["charge", "refund"], name)
        self.assertEqual(db_query("select attempts from images where id = ?", (image_id,))[0][0], 1)
        self.assertEqual(self.user_info(self.access)["credits"], 100)
        return "failed"

    def test_corrupt_images_fail_their_job_with_a_refund(self):
        outcomes = [self.check(corrupt_png(), "c.png"), self.check(corrupt_jpeg(), "c.jpg"),
                    self.check(corrupt_webp(), "c.webp")]
        self.assertIn("failed", outcomes)  # the header checks pass: only decoding finds out

    def test_truncated_images(self):
        for fmt, name in [("PNG", "t.png"), ("JPEG", "t.jpg"), ("WEBP", "t.webp")]:
            data = noise_image(fmt)
            for cut in (len(data) // 2, 40):
                self.check(data[:cut], name)


if __name__ == "__main__":
    unittest.main()
