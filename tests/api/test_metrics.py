"""test_metrics.py - GET /metrics (issue 14, point 1; docs/API.md "Metrics").

The test stack answers loopback clients; a private stack that trusts the
loopback proxy (TRUSTED_PROXIES) and has a METRICS_TOKEN shows that a client
relayed from elsewhere gets 403 unless it brings the token. promtool (Debian's
prometheus package) checks the format, and a real Prometheus server scrapes a
private stack every second while it runs three greyscale jobs, until its
query API reports ia_jobs_total{service="greyscale",status="done"} = 3."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import iatest
from iatest import (ApiTestCase, free_port, multipart, noise_image, request, upload,
                    wait_image)
from test_stability import PrivateStack

CTYPE = "text/plain; version=0.0.4; charset=utf-8"
TOKEN = "metrics-test-token-0123456789abcdef"


def series(text):
    """{series key: value} of a text-format body (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def total(values, name, **labels):
    """Sum of the series of family name whose labels include labels."""
    want = ['%s="%s"' % kv for kv in labels.items()]
    n = 0.0
    for key, v in values.items():
        if key.split("{", 1)[0] == name and all(w in key for w in want):
            n += v
    return n


def promtool_check(test, text):
    """promtool check metrics accepts text (skips without promtool)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        test.skipTest("promtool is not installed (Debian package prometheus)")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    test.assertEqual(p.returncode, 0, "promtool: %s %s" % (p.stdout, p.stderr))


class MetricsTest(ApiTestCase):
    """The main test stack: no trusted proxy, no token; the test runs on
    loopback. In a cluster (tests/cluster/run.sh) requests go through the
    front, which trusts itself as a proxy for the app hosts: the client is
    still loopback. There the values are read as docs/API.md tells a
    cluster's Prometheus to: each app host's own counters (scope=host), summed,
    plus the database's series once (scope=cluster, through the front)."""

    def scrape(self, query="", url=None):
        r = request("GET", "/metrics" + query, url=url)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], CTYPE)
        return r.body.decode()

    def values(self):
        """Every series of the deployment, each counted once."""
        if not iatest.CLUSTER:
            return series(self.scrape())
        out = series(self.scrape("?scope=cluster"))
        for url in (os.environ["APP1_URL"], os.environ["APP2_URL"]):
            for key, v in series(self.scrape("?scope=host", url=url)).items():
                out[key] = out.get(key, 0) + v
        return out

    def test_loopback_scrape_has_every_family(self):
        request("GET", "/health/")
        text = self.scrape()
        for family in ("ia_http_requests_total counter", "ia_http_request_duration_seconds "
                       "histogram", "ia_queue_jobs gauge", "ia_queue_oldest_pending_age_seconds "
                       "gauge", "ia_credits_total counter", "ia_outbox_messages gauge"):
            self.assertIn("# TYPE %s\n" % family, text)
        values = series(text)
        for status in ("pending", "processing"):
            self.assertIn('ia_queue_jobs{status="%s"}' % status, values)
        for reason in ("charge", "refund", "purchase"):
            self.assertIn('ia_credits_total{reason="%s"}' % reason, values)

    def test_requests_are_counted_by_group_and_status(self):
        key = 'ia_http_requests_total{group="health",status="200"}'
        before = self.values().get(key, 0)
        for _ in range(3):
            self.assertEqual(request("GET", "/health/").status, 200)
        after = self.values()
        # Other processes may send health checks too; ours are all there.
        self.assertGreaterEqual(after[key] - before, 3)
        self.assertGreaterEqual(
            after['ia_http_request_duration_seconds_count{group="health"}'], after[key])
        r = request("GET", "/api/v1/no/such/path/")
        self.assertEqual(r.status, 404)
        self.assertGreaterEqual(
            total(self.values(), "ia_http_requests_total", group="accounts", status="404"), 1)

    def test_scopes(self):
        host, cluster = self.scrape("?scope=host"), self.scrape("?scope=cluster")
        self.assertIn("ia_http_requests_total", host)
        self.assertNotIn("ia_queue_jobs", host)
        self.assertIn("ia_queue_jobs", cluster)
        self.assertNotIn("ia_http_requests_total", cluster)
        self.assertEqual(request("GET", "/metrics?scope=everything").status, 400)

    def test_promtool_accepts_the_output(self):
        request("GET", "/health/")
        promtool_check(self, self.scrape())

    def test_stripe_calls_are_counted(self):
        key = 'ia_stripe_requests_total{outcome="2xx"}'
        before = self.values().get(key, 0)
        _, _, access, _ = self.new_user()
        r = request("POST", "/api/v1/stripe/payment/create-intent/", {"amount": 10}, token=access)
        self.assertEqual(r.status, 200, r)
        after = self.values()
        self.assertEqual(after[key] - before, 1)
        self.assertGreaterEqual(after["ia_stripe_request_duration_seconds_count"], after[key])

    def test_a_job_is_counted_once(self):
        """Counted by ia-batch (on a batch host in a cluster) in the database,
        read once: one job adds exactly one, with its duration."""
        done = 'ia_jobs_total{service="greyscale",engine="local",status="done"}'
        durations = 'ia_job_duration_seconds_count{service="greyscale",engine="local"}'
        before = self.values()
        _, _, access, _ = self.new_user()
        r = upload("greyscale", noise_image(), token=access)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(wait_image(r.json["image_id"], access).json["status"], "done")
        after = self.values()
        self.assertEqual(after[done] - before.get(done, 0), 1)
        self.assertEqual(after[durations] - before.get(durations, 0), 1)
        self.assertEqual(after['ia_credits_total{reason="charge"}'] -
                         before['ia_credits_total{reason="charge"}'], 1)

    def test_signup_credits_are_in_the_ledger_sum(self):
        before = total(self.values(), "ia_credits_total", reason="signup_bonus")
        self.new_user()
        after = total(self.values(), "ia_credits_total", reason="signup_bonus")
        self.assertGreaterEqual(after - before, 100)


