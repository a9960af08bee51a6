"""iatest.py - the shared harness of the HTTP API tests.

The tests talk to a real running stack (nginx -> FastCGI -> SQLite, or
PostgreSQL with IA_DB=postgres) at BASE_URL, started by tests/api/run-api.sh.
db_query reaches either database; it takes SQLite's dialect ("?"
parameters, strftime('%s','now'), COLLATE NOCASE) and translates it for
PostgreSQL. Each request goes out from its
own loopback source address (127.x.y.z), so the per-IP throttles of the
login/signup/reset endpoints do not interfere between tests; a test that
wants to be throttled passes a fixed `source`.
"""
import base64
import email
import email.policy
import glob
import hashlib
import hmac
import http.client
import io
import itertools
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import uuid

import openapi_check

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8080")
SRC = os.environ.get("IA_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("IA_BUILD_DIR", os.path.join(SRC, "build"))
STATE = os.environ.get("IA_STATE_DIR", os.path.join(SRC, "var"))
SECRET_KEY = os.environ.get("SECRET_KEY", "")
DB_PATH = os.environ.get("DB_PATH", os.path.join(STATE, "ia.sqlite3"))
IA_DB = os.environ.get("IA_DB", "")
MAIL_DIR = os.environ.get("MAIL_DIR", os.path.join(STATE, "mail"))
CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "support@image-assistant.local")
CORS_ORIGIN = (os.environ.get("CORS_ALLOWED_ORIGINS", "").replace(",", " ").split() or [None])[0]
RATE_LIMIT = int(os.environ.get("RATE_LIMIT_PER_MINUTE", "20"))
_url = urllib.parse.urlsplit(BASE_URL)
_sources = itertools.count(1)


def fresh_source():
    """A loopback address no other request of this run has used."""
    n = next(_sources)
    return "127.%d.%d.%d" % (10 + n // 65025 % 200, n // 255 % 255, 1 + n % 254)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


def request(method, path, body=None, *, token=None, headers=None, source=None, raw=None,
            content_type=None, url=None):
    """Send one request; body is JSON-encoded unless raw bytes are given. url: the
    base URL of another stack (safe from threads, unlike swapping the module's).
    The response is checked against docs/openapi.yaml (openapi_check.py): one the
    document does not describe raises AssertionError."""
    u = urllib.parse.urlsplit(url) if url else _url
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60,
                                      source_address=(source or fresh_source(), 0))
    hdrs = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if content_type:
        hdrs["Content-Type"] = content_type
    if token:
        hdrs["Authorization"] = "Bearer " + token
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    out = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    conn.close()
    # Every response a test sees must be one docs/openapi.yaml describes.
    openapi_check.check(method, path, out.status, out.headers, out.body)
    return out


def unique_email(prefix="user"):
    return "%s-%s@example.com" % (prefix, uuid.uuid4().hex[:12])


def iactl(*args, stdin=None, check=True):
    """Run the admin tool of this build against the test stack's database."""
    p = subprocess.run([os.path.join(BUILD, "bin", "iactl"), *args], input=stdin,
                       capture_output=True, text=True, env=os.environ.copy())
    if check and p.returncode != 0:
        raise AssertionError("iactl %s failed (%d): %s" % (args, p.returncode, p.stderr))
    return p


# --- tokens -----------------------------------------------------------------

def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def make_jwt(claims, key=None, header=None, alg="HS256"):
    """A JWT with the given claims, signed as PyJWT does (compact JSON)."""
    header = header if header is not None else {"alg": alg, "typ": "JWT"}
    enc = lambda o: b64url(json.dumps(o, separators=(",", ":")))
    signing_input = enc(header) + "." + enc(claims)
    if header.get("alg") == "none":
        return signing_input + "."
    key = (SECRET_KEY if key is None else key)
    if isinstance(key, str):
        key = key.encode()
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def simplejwt_token(user_id, token_type="access", lifetime=3600, now=None, **extra):
    """A token exactly as djangorestframework-simplejwt issues it (no "ver")."""
    now = int(time.time()) if now is None else now
    claims = {"token_type": token_type, "exp": now + lifetime, "iat": now,
              "jti": uuid.uuid4().hex, "user_id": user_id}
    claims.update(extra)
    return make_jwt(claims)


def jwt_claims(token):
    """The payload of a token, unverified."""
    return json.loads(b64url_decode(token.split(".")[1]))


# --- database and mail of the test stack --------------------------------------

