/*
 * test_jwt.c - unit tests for lib/jwt.c: round trips, every rejection rule,
 * keys of several lengths against HMAC values computed by Python, and tokens
 * made by Python exactly as simplejwt/PyJWT make them (the literals below were
 * produced with python3's hmac, hashlib, base64 and json; see py_make()).
 *
 *   def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
 *   def py_make(key, payload):
 *       h = json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":"),
 *                      sort_keys=True).encode()
 *       p = json.dumps(payload, separators=(",", ":")).encode()
 *       si = b64(h) + "." + b64(p)
 *       return si + "." + b64(hmac.new(key, si.encode(), hashlib.sha256).digest())
 */
#include "config.h"

#include "err.h"
#include "jwt.h"
#include "util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NOW INT64_C(1800000000)
#define FAR INT64_C(4102444800) /* 2100-01-01 */

static const unsigned char key32[32] = "0123456789abcdef0123456789abcdef";

/* 67 bytes: longer than the SHA-256 block, so HMAC hashes it first. */
static const char py_key[] = "django-insecure-n8&k2@q!m9v$w3e^r5t*y(u)i_o+p=a-s~d1f2g3h4j5k6l7z8x";

/* py_make(py_key, {"token_type":"access","exp":4102444800,"iat":1700000000,
 *                  "jti":"0123456789abcdef0123456789abcdef","user_id":42}) */
