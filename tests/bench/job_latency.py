#!/usr/bin/env python3
"""job_latency.py - upload->done latency and job throughput on a running stack.

    tests/with-stack build python3 tests/bench/job_latency.py latency [N]
    IA_NO_BATCH=1 MAX_ACTIVE_JOBS_PER_USER=100 tests/with-stack build python3 \
        tests/bench/job_latency.py throughput [N] [WORKERS...]

latency: N (default 30) sequential uploads of a 1 MP (1000x1000) photo-like
JPEG to greyscale; for each, the seconds from sending the POST until
/image/status/<id>/ first answers 200 (the client polls every 2 ms, so the
figure includes at most 2 ms of polling). Prints p50, p90 and max.

throughput: with no ia-batch running (IA_NO_BATCH=1), N (default 16) thumbnail
jobs of a 12 MP (4000x3000) JPEG are queued, then `ia-batch --once -j W`
runs until the queue is empty, for each W given (default 1 2); prints jobs/s
and the speed-up over the first W.

The backend is whatever the stack runs (IA_DB=postgres or SQLite).
"""
import io
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
import iatest  # noqa: E402  (the API tests' HTTP helpers)

BASE = os.environ["BASE_URL"]


def jpeg_1mp():
    """A 1000x1000 photo-like JPEG: smooth gradients with mild noise."""
    from PIL import Image
    grad = Image.linear_gradient("L").resize((1000, 1000))
    noise = Image.effect_noise((1000, 1000), 12)
    img = Image.merge("RGB", (grad, grad.rotate(90), Image.blend(grad, noise, 0.3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def jpeg_12mp():
    from PIL import Image
    img = Image.effect_noise((4000, 3000), 40).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def token_for(email):
    body = json.dumps({"email": email, "password": "benchmark-password"}).encode()
    for path in ("/api/v1/users/signup/", "/api/v1/token/obtain/"):
        req = urllib.request.Request(BASE + path, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as r:
                data = json.load(r)
        except urllib.error.HTTPError as e:
            if path.endswith("signup/") and e.code == 400:
                continue
            raise
    return data["access"]


def grant(email, n):
    iactl = os.path.join(os.environ["IA_BUILD_DIR"], "bin", "iactl")
    subprocess.run([iactl, "credits", "grant", email, str(n)], check=True,
                   stdout=subprocess.DEVNULL)


def status(token, image_id):
    r = iatest.request("GET", "/api/v1/image/status/%d/" % image_id, token=token)
    return r.status, r.body


def latency(n):
    token = token_for("latency@example.com")
    grant("latency@example.com", n + 10)
    data = jpeg_1mp()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = iatest.upload("greyscale", data, "photo.jpg", token=token)
        assert r.status == 202, r
        image_id = r.json["image_id"]
        while True:
            code, _ = status(token, image_id)
            if code == 200:
                break
            time.sleep(0.002)
        times.append(time.perf_counter() - t0)
    times.sort()
    print("upload->done, 1 MP greyscale, %d jobs: p50 %.1f ms, p90 %.1f ms, max %.1f ms" %
          (n, 1000 * statistics.median(times), 1000 * times[int(0.9 * (n - 1))],
           1000 * times[-1]))


def throughput(n, workers):
    token = token_for("throughput@example.com")
    grant("throughput@example.com", n * len(workers) + 10)
    data = jpeg_12mp()
    batch = os.path.join(os.environ["IA_BUILD_DIR"], "bin", "ia-batch")
    first = None
    for w in workers:
        for _ in range(n):
            r = iatest.upload("thumbnail", data, "photo.jpg",
                              {"max_width": "256", "max_height": "256"}, token=token)
            assert r.status == 202, r
        t0 = time.perf_counter()
        subprocess.run([batch, "--once", "-j", str(w)], check=True)
        dt = time.perf_counter() - t0
        rate = n / dt
        first = first or rate
        print("thumbnail of a 12 MP JPEG, %d jobs, ia-batch -j %d: %.2f s, %.2f jobs/s (x%.2f)" %
              (n, w, dt, rate, rate / first))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "latency"
    if mode == "latency":
        latency(int(sys.argv[2]) if len(sys.argv) > 2 else 30)
    else:
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
        throughput(n, [int(w) for w in sys.argv[3:]] or [1, 2])


if __name__ == "__main__":
    main()
