"""test_text_rules.py - API.md's text rules (issue 9, point 4): text fields
are valid UTF-8 without control characters (names: none at all; prompts,
messages and multipart fields: newline and tab allowed), and the admin tool
never prints a stored control character raw to the admin's terminal."""
import json
import os
import subprocess
import unittest
import uuid

from iatest import (BUILD, CONTACT_EMAIL, POSTGRES, ApiTestCase, db_query, image_bytes, mails, request,
                    unique_email, upload, wait_image)

CONTACT = "/api/v1/contact/"
GENERATE = "/api/v1/create/image/from/prompt/"
MESSAGE = "Hello, I would like to know more about the image services you offer. Thanks!"
ONE_LINE = "Control characters are not allowed."
MULTI_LINE = "Control characters other than newline and tab are not allowed."


def iactl_bytes(*args):
    """The admin tool's raw stdout (bytes: a terminal gets bytes, not str)."""
    p = subprocess.run([os.path.join(BUILD, "bin", "iactl"), *args], capture_output=True,
                       env=os.environ.copy())
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    return p.stdout


def raw_controls(data):
    """Control bytes a terminal would act on, other than the output's own line ends."""
    return [b for b in data if (b < 0x20 and b not in (0x09, 0x0a)) or b == 0x7f] + \
        ([b"\xc2\x9b"] if b"\xc2\x9b" in data else []) + ([b"\xff"] if b"\xff" in data else [])


class ContactTextTest(ApiTestCase):
    def form(self, **kw):
        body = {"name": "Grace Hopper", "email": "grace@example.com",
                "subject": "Question " + uuid.uuid4().hex, "message": MESSAGE, "confirmHuman": True}
        body.update(kw)
        return body

    def stored(self, subject):
        return db_query("SELECT count(*) FROM contact_messages WHERE subject LIKE ?",
                        ("%" + subject[-32:],))[0][0]

    def test_one_line_fields_refuse_controls(self):
        for field in ("name", "subject"):
            for bad in ("a\x1b[31mb", "two\nlines", "tab\t", "del\x7f", "c1\x9b"):
                with self.subTest(field=field, value=bad):
                    tag = uuid.uuid4().hex
                    body = self.form(**{field: bad + " " + tag})
                    r = request("POST", CONTACT, body)
                    self.assertJsonResponse(r, 400, {field: [ONE_LINE]})
                    self.assertEqual(self.stored(body["subject"]), 0)
                    self.assertEqual([m for m in mails(CONTACT_EMAIL) if tag in m.as_string()], [])

    def test_message_allows_newline_and_tab_only(self):
        ok = self.form(message="First line,\n\tindented second line.\r\n" + MESSAGE)
        r = request("POST", CONTACT, ok)
        self.assertJsonResponse(r, 200)
        for bad in ("\x1b[2J" + MESSAGE, MESSAGE + "\x07", MESSAGE + "\rover", MESSAGE + "\x9b"):
            with self.subTest(message=bad):
                body = self.form(message=bad)
                self.assertJsonResponse(request("POST", CONTACT, body), 400, {"message": [MULTI_LINE]})
                self.assertEqual(self.stored(body["subject"]), 0)