static const char py_access[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6"
    "IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI6NDJ9."
    "9Pu7vL9J2CSG6Y9Yt83uad9C7XNKJdU-SBWTdvFQcO8";

/* Same with token_type "refresh" and jti "fedcba9876543210fedcba9876543210". */
static const char py_refresh[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6NDEwMjQ0NDgwMCwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiJm"
    "ZWRjYmE5ODc2NTQzMjEwZmVkY2JhOTg3NjU0MzIxMCIsInVzZXJfaWQiOjQyfQ."
    "Z7ACz-6lxyg_q8jeRmWMfEIAlTvQ7J0ID6_wiAApn_4";

/* py_access with bit 0 of signature byte 5 flipped. */
static const char py_flip_sig[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6"
    "IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI6NDJ9."
    "9Pu7vL9I2CSG6Y9Yt83uad9C7XNKJdU-SBWTdvFQcO8";

/* py_access with user_id 43 in the payload and the original signature. */
static const char py_flip_payload[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6"
    "IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI6NDN9."
    "9Pu7vL9J2CSG6Y9Yt83uad9C7XNKJdU-SBWTdvFQcO8";

/* py_make(py_key, access claims above + "ver":0): what jwt_sign must emit. */
static const char py_access_ver0[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6"
    "IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI6NDIsInZlciI6MH0."
    "YHtDeqKVkWpDxxg-sQqeMOKK3RgvCrh49UUWa7RAu2w";

/* ---- helpers ---- */

static char *b64(const void *bin, size_t len)
{
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t cap = sodium_base64_ENCODED_LEN(len, v);
	char *s = xmalloc(cap);

	sodium_bin2base64(s, cap, bin, len, v);
	return s;
}

static char *mac64(const unsigned char *key, size_t keylen, const char *msg)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[32];

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, mac);
	return b64(mac, sizeof(mac));
}

/* A token over arbitrary header/payload text with a correct HS256 MAC. */
static char *forge(const unsigned char *key, size_t keylen, const char *hdr, const char *pay)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(pay, strlen(pay));
	char *si = xasprintf("%s.%s", h, p);
	char *m = mac64(key, keylen, si);
	char *t = xasprintf("%s.%s", si, m);

	free(h);
	free(p);
	free(si);
	free(m);
	return t;
}

static char *forge32(const char *hdr, const char *pay)
{
	return forge(key32, sizeof(key32), hdr, pay);
}

/* A token over already-encoded (possibly malformed) parts, MAC correct. */
static char *forge_raw(const char *h64, const char *p64)
{
	char *si = xasprintf("%s.%s", h64, p64);
	char *m = mac64(key32, sizeof(key32), si);
	char *t = xasprintf("%s.%s", si, m);

	free(si);
	free(m);
	return t;
}

/* The base64url character whose value is c's with bit 0 set. */
static char b64_set_low_bit(char c)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *pos = strchr(alpha, c);

	ck_assert_ptr_nonnull(pos);
	return alpha[(pos - alpha) | 1];
}

/* Decode the payload part of a token into a heap string. */
static char *payload_text(const char *token)
{
	const char *d1 = strchr(token, '.'), *d2 = strrchr(token, '.');
	size_t cap = (size_t)(d2 - d1), n = 0;
	char *out = xmalloc(cap + 1);

	ck_assert_int_eq(sodium_base642bin((unsigned char *)out, cap, d1 + 1, (size_t)(d2 - d1 - 1),
					   NULL, &n, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	out[n] = '\0';
	return out;
}

static const char good_hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static char *good_payload(const char *type, int64_t exp)
{
	return xasprintf("{\"token_type\":\"%s\",\"exp\":%lld,\"iat\":1700000000,"
			 "\"jti\":\"aa\",\"user_id\":5}",
			 type, (long long)exp);
}

/* jwt_verify with key32 and "access"; checks *out is untouched on failure. */
static int verify32(const char *token)
{
	struct jwt_claims c, sentinel;
	int rc;

	memset(&c, 0xA5, sizeof(c));
	sentinel = c;
	rc = jwt_verify(key32, sizeof(key32), token, "access", NOW, &c);
	if (rc != 0)
		ck_assert_mem_eq(&c, &sentinel, sizeof(c));
	return rc;
}

static int verify_payload(const char *pay)
{
	char *t = forge32(good_hdr, pay);
	int rc = verify32(t);

	free(t);
	return rc;
}

static char *sign32(const char *type, int64_t user_id, int64_t ver, int64_t lifetime)
{
	struct jwt_claims c;
	char *t = NULL;

	jwt_claims_init(&c, type, user_id, ver, NOW, lifetime);
	ck_assert_int_eq(jwt_sign(key32, sizeof(key32), &c, &t), 0);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* ---- tests ---- */

START_TEST(test_round_trip)
{
	struct jwt_claims in, out;
	char *t = NULL;

	jwt_claims_init(&in, "access", 1234, 7, NOW, 86400);
	ck_assert_str_eq(in.token_type, "access");
	ck_assert_int_eq(strlen(in.jti), 32);
	ck_assert_int_eq(in.exp, NOW + 86400);
	ck_assert_int_eq(jwt_sign(key32, sizeof(key32), &in, &t), 0);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, "access", NOW, &out), 0);
	ck_assert_str_eq(out.token_type, "access");
	ck_assert_int_eq(out.user_id, 1234);
	ck_assert_int_eq(out.iat, NOW);
	ck_assert_int_eq(out.exp, NOW + 86400);
	ck_assert_int_eq(out.ver, 7);
	ck_assert_str_eq(out.jti, in.jti);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, NULL, NOW, &out), 0);
	free(t);
}
END_TEST

START_TEST(test_fresh_jti_differs)
{
	struct jwt_claims a, b;

	jwt_claims_init(&a, "access", 1, 0, NOW, 60);
	jwt_claims_init(&b, "access", 1, 0, NOW, 60);
	ck_assert_str_ne(a.jti, b.jti);
}
END_TEST

