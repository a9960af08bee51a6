/*
 * google.h - "Sign in with Google" (API.md "Accounts", google/login): an
 * ID token is verified by asking Google's tokeninfo endpoint
 * (GOOGLE_TOKENINFO_URL) and checking its claims; the verified address is
 * then mapped to an account, created on first login.
 */
#ifndef IA_GOOGLE_H
#define IA_GOOGLE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "users.h"

struct db;
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

/*
 * The account of id->email (case-insensitive), created when absent with an
 * unusable password, a verified email, SIGNUP_CREDITS (signup_bonus
 * ledger row) and the show_credits flag (database writes). An existing
 * account whose email is not verified becomes verified, and loses its
 * password and every earlier token if it had one (users_link_google);
 * *out is read after that. A banned account is returned as is: the caller
 * refuses it. IA_ERR_DB and friends on database failure.
 */
int google_account(struct db *db, const struct settings *s, const struct google_identity *id,
		   struct user *out);

#endif
