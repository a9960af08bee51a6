"""test_s3_gateway.py - bin/s3-gateway, the private S3 endpoint of the dev stack.

Needs no stack: it starts a gateway of its own in a temporary directory (the
API runner's stack is simply not used), so it also runs alone:
    /usr/bin/python3 -m unittest discover -s tests/api -p test_s3_gateway.py
Skipped when radosgw or s3cmd is not installed. One gateway for the class
(~4 s to start): objects go in and out with s3cmd signed SigV4 for
us-east-1, and with a SigV4 presigned GET URL as the C client makes them;
after the stop no daemon of that directory is left.
"""
import datetime
import hashlib
import hmac
import os
import shutil
import stat
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

SRC = os.environ.get("IA_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GATEWAY = os.path.join(SRC, "bin", "s3-gateway")
SETTINGS = ("AWS_S3_ENDPOINT_URL", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_REGION_NAME",
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def gateway(*args, timeout=120):
    return subprocess.run([GATEWAY, *args], capture_output=True, text=True, timeout=timeout)


def presigned_get(conf, key, region="us-east-1", expires=300):
    """A SigV4 query-signed GET URL (path-style), as lib/store_s3.c signs."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate = now.strftime("%Y%m%dT%H%M%SZ")
    u = urllib.parse.urlsplit(conf["AWS_S3_ENDPOINT_URL"])
    path = "/%s/%s" % (conf["AWS_STORAGE_BUCKET_NAME"], urllib.parse.quote(key, safe="/~"))
    scope = "%s/%s/s3/aws4_request" % (amzdate[:8], region)
    query = sorted({"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                    "X-Amz-Credential": conf["AWS_ACCESS_KEY_ID"] + "/" + scope,
                    "X-Amz-Date": amzdate, "X-Amz-Expires": str(expires),
                    "X-Amz-SignedHeaders": "host"}.items())
    cq = "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="~")) for k, v in query)
    creq = "\n".join(["GET", path, cq, "host:%s\n" % u.netloc, "host", "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + conf["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (amzdate[:8], region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return "%s://%s%s?%s&X-Amz-Signature=%s" % (u.scheme, u.netloc, path, cq, sig)


def daemons_of(directory):
    """Pids of ceph-mon, ceph-osd and radosgw processes started with DIR's config."""
    conf = os.path.join(directory, "ceph.conf").encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if conf in argv and state != "Z":
            found.append(int(pid))
    return found


@unittest.skipUnless(shutil.which("radosgw") and shutil.which("s3cmd"),
                     "radosgw and s3cmd are not installed")
class S3GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ia-test-s3gw.")
        p = gateway("start", cls.dir)
        if p.returncode != 0:
            gateway("stop", cls.dir)
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise AssertionError("s3-gateway did not start: %s" % p.stderr)
        cls.endpoint = p.stdout.strip()
        cls.conf_path = os.path.join(cls.dir, "storage.conf")
        with open(cls.conf_path) as f:
            cls.conf = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)

    @classmethod
    def tearDownClass(cls):
        gateway("stop", cls.dir)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def s3cmd(self, *args, check=True):
        c = self.conf
        p = subprocess.run(
            ["s3cmd", "-c", "/dev/null", "--host=" + c["AWS_S3_ENDPOINT_URL"].split("://", 1)[1],
             "--host-bucket=", "--no-ssl", "--region=" + c["AWS_S3_REGION_NAME"],
             "--access_key=" + c["AWS_ACCESS_KEY_ID"], "--secret_key=" + c["AWS_SECRET_ACCESS_KEY"],
             *args], capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def test_storage_conf_names_the_endpoint_and_is_private(self):
        self.assertEqual(sorted(self.conf), sorted(SETTINGS))
        self.assertEqual(self.conf["AWS_S3_ENDPOINT_URL"], self.endpoint)
        self.assertRegex(self.endpoint, r"^http://127\.0\.0\.1:\d+$")
        self.assertEqual(self.conf["AWS_STORAGE_BUCKET_NAME"], "image-assistant")
        self.assertEqual(self.conf["AWS_S3_REGION_NAME"], "us-east-1")
        self.assertEqual(stat.S_IMODE(os.stat(self.conf_path).st_mode), 0o600)
        self.assertNotIn(self.conf["AWS_SECRET_ACCESS_KEY"], self.endpoint)

    def test_status_answers_while_running(self):
        p = gateway("status", self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 1)
        self.assertIn(self.endpoint, p.stdout)

    def test_second_start_is_a_no_op_with_the_same_credentials(self):
        before = daemons_of(self.dir)
        p = gateway("start", self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), self.endpoint)
        self.assertNotIn(self.conf["AWS_SECRET_ACCESS_KEY"], p.stdout + p.stderr)
        with open(self.conf_path) as f:
            self.assertEqual(dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line),
                             self.conf)
        self.assertEqual(sorted(daemons_of(self.dir)), sorted(before))

    def test_put_get_delete_with_sigv4_us_east_1(self):
        data = os.urandom(300000)
        with tempfile.TemporaryDirectory() as tmp:
            src, back = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
            with open(src, "wb") as f:
                f.write(data)
            url = "s3://%s/sources/test/object.bin" % self.conf["AWS_STORAGE_BUCKET_NAME"]
            self.s3cmd("put", src, url)
            self.s3cmd("get", "--force", url, back)
            with open(back, "rb") as f:
                self.assertEqual(f.read(), data)
            # A presigned GET URL (the one nginx proxies /media/ to) reads it too.
            with urllib.request.urlopen(presigned_get(self.conf, "sources/test/object.bin"),
                                        timeout=30) as r:
                self.assertEqual(r.read(), data)
            self.s3cmd("del", url)
            self.assertFalse(self.s3cmd("ls", url).stdout.strip())
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(presigned_get(self.conf, "sources/test/object.bin"), timeout=30)
            self.assertEqual(e.exception.code, 404)

    def test_wrong_secret_is_refused(self):
        conf = dict(self.conf, AWS_SECRET_ACCESS_KEY="x" * 40)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(presigned_get(conf, "anything"), timeout=30)
        self.assertEqual(e.exception.code, 403)


@unittest.skipUnless(shutil.which("radosgw"), "radosgw is not installed")
class S3GatewayStopTest(unittest.TestCase):
    def test_stop_leaves_no_daemon_and_is_idempotent(self):
        d = tempfile.mkdtemp(prefix="ia-test-s3gw.")
        try:
            p = gateway("start", d)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(daemons_of(d)), 3)
            self.assertEqual(gateway("stop", d).returncode, 0)
            self.assertEqual(daemons_of(d), [])
            self.assertNotEqual(gateway("status", d).returncode, 0)
            self.assertEqual(gateway("stop", d).returncode, 0)
        finally:
            gateway("stop", d)
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
