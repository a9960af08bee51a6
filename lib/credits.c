/*
 * credits.c - the only writer of users.credits. Every change is one guarded
 * UPDATE (the balance can never go below zero, whatever runs concurrently)
 * plus one credit_ledger row carrying the new balance, inside a SAVEPOINT
 * so a failed apply leaves the caller's transaction exactly as it was.
 */
#include "config.h"

#include "credits.h"
#include "db.h"
#include "err.h"
#include "util.h"

#include <string.h>

static int credits_update(struct db *db, int64_t user_id, int64_t delta, int64_t *balance);
static int credits_ledger_insert(struct db *db, int64_t user_id, int64_t delta, int64_t balance,
				 const char *reason, int64_t image_id, const char *ref);
static void credits_copy(char *dst, size_t size, const char *src);

/*
 * Guarded balance change. IA_ERR_FUNDS when delta would take the balance
 * below zero, IA_ERR_NOTFOUND when there is no such user; writes the new
 * balance to *balance.
 */
static int credits_update(struct db *db, int64_t user_id, int64_t delta, int64_t *balance)
{
	struct db_stmt *st;
	int64_t changed = 0;
	int rc;

	rc = db_prepare(db,
			"UPDATE users SET credits = credits + ?1, updated = ?3 "
			"WHERE id = ?2 AND credits + ?1 >= 0",
			&st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, delta);
	db_bind_int64(st, 2, user_id);
	db_bind_int64(st, 3, ia_now());
	rc = db_step_count(st, &changed);
	if (rc != 0)
		return rc;
	rc = db_prepare(db, "SELECT credits FROM users WHERE id = ?", &st);
	if (rc == 0)
		db_bind_int64(st, 1, user_id);
	if (rc == 0)
		rc = db_step(st);
	if (rc == DB_DONE)
		rc = IA_ERR_NOTFOUND;
	else if (rc == DB_ROW && changed != 1) /* the guard refused */
		rc = IA_ERR_FUNDS;
	else if (rc == DB_ROW)
		rc = 0;
	if (rc == 0)
		*balance = db_column_int64(st, 0);
	db_reset(st);
	return rc;
}

static int credits_ledger_insert(struct db *db, int64_t user_id, int64_t delta, int64_t balance,
				 const char *reason, int64_t image_id, const char *ref)
{
	struct db_stmt *st;
	int rc;

	rc =
	    db_prepare(db,
		       "INSERT INTO credit_ledger(user_id, delta, balance_after, reason, image_id, "
		       "ref, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
		       &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	db_bind_int64(st, 2, delta);
	db_bind_int64(st, 3, balance);
	db_bind_text(st, 4, reason);
	if (image_id > 0)
		db_bind_int64(st, 5, image_id);
	else
		db_bind_null(st, 5);
	db_bind_text(st, 6, ref);
	db_bind_int64(st, 7, ia_now());
	return db_step_count(st, NULL);
}

/*
 * The savepoint makes this call all-or-nothing on its own: a refused
 * second charge (unique index) undoes the balance change it already made,
 * even if the caller goes on with its transaction.
 */
int credits_apply_in_tx(struct db *db, int64_t user_id, int64_t delta, const char *reason,
			int64_t image_id, const char *ref, int64_t *balance_after)
{
	int64_t balance = 0;
	int rc;

	if (db == NULL || delta == 0 || reason == NULL || image_id < 0)
		return IA_ERR_INVAL;
	rc = db_exec(db, "SAVEPOINT credits_apply");
	if (rc != 0)
		return rc;
	rc = credits_update(db, user_id, delta, &balance);
	if (rc == 0)
		rc = credits_ledger_insert(db, user_id, delta, balance, reason, image_id, ref);
	if (rc != 0)
		(void)db_exec(db, "ROLLBACK TO credits_apply");
	if (db_exec(db, "RELEASE credits_apply") != 0 && rc == 0)
		rc = IA_ERR_DB;
	if (rc == 0 && balance_after != NULL)
		*balance_after = balance;
	return rc;
}

int credits_apply(struct db *db, int64_t user_id, int64_t delta, const char *reason,
		  int64_t image_id, const char *ref, int64_t *balance_after)
{
	int64_t balance = 0;
	int rc;

	if (db == NULL)
		return IA_ERR_INVAL;
	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = credits_apply_in_tx(db, user_id, delta, reason, image_id, ref, &balance);
	if (rc != 0)
		goto out;
	rc = db_commit(db);
out:
	if (rc != 0)
		db_rollback(db);
	else if (balance_after != NULL)
		*balance_after = balance;
	return rc;
}

int credits_count(struct db *db, int64_t user_id, int64_t *count)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db, "SELECT count(*) FROM credit_ledger WHERE user_id = ?", &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	return db_step_int64(st, count);
}

static void credits_copy(char *dst, size_t size, const char *src)
{
	size_t n = src == NULL ? 0 : strnlen(src, size - 1);

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int credits_history(struct db *db, int64_t user_id, int64_t offset, int64_t limit,
		    struct credits_entry *out, size_t *n)
{
	struct db_stmt *st;
	size_t got = 0;
	int rc;

	if (offset < 0 || limit < 0 || (limit > 0 && out == NULL) || n == NULL)
		return IA_ERR_INVAL;
	rc = db_prepare(
	    db,
	    "SELECT id, delta, balance_after, reason, image_id, created FROM credit_ledger "
	    "WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
	    &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	db_bind_int64(st, 2, limit);
	db_bind_int64(st, 3, offset);
	for (;;) {
		struct credits_entry *e;

		rc = db_step(st);
		if (rc != DB_ROW)
			break;
		e = &out[got];
		e->id = db_column_int64(st, 0);
		e->delta = db_column_int64(st, 1);
		e->balance_after = db_column_int64(st, 2);
		credits_copy(e->reason, sizeof(e->reason), db_column_text(st, 3));
		e->image_id = db_column_is_null(st, 4) ? 0 : db_column_int64(st, 4);
		e->created = db_column_int64(st, 5);
		got++;
	}
	db_reset(st);
	if (rc < 0)
		return rc;
	*n = got;
	return 0;
}
