#!/usr/bin/python3
"""s3_media.py - media on S3 (radosgw) against media on local disk, in one run.

    /usr/bin/python3 tests/bench/s3_media.py [BUILD_DIR]     (run by hand; needs wrk)
    N=10 DUR=10s ROUNDS=3 ...                               (the defaults)

Starts two stacks side by side from the same build, both on SQLite, with
RATE_LIMIT_PER_MINUTE=0, DEV_MODE=1 and a fixed SECRET_KEY: one with media on
local disk (IA_MEDIA=local), one in a bucket of the private Ceph RADOS Gateway
(IA_MEDIA=s3: memstore, loopback). Both run ia-batch --watch. Then:

1. Upload + result, N times, alternating between the two stacks (one warm-up
   job each first, not counted): a ~5 MB photo-like JPEG (3000x2000, q95)
   POSTed to /api/v1/process/thumbnail/ (max 800x800 PNG): seconds to the 202;
   then until /image/status/<id>/ first answers 200 (polled every 20 ms, so
   up to 20 ms of it is polling); then the download of the result (~1 MB)
   through its signed media URL. Each request on a new connection. Median and
   p90 per phase.
2. Downloads through one signed media URL with wrk (-t2 -c16 -dDUR --latency)
   of a small result (a 256x256 thumbnail, ~50 KB) and of the ~1 MB result,
   on each stack; against the same bytes from a plain nginx static location
   (the ceiling, nginx.d of the local stack) and from the bucket directly
   through a presigned URL (signed here with SigV4 from storage.conf). ROUNDS
   rounds alternate the targets; the medians count.
3. The 302 design: a location dropped into the S3 stack's nginx.d that checks
   the signed URL with the same media program and answers 302 to the
   presigned URL instead of streaming; wrk on the 302 alone, and one client
   (sequential, new connections) timing a download via the stream against
   302 + the fetch from the gateway.

Everything is stopped and removed at the end (also on Ctrl-C).
"""
import hashlib
import hmac
import http.client
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build"))
N = int(os.environ.get("N", "10"))
DUR = os.environ.get("DUR", "10s")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECRET = "bench-secret-key-0123456789abcdef"
SEQ = int(os.environ.get("SEQ", "50"))  # sequential single-client downloads (part 3)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


class Stack:
    def __init__(self, media):
        self.media = media
        self.state = tempfile.mkdtemp(prefix="ia-s3bench-%s." % media, dir="/tmp")
        os.chmod(self.state, 0o700)
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PUBLIC_URL", "DATABASE_URL", "DB_PATH", "MEDIA_ROOT", "MEDIA_STORAGE")
                    and not k.startswith("AWS_")}
        self.env.update(IA_STATE_DIR=self.state, IA_PORT=str(self.port), IA_BUILD_DIR=BUILD,
                        IA_SKIP_BUILD="1", IA_MEDIA=media, IA_DB="sqlite",
                        RATE_LIMIT_PER_MINUTE="0", DEV_MODE="1", SECRET_KEY=SECRET)
        self.started = False

    def nginx_d(self, text):
        d = os.path.join(self.state, "run", "nginx.d")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "bench.conf"), "w") as f:
            f.write(text)

    def start(self):
        self.started = True
        subprocess.run([os.path.join(SRC, "stack"), "start"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def stop(self):
        if self.started:
            subprocess.run([os.path.join(SRC, "stack"), "stop"], env=self.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.state, ignore_errors=True)

    def storage_conf(self):
        conf = {}
        with open(os.path.join(self.state, "storage.conf")) as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    conf[k] = v
        return conf


def request(base, method, path, body=None, headers=None):
    """One request on a new connection; (status, headers, body, seconds to the whole body)."""
    u = urllib.parse.urlsplit(base)
    t0 = time.perf_counter()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data, dt


def token(st):
    body = json.dumps({"email": "bench@example.com", "password": "benchmark-password"})
    hdr = {"Content-Type": "application/json"}
    request(st.base, "POST", "/api/v1/users/signup/", body, hdr)
    code, _, data, _ = request(st.base, "POST", "/api/v1/token/obtain/", body, hdr)
    assert code == 200, (code, data)
    return json.loads(data)["access"]


def photo_jpeg():
    """3000x2000 gradients with Gaussian grain, JPEG q95: about 5 MB."""
    from PIL import Image
    w, h = 3000, 2000
    g = Image.linear_gradient("L").resize((w, h))
    chans = [Image.blend(c, Image.effect_noise((w, h), 64), 0.5)
             for c in (g, g.transpose(Image.FLIP_LEFT_RIGHT), g.transpose(Image.FLIP_TOP_BOTTOM))]
    buf = io.BytesIO()
    Image.merge("RGB", chans).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def multipart(fields, data):
    b = "----iabench%d" % time.time_ns()
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (b, k, v)).encode())
    out.write(('--%s\r\nContent-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
               "Content-Type: image/jpeg\r\n\r\n" % b).encode())
    out.write(data)
    out.write(("\r\n--%s--\r\n" % b).encode())
    return "multipart/form-data; boundary=" + b, out.getvalue()


