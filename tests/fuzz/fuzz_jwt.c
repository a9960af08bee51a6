/*
 * fuzz_jwt.c - libFuzzer target for jwt_verify (lib/jwt.c).
 *
 * A random token almost never carries a valid MAC, and jwt_verify trusts
 * nothing before the MAC matches, so most of its parser would stay out of
 * reach. Byte 0 therefore picks the mode:
 *   even: the rest is a token, verified as it is;
 *   odd:  the rest is "<header JSON>\n<payload JSON>"; the harness
 *         base64url-encodes both and signs them with the key, so the
 *         claim parsing behind the MAC is exercised.
 * A token that verifies must carry claims that jwt_sign accepts and that
 * survive a sign + verify round trip unchanged.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FUZZ_NOW 1700000000

static const unsigned char fuzz_key[] = "fuzz-secret-key-of-some-length";

static char *fuzz_b64(const unsigned char *bin, size_t len)
{
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t cap = sodium_base64_ENCODED_LEN(len, v);
	char *s = malloc(cap);

	if (s == NULL)
		abort();
	sodium_bin2base64(s, cap, bin, len, v);
	return s;
}

/* "<b64 header>.<b64 payload>.<b64 HMAC>" made from header and payload text. */
static char *fuzz_signed_token(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : 0;
	const uint8_t *payload = nl ? nl + 1 : data;
	size_t plen = nl ? size - hlen - 1 : size;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char *h64, *p64, *s64, *tok;
	size_t n;

	h64 =
	    nl ? fuzz_b64(data, hlen) : fuzz_b64((const unsigned char *)"{\"alg\":\"HS256\"}", 15);
	p64 = fuzz_b64(payload, plen);
	n = strlen(h64) + strlen(p64) + 2 + sodium_base64_ENCODED_LEN(sizeof(mac), 7);
	tok = malloc(n);
	if (tok == NULL)
		abort();
	snprintf(tok, n, "%s.%s", h64, p64);
	crypto_auth_hmacsha256_init(&st, fuzz_key, sizeof(fuzz_key) - 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, strlen(tok));
	crypto_auth_hmacsha256_final(&st, mac);
	s64 = fuzz_b64(mac, sizeof(mac));
	snprintf(tok + strlen(tok), n - strlen(tok), ".%s", s64);
	free(h64);
	free(p64);
	free(s64);
	return tok;
}

/* A verified token's claims must round-trip through jwt_sign. */
static void fuzz_round_trip(const struct jwt_claims *c)
{
	struct jwt_claims again;
	char *tok = NULL;

	if (jwt_sign(fuzz_key, sizeof(fuzz_key) - 1, c, &tok) != 0)
		return; /* e.g. a value beyond 2^53: sign refuses, fine */
	if (jwt_verify(fuzz_key, sizeof(fuzz_key) - 1, tok, NULL, FUZZ_NOW, &again) != 0)
		abort();
	if (again.user_id != c->user_id || again.exp != c->exp || again.iat != c->iat ||
	    again.ver != c->ver || strcmp(again.jti, c->jti) != 0 ||
	    strcmp(again.token_type, c->token_type) != 0)
		abort();
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_claims c;
	char *tok;
	int rc;

	if (size == 0 || size > 3 * JWT_MAX_LEN)
		return 0;
	if (data[0] & 1)
		tok = fuzz_signed_token(data + 1, size - 1);
	else
		tok = fuzz_cstr(data + 1, size - 1);
	memset(&c, 0, sizeof(c));
	rc = jwt_verify(fuzz_key, sizeof(fuzz_key) - 1, tok, (data[0] & 2) ? "access" : NULL,
			FUZZ_NOW, &c);
	if (rc == 0) {
		if (c.exp <= FUZZ_NOW || memchr(c.jti, '\0', sizeof(c.jti)) == NULL ||
		    memchr(c.token_type, '\0', sizeof(c.token_type)) == NULL)
			abort();
		fuzz_round_trip(&c);
	} else if (rc != IA_ERR_AUTH && rc != IA_ERR_EXPIRED) {
		abort();
	}
	free(tok);
	return 0;
}
