"""API.md "Services and credits", issue 13 point 8: GET /api/v1/services/
publishes each service's output `formats` and its `params` table, and the
server validates with that same table. The validation tests are generated
from the published table (bounds, choices, lengths, required fields), so a
bound changed on one side only fails here."""
import unittest

from iatest import ApiTestCase, iactl, image_bytes, request, upload

PNG = image_bytes("PNG", (24, 16))
GENERATE = "/api/v1/create/image/from/prompt/"
PARAM_KEYS = {"name", "type", "required", "default", "min", "max", "choices", "max_length"}
TYPE_KEYS = {"integer": {"min", "max"}, "choice": {"choices"}, "string": set()}


def catalogue():
    r = request("GET", "/api/v1/services/")
    assert r.status == 200, r
    return {s["slug"]: s for s in r.json}


def param(service, name):
    return {p["name"]: p for p in service["params"]}[name]


class CatalogueShapeTest(ApiTestCase):
    def test_every_service_publishes_formats_and_params(self):
        for slug, s in catalogue().items():
            with self.subTest(slug=slug):
                self.assertIsInstance(s["formats"], list)
                self.assertTrue(s["formats"])
                self.assertTrue(set(s["formats"]) <= {"png", "jpeg", "webp"})
                names = [p["name"] for p in s["params"]]
                self.assertEqual(len(names), len(set(names)))
                for p in s["params"]:
                    self.assertTrue(set(p) <= PARAM_KEYS, p)
                    self.assertTrue({"name", "type", "required"} <= set(p), p)
                    self.assertIn(p["type"], TYPE_KEYS)
                    self.assertTrue(TYPE_KEYS[p["type"]] <= set(p), p)
                    self.assertIsInstance(p["required"], bool)
                    if p["type"] == "integer":
                        self.assertLessEqual(p["min"], p["max"])
                        self.assertNotIn("choices", p)
                        if "default" in p:
                            self.assertTrue(p["min"] <= p["default"] <= p["max"], p)
                    if p["type"] == "choice":
                        self.assertTrue(all(isinstance(c, str) for c in p["choices"]), p)
                        if "default" in p:
                            self.assertIn(p["default"], p["choices"])
                    if p["type"] == "string":
                        self.assertNotIn("choices", p)
                        self.assertNotIn("min", p)
                    if p["required"]:
                        self.assertNotIn("default", p)
                if slug != "generate":  # every upload service takes `format`
                    fmt = param(s, "format")
                    self.assertEqual(fmt["type"], "choice")
                    self.assertEqual(fmt["choices"], s["formats"])
                    self.assertEqual(fmt["default"], "png")

    def test_values_of_api_md(self):
        c = catalogue()
        self.assertEqual(c["remove-background"]["formats"], ["png", "webp"])
        for slug in ("greyscale", "resize", "thumbnail", "cropping", "enhancement", "outline",
                     "avatar"):
            self.assertEqual(c[slug]["formats"], ["png", "jpeg", "webp"], slug)
        for slug in ("greyscale", "remove-background", "avatar"):
            self.assertEqual([p["name"] for p in c[slug]["params"]], ["format"], slug)
        for name in ("width", "height"):
            self.assertEqual(param(c["resize"], name), {"name": name, "type": "integer",
                                                        "required": True, "min": 1, "max": 8192})
        self.assertEqual(param(c["thumbnail"], "max_width")["default"], 1280)
        self.assertEqual(param(c["thumbnail"], "max_height")["default"], 720)
        self.assertEqual([p["name"] for p in c["cropping"]["params"]],
                         ["x", "y", "width", "height", "format"])
        self.assertTrue(all(p["required"] for p in c["cropping"]["params"][:4]))
        self.assertEqual(param(c["enhancement"], "scale"),
                         {"name": "scale", "type": "choice", "required": False, "default": "4",
                          "choices": ["2", "4"]})
        self.assertEqual(param(c["enhancement"], "prompt"),
                         {"name": "prompt", "type": "string", "required": False,
                          "max_length": 2000})
        # issue 13 point 8: the thresholds are 0-255, as the C engine reads them
        self.assertEqual(param(c["outline"], "low_threshold"),
                         {"name": "low_threshold", "type": "integer", "required": False,
                          "default": 50, "min": 0, "max": 255})
        self.assertEqual(param(c["outline"], "high_threshold")["default"], 150)
        g = c["generate"]
        self.assertEqual(g["formats"], ["png"])
        self.assertEqual([p["name"] for p in g["params"]],
                         ["prompt", "aspect_ratio", "negative_prompt", "seed"])
        self.assertEqual(param(g, "prompt"), {"name": "prompt", "type": "string",
                                              "required": True, "max_length": 2000})
        self.assertEqual(param(g, "aspect_ratio")["choices"],
                         ["16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"])
        self.assertEqual(param(g, "aspect_ratio")["default"], "16:9")
        self.assertEqual(param(g, "seed"), {"name": "seed", "type": "integer", "required": False,
                                            "min": 0, "max": 4294967294})


