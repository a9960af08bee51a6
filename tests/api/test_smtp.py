"""test_smtp.py - MAIL_TRANSPORT=smtp (lib/mail.c) end to end.

The stack of run-api.sh uses the file transport, so this module starts its
own SMTP fake (tests/api/fakes/smtp.py, with AUTH required) and a second
private stack from the same build with MAIL_TRANSPORT=smtp, and stops both
in tearDownClass. Checks: a password-reset mail arrives with the right
envelope, To, Subject and a working link; the contact mail too; a
rejecting, hanging-up or absent SMTP server never fails the request; the
SMTP password never reaches a log."""
import email
import email.policy
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

from iatest import BUILD, SRC, RESET_LINK, fresh_source, unique_email

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
                   IA_BUILD_DIR=BUILD, IA_NO_BATCH="1", MAIL_TRANSPORT="smtp",
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

    def messages_to(self, rcpt, wait=5):
        end = time.monotonic() + wait
        while True:
            got = [m for m in self.control("GET", "/_messages") if rcpt in m["rcpt_to"]]
            if got or time.monotonic() > end:
                return got
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
        msgs = self.messages_to(addr)
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

    def test_rejecting_server_does_not_fail_request(self):
        for mode in ("reject", "drop"):
            addr = self.new_account()
            self.control("POST", "/_mode", {"mode": mode})
            start = time.monotonic()
            status, body = self.api("POST", "/api/v1/users/change/password/", {"email": addr})
            self.assertEqual((status, body),
                             (200, {"detail": "Password reset email sent successfully."}), mode)
            self.assertLess(time.monotonic() - start, 15, mode)
            self.control("POST", "/_mode", {"mode": "ok"})
            self.assertEqual(self.messages_to(addr, wait=0.5), [], mode)

    def test_zz_server_down_does_not_fail_request(self):
        """Runs last: stops the SMTP fake for good."""
        addr = self.new_account()
        self.fake.send_signal(signal.SIGTERM)
        self.fake.wait(10)
        start = time.monotonic()
        status, body = self.api("POST", "/api/v1/users/change/password/", {"email": addr})
        self.assertEqual((status, body), (200, {"detail": "Password reset email sent successfully."}))
        self.assertLess(time.monotonic() - start, 5)
        status, body = self.api("POST", "/api/v1/contact/",
                                {"name": "Down", "email": "down@example.com", "subject": "down",
                                 "message": "x" * 60, "confirmHuman": True})
        self.assertEqual(status, 200, body)
        with open(os.path.join(self.state, "log", "accounts.log"), "rb") as f:
            log = f.read()
        if log:  # empty while spawn-fcgi sends the programs' stderr to /dev/null
            self.assertIn(b"SMTP delivery failed", log)


if __name__ == "__main__":
    unittest.main()
