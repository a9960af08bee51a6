/*
 * verify.c - email verification links. This module implements the token
 * table email_verifications, run through lib/onetime.c (as password_resets
 * is), and the two steps around it: queueing the mail in the caller's
 * transaction, and consuming a link.
 */
#include "config.h"

#include "verify.h"
#include "db.h"
#include "err.h"
#include "onetime.h"
#include "outbox.h"
#include "settings.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The INSERT refers to users through a foreign key: an unknown user fails. */
static const struct onetime_sql verify_sql = {
    .insert = "INSERT INTO email_verifications(user_id, token_hash, created) "
	      "VALUES (?1, ?2, ?3)",
    .find = "SELECT id, user_id, created, used IS NOT NULL FROM email_verifications "
	    "WHERE token_hash = ?1",
    .claim = "UPDATE email_verifications SET used = ?1 WHERE id = ?2 AND used IS NULL",
    .retire = "UPDATE email_verifications SET used = ?1 WHERE user_id = ?2 AND used IS NULL",
    .lifetime = VERIFY_LIFETIME,
};

static int verify_grant(struct db *db, int64_t user_id, int64_t now, void *ud);
static int verify_state(struct db *db, int64_t user_id, char **email, bool *verified);

int verify_enqueue(struct db *db, const struct settings *s, int64_t user_id, const char *email,
		   int64_t now)
{
	char uid[ONETIME_UID_MAX], token[ONETIME_TOKEN_LEN + 1];
	char *body = NULL;
	int rc;

	if (db == NULL || s == NULL || user_id <= 0 || email == NULL)
		return IA_ERR_INVAL;
	rc = onetime_create(db, &verify_sql, user_id, now, uid, token);
	if (rc != 0)
		goto out;
	body = xasprintf("Hello,\n\nPlease confirm that this is your email address by opening "
			 "this link within 3 days:\n\n%s/users/verify/email/%s/%s/\n\n"
			 "If you did not create an Image Assistant account, ignore this "
			 "message.\n",
			 s->public_url, uid, token);
	rc = outbox_enqueue(db, OUTBOX_VERIFY, email, VERIFY_SUBJECT, body, now, NULL);
out:
	sodium_memzero(token, sizeof(token));
	ia_free_secret(body);
	return rc;
}

int verify_on_signup(struct db *db, int64_t user_id, const char *email, void *ud)
{
	return verify_enqueue(db, ud, user_id, email, ia_now());
}

/* The user's email (heap, caller frees) and whether it is verified. */
static int verify_state(struct db *db, int64_t user_id, char **email, bool *verified)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db, "SELECT email, email_verified FROM users WHERE id = ?", &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*email = xstrdup(db_column_text(st, 0));
		*verified = db_column_int64(st, 1) != 0;
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = IA_ERR_NOTFOUND;
	}
	db_reset(st);
	return rc;
}

int verify_resend(struct db *db, const struct settings *s, int64_t user_id, int64_t now, bool *sent)
{
	char *email = NULL;
	bool verified = false;
	int rc;

	if (db == NULL || s == NULL || sent == NULL)
		return IA_ERR_INVAL;
	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = verify_state(db, user_id, &email, &verified);
	if (rc == 0 && !verified)
		rc = verify_enqueue(db, s, user_id, email, now);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0)
		db_rollback(db);
	else
		*sent = !verified;
	free(email);
	return rc;
}

/* What a verification link grants, inside the redeeming transaction. */
static int verify_grant(struct db *db, int64_t user_id, int64_t now, void *ud)
{
	struct db_stmt *st;
	int rc;

	(void)ud;
	rc = db_prepare(db, "UPDATE users SET email_verified = 1, updated = ? WHERE id = ?", &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, user_id);
	return db_step_one(st, IA_ERR_AUTH);
}

int verify_confirm(struct db *db, const char *uidb64, const char *token, int64_t now)
{
	struct onetime_row row;
	int rc;

	if (db == NULL)
		return IA_ERR_INVAL;
	rc = onetime_check(db, &verify_sql, uidb64, token, now, &row);
	if (rc != 0)
		return rc;
	return onetime_redeem(db, &verify_sql, &row, now, verify_grant, NULL);
}
