"""test_contact.py - the contact form: reply, storage, mail to CONTACT_EMAIL,
field errors (and nothing stored or mailed when they occur)."""
import unittest
import uuid

from iatest import CONTACT_EMAIL, ApiTestCase, db_query, mails, request

CONTACT = "/api/v1/contact/"
OK = {"success": True, "message": "Your message has been sent successfully."}
MESSAGE = "Hello, I would like to know more about the image services you offer. Thanks!"


def form(**kw):
    body = {"name": "Grace Hopper", "email": "grace@example.com",
            "subject": "Question " + uuid.uuid4().hex, "message": MESSAGE, "confirmHuman": True}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not ...}


def stored(subject):
    return db_query("SELECT name, email, subject, message FROM contact_messages WHERE subject = ?",
                    (subject,))


def mailed(subject):
    return [m for m in mails(CONTACT_EMAIL) if subject in str(m["Subject"])]


class ContactTest(ApiTestCase):
    def assertRejected(self, body, expected):
        r = request("POST", CONTACT, body)
        self.assertJsonResponse(r, 400, expected)
        self.assertEqual(stored(body.get("subject", "")), [])
        self.assertEqual(mailed(body["subject"]) if "subject" in body else [], [])

    def test_sent_stored_and_mailed(self):
        body = form()
        r = request("POST", CONTACT, body)
        self.assertJsonResponse(r, 200, OK)
        self.assertEqual(stored(body["subject"]),
                         [("Grace Hopper", "grace@example.com", body["subject"], MESSAGE)])
        [msg] = mailed(body["subject"])
        self.assertIn(CONTACT_EMAIL, str(msg["To"]))
        content = msg.get_content()
        self.assertIn(MESSAGE, content)
        self.assertIn("grace@example.com", content)

    def test_unicode_message(self):
        body = form(name="Zoë Ünïcødé", message="Grüße aus Köln! " * 5, subject="Frage " + uuid.uuid4().hex)
        self.assertJsonResponse(request("POST", CONTACT, body), 200, OK)
        self.assertEqual(stored(body["subject"])[0][0], "Zoë Ünïcødé")
        self.assertEqual(len(mailed(body["subject"])), 1)

    def test_no_login_needed_and_no_trailing_slash(self):
        self.assertJsonResponse(request("POST", CONTACT.rstrip("/"), form()), 200, OK)

    def test_message_too_short(self):
        self.assertRejected(form(message="x" * 49),
                            {"message": ["Ensure this field has at least 50 characters."]})
        self.assertJsonResponse(request("POST", CONTACT, form(message="y" * 50)), 200, OK)

    def test_confirm_human(self):
        for v in (..., False, None, "no"):
            with self.subTest(confirmHuman=v):
                r = request("POST", CONTACT, form(confirmHuman=v))
                body = self.assertJsonResponse(r, 400)
                self.assertEqual(list(body), ["confirmHuman"])
                self.assertIsInstance(body["confirmHuman"], list)

    def test_name_too_long(self):
        self.assertRejected(form(name="n" * 101),
                            {"name": ["Ensure this field has no more than 100 characters."]})
        self.assertJsonResponse(request("POST", CONTACT, form(name="n" * 100)), 200, OK)

    def test_subject_too_long(self):
        body = form(subject="s" * 201)
        self.assertJsonResponse(request("POST", CONTACT, body), 400,
                                {"subject": ["Ensure this field has no more than 200 characters."]})

    def test_bad_email(self):
        self.assertRejected(form(email="not-an-email"), {"email": ["Enter a valid email address."]})

    def test_missing_fields(self):
        r = request("POST", CONTACT, {})
        body = self.assertJsonResponse(r, 400)
        self.assertEqual(set(body), {"name", "email", "subject", "message", "confirmHuman"})
        for field in ("name", "email", "subject", "message"):
            with self.subTest(field=field):
                r = request("POST", CONTACT, form(**{field: ...}))
                self.assertJsonResponse(r, 400, {field: ["This field is required."]})

    def test_header_injection_in_subject(self):
        body = form(subject="Hi\r\nBcc: victim@example.com " + uuid.uuid4().hex)
        r = request("POST", CONTACT, body)
        self.assertIn(r.status, (200, 400), r)
        for m in mails(CONTACT_EMAIL):
            self.assertNotIn("victim@example.com", str(m["Bcc"] or ""))
            self.assertNotIn("victim@example.com", str(m["To"]))


if __name__ == "__main__":
    unittest.main()