START_TEST(test_tampered_payload)
{
	char *t = sign32("access", 5, 0, 3600);
	char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
	char *p =
	    b64("{\"token_type\":\"access\",\"exp\":4102444800,\"iat\":1,\"user_id\":1}",
		strlen("{\"token_type\":\"access\",\"exp\":4102444800,\"iat\":1,\"user_id\":1}"));
	char *h = xstrndup(t, (size_t)(dot1 - t));
	char *forged = xasprintf("%s.%s%s", h, p, dot2);

	ck_assert_int_eq(verify32(t), 0);
	ck_assert_int_eq(verify32(forged), IA_ERR_AUTH);
	/* one character of the original payload changed */
	dot1[5] = dot1[5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
	free(p);
	free(h);
	free(forged);
}
END_TEST

START_TEST(test_tampered_signature)
{
	char *t = sign32("access", 5, 0, 3600);
	size_t len = strlen(t);
	char *dot2 = strrchr(t, '.');
	char *shorter = xstrndup(t, len - 1);
	char *longer = xasprintf("%sA", t);
	char *nosig = xstrndup(t, (size_t)(dot2 - t) + 1);
	struct jwt_claims c;

	ck_assert_int_eq(verify32(shorter), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(longer), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(nosig), IA_ERR_AUTH);
	dot2[3] = dot2[3] == 'x' ? 'y' : 'x';
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
	t = sign32("access", 5, 0, 3600);
	/* same 32 bytes, but the 2 unused bits of the last character set */
	t[len - 1] = b64_set_low_bit(t[len - 1]);
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
	t = sign32("access", 5, 0, 3600);
	ck_assert_int_eq(jwt_verify((const unsigned char *)"other", 5, t, "access", NOW, &c),
			 IA_ERR_AUTH);
	free(t);
	free(shorter);
	free(longer);
	free(nosig);
}
END_TEST

START_TEST(test_alg_none)
{
	char *pay = good_payload("access", FAR);
	const char *hdr = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
	char *h = b64(hdr, strlen(hdr)), *p = b64(pay, strlen(pay));
	char *empty_sig = xasprintf("%s.%s.", h, p);
	char *fake_sig = xasprintf("%s.%s.%s", h, p, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	char *real_mac = forge32(hdr, pay); /* even a valid HS256 MAC is refused */

	ck_assert_int_eq(verify32(empty_sig), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(fake_sig), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(real_mac), IA_ERR_AUTH);
	free(pay);
	free(h);
	free(p);
	free(empty_sig);
	free(fake_sig);
	free(real_mac);
}
END_TEST

START_TEST(test_alg_other)
{
	static const char *const hdrs[] = {
	    "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
	    "{\"alg\":\"HS256 \",\"typ\":\"JWT\"}",
	    "{\"typ\":\"JWT\"}",
	    "{\"alg\":256,\"typ\":\"JWT\"}",
	    "{\"alg\":null}",
	    "{\"ALG\":\"HS256\"}",
	};
	char *pay = good_payload("access", FAR);
	char *t;
	size_t i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		t = forge32(hdrs[i], pay);
		ck_assert_msg(verify32(t) == IA_ERR_AUTH, "accepted header %s", hdrs[i]);
		free(t);
	}
	t = forge32("{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"x\"}", pay);
	ck_assert_int_eq(verify32(t), 0); /* key order and extra fields are fine */
	free(t);
	free(pay);
}
END_TEST

START_TEST(test_alg_hs512_signature)
{
	const char *hdr = "{\"alg\":\"HS512\",\"typ\":\"JWT\"}";
	char *pay = good_payload("access", FAR);
	char *h = b64(hdr, strlen(hdr)), *p = b64(pay, strlen(pay));
	char *si = xasprintf("%s.%s", h, p);
	unsigned char mac[crypto_auth_hmacsha512_BYTES];
	crypto_auth_hmacsha512_state st;
	char *m, *t;

	crypto_auth_hmacsha512_init(&st, key32, sizeof(key32));
	crypto_auth_hmacsha512_update(&st, (const unsigned char *)si, strlen(si));
	crypto_auth_hmacsha512_final(&st, mac);
	m = b64(mac, sizeof(mac));
	t = xasprintf("%s.%s", si, m);
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(pay);
	free(h);
	free(p);
	free(si);
	free(m);
	free(t);
}
END_TEST

START_TEST(test_wrong_type)
{
	char *r = sign32("refresh", 5, 0, 3600);
	char *a = sign32("access", 5, 0, 3600);
	struct jwt_claims c;

	ck_assert_int_eq(verify32(r), IA_ERR_AUTH);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), r, "refresh", NOW, &c), 0);
	ck_assert_str_eq(c.token_type, "refresh");
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), a, "refresh", NOW, &c), IA_ERR_AUTH);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), r, NULL, NOW, &c), 0);
	free(r);
	free(a);
}
END_TEST

