/*
 * jwt.c - HS256 JSON Web Tokens compatible with simplejwt/PyJWT.
 *
 * A token is base64url(header) "." base64url(payload) "." base64url(mac),
 * unpadded, where mac = HMAC-SHA256(key, first two parts as they appear in
 * the token). The key may have any length, so the HMAC goes through the
 * init/update/final API (the one-shot crypto_auth_hmacsha256 wants exactly
 * 32 bytes). Verification trusts nothing before the MAC matches and pins the
 * algorithm to HS256, so "alg":"none" and algorithm-confusion tricks fail.
 */
#include "config.h"

#include "jwt.h"
#include "err.h"
#include "util.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

/* Largest integer a JSON double carries exactly (PyJWT parses into Python
 * ints, cJSON into doubles; beyond this the two would disagree). */
#define JWT_INT_LIMIT INT64_C(9007199254740992)

/* Header exactly as PyJWT writes it (sorted keys, compact separators). */
static const char jwt_header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static char *jwt_b64_encode(const unsigned char *bin, size_t len);
static int jwt_b64_decode(const char *s, size_t len, unsigned char *out, size_t outmax,
			  size_t *outlen);
static void jwt_hmac(const unsigned char *key, size_t keylen, const char *msg, size_t len,
		     unsigned char mac[crypto_auth_hmacsha256_BYTES]);
static cJSON *jwt_parse_part(const char *s, size_t len);
static int jwt_check_header(const char *s, size_t len);
static int jwt_check_mac(const unsigned char *key, size_t keylen, const char *token,
			 size_t signed_len, const char *sig, size_t siglen);
static bool jwt_int_ok(double d);
static int jwt_get_int(const cJSON *obj, const char *name, bool required, int64_t *out);
static int jwt_get_str(const cJSON *obj, const char *name, char *out, size_t outsz);
static int jwt_read_claims(const cJSON *payload, int64_t now, struct jwt_claims *c);
static bool jwt_is_hex(const char *s);
static bool jwt_add_int(cJSON *obj, const char *name, int64_t v);
static char *jwt_payload_json(const struct jwt_claims *c);
static bool jwt_range_ok(int64_t v);

void jwt_claims_init(struct jwt_claims *c, const char *token_type, int64_t user_id, int64_t ver,
		     int64_t now, int64_t lifetime)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->token_type, sizeof(c->token_type), "%s", token_type);
	c->user_id = user_id;
	c->iat = now;
	c->exp = now + lifetime;
	ia_random_hex(c->jti, 16);
	c->ver = ver;
}

/* base64url without padding into a fresh heap string. */
static char *jwt_b64_encode(const unsigned char *bin, size_t len)
{
	const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t cap = sodium_base64_ENCODED_LEN(len, variant);
	char *s = xmalloc(cap);

	sodium_bin2base64(s, cap, bin, len, variant);
	return s;
}

/*
 * Decode exactly len chars of unpadded base64url into out (at most outmax
 * bytes). Any character outside the alphabet, padding, a length that is 1
 * mod 4 or non-zero trailing bits fail, so each byte string has one encoding.
 */
