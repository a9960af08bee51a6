"""Issue 9: API.md's order of checks for uploads and prompts, and what the
request workers no longer do. Balance (402) and the per-user limit (429,
see test_batch.py) come before the body is read; request workers read
headers only and store the upload as sent; the batch processor decodes and
normalises it (EXIF orientation, metadata, GIF -> PNG) before the engine."""
import io
import os
import struct
import zlib

import urllib.parse

from iatest import (ApiTestCase, db_query, iactl, image_bytes, media_files, multipart, request,
                    upload, wait_image)

INSUFFICIENT = {"detail": "Insufficient credits."}


def media_key(url):
    return urllib.parse.urlsplit(url).path[len("/media/"):]


def big_png(w=7071, h=7071):
    """A real PNG of w x h black pixels (~50 MP, ~150 KB compressed)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = zlib.compress((b"\0" * (1 + 3 * w)) * h, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


class OrderOfChecksTest(ApiTestCase):
    def broke_user(self):
        email, _, access, _ = self.new_user()
        iactl("credits", "revoke", email, "100")
        return access

    def test_402_before_the_body_is_read(self):
        access = self.broke_user()
        rows = db_query("select count(*) from images")[0][0]
        files = media_files()
        # not even multipart: the body is never looked at
        r = request("POST", "/api/v1/process/greyscale/", raw=b"garbage", content_type="text/plain",
                    token=access)
        self.assertJsonResponse(r, 402, INSUFFICIENT)
        r = upload("greyscale", b"not an image", "x.png", token=access)
        self.assertJsonResponse(r, 402, INSUFFICIENT)
        # a 50 MP image is refused without being decoded
        data = big_png()
        r = upload("greyscale", data, "big.png", token=access)
        self.assertJsonResponse(r, 402, INSUFFICIENT)
        r = request("POST", "/api/v1/create/image/from/prompt/", {"prompt": "a cat"}, token=access)
        self.assertJsonResponse(r, 402, INSUFFICIENT)
        # free services need no credits
        r = upload("cropping", image_bytes("PNG", (8, 8)), "c.png",
                   {"x": 0, "y": 0, "width": 2, "height": 2}, token=access)
        self.assertJsonResponse(r, 202)
        wait_image(r.json["image_id"], access)
        self.assertEqual(db_query("select count(*) from images")[0][0], rows + 1)

    def test_prompt_402_before_its_fields_are_checked(self):
        """API.md's order for prompts too: credits before the fields (the
        fields were checked first, so a broke client learnt of a bad
        prompt before it learnt it could not pay)."""
        access = self.broke_user()
        for body in ({}, {"prompt": ""}, {"prompt": "a cat", "aspect_ratio": "7:3"},
                     {"prompt": "a cat", "seed": 1e300}):
            r = request("POST", "/api/v1/create/image/from/prompt/", body, token=access)
            self.assertJsonResponse(r, 402, INSUFFICIENT)

    def test_upload_stored_as_sent_then_normalised_by_the_batch(self):
        _, _, access, _ = self.new_user()
        from PIL import Image
        buf = io.BytesIO()
        Image.new("RGB", (30, 20), (10, 200, 30)).save(buf, "GIF")
        r = upload("greyscale", buf.getvalue(), "anim.gif", token=access)
        self.assertJsonResponse(r, 202)
        image_id = r.json["image_id"]
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual((img["status"], img["width"], img["height"]), ("done", 30, 20), img)
        # the source is now the normalised PNG; the raw GIF is gone
        self.assertRegex(media_key(img["source"]), r"^sources/[0-9a-f/]+\.png$")
        row = db_query("select source_key, source_ready from images where id = ?", (image_id,))[0]
        self.assertEqual(row, (media_key(img["source"]), 1))
        self.assertEqual([f for f in media_files() if f.endswith(".gif")], [])

    def test_file_under_another_field_is_image_required(self):
        _, _, access, _ = self.new_user()
        ctype, body = multipart({"format": "png"}, {"picture": ("x.png", image_bytes("PNG", (8, 8)))})
        r = request("POST", "/api/v1/process/greyscale/", raw=body, content_type=ctype, token=access)
        self.assertJsonResponse(r, 400, {"detail": "Image file is required."})
