#!/usr/bin/python3
"""make_corpus.py - (re)write the seed corpora of tests/fuzz/corpus/.

Small valid inputs and a few edge cases per target, in the input layout
each fuzz_<target>.c documents. Run by hand after changing a layout:
  /usr/bin/python3 tests/fuzz/make_corpus.py
Needs python3-pil for the images (Debian package, in ./stack's list).
"""
import base64
import hashlib
import hmac
import io
import json
import pathlib
import shutil

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
JWT_KEY = b"fuzz-secret-key-of-some-length"
STRIPE_SECRET = b"whsec_fuzz"


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def image(fmt, size=(8, 6), mode="RGB", orientation=None, **kw):
    im = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 0)
    for x in range(size[0]):
        im.putpixel((x, 0), (x * 20 % 256, 0, 255) if mode == "RGB" else (x * 20 % 256))
    out = io.BytesIO()
    if orientation is not None:
        ex = Image.Exif()
        ex[0x0112] = orientation
        kw["exif"] = ex.tobytes()
    im.save(out, fmt, **kw)
    return out.getvalue()


def images():
    return {
        "png": image("PNG"),
        "png-grey": image("PNG", mode="L"),
        "png-exif6": image("PNG", orientation=6),
        "jpeg": image("JPEG"),
        "jpeg-grey": image("JPEG", mode="L"),
        "jpeg-exif6": image("JPEG", orientation=6),
        "jpeg-exif3-progressive": image("JPEG", size=(16, 9), orientation=3, progressive=True),
        "jpeg-64": image("JPEG", size=(64, 40)),
        "webp-lossy": image("WEBP", quality=50),
        "webp-lossless": image("WEBP", lossless=True),
        "webp-exif8": image("WEBP", orientation=8),
        "gif": image("GIF"),
        "gif87-header": b"GIF87a\x08\x00\x06\x00\x00\x00\x00;",
        "truncated-png": image("PNG")[:30],
        "jpeg-sof-only": bytes.fromhex("ffd8ffc0000b080006000801011100ffd9"),
        "empty": b"",
    }


