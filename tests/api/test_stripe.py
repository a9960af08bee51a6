"""test_stripe.py - API.md "Payments (Stripe)" against the real stack and the
local Stripe fake (tests/api/fakes/stripe.py): the PaymentIntent request as
Stripe receives it, amount limits, provider failures, and the webhook as the
only way bought credits arrive (signature, tolerance, replays)."""
import hashlib
import hmac
import json
import os
import time
import unittest
import urllib.request
import uuid

from iatest import ApiTestCase, STATE, request

FAKE = os.environ.get("FAKE_STRIPE_URL")
WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
MULTIPLIER = int(os.environ.get("CREDIT_MULTIPLIER", "50"))
INTENT = "/api/v1/stripe/payment/create-intent/"
WEBHOOK = "/api/v1/stripe/webhook/"


def fake(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(FAKE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def sign(body, t=None, secret=None):
    t = int(time.time()) if t is None else t
    secret = WEBHOOK_SECRET if secret is None else secret
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def succeeded_event(user_id, amount_received, intent=None, event_id=None):
    return json.dumps({
        "id": event_id or "evt_" + uuid.uuid4().hex,
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {
            "id": intent or "pi_" + uuid.uuid4().hex,
            "object": "payment_intent",
            "amount": amount_received,
            "amount_received": amount_received,
            "currency": "usd",
            "metadata": {"user_id": str(user_id), "credit_amount": "0"},
        }},
    }).encode()


def webhook(body, signature="sign", **kw):
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        signature = sign(body, **kw)
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return request("POST", WEBHOOK, raw=body, headers=headers)


@unittest.skipUnless(FAKE, "the Stripe fake is not running (run through run-api.sh)")
class StripeTestCase(ApiTestCase):
    def setUp(self):
        fake("POST", "/_mode", {"mode": "ok"})
        fake("DELETE", "/_requests")

    def tearDown(self):
        fake("POST", "/_mode", {"mode": "ok"})

    def buyer(self):
        email, _, access, _ = self.new_user()
        info = self.user_info(access)
        return email, access, info

    def history(self, access):
        r = request("GET", "/api/v1/credits/history/?page_size=50", token=access)
        self.assertJsonResponse(r, 200)
        return r.json["results"]


class CreateIntentTest(StripeTestCase):
    def test_intent_request_field_by_field(self):
        email, access, info = self.buyer()
        r = request("POST", INTENT, {"amount": 25}, token=access)
        body = self.assertJsonResponse(r, 200)
        self.assertEqual(list(body), ["client_secret"])
        self.assertRegex(body["client_secret"], r"^pi_[0-9a-f]+_secret_[0-9a-f]+$")
        reqs = fake("GET", "/_requests")
        self.assertEqual(len(reqs), 1)
        got = reqs[0]
        self.assertEqual(got["path"], "/v1/payment_intents")
        self.assertEqual(got["headers"].get("Authorization"), "Bearer " + SECRET_KEY)
        self.assertRegex(got["headers"].get("Idempotency-Key", ""), r"^[0-9a-f]{32}$")
        self.assertTrue(got["headers"].get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"))
        self.assertEqual(got["form"], {
            "amount": "2500",
            "currency": "usd",
            "receipt_email": email,
            "metadata[user_id]": str(info["id"]),
            "metadata[credit_amount]": "1250",
            "automatic_payment_methods[enabled]": "true",
        })
        # a second request gets its own idempotency key
        self.assertJsonResponse(request("POST", INTENT, {"amount": 25}, token=access), 200)
        keys = {q["headers"]["Idempotency-Key"] for q in fake("GET", "/_requests")}
        self.assertEqual(len(keys), 2)
        # creating an intent grants nothing
        self.assertEqual(self.user_info(access)["credits"], info["credits"])

    def test_decimal_amounts_in_cents(self):
        _, access, _ = self.buyer()
        for amount, cents, credits in ((19.99, "1999", "999"), ("10.5", "1050", "525"),
                                       ("1000.00", "100000", "50000"), (10, "1000", "500")):
            fake("DELETE", "/_requests")
            r = request("POST", INTENT, {"amount": amount}, token=access)
            self.assertJsonResponse(r, 200)
            form = fake("GET", "/_requests")[0]["form"]
            self.assertEqual((form["amount"], form["metadata[credit_amount]"]), (cents, credits),
                             amount)

    def test_limits(self):
        _, access, _ = self.buyer()
        for amount in (9.99, 0, -50, "9.99"):
            r = request("POST", INTENT, {"amount": amount}, token=access)
            self.assertJsonResponse(r, 400, {"error": "Minimum amount is $10.00"})
        for amount in (1000.01, 5000, "1000.01"):
            r = request("POST", INTENT, {"amount": amount}, token=access)
            self.assertJsonResponse(r, 400, {"error": "Maximum amount is $1000.00"})
        for body in ({}, {"amount": "ten"}, {"amount": None}, {"amount": 25.555}, {"amount": [25]},
                     {"amount": True}):
            r = request("POST", INTENT, body, token=access)
            self.assertJsonResponse(r, 400, {"amount": ["A valid number is required."]})
        self.assertEqual(fake("GET", "/_requests"), [])

    def test_requires_auth(self):
        r = request("POST", INTENT, {"amount": 25})
        self.assertJsonResponse(r, 401, self.NO_CREDENTIALS)
        self.assertEqual(fake("GET", "/_requests"), [])

    def test_provider_failures_are_502(self):
        _, access, _ = self.buyer()
        for mode in ({"mode": "error", "status": 500}, {"mode": "error", "status": 402},
                     {"mode": "drop"}, {"mode": "no_secret"}):
            fake("POST", "/_mode", mode)
            r = request("POST", INTENT, {"amount": 25}, token=access)
            self.assertJsonResponse(r, 502, {"error": "Payment provider unavailable"})
            self.assertNotIn(SECRET_KEY.encode(), r.body)


class WebhookTest(StripeTestCase):
    def test_grant_once(self):
        _, access, info = self.buyer()
        before = info["credits"]
        intent = "pi_" + uuid.uuid4().hex
        event = succeeded_event(info["id"], 2599, intent=intent)
        r = webhook(event)
        self.assertJsonResponse(r, 200, {"received": True})
        self.assertEqual(self.user_info(access)["credits"], before + 1299)
        rows = [h for h in self.history(access) if h.get("reason") == "purchase"]
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["delta"], 1299)
        self.assertEqual(rows[0]["balance_after"], before + 1299)
        # the same event again (a Stripe retry), freshly signed
        self.assertJsonResponse(webhook(event), 200, {"received": True})
        # another event id for the same payment intent
        other = succeeded_event(info["id"], 2599, intent=intent)
        self.assertJsonResponse(webhook(other), 200, {"received": True})
        self.assertEqual(self.user_info(access)["credits"], before + 1299)
        self.assertEqual(len([h for h in self.history(access) if h.get("reason") == "purchase"]), 1)

    def test_formula(self):
        _, access, info = self.buyer()
        before = info["credits"]
        for cents in (1000, 1001, 4999, 100000):
            self.assertJsonResponse(webhook(succeeded_event(info["id"], cents)), 200)
            before += cents * MULTIPLIER // 100
            self.assertEqual(self.user_info(access)["credits"], before, cents)

    def test_multiple_v1_signatures(self):
        _, access, info = self.buyer()
        before = info["credits"]
        event = succeeded_event(info["id"], 1000)
        t = int(time.time())
        good = sign(event, t=t).split(",")[1]
        bad = sign(event, t=t, secret="whsec_rotated_old").split(",")[1]
        r = webhook(event, signature="t=%d,%s,%s" % (t, bad, good))
        self.assertJsonResponse(r, 200, {"received": True})
        self.assertEqual(self.user_info(access)["credits"], before + 500)

    def test_rejected_events_change_nothing(self):
        _, access, info = self.buyer()
        before = info["credits"]
        event = succeeded_event(info["id"], 5000)
        now = int(time.time())
        cases = [
            ("missing header", webhook(event, signature=None)),
            ("empty header", webhook(event, signature="")),
            ("wrong secret", webhook(event, secret="whsec_wrong")),
            ("tampered body", request("POST", WEBHOOK, raw=event.replace(b"5000", b"9000"),
                                      headers={"Stripe-Signature": sign(event)})),
            ("stale timestamp", webhook(event, t=now - 301 - 5)),
            ("future timestamp", webhook(event, t=now + 301 + 5)),
            ("malformed header", webhook(event, signature="v1=abc")),
            ("garbage header", webhook(event, signature="hello")),
        ]
        for name, r in cases:
            self.assertJsonResponse(r, 400)
            self.assertIn("error", r.json, name)
            self.assertNotIn(WEBHOOK_SECRET.encode(), r.body)
        self.assertEqual(cases[4][1].json, {"error": "Signature timestamp outside the tolerance zone"})
        self.assertEqual(cases[2][1].json, {"error": "Invalid signature"})
        # correctly signed, but not an event
        for raw in (b"not json at all", b"[1,2]", b'{"type": "payment_intent.succeeded"}',
                    json.dumps({"id": "evt_x", "type": "payment_intent.succeeded",
                                "data": {"object": {"id": "pi_x", "amount_received": 5000}}}).encode()):
            self.assertJsonResponse(webhook(raw), 400, {"error": "Invalid payload"})
        self.assertEqual(self.user_info(access)["credits"], before)
        self.assertEqual([h for h in self.history(access) if h.get("reason") == "purchase"], [])

    def test_ignored_event_types_and_unknown_user(self):
        _, access, info = self.buyer()
        before = info["credits"]
        for kind in ("payment_intent.created", "payment_intent.payment_failed", "charge.succeeded"):
            body = json.loads(succeeded_event(info["id"], 5000))
            body["type"] = kind
            raw = json.dumps(body).encode()
            self.assertJsonResponse(webhook(raw), 200, {"received": True})
        unknown = succeeded_event(10 ** 9, 5000)
        self.assertJsonResponse(webhook(unknown), 200, {"received": True})
        self.assertEqual(self.user_info(access)["credits"], before)

    def test_body_bound(self):
        raw = b'{"id": "evt_big", "type": "x", "pad": "' + b"a" * (70 * 1024) + b'"}'
        r = webhook(raw)
        self.assertJsonResponse(r, 413, {"detail": "Request body too large."})

    def test_no_user_endpoint_adds_credits(self):
        """The original's users/add/credits/ answers its client's success
        path (200 with the balance) but grants nothing; nothing else exists."""
        _, access, info = self.buyer()
        r = request("POST", "/api/v1/users/add/credits/", {"credits": 1000, "amount": 1000},
                    token=access)
        self.assertJsonResponse(r, 200, {"detail": "Credits added successfully.",
                                         "credits": info["credits"]})
        r = request("POST", "/api/v1/stripe/add/credits/", {"credits": 1000, "amount": 1000},
                    token=access)
        self.assertIn(r.status, (404, 405), r)
        self.assertEqual(self.user_info(access)["credits"], info["credits"])


class SecretsNotLoggedTest(StripeTestCase):
    def test_zz_secrets_not_in_logs(self):
        """Runs after the other Stripe tests of this module (alphabetical)."""
        _, access, _ = self.buyer()
        fake("POST", "/_mode", {"mode": "error", "status": 401})
        request("POST", INTENT, {"amount": 25}, token=access)
        webhook(succeeded_event(1, 1000), secret="whsec_wrong")
        logdir = os.path.join(STATE, "log")
        for d, _, names in os.walk(logdir):  # log/root too: nginx's and the supervisor's
            for name in names:
                with open(os.path.join(d, name), "rb") as f:
                    text = f.read()
                for secret in (SECRET_KEY, WEBHOOK_SECRET):
                    self.assertNotIn(secret.encode(), text, "%s leaks a secret" % name)


if __name__ == "__main__":
    unittest.main()
