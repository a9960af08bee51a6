/*
 * resets.h - single-use password reset tokens, valid for 3 days. Only a
 * SHA-256 of the token is stored; the token itself goes into the mail.
 */
#ifndef IA_RESETS_H
#define IA_RESETS_H

#include <stdint.h>

struct db;

#define RESETS_LIFETIME  (3 * 24 * 3600)
#define RESETS_TOKEN_LEN 64 /* hex chars */
#define RESETS_UID_MAX   32

/*
 * Create a token for user_id. Writes the uidb64 (base64url of the decimal
 * id, as Django does) into uid[RESETS_UID_MAX] and the token into
 * token[RESETS_TOKEN_LEN + 1].
 */
int resets_create(struct db *db, int64_t user_id, int64_t now, char *uid, char *token);

/*
 * Consume a token and set the new password in one transaction (marking the
 * token used and bumping the user's token version). IA_ERR_AUTH for an
 * unknown, used, mismatched or expired token.
 */
int resets_confirm(struct db *db, const char *uidb64, const char *token, const char *new_password,
		   int64_t now);

#endif