def job(st, tok, data, size):
    """Upload, wait, download; (t_202, t_done, t_download, image JSON, result bytes)."""
    ctype, body = multipart({"max_width": size, "max_height": size}, data)
    auth = {"Authorization": "Bearer " + tok}
    code, _, resp, t_202 = request(st.base, "POST", "/api/v1/process/thumbnail/", body,
                                   dict(auth, **{"Content-Type": ctype}))
    assert code == 202, (code, resp)
    image_id = json.loads(resp)["image_id"]
    t0 = time.perf_counter()
    while True:
        code, _, resp, _ = request(st.base, "GET", "/api/v1/image/status/%d/" % image_id, None, auth)
        if code == 200:
            break
        assert code == 202, (code, resp)
        time.sleep(0.02)
    t_done = time.perf_counter() - t0
    img = json.loads(resp)
    assert img["status"] == "done", img
    u = urllib.parse.urlsplit(img["image"])
    code, _, result, t_dl = request(st.base, "GET", u.path + "?" + u.query)
    assert code == 200 and len(result) == img["bytes"], (code, len(result), img["bytes"])
    return t_202, t_done, t_dl, img, result


def presign(conf, key, expires=3600):
    """A SigV4 presigned GET URL of key in the bucket (path style, host signed only)."""
    ep = conf["AWS_S3_ENDPOINT_URL"].rstrip("/")
    host = urllib.parse.urlsplit(ep).netloc.lower()
    region = conf.get("AWS_S3_REGION_NAME") or "us-east-1"
    path = urllib.parse.quote("/%s/%s" % (conf["AWS_STORAGE_BUCKET_NAME"], key), safe="/-_.~")
    amzdate = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = "%s/%s/s3/aws4_request" % (amzdate[:8], region)
    q = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": conf["AWS_ACCESS_KEY_ID"] + "/" + scope,
         "X-Amz-Date": amzdate, "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": "host"}
    cq = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                  for k, v in sorted(q.items()))
    creq = "\n".join(["GET", path, cq, "host:%s\n" % host, "host", "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + conf["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (amzdate[:8], region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return "%s%s?%s&X-Amz-Signature=%s" % (ep, path, cq, sig)


def wrk(url, out):
    subprocess.run(["wrk", "-t2", "-c16", "-d" + DUR, "--latency", url], check=True,
                   stdout=open(out, "w"))
    t = open(out).read()

    def ms(p):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\b" % p, t, re.M)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v * 1000 if u == "s" else v
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    errors = re.search(r"Socket errors: (.*)", t)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)), "p50": ms(50),
            "p99": ms(99), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else ""}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def main():
    print("s3_media: %d cores, %s; build %s" % (os.cpu_count(), load(), BUILD))
    local, s3 = Stack("local"), Stack("s3")
    static = tempfile.mkdtemp(prefix="ia-s3bench-static.", dir="/tmp")
    os.chmod(static, 0o755)
    tmp = tempfile.mkdtemp(prefix="ia-s3bench-out.", dir="/tmp")
    try:
        local.nginx_d("location /bench/static/ { alias %s/; }\n" % static)
        # The 302 design: same check by the media program, then a redirect to
        # the presigned URL it names (try_files: after the access phase).
        s3.nginx_d(r"""
location ~ ^/bench302(/media/.*)$ {
    set $bench_media_uri $1$is_args$args;
    auth_request /_bench302_auth;
    auth_request_set $bench_upstream $upstream_http_x_media_upstream;
    try_files /nonexistent-bench302 @bench302;
}
location @bench302 { return 302 $bench_upstream; }
location = /_bench302_auth {
    internal;
    fastcgi_param REQUEST_METHOD GET;
    fastcgi_param DOCUMENT_URI /_media_auth;
    fastcgi_param REQUEST_URI /_media_auth;
    fastcgi_param ORIGINAL_URI $bench_media_uri;
    fastcgi_param REMOTE_ADDR $remote_addr;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    fastcgi_pass_request_body off;
    fastcgi_pass unix:%s/run/media.sock;
}
""".replace("%s", s3.state))
        for st in (local, s3):
            t0 = time.perf_counter()
            st.start()
            print("started %s stack on %s in %.1f s" % (st.media, st.base, time.perf_counter() - t0))
        tokens = {st.media: token(st) for st in (local, s3)}
        data = photo_jpeg()
        print("source: 3000x2000 JPEG q95, %d bytes" % len(data))

        # 1. Upload + result.
        print("\n1. upload + thumbnail (max 800x800 PNG) + download, %d jobs per stack, alternating; %s" % (N, load()))
        times = {m: {"202": [], "done": [], "dl": []} for m in ("local", "s3")}
        results = {}
        for i in range(N + 1):
            for st in (local, s3):
                t_202, t_done, t_dl, img, res = job(st, tokens[st.media], data, "800")
                results[st.media] = (img, res)
                if i > 0:  # the first job of each stack warms up
                    times[st.media]["202"].append(t_202)
                    times[st.media]["done"].append(t_done)
                    times[st.media]["dl"].append(t_dl)
        img_l = results["local"][0]
        print("result %dx%d %s, %d bytes" % (img_l["width"], img_l["height"], img_l["content_type"], img_l["bytes"]))
        print("%-28s %10s %10s %10s %10s" % ("phase (ms)", "local p50", "local p90", "s3 p50", "s3 p90"))
        for ph, label in (("202", "POST 5 MB -> 202"), ("done", "202 -> done (20 ms polls)"),
                          ("dl", "download result"), ("total", "total")):
            row = []
            for m in ("local", "s3"):
                xs = times[m][ph] if ph != "total" else [a + b + c for a, b, c in zip(
                    times[m]["202"], times[m]["done"], times[m]["dl"])]
                row += [1000 * statistics.median(xs), 1000 * pct(xs, 0.9)]
            print("%-28s %10.1f %10.1f %10.1f %10.1f" % ((label,) + tuple(row)))

        # 2. Downloads with wrk.
        large = {m: results[m] for m in ("local", "s3")}
        small = {}
        for st in (local, s3):
            _, _, _, img, res = job(st, tokens[st.media], data, "256")
            small[st.media] = (img, res)
        targets = {}
        conf = s3.storage_conf()
        for size, got in (("small", small), ("large", large)):
            assert got["local"][1] == got["s3"][1], "the two stacks made different results"
            with open(os.path.join(static, size + ".png"), "wb") as f:
                f.write(got["local"][1])
            os.chmod(os.path.join(static, size + ".png"), 0o644)
            key = urllib.parse.urlsplit(got["s3"][0]["image"]).path[len("/media/"):]
            # media URLs are root-relative: each stack's own origin goes in front
            signed_s3 = s3.base + got["s3"][0]["image"]
            u = urllib.parse.urlsplit(signed_s3)
            targets[size] = [
                ("nginx static file", "%s/bench/static/%s.png" % (local.base, size)),
                ("local: signed URL", local.base + got["local"][0]["image"]),
                ("s3: signed URL (stream)", signed_s3),
                ("s3: presigned, gateway direct", presign(conf, key)),
                ("s3: 302 answer only", "%s/bench302%s?%s" % (s3.base, u.path, u.query)),
            ]
            for label, url in targets[size]:
                uu = urllib.parse.urlsplit(url)
                code, hdr, body, _ = request("%s://%s" % (uu.scheme, uu.netloc), "GET",
                                             uu.path + "?" + uu.query if uu.query else uu.path)
                if label.endswith("302 answer only"):
                    assert code == 302 and hdr["location"].startswith(conf["AWS_S3_ENDPOINT_URL"]), (code, hdr)
                else:
                    assert code == 200 and body == got["local"][1], (label, code, len(body))
        print("\n2. downloads: wrk -t2 -c16 -d%s --latency, %d alternating rounds, medians;"
              " small %d bytes (%dx%d), large %d bytes" % (
                  DUR, ROUNDS, len(small["local"][1]), small["local"][0]["width"],
                  small["local"][0]["height"], len(large["local"][1])))
        runs = {}
        for r in range(ROUNDS):
            print("round %d: %s" % (r + 1, load()))
            for size in ("small", "large"):
                for label, url in targets[size]:
                    res = wrk(url, os.path.join(tmp, "%s.%s.%d" % (size, label.replace(" ", "_").replace(":", "").replace(",", ""), r)))
                    runs.setdefault((size, label), []).append(res)
                    print("  %-5s %-31s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms%s" % (
                        size, label, res["rps"], res["p50"], res["p99"],
                        "  non-2xx/3xx %d" % res["non2xx"] if res["non2xx"] else "") +
                        ("  socket errors: " + res["errors"] if res["errors"] else ""))
        print("medians of %d rounds:" % ROUNDS)
        for size in ("small", "large"):
            ref = statistics.median(x["rps"] for x in runs[(size, "local: signed URL")])
            for label, _ in targets[size]:
                xs = runs[(size, label)]
                rps = statistics.median(x["rps"] for x in xs)
                print("  %-5s %-31s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  (x%.2f of local)  %.0f MB/s" % (
                    size, label, rps, statistics.median(x["p50"] for x in xs),
                    statistics.median(x["p99"] for x in xs), rps / ref,
                    rps * len(small["local"][1] if size == "small" else large["local"][1]) / 1e6
                    if "302" not in label else 0))

        # 3. One client: streamed through nginx against 302 + direct fetch.
        print("\n3. one client, %d sequential downloads each (new connection per request), ms; %s" % (SEQ, load()))
        for size, got in (("small", small), ("large", large)):
            t = dict(targets[size])
            seq = {"local: signed URL": [], "s3: signed URL (stream)": [], "s3: 302 + gateway": []}
            for _ in range(SEQ):
                for label in ("local: signed URL", "s3: signed URL (stream)"):
                    uu = urllib.parse.urlsplit(t[label])
                    code, _, body, dt = request(t[label], "GET", uu.path + "?" + uu.query)
                    assert code == 200
                    seq[label].append(dt)
                uu = urllib.parse.urlsplit(t["s3: 302 answer only"])
                code, hdr, _, dt1 = request(s3.base, "GET", uu.path + "?" + uu.query)
                assert code == 302
                loc = urllib.parse.urlsplit(hdr["location"])
                code, _, body, dt2 = request("%s://%s" % (loc.scheme, loc.netloc), "GET", loc.path + "?" + loc.query)
                assert code == 200 and body == got["local"][1]
                seq["s3: 302 + gateway"].append(dt1 + dt2)
            for label, xs in seq.items():
                print("  %-5s %-26s p50 %7.2f  p90 %7.2f" % (size, label, 1000 * statistics.median(xs), 1000 * pct(xs, 0.9)))
        print("\nend: %s" % load())
    finally:
        for st in (local, s3):
            st.stop()
        shutil.rmtree(static, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
