/*
 * resets.h - single-use password reset tokens, valid for 3 days. Only a
 * SHA-256 of the token is stored; the token itself goes into the mail.
 *
 * A reset request (POST /users/change/password/) only queues an outbox
 * row of kind OUTBOX_RESET_REQUEST with the address typed, the same write
 * whether or not the account exists, so the reply cannot tell them apart
 * (not even by its time). ia-batch then calls resets_compose: the token is
 * made and the mail written there, or the request is dropped.
 *
 * The link format (uidb64 + token, stored as a hash) and the token checks
 * are shared with email verification (lib/verify.c) through lib/onetime.c.
 */
#ifndef IA_RESETS_H
#define IA_RESETS_H

#include <stdint.h>

#include "onetime.h"

struct db;

#define RESETS_LIFETIME  (3 * 24 * 3600)
#define RESETS_TOKEN_LEN ONETIME_TOKEN_LEN /* hex chars */
#define RESETS_UID_MAX   ONETIME_UID_MAX
#define RESETS_HASH_HEX  ONETIME_HASH_HEX

struct settings;

/*
 * Queue a reset request for email as typed, in its own BEGIN IMMEDIATE
 * transaction: one outbox row, the same work whether or not an account
 * exists (see above). 0, or a database error.
 */
int resets_request(struct db *db, const char *email, int64_t now);

/*
 * The reset mail for the account of email (case-insensitive) when it is
 * active and has a usable password: a new token is stored (database
 * write; run it inside the caller's transaction) and *to_out (the stored
 * address) and *body_out (holding the link {PUBLIC_URL}/users/reset/
 * password/confirm/<uidb64>/<token>/) are the caller's to free.
 * IA_ERR_NOTFOUND when no mail must go (no such account, Google-only,
 * banned). The subject is RESETS_SUBJECT.
 */
#define RESETS_SUBJECT "Reset your Image Assistant password"
int resets_compose(struct db *db, const struct settings *s, const char *email, int64_t now,
		   char **to_out, char **body_out);

/*
 * Create a token for user_id. Writes the uidb64 (base64url of the decimal
 * id, as Django does) into uid[RESETS_UID_MAX] and the token into
 * token[RESETS_TOKEN_LEN + 1].
 */
int resets_create(struct db *db, int64_t user_id, int64_t now, char *uid, char *token);

/*
 * Consume a token and set the new password in one transaction (marking the
 * token used, bumping the user's token version, and marking the email
 * verified: the link was read from that mailbox). IA_ERR_AUTH for an
 * unknown, used, mismatched or expired token.
 */
int resets_confirm(struct db *db, const char *uidb64, const char *token, const char *new_password,
		   int64_t now);

#endif