static int jwt_b64_decode(const char *s, size_t len, unsigned char *out, size_t outmax,
			  size_t *outlen)
{
	size_t n = 0;

	if (sodium_base642bin(out, outmax, s, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return IA_ERR_AUTH;
	*outlen = n;
	return 0;
}

/* HMAC-SHA256 for a key of any length (RFC 2104 hashes keys over 64 bytes). */
static void jwt_hmac(const unsigned char *key, size_t keylen, const char *msg, size_t len,
		     unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/*
 * Decode one base64url part and parse it as a JSON object. Returns the
 * object (caller deletes) or NULL for bad base64, embedded NUL, bad JSON,
 * trailing junk or a JSON value that is not an object.
 */
static cJSON *jwt_parse_part(const char *s, size_t len)
{
	unsigned char *buf = xmalloc(len + 1);
	cJSON *json = NULL;
	size_t n = 0;

	if (jwt_b64_decode(s, len, buf, len, &n) != 0)
		goto out;
	if (memchr(buf, '\0', n) != NULL)
		goto out;
	buf[n] = '\0';
	json = cJSON_ParseWithOpts((const char *)buf, NULL, 1);
	if (json != NULL && !cJSON_IsObject(json)) {
		cJSON_Delete(json);
		json = NULL;
	}
out:
	free(buf);
	return json;
}

/* The header must be a JSON object whose "alg" is the string "HS256". */
static int jwt_check_header(const char *s, size_t len)
{
	cJSON *hdr = jwt_parse_part(s, len);
	const cJSON *alg;
	int rc = IA_ERR_AUTH;

	if (hdr == NULL)
		goto out;
	alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(hdr);
	return rc;
}

/* Compare the decoded signature with our MAC over token[0..signed_len). */
static int jwt_check_mac(const unsigned char *key, size_t keylen, const char *token,
			 size_t signed_len, const char *sig, size_t siglen)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	unsigned char got[crypto_auth_hmacsha256_BYTES];
	size_t n = 0;
	int rc = IA_ERR_AUTH;

	if (jwt_b64_decode(sig, siglen, got, sizeof(got), &n) != 0 || n != sizeof(got))
		goto out;
	jwt_hmac(key, keylen, token, signed_len, mac);
	if (crypto_verify_32(mac, got) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(mac, sizeof(mac));
	return rc;
}

/* True for an integral double that converts to int64_t without loss. */
static bool jwt_int_ok(double d)
{
	if (!(d >= (double)-JWT_INT_LIMIT && d <= (double)JWT_INT_LIMIT)) /* and NaN */
		return false;
	return (double)(int64_t)d == d;
}

/*
 * Read integer claim name into *out. A missing claim is IA_ERR_AUTH when
 * required and leaves *out alone otherwise; a present claim must be an
 * integral JSON number.
 */
static int jwt_get_int(const cJSON *obj, const char *name, bool required, int64_t *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (item == NULL)
		return required ? IA_ERR_AUTH : 0;
	if (!cJSON_IsNumber(item) || !jwt_int_ok(item->valuedouble))
		return IA_ERR_AUTH;
	*out = (int64_t)item->valuedouble;
	return 0;
}

/*
 * Copy string claim name into out[outsz]. Missing leaves out alone and
 * returns 0; a non-string or one that does not fit is IA_ERR_AUTH.
 */
static int jwt_get_str(const cJSON *obj, const char *name, char *out, size_t outsz)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t len;

	if (item == NULL)
		return 0;
	if (!cJSON_IsString(item))
		return IA_ERR_AUTH;
	len = strlen(item->valuestring);
	if (len >= outsz)
		return IA_ERR_AUTH;
	memcpy(out, item->valuestring, len + 1);
	return 0;
}

static bool jwt_is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

/* Pull the claims we know out of a verified payload (expiry not checked). */
static int jwt_read_claims(const cJSON *payload, int64_t now, struct jwt_claims *c)
{
	int64_t nbf = 0;

	memset(c, 0, sizeof(*c));
	if (jwt_get_int(payload, "user_id", true, &c->user_id) != 0 ||
	    jwt_get_int(payload, "exp", true, &c->exp) != 0 ||
	    jwt_get_int(payload, "iat", false, &c->iat) != 0 ||
	    jwt_get_int(payload, "ver", false, &c->ver) != 0 ||
	    jwt_get_int(payload, "nbf", false, &nbf) != 0)
		return IA_ERR_AUTH;
	if (nbf > now) /* PyJWT honours nbf; so do we */
		return IA_ERR_AUTH;
	if (jwt_get_str(payload, "jti", c->jti, sizeof(c->jti)) != 0 || !jwt_is_hex(c->jti))
		return IA_ERR_AUTH;
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(payload, "token_type")) ||
	    jwt_get_str(payload, "token_type", c->token_type, sizeof(c->token_type)) != 0)
		return IA_ERR_AUTH;
	return 0;
}

/*
 * Add an integer claim printed exactly ("%" PRId64): cJSON would print
 * numbers from 1e15 on in exponent form, which Python reads as a float.
 */