def database_url(state=None):
    """The PostgreSQL URI of a stack: DATABASE_URL (for the stack of this
    run), else what ./stack recorded in its state dir; None: SQLite."""
    if state is None and os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    try:
        with open(os.path.join(state or STATE, "database.url")) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


POSTGRES = IA_DB in ("postgres", "postgresql") or database_url() is not None

try:
    import psycopg2
    DB_ERRORS = (sqlite3.OperationalError, psycopg2.OperationalError)
except ImportError:  # SQLite only
    psycopg2 = None
    DB_ERRORS = (sqlite3.OperationalError,)

_NOW = re.compile(r"strftime\(\s*'%s'\s*,\s*'now'\s*\)", re.I)


def pg_sql(sql, params):
    """A statement in SQLite's dialect, for psycopg2: "?" -> "%s" (outside
    quotes), strftime('%s','now') -> the epoch, COLLATE NOCASE dropped
    (emails are citext there)."""
    sql = _NOW.sub("CAST(extract(epoch FROM now()) AS bigint)", sql)
    sql = re.sub(r"\s+COLLATE\s+NOCASE", "", sql, flags=re.I)
    out, quote = [], None
    for c in sql:
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "?":
            out.append("%s")
            continue
        if c == "%" and params:
            c = "%%"
        out.append(c)
    return "".join(out)


