"""Pixel checks of every upload service's output, uploaded over HTTP,
processed by the stack's batch processor and downloaded through the signed
media URL the API returns."""
import io
import random
import unittest

from iatest import (ApiTestCase, db_query, image_bytes, media_files, media_path,
                    open_image, request, upload, wait_image)


def quadrants(size=(80, 60)):
    """An RGB PNG with four coloured quadrants and a 1-pixel grid pattern."""
    from PIL import Image
    w, h = size
    im = Image.new("RGB", size)
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 3) % 256, (y * 5) % 256, 255 if (x < w // 2) == (y < h // 2) else 0)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue(), im


def noisy_disc(size=(320, 240)):
    """A synthetic photo: a noisy light background and a red disc in the middle."""
    from PIL import Image, ImageDraw
    rnd = random.Random(7)
    w, h = size
    im = Image.new("RGB", size)
    px = im.load()
    for y in range(h):
        for x in range(w):
            n = rnd.randint(-12, 12)
            px[x, y] = (225 + n, 228 + n, 222 + n)
    ImageDraw.Draw(im).ellipse((w // 2 - 60, h // 2 - 60, w // 2 + 60, h // 2 + 60),
                               fill=(200, 30, 40))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


class ServiceOutputTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        t = cls()
        _, _, cls.access, _ = t.new_user()

    def run_service(self, slug, data, fields=None, filename="in.png"):
        """(image JSON, PIL image of the output) of one job."""
        r = upload(slug, data, filename, fields, token=self.access)
        self.assertJsonResponse(r, 202)
        r = wait_image(r.json["image_id"], self.access)
        img = self.assertJsonResponse(r, 200)
        self.assertEqual(img["status"], "done", img)
        out = request("GET", media_path(img["image"]))
        self.assertStatus(out, 200)
        self.assertEqual(len(out.body), img["bytes"])
        im = open_image(out.body)
        self.assertEqual((im.width, im.height), (img["width"], img["height"]))
        self.assertEqual(Image_mime(im), img["content_type"])
        return img, im, out.body

    def test_greyscale_keeps_alpha(self):
        def draw(d):
            d.rectangle((0, 0, 19, 29), fill=(255, 0, 0, 255))
            d.rectangle((20, 0, 39, 29), fill=(0, 0, 255, 128))
            d.rectangle((40, 0, 59, 29), fill=(0, 200, 0, 0))
        src = image_bytes("PNG", (60, 30), (0, 0, 0, 0), mode="RGBA", draw=draw)
        img, im, _ = self.run_service("greyscale", src)
        self.assertEqual(im.size, (60, 30))
        self.assertIn("A", im.getbands())
        im = im.convert("RGBA")
        for y in range(0, 30, 3):
            for x in range(60):
                r, g, b, a = im.getpixel((x, y))
                self.assertTrue(r == g == b, (x, y, r, g, b))
                # libgd keeps 7 bits of alpha: 128 may come back as 129
                self.assertAlmostEqual(a, 255 if x < 20 else 128 if x < 40 else 0, delta=2,
                                       msg=(x, y))
        # red is darker than white and not black (luminance, not a threshold)
        self.assertTrue(40 < im.getpixel((5, 5))[0] < 120, im.getpixel((5, 5)))

    def test_resize_exact(self):
        data, _ = quadrants()
        img, im, _ = self.run_service("resize", data, {"width": 37, "height": 91})
        self.assertEqual(im.size, (37, 91))

    def test_thumbnail_fits_and_keeps_aspect(self):
        data = image_bytes("PNG", (3000, 1000), (10, 20, 30))
        _, im, _ = self.run_service("thumbnail", data)
        self.assertEqual(im.size, (1280, 427))
        data = image_bytes("PNG", (500, 2000), (10, 20, 30))
        _, im, _ = self.run_service("thumbnail", data)
        self.assertEqual(im.size, (180, 720))
        _, im, _ = self.run_service("thumbnail", data, {"max_width": 50, "max_height": 50})
        self.assertEqual(im.size, (13, 50))

    def test_thumbnail_never_enlarges(self):
        data = image_bytes("PNG", (100, 80), (10, 20, 30))
        _, im, _ = self.run_service("thumbnail", data)
        self.assertEqual(im.size, (100, 80))

    def test_cropping_exact_box(self):
        data, src = quadrants()
        _, im, _ = self.run_service("cropping", data, {"x": 30, "y": 20, "width": 25, "height": 17})
        self.assertEqual(im.size, (25, 17))
        im = im.convert("RGB")
        for y in range(17):
            for x in range(25):
                self.assertEqual(im.getpixel((x, y)), src.getpixel((30 + x, 20 + y)), (x, y))

    def test_cropping_whole_image(self):
        data, src = quadrants((20, 10))
        _, im, _ = self.run_service("cropping", data, {"x": 0, "y": 0, "width": 20, "height": 10})
        self.assertEqual(list(im.convert("RGB").getdata()), list(src.getdata()))

    def test_cropping_outside_is_400_and_leaves_nothing(self):
        data, _ = quadrants()
        rows = db_query("select count(*) from images")[0][0]
        files = {f for f in media_files() if not f.startswith("images/")}
        before = self.user_info(self.access)["credits"]
        for box in [{"x": 60, "y": 0, "width": 21, "height": 10},
                    {"x": 0, "y": 50, "width": 10, "height": 11},
                    {"x": 80, "y": 60, "width": 1, "height": 1}]:
            r = upload("cropping", data, "in.png", box, token=self.access)
            self.assertJsonResponse(r, 400, {"non_field_errors": ["Crop box must lie inside the image."]})
        for bad, field in [({"x": -1, "y": 0, "width": 1, "height": 1}, "x"),
                           ({"x": 0, "y": 0, "width": 0, "height": 1}, "width"),
                           ({"x": 0, "y": 0, "width": 1}, "height")]:
            r = upload("cropping", data, "in.png", bad, token=self.access)
            self.assertEqual(list(self.assertJsonResponse(r, 400)), [field], r)
        self.assertEqual(db_query("select count(*) from images")[0][0], rows)
        self.assertEqual({f for f in media_files() if not f.startswith("images/")}, files)
        self.assertEqual(self.user_info(self.access)["credits"], before)

    def test_enhancement_doubles(self):
        data, _ = quadrants((50, 30))
        _, im, _ = self.run_service("enhancement", data, {"scale": 2})
        self.assertEqual(im.size, (100, 60))

    def test_enhancement_default_is_4x(self):
        data, _ = quadrants((20, 15))
        _, im, _ = self.run_service("enhancement", data)
        self.assertEqual(im.size, (80, 60))

    def test_outline_black_lines_on_white(self):
        def draw(d):
            d.rectangle((50, 40, 150, 110), fill=(0, 0, 0))
        data = image_bytes("PNG", (200, 150), (255, 255, 255), draw=draw)
        _, im, _ = self.run_service("outline", data)
        self.assertEqual(im.size, (200, 150))
        g = im.convert("L")
        colours = {v for v in g.getdata()}
        self.assertLessEqual(colours, {0, 255}, colours)
        black = {(x, y) for y in range(150) for x in range(200) if g.getpixel((x, y)) == 0}
        self.assertTrue(black)
        near = lambda x, y: (min(abs(x - 50), abs(x - 150)) <= 2 and 38 <= y <= 112) or \
            (min(abs(y - 40), abs(y - 110)) <= 2 and 48 <= x <= 152)
        self.assertEqual({p for p in black if not near(*p)}, set())
        # every side of the rectangle is traced along most of its length
        for x in range(60, 141, 10):
            self.assertTrue(any((x, y) in black for y in range(38, 43)), x)
            self.assertTrue(any((x, y) in black for y in range(108, 113)), x)
        for y in range(50, 101, 10):
            self.assertTrue(any((x, y) in black for x in range(48, 53)), y)
            self.assertTrue(any((x, y) in black for x in range(148, 153)), y)
        self.assertEqual(g.getpixel((100, 75)), 255)  # inside the rectangle
        self.assertEqual(g.getpixel((10, 10)), 255)

    def test_remove_background(self):
        _, im, body = self.run_service("remove-background", noisy_disc())
        self.assertTrue(body.startswith(b"\x89PNG"))
        self.assertEqual(im.size, (320, 240))
        self.assertIn("A", im.getbands())
        im = im.convert("RGBA")
        for p in [(0, 0), (319, 0), (0, 239), (319, 239), (10, 120), (310, 120), (160, 5)]:
            self.assertEqual(im.getpixel(p)[3], 0, p)
        for p in [(160, 120), (130, 100), (190, 140), (160, 70), (160, 170)]:
            self.assertEqual(im.getpixel(p)[3], 255, p)
            self.assertEqual(im.getpixel(p)[:3], (200, 30, 40), p)

    def test_remove_background_refuses_jpeg_output(self):
        r = upload("remove-background", noisy_disc(), "in.png", {"format": "jpeg"}, token=self.access)
        self.assertJsonResponse(r, 400, {"format": ["JPEG has no transparency: choose png or webp for remove-background."]})

    def test_avatar_square(self):
        _, im, _ = self.run_service("avatar", noisy_disc())
        self.assertEqual(im.width, im.height)
        self.assertLessEqual(im.width, 240)

    def test_output_formats(self):
        data, _ = quadrants()
        for fmt, mime, magic, ext in [("jpeg", "image/jpeg", b"\xff\xd8\xff", "jpg"),
                                      ("webp", "image/webp", b"RIFF", "webp"),
                                      ("png", "image/png", b"\x89PNG", "png")]:
            img, im, body = self.run_service("greyscale", data, {"format": fmt})
            self.assertEqual(img["content_type"], mime)
            self.assertTrue(body.startswith(magic), fmt)
            self.assertEqual(im.format, {"jpeg": "JPEG", "webp": "WEBP", "png": "PNG"}[fmt])
            self.assertTrue(img["image"].split("?")[0].endswith("." + ext), img["image"])
        r = upload("greyscale", data, "in.png", {"format": "gif"}, token=self.access)
        self.assertJsonResponse(r, 400, {"format": ['"gif" is not a valid choice.']})

    def test_input_formats(self):
        for fmt, name in [("JPEG", "a.jpg"), ("JPEG", "a.JPEG"), ("WEBP", "a.webp"), ("PNG", "a.PNG")]:
            data = image_bytes(fmt, (30, 20), (120, 130, 140))
            img, im, _ = self.run_service("resize", data, {"width": 15, "height": 10}, name)
            self.assertEqual(im.size, (15, 10))
            self.assertEqual(img["content_type"], "image/png")

    def test_exif_orientation_applied_and_stripped(self):
        from PIL import Image
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 CW to display
        exif[0x010F] = "iatest camera"
        src = Image.new("RGB", (60, 40), (0, 0, 255))
        src.paste((255, 0, 0), (0, 0, 20, 40))  # red band on the left edge
        buf = io.BytesIO()
        src.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
        img, im, body = self.run_service("greyscale", buf.getvalue(), {"format": "jpeg"}, "o.jpg")
        self.assertEqual(im.size, (40, 60))
        self.assertEqual((img["width"], img["height"]), (40, 60))
        source = request("GET", media_path(img["source"]))
        self.assertStatus(source, 200)
        s = open_image(source.body)
        self.assertEqual(s.size, (40, 60))
        # orientation 6 = rotate 90 clockwise: the left band ends up on top
        top = s.convert("RGB").getpixel((20, 5))
        bottom = s.convert("RGB").getpixel((20, 55))
        self.assertGreater(top[0], 200, top)
        self.assertGreater(bottom[2], 200, bottom)
        for data in (source.body, body):
            self.assertNotIn(b"iatest camera", data)
            self.assertNotIn(0x0112, open_image(data).getexif())


def Image_mime(im):
    return {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[im.format]


if __name__ == "__main__":
    unittest.main()
