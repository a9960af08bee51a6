"""The batch processor under crashes, failures and parallel workers.

These tests need to decide when jobs run, so they start a second private
stack (its own state dir and port, started with IA_NO_BATCH=1: no watcher)
and run `ia-batch` themselves against its database. Jobs are still queued
over HTTP through the real upload path."""
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import iatest
from iatest import BUILD, SRC, ApiTestCase, request, upload, wait_image


def noise(size, fmt="PNG", **save):
    from PIL import Image
    im = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


class BatchTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        cls.state = tempfile.mkdtemp(prefix="ia-batch-test.")
        env = {k: v for k, v in os.environ.items() if k not in ("DB_PATH", "MEDIA_ROOT")}
        env.update(IA_STATE_DIR=cls.state, IA_PORT=str(port), IA_NO_BATCH="1", IA_SKIP_BUILD="1",
                   IA_BUILD_DIR=BUILD, PUBLIC_URL="http://127.0.0.1:%d" % port,
                   MAIL_DIR=os.path.join(cls.state, "mail"))
        cls.env = env
        p = subprocess.run([os.path.join(SRC, "stack"), "start"], env=env, capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            subprocess.run([os.path.join(SRC, "stack"), "stop"], env=env, capture_output=True)
            raise AssertionError("private stack did not start: %s" % p.stderr)
        cls.saved_url = iatest._url
        iatest._url = urllib.parse.urlsplit("http://127.0.0.1:%d" % port)
        cls.media = os.path.join(cls.state, "media")

    @classmethod
    def tearDownClass(cls):
        iatest._url = cls.saved_url
        subprocess.run([os.path.join(SRC, "stack"), "stop"], env=cls.env, capture_output=True,
                       timeout=60)
        shutil.rmtree(cls.state, ignore_errors=True)

    # --- helpers on the private stack ---

    def db(self, sql, params=()):
        conn = sqlite3.connect(os.path.join(self.state, "ia.sqlite3"), timeout=10)
        try:
            rows = conn.execute(sql, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def iactl(self, *args, check=True):
        p = subprocess.run([os.path.join(BUILD, "bin", "iactl"), *args], env=self.env,
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError("iactl %s failed (%d): %s" % (args, p.returncode, p.stderr))
        return p

    def batch(self, *args, env=None):
        return subprocess.Popen([os.path.join(BUILD, "bin", "ia-batch"), *args],
                                env=env or self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)

    def batch_once(self, *args, env=None):
        p = self.batch("--once", *args, env=env)
        _, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        return err

    def job(self, image_id):
        cols = ["status", "attempts", "lease_until", "worker", "error", "cost", "source_key",
                "image_key"]
        row = self.db("select %s from images where id = ?" % ", ".join(cols), (image_id,))[0]
        return dict(zip(cols, row))

    def ledger(self, image_id):
        return sorted(r[0] for r in self.db("select reason from credit_ledger where image_id = ?",
                                            (image_id,)))

    def submit(self, access, slug, data, name="in.png", fields=None):
        r = upload(slug, data, name, fields, token=access)
        self.assertJsonResponse(r, 202)
        return r.json["image_id"]

    def no_jobs_waiting(self):
        self.assertEqual(self.db("select count(*) from images where status in "
                                 "('pending', 'processing')")[0][0], 0)

    # --- tests ---

    def test_crash_mid_job_is_picked_up_after_the_lease(self):
        _, _, access, _ = self.new_user()
        image_id = self.submit(access, "enhancement", noise((1200, 1200), "JPEG", quality=80),
                               "big.jpg", {"scale": 2})
        self.assertEqual(self.job(image_id)["status"], "pending")
        p = self.batch("--watch", "--lease", "2")
        try:
            deadline = time.time() + 30
            while self.job(image_id)["status"] == "pending" and time.time() < deadline:
                time.sleep(0.01)
        finally:
            p.send_signal(signal.SIGKILL)
            p.communicate(timeout=30)
        self.assertEqual(p.returncode, -signal.SIGKILL)
        j = self.job(image_id)
        self.assertEqual((j["status"], j["attempts"]), ("processing", 1), j)
        self.assertTrue(j["worker"].endswith(":%d" % p.pid), j)
        r = request("GET", "/api/v1/image/status/%d/" % image_id, token=access)
        self.assertJsonResponse(r, 202, {"detail": "Image is still being processed.",
                                         "status": "processing"})

        # While the lease holds, another worker leaves the job alone.
        if time.time() < j["lease_until"] - 0.5:
            self.batch_once("--lease", "2")
            self.assertEqual(self.job(image_id)["attempts"], 1)
        while time.time() <= j["lease_until"] + 1:
            time.sleep(0.1)
        err = self.batch_once("--lease", "2")
        j = self.job(image_id)
        self.assertEqual((j["status"], j["attempts"], j["error"]), ("done", 2, None), err)
        self.assertEqual(self.ledger(image_id), ["charge"])
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual((img["status"], img["width"], img["height"]), ("done", 2400, 2400))
        self.assertTrue(os.path.isfile(os.path.join(self.media, j["image_key"])))
        self.assertEqual(self.user_info(access)["credits"], 97)
        self.no_jobs_waiting()

    def test_corrupt_source_fails_once_with_one_refund(self):
        _, _, access, _ = self.new_user()
        image_id = self.submit(access, "greyscale", noise((40, 30)))
        with open(os.path.join(self.media, self.job(image_id)["source_key"]), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\x00not really a png" * 10)
        self.batch_once()
        j = self.job(image_id)
        self.assertEqual((j["status"], j["attempts"]), ("failed", 1), j)  # permanent: no retries
        self.assertTrue(j["error"])
        self.assertEqual(self.ledger(image_id), ["charge", "refund"])
        self.assertEqual(self.user_info(access)["credits"], 100)
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual((img["status"], img["error"], img["image"]), ("failed", j["error"], None))
        # a second run changes nothing
        self.batch_once()
        self.assertEqual(self.ledger(image_id), ["charge", "refund"])
        listed = json.loads(self.iactl("job", "list", "--json", "--status", "failed").stdout)
        mine = [x for x in listed if x["id"] == image_id]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["status"], mine[0]["error"], mine[0]["service"]),
                         ("failed", j["error"], "greyscale"))
        self.assertNotIn(image_id, [x["id"] for x in json.loads(
            self.iactl("job", "list", "--json", "--status", "done").stdout)])

    def test_unavailable_engine_fails_refunds_and_retry_is_free(self):
        _, _, access, _ = self.new_user()
        no_key = dict(self.env, STABILITY_AI_KEY="")
        self.iactl("service", "set-engine", "greyscale", "stability")
        try:
            image_id = self.submit(access, "greyscale", noise((40, 30)))
            self.batch_once(env=no_key)
        finally:
            self.iactl("service", "set-engine", "greyscale", "local")
        j = self.job(image_id)
        self.assertEqual((j["status"], j["attempts"]), ("failed", 1), j)
        self.assertTrue(j["error"])
        self.assertEqual(self.ledger(image_id), ["charge", "refund"])
        self.assertEqual(self.user_info(access)["credits"], 100)

        # iactl job retry: pending again, free (the charge was refunded)
        self.iactl("job", "retry", str(image_id))
        j = self.job(image_id)
        self.assertEqual((j["status"], j["attempts"], j["error"], j["cost"]), ("pending", 0, None, 0))
        self.assertEqual(self.iactl("job", "retry", str(image_id), check=False).returncode, 1)
        self.batch_once()
        self.assertEqual(self.job(image_id)["status"], "done")
        self.assertEqual(self.ledger(image_id), ["charge", "refund"])
        self.assertEqual(self.user_info(access)["credits"], 100)
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual((img["status"], img["cost"], img["payment_made"]), ("done", 0, False))

    def test_three_workers_process_each_job_once(self):
        _, _, access, _ = self.new_user()
        before = {f for f in iatest_files(self.media) if f.startswith("images/")}
        ids = [self.submit(access, "outline", noise((400, 300))) for _ in range(10)]
        err = self.batch_once("-j", "3")
        for i in ids:
            j = self.job(i)
            self.assertEqual((j["status"], j["attempts"]), ("done", 1), (i, j))
            self.assertEqual(self.ledger(i), ["charge"])
            done_lines = re.findall(r"job %d \(outline\) (done|lost its lease)" % i, err)
            self.assertEqual(done_lines, ["done"], err)
        self.assertEqual(len(re.findall(r"job \d+ \(outline\) done", err)), 10, err)
        outputs = {f for f in iatest_files(self.media) if f.startswith("images/")} - before
        self.assertEqual(outputs, {self.job(i)["image_key"] for i in ids})
        self.assertEqual(self.user_info(access)["credits"], 80)
        self.no_jobs_waiting()


def iatest_files(root):
    out = set()
    for d, _, names in os.walk(root):
        out.update(os.path.relpath(os.path.join(d, n), root) for n in names)
    return out


if __name__ == "__main__":
    unittest.main()
