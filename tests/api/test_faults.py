"""Fault injection (issue 9 point 17), each ending with "nothing lost":
users.credits equals the sum of their ledger rows, every job is terminal
or pending, no temp file or orphan is left, and the errors are clear.

A private stack (no batch watcher; the tests run ia-batch themselves) whose
MEDIA_ROOT is a small tmpfs when running as root (CI is root), so the disk
can be filled; the full-disk tests are skipped otherwise. The stalled
Stability AI server is covered by test_stability.py (test_timeout), the
kill -9 of ia-batch mid-job by test_batch.py."""
import errno
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import iatest
from iatest import BUILD, ApiTestCase, multipart, noise_image, request, upload, wait_image


class FaultTest(iatest.PrivateStack, ApiTestCase):
    state_prefix = "ia-fault-test."
    stack_settings = {"JOB_RETRY_BASE_SECONDS": "1"}
    tmpfs = False

    @classmethod
    def prepare_state(cls):
        os.makedirs(cls.media)
        cls.env["MEDIA_ROOT"] = cls.media
        if os.geteuid() == 0:  # 0777: the stack may run its programs as another user
            p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0777", "tmpfs",
                                cls.media], capture_output=True)
            cls.tmpfs = p.returncode == 0

    @classmethod
    def cleanup_state(cls):
        if cls.tmpfs:
            subprocess.run(["umount", cls.media], capture_output=True)

    def tearDown(self):
        self.unfill()
        self.assertNothingLost()

    # --- helpers ---

    def batch(self, *args):
        return subprocess.run([os.path.join(BUILD, "bin", "ia-batch"), *args], env=self.env,
                              capture_output=True, text=True, timeout=120)

    def log(self, name):
        with open(os.path.join(self.state, "log", name + ".log"), errors="replace") as f:
            return f.read()

    def tmp_uploads(self):
        d = os.path.join(self.media, "tmp")
        return [n for n in os.listdir(d)] if os.path.isdir(d) else []

    def fill(self):
        """Fill MEDIA_ROOT's file system to the last byte."""
        fd = os.open(os.path.join(self.media, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (65536, 4096, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC)
        finally:
            os.close(fd)

    def unfill(self):
        try:
            os.unlink(os.path.join(self.media, "filler"))
        except FileNotFoundError:
            pass

    def assertNothingLost(self):
        bad = self.db("select u.id, u.credits, coalesce(sum(l.delta), 0) from users u "
                      "left join credit_ledger l on l.user_id = u.id group by u.id "
                      "having u.credits <> coalesce(sum(l.delta), 0)")
        self.assertEqual(bad, [], "credits differ from the ledger")
        self.assertEqual(self.db("select count(*) from images where status = 'processing'"),
                         [(0,)])
        for image_id, status, cost in self.db("select id, status, cost from images"):
            reasons = sorted(r[0] for r in self.db(
                "select reason from credit_ledger where image_id = ?", (image_id,)))
            want = {"done": ["charge"], "pending": ["charge"],
                    "failed": ["charge", "refund"]}[status] if cost else []
            self.assertEqual(reasons, want, (image_id, status))
        self.assertEqual([n for n in self.tmp_uploads() if n.startswith("ia-upload-")], [])

    # --- tests ---

    def test_full_disk_upload_is_a_logged_503(self):
        if not self.tmpfs:
            self.skipTest("needs root to mount a tmpfs")
        _, _, access, _ = self.new_user()
        self.fill()
        r = upload("greyscale", noise_image(), "in.png", token=access)
        self.assertJsonResponse(r, 503, {"detail": "Could not store the image, try again."})
        self.assertIn("cannot write the upload", self.log("images"))
        me = self.user_info(access)
        self.assertEqual(me["credits"], 100)
        self.assertEqual(self.db("select count(*) from images where user_id = ?", (me["id"],)),
                         [(0,)])

    def test_full_disk_job_is_retried_then_failed_and_refunded(self):
        if not self.tmpfs:
            self.skipTest("needs root to mount a tmpfs")
        _, _, access, _ = self.new_user()
        r = upload("greyscale", noise_image(), "in.png", token=access)
        self.assertJsonResponse(r, 202)
        image_id = r.json["image_id"]
        self.fill()
        deadline = time.time() + 30
        while time.time() < deadline:
            self.batch("--once")
            status, attempts = self.db("select status, attempts from images where id = ?",
                                       (image_id,))[0]
            if status == "failed":
                break
            time.sleep(0.5)
        img = self.assertJsonResponse(wait_image(image_id, access), 200)
        self.assertEqual((img["status"], attempts), ("failed", 3), img)
        self.assertNotIn("/", img["error"])  # a sentence for the user, never a path
        self.assertEqual(self.user_info(access)["credits"], 100)
        # after the disk has room again the service works
        self.unfill()
        r = upload("greyscale", noise_image(), "in.png", token=access)
        self.assertJsonResponse(r, 202)
        self.batch("--once")
        self.assertEqual(self.assertJsonResponse(wait_image(r.json["image_id"], access),
                                                 200)["status"], "done")

    def workers(self):
        """The pids of the ia-images FastCGI workers (children of its supervisor)."""
        with open(os.path.join(self.state, "run", "images.pid")) as f:
            parent = f.read().split()[0]
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", parent], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]

    def test_kill_9_of_an_images_worker_mid_upload(self):
        _, _, access, _ = self.new_user()
        big = noise_image((1600, 1500))  # ~7 MB: the worker spends a while on it
        ctype, body = multipart({}, {"image": ("big.png", big)})
        host, port = iatest._url.hostname, iatest._url.port
        # 1. a slow client: half a body, then every worker is killed, then it gives up
        sock = socket.create_connection((host, port))
        head = ("POST /api/v1/process/greyscale/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s"
                "\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (access, ctype, len(body)))
        sock.sendall(head.encode() + body[:len(body) // 2])
        time.sleep(0.3)
        for pid in self.workers():
            os.kill(pid, signal.SIGKILL)
        sock.close()
        # 2. uploads racing a kill -9 of whichever worker holds the temp file
        killed = 0
        for _ in range(5):
            t = threading.Thread(target=upload, args=("greyscale", big, "big.png"),
                                 kwargs={"token": access})
            t.start()
            deadline = time.time() + 10
            while t.is_alive() and time.time() < deadline and not killed:
                for pid in self.workers():
                    try:
                        fds = os.listdir("/proc/%d/fd" % pid)
                        if any("ia-upload-" in os.readlink("/proc/%d/fd/%s" % (pid, fd))
                               for fd in fds):
                            os.kill(pid, signal.SIGKILL)
                            killed += 1
                    except OSError:
                        pass
            t.join(60)
        # the supervisor restarts the workers; a sweep removes what they left
        old = time.time() - 7200
        for n in self.tmp_uploads():
            os.utime(os.path.join(self.media, "tmp", n), (old, old))
        self.batch("--once")
        self.assertEqual(self.tmp_uploads(), [])
        deadline = time.time() + 10
        while time.time() < deadline:
            r = upload("greyscale", noise_image(), "in.png", token=access)
            if r.status == 202:
                break
            time.sleep(0.2)
        self.assertJsonResponse(r, 202)
        self.batch("--once")
        charged = self.db("select count(*) from credit_ledger l join users u on u.id = l.user_id "
                          "where l.reason = 'charge' and u.credits < 100")
        self.assertTrue(charged)


if __name__ == "__main__":
    unittest.main()
