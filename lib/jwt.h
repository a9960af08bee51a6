/*
 * jwt.h - HS256 JSON Web Tokens (RFC 7519, HMAC per RFC 2104) signed with
 * SECRET_KEY, wire-compatible with Django REST framework simplejwt: tokens
 * issued by the original Django service verify here and the reverse.
 *
 * Claims: token_type ("access"|"refresh"), exp, iat, jti (hex), user_id and
 * our own "ver" (the user's token version, bumped on a password change so that
 * older tokens stop being accepted; absent means 0).
 */
#ifndef IA_JWT_H
#define IA_JWT_H

#include <stddef.h>
#include <stdint.h>

struct jwt_claims {
	char token_type[16]; /* "access" or "refresh" */
	int64_t user_id;
	int64_t iat, exp;
	char jti[65]; /* hex, up to 64 chars */
	int64_t ver;  /* "ver" claim, 0 when absent */
};

/* Longest token jwt_verify accepts, in characters. */
#define JWT_MAX_LEN 4096

/*
 * Fill claims for a fresh token: new random 32-hex jti, iat=now,
 * exp=now+lifetime. token_type must not be NULL and should be "access" or
 * "refresh" (longer strings are cut to 15 characters). Everything in *c is
 * overwritten.
 */
void jwt_claims_init(struct jwt_claims *c, const char *token_type, int64_t user_id, int64_t ver,
		     int64_t now, int64_t lifetime);

/*
 * Sign claims with key (keylen > 0 bytes, any length; SECRET_KEY as given).
 * Returns 0 and sets *out to a heap string the caller frees; IA_ERR_INVAL
 * when key is NULL or empty, token_type is empty or unterminated, jti is not
 * hex or a number lies outside +-2^53 (JSON numbers are doubles to a
 * verifier); IA_ERR_UNAVAILABLE if the payload cannot be built (kept for
 * safety: cJSON allocates through xmalloc, which aborts). Claims go out in
 * simplejwt's order (token_type, exp, iat, jti, user_id) followed by ver;
 * jti is omitted when empty. c must not be NULL.
 */
int jwt_sign(const unsigned char *key, size_t keylen, const struct jwt_claims *c, char **out);

/*
 * Verify token with key and decode its claims at time now.
 * Returns IA_ERR_AUTH for: token NULL or longer than JWT_MAX_LEN, not exactly
 * 3 dot-separated parts, bad base64url, header not a JSON object, alg other
 * than exactly "HS256" (incl. "none", "HS512", missing), signature mismatch
 * (compared in constant time), payload not a JSON object, missing or
 * non-integer user_id/exp, token_type missing, not a string, or != expected_type
 * (expected_type may be NULL to accept any type), malformed iat/jti/ver/nbf,
 * nbf in the future. Returns IA_ERR_EXPIRED when everything else holds but
 * exp <= now, IA_ERR_INVAL for an empty key. Writes *out only on success.
 */
int jwt_verify(const unsigned char *key, size_t keylen, const char *token,
	       const char *expected_type, int64_t now, struct jwt_claims *out);

#endif
