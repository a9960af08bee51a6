/*
 * resets.c - password reset tokens: the password_resets table, run
 * through lib/onetime.c (link format, hashing, single use), and the steps
 * around it: queueing a request, writing the mail, and consuming a link
 * to set a new password.
 */
#include "config.h"

#include "resets.h"
#include "db.h"
#include "err.h"
#include "onetime.h"
#include "outbox.h"
#include "password.h"
#include "settings.h"
#include "users.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The INSERT stores nothing for an unknown user (IA_ERR_NOTFOUND). */
static const struct onetime_sql resets_sql = {
    .insert = "INSERT INTO password_resets(user_id, token_hash, created) "
	      "SELECT id, ?2, ?3 FROM users WHERE id = ?1",
    .find = "SELECT id, user_id, created, used IS NOT NULL FROM password_resets "
	    "WHERE token_hash = ?1",
    .claim = "UPDATE password_resets SET used = ?1 WHERE id = ?2 AND used IS NULL",
    .retire = "UPDATE password_resets SET used = ?1 WHERE user_id = ?2 AND used IS NULL",
    .lifetime = RESETS_LIFETIME,
};

static int resets_grant(struct db *db, int64_t user_id, int64_t now, void *ud);

int resets_create(struct db *db, int64_t user_id, int64_t now, char *uid, char *token)
{
	return onetime_create(db, &resets_sql, user_id, now, uid, token);
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

/*
 * What a reset link grants, inside the redeeming transaction: the new
 * password hash (ud) is stored, token_version bumped, and the email
 * marked verified.
 */
static int resets_grant(struct db *db, int64_t user_id, int64_t now, void *ud)
{
	struct db_stmt *st;
	int rc;

	(void)now;
	rc = users_set_password_hash(db, user_id, ud);
	if (rc == IA_ERR_NOTFOUND)
		rc = IA_ERR_AUTH;
	if (rc != 0)
		return rc;
	/* The link came through the mailbox: the address is proven. */
	rc = db_prepare(db, "UPDATE users SET email_verified = 1 WHERE id = ?", &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	return db_step_one(st, IA_ERR_AUTH);
}

/*
 * The token is checked once without the write lock, so the Argon2id hash
 * of the new password (slow) is only computed for a plausible token and
 * never while holding the lock; onetime_redeem then re-checks atomically.
 */
int resets_confirm(struct db *db, const char *uidb64, const char *token, const char *new_password,
		   int64_t now)
{
	char pw_hash[PASSWORD_HASH_MAX];
	struct onetime_row row;
	int rc;

	if (db == NULL || new_password == NULL)
		return IA_ERR_INVAL;
	rc = onetime_check(db, &resets_sql, uidb64, token, now, &row);
	if (rc != 0)
		return rc;
	rc = password_hash(new_password, pw_hash);
	if (rc == 0)
		rc = onetime_redeem(db, &resets_sql, &row, now, resets_grant, pw_hash);
	sodium_memzero(pw_hash, sizeof(pw_hash));
	return rc;
}
