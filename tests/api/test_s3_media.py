"""test_s3_media.py - media on S3 (issue 11): a private stack with
IA_MEDIA=s3 and its own Ceph RADOS Gateway (bin/s3-gateway, memstore).

What it proves, with s3cmd as an independent S3 client:
  - an upload and its result live in the bucket, and the host keeps no
    media on local disk (MEDIA_ROOT holds no file once a job is done);
  - the same signed /media/ URLs serve the object's bytes (streamed by
    nginx from a presigned URL of the bucket), with the media headers of
    API.md, for GET, HEAD and a Range; a bad or expired signature is 403
    and a missing object a JSON 404;
  - deleting an image deletes its objects, the result's preview included;
  - the preview ia-batch writes with every result lives in the bucket and is
    served as WebP by the same signed URLs, and /media/ carries the API's
    CORS headers (a preflight answers 204) as on local disk;
  - a gateway that is down is a 503 everywhere (/health/ says "storage":
    "error"; an upload is refused before anything is charged or queued);
  - `iactl db copy-to URL --media` copies a local deployment's media into
    the bucket, verified, and copies nothing when a file is missing;
  - behind a fault-injecting proxy in front of the gateway (FlakyBucket):
    503 SlowDown and 500 answers are retried with backoff; a bucket that
    keeps failing is a 503 that charges nothing, and a job whose result
    cannot be stored is tried again later, charged once.
Runs in every pass of the API suite (the gateway is its own)."""
import hashlib
import http.client
import http.server
import os
import re
import subprocess
import threading
import time
import unittest

import iatest
from iatest import (BUILD, CORS_ORIGIN, SRC, ApiTestCase, PrivateStack, media_path, media_sign,
                    noise_image, request, upload, wait_image)

HAVE_GATEWAY = all(os.path.exists(p) for p in ("/usr/bin/radosgw", "/usr/bin/ceph-mon",
                                               "/usr/bin/ceph-osd", "/usr/bin/s3cmd"))