def multipart(fields, file_part=None, boundary="AaB03x"):
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    body = "".join(out).encode()
    if file_part:
        name, fname, ctype, data = file_part
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="{fname}"\r\nContent-Type: {ctype}\r\n\r\n').encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    imgs = images()

    # JSON bodies.
    for i, t in enumerate([
        '{"email": "a@example.com", "password": "s3cret-pass"}',
        '[1, -0, 2.5e3, 1E-2, true, false, null, "x\\u00e9\\ud83d\\ude00"]',
        '"\\u0000"', '{"a": {"b": [[[]]]}}', "[" * 70 + "]" * 70, "01", "", " \t\n",
        '{"amount": "19.99"}', '{"a":1,}', '"\\ud800"', '"\x01"', "1e999",
    ]):
        write("fuzz_jsoncheck", f"seed{i}", t)

    # Multipart forms (byte 0: chunking seed; top bit: a Content-Type line first).
    png = imgs["png"]
    forms = [
        multipart([("service", "grayscale"), ("format", "png")], ("image", "a.png", "image/png", png)),
        multipart([("prompt", "a cat"), ("seed", "42")]),
        multipart([], ("image", "", "application/octet-stream", b"")),
        multipart([("x", "y")], ("other", "b.png", "image/png", png)),
        b"--AaB03x--\r\n",
        b"preamble\r\n" + multipart([("a", "b")]),
    ]
    for i, f in enumerate(forms):
        write("fuzz_multipart", f"form{i}", bytes([i * 37 % 128]) + f)
        write("fuzz_upload", f"form{i}", bytes([i * 37 % 128]) + f)
    ct = b"multipart/form-data; boundary=\"q-b\"\n" + multipart([("a", "b")], boundary="q-b")
    write("fuzz_multipart", "ctype", b"\x81" + ct)
    write("fuzz_upload", "ctype", b"\x81" + ct)

    # JWTs (byte 0 even: a token; odd: header JSON \n payload JSON, signed by the harness).
    header = '{"alg":"HS256","typ":"JWT"}'
    payload = ('{"token_type":"access","exp":1800000000,"iat":1700000000,'
               '"jti":"0123456789abcdef0123456789abcdef","user_id":7,"ver":0}')
    signing = b64u(header.encode()) + "." + b64u(payload.encode())
    tok = signing + "." + b64u(hmac.new(JWT_KEY, signing.encode(), hashlib.sha256).digest())
    write("fuzz_jwt", "valid", b"\x00" + tok.encode())
    write("fuzz_jwt", "valid-access", b"\x02" + tok.encode())
    write("fuzz_jwt", "bad-mac", b"\x00" + tok[:-2].encode() + b"AA")
    write("fuzz_jwt", "alg-none", b"\x00" + (b64u(b'{"alg":"none"}') + "." + b64u(payload.encode()) + ".").encode())
    write("fuzz_jwt", "signed", b"\x01" + (header + "\n" + payload).encode())
    write("fuzz_jwt", "signed-refresh-nbf", b"\x03" + (header + "\n" + payload.replace("access", "refresh")
                                                        .replace('"ver":0', '"ver":3,"nbf":1600000000')).encode())
    write("fuzz_jwt", "signed-expired", b"\x01" + (header + "\n" + payload.replace("1800000000", "1600000000")).encode())

    # Stripe: mode = byte 0 % 4.
    event = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_1", "amount_received": 2500, "currency": "usd", "metadata": {"user_id": "2"}}}})
    t = "1700000000"
    sig = hmac.new(STRIPE_SECRET, (t + "." + event).encode(), hashlib.sha256).hexdigest()
    write("fuzz_stripe", "sig-valid", b"\x00" + f"t={t},v1={sig},v0=abc\n{event}".encode())
    write("fuzz_stripe", "sig-old", b"\x00" + f"t=1600000000,v1={sig}\n{event}".encode())
    write("fuzz_stripe", "sig-harness", b"\x01" + f"t={t}\n{event}".encode())
    write("fuzz_stripe", "sig-spaces", b"\x01" + f" t={t}, v1=00\nbody".encode())
    for i, a in enumerate(['"25"', "25.5", '"19.99"', '"-1.5"', "1e300", '"1.234"', "null"]):
        write("fuzz_stripe", f"amount{i}", b"\x02" + a.encode())
    write("fuzz_stripe", "event", b"\x03" + event.encode())
    write("fuzz_stripe", "event-unknown-user", b"\x03" + event.replace('"2"', "99").replace("evt_1", "evt_2").encode())
    write("fuzz_stripe", "event-eur", b"\x03" + event.replace("usd", "eur").encode())
    write("fuzz_stripe", "event-other", b"\x03" + b'{"id":"evt_3","type":"charge.refunded","data":{}}')

    # Settings files.
    write("fuzz_settings", "full", "# comment\nSECRET_KEY=abc\nSIGNUP_CREDITS=100\nDEV_MODE=1\n"
          "CORS_ALLOWED_ORIGINS=http://app.example, http://b.example\nPUBLIC_URL=http://x\n")
    write("fuzz_settings", "crlf", "SECRET_KEY=k\r\nRATE_LIMIT_PER_MINUTE=5\r\nLOCAL_GENERATOR=yes\r\n")
    write("fuzz_settings", "bad-int", "SECRET_KEY=k\nSIGNUP_CREDITS=-1\n")
    write("fuzz_settings", "no-key", "DEV_MODE=0\n")
    write("fuzz_settings", "long-line", "SECRET_KEY=" + "x" * 5000 + "\n")
    write("fuzz_settings", "empty", "")

    # Router: "<path>\n<query>" (byte 0 even) or "<pattern>\n<path>" (odd).
    for i, (b, t) in enumerate([
        (0, "/api/v1/image/status/12/\npage=2&page_size=50"), (0, "/api/v1/process/remove-background\n"),
        (0, "/api/v1/images/0/\npage=%41%zz+x&page"), (0, "//\n&&=&page="), (0, "/health\npage_size=" + "9" * 40),
        (1, "/a/<id>/<slug>/\n/a/9223372036854775807/x-y/"), (1, "/\n/"),
    ]):
        write("fuzz_router", f"seed{i}", bytes([b]) + t.encode())

    # Parameter and status values: one value each.
    for i, v in enumerate(["8192", " -12.000 ", "webp", "pending,processing", "16:9",
                           "9" * 23, "éé"]):
        write("fuzz_svcparams", f"seed{i}", v)

    # Image probes and decodes.
    for name, data in imgs.items():
        write("fuzz_imgprobe", name, data)
        if name != "empty":
            write("fuzz_imgdecode", name, b"\x00" + data)
    write("fuzz_imgdecode", "jpeg-64-grey-min8", b"\x05" + imgs["jpeg-64"])
    write("fuzz_imgdecode", "jpeg-64-min32", b"\x06" + imgs["jpeg-64"])

    # EXIF blocks (byte 0 % 3: JPEG APP1, PNG eXIf, WebP EXIF).
    for o in (1, 3, 6, 8):
        ex = Image.Exif()
        ex[0x0112] = o
        raw = ex.tobytes()
        for c in range(3):
            write("fuzz_exif", f"o{o}-c{c}", bytes([c]) + raw)
    write("fuzz_exif", "tiff-only", b"\x01" + Image.Exif().tobytes()[6:])
    write("fuzz_exif", "big-endian", b"\x00Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")

    # Google tokeninfo answers.
    claims = {"iss": "https://accounts.google.com", "aud": "test-client.apps.googleusercontent.com",
              "exp": "1800000000", "email": "Someone@Example.com", "email_verified": "true",
              "given_name": "Zoë", "family_name": "Ünal " * 8}
    write("fuzz_google", "valid", json.dumps(claims, ensure_ascii=False))
    write("fuzz_google", "numbers", json.dumps(dict(claims, exp=1800000000, email_verified=True)))
    write("fuzz_google", "error", '{"error": "invalid_token", "error_description": "Invalid Value"}')

    # Stability answers: byte 0 picks the status; "<headers>\n\n<body>".
    write("fuzz_stability", "ok", b"\x00finish-reason: SUCCESS\r\nseed: 12345\r\ncontent-type: image/png\n\n" + png)
    write("fuzz_stability", "filtered", b"\x00Finish-Reason: CONTENT_FILTERED\r\nSeed: 9\n\n")
    write("fuzz_stability", "400", b"\x01content-type: application/json\n\n" + json.dumps(
        {"name": "bad_request", "errors": ["prompt: too long é" * 3, 5, "sk-fuzzkey123 leaked"]}).encode())
    write("fuzz_stability", "400-long", b"\x01\n\n" + json.dumps({"errors": ["a" * 600]}).encode())
    write("fuzz_stability", "429", b"\x07retry-after: 30\n\n{\"name\":\"rate_limited\",\"errors\":[]}")
    write("fuzz_stability", "500", b"\x08retry-after: Wed, 21 Oct 2015 07:28:00 GMT\n\nnot json")


if __name__ == "__main__":
    main()
