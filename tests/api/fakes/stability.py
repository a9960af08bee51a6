#!/usr/bin/python3
"""stability.py - a local fake of Stability AI's v2beta REST API for the API tests.

Started by tests/api/run-api.sh as
    /usr/bin/python3 tests/api/fakes/stability.py --port-file FILE
it listens on a free loopback port (written to FILE) and serves:

  POST /v2beta/stable-image/generate/{core,sd3,ultra}   prompt, aspect_ratio, ...
  POST /v2beta/stable-image/edit/remove-background       image
  POST /v2beta/stable-image/upscale/{conservative,fast}  image (+ prompt)
  POST /v2beta/stable-image/control/style                image, prompt

answering a real small image in the requested output_format (PIL), with the
headers `finish-reason` and `seed`, like the real service with
`accept: image/*`. Control endpoints for the tests:

  GET /_requests      every request received (method, path, lower-cased
                      headers, multipart text fields, file parts' name,
                      filename, content type, size and sha256)
  DELETE /_requests   forget them
  POST /_mode         {"mode": M, "times": N?}: the next N answers (all when
                      N is absent) behave as M, then "ok" again. M is one of
                      ok | 500 | 429 | 403-moderation | 400 | 401-echo |
                      timeout | garbage | content-filtered | wrong-format;
                      "delay" (seconds, default 30) sets how long timeout sleeps;
                      "retry_after" (seconds) adds a Retry-After header to 429s
  GET /_image?path=P&output_format=F&aspect_ratio=A   the bytes a success would carry
"""
import email.parser
import email.policy
import hashlib
import io
import os
import sys
import time
from urllib.parse import parse_qs

from PIL import Image

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # even under python3 -P
import fakebase  # noqa: E402

PREFIX = "/v2beta/stable-image/"
ENDPOINTS = {"generate/core", "generate/sd3", "generate/ultra", "edit/remove-background",
             "upscale/conservative", "upscale/fast", "control/style"}
# Stability core's output sizes, divided by 16 to keep the fake's images small.
SIZES = {"16:9": (84, 48), "1:1": (64, 64), "21:9": (96, 40), "2:3": (52, 76), "3:2": (76, 52),
         "4:5": (56, 68), "5:4": (68, 56), "9:16": (48, 84), "9:21": (40, 96)}
EDIT_SIZE = (48, 32)

state = {"mode": "ok", "times": None, "delay": 30.0, "retry_after": None, "requests": []}


def make_image(endpoint, fmt, aspect):
    """The deterministic image a success carries."""
    size = SIZES.get(aspect or "16:9", SIZES["16:9"]) if endpoint.startswith("generate/") else EDIT_SIZE
    alpha = endpoint == "edit/remove-background"
    im = Image.new("RGBA" if alpha else "RGB", size)
    px = im.load()
    for y in range(size[1]):
        for x in range(size[0]):
            c = (x * 255 // size[0], y * 255 // size[1], 128)
            px[x, y] = c + ((0 if x < size[0] // 4 else 255),) if alpha else c
    buf = io.BytesIO()
    name = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}.get(fmt or "png", "PNG")
    if name == "JPEG" and alpha:
        im = im.convert("RGB")
    im.save(buf, name)
    return buf.getvalue()


def parse_multipart(content_type, body):
    """({field: value}, [file parts]) of a multipart/form-data body."""
    fields, files = {}, []
    if not content_type or not content_type.startswith("multipart/form-data"):
        return fields, files
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files.append({"name": name, "filename": filename, "content_type": part.get_content_type(),
                          "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


def take_mode():
    """The behaviour of this answer, consuming one of `times`."""
    with fakebase.LOCK:
        mode = state["mode"]
        if state["times"] is not None:
            state["times"] -= 1
            if state["times"] <= 0:
                state["mode"], state["times"] = "ok", None
        return mode, state["delay"]


class Handler(fakebase.FakeHandler):
    state = state  # the module's, which take_mode() also uses
    log_prefix = "fake-stability: "  # keep the log quiet but useful

    def error(self, status, name, errors, headers=None):
        self.reply(status, {"id": "fake-" + name, "name": name, "errors": errors}, None, headers)

    def not_found(self):
        self.error(404, "not_found", ["Not found."])

    def get(self, url):
        if url.path != "/_image":
            return self.not_found()
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.reply(200, make_image(q.get("path", "generate/core"), q.get("output_format"),
                                   q.get("aspect_ratio")), "image/png")

    def set_mode(self, conf):
        super().set_mode(conf)
        self.state["times"] = conf.get("times")
        self.state["delay"] = float(conf.get("delay", 30))
        self.state["retry_after"] = conf.get("retry_after")
        return {"mode": self.state["mode"], "times": self.state["times"]}

    def post(self, path, raw):
        fields, files = parse_multipart(self.headers.get("Content-Type"), raw)
        self.record({"method": "POST", "path": path,
                     "headers": {k.lower(): v for k, v in self.headers.items()},
                     "fields": fields, "files": files, "time": time.time()})
        if not path.startswith(PREFIX) or path[len(PREFIX):] not in ENDPOINTS:
            return self.not_found()
        self.answer(path[len(PREFIX):], fields, files)

    def answer(self, endpoint, fields, files):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= 7:
            self.error(401, "unauthorized", ["Missing or invalid Authorization header."])
            return
        if endpoint.startswith("generate/") and not fields.get("prompt"):
            self.error(400, "bad_request", ["prompt: cannot be empty"])
            return
        if not endpoint.startswith("generate/") and not any(f["name"] == "image" for f in files):
            self.error(400, "bad_request", ["image: required"])
            return
        mode, delay = take_mode()
        seed = fields.get("seed") or str(int(time.time() * 1000) % 4294967294)
        fmt = fields.get("output_format", "png")
        if mode == "timeout":
            time.sleep(delay)
            mode = "ok"
        if mode == "500":
            self.error(500, "internal_error", ["An unexpected server error has occurred."])
        elif mode == "429":
            wait = state["retry_after"]
            self.error(429, "rate_limit_exceeded", ["You have exceeded the rate limit."],
                       None if wait is None else {"Retry-After": str(wait)})
        elif mode == "403-moderation":
            self.error(403, "content_moderation",
                       ["Your request was flagged by our content moderation system, as a result "
                        "your request was denied and you were not charged."])
        elif mode == "400":
            self.error(400, "bad_request", ["aspect_ratio: invalid"])
        elif mode == "401-echo":  # a provider that echoes the credential it refused
            self.error(401, "unauthorized", ["Invalid API key: " + auth[7:]])
        elif mode == "garbage":
            self.reply(200, b"this is not an image at all\x00\x01\x02" * 20, "image/png",
                       {"finish-reason": "SUCCESS", "seed": seed})
        else:
            image = make_image(endpoint, "png" if mode == "wrong-format" and fmt != "png" else
                               ("jpeg" if mode == "wrong-format" else fmt), fields.get("aspect_ratio"))
            reason = "CONTENT_FILTERED" if mode == "content-filtered" else "SUCCESS"
            self.reply(200, image, "image/" + fmt, {"finish-reason": reason, "seed": seed})


def main():
    ap = fakebase.arg_parser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    fakebase.serve(Handler, args, args.port)


if __name__ == "__main__":
    main()
