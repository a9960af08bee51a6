/*
 * users.c - the users table: creation (row, signup bonus and flag in one
 * transaction), lookups, authentication, password changes, staff bits and
 * bans. Credits are never written here: the bonus goes through
 * credits_apply_in_tx so it gets its ledger row.
 *
 * Emails are stored lower-cased (ASCII) and the column is COLLATE NOCASE,
 * so lookups are case-insensitive whatever a caller passes.
 */
#include "config.h"

#include "users.h"
#include "credits.h"
#include "db.h"
#include "err.h"
#include "flags.h"
#include "log.h"
#include "password.h"
#include "text.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define USERS_COLUMNS                                                                              \
	"id, email, first_name, last_name, credits, is_staff, is_superuser, banned, "              \
	"password_hash, token_version, created, email_verified"

static const char users_sql_by_id[] = "SELECT " USERS_COLUMNS " FROM users WHERE id = ?";
static const char users_sql_by_email[] = "SELECT " USERS_COLUMNS " FROM users WHERE email = ?";
static const char users_sql_all[] = "SELECT " USERS_COLUMNS " FROM users ORDER BY id";

static void users_copy(char *dst, size_t size, const char *src);
static void users_read_row(struct db_stmt *st, struct user *u, char *hash, size_t hash_size);
static int users_get_row(struct db *db, const char *sql, int64_t id, const char *email,
			 struct user *out, char *hash, size_t hash_size);
static size_t users_utf8_len(const char *s);
static int users_check_new(const struct user_new *nu);
static int users_insert(struct db *db, const struct user_new *nu, const char *email,
			const char *hash, int64_t *id_out);
static int users_dummy_hash(const char **out);
static void users_rehash(struct db *db, int64_t id, const char *password);

/* Bounded copy that always terminates; NULL copies as "". */
static void users_copy(char *dst, size_t size, const char *src)
{
	size_t n = src == NULL ? 0 : strnlen(src, size - 1);

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Fill *u (and the stored hash, when hash is not NULL) from a USERS_COLUMNS row. */
static void users_read_row(struct db_stmt *st, struct user *u, char *hash, size_t hash_size)
{
	const char *h = db_column_text(st, 8);

	memset(u, 0, sizeof(*u));
	u->id = db_column_int64(st, 0);
	users_copy(u->email, sizeof(u->email), db_column_text(st, 1));
	users_copy(u->first_name, sizeof(u->first_name), db_column_text(st, 2));
	users_copy(u->last_name, sizeof(u->last_name), db_column_text(st, 3));
	u->credits = db_column_int64(st, 4);
	u->is_staff = db_column_int64(st, 5) != 0;
	u->is_superuser = db_column_int64(st, 6) != 0;
	u->banned = db_column_int64(st, 7) != 0;
	u->has_usable_password = h != NULL && h[0] != '\0' && h[0] != PASSWORD_UNUSABLE[0];
	u->token_version = db_column_int64(st, 9);
	u->created = db_column_int64(st, 10);
	u->email_verified = db_column_int64(st, 11) != 0;
	if (hash != NULL)
		users_copy(hash, hash_size, h);
}

/* One row by id (email NULL) or by email; IA_ERR_NOTFOUND when absent. */
static int users_get_row(struct db *db, const char *sql, int64_t id, const char *email,
			 struct user *out, char *hash, size_t hash_size)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db, sql, &st);
	if (rc != 0)
		return rc;
	if (email != NULL)
		db_bind_text(st, 1, email);
	else
		db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		users_read_row(st, out, hash, hash_size);
		rc = 0;
	} else if (rc == DB_DONE) {
		rc = IA_ERR_NOTFOUND;
	}
	db_reset(st);
	return rc;
}

int users_get(struct db *db, int64_t id, struct user *out)
{
	return users_get_row(db, users_sql_by_id, id, NULL, out, NULL, 0);
}

int users_get_by_email(struct db *db, const char *email, struct user *out)
{
	if (email == NULL)
		return IA_ERR_INVAL;
	return users_get_row(db, users_sql_by_email, 0, email, out, NULL, 0);
}