def scrape(port, headers=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    conn.request("GET", "/metrics", headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


class MetricsAccessAndPrometheusTest(unittest.TestCase):
    """A private stack (with ia-batch) that trusts the loopback proxy and
    has METRICS_TOKEN: access rules, and a real Prometheus scraping it."""

    @classmethod
    def setUpClass(cls):
        cls.stack = PrivateStack(TRUSTED_PROXIES="127.0.0.1/32, ::1", METRICS_TOKEN=TOKEN)
        cls.stack.start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_remote_client_needs_the_token(self):
        port = self.stack.port
        remote = {"X-Forwarded-For": "203.0.113.7"}
        status, body = scrape(port, remote)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body),
                         {"detail": "You do not have permission to perform this action."})
        self.assertEqual(scrape(port, dict(remote, Authorization="Bearer " + TOKEN))[0], 200)
        self.assertEqual(scrape(port, dict(remote, Authorization="Bearer " + TOKEN[:-1]))[0],
                         403)
        self.assertEqual(scrape(port, dict(remote, Authorization="Bearer " + TOKEN + "x"))[0],
                         403)
        self.assertEqual(scrape(port, dict(remote, Authorization=TOKEN))[0], 403)
        # A forged header from the client itself does not help: the proxy's
        # appended address (the rightmost untrusted one) is the client.
        self.assertEqual(scrape(port, {"X-Forwarded-For": "127.0.0.1, 203.0.113.7"})[0], 403)
        # Loopback, directly or relayed from loopback, needs no token.
        self.assertEqual(scrape(port)[0], 200)
        self.assertEqual(scrape(port, {"X-Forwarded-For": "127.0.0.1"})[0], 200)

    def test_token_is_never_logged(self):
        scrape(self.stack.port, {"X-Forwarded-For": "203.0.113.7",
                                 "Authorization": "Bearer " + TOKEN})
        for root, _, files in os.walk(os.path.join(self.stack.state, "log")):
            for name in files:
                with open(os.path.join(root, name), errors="replace") as f:
                    self.assertNotIn(TOKEN, f.read(), name)

    def metrics(self):
        status, body = scrape(self.stack.port)
        self.assertEqual(status, 200)
        return series(body.decode())

    def test_stability_attempts_are_counted(self):
        """A generate job (engine stability) against the fake: its attempt is
        counted by ia-batch in the database."""
        key = 'ia_stability_requests_total{outcome="2xx"}'
        before = self.metrics().get(key, 0)
        token = self.stack.new_user()
        status, body = self.stack.request("POST", "/api/v1/create/image/from/prompt/",
                                          {"prompt": "a lighthouse at dusk"}, token=token)
        self.assertEqual(status, 202, body)
        status, row = self.stack.wait(body["image_id"], token, timeout=60)
        self.assertEqual((status, row["status"]), (200, "done"), row)
        after = self.metrics()
        self.assertEqual(after[key] - before, 1)
        self.assertGreaterEqual(after["ia_stability_request_duration_seconds_count"], 1)
        self.assertGreaterEqual(total(after, "ia_jobs_total", service="generate",
                                      engine="stability", status="done"), 1)

    def test_restarts_are_counted(self):
        """A killed FastCGI worker (restarted by its program) and a killed
        program (restarted by the supervisor) are counted."""
        run = os.path.join(self.stack.state, "run")
        worker_key = 'ia_process_restarts_total{program="ia-images",level="worker"}'
        program_key = 'ia_process_restarts_total{program="ia-images",level="program"}'
        before = self.metrics()
        with open(os.path.join(run, "images.pid")) as f:
            parent = int(f.read().split()[0])
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True,
                              text=True).stdout.split()
        os.kill(int(kids[0]), signal.SIGKILL)
        deadline = time.time() + 10
        while self.metrics().get(worker_key, 0) == before.get(worker_key, 0):
            self.assertLess(time.time(), deadline, "worker restart not counted")
            time.sleep(0.1)
        os.kill(parent, signal.SIGKILL)
        deadline = time.time() + 15
        while self.metrics().get(program_key, 0) == before.get(program_key, 0):
            self.assertLess(time.time(), deadline, "program restart not counted")
            time.sleep(0.2)
        self.assertEqual(self.metrics()[program_key] - before.get(program_key, 0), 1)

    def prometheus_query(self, port, query):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode(
            {"query": query}))
        with urllib.request.urlopen(url, timeout=10) as r:
            data = json.load(r)
        self.assertEqual(data["status"], "success", data)
        return sum(float(s["value"][1]) for s in data["data"]["result"])

    def test_prometheus_scrapes_three_greyscale_jobs(self):
        binary = shutil.which("prometheus")
        if binary is None:
            self.skipTest("the prometheus server is not installed (Debian package prometheus)")
        work = tempfile.mkdtemp(prefix="ia-prometheus.")
        port = free_port()
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: image-assistant\n"
                    "    metrics_path: /metrics\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % self.stack.port)
        log = open(os.path.join(work, "prometheus.log"), "w")
        proc = subprocess.Popen([binary, "--config.file=" + os.path.join(work, "prometheus.yml"),
                                 "--storage.tsdb.path=" + os.path.join(work, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % port],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            token = self.stack.new_user()
            ids = []
            for i in range(3):
                body = noise_image(fmt="PNG")
                ids.append(self.upload(token, body))
            for image_id in ids:
                status, row = self.stack.wait(image_id, token, timeout=60)
                self.assertEqual((status, row["status"]), (200, "done"), row)
            query = 'ia_jobs_total{service="greyscale",status="done"}'
            deadline, value = time.time() + 60, None
            while time.time() < deadline:
                try:
                    value = self.prometheus_query(port, query)
                except OSError:
                    value = None  # not listening yet
                if value == 3:
                    break
                time.sleep(0.5)
            self.assertEqual(value, 3, "Prometheus reports %r for %s" % (value, query))
            up = self.prometheus_query(port, 'up{job="image-assistant"}')
            self.assertEqual(up, 1)
            self.assertGreaterEqual(self.prometheus_query(
                port, 'ia_job_duration_seconds_count{service="greyscale"}'), 3)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
            shutil.rmtree(work, ignore_errors=True)

    def upload(self, token, data):
        """POST a greyscale job to the private stack; its image id."""
        ctype, body = multipart(None, {"image": ("image.png", data)})
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=60)
        conn.request("POST", "/api/v1/process/greyscale/", body=body,
                     headers={"Content-Type": ctype, "Authorization": "Bearer " + token})
        r = conn.getresponse()
        out = json.loads(r.read())
        conn.close()
        self.assertEqual(r.status, 202, out)
        return out["image_id"]
