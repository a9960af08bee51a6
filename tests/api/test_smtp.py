"""test_smtp.py - MAIL_TRANSPORT=smtp (lib/mail.c, delivered from the outbox
by ia-batch, lib/outbox.c) end to end.

The stack of run-api.sh uses the file transport, so this module starts its
own SMTP fake (tests/api/fakes/smtp.py, with AUTH required) and a second
private stack from the same build with MAIL_TRANSPORT=smtp (MAIL_TIMEOUT=2,
MAIL_RETRY_BASE=1), and stops both in tearDownClass. Checks: a
password-reset mail arrives with the right envelope, To, Subject and a
working link; the contact mail too; a rejecting, hanging-up, stalled
(accepts and never answers) or absent SMTP server never holds up or fails
the request, and the message is retried and delivered exactly once when
the server is back (issue 9 point 17, "stalled SMTP server": nothing
lost); the SMTP password never reaches a log.

SmtpTlsRequiredTest runs ia-batch alone against a fake that offers no
STARTTLS on a non-loopback address: nothing is sent, AUTH included."""
import email
import email.policy
import sqlite3
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import iatest
from iatest import BUILD, SRC, RESET_LINK, db_query, fresh_source, unique_email

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-pass-" + os.urandom(6).hex()
FAKE_SCRIPT = os.path.join(SRC, "tests", "api", "fakes", "smtp.py")
CONTACT = "support@image-assistant.local"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_file(path, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return int(f.read())
        time.sleep(0.05)
    raise AssertionError("%s did not appear" % path)


@unittest.skipIf(iatest.CLUSTER, iatest.OWN_STACK)
@unittest.skipUnless(os.path.exists(os.path.join(BUILD, "cgi-bin", "ia-accounts")),
                     "no build to start a second stack from")
class SmtpTransportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ia-smtp.")
        os.chmod(cls.tmp, 0o711)  # the stack's service user reaches state/ below it
        cls.fake = subprocess.Popen(
            ["/usr/bin/python3", FAKE_SCRIPT, "--port-file", os.path.join(cls.tmp, "smtp.port"),
             "--auth", "%s:%s" % (SMTP_USER, SMTP_PASSWORD)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.smtp_port = wait_file(os.path.join(cls.tmp, "smtp.port"))
        cls.ctl = "http://127.0.0.1:%d" % wait_file(os.path.join(cls.tmp, "smtp.port.http"))
        cls.port = free_port()
        cls.state = os.path.join(cls.tmp, "state")
        env = {k: v for k, v in os.environ.items()
               if k not in ("DB_PATH", "MAIL_DIR", "MEDIA_ROOT", "IA_CONFIG")}
        env.update(IA_STATE_DIR=cls.state, IA_PORT=str(cls.port), IA_SKIP_BUILD="1",
                   IA_BUILD_DIR=BUILD, MAIL_TRANSPORT="smtp", MAIL_TIMEOUT="2",
                   MAIL_RETRY_BASE="1",
                   SMTP_URL="smtp://127.0.0.1:%d" % cls.smtp_port, SMTP_USER=SMTP_USER,
                   SMTP_PASSWORD=SMTP_PASSWORD, CONTACT_EMAIL=CONTACT,
                   PUBLIC_URL="http://127.0.0.1:%d" % cls.port,
                   DEFAULT_FROM_EMAIL="Image Assistant <noreply@ia-smtp.example>")
        cls.env = env
        p = subprocess.run([os.path.join(SRC, "stack"), "start"], env=env, capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            cls.tearDownClass()
            raise AssertionError("second stack did not start: %s" % p.stderr)

    @classmethod
    def tearDownClass(cls):
        subprocess.run([os.path.join(SRC, "stack"), "stop"], env=cls.env, capture_output=True,
                       timeout=120)
        if cls.fake.poll() is None:
            cls.fake.send_signal(signal.SIGTERM)
            cls.fake.wait(10)
        leaks = []
        logdir = os.path.join(cls.state, "log")
        for d, _, names in os.walk(logdir):  # log/root too: nginx's and the supervisor's
            for name in names:
                with open(os.path.join(d, name), "rb") as f:
                    if SMTP_PASSWORD.encode() in f.read():
                        leaks.append(name)
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if leaks:
            raise AssertionError("SMTP password in logs: %s" % leaks)

    # --- helpers --------------------------------------------------------------

    def api(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                          source_address=(fresh_source(), 0))
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        out = (r.status, json.loads(r.read() or b"null"))
        conn.close()
        return out

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.ctl + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def messages_to(self, rcpt, wait=10, subject=None):
        """Messages the fake accepted for rcpt (only those whose Subject
        contains subject when given), waiting up to wait s for a first one."""
        end = time.monotonic() + wait
        while True:
            got = [m for m in self.control("GET", "/_messages") if rcpt in m["rcpt_to"]
                   and (subject is None or subject in m["data"].split("\r\n\r\n")[0])]
            if got or time.monotonic() > end:
                return got
            time.sleep(0.1)

    def outbox(self, rcpt):
        """[(kind, state, attempts, last_error)] of the second stack's outbox rows to rcpt."""
        return db_query("SELECT kind, state, attempts, last_error FROM outbox "
                        "WHERE rcpt = ? ORDER BY id", (rcpt,), state=self.state)

    def wait_outbox(self, rcpt, pred, wait=20):
        end = time.monotonic() + wait
        while True:
            rows = self.outbox(rcpt)
            if pred(rows):
                return rows
            if time.monotonic() > end:
                raise AssertionError("outbox to %s never got there: %r" % (rcpt, rows))
            time.sleep(0.1)

    def new_account(self):
        addr = unique_email("smtp")
        status, body = self.api("POST", "/api/v1/users/signup/",
                                {"email": addr, "password": "correct horse battery"})
        self.assertEqual(status, 201, body)
        return addr

    def setUp(self):
        if self.fake.poll() is None:
            self.control("POST", "/_mode", {"mode": "ok"})

    # --- tests ----------------------------------------------------------------

    def test_reset_mail_delivered(self):
        addr = self.new_account()
        status, body = self.api("POST", "/api/v1/users/change/password/", {"email": addr})
        self.assertEqual((status, body), (200, {"detail": "Password reset email sent successfully."}))
        msgs = self.messages_to(addr, subject="Reset your")
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["mail_from"], "noreply@ia-smtp.example")
        self.assertEqual(m["rcpt_to"], [addr])
        self.assertEqual(m["auth_user"], SMTP_USER)
        msg = email.message_from_string(m["data"], policy=email.policy.default)
        self.assertEqual(str(msg["To"]), addr)
        self.assertEqual(str(msg["Subject"]), "Reset your Image Assistant password")
        self.assertIn("noreply@ia-smtp.example", str(msg["From"]))
        self.assertIsNotNone(msg["Date"])
        self.assertIsNotNone(msg["Message-ID"])
        text = msg.get_content()
        self.assertIn("http://127.0.0.1:%d/users/reset/password/confirm/" % self.port, text)
        link = RESET_LINK.search(text)
        self.assertIsNotNone(link, text)
        # the mailed link works on this stack
        status, body = self.api("POST", "/api/v1/users/password/reset/confirm/",
                                {"uidb64": link.group(1), "token": link.group(2),
                                 "new_password": "a brand new password"})
        self.assertEqual((status, body), (200, {"detail": "Password reset successfully."}))
        status, _ = self.api("POST", "/api/v1/token/obtain/",
                             {"email": addr, "password": "a brand new password"})
        self.assertEqual(status, 200)

    def test_dot_lines_survive(self):
        """A contact message with a line holding a lone dot arrives whole."""
        body = "line one\n.\n..two dots\nand enough words to pass fifty characters."
        status, _ = self.api("POST", "/api/v1/contact/",
                             {"name": "Dot", "email": "dot@example.com", "subject": "dots",
                              "message": body, "confirmHuman": True})
        self.assertEqual(status, 200)
        msgs = [m for m in self.messages_to(CONTACT) if "dots" in m["data"]]
        self.assertEqual(len(msgs), 1)
        content = email.message_from_string(msgs[-1]["data"], policy=email.policy.default).get_content()
        self.assertIn("\n.\n..two dots\n", content.replace("\r\n", "\n"))

    def test_verification_mail_delivered_once(self):
        addr = self.new_account()
        msgs = self.messages_to(addr, subject="Verify your")
        self.assertEqual(len(msgs), 1)
        self.assertIn("/users/verify/email/", msgs[0]["data"])
        time.sleep(1)
        self.assertEqual(len(self.messages_to(addr, wait=0)), 1)

    def test_rejecting_server_retried_later(self):
        """A 451 or a hang-up is a failed attempt: the request does not notice,
        and the message goes once the server accepts again."""
        for mode in ("reject", "drop"):
            addr = self.new_account()
            self.assertEqual(len(self.messages_to(addr, subject="Verify your")), 1, mode)
            self.control("POST", "/_mode", {"mode": mode})
            start = time.monotonic()
            status, body = self.api("POST", "/api/v1/users/change/password/", {"email": addr})
            self.assertEqual((status, body),
                             (200, {"detail": "Password reset email sent successfully."}), mode)
            self.assertLess(time.monotonic() - start, 1, mode)
            self.wait_outbox(addr, lambda rows: any(k == "reset" and a >= 1 and e
                                                    for k, _, a, e in rows))
            self.assertEqual(self.messages_to(addr, wait=0, subject="Reset your"), [], mode)
            self.control("POST", "/_mode", {"mode": "ok"})
            self.assertEqual(len(self.messages_to(addr, subject="Reset your")), 1, mode)
            self.wait_outbox(addr, lambda rows: all(s == "sent" for _, s, _, _ in rows))
            self.assertEqual(len(self.messages_to(addr, wait=0, subject="Reset your")), 1, mode)

    def test_stalled_server(self):
        """Issue 9 point 17: a server that accepts the connection and never
        answers. Requests do not wait for it; each attempt times out
        (MAIL_TIMEOUT) and is retried; when the server recovers, every
        message (a sign-up's verification, a reset, a contact message) is
        delivered exactly once and nothing is left behind."""
        self.control("POST", "/_mode", {"mode": "stall"})
        try:
            start = time.monotonic()
            addr = self.new_account()
            status, body = self.api("POST", "/api/v1/users/change/password/", {"email": addr})
            self.assertEqual(status, 200, body)
            status, body = self.api("POST", "/api/v1/contact/",
                                    {"name": "Stall", "email": addr, "subject": "stalled " + addr,
                                     "message": "y" * 60, "confirmHuman": True})
            self.assertEqual(status, 200, body)
            self.assertLess(time.monotonic() - start, 1.5)  # three requests, no SMTP wait
            rows = self.wait_outbox(addr, lambda rows: any(e for _, _, _, e in rows), wait=30)
            self.assertTrue(all(s in ("pending", "sending") for _, s, _, _ in rows), rows)
            self.assertEqual(self.messages_to(addr, wait=0), [])
        finally:
            self.control("POST", "/_mode", {"mode": "ok"})
        self.assertEqual(len(self.messages_to(addr, wait=30, subject="Verify your")), 1)
        self.assertEqual(len(self.messages_to(addr, wait=30, subject="Reset your")), 1)
        self.assertEqual(len(self.messages_to(CONTACT, wait=30, subject="stalled " + addr)), 1)
        self.wait_outbox(addr, lambda rows: len(rows) == 2 and
                         all(s == "sent" for _, s, _, _ in rows), wait=30)
        time.sleep(1.5)  # nothing goes a second time
        self.assertEqual(len(self.messages_to(addr, wait=0)), 2)
        self.assertEqual(len(self.messages_to(CONTACT, wait=0, subject="stalled " + addr)), 1)

    def test_zz_server_down_does_not_fail_request(self):
        """Runs last: stops the SMTP fake for good. The mail waits in the outbox."""
        addr = self.new_account()
        self.assertEqual(len(self.messages_to(addr, subject="Verify your")), 1)
        self.fake.send_signal(signal.SIGTERM)
        self.fake.wait(10)
        start = time.monotonic()
        status, body = self.api("POST", "/api/v1/users/change/password/", {"email": addr})
        self.assertEqual((status, body), (200, {"detail": "Password reset email sent successfully."}))
        self.assertLess(time.monotonic() - start, 1)
        status, body = self.api("POST", "/api/v1/contact/",
                                {"name": "Down", "email": "down@example.com", "subject": "down",
                                 "message": "x" * 60, "confirmHuman": True})
        self.assertEqual(status, 200, body)
        rows = self.wait_outbox(addr, lambda rows: any(k == "reset" and e for k, _, _, e in rows))
        self.assertIn(rows[-1][1], ("pending", "sending"))
        with open(os.path.join(self.state, "log", "batch.log"), "rb") as f:
            log = f.read()
        self.assertIn(b"attempt 1 failed", log)
        self.assertNotIn(SMTP_PASSWORD.encode(), log)


def non_loopback_ipv4():
    """An IPv4 address of this machine that is not 127.x (None if there is none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


@unittest.skipUnless(os.path.exists(os.path.join(BUILD, "bin", "ia-batch")), "no build")
class SmtpTlsRequiredTest(unittest.TestCase):
    """Issue 9 point 3: smtp:// to a host that is not loopback requires
    STARTTLS. The fake never offers it, listens on every address, and
    records sessions and AUTH attempts; ia-batch --once delivers one queued
    message from a database of its own."""

    @classmethod
    def setUpClass(cls):
        cls.addr = non_loopback_ipv4()
        if cls.addr is None:
            raise unittest.SkipTest("no non-loopback IPv4 address on this machine")
        cls.tmp = tempfile.mkdtemp(prefix="ia-smtptls.")
        cls.fake = subprocess.Popen(
            ["/usr/bin/python3", FAKE_SCRIPT, "--port-file", os.path.join(cls.tmp, "smtp.port"),
             "--auth", "%s:%s" % (SMTP_USER, SMTP_PASSWORD), "--host", "0.0.0.0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.smtp_port = wait_file(os.path.join(cls.tmp, "smtp.port"))
        cls.ctl = "http://127.0.0.1:%d" % wait_file(os.path.join(cls.tmp, "smtp.port.http"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.send_signal(signal.SIGTERM)
        cls.fake.wait(10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    control = SmtpTransportTest.control

    def deliver_once(self, host):
        """Queue one message in a fresh database and run ia-batch --once
        with SMTP_URL=smtp://host:port; (outbox state, attempts, stderr)."""
        state = tempfile.mkdtemp(dir=self.tmp)
        db = os.path.join(state, "ia.sqlite3")
        env = {k: v for k, v in os.environ.items()
               if k not in ("DB_PATH", "MAIL_DIR", "MEDIA_ROOT", "IA_CONFIG")}
        env.update(IA_STATE_DIR=state, DB_PATH=db, MAIL_TRANSPORT="smtp", MAIL_TIMEOUT="5",
                   SMTP_URL="smtp://%s:%d" % (host, self.smtp_port), SMTP_USER=SMTP_USER,
                   SMTP_PASSWORD=SMTP_PASSWORD, DEV_MODE="1",
                   SECRET_KEY=os.environ.get("SECRET_KEY") or "x" * 40)
        subprocess.run([os.path.join(BUILD, "bin", "iactl"), "db", "migrate"], env=env,
                       check=True, capture_output=True)
        conn = sqlite3.connect(db)
        conn.execute("INSERT INTO outbox(kind, rcpt, subject, body, token, next_attempt, "
                     "give_up, created, updated) VALUES ('contact', 'to@example.com', 'tls', "
                     "'body', 'abc123', 0, strftime('%s','now') + 86400, "
                     "strftime('%s','now'), strftime('%s','now'))")
        conn.commit()
        p = subprocess.run([os.path.join(BUILD, "bin", "ia-batch"), "--once"], env=env,
                           capture_output=True, text=True, timeout=60)
        row = conn.execute("SELECT state, attempts FROM outbox").fetchone()
        conn.close()
        self.assertNotIn(SMTP_PASSWORD, p.stdout + p.stderr)
        return row[0], row[1], p.stderr

    def setUp(self):
        self.control("DELETE", "/_messages")

    def test_no_starttls_no_credentials(self):
        state, attempts, log = self.deliver_once(self.addr)
        self.assertEqual(len(self.control("GET", "/_connections")), 1)  # it was reachable
        self.assertEqual(self.control("GET", "/_auth"), [])  # the password never went out
        self.assertEqual(self.control("GET", "/_messages"), [])
        self.assertEqual((state, attempts), ("pending", 1))  # kept, to be retried
        self.assertIn("attempt 1 failed", log)

    def test_loopback_may_be_plain(self):
        """The same fake and message over 127.0.0.1: delivered (the setup works)."""
        state, attempts, _ = self.deliver_once("127.0.0.1")
        self.assertEqual((state, attempts), ("sent", 1))
        self.assertEqual([a["user"] for a in self.control("GET", "/_auth")], [SMTP_USER])
        self.assertEqual(len(self.control("GET", "/_messages")), 1)


if __name__ == "__main__":
    unittest.main()