START_TEST(test_token_type_missing_or_bad)
{
	struct jwt_claims c;
	char *t = forge32(good_hdr, "{\"exp\":4102444800,\"user_id\":5}");

	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, NULL, NOW, &c), IA_ERR_AUTH);
	free(t);
	ck_assert_int_eq(verify_payload("{\"token_type\":1,\"exp\":4102444800,\"user_id\":5}"),
			 IA_ERR_AUTH);
	ck_assert_int_eq(verify_payload("{\"token_type\":\"accessaccessaccess\","
					"\"exp\":4102444800,\"user_id\":5}"),
			 IA_ERR_AUTH);
	ck_assert_int_eq(verify_payload("{\"token_type\":\"Access\",\"exp\":4102444800,"
					"\"user_id\":5}"),
			 IA_ERR_AUTH);
}
END_TEST

START_TEST(test_expired)
{
	struct jwt_claims c;
	char *t = sign32("access", 5, 0, 60);

	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, "access", NOW + 59, &c), 0);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, "access", NOW + 60, &c),
			 IA_ERR_EXPIRED);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, "access", NOW + 100000, &c),
			 IA_ERR_EXPIRED);
	/* an expired token with a wrong key is a bad token, not an expired one */
	ck_assert_int_eq(jwt_verify((const unsigned char *)"k", 1, t, "access", NOW + 60, &c),
			 IA_ERR_AUTH);
	free(t);
	t = sign32("access", 5, 0, -1);
	ck_assert_int_eq(verify32(t), IA_ERR_EXPIRED);
	free(t);
}
END_TEST

START_TEST(test_malformed_base64)
{
	/* every token here carries a correct MAC over its text, so only the
	 * decoding can refuse it */
	static const char h64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
	char *pay = good_payload("access", FAR);
	char *p64 = b64(pay, strlen(pay));
	size_t plen = strlen(p64);
	char *parts[12];
	char *t;
	size_t i, n = 0;

	t = forge_raw(h64, p64);
	ck_assert_int_eq(verify32(t), 0);
	free(t);
	ck_assert_uint_ne(plen % 4, 0); /* so the payload has unused bits */
	parts[n++] = xasprintf("%s!", h64);
	parts[n++] = xasprintf("%.4s+%s", h64, h64 + 5); /* standard alphabet */
	parts[n++] = xasprintf("%.4s/%s", h64, h64 + 5);
	parts[n++] = xasprintf("%sA", h64);              /* length 1 mod 4 */
	parts[n++] = xasprintf("%s====", h64);           /* padding */
	parts[n++] = xasprintf("%.4s %s", h64, h64 + 4); /* white space */
	for (i = 0; i < n; i++) {
		t = forge_raw(parts[i], p64);
		ck_assert_msg(verify32(t) == IA_ERR_AUTH, "accepted header %s", parts[i]);
		free(t);
		t = forge_raw(h64, parts[i]); /* the same junk as a payload */
		ck_assert_msg(verify32(t) == IA_ERR_AUTH, "accepted payload %s", parts[i]);
		free(t);
		free(parts[i]);
	}
	t = xstrdup(p64);
	t[plen - 1] = b64_set_low_bit(t[plen - 1]); /* non-canonical last char */
	parts[0] = forge_raw(h64, t);
	ck_assert_int_eq(verify32(parts[0]), IA_ERR_AUTH);
	free(parts[0]);
	free(t);
	t = forge_raw(h64, p64);
	parts[0] = xasprintf("%s=", t); /* padded signature */
	ck_assert_int_eq(verify32(parts[0]), IA_ERR_AUTH);
	free(parts[0]);
	free(t);
	free(p64);
	free(pay);
}
END_TEST