@unittest.skipUnless(HAVE_GATEWAY, "radosgw, ceph-mon, ceph-osd and s3cmd are installed by ./stack")
class MediaOnS3(PrivateStack, ApiTestCase):
    state_prefix = "ia-s3-test."
    stack_settings = {"IA_MEDIA": "s3", "RATE_LIMIT_PER_MINUTE": "0"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.conf = iatest.read_conf(os.path.join(cls.state, "storage.conf"))
        cls.bucket = cls.conf["AWS_STORAGE_BUCKET_NAME"]

    # -- an independent client --------------------------------------------
    def s3cmd(self, *args, check=True):
        endpoint = self.conf["AWS_S3_ENDPOINT_URL"].split("://", 1)[1]
        p = subprocess.run(["s3cmd", "--config=/dev/null", "--no-ssl", "--host=" + endpoint,
                            "--host-bucket=", "--region=" + self.conf["AWS_S3_REGION_NAME"],
                            "--access_key=" + self.conf["AWS_ACCESS_KEY_ID"],
                            "--secret_key=" + self.conf["AWS_SECRET_ACCESS_KEY"], *args],
                           capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def objects(self):
        """{key: size} of every object in the bucket."""
        out = {}
        for line in self.s3cmd("ls", "--recursive", "s3://%s/" % self.bucket).stdout.splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[-1].startswith("s3://"):
                out[parts[-1].split("/", 3)[3]] = int(parts[2])
        return out

    def object_bytes(self, key):
        dest = os.path.join(self.state, "download.bin")
        self.s3cmd("get", "--force", "s3://%s/%s" % (self.bucket, key), dest)
        with open(dest, "rb") as f:
            data = f.read()
        os.unlink(dest)
        return data

    def object_type(self, key):
        """The Content-Type the bucket keeps for key (s3cmd info's MIME type)."""
        out = self.s3cmd("info", "s3://%s/%s" % (self.bucket, key)).stdout
        m = re.search(r"MIME type:\s*(\S+)", out)
        return m.group(1) if m else None

    def local_media_files(self):
        out = []
        for d, _, names in os.walk(self.media):
            out.extend(os.path.relpath(os.path.join(d, n), self.media) for n in names)
        return out

    def batch_once(self):
        p = subprocess.run([os.path.join(BUILD, "bin", "ia-batch"), "--once"], env=self.env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stderr

    def job(self, image_id):
        return self.db("select status, source_key, image_key from images where id = ?",
                       (image_id,))[0]

    def thumbnail_key(self, image_id):
        return self.db("select thumbnail_key from images where id = ?", (image_id,))[0][0]

    def done_job(self, access, slug="greyscale", size=(120, 80), fields=None):
        r = upload(slug, noise_image(size, "PNG"), "photo.png", fields, token=access)
        image_id = self.assertJsonResponse(r, 202)["image_id"]
        self.batch_once()
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual(img["status"], "done", img)
        return image_id, img

    # -- the tests ----------------------------------------------------------
    def test_health_names_the_storage_ok(self):
        body = self.assertJsonResponse(request("GET", "/health/"), 200)
        self.assertEqual((body["db"], body["storage"]), ("ok", "ok"))

    def test_upload_and_result_live_in_the_bucket_not_on_disk(self):
        _, _, access, _ = self.new_user()
        image_id, img = self.done_job(access)
        status, source_key, image_key = self.job(image_id)
        objs = self.objects()
        self.assertIn(source_key, objs)
        self.assertIn(image_key, objs)
        self.assertEqual(objs[image_key], img["bytes"])
        self.assertEqual(self.local_media_files(), [])  # temp files only, and removed
        # the signed URL streams exactly the object's bytes
        r = request("GET", media_path(img["image"]))
        self.assertEqual(r.status, 200, r.body[:200])
        self.assertEqual(hashlib.sha256(r.body).hexdigest(),
                         hashlib.sha256(self.object_bytes(image_key)).hexdigest())
        self.assertEqual(iatest.open_image(r.body).size, (120, 80))
        self.assertEqual(r.headers.get("content-type"), "image/png")
        self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
        self.assertEqual(r.headers.get("referrer-policy"), "same-origin")
        self.assertRegex(r.headers.get("cache-control", ""), r"^private, max-age=\d+$")
        for h in r.headers:
            self.assertFalse(h.lower().startswith(("x-amz", "x-rgw")), h)
        # the normalised upload keeps its image type (it was stored untyped,
        # so the bucket and the media URL said application/octet-stream)
        self.assertEqual(self.object_type(source_key), "image/png")
        r = request("GET", media_path(img["source"]))
        self.assertEqual(r.status, 200, r.body[:200])
        self.assertEqual(r.headers.get("content-type"), "image/png")
        # its preview too (issue 13 point 2): an object beside the result, a WebP
        thumb = self.thumbnail_key(image_id)
        self.assertEqual(thumb, image_key[:-len(".png")] + ".preview.webp")
        self.assertIn(thumb, objs)
        r = request("GET", media_path(img["thumbnail"]))
        self.assertEqual(r.status, 200, r.body[:200])
        self.assertEqual(r.headers.get("content-type"), "image/webp")
        self.assertEqual(r.body[:4] + r.body[8:12], b"RIFFWEBP")
        self.assertEqual(len(r.body), objs[thumb])
        self.assertEqual(iatest.open_image(r.body).size, (120, 80))  # never enlarged

    def test_media_cors_and_preflight(self):
        if CORS_ORIGIN is None:
            self.skipTest("run-api.sh sets CORS_ALLOWED_ORIGINS")
        _, _, access, _ = self.new_user()
        _, img = self.done_job(access)
        path = media_path(img["thumbnail"])
        r = request("GET", path, headers={"Origin": CORS_ORIGIN})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)
        r = request("GET", path, headers={"Origin": "http://evil.example"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("access-control-allow-origin", r.headers)
        r = request("OPTIONS", path, headers={"Origin": CORS_ORIGIN,
                                              "Access-Control-Request-Method": "GET"})
        self.assertEqual((r.status, r.body), (204, b""))
        self.assertEqual(r.headers.get("access-control-allow-origin"), CORS_ORIGIN)
        self.assertIn("GET", r.headers.get("access-control-allow-methods", ""))

    def test_head_and_range_are_served(self):
        _, _, access, _ = self.new_user()
        _, img = self.done_job(access)
        path = media_path(img["image"])
        r = request("HEAD", path)
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.headers["content-length"]), img["bytes"])
        r = request("GET", path, headers={"Range": "bytes=0-7"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, b"\x89PNG\r\n\x1a\n")

    def test_bad_or_expired_signature_is_403(self):
        _, _, access, _ = self.new_user()
        image_id, img = self.done_job(access)
        key = self.job(image_id)[2]
        exp = int(time.time()) + 600
        sig = media_sign(key, exp, self.env["SECRET_KEY"])
        self.assertEqual(request("GET", "/media/%s?exp=%d&sig=%s" % (key, exp, sig)).status, 200)
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (key, exp, "0" * 64))
        self.assertJsonResponse(r, 403, {"detail": "Invalid or expired media signature."})
        old = int(time.time()) - 1
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (key, old, media_sign(key, old, self.env["SECRET_KEY"])))
        self.assertEqual(r.status, 403)

    def test_signed_url_of_a_missing_object_is_json_404(self):
        key = "images/ab/%s.png" % ("0" * 32)
        exp = int(time.time()) + 600
        r = request("GET", "/media/%s?exp=%d&sig=%s" % (key, exp, media_sign(key, exp, self.env["SECRET_KEY"])))
        self.assertJsonResponse(r, 404, {"detail": "Not found."})

    def test_delete_removes_the_objects(self):
        _, _, access, _ = self.new_user()
        image_id, _ = self.done_job(access)
        _, source_key, image_key = self.job(image_id)
        thumb = self.thumbnail_key(image_id)
        self.assertIn(thumb, self.objects())
        self.assertStatus(request("DELETE", "/api/v1/images/%d/" % image_id, token=access), 204)
        objs = self.objects()
        self.assertNotIn(source_key, objs)
        self.assertNotIn(image_key, objs)
        self.assertNotIn(thumb, objs)

    def test_staff_points_an_image_at_an_object(self):
        _, _, access, _ = self.new_user()
        image_id, _ = self.done_job(access)
        key = self.job(image_id)[2]
        email, password, _, _ = self.new_user()
        subprocess.run([os.path.join(BUILD, "bin", "iactl"), "user", "staff", email], env=self.env,
                       check=True, capture_output=True, timeout=60)
        staff = self.login(email, password)["access"]
        other, _ = self.done_job(access, size=(30, 20))
        r = request("PUT", "/api/v1/update/processed/image/%d/" % other, {"name": key}, token=staff)
        body = self.assertJsonResponse(r, 202)
        self.assertEqual((body["width"], body["height"]), (120, 80))
        r = request("PUT", "/api/v1/update/processed/image/%d/" % other,
                    {"name": "images/ab/%s.png" % ("1" * 32)}, token=staff)
        self.assertJsonResponse(r, 400, {"name": ["No media file with this key."]})

    def main_stack_job(self, access):
        """A greyscale job run by the suite's own stack (local disk)."""
        ctype, body = iatest.multipart(None, {"image": ("a.png", noise_image((50, 40), "PNG"))})
        r = request("POST", "/api/v1/process/greyscale/", raw=body, content_type=ctype,
                    token=access, url=iatest.BASE_URL)
        image_id = self.assertJsonResponse(r, 202)["image_id"]
        deadline = time.time() + 60
        while time.time() < deadline:
            r = request("GET", "/api/v1/image/status/%d/" % image_id, token=access,
                        url=iatest.BASE_URL)
            if r.status == 200:
                return image_id
            time.sleep(0.1)
        self.fail("the suite's stack did not finish job %d" % image_id)

    def copy_to(self, url):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_STORAGE")}
        env.update({k: v for k, v in self.conf.items() if k.startswith("AWS_")})
        return subprocess.run([os.path.join(BUILD, "bin", "iactl"), "db", "copy-to", url,
                               "--media"], env=env, capture_output=True, text=True, timeout=300)

    @unittest.skipIf(iatest.POSTGRES or iatest.media.s3 or
                     not os.path.exists("/usr/lib/postgresql/15/bin/initdb"),
                     "the source of copy-to is the suite's stack on SQLite and local disk")
    def test_copy_to_media_copies_every_file_verified(self):
        """The suite's own stack (SQLite, local disk) is the deployment that
        moves: its media go into this test's bucket, its rows into a new
        PostgreSQL database; a missing file stops the copy before any row."""
        email, password = iatest.unique_email("s3copy"), "correct horse battery"
        r = request("POST", "/api/v1/users/signup/", {"email": email, "password": password},
                    url=iatest.BASE_URL)
        self.assertJsonResponse(r, 201)
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": password},
                    url=iatest.BASE_URL)
        access = self.assertJsonResponse(r, 200)["access"]
        image_id = self.main_stack_job(access)
        source_key, image_key = iatest.db_query(
            "select source_key, image_key from images where id = ?", (image_id,))[0]
        pg = iatest.PgCluster("ia-s3-copy-pg.").start()
        try:
            # a row whose file is gone: nothing is copied, the target stays empty
            broken = self.main_stack_job(access)
            gone = iatest.db_query("select image_key from images where id = ?", (broken,))[0][0]
            os.unlink(os.path.join(iatest.MEDIA_ROOT, gone))
            p = self.copy_to(pg.database("ia_copy_fails"))
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn(gone, p.stderr)
            self.assertIn("nothing was copied", p.stderr)
            self.assertNotIn(self.conf["AWS_SECRET_ACCESS_KEY"], p.stdout + p.stderr)
            self.assertEqual(request("DELETE", "/api/v1/images/%d/" % broken, token=access,
                                     url=iatest.BASE_URL).status, 204)
            p = self.copy_to(pg.database("ia_copy"))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertRegex(p.stdout, r"copied \d+ media file\(s\)")
        finally:
            pg.stop()
        objs = self.objects()
        for key in (source_key, image_key):
            with open(os.path.join(iatest.MEDIA_ROOT, key), "rb") as f:
                local = f.read()
            self.assertEqual(objs.get(key), len(local), key)
            self.assertEqual(hashlib.sha256(self.object_bytes(key)).digest(),
                             hashlib.sha256(local).digest())
            self.assertEqual(self.object_type(key), "image/png", key)  # typed, as ia-batch puts
        keys = {k for row in iatest.db_query("select source_key, image_key from images")
                for k in row if k}
        missing = [k for k in keys if k not in objs]
        self.assertEqual(missing, [])

    def test_zz_gateway_down_is_503_and_charges_nothing(self):
        """Last (by name): the gateway is stopped for good (memstore)."""
        _, _, access, _ = self.new_user()
        _, img = self.done_job(access)
        before = self.user_info(access)["credits"]
        jobs = self.db("select count(*) from images")[0][0]
        p = subprocess.run([os.path.join(SRC, "bin", "s3-gateway"), "stop",
                            os.path.join(self.state, "s3")], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        body = self.assertJsonResponse(request("GET", "/health/"), 503)
        self.assertEqual((body["db"], body["storage"]), ("ok", "error"))
        r = upload("greyscale", noise_image((40, 30), "PNG"), "x.png", token=access)
        self.assertJsonResponse(r, 503, {"detail": "Could not store the image, try again."})
        self.assertEqual(self.user_info(access)["credits"], before)
        self.assertEqual(self.db("select count(*) from images")[0][0], jobs)
        self.assertEqual([f for f in self.local_media_files()], [])
        r = request("GET", media_path(img["image"]))
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json, {"detail": "Service temporarily unavailable."})


