"""test_tokens.py - refresh, and what /user/info accepts as an access token:
tampered, alg none, expired, wrong type, simplejwt-made and revoked tokens."""
import time
import unittest
import uuid

from iatest import (SECRET_KEY, ApiTestCase, b64url, jwt_claims, make_jwt, request,
                    reset_link, simplejwt_token)

REFRESH = "/api/v1/token/refresh/"
REFRESH_INVALID = {"detail": "Token is invalid or expired", "code": "token_not_valid"}


class RefreshTest(ApiTestCase):
    def setUp(self):
        self.email, self.password, self.access, self.refresh = self.new_user()

    def test_refresh_gives_working_access(self):
        r = request("POST", REFRESH, {"refresh": self.refresh})
        body = self.assertJsonResponse(r, 200)
        self.assertEqual(list(body), ["access"])
        self.assertEqual(jwt_claims(body["access"])["token_type"], "access")
        self.assertEqual(self.user_info(body["access"])["email"], self.email)

    def test_refresh_without_trailing_slash(self):
        r = request("POST", REFRESH.rstrip("/"), {"refresh": self.refresh})
        self.assertJsonResponse(r, 200)

    def test_missing_refresh(self):
        for body in ({}, {"refresh": None}):
            with self.subTest(body=body):
                r = request("POST", REFRESH, body)
                self.assertJsonResponse(r, 400, {"refresh": ["This field is required."]})

    def test_garbage_refresh(self):
        for bad in ("garbage", "a.b.c", "x" * 5000, 12345, self.refresh + "x"):
            with self.subTest(refresh=bad):
                r = request("POST", REFRESH, {"refresh": bad})
                self.assertJsonResponse(r, 401, REFRESH_INVALID)
        # DRF answers these with a 400 field error, a 401 is as good
        for bad in ("", ["x"], {"a": 1}):
            with self.subTest(refresh=bad):
                r = request("POST", REFRESH, {"refresh": bad})
                self.assertJsonResponse(r, r.status)
                self.assertIn(r.status, (400, 401), r)

    def test_access_token_as_refresh(self):
        r = request("POST", REFRESH, {"refresh": self.access})
        self.assertJsonResponse(r, 401, REFRESH_INVALID)

    def test_expired_refresh(self):
        uid = self.user_info(self.access)["id"]
        now = int(time.time())
        tok = simplejwt_token(uid, "refresh", lifetime=-60, now=now - 3600)
        r = request("POST", REFRESH, {"refresh": tok})
        self.assertJsonResponse(r, 401, REFRESH_INVALID)

    def test_simplejwt_refresh_token_is_accepted(self):
        uid = self.user_info(self.access)["id"]
        r = request("POST", REFRESH, {"refresh": simplejwt_token(uid, "refresh")})
        body = self.assertJsonResponse(r, 200)
        self.user_info(body["access"])


class AccessTokenTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        email, password = "tok-%s@example.com" % uuid.uuid4().hex[:12], "token test password"
        assert request("POST", "/api/v1/users/signup/", {"email": email, "password": password}).status == 201
        r = request("POST", "/api/v1/token/obtain/", {"email": email, "password": password})
        cls.email, cls.access, cls.refresh = email, r.json["access"], r.json["refresh"]
        cls.uid = request("GET", "/api/v1/user/info/", token=cls.access).json["id"]

    def test_issued_claims_are_simplejwt_like(self):
        claims = jwt_claims(self.access)
        for k in ("token_type", "exp", "iat", "jti", "user_id"):
            self.assertIn(k, claims)
        self.assertEqual(claims["token_type"], "access")
        self.assertEqual(claims["user_id"], self.uid)
        self.assertGreater(claims["exp"], time.time())
        self.assertEqual(jwt_claims(self.refresh)["token_type"], "refresh")

    def test_refresh_token_as_access(self):
        self.assertTokenRejected(self.refresh)

    def test_tampered_payload(self):
        head, payload, sig = self.access.split(".")
        claims = jwt_claims(self.access)
        claims["user_id"] = self.uid + 1
        forged = ".".join((head, b64url(
            __import__("json").dumps(claims, separators=(",", ":"))), sig))
        self.assertTokenRejected(forged)

    def test_tampered_signature(self):
        head, payload, sig = self.access.split(".")
        flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
        self.assertTokenRejected(".".join((head, payload, flipped)))
        self.assertTokenRejected(".".join((head, payload, "")))
        self.assertTokenRejected(".".join((head, payload)))
        self.assertTokenRejected(self.access + "x")

    def test_alg_none(self):
        claims = {"token_type": "access", "exp": int(time.time()) + 3600, "iat": int(time.time()),
                  "jti": uuid.uuid4().hex, "user_id": self.uid}
        for alg in ("none", "None", "NONE"):
            tok = make_jwt(claims, header={"alg": alg, "typ": "JWT"})
            with self.subTest(alg=alg):
                self.assertTokenRejected(tok)
                self.assertTokenRejected(tok.rstrip(".") + "." + self.access.split(".")[2])

    def test_other_algorithms(self):
        claims = jwt_claims(self.access)
        # HS512-labelled header but an HS256 MAC: the algorithm is pinned
        self.assertTokenRejected(make_jwt(claims, header={"alg": "HS512", "typ": "JWT"}))
        self.assertTokenRejected(make_jwt(claims, header={"alg": "RS256", "typ": "JWT"}))

    def test_wrong_key(self):
        self.assertTokenRejected(make_jwt(jwt_claims(self.access), key=SECRET_KEY + "x"))

    def test_expired(self):
        now = int(time.time())
        tok = simplejwt_token(self.uid, "access", lifetime=3600, now=now - 7200)
        self.assertTokenRejected(tok)

    def test_simplejwt_access_token_works(self):
        """A token signed exactly as the original Django service's simplejwt
        signed it (HS256, no "ver") keeps working."""
        tok = simplejwt_token(self.uid)
        self.assertNotIn("ver", jwt_claims(tok))
        info = self.user_info(tok)
        self.assertEqual(info["id"], self.uid)
        self.assertEqual(info["email"], self.email)

    def test_unknown_user(self):
        self.assertTokenRejected(simplejwt_token(2 ** 31))
        self.assertTokenRejected(simplejwt_token(0))
        self.assertTokenRejected(simplejwt_token(-1))

    def test_bad_claims(self):
        now = int(time.time())
        base = {"token_type": "access", "exp": now + 3600, "iat": now,
                "jti": uuid.uuid4().hex, "user_id": self.uid}
        variants = [
            {k: v for k, v in base.items() if k != "exp"},
            {k: v for k, v in base.items() if k != "user_id"},
            {k: v for k, v in base.items() if k != "token_type"},
            dict(base, token_type="refresh"),
            dict(base, token_type="Access"),
            dict(base, user_id=str(self.uid) + "x"),
            dict(base, user_id=2 ** 70),
            dict(base, exp="never"),
            dict(base, exp=1e300),
            dict(base, nbf=now + 3600),
        ]
        for claims in variants:
            with self.subTest(claims=claims):
                self.assertTokenRejected(make_jwt(claims))

    def test_token_in_lowercase_scheme(self):
        r = request("GET", "/api/v1/user/info/", headers={"Authorization": "bearer " + self.access})
        self.assertJsonResponse(r, 401)


class RevocationTest(ApiTestCase):
    def test_password_reset_revokes_older_tokens(self):
        email, password, access, refresh = self.new_user()
        self.user_info(access)
        r = request("POST", "/api/v1/users/change/password/", {"email": email})
        self.assertJsonResponse(r, 200)
        uid, token = reset_link(email)
        r = request("POST", "/api/v1/users/password/reset/confirm/",
                    {"uidb64": uid, "token": token, "new_password": "brand new password"})
        self.assertJsonResponse(r, 200, {"detail": "Password reset successfully."})
        self.assertTokenRejected(access)
        r = request("POST", REFRESH, {"refresh": refresh})
        self.assertJsonResponse(r, 401, REFRESH_INVALID)
        # tokens issued after the change work
        fresh = self.login(email, "brand new password")
        self.user_info(fresh["access"])
        r = request("POST", REFRESH, {"refresh": fresh["refresh"]})
        self.user_info(self.assertJsonResponse(r, 200)["access"])


if __name__ == "__main__":
    unittest.main()