START_TEST(test_not_json)
{
	char *pay = good_payload("access", FAR);
	char *t;

	t = forge32("hello", pay);
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
	t = forge32("[\"HS256\"]", pay);
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
	t = forge32("{\"alg\":\"HS256\"} x", pay);
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
	t = forge32("", pay);
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
	ck_assert_int_eq(verify_payload("not json"), IA_ERR_AUTH);
	ck_assert_int_eq(verify_payload("[1,2]"), IA_ERR_AUTH);
	ck_assert_int_eq(verify_payload("\"access\""), IA_ERR_AUTH);
	ck_assert_int_eq(verify_payload(""), IA_ERR_AUTH);
	ck_assert_int_eq(verify_payload("{\"token_type\":\"access\",\"exp\":4102444800,"
					"\"user_id\":5"),
			 IA_ERR_AUTH);
	ck_assert_int_eq(verify_payload(pay), 0);
	free(pay);
}
END_TEST

START_TEST(test_bad_claims)
{
	static const char *const bad[] = {
	    "{\"token_type\":\"access\",\"exp\":4102444800}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":\"5\"}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5.5}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":null}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":1e300}",
	    "{\"token_type\":\"access\",\"user_id\":5}",
	    "{\"token_type\":\"access\",\"exp\":\"4102444800\",\"user_id\":5}",
	    "{\"token_type\":\"access\",\"exp\":4102444800.5,\"user_id\":5}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5,\"ver\":\"1\"}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5,\"iat\":true}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5,\"jti\":7}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5,\"jti\":\"zz\"}",
	    "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5,\"nbf\":4000000000}",
	};
	struct jwt_claims c;
	char *t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(verify_payload(bad[i]) == IA_ERR_AUTH, "accepted %s", bad[i]);
	/* minimal simplejwt-style payload: ver absent means 0 */
	t = forge32(good_hdr, "{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5}");
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, "access", NOW, &c), 0);
	ck_assert_int_eq(c.ver, 0);
	ck_assert_int_eq(c.iat, 0);
	ck_assert_str_eq(c.jti, "");
	ck_assert_int_eq(c.user_id, 5);
	free(t);
}
END_TEST

START_TEST(test_parts)
{
	char *t = sign32("access", 5, 0, 3600);
	char *dot2 = strrchr(t, '.');
	char *two = xstrndup(t, (size_t)(dot2 - t));
	char *four = xasprintf("%s.", t);
	char *four2 = xasprintf("%s.%s", t, dot2 + 1);

	ck_assert_int_eq(verify32(t), 0);
	ck_assert_int_eq(verify32(two), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(four), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(four2), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(""), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(".."), IA_ERR_AUTH);
	ck_assert_int_eq(verify32("..."), IA_ERR_AUTH);
	ck_assert_int_eq(verify32("abc"), IA_ERR_AUTH);
	ck_assert_int_eq(verify32(NULL), IA_ERR_AUTH);
	free(t);
	free(two);
	free(four);
	free(four2);
}
END_TEST

/* A correctly signed token whose total length is exactly len. */
static char *token_of_len(size_t len)
{
	char *t = NULL;
	size_t pad = len * 3 / 4 - 300; /* a little short of the goal */

	for (;;) {
		char *filler = xmalloc(pad + 1);
		char *pay;

		memset(filler, 'x', pad);
		filler[pad] = '\0';
		pay = xasprintf("{\"token_type\":\"access\",\"exp\":4102444800,\"user_id\":5,"
				"\"pad\":\"%s\"}",
				filler);
		free(filler);
		t = forge32(good_hdr, pay);
		free(pay);
		if (strlen(t) >= len)
			break;
		free(t);
		pad++;
	}
	return t;
}

START_TEST(test_oversized)
{
	char *t;

	t = token_of_len(JWT_MAX_LEN);
	ck_assert_uint_eq(strlen(t), JWT_MAX_LEN);
	ck_assert_int_eq(verify32(t), 0);
	free(t);
	t = token_of_len(JWT_MAX_LEN + 1);
	ck_assert_uint_ge(strlen(t), JWT_MAX_LEN + 1);
	ck_assert_int_eq(verify32(t), IA_ERR_AUTH);
	free(t);
}
END_TEST