def db_query(sql, params=(), path=None, state=None):
    """Run one statement on the stack's database (or the SQLite file at
    path, or the database of the stack whose state dir is state); returns
    the rows."""
    url = None if path else database_url(state)
    if url is None:
        conn = sqlite3.connect(path or (os.path.join(state, "ia.sqlite3") if state else DB_PATH),
                               timeout=10)
        try:
            rows = conn.execute(sql, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute(pg_sql(sql, params), tuple(params) if params else None)
        rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        conn.commit()
        return rows
    finally:
        conn.close()


def outbox_pending():
    """Messages the batch processor has yet to deliver (due now, or being sent)."""
    try:
        return db_query("SELECT count(*) FROM outbox WHERE state = 'sending' OR "
                        "(state = 'pending' AND next_attempt <= strftime('%s', 'now'))")[0][0]
    except DB_ERRORS:  # locked for a moment
        return 1


def wait_outbox(timeout=20):
    """Wait until ia-batch has delivered (or dropped) every due message.
    Mail is never sent inside a request: it goes through the outbox."""
    end = time.monotonic() + timeout
    while outbox_pending():
        if time.monotonic() > end:
            raise AssertionError("the outbox was not delivered within %d s" % timeout)
        time.sleep(0.05)


def mails(to=None, subject=None):
    """Messages of the file mail transport, oldest first, optionally only those to `to`
    and whose Subject contains `subject` (after the batch processor has delivered what
    the outbox holds)."""
    wait_outbox()
    out = []
    for path in sorted(glob.glob(os.path.join(MAIL_DIR, "*.eml")), key=os.path.getmtime):
        with open(path, "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        if (to is None or to.lower() in str(msg["To"]).lower()) and \
                (subject is None or subject in str(msg["Subject"])):
            out.append(msg)
    return out


RESET_LINK = re.compile(r"/users/reset/password/confirm/([A-Za-z0-9_=-]+)/([A-Za-z0-9_-]+)/")
VERIFY_LINK = re.compile(r"/users/verify/email/([A-Za-z0-9_=-]+)/([A-Za-z0-9_-]+)/")
RESET_SUBJECT = "Reset your Image Assistant password"
VERIFY_SUBJECT = "Verify your Image Assistant email address"


def _newest_link(to, subject, pattern):
    msgs = mails(to, subject)
    if not msgs:
        raise AssertionError("no %r mail to %s in %s" % (subject, to, MAIL_DIR))
    m = pattern.search(msgs[-1].get_content())
    if not m:
        raise AssertionError("no link in %r" % msgs[-1].get_content())
    return m.group(1), m.group(2)


def reset_link(to):
    """(uidb64, token) of the newest password reset mail to `to`."""
    return _newest_link(to, RESET_SUBJECT, RESET_LINK)


def verify_link(to):
    """(uidb64, token) of the newest email verification mail to `to`."""
    return _newest_link(to, VERIFY_SUBJECT, VERIFY_LINK)


# A cluster (./stack cluster, tests/cluster/run.sh): STATE is its root, and
# each host has a state dir of its own under it.
CLUSTER = os.path.exists(os.path.join(STATE, "cluster.env"))


def host_dirs(role=None):
    """The state dirs of the stack's hosts: [STATE], or in a cluster those of
    its app hosts (role "app"), batch hosts ("batch") or all of them."""
    if not CLUSTER:
        return [STATE]
    return [os.path.join(STATE, h) for h in ("app1", "app2", "batch1", "batch2")
            if role is None or h.startswith(role)]


# Tests that start a stack of their own talk to it, not to the cluster's
# front: in the cluster pass they would only repeat the single-host passes.
OWN_STACK = "starts a stack of its own, not the cluster's: runs in the single-host passes"


def settle():
    """On PostgreSQL, wait SETTLE_S: a change made by another process (psql,
    iactl, another host) reaches each worker's cache through PostgreSQL's
    notifications, well under a millisecond away on an idle machine; this
    covers a loaded 2-core CI machine (a fresh-clone CI run once saw a
    deleted user's token accepted right after the delete; test_multihost.py
    waits as long). SQLite: no wait (the WAL index is read at every use)."""
    if CLUSTER or POSTGRES:
        time.sleep(SETTLE_S)


SETTLE_S = 0.1


def log_dirs(role=None):
    """The log dirs of the stack's hosts (see host_dirs)."""
    return [os.path.join(d, "log") for d in host_dirs(role)]


def minute_window():
    return int(time.time()) // 60


def default_run_dir(name):
    """Where the pid file of program `name` is: STATE/run, or in a cluster the
    run dir of its first host that runs it (batch1 for "batch", else app1)."""
    if not CLUSTER:
        return os.path.join(STATE, "run")
    return os.path.join(host_dirs("batch" if name == "batch" else "app")[0], "run")


def read_pid(name, run_dir=None):
    """The pid in <run_dir>/<name>.pid (run_dir: see default_run_dir)."""
    with open(os.path.join(run_dir or default_run_dir(name), name + ".pid")) as f:
        return int(f.read().split()[0])


def wait_new_pid(name, old, timeout=5, interval=0.01):
    """The pid of `name` once it differs from old and runs; None after
    timeout seconds (timeout None: wait for ever)."""
    deadline = None if timeout is None else time.time() + timeout
    while deadline is None or time.time() < deadline:
        try:
            pid = read_pid(name)
            if pid != old:
                os.kill(pid, 0)
                return pid
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(interval)
    return None


def noise_image(size=(64, 64), fmt="PNG", **save):
    """An image of random pixels (no encoder shrinks it much), as bytes."""
    from PIL import Image
    im = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def free_port():
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """A private PostgreSQL cluster for one test class (tests/pg-cluster,
    --fast: fsync off), in a fresh directory under /tmp that the service
    user can reach. start() returns self; database(name) creates one and
    returns its libpq URI; halt() stops the server (start() starts it
    again, same data and URI); stop() halts it and removes the cluster."""
    SCRIPT = os.path.join(SRC, "tests", "pg-cluster")

    def __init__(self, prefix="ia-test-pg."):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.admin_uri = None

    def start(self):
        p = subprocess.run([self.SCRIPT, "start", self.dir, str(self.port), "--fast"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("pg-cluster did not start: %s" % p.stderr)
        self.admin_uri = p.stdout.strip()
        return self

    def database(self, name):
        conn = psycopg2.connect(self.admin_uri)
        conn.autocommit = True
        try:
            conn.cursor().execute("CREATE DATABASE %s" % name)  # a constant of the test
        finally:
            conn.close()
        uri = self.admin_uri.replace("postgresql:///postgres?", "postgresql:///%s?" % name, 1)
        assert uri != self.admin_uri, self.admin_uri
        return uri

    def halt(self):
        subprocess.run([self.SCRIPT, "stop", self.dir], check=True, capture_output=True,
                       timeout=120)

    def stop(self):
        subprocess.run([self.SCRIPT, "stop", self.dir], capture_output=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateStack:
    """Mixin (put it before ApiTestCase) for tests that decide when jobs run:
    the class gets a second stack of its own (its own state dir and port,
    started with IA_NO_BATCH=1: no watcher) and its requests go there; the
    tests run ia-batch themselves against its database (cls.env).

    A subclass may set state_prefix and stack_settings (more environment for
    the stack), and override prepare_state (called before the start, with
    cls.state, cls.media and cls.env set) and cleanup_state (called after the
    stop, before the state dir is removed)."""
    state_prefix = "ia-private-test."
    stack_settings = {}

    @classmethod
    def prepare_state(cls):
        pass

    @classmethod
    def cleanup_state(cls):
        pass

    @classmethod
    def setUpClass(cls):
        if CLUSTER:
            raise unittest.SkipTest(OWN_STACK)
        super().setUpClass()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cls.state = tempfile.mkdtemp(prefix=cls.state_prefix)
        cls.media = os.path.join(cls.state, "media")
        env = {k: v for k, v in os.environ.items() if k not in ("DB_PATH", "MEDIA_ROOT")}
        env.update(IA_STATE_DIR=cls.state, IA_PORT=str(port), IA_NO_BATCH="1", IA_SKIP_BUILD="1",
                   IA_BUILD_DIR=BUILD, PUBLIC_URL="http://127.0.0.1:%d" % port,
                   MAIL_DIR=os.path.join(cls.state, "mail"))
        env.update(cls.stack_settings)
        cls.env = env
        cls.prepare_state()  # may still add to cls.env
        p = subprocess.run([os.path.join(SRC, "stack"), "start"], env=env, capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            cls.tearDownClass()
            raise AssertionError("private stack did not start: %s" % p.stderr)
        global _url
        cls.saved_url = _url
        _url = urllib.parse.urlsplit("http://127.0.0.1:%d" % port)

    @classmethod
    def tearDownClass(cls):
        global _url
        if "saved_url" in cls.__dict__:
            _url = cls.saved_url
        subprocess.run([os.path.join(SRC, "stack"), "stop"], env=cls.env, capture_output=True,
                       timeout=60)
        cls.cleanup_state()
        shutil.rmtree(cls.state, ignore_errors=True)
        super().tearDownClass()

    def db(self, sql, params=()):
        """Run sql on the private stack's database; its rows."""
        return db_query(sql, params, state=self.state)


class ApiTestCase(unittest.TestCase):
    maxDiff = None

    def assertStatus(self, r, status):
        self.assertEqual(r.status, status, r)

    def assertJsonResponse(self, r, status, body=None):
        """Status, JSON content type, and (when given) the exact body."""
        self.assertStatus(r, status)
        self.assertEqual(r.headers.get("content-type"), "application/json; charset=utf-8", r)
        if body is not None:
            self.assertEqual(r.json, body)
        return r.json

    def signup(self, email=None, password="correct horse battery", **extra):
        email = email or unique_email()
        r = request("POST", "/api/v1/users/signup/", {"email": email, "password": password, **extra})
        self.assertJsonResponse(r, 201, {"detail": "User created successfully."})
        return email, password

    def login(self, email, password):
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        self.assertJsonResponse(r, 200)
        return r.json

    def new_user(self, **extra):
        """Sign up a fresh user and return (email, password, access, refresh)."""
        email, password = self.signup(**extra)
        t = self.login(email, password)
        return email, password, t["access"], t["refresh"]

    def assertHealthy(self):
        self.assertJsonResponse(request("GET", "/health/"), 200, {"status": "ok", "db": "ok", "storage": "ok", "batch": "ok"})

    TOKEN_INVALID = {"detail": "Given token not valid for any token type", "code": "token_not_valid"}
    NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
    SUSPENDED = {"detail": "Account is suspended."}

    def user_info(self, access, status=200):
        r = request("GET", "/api/v1/user/info/", token=access)
        self.assertJsonResponse(r, status)
        return r.json

    def assertTokenRejected(self, access):
        r = request("GET", "/api/v1/user/info/", token=access)
        self.assertJsonResponse(r, 401, self.TOKEN_INVALID)

    def assertThrottles(self, method, path, body, limit=None):
        """`limit` requests from one address pass, the next one is 429 with
        Retry-After. Fixed one-minute windows: retried once when the burst
        straddled a minute boundary."""
        limit = RATE_LIMIT if limit is None else limit
        for attempt in range(2):
            src = fresh_source()
            start = minute_window()
            passed = [request(method, path, body, source=src) for _ in range(limit)]
            r = request(method, path, body, source=src)
            if minute_window() != start and attempt == 0:
                continue
            for p in passed:
                self.assertNotEqual(p.status, 429, p)
                self.assertEqual(p.headers.get("content-type"), "application/json; charset=utf-8")
            self.assertJsonResponse(r, 429)
            m = re.fullmatch(r"Request was throttled\. Expected available in (\d+) seconds\.",
                             r.json.get("detail", ""))
            self.assertIsNotNone(m, r)
            self.assertEqual(list(r.json), ["detail"])
            self.assertEqual(r.headers.get("retry-after"), m.group(1))
            self.assertTrue(1 <= int(m.group(1)) <= 60, r)
            # another address is not affected
            other = request(method, path, body)
            self.assertNotEqual(other.status, 429, other)
            return r
        self.fail("could not fit the burst into one minute")



# --- uploads, jobs and media (image tests) -------------------------------------

MEDIA_ROOT = os.environ.get("MEDIA_ROOT", os.path.join(STATE, "media"))


def multipart(fields=None, files=None):
    """(content_type, body) of a multipart/form-data form. fields: {name: str or bytes};
    files: {name: (filename, bytes[, content_type])}."""
    boundary = "----iatest" + uuid.uuid4().hex
    out = []
    for name, value in (fields or {}).items():
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
                    % (boundary, name)).encode()
                   + (value if isinstance(value, bytes) else str(value).encode()) + b"\r\n")
    for name, spec in (files or {}).items():
        filename, data = spec[0], spec[1]
        ctype = spec[2] if len(spec) > 2 else "application/octet-stream"
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    'Content-Type: %s\r\n\r\n' % (boundary, name, filename, ctype)).encode()
                   + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return "multipart/form-data; boundary=" + boundary, b"".join(out)


def upload(slug, data, filename="image.png", fields=None, *, token, path=None, source=None):
    """POST an image file (field "image") to /api/v1/process/<slug>/, or to path."""
    ctype, body = multipart(fields, {"image": (filename, data)} if data is not None else None)
    return request("POST", path or "/api/v1/process/%s/" % slug, raw=body, content_type=ctype,
                   token=token, source=source)


def wait_image(image_id, token, timeout=60):
    """Poll /image/status/<id>/ until it is 200 (done or failed); returns the response."""
    deadline = time.time() + timeout
    while True:
        r = request("GET", "/api/v1/image/status/%s/" % image_id, token=token)
        if r.status != 202 or time.time() > deadline:
            return r
        time.sleep(0.1)


def media_path(url):
    """The path and query of a signed media URL. The API gives them root-relative
    ("/media/<key>?exp=..&sig=.."); an absolute one (older stacks, mocks) loses its host."""
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def media_sign(key, exp, secret=None):
    """The sig of /media/<key>?exp=<exp>: hex HMAC-SHA256(SECRET_KEY, "<key>\\n<exp>")."""
    secret = SECRET_KEY if secret is None else secret
    return hmac.new(secret.encode(), ("%s\n%d" % (key, exp)).encode(), hashlib.sha256).hexdigest()


def read_conf(path):
    """The KEY=VALUE lines of a settings file ({} when it does not exist)."""
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    out[k] = v
    return out


class MediaStore:
    """The media objects of a stack, wherever its storage keeps them: files
    under MEDIA_ROOT, or objects of the S3 bucket its storage.conf names
    (reached with a small SigV4 client of our own, independent of the C
    code under test). Keys are media keys ("images/ab/....png")."""

    def __init__(self, state=None, media_root=None):
        state = state or STATE
        self.root = media_root or (MEDIA_ROOT if state == STATE else os.path.join(state, "media"))
        self.conf = read_conf(os.path.join(state, "storage.conf"))
        self.s3 = self.conf.get("MEDIA_STORAGE") == "s3" or os.environ.get("MEDIA_STORAGE") == "s3"
        if self.s3 and not self.conf.get("AWS_S3_ENDPOINT_URL"):
            self.conf.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})

    # -- a minimal S3 client: path-style, AWS Signature V4 in headers -------
    def _s3(self, method, key="", query=(), body=b""):
        c = self.conf
        ep = urllib.parse.urlsplit(c["AWS_S3_ENDPOINT_URL"])
        region = c.get("AWS_S3_REGION_NAME", "us-east-1")
        path = "/" + c["AWS_STORAGE_BUCKET_NAME"] + ("/" + urllib.parse.quote(key, safe="/-_.~") if key else "")
        q = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                     for k, v in sorted(query))
        now = time.gmtime()
        amz_date, day = time.strftime("%Y%m%dT%H%M%SZ", now), time.strftime("%Y%m%d", now)
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": ep.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, path, q, "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)),
                               signed, payload])
        scope = "%s/%s/s3/aws4_request" % (day, region)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + c["AWS_SECRET_ACCESS_KEY"]).encode()
        for part in (day, region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            c["AWS_ACCESS_KEY_ID"], scope, signed, sig)
        conn = http.client.HTTPConnection(ep.hostname, ep.port or 80, timeout=60)
        conn.request(method, path + ("?" + q if q else ""), body=body or None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        if r.status == 404 and method in ("GET", "HEAD"):
            raise FileNotFoundError(key)
        if r.status >= 300:
            raise AssertionError("S3 %s %s: %d %s" % (method, key, r.status, data[:300]))
        return r, data

    def _path(self, key):
        return os.path.join(self.root, key)

    def read(self, key):
        """The object's bytes; FileNotFoundError when there is none."""
        if self.s3:
            return self._s3("GET", key)[1]
        with open(self._path(key), "rb") as f:
            return f.read()

    def write(self, key, data):
        """Replace (or create) the object of key with data."""
        if self.s3:
            self._s3("PUT", key, body=data)
            return
        with open(self._path(key), "wb") as f:
            f.write(data)

    def remove(self, key):
        if self.s3:
            self._s3("DELETE", key)
        else:
            os.unlink(self._path(key))

    def exists(self, key):
        try:
            self.size(key)
            return True
        except FileNotFoundError:
            return False

    def size(self, key):
        if self.s3:
            return int(self._s3("HEAD", key)[0].getheader("Content-Length"))
        return os.path.getsize(self._path(key))

    def keys(self):
        """Every object key (on local disk: every file under images/ and sources/)."""
        if not self.s3:
            return {f for f in self.local_files() if f.startswith(("images/", "sources/"))}
        import xml.etree.ElementTree as ET
        out, token = set(), None
        while True:
            query = [("list-type", "2")] + ([("continuation-token", token)] if token else [])
            root = ET.fromstring(self._s3("GET", query=query)[1])
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            out.update(e.text for e in root.iter(ns + "Key"))
            token = root.findtext(ns + "NextContinuationToken")
            if root.findtext(ns + "IsTruncated") != "true" or not token:
                return out

    def local_files(self):
        """Every file under MEDIA_ROOT (on S3: temp files only), relative to it."""
        out = set()
        for d, _, names in os.walk(self.root):
            out.update(os.path.relpath(os.path.join(d, n), self.root) for n in names)
        return out

    def files(self):
        """The objects' keys and the files under MEDIA_ROOT (uploads in flight)."""
        return self.keys() | self.local_files() if self.s3 else self.local_files()


media = MediaStore()


def media_files():
    """The suite's stack's media keys and the files under its MEDIA_ROOT."""
    return media.files()


def image_bytes(fmt="PNG", size=(64, 48), color=(200, 60, 30), mode="RGB", draw=None, **save):
    """An image file made with PIL (Debian's python3-pil); draw(ImageDraw) may paint on it."""
    import io
    from PIL import Image, ImageDraw
    im = Image.new(mode, size, color)
    if draw is not None:
        draw(ImageDraw.Draw(im))
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def open_image(data):
    """PIL image of bytes (fully loaded)."""
    import io
    from PIL import Image
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


class paused_batch:
    """with paused_batch(): the stack's `ia-batch --watch` (each batch host's in a
    cluster) is stopped (SIGSTOP), so jobs queued meanwhile stay 'pending'; SIGCONT on
    exit. Waits until the stopped watchers hold no database lock."""

    def __enter__(self):
        import signal
        self.pids = []
        for d in host_dirs("batch"):
            with open(os.path.join(d, "run", "batch.pid")) as f:
                self.pids.append(int(f.read().split()[0]))
        for _ in range(50):
            for pid in self.pids:
                os.kill(pid, signal.SIGSTOP)
            if self._unlocked():
                return self
            for pid in self.pids:
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
        raise AssertionError("the batch watcher keeps holding the database")

    @staticmethod
    def _unlocked():
        """SQLite: a write transaction can begin. PostgreSQL: no session of
        this database sits inside a transaction (ia-batch's jobs and outbox
        claims are short transactions; a stopped one would show here)."""
        if POSTGRES:
            return db_query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")[0][0] == 0
        conn = sqlite3.connect(DB_PATH, timeout=0.2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()

    def __exit__(self, *exc):
        import signal
        for pid in self.pids:
            os.kill(pid, signal.SIGCONT)
        return False
