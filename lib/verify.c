/*
 * verify.c - email verification links. This module implements the token
 * table email_verifications (the same shape and checks as
 * password_resets) and the two steps around it: queueing the mail in the
 * caller's transaction, and consuming a link. Looking a token up by its
 * SHA-256 keeps the check timing-safe, as in resets.c.
 */
#include "config.h"

#include "verify.h"
#include "db.h"
#include "err.h"
#include "outbox.h"
#include "resets.h"
#include "settings.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct verify_row {
	int64_t id;
	int64_t user_id;
	int64_t created;
	bool used;
};

static int verify_find(struct db *db, const char *hash, struct verify_row *row);
static int verify_consume(struct db *db, const struct verify_row *row, int64_t now);
static int verify_state(struct db *db, int64_t user_id, char **email, bool *verified);

int verify_enqueue(struct db *db, const struct settings *s, int64_t user_id, const char *email,
		   int64_t now)
{
	char uid[RESETS_UID_MAX], token[RESETS_TOKEN_LEN + 1], hash[RESETS_HASH_HEX];
	struct db_stmt *st;
	char *body = NULL;
	int rc;

	if (db == NULL || s == NULL || user_id <= 0 || email == NULL)
		return IA_ERR_INVAL;
	resets_link_new(user_id, uid, token, hash);
	rc = db_prepare(db,
			"INSERT INTO email_verifications(user_id, token_hash, created) "
			"VALUES (?, ?, ?)",
			&st);
	if (rc != 0)
		goto out;
	if (db_bind_int64(st, 1, user_id) != 0 || db_bind_text(st, 2, hash) != 0 ||
	    db_bind_int64(st, 3, now) != 0) {
		rc = IA_ERR_DB;
		goto out;
	}
	rc = db_step(st);
	if (rc < 0)
		goto out;
	body = xasprintf("Hello,\n\nPlease confirm that this is your email address by opening "
			 "this link within 3 days:\n\n%s/users/verify/email/%s/%s/\n\n"
			 "If you did not create an Image Assistant account, ignore this "
			 "message.\n",
			 s->public_url, uid, token);
	rc = outbox_enqueue(db, OUTBOX_VERIFY, email, VERIFY_SUBJECT, body, now, NULL);
out:
	sodium_memzero(token, sizeof(token));
	if (body != NULL) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
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
	if (db_bind_int64(st, 1, user_id) != 0)
		return IA_ERR_DB;
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

/* The row holding this token hash; IA_ERR_AUTH when there is none. */
static int verify_find(struct db *db, const char *hash, struct verify_row *row)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db,
			"SELECT id, user_id, created, used IS NOT NULL FROM email_verifications "
			"WHERE token_hash = ?",
			&st);
	if (rc == 0)
		rc = db_bind_text(st, 1, hash);
	if (rc == 0)
		rc = db_step(st);
	if (rc == DB_ROW) {
		row->id = db_column_int64(st, 0);
		row->user_id = db_column_int64(st, 1);
		row->created = db_column_int64(st, 2);
		row->used = db_column_int64(st, 3) != 0;
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = IA_ERR_AUTH;
	}
	db_reset(st);
	return rc;
}

/*
 * Inside BEGIN IMMEDIATE: claim the token (the used IS NULL guard loses
 * cleanly to a concurrent confirm), retire the user's other tokens and
 * mark the address verified.
 */
static int verify_consume(struct db *db, const struct verify_row *row, int64_t now)
{
	struct db_stmt *st;
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = db_prepare(db, "UPDATE email_verifications SET used = ? WHERE id = ? AND used IS NULL",
			&st);
	if (rc != 0)
		goto out;
	if (db_bind_int64(st, 1, now) != 0 || db_bind_int64(st, 2, row->id) != 0) {
		rc = IA_ERR_DB;
		goto out;
	}
	rc = db_step_one(st, IA_ERR_AUTH);
	if (rc != 0)
		goto out;
	rc = db_prepare(
	    db, "UPDATE email_verifications SET used = ? WHERE user_id = ? AND used IS NULL", &st);
	if (rc != 0)
		goto out;
	if (db_bind_int64(st, 1, now) != 0 || db_bind_int64(st, 2, row->user_id) != 0) {
		rc = IA_ERR_DB;
		goto out;
	}
	rc = db_step(st);
	if (rc < 0)
		goto out;
	rc = db_prepare(db, "UPDATE users SET email_verified = 1, updated = ? WHERE id = ?", &st);
	if (rc != 0)
		goto out;
	if (db_bind_int64(st, 1, now) != 0 || db_bind_int64(st, 2, row->user_id) != 0) {
		rc = IA_ERR_DB;
		goto out;
	}
	rc = db_step_one(st, IA_ERR_AUTH);
	if (rc == 0)
		rc = db_commit(db);
out:
	if (rc != 0)
		db_rollback(db);
	return rc;
}

int verify_confirm(struct db *db, const char *uidb64, const char *token, int64_t now)
{
	char hash[RESETS_HASH_HEX];
	struct verify_row row;
	int64_t user_id;
	int rc;

	if (db == NULL)
		return IA_ERR_INVAL;
	if (resets_link_parse(uidb64, token, &user_id, hash) != 0)
		return IA_ERR_AUTH;
	rc = verify_find(db, hash, &row);
	if (rc != 0)
		return rc;
	if (row.user_id != user_id || row.used || row.created < now - VERIFY_LIFETIME)
		return IA_ERR_AUTH;
	return verify_consume(db, &row, now);
}
