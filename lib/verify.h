/*
 * verify.h - email verification (API.md "Accounts"): a single-use link
 * {PUBLIC_URL}/users/verify/email/<uidb64>/<token>/, valid for 3 days,
 * mailed through the outbox at signup and on request; confirming it sets
 * users.email_verified. Tokens are made and checked like password reset
 * tokens (lib/onetime.c): only a hash is stored.
 */
#ifndef IA_VERIFY_H
#define IA_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct settings;

#define VERIFY_LIFETIME (3 * 24 * 3600)
#define VERIFY_SUBJECT  "Verify your Image Assistant email address"

/*
 * Store a new token for user_id and queue the verification mail to email
 * (outbox_enqueue). No transaction of its own: run it inside the one that
 * created the user or asked for the mail. Database writes only.
 */
int verify_enqueue(struct db *db, const struct settings *s, int64_t user_id, const char *email,
		   int64_t now);

/*
 * The users_create hook (struct user_new.in_tx) of a password signup:
 * verify_enqueue with ud, the struct settings, and the time now.
 */
int verify_on_signup(struct db *db, int64_t user_id, const char *email, void *ud);

/*
 * Queue a new verification mail for user_id, in its own BEGIN IMMEDIATE
 * transaction, unless the address is already verified (then nothing is
 * written and *sent is false). IA_ERR_NOTFOUND for an unknown user.
 */
int verify_resend(struct db *db, const struct settings *s, int64_t user_id, int64_t now,
		  bool *sent);

/*
 * Consume a link: the token must exist, belong to the uidb64's user, be
 * unused and younger than VERIFY_LIFETIME. In one transaction marks it
 * (and the user's other open tokens) used and the user verified.
 * IA_ERR_AUTH for every kind of bad link.
 */
int verify_confirm(struct db *db, const char *uidb64, const char *token, int64_t now);

#endif