/* Number of UTF-8 code points (continuation bytes are not counted). */
static size_t users_utf8_len(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int users_check_new(const struct user_new *nu)
{
	size_t len;

	if (nu == NULL || nu->email == NULL || nu->signup_credits < 0)
		return IA_ERR_INVAL;
	len = strlen(nu->email);
	if (len == 0 || len > USER_EMAIL_MAX || strchr(nu->email, '@') == NULL)
		return IA_ERR_INVAL;
	if (users_utf8_len(nu->first_name) > USER_NAME_MAX ||
	    users_utf8_len(nu->last_name) > USER_NAME_MAX)
		return IA_ERR_INVAL;
	if ((nu->first_name != NULL && strlen(nu->first_name) > 4 * USER_NAME_MAX) ||
	    (nu->last_name != NULL && strlen(nu->last_name) > 4 * USER_NAME_MAX))
		return IA_ERR_INVAL;
	/* API.md's text rules hold whoever creates the account (signup, Google,
	 * iactl): no control character ever reaches an admin's terminal. */
	if (text_check(nu->email, false, NULL) != 0 ||
	    (nu->first_name != NULL && text_check(nu->first_name, false, NULL) != 0) ||
	    (nu->last_name != NULL && text_check(nu->last_name, false, NULL) != 0))
		return IA_ERR_INVAL;
	return 0;
}

/* The INSERT itself; runs inside users_create's transaction. */
static int users_insert(struct db *db, const struct user_new *nu, const char *email,
			const char *hash, int64_t *id_out)
{
	struct db_stmt *st;
	int64_t now = ia_now();
	int rc;

	rc = db_prepare(db,
			"INSERT INTO users(email, password_hash, first_name, last_name, is_staff, "
			"is_superuser, created, updated, email_verified) "
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			&st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, email);
	db_bind_text(st, 2, hash);
	db_bind_text(st, 3, nu->first_name != NULL ? nu->first_name : "");
	db_bind_text(st, 4, nu->last_name != NULL ? nu->last_name : "");
	db_bind_int64(st, 5, nu->is_staff);
	db_bind_int64(st, 6, nu->is_superuser);
	db_bind_int64(st, 7, now);
	db_bind_int64(st, 8, now);
	db_bind_int64(st, 9, nu->email_verified);
	return db_step_insert(st, id_out);
}

int users_create(struct db *db, const struct user_new *nu, int64_t *id_out)
{
	char hash[PASSWORD_HASH_MAX];
	char *email = NULL;
	int64_t id = 0;
	bool in_tx = false;
	int rc;

	rc = users_check_new(nu);
	if (rc != 0)
		return rc;
	if (nu->password != NULL)
		rc = password_hash(nu->password, hash);
	else
		users_copy(hash, sizeof(hash), PASSWORD_UNUSABLE);
	if (rc != 0)
		goto out;
	email = xstrdup(nu->email);
	ia_ascii_lower(email);
	rc = db_begin(db);
	if (rc != 0)
		goto out;
	in_tx = true;
	rc = users_insert(db, nu, email, hash, &id);
	if (rc == 0 && nu->signup_credits > 0)
		rc = credits_apply_in_tx(db, id, nu->signup_credits, CREDITS_SIGNUP, 0, NULL, NULL);
	if (rc == 0 && nu->show_credits_flag)
		rc = flags_assign(db, "show_credits", id);
	if (rc == 0 && nu->in_tx != NULL)
		rc = nu->in_tx(db, id, email, nu->in_tx_ud);
	if (rc == 0)
		rc = db_commit(db);
out:
	if (rc != 0 && in_tx)
		db_rollback(db);
	if (rc == 0 && id_out != NULL)
		*id_out = id;
	sodium_memzero(hash, sizeof(hash));
	free(email);
	return rc;
}

/*
 * A real Argon2id hash of a random password, made once per process, so an
 * unknown email costs one full verify just like a known one.
 */
static int users_dummy_hash(const char **out)
{
	static char dummy[PASSWORD_HASH_MAX];
	static bool ready;
	char pw[33];
	int rc;

	if (!ready) {
		ia_random_hex(pw, 16);
		rc = password_hash(pw, dummy);
		sodium_memzero(pw, sizeof(pw));
		if (rc != 0)
			return rc;
		ready = true;
	}
	*out = dummy;
	return 0;
}

/* Best effort: store a hash at today's cost; a failure only costs a log line. */
static void users_rehash(struct db *db, int64_t id, const char *password)
{
	char hash[PASSWORD_HASH_MAX];
	struct db_stmt *st;
	int rc;

	if (password_hash(password, hash) != 0)
		return;
	rc = db_prepare(db, "UPDATE users SET password_hash = ? WHERE id = ?", &st);
	if (rc == 0) {
		db_bind_text(st, 1, hash);
		db_bind_int64(st, 2, id);
		rc = db_step_count(st, NULL);
	}
	if (rc == 0)
		log_info("users: rehashed password of user %lld", (long long)id);
	else
		log_warn("users: could not rehash password of user %lld", (long long)id);
	sodium_memzero(hash, sizeof(hash));
}

int users_authenticate(struct db *db, const char *email, const char *password, struct user *out)
{
	char hash[PASSWORD_HASH_MAX] = "";
	const char *dummy;
	struct user u;
	int rc;

	if (email == NULL || password == NULL)
		return IA_ERR_AUTH;
	rc = users_dummy_hash(&dummy);
	if (rc != 0)
		return rc;
	rc = users_get_row(db, users_sql_by_email, 0, email, &u, hash, sizeof(hash));
	if (rc == IA_ERR_NOTFOUND) {
		(void)password_verify(dummy, password);
		return IA_ERR_AUTH;
	}
	if (rc != 0)
		return rc;
	rc = password_verify(hash, password);
	if (rc == 0 && password_needs_rehash(hash))
		users_rehash(db, u.id, password);
	sodium_memzero(hash, sizeof(hash));
	if (rc != 0)
		return IA_ERR_AUTH;
	*out = u;
	return 0;
}

int users_set_password_hash(struct db *db, int64_t id, const char *hash)
{
	struct db_stmt *st;
	int rc;

	if (hash == NULL)
		return IA_ERR_INVAL;
	rc = db_prepare(db,
			"UPDATE users SET password_hash = ?, token_version = token_version + 1, "
			"updated = ? WHERE id = ?",
			&st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, hash);
	db_bind_int64(st, 2, ia_now());
	db_bind_int64(st, 3, id);
	return db_step_one(st, IA_ERR_NOTFOUND);
}

int users_set_password(struct db *db, int64_t id, const char *password)
{
	char hash[PASSWORD_HASH_MAX];
	int rc;

	if (password == NULL)
		return IA_ERR_INVAL;
	rc = password_hash(password, hash);
	if (rc == 0)
		rc = users_set_password_hash(db, id, hash);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int users_link_google(struct db *db, int64_t id)
{
	struct db_stmt *st;
	int rc;

	/* In SET, password_hash reads the old value in every expression. An
	 * unusable hash starts with '!' (ours and Django's). */
	rc = db_prepare(db,
			"UPDATE users SET token_version = token_version + "
			"CASE WHEN substr(password_hash, 1, 1) IN ('', '!') THEN 0 ELSE 1 END, "
			"password_hash = '" PASSWORD_UNUSABLE "', email_verified = 1, updated = ? "
			"WHERE id = ? AND email_verified = 0",
			&st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, ia_now());
	db_bind_int64(st, 2, id);
	return db_step_one(st, 0); /* 0 rows: verified already, nothing to do */
}

int users_set_ban(struct db *db, int64_t id, bool banned, const char *reason)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db, "UPDATE users SET banned = ?, ban_reason = ?, updated = ? WHERE id = ?",
			&st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, banned);
	db_bind_text(st, 2, banned ? reason : NULL);
	db_bind_int64(st, 3, ia_now());
	db_bind_int64(st, 4, id);
	return db_step_one(st, IA_ERR_NOTFOUND);
}

int users_set_staff(struct db *db, int64_t id, bool is_staff, bool is_superuser)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(
	    db, "UPDATE users SET is_staff = ?, is_superuser = ?, updated = ? WHERE id = ?", &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, is_staff);
	db_bind_int64(st, 2, is_superuser);
	db_bind_int64(st, 3, ia_now());
	db_bind_int64(st, 4, id);
	return db_step_one(st, IA_ERR_NOTFOUND);
}

/*
 * The statement stays open while fn runs: fn may read other tables and
 * call users_get, but must not call users_each itself (db.h caching rule).
 */
int users_each(struct db *db, int (*fn)(void *ud, const struct user *u), void *ud)
{
	struct db_stmt *st;
	struct user u;
	int rc;

	rc = db_prepare(db, users_sql_all, &st);
	if (rc != 0)
		return rc;
	for (;;) {
		rc = db_step(st);
		if (rc != DB_ROW)
			break;
		users_read_row(st, &u, NULL, 0);
		rc = fn(ud, &u);
		if (rc != 0)
			break;
	}
	db_reset(st);
	return rc; /* DB_DONE is 0 */
}
