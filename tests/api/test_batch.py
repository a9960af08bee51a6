"""The batch processor under crashes, failures and parallel workers.

These tests need to decide when jobs run, so they start a second private
stack (its own state dir and port, started with IA_NO_BATCH=1: no watcher)
and run `ia-batch` themselves against its database. Jobs are still queued
over HTTP through the real upload path."""
import json
import os
import re
import signal
import subprocess
import time
import unittest

import iatest
from iatest import BUILD, POSTGRES, ApiTestCase, noise_image, request, upload, wait_image


class BatchTest(iatest.PrivateStack, ApiTestCase):
    state_prefix = "ia-batch-test."

    # --- helpers on the private stack ---

    @property
    def store(self):
        """Its media, on local disk or in its bucket."""
        return iatest.MediaStore(state=self.state, media_root=self.media)

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
                "image_key", "thumbnail_key"]
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

    def wait_status(self, image_id, status, timeout=30):
        deadline = time.time() + timeout
        while self.job(image_id)["status"] != status:
            if time.time() > deadline:
                raise AssertionError("job %d not %s: %r" % (image_id, status, self.job(image_id)))
            time.sleep(0.01)

    def consistent_ledger(self):
        """users.credits == sum of the ledger, for every user (nothing lost)."""
        bad = self.db("select u.id, u.credits, coalesce(sum(l.delta), 0) from users u "
                      "left join credit_ledger l on l.user_id = u.id group by u.id "
                      "having u.credits <> coalesce(sum(l.delta), 0)")
        self.assertEqual(bad, [])

    def test_kill_9_mid_job_is_reclaimed_at_once(self):
        """Issue 9 point 7: the job of a killed worker does not wait out a
        lease: the next worker of this host sees its pid is gone."""
        _, _, access, _ = self.new_user()
        image_id = self.submit(access, "enhancement", noise_image((1200, 1200), "JPEG", quality=80),
                               "big.jpg", {"scale": 4})
        self.assertEqual(self.job(image_id)["status"], "pending")
        p = self.batch("--watch")
        try:
            self.wait_status(image_id, "processing")
            time.sleep(0.3)  # inside the engine, in the forked child
        finally:
            p.send_signal(signal.SIGKILL)
            p.communicate(timeout=30)
        self.assertEqual(p.returncode, -signal.SIGKILL)
        j = self.job(image_id)
        self.assertEqual((j["status"], j["attempts"]), ("processing", 1), j)
        self.assertTrue(j["worker"].endswith(":%d" % p.pid), j)
        self.assertLessEqual(j["lease_until"], time.time() + 16)  # a short lease
        r = request("GET", "/api/v1/image/status/%d/" % image_id, token=access)
        self.assertJsonResponse(r, 202)
        t0 = time.time()
        err = self.batch_once()
        self.assertIn("is gone, lease released", err)
        j = self.job(image_id)
        self.assertEqual((j["status"], j["attempts"], j["error"]), ("done", 2, None), err)
        self.assertLess(time.time() - t0, 60)
        self.assertEqual(self.ledger(image_id), ["charge"])
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual((img["status"], img["width"], img["height"]), ("done", 4800, 4800))
        self.assertTrue(self.store.exists(j["image_key"]))
        self.assertEqual(self.user_info(access)["credits"], 97)
        self.no_jobs_waiting()
        self.consistent_ledger()

    def test_kill_9_mid_write_leaves_no_temp_file(self):
        """Issue 9 point 9 (found by the soak run): an ia-batch killed while
        its job's child was writing the output left <key>.<pid>.tmp behind
        for the hourly sweep. The child now learns of its parent's death
        (SIGTERM by PR_SET_PDEATHSIG) and removes its temp files."""
        def temps():
            return [f for f in iatest_files(self.media) if f.endswith(".tmp")]
        _, _, access, _ = self.new_user()
        image_id = self.submit(access, "enhancement", noise_image((1500, 1500), "PNG"), "big.png",
                               {"scale": 4})
        p = self.batch("--watch")
        try:
            deadline = time.time() + 60
            while not temps() and time.time() < deadline and p.poll() is None:
                time.sleep(0.005)
            self.assertTrue(temps(), "the job never wrote a temp file")
        finally:
            p.send_signal(signal.SIGKILL)
            p.communicate(timeout=30)
        deadline = time.time() + 10
        while temps() and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(temps(), [])
        self.batch_once()
        self.assertEqual(self.job(image_id)["status"], "done")
        self.assertEqual(self.ledger(image_id), ["charge"])
        self.consistent_ledger()

    def test_another_hosts_lease_holds_until_it_expires(self):
        """The liveness shortcut only judges pids of this host; another
        host's job is taken over when its (short) lease runs out."""
        _, _, access, _ = self.new_user()
        image_id = self.submit(access, "cropping", noise_image((64, 64)), fields={
            "x": 0, "y": 0, "width": 8, "height": 8})
        self.db("update images set status = 'processing', worker = 'elsewhere:1', "
                "lease_until = ?, attempts = 1 where id = ?", (int(time.time()) + 2, image_id))
        self.batch_once()  # a live lease of another host: left alone
        self.assertEqual(self.job(image_id)["status"], "processing")
        time.sleep(3.1)
        self.batch_once()  # expired: taken over
        self.assertEqual(self.job(image_id)["status"], "done")

    def test_corrupt_source_fails_once_with_one_refund(self):
        _, _, access, _ = self.new_user()
        image_id = self.submit(access, "greyscale", noise_image((40, 30)))
        self.store.write(self.job(image_id)["source_key"],
                         b"\x89PNG\r\n\x1a\n" + b"\x00not really a png" * 10)
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
            image_id = self.submit(access, "greyscale", noise_image((40, 30)))
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

    def test_batch_run_by_root_writes_as_the_database_owner(self):
        """Regression (issue 9 point 12 after the merge): ia-batch started by
        hand as root made media directories the unprivileged stack could
        not write into, and later uploads failed with 503."""
        # the database file's owner; on PostgreSQL the state dir's (the service user)
        owner = os.stat(self.state if POSTGRES else os.path.join(self.state, "ia.sqlite3")).st_uid
        _, _, access, _ = self.new_user()
        ids = [self.submit(access, "greyscale", noise_image((30, 20))) for _ in range(4)]
        self.batch_once()
        for i in ids:
            self.assertEqual(self.job(i)["status"], "done", self.job(i))
        for base, dirs, files in os.walk(self.media):
            for name in dirs + files:
                path = os.path.join(base, name)
                self.assertEqual(os.stat(path).st_uid, owner, path)

    def test_three_workers_process_each_job_once(self):
        _, _, access, _ = self.new_user()
        before = {f for f in self.store.files() if f.startswith("images/")}
        ids = [self.submit(access, "outline", noise_image((400, 300))) for _ in range(10)]
        err = self.batch_once("-j", "3")
        for i in ids:
            j = self.job(i)
            self.assertEqual((j["status"], j["attempts"]), ("done", 1), (i, j))
            self.assertEqual(self.ledger(i), ["charge"])
            done_lines = re.findall(r"job %d \(outline\) (done|lost its lease)" % i, err)
            self.assertEqual(done_lines, ["done"], err)
        self.assertEqual(len(re.findall(r"job \d+ \(outline\) done", err)), 10, err)
        outputs = {f for f in self.store.files() if f.startswith("images/")} - before
        # each result once, with its preview (issue 13 point 2)
        self.assertEqual(outputs, {self.job(i)[k] for i in ids
                                   for k in ("image_key", "thumbnail_key")})
        self.assertEqual(self.user_info(access)["credits"], 80)
        self.no_jobs_waiting()

    def test_active_job_limit(self):
        """Issue 9 point 6: MAX_ACTIVE_JOBS_PER_USER (20) jobs in flight, free
        services included; then 429, and 402 before 429."""
        email, _, access, _ = self.new_user()
        crop = {"x": 0, "y": 0, "width": 4, "height": 4}
        small = noise_image((16, 16))
        ids = [self.submit(access, "cropping", small, fields=crop) for _ in range(20)]
        too_many = {"detail": "Too many images in progress."}
        r = upload("cropping", small, "in.png", crop, token=access)
        self.assertJsonResponse(r, 429, too_many)
        r = upload("greyscale", small, "in.png", token=access)
        self.assertJsonResponse(r, 429, too_many)
        r = request("POST", "/api/v1/create/image/from/prompt/", {"prompt": "a cat"}, token=access)
        self.assertIn(r.status, (429, 503), r)
        self.iactl("credits", "revoke", email, "100")
        r = upload("greyscale", small, "in.png", token=access)
        self.assertJsonResponse(r, 402, {"detail": "Insufficient credits."})
        self.assertEqual(self.db("select count(*) from images where user_id = "
                                 "(select user_id from images where id = ?)", (ids[0],))[0][0], 20)
        self.batch_once()
        self.submit(access, "cropping", small, fields=crop)  # room again
        self.batch_once()
        self.consistent_ledger()

    def test_claims_are_fair_across_users(self):
        """Issue 9 point 6: user B's one job is claimed within the first N
        claims (N workers), however many jobs user A queued before it."""
        _, _, a, _ = self.new_user()
        _, _, b, _ = self.new_user()
        a_ids = [self.submit(a, "outline", noise_image((300, 200))) for _ in range(12)]
        b_id = self.submit(b, "outline", noise_image((300, 200)))
        self.batch_once("-j", "2")
        order = [r[0] for r in self.db("select id from images where id in (%s) order by claim_seq"
                                       % ",".join(str(i) for i in a_ids + [b_id]))]
        self.assertLessEqual(order.index(b_id), 1, order)
        self.no_jobs_waiting()

    def test_delete_while_processing_refunds_once(self):
        """Issue 9 point 10: the job is cancelled and refunded once; its
        worker finds it gone, stops, and leaves no file behind."""
        _, _, access, _ = self.new_user()
        before = self.store.files()
        image_id = self.submit(access, "enhancement", noise_image((1200, 1200), "JPEG", quality=80),
                               "big.jpg", {"scale": 4})
        p = self.batch("--watch")
        try:
            self.wait_status(image_id, "processing")
            r = request("DELETE", "/api/v1/images/%d/" % image_id, token=access)
            self.assertStatus(r, 204)
            self.assertEqual(self.ledger(image_id), ["charge", "refund"])
            self.assertEqual(self.user_info(access)["credits"], 100)
            deadline = time.time() + 30
            while time.time() < deadline and self.store.files() - before:
                time.sleep(0.1)
        finally:
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=30)
        self.assertEqual(self.store.files() - before, set(), err)
        self.assertRegex(err, r"job %d \(enhancement\) (was deleted while running|lost its lease)"
                         % image_id)
        self.assertEqual(self.ledger(image_id), ["charge", "refund"])
        self.assertEqual(self.user_info(access)["credits"], 100)
        self.consistent_ledger()

    def test_health_reports_a_stale_batch_processor(self):
        """Issue 9 point 7: no batch heartbeat -> degraded but 200; a run
        (cron mode) makes it ok for a while."""
        self.db("delete from batch_workers")
        r = request("GET", "/health/")
        self.assertJsonResponse(r, 200, {"status": "degraded", "db": "ok", "storage": "ok", "batch": "stale"})
        self.batch_once()
        r = request("GET", "/health/")
        self.assertJsonResponse(r, 200, {"status": "ok", "db": "ok", "storage": "ok", "batch": "ok"})
        self.db("update batch_workers set seen = seen - 121")
        r = request("GET", "/health/")
        self.assertJsonResponse(r, 200, {"status": "degraded", "db": "ok", "storage": "ok", "batch": "stale"})

    def test_health_reports_unreachable_media_storage(self):
        """API.md Health: 503 with "storage" not ok when the media storage
        cannot take files; ok again once it can."""
        mode = os.stat(self.media).st_mode & 0o7777
        os.chmod(self.media, 0)
        try:
            r = request("GET", "/health/")
            body = self.assertJsonResponse(r, 503)
            self.assertEqual((body["status"], body["db"], body["storage"]), ("error", "ok", "error"))
        finally:
            os.chmod(self.media, mode)
        r = request("GET", "/health/")
        self.assertEqual(self.assertJsonResponse(r, 200)["storage"], "ok")

    def test_stale_temp_files_are_swept(self):
        """Issue 9 point 9: what killed workers leave (an upload's temp file,
        an encoder's <key>.<pid>.tmp) goes at ia-batch start once old;
        iactl media orphans reports and cleans unreferenced media files."""
        if self.store.s3:
            self.skipTest("an object's age cannot be set back in a bucket; the local-disk "
                          "passes run this, test_store_s3 lists buckets")
        old = time.time() - 7200
        tmp = os.path.join(self.media, "tmp", "ia-upload-deadbe")
        enc = os.path.join(self.media, "sources", "ab", "abcdef.png.999999.tmp")
        orphan = os.path.join(self.media, "images", "cd", "cdef01.png")
        fresh = os.path.join(self.media, "tmp", "ia-upload-fresh1")
        owner = os.stat(self.media)  # the stack's service user when started as root
        for f in (tmp, enc, orphan, fresh):
            d = os.path.dirname(f)
            for sub in (os.path.dirname(d), d):  # e.g. sources/ and sources/ab/
                if not os.path.isdir(sub):
                    os.mkdir(sub)
                    # a directory root made here would lock the stack out of it
                    os.chown(sub, owner.st_uid, owner.st_gid)
            with open(f, "wb") as fp:
                fp.write(b"x")
            os.chown(f, owner.st_uid, owner.st_gid)
        for f in (tmp, enc, orphan):
            os.utime(f, (old, old))
        report = json.loads(self.iactl("media", "orphans", "--json").stdout)
        found = {(x["kind"], x["key"]) for x in report["findings"]}
        self.assertIn(("tmp", "tmp/ia-upload-deadbe"), found)
        self.assertIn(("tmp", "sources/ab/abcdef.png.999999.tmp"), found)
        self.assertIn(("orphan", "images/cd/cdef01.png"), found)
        self.assertNotIn(("tmp", "tmp/ia-upload-fresh1"), found)
        self.assertTrue(os.path.exists(tmp))  # a report changes nothing
        self.batch_once()  # sweeps temp files at start
        self.assertFalse(os.path.exists(tmp))
        self.assertFalse(os.path.exists(enc))
        self.assertTrue(os.path.exists(fresh))
        self.assertTrue(os.path.exists(orphan))  # only iactl --clean removes media files
        self.iactl("media", "orphans", "--clean")
        self.assertFalse(os.path.exists(orphan))
        os.unlink(fresh)
        # a row whose file is missing is reported
        _, _, access, _ = self.new_user()
        image_id = self.submit(access, "greyscale", noise_image((20, 20)))
        self.store.remove(self.job(image_id)["source_key"])
        report = json.loads(self.iactl("media", "orphans", "--json").stdout)
        self.assertIn(("missing", self.job(image_id)["source_key"]),
                      {(x["kind"], x["key"]) for x in report["findings"]})
        self.batch_once()


def iatest_files(root):
    out = set()
    for d, _, names in os.walk(root):
        out.update(os.path.relpath(os.path.join(d, n), root) for n in names)
    return out


if __name__ == "__main__":
    unittest.main()