static bool jwt_add_int(cJSON *obj, const char *name, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_AddRawToObject(obj, name, buf) != NULL;
}

/*
 * Serialise claims in simplejwt's order (token_type, exp, iat, jti, user_id)
 * plus ver, compact like PyJWT. Returns a heap string the caller frees, or
 * NULL when cJSON fails to allocate.
 */
static char *jwt_payload_json(const struct jwt_claims *c)
{
	cJSON *obj = cJSON_CreateObject();
	char *json = NULL;
	bool ok = obj != NULL;

	ok = ok && cJSON_AddStringToObject(obj, "token_type", c->token_type) != NULL;
	ok = ok && jwt_add_int(obj, "exp", c->exp);
	ok = ok && jwt_add_int(obj, "iat", c->iat);
	if (c->jti[0] != '\0')
		ok = ok && cJSON_AddStringToObject(obj, "jti", c->jti) != NULL;
	ok = ok && jwt_add_int(obj, "user_id", c->user_id);
	ok = ok && jwt_add_int(obj, "ver", c->ver);
	if (ok)
		json = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return json;
}

/* True when v survives the trip through a JSON double on the verifying side. */
static bool jwt_range_ok(int64_t v)
{
	return v >= -JWT_INT_LIMIT && v <= JWT_INT_LIMIT;
}

int jwt_sign(const unsigned char *key, size_t keylen, const struct jwt_claims *c, char **out)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char *pjson = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *signing = NULL;
	int rc = IA_ERR_INVAL;

	if (key == NULL || keylen == 0 || c->token_type[0] == '\0' ||
	    memchr(c->token_type, '\0', sizeof(c->token_type)) == NULL ||
	    memchr(c->jti, '\0', sizeof(c->jti)) == NULL || !jwt_is_hex(c->jti))
		goto out;
	if (!jwt_range_ok(c->exp) || !jwt_range_ok(c->iat) || !jwt_range_ok(c->user_id) ||
	    !jwt_range_ok(c->ver))
		goto out;
	pjson = jwt_payload_json(c);
	if (pjson == NULL) {
		rc = IA_ERR_UNAVAILABLE;
		goto out;
	}
	h64 = jwt_b64_encode((const unsigned char *)jwt_header_json, strlen(jwt_header_json));
	p64 = jwt_b64_encode((const unsigned char *)pjson, strlen(pjson));
	signing = xasprintf("%s.%s", h64, p64);
	jwt_hmac(key, keylen, signing, strlen(signing), mac);
	s64 = jwt_b64_encode(mac, sizeof(mac));
	*out = xasprintf("%s.%s", signing, s64);
	rc = 0;
out:
	sodium_memzero(mac, sizeof(mac));
	free(pjson);
	free(h64);
	free(p64);
	free(s64);
	free(signing);
	return rc;
}

int jwt_verify(const unsigned char *key, size_t keylen, const char *token,
	       const char *expected_type, int64_t now, struct jwt_claims *out)
{
	struct jwt_claims c;
	cJSON *payload = NULL;
	const char *dot1, *dot2;
	size_t len;
	int rc = IA_ERR_INVAL;

	if (key == NULL || keylen == 0)
		goto out;
	rc = IA_ERR_AUTH;
	if (token == NULL)
		goto out;
	len = strnlen(token, JWT_MAX_LEN + 1);
	if (len > JWT_MAX_LEN)
		goto out;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		goto out;
	if (jwt_check_header(token, (size_t)(dot1 - token)) != 0)
		goto out;
	if (jwt_check_mac(key, keylen, token, (size_t)(dot2 - token), dot2 + 1,
			  len - (size_t)(dot2 + 1 - token)) != 0)
		goto out;
	payload = jwt_parse_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (payload == NULL || jwt_read_claims(payload, now, &c) != 0)
		goto out;
	if (expected_type != NULL && strcmp(c.token_type, expected_type) != 0)
		goto out;
	if (c.exp <= now) {
		rc = IA_ERR_EXPIRED;
		goto out;
	}
	*out = c;
	rc = 0;
out:
	cJSON_Delete(payload);
	return rc;
}