/* Signatures Python's hmac computed for key[i] = (i*7+3) & 0xff, claims
 * {"token_type":"access","exp":4102444800,"iat":1700000000,
 *  "jti":"00112233445566778899aabbccddeeff","user_id":7,"ver":0}. */
static const struct {
	size_t keylen;
	const char *sig;
} py_sigs[] = {
    {1, "0p9Jwb8tzCsUs6GbHEln8sB7gL0MJnZBR8TReHYNE_c"},
    {32, "CoDh3SCX3Zl0z4yj4_RXHXZFb4MGyUPeVPOhlRwDXB8"},
    {50, "LVII75cp24Is-tUDI-rd0MNi8BNkFhZEEWPM11sAejc"},
    {200, "IAUaYfEjib0sUAK4ZCMHL8_SHAUcoA2iBylF1o7Nk6k"},
};

START_TEST(test_key_lengths)
{
	unsigned char key[200], other[200];
	size_t n = py_sigs[_i].keylen, k;
	struct jwt_claims in, out;
	char *t = NULL;

	for (k = 0; k < sizeof(key); k++)
		key[k] = (unsigned char)((k * 7 + 3) & 0xff);
	memset(&in, 0, sizeof(in));
	memcpy(in.token_type, "access", 7);
	memcpy(in.jti, "00112233445566778899aabbccddeeff", 33);
	in.exp = FAR;
	in.iat = 1700000000;
	in.user_id = 7;
	ck_assert_int_eq(jwt_sign(key, n, &in, &t), 0);
	ck_assert_str_eq(strrchr(t, '.') + 1, py_sigs[_i].sig);
	ck_assert_int_eq(jwt_verify(key, n, t, "access", NOW, &out), 0);
	ck_assert_int_eq(out.user_id, 7);
	memcpy(other, key, sizeof(other));
	other[n - 1] ^= 1;
	ck_assert_int_eq(jwt_verify(other, n, t, "access", NOW, &out), IA_ERR_AUTH);
	if (n > 1) /* a prefix of the key is another key */
		ck_assert_int_eq(jwt_verify(key, n - 1, t, "access", NOW, &out), IA_ERR_AUTH);
	free(t);
}
END_TEST

START_TEST(test_long_key_is_hashed)
{
	/* RFC 2104: a key longer than the block is replaced by its hash */
	unsigned char key[200], digest[crypto_hash_sha256_BYTES];
	struct jwt_claims c;
	char *t = NULL;
	size_t k;

	for (k = 0; k < sizeof(key); k++)
		key[k] = (unsigned char)k;
	crypto_hash_sha256(digest, key, sizeof(key));
	jwt_claims_init(&c, "access", 9, 0, NOW, 60);
	ck_assert_int_eq(jwt_sign(key, sizeof(key), &c, &t), 0);
	ck_assert_int_eq(jwt_verify(digest, sizeof(digest), t, "access", NOW, &c), 0);
	free(t);
}
END_TEST

