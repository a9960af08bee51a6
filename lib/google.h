/*
 * google.h - the Google side of "Sign in with Google" (API.md "Accounts",
 * google/login): an ID token is verified by asking Google's tokeninfo
 * endpoint (GOOGLE_TOKENINFO_URL) and checking its claims. Mapping the
 * verified address to an account is lib/googlelogin.c.
 */
#ifndef IA_GOOGLE_H
#define IA_GOOGLE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "users.h"

struct settings;

#define GOOGLE_CREDENTIAL_MAX 8192 /* bytes of an ID token we are willing to send */
#define GOOGLE_TIMEOUT        10   /* seconds for the whole tokeninfo request */

/* What a verified ID token says about its holder. */
struct google_identity {
	char email[USER_EMAIL_MAX + 1];
	char first_name[4 * USER_NAME_MAX + 1]; /* given_name, cut to 30 characters */
	char last_name[4 * USER_NAME_MAX + 1];  /* family_name, cut to 30 characters */
};

/*
 * Check tokeninfo claims: aud == client_id (non-empty), iss is
 * accounts.google.com or https://accounts.google.com, exp (number or
 * decimal string) > now, email_verified true or "true", email present
 * and at most 254 bytes. Fills *out and returns 0, else IA_ERR_AUTH.
 */
int google_check_claims(const cJSON *claims, const char *client_id, int64_t now,
			struct google_identity *out);

/*
 * Verify credential: GET {GOOGLE_TOKENINFO_URL}?id_token=<escaped> with a
 * 10 s timeout, require HTTP 200 and google_check_claims. IA_ERR_AUTH for
 * every failure (provider down or slow included, GOOGLE_CLIENT_ID unset,
 * credential empty or over GOOGLE_CREDENTIAL_MAX); the credential is
 * never logged.
 */
int google_verify(const struct settings *s, const char *credential, int64_t now,
		  struct google_identity *out);

#endif