class FaultProxy(http.server.ThreadingHTTPServer):
    """A proxy in front of the real gateway that answers the next `fail`
    requests (those with method and path suffix `match` when it is given)
    itself with `status` (S3's SlowDown error by default; 0:
    no answer at all for 200 s) and
    passes every other request through unchanged (the Host header too, so
    SigV4 signatures made for the proxy's address hold)."""
    daemon_threads = True

    def __init__(self, upstream):
        super().__init__(("127.0.0.1", 0), FaultProxyHandler)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.fail, self.status, self.injected, self.match = 0, 503, 0, None
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def fail_next(self, n, status=503, match=None):
        with self.lock:
            self.fail, self.status, self.injected, self.match = n, status, 0, match

    def take_fault(self, method, path):
        with self.lock:
            if self.fail <= 0:
                return None
            if self.match and (method != self.match[0] or
                               not path.split("?", 1)[0].endswith(self.match[1])):
                return None
            self.fail -= 1
            self.injected += 1
            return self.status


class FaultProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        status = self.server.take_fault(self.command, self.path)
        if status == 0:  # a gateway that stops answering
            time.sleep(200)
            self.close_connection = True
            return
        if status is not None:
            code = "SlowDown" if status == 503 else "InternalError"
            data = b"" if self.command == "HEAD" else (
                b"<?xml version=\"1.0\"?><Error><Code>%s</Code></Error>" % code.encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        host, port = self.server.upstream.split("://", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        skip = ("connection", "expect", "transfer-encoding", "content-length")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", r.getheader("Content-Length", str(len(data)))
                         if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any


@unittest.skipUnless(HAVE_GATEWAY, "radosgw, ceph-mon, ceph-osd and s3cmd are installed by ./stack")
class FlakyBucket(PrivateStack, ApiTestCase):
    """A stack whose AWS_S3_ENDPOINT_URL is a FaultProxy before a gateway
    of the test's own."""
    state_prefix = "ia-s3-flaky."
    stack_settings = {"IA_MEDIA": "s3", "RATE_LIMIT_PER_MINUTE": "0"}

    @classmethod
    def prepare_state(cls):
        cls.gw = os.path.join(cls.state, "gateway")
        os.mkdir(cls.gw)
        p = subprocess.run([os.path.join(SRC, "bin", "s3-gateway"), "start", cls.gw],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("the gateway did not start: %s" % p.stderr)
        conf = iatest.read_conf(os.path.join(cls.gw, "storage.conf"))
        cls.proxy = FaultProxy(conf["AWS_S3_ENDPOINT_URL"])
        cls.env.update({k: v for k, v in conf.items() if k.startswith("AWS_")})
        cls.env["AWS_S3_ENDPOINT_URL"] = cls.proxy.url

    @classmethod
    def cleanup_state(cls):
        if "proxy" in cls.__dict__:
            cls.proxy.shutdown()
        subprocess.run([os.path.join(SRC, "bin", "s3-gateway"), "stop", cls.gw],
                       capture_output=True, timeout=120)

    def setUp(self):
        self.proxy.fail_next(0)

    def batch_once(self, **env):
        p = subprocess.run([os.path.join(BUILD, "bin", "ia-batch"), "--once"],
                           env=dict(self.env, **env), capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stderr

    def test_slowdown_and_500_are_retried(self):
        _, _, access, _ = self.new_user()
        for status in (503, 500):
            self.proxy.fail_next(2, status)
            r = upload("greyscale", noise_image((40, 30), "PNG"), "x.png", token=access)
            self.assertJsonResponse(r, 202)
            self.assertEqual(self.proxy.injected, 2)
        self.assertEqual(self.user_info(access)["credits"], 98)

    def test_a_gateway_that_stops_answering_costs_seconds(self):
        """Found by the cluster benchmark: a request the gateway never
        answered held a batch worker for the whole total timeout (120 s,
        per attempt). A request with nothing moving for 10 s is given up
        and tried again, well within nginx's 60 s wait for the program
        (without the bound this upload ends in nginx's 503)."""
        _, _, access, _ = self.new_user()
        self.proxy.fail_next(1, 0)
        r = upload("greyscale", noise_image((40, 30), "PNG"), "x.png", token=access)
        self.assertJsonResponse(r, 202)
        self.assertEqual(self.proxy.injected, 1)

    def test_a_bucket_that_keeps_failing_is_503_and_charges_nothing(self):
        _, _, access, _ = self.new_user()
        jobs = self.db("select count(*) from images")[0][0]
        self.proxy.fail_next(1000)
        r = upload("greyscale", noise_image((40, 30), "PNG"), "x.png", token=access)
        self.assertJsonResponse(r, 503, {"detail": "Could not store the image, try again."})
        self.assertGreaterEqual(self.proxy.injected, 3)  # tried again before giving up
        body = self.assertJsonResponse(request("GET", "/health/"), 503)
        self.assertEqual(body["storage"], "error")
        self.proxy.fail_next(0)
        self.assertEqual(self.user_info(access)["credits"], 100)
        self.assertEqual(self.db("select count(*) from images")[0][0], jobs)
        self.assertEqual(self.assertJsonResponse(request("GET", "/health/"), 200)["storage"], "ok")

    def test_a_job_whose_result_cannot_be_stored_runs_again_charged_once(self):
        _, _, access, _ = self.new_user()
        r = upload("greyscale", noise_image((40, 30), "PNG"), "x.png", token=access)
        image_id = self.assertJsonResponse(r, 202)["image_id"]
        self.proxy.fail_next(1000)
        self.batch_once(JOB_RETRY_BASE_SECONDS="600")  # one attempt in this run
        status, attempts, error = self.db("select status, attempts, error from images where id = ?",
                                          (image_id,))[0]
        self.assertEqual((status, attempts), ("pending", 1), error)
        self.proxy.fail_next(0)
        self.db("update images set run_after = ? where id = ?", (int(time.time()) - 1, image_id))
        self.batch_once()
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual(img["status"], "done", img)
        self.assertEqual(request("GET", media_path(img["image"])).status, 200)
        reasons = [e["reason"] for e in
                   request("GET", "/api/v1/credits/history/", token=access).json["results"]]
        self.assertEqual(reasons, ["charge", "signup_bonus"])

    def test_a_preview_that_cannot_be_stored_costs_the_job_nothing(self):
        """Issue 13 point 2: the preview is a convenience. When the bucket refuses
        it, the job is done all the same, charged once, with "thumbnail": null."""
        _, _, access, _ = self.new_user()
        r = upload("greyscale", noise_image((600, 400), "PNG"), "x.png", token=access)
        image_id = self.assertJsonResponse(r, 202)["image_id"]
        self.proxy.fail_next(1000, 500, match=("PUT", ".preview.webp"))
        err = self.batch_once()
        self.assertGreaterEqual(self.proxy.injected, 1)
        self.assertIn("cannot store the preview", err)
        self.proxy.fail_next(0)
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual((img["status"], img["error"], img["thumbnail"]), ("done", None, None))
        self.assertEqual(self.db("select attempts, thumbnail_key from images where id = ?",
                                 (image_id,))[0], (1, None))
        self.assertEqual(request("GET", media_path(img["image"])).status, 200)
        self.assertEqual(self.user_info(access)["credits"], 99)


if __name__ == "__main__":
    unittest.main()