START_TEST(test_empty_key)
{
	struct jwt_claims c;
	char *t = NULL;

	jwt_claims_init(&c, "access", 9, 0, NOW, 60);
	ck_assert_int_eq(jwt_sign(key32, 0, &c, &t), IA_ERR_INVAL);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(jwt_verify(key32, 0, py_access, "access", NOW, &c), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_python_tokens)
{
	const unsigned char *k = (const unsigned char *)py_key;
	size_t kl = strlen(py_key);
	struct jwt_claims c;

	ck_assert_int_eq(jwt_verify(k, kl, py_access, "access", NOW, &c), 0);
	ck_assert_str_eq(c.token_type, "access");
	ck_assert_int_eq(c.user_id, 42);
	ck_assert_int_eq(c.exp, FAR);
	ck_assert_int_eq(c.iat, 1700000000);
	ck_assert_str_eq(c.jti, "0123456789abcdef0123456789abcdef");
	ck_assert_int_eq(c.ver, 0);
	ck_assert_int_eq(jwt_verify(k, kl, py_refresh, "refresh", NOW, &c), 0);
	ck_assert_str_eq(c.jti, "fedcba9876543210fedcba9876543210");
	ck_assert_int_eq(jwt_verify(k, kl, py_refresh, "access", NOW, &c), IA_ERR_AUTH);
	ck_assert_int_eq(jwt_verify(k, kl, py_flip_sig, "access", NOW, &c), IA_ERR_AUTH);
	ck_assert_int_eq(jwt_verify(k, kl, py_flip_payload, "access", NOW, &c), IA_ERR_AUTH);
	ck_assert_int_eq(jwt_verify(k, kl - 1, py_access, "access", NOW, &c), IA_ERR_AUTH);
	ck_assert_int_eq(jwt_verify(k, kl, py_access, "access", FAR, &c), IA_ERR_EXPIRED);
}
END_TEST

START_TEST(test_sign_matches_python)
{
	struct jwt_claims c;
	char *t = NULL;

	memset(&c, 0, sizeof(c));
	memcpy(c.token_type, "access", 7);
	memcpy(c.jti, "0123456789abcdef0123456789abcdef", 33);
	c.exp = FAR;
	c.iat = 1700000000;
	c.user_id = 42;
	ck_assert_int_eq(jwt_sign((const unsigned char *)py_key, strlen(py_key), &c, &t), 0);
	ck_assert_str_eq(t, py_access_ver0);
	free(t);
}
END_TEST

START_TEST(test_sign_rejects)
{
	struct jwt_claims c;
	char *t = NULL, *pay;

	jwt_claims_init(&c, "access", 1, 0, NOW, 60);
	c.user_id = INT64_C(1) << 60; /* a JSON double would round it */
	ck_assert_int_eq(jwt_sign(key32, sizeof(key32), &c, &t), IA_ERR_INVAL);
	jwt_claims_init(&c, "", 1, 0, NOW, 60);
	ck_assert_int_eq(jwt_sign(key32, sizeof(key32), &c, &t), IA_ERR_INVAL);
	jwt_claims_init(&c, "access", 1, 0, NOW, 60);
	memcpy(c.jti, "\"}x", 4);
	ck_assert_int_eq(jwt_sign(key32, sizeof(key32), &c, &t), IA_ERR_INVAL);
	ck_assert_ptr_null(t);
	/* large but exact integers survive the round trip */
	jwt_claims_init(&c, "access", INT64_C(9007199254740992), INT64_C(1000000000000000), NOW,
			60);
	ck_assert_int_eq(jwt_sign(key32, sizeof(key32), &c, &t), 0);
	ck_assert_int_eq(jwt_verify(key32, sizeof(key32), t, "access", NOW, &c), 0);
	ck_assert_int_eq(c.user_id, INT64_C(9007199254740992));
	ck_assert_int_eq(c.ver, INT64_C(1000000000000000));
	pay = payload_text(t);
	ck_assert_ptr_nonnull(strstr(pay, "\"user_id\":9007199254740992,"));
	ck_assert_ptr_nonnull(strstr(pay, "\"ver\":1000000000000000}"));
	free(pay);
	free(t);
}
END_TEST

static Suite *jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_fresh_jti_differs);
	tcase_add_test(tc, test_tampered_payload);
	tcase_add_test(tc, test_tampered_signature);
	tcase_add_test(tc, test_alg_none);
	tcase_add_test(tc, test_alg_other);
	tcase_add_test(tc, test_alg_hs512_signature);
	tcase_add_test(tc, test_wrong_type);
	tcase_add_test(tc, test_token_type_missing_or_bad);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_malformed_base64);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_bad_claims);
	tcase_add_test(tc, test_parts);
	tcase_add_test(tc, test_oversized);
	tcase_add_loop_test(tc, test_key_lengths, 0, (int)(sizeof(py_sigs) / sizeof(py_sigs[0])));
	tcase_add_test(tc, test_long_key_is_hashed);
	tcase_add_test(tc, test_empty_key);
	tcase_add_test(tc, test_python_tokens);
	tcase_add_test(tc, test_sign_matches_python);
	tcase_add_test(tc, test_sign_rejects);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(jwt_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
