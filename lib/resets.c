/*
 * resets.c - password reset tokens. The mail carries uidb64 (Django's
 * urlsafe_base64_encode of the decimal user id, no padding) and 32 random
 * bytes as hex; the table keeps only SHA-256(token) in hex. Looking a token
 * up by its hash is what makes the check timing-safe: the secret itself is
 * never compared byte by byte.
 */
#include "config.h"

#include "resets.h"
#include "db.h"
#include "err.h"
#include "outbox.h"
#include "password.h"
#include "settings.h"
#include "users.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

_Static_assert(RESETS_HASH_HEX == 2 * crypto_hash_sha256_BYTES + 1, "RESETS_HASH_HEX");

struct resets_row {
	int64_t id;
	int64_t user_id;
	int64_t created;
	bool used;
};

static void resets_token_hash(const char *token, char out[RESETS_HASH_HEX]);
static bool resets_token_ok(const char *token);
static int resets_uid_decode(const char *uidb64, int64_t *user_id);
static int resets_find(struct db *db, const char *hash, struct resets_row *row);
static int resets_consume(struct db *db, const struct resets_row *row, const char *pw_hash,
			  int64_t now);

static void resets_token_hash(const char *token, char out[RESETS_HASH_HEX])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, RESETS_HASH_HEX, digest, sizeof(digest));
}

/* Exactly RESETS_TOKEN_LEN lowercase hex characters. */
static bool resets_token_ok(const char *token)
{
	return token != NULL && strlen(token) == RESETS_TOKEN_LEN &&
	       strspn(token, "0123456789abcdef") == RESETS_TOKEN_LEN;
}

