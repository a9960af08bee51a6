"""test_proxies.py - throttling keyed on the real client address behind a
reverse proxy (TRUSTED_PROXIES, issue 9 point 4).

The main test stack trusts no proxy: X-Forwarded-For must not move a client
to another bucket. A private stack with TRUSTED_PROXIES=127.0.0.1/32 (and no
SECRET_KEY, so it generates its own as the dev stack does) shows that two
forwarded clients behind the same proxy get separate buckets."""
import http.client
import json
import os
import unittest
import uuid

from iatest import (BUILD, RATE_LIMIT, ApiTestCase, fresh_source, minute_window, request)
from test_stability import PrivateStack

SIGNUP = "/api/v1/users/signup/"
PRIVATE_LIMIT = 3


def doc_address():
    """A client address no other test uses (documentation prefix 2001:db8::/32)."""
    return "2001:db8::%x:%x" % (uuid.uuid4().int & 0xffff, uuid.uuid4().int & 0xffff)


class NoTrustedProxiesTest(ApiTestCase):
    def test_forwarded_for_is_ignored_without_trusted_proxies(self):
        """Without TRUSTED_PROXIES a client cannot pick a fresh bucket per request."""
        if RATE_LIMIT <= 0:
            self.skipTest("throttling is off")
        for attempt in range(2):
            src, start = fresh_source(), minute_window()
            passed = [request("POST", SIGNUP, {"email": "bad"}, source=src,
                              headers={"X-Forwarded-For": doc_address()})
                      for _ in range(RATE_LIMIT)]
            r = request("POST", SIGNUP, {"email": "bad"}, source=src,
                        headers={"X-Forwarded-For": doc_address()})
            if minute_window() == start or attempt == 1:
                break
        self.assertEqual([p.status for p in passed], [400] * RATE_LIMIT)
        self.assertJsonResponse(r, 429)


class TrustedProxiesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = PrivateStack(TRUSTED_PROXIES="127.0.0.1/32, ::1",
                                 RATE_LIMIT_PER_MINUTE=str(PRIVATE_LIMIT), DEV_MODE="1")
        cls.stack.env.pop("SECRET_KEY", None)  # the stack generates one, as `./stack run` does
        cls.stack.start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def hit(self, source="127.0.0.1", xff=None):
        """One cheap signup attempt (400) through the private stack; its status."""
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=30,
                                          source_address=(source, 0))
        headers = {"Content-Type": "application/json"}
        if xff is not None:
            headers["X-Forwarded-For"] = xff
        conn.request("POST", SIGNUP, body=json.dumps({"email": "bad"}).encode(), headers=headers)
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.status

    def within_one_minute(self, fn):
        """Run fn() (a burst of hits) inside one fixed one-minute window."""
        for _ in range(2):
            start = minute_window()
            out = fn()
            if minute_window() == start:
                return out
        self.fail("could not fit the burst into one minute")

    def test_forwarded_clients_get_separate_buckets(self):
        def burst():
            a, b = doc_address(), "198.51.100.%d" % (uuid.uuid4().int % 250 + 1)
            first = [self.hit(xff=a) for _ in range(PRIVATE_LIMIT + 1)]
            other = [self.hit(xff=b) for _ in range(PRIVATE_LIMIT)]
            # a client's forged entry left of the proxy's is not believed
            forged = self.hit(xff="203.0.113.77, " + a)
            return first, other, forged
        first, other, forged = self.within_one_minute(burst)
        self.assertEqual(first, [400] * PRIVATE_LIMIT + [429])
        self.assertEqual(other, [400] * PRIVATE_LIMIT)
        self.assertEqual(forged, 429)

    def test_trusted_hops_are_skipped(self):
        def burst():
            a = doc_address()
            # the proxy we trust is in the chain too: the client is left of it
            return [self.hit(xff="%s, 127.0.0.1" % a) for _ in range(PRIVATE_LIMIT)] + \
                [self.hit(xff=a)]
        self.assertEqual(self.within_one_minute(burst), [400] * PRIVATE_LIMIT + [429])

    def test_untrusted_peer_cannot_choose_its_bucket(self):
        src = fresh_source()  # 127.x.y.z, outside 127.0.0.1/32
        statuses = self.within_one_minute(
            lambda: [self.hit(source=src, xff=doc_address()) for _ in range(PRIVATE_LIMIT + 1)])
        self.assertEqual(statuses, [400] * PRIVATE_LIMIT + [429])

    def test_generated_secret_key_is_long_enough(self):
        with open(os.path.join(self.stack.state, "secret_key")) as f:
            key = f.read().split("SECRET_KEY=", 1)[1].strip()
        self.assertGreaterEqual(len(key.encode()), 32)


if __name__ == "__main__":
    unittest.main()