class PromptTextTest(ApiTestCase):
    def setUp(self):
        _, _, self.access, _ = self.new_user()

    def credits(self):
        return self.user_info(self.access)["credits"]

    def test_generate_prompt_refuses_controls(self):
        for field in ("prompt", "negative_prompt"):
            for bad in ("a cat\x1b]0;pwned\x07", "x\x00y", "del\x7f"):
                with self.subTest(field=field, value=bad):
                    body = {"prompt": "a cat", field: bad}
                    r = request("POST", GENERATE, body, token=self.access)
                    got = self.assertJsonResponse(r, 400)
                    self.assertEqual(list(got), [field])
        self.assertEqual(self.credits(), 100)

    def test_generate_prompt_keeps_newlines(self):
        r = request("POST", GENERATE, {"prompt": "a cat\non a mat\twith a hat"}, token=self.access)
        body = self.assertJsonResponse(r, 202)
        r = request("GET", "/api/v1/image/status/%d/" % body["image_id"], token=self.access)
        self.assertIn(r.status, (200, 202), r)

    def test_multipart_prompt_with_line_ends_is_stored(self):
        prompt = "line one\r\nline two\n\tindented " + uuid.uuid4().hex
        r = upload("greyscale", image_bytes("PNG", (8, 8)), "p.png", {"prompt": prompt},
                   token=self.access)
        accepted = self.assertJsonResponse(r, 202)
        done = wait_image(accepted["image_id"], self.access)
        self.assertEqual(done.json["prompt"], prompt)
        r = request("GET", "/api/v1/user/images/", token=self.access)
        self.assertEqual(r.json["results"][0]["prompt"], prompt)


class IactlEscapesTest(ApiTestCase):
    """Rows written before the text rules (or by hand) may still hold escape
    sequences: iactl shows them escaped, never raw."""

    def test_user_show_and_list_escape_stored_controls(self):
        email, _ = self.signup(first_name="Eve", last_name="Smith")
        if POSTGRES:  # its text holds no invalid UTF-8 (the \xff): the controls only
            db_query("UPDATE users SET first_name = ?, last_name = ? WHERE email = ?",
                     ("Eve\x1b[2J\x1b]0;owned\x07", "S\u009bmith\x7f", email))
        else:
            db_query("UPDATE users SET first_name = ?, last_name = CAST(? AS TEXT) WHERE email = ?",
                     ("Eve\x1b[2J\x1b]0;owned\x07", b"S\xc2\x9bmith\x7f\xff", email))
        out = iactl_bytes("user", "show", email)
        self.assertEqual(raw_controls(out), [], out)
        self.assertIn(b"Eve\\x1b[2J\\x1b]0;owned\\x07", out)
        self.assertIn(b"S\\u009bmith\\x7f" if POSTGRES else b"S\\u009bmith\\x7f\\xff", out)
        out = iactl_bytes("user", "list")
        self.assertEqual(raw_controls(out), [])
        # JSON output stays parseable JSON and carries the characters escaped
        out = iactl_bytes("user", "show", email, "--json")
        self.assertEqual(raw_controls(out), [], out)
        shown = json.loads(out)
        self.assertEqual(shown["first_name"], "Eve\x1b[2J\x1b]0;owned\x07")
        self.assertEqual(shown["last_name"], "S\x9bmith\x7f" if POSTGRES else "S\x9bmith\x7f\ufffd")

    def test_create_refuses_controls_in_email(self):
        for bad in ("eve\x1b[2J@example.com", "eve\x9b@example.com"):
            with self.subTest(email=bad):
                p = subprocess.run([os.path.join(BUILD, "bin", "iactl"), "user", "create", bad,
                                    "--password-stdin"], input=b"admin made pw 1\n",
                                   capture_output=True, env=os.environ.copy())
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(b"not an email address", p.stderr)
                self.assertEqual(raw_controls(p.stderr), [], p.stderr)
                self.assertEqual(db_query("SELECT count(*) FROM users WHERE email = ?", (bad,)),
                                 [(0,)])

    def test_list_escapes_stored_email(self):
        tag = uuid.uuid4().hex[:8]
        email, _ = self.signup()
        hostile = "evil\x1b[2J" + tag + "@example.com"
        db_query("UPDATE users SET email = ? WHERE email = ?", (hostile, email))
        out = iactl_bytes("user", "list")
        self.assertEqual(raw_controls(out), [])
        self.assertIn(("evil\\x1b[2J" + tag).encode(), out)
        db_query("UPDATE users SET email = ? WHERE email = ?", (email, hostile))


if __name__ == "__main__":
    unittest.main()