/* base64url (no padding) of a positive decimal id -> the id; IA_ERR_AUTH. */
static int resets_uid_decode(const char *uidb64, int64_t *user_id)
{
	char digits[RESETS_UID_MAX];
	size_t len = 0;

	if (uidb64 == NULL || strlen(uidb64) >= RESETS_UID_MAX)
		return IA_ERR_AUTH;
	if (sodium_base642bin((unsigned char *)digits, sizeof(digits) - 1, uidb64, strlen(uidb64),
			      NULL, &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return IA_ERR_AUTH;
	digits[len] = '\0';
	if (strlen(digits) != len || digits[0] == '0' ||
	    ia_parse_int64(digits, 1, INT64_MAX, user_id) != 0)
		return IA_ERR_AUTH;
	return 0;
}

void resets_link_new(int64_t user_id, char uid[RESETS_UID_MAX], char token[RESETS_TOKEN_LEN + 1],
		     char hash[RESETS_HASH_HEX])
{
	char digits[24];

	ia_random_hex(token, RESETS_TOKEN_LEN / 2);
	resets_token_hash(token, hash);
	snprintf(digits, sizeof(digits), "%" PRId64, user_id);
	sodium_bin2base64(uid, RESETS_UID_MAX, (const unsigned char *)digits, strlen(digits),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int resets_link_parse(const char *uidb64, const char *token, int64_t *user_id,
		      char hash[RESETS_HASH_HEX])
{
	int64_t id;

	if (!resets_token_ok(token) || resets_uid_decode(uidb64, &id) != 0)
		return IA_ERR_AUTH;
	resets_token_hash(token, hash);
	*user_id = id;
	return 0;
}

int resets_create(struct db *db, int64_t user_id, int64_t now, char *uid, char *token)
{
	char link_uid[RESETS_UID_MAX];
	char tok[RESETS_TOKEN_LEN + 1];
	char hash[RESETS_HASH_HEX];
	struct db_stmt *st;
	int rc;

	if (db == NULL || user_id <= 0 || uid == NULL || token == NULL)
		return IA_ERR_INVAL;
	resets_link_new(user_id, link_uid, tok, hash);
	rc = db_prepare(db,
			"INSERT INTO password_resets(user_id, token_hash, created) "
			"SELECT id, ?, ? FROM users WHERE id = ?",
			&st);
	if (rc != 0)
		goto out;
	if (db_bind_text(st, 1, hash) != 0 || db_bind_int64(st, 2, now) != 0 ||
	    db_bind_int64(st, 3, user_id) != 0) {
		rc = IA_ERR_DB;
		goto out;
	}
	rc = db_step(st);
	if (rc < 0)
		goto out;
	rc = db_changes(db) == 1 ? 0 : IA_ERR_NOTFOUND;
	if (rc != 0)
		goto out;
	memcpy(uid, link_uid, sizeof(link_uid));
	memcpy(token, tok, sizeof(tok));
out:
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

int resets_request(struct db *db, const char *email, int64_t now)
{
	int rc;

	if (db == NULL || email == NULL)
		return IA_ERR_INVAL;
	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = outbox_enqueue(db, OUTBOX_RESET_REQUEST, email, "", "", now, NULL);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0)
		db_rollback(db);
	return rc;
}

int resets_compose(struct db *db, const struct settings *s, const char *email, int64_t now,
		   char **to_out, char **body_out)
{
	char uid[RESETS_UID_MAX], token[RESETS_TOKEN_LEN + 1];
	struct user u;
	int rc;

	rc = users_get_by_email(db, email, &u);
	if (rc != 0)
		return rc;
	if (!u.has_usable_password || u.banned)
		return IA_ERR_NOTFOUND;
	rc = resets_create(db, u.id, now, uid, token);
	if (rc != 0)
		return rc;
	*body_out = xasprintf("Hello,\n\nSomeone asked to reset the password of your Image "
			      "Assistant account.\nOpen this link within 3 days to choose a new "
			      "password:\n\n%s/users/reset/password/confirm/%s/%s/\n\n"
			      "If it was not you, ignore this message.\n",
			      s->public_url, uid, token);
	*to_out = xstrdup(u.email);
	sodium_memzero(token, sizeof(token));
	return 0;
}

/* The row holding this token hash; IA_ERR_AUTH when there is none. */
static int resets_find(struct db *db, const char *hash, struct resets_row *row)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db,
			"SELECT id, user_id, created, used IS NOT NULL FROM password_resets "
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
 * cleanly to a concurrent confirm), retire the user's other tokens, store
 * the new hash, bump token_version and mark the email verified.
 */
static int resets_consume(struct db *db, const struct resets_row *row, const char *pw_hash,
			  int64_t now)
{
	struct db_stmt *st;
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = db_prepare(db, "UPDATE password_resets SET used = ? WHERE id = ? AND used IS NULL",
			&st);
	if (rc != 0)
		goto out;
	if (db_bind_int64(st, 1, now) != 0 || db_bind_int64(st, 2, row->id) != 0) {
		rc = IA_ERR_DB;
		goto out;
	}
	rc = db_step(st);
	if (rc < 0)
		goto out;
	rc = db_changes(db) == 1 ? 0 : IA_ERR_AUTH;
	if (rc != 0)
		goto out;
	rc = db_prepare(
	    db, "UPDATE password_resets SET used = ? WHERE user_id = ? AND used IS NULL", &st);
	if (rc != 0)
		goto out;
	if (db_bind_int64(st, 1, now) != 0 || db_bind_int64(st, 2, row->user_id) != 0) {
		rc = IA_ERR_DB;
		goto out;
	}
	rc = db_step(st);
	if (rc < 0)
		goto out;
	rc = users_set_password_hash(db, row->user_id, pw_hash);
	if (rc == IA_ERR_NOTFOUND)
		rc = IA_ERR_AUTH;
	if (rc != 0)
		goto out;
	/* The link came through the mailbox: the address is proven. */
	rc = db_prepare(db, "UPDATE users SET email_verified = 1 WHERE id = ?", &st);
	if (rc != 0)
		goto out;
	rc = db_bind_int64(st, 1, row->user_id) == 0 ? db_step_one(st, IA_ERR_AUTH) : IA_ERR_DB;
	if (rc == 0)
		rc = db_commit(db);
out:
	if (rc != 0)
		db_rollback(db);
	return rc;
}

/*
 * The token is checked once without the write lock, so the Argon2id hash
 * of the new password (slow) is only computed for a plausible token and
 * never while holding the lock; resets_consume then re-checks atomically.
 */
int resets_confirm(struct db *db, const char *uidb64, const char *token, const char *new_password,
		   int64_t now)
{
	char hash[RESETS_HASH_HEX];
	char pw_hash[PASSWORD_HASH_MAX];
	struct resets_row row;
	int64_t user_id;
	int rc;

	if (db == NULL || new_password == NULL)
		return IA_ERR_INVAL;
	if (resets_link_parse(uidb64, token, &user_id, hash) != 0)
		return IA_ERR_AUTH;
	rc = resets_find(db, hash, &row);
	if (rc != 0)
		return rc;
	if (row.user_id != user_id || row.used || row.created < now - RESETS_LIFETIME)
		return IA_ERR_AUTH;
	rc = password_hash(new_password, pw_hash);
	if (rc == 0)
		rc = resets_consume(db, &row, pw_hash, now);
	sodium_memzero(pw_hash, sizeof(pw_hash));
	return rc;
}