class CatalogueValidationTest(ApiTestCase):
    """Every bound, choice and length the catalogue publishes, tried on the server."""

    def setUp(self):
        email, _, self.access, _ = self.new_user()
        iactl("credits", "grant", email, "400")
        self.catalogue = catalogue()

    def base_fields(self, service, name):
        """Every required integer at its minimum (a crop box of 1x1 at 0,0), the low
        threshold when testing the high one and the high one at its maximum when
        testing the low one, so only the field under test can be wrong."""
        fields = {}
        for p in service["params"]:
            if p["type"] == "integer" and (p["required"] or p["name"].endswith("_threshold")):
                fields[p["name"]] = p["max"] if p["name"] == "high_threshold" else p["min"]
        return fields

    def send(self, slug, fields):
        return upload(slug, PNG, "in.png", fields, token=self.access)

    def assertAccepted(self, r, name):
        """The field itself passed: 202, or a 400 about something else (a crop box at
        the maximum offset lies outside any image of this test)."""
        self.assertIn(r.status, (202, 400), r)
        if r.status == 400:
            self.assertNotIn(name, r.json, r)

    def test_integer_bounds(self):
        tried = 0
        for slug, s in self.catalogue.items():
            if slug == "generate":
                continue
            for p in s["params"]:
                if p["type"] != "integer":
                    continue
                with self.subTest(slug=slug, param=p["name"]):
                    name, lo, hi = p["name"], p["min"], p["max"]
                    for v in (lo, hi):
                        self.assertAccepted(self.send(slug, {**self.base_fields(s, name),
                                                             name: v}), name)
                    r = self.send(slug, {**self.base_fields(s, name), name: lo - 1})
                    self.assertJsonResponse(r, 400, {name: [
                        "Ensure this value is greater than or equal to %d." % lo]})
                    r = self.send(slug, {**self.base_fields(s, name), name: hi + 1})
                    self.assertJsonResponse(r, 400, {name: [
                        "Ensure this value is less than or equal to %d." % hi]})
                    tried += 1
        self.assertEqual(tried, 10)

    def test_required_fields(self):
        for slug, s in self.catalogue.items():
            if slug == "generate":
                continue
            for p in s["params"]:
                if not p["required"]:
                    continue
                with self.subTest(slug=slug, param=p["name"]):
                    fields = self.base_fields(s, p["name"])
                    del fields[p["name"]]
                    self.assertJsonResponse(self.send(slug, fields), 400,
                                            {p["name"]: ["This field is required."]})

    def test_choices(self):
        for slug, s in self.catalogue.items():
            if slug == "generate":
                continue
            for p in s["params"]:
                if p["type"] != "choice":
                    continue
                with self.subTest(slug=slug, param=p["name"]):
                    bogus = "x" + "".join(p["choices"])
                    r = self.send(slug, {**self.base_fields(s, p["name"]), p["name"]: bogus})
                    self.assertJsonResponse(r, 400, {p["name"]: ['"%s" is not a valid choice.'
                                                                 % bogus]})
        rb = self.catalogue["remove-background"]
        self.assertNotIn("jpeg", rb["formats"])
        self.assertJsonResponse(self.send("remove-background", {"format": "jpeg"}), 400, {
            "format": ["JPEG has no transparency: choose png or webp for remove-background."]})
        for choice in param(self.catalogue["enhancement"], "scale")["choices"]:
            self.assertJsonResponse(self.send("enhancement", {"scale": choice}), 202)
        for fmt in rb["formats"]:
            self.assertJsonResponse(self.send("remove-background", {"format": fmt}), 202)

    def test_string_length(self):
        p = param(self.catalogue["enhancement"], "prompt")
        n = p["max_length"]
        self.assertJsonResponse(self.send("enhancement", {"prompt": "é" * n, "scale": "2"}), 202)
        self.assertJsonResponse(self.send("enhancement", {"prompt": "é" * (n + 1)}), 400, {
            "prompt": ["Ensure this field has no more than %d characters." % n]})

    def test_generate_fields(self):
        g = self.catalogue["generate"]
        prompt, seed = param(g, "prompt"), param(g, "seed")
        aspect, neg = param(g, "aspect_ratio"), param(g, "negative_prompt")
        cases = [
            ({"prompt": "a" * (prompt["max_length"] + 1)}, "prompt",
             "Ensure this field has no more than %d characters." % prompt["max_length"]),
            ({"prompt": "a", "negative_prompt": "a" * (neg["max_length"] + 1)},
             "negative_prompt",
             "Ensure this field has no more than %d characters." % neg["max_length"]),
            ({"prompt": "a", "aspect_ratio": "4:3"}, "aspect_ratio",
             '"4:3" is not a valid choice.'),
            ({"prompt": "a", "seed": seed["max"] + 1}, "seed",
             "Ensure this value is an integer from %d to %d." % (seed["min"], seed["max"])),
            ({"prompt": "a", "seed": seed["min"] - 1}, "seed",
             "Ensure this value is an integer from %d to %d." % (seed["min"], seed["max"])),
        ]
        for body, field, msg in cases:
            with self.subTest(field=field):
                r = request("POST", GENERATE, body, token=self.access)
                self.assertJsonResponse(r, 400, {field: [msg]})
        r = request("POST", GENERATE, {"prompt": "a" * prompt["max_length"],
                                       "aspect_ratio": aspect["choices"][-1],
                                       "seed": seed["max"]}, token=self.access)
        self.assertJsonResponse(r, 202)


if __name__ == "__main__":
    unittest.main()
