/*
 * onetime.c - one-time mailed link tokens. This module implements what
 * password resets and email verification share: making and parsing the
 * link, storing a token's hash, finding and checking it, and claiming it
 * once. Each caller brings the constant statements of its own table
 * (struct onetime_sql) and does the rest of its transaction itself.
 */
#include "config.h"

#include "onetime.h"
#include "db.h"
#include "err.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

_Static_assert(ONETIME_HASH_HEX == 2 * crypto_hash_sha256_BYTES + 1, "ONETIME_HASH_HEX");

static void onetime_token_hash(const char *token, char out[ONETIME_HASH_HEX]);
static bool onetime_token_ok(const char *token);
static int onetime_uid_decode(const char *uidb64, int64_t *user_id);
static int onetime_find(struct db *db, const struct onetime_sql *sql, const char *hash,
			struct onetime_row *row, bool *used);
static int onetime_mark(struct db *db, const char *stmt, int64_t now, int64_t id, int none_rc);
static int onetime_claim(struct db *db, const struct onetime_sql *sql,
			 const struct onetime_row *row, int64_t now);

static void onetime_token_hash(const char *token, char out[ONETIME_HASH_HEX])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, ONETIME_HASH_HEX, digest, sizeof(digest));
}

/* Exactly ONETIME_TOKEN_LEN lowercase hex characters. */
static bool onetime_token_ok(const char *token)
{
	return token != NULL && strlen(token) == ONETIME_TOKEN_LEN &&
	       strspn(token, "0123456789abcdef") == ONETIME_TOKEN_LEN;
}

/* base64url (no padding) of a positive decimal id -> the id; IA_ERR_AUTH. */
static int onetime_uid_decode(const char *uidb64, int64_t *user_id)
{
	char digits[ONETIME_UID_MAX];
	size_t len = 0;

	if (uidb64 == NULL || strlen(uidb64) >= ONETIME_UID_MAX)
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

void onetime_link_new(int64_t user_id, char uid[ONETIME_UID_MAX], char token[ONETIME_TOKEN_LEN + 1],
		      char hash[ONETIME_HASH_HEX])
{
	char digits[24];

	ia_random_hex(token, ONETIME_TOKEN_LEN / 2);
	onetime_token_hash(token, hash);
	snprintf(digits, sizeof(digits), "%" PRId64, user_id);
	sodium_bin2base64(uid, ONETIME_UID_MAX, (const unsigned char *)digits, strlen(digits),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int onetime_link_parse(const char *uidb64, const char *token, int64_t *user_id,
		       char hash[ONETIME_HASH_HEX])
{
	int64_t id;

	if (!onetime_token_ok(token) || onetime_uid_decode(uidb64, &id) != 0)
		return IA_ERR_AUTH;
	onetime_token_hash(token, hash);
	*user_id = id;
	return 0;
}

int onetime_create(struct db *db, const struct onetime_sql *sql, int64_t user_id, int64_t now,
		   char uid[ONETIME_UID_MAX], char token[ONETIME_TOKEN_LEN + 1])
{
	char link_uid[ONETIME_UID_MAX];
	char tok[ONETIME_TOKEN_LEN + 1];
	char hash[ONETIME_HASH_HEX];
	struct db_stmt *st;
	int rc;

	if (db == NULL || sql == NULL || user_id <= 0 || uid == NULL || token == NULL)
		return IA_ERR_INVAL;
	onetime_link_new(user_id, link_uid, tok, hash);
	rc = db_prepare(db, sql->insert, &st);
	if (rc != 0)
		goto out;
	db_bind_int64(st, 1, user_id);
	db_bind_text(st, 2, hash);
	db_bind_int64(st, 3, now);
	rc = db_step_one(st, IA_ERR_NOTFOUND);
	if (rc != 0)
		goto out;
	memcpy(uid, link_uid, sizeof(link_uid));
	memcpy(token, tok, sizeof(tok));
out:
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

/* The row holding this token hash; IA_ERR_AUTH when there is none. */
static int onetime_find(struct db *db, const struct onetime_sql *sql, const char *hash,
			struct onetime_row *row, bool *used)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db, sql->find, &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, hash);
	if (rc == 0)
		rc = db_step(st);
	if (rc == DB_ROW) {
		row->id = db_column_int64(st, 0);
		row->user_id = db_column_int64(st, 1);
		row->created = db_column_int64(st, 2);
		*used = db_column_int64(st, 3) != 0;
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = IA_ERR_AUTH;
	}
	db_reset(st);
	return rc;
}

int onetime_check(struct db *db, const struct onetime_sql *sql, const char *uidb64,
		  const char *token, int64_t now, struct onetime_row *row)
{
	char hash[ONETIME_HASH_HEX];
	struct onetime_row found;
	int64_t user_id;
	bool used = false;
	int rc;

	if (db == NULL || sql == NULL || row == NULL)
		return IA_ERR_INVAL;
	if (onetime_link_parse(uidb64, token, &user_id, hash) != 0)
		return IA_ERR_AUTH;
	rc = onetime_find(db, sql, hash, &found, &used);
	if (rc != 0)
		return rc;
	if (found.user_id != user_id || used || found.created < now - sql->lifetime)
		return IA_ERR_AUTH;
	*row = found;
	return 0;
}

/* Step stmt (SET used = ?1 WHERE <key> = ?2 AND used IS NULL) once. */
static int onetime_mark(struct db *db, const char *stmt, int64_t now, int64_t id, int none_rc)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db, stmt, &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, id);
	return db_step_one(st, none_rc);
}

/* Inside the transaction: mark row's token used, retire the user's others. */
static int onetime_claim(struct db *db, const struct onetime_sql *sql,
			 const struct onetime_row *row, int64_t now)
{
	int rc = onetime_mark(db, sql->claim, now, row->id, IA_ERR_AUTH);

	if (rc != 0)
		return rc;
	/* Any number of other open tokens (none too) is fine: none_rc 0. */
	return onetime_mark(db, sql->retire, now, row->user_id, 0);
}

int onetime_redeem(struct db *db, const struct onetime_sql *sql, const struct onetime_row *row,
		   int64_t now, onetime_grant_fn grant, void *ud)
{
	int rc;

	if (db == NULL || sql == NULL || row == NULL)
		return IA_ERR_INVAL;
	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = onetime_claim(db, sql, row, now);
	if (rc == 0 && grant != NULL)
		rc = grant(db, row->user_id, now, ud);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0)
		db_rollback(db);
	return rc;
}
