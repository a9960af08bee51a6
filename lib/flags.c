/*
 * flags.c - feature flags: a flag is on for everyone when enabled, else
 * only for the users assigned to it. Each write is one statement, so the
 * functions work both on their own and inside a caller's transaction
 * (users_create assigns show_credits in its own).
 */
#include "config.h"

#include "flags.h"
#include "db.h"
#include "err.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static bool flags_name_ok(const char *name);
static int flags_id(struct db *db, const char *name, int64_t *id);
static int flags_user_exists(struct db *db, int64_t user_id);
static int flags_write(struct db *db, const char *sql, int64_t a, int64_t b);

/* [a-z0-9_-]{1,64} */
static bool flags_name_ok(const char *name)
{
	size_t len;

	if (name == NULL)
		return false;
	len = strlen(name);
	return len >= 1 && len <= FLAG_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* The id of a flag by name; IA_ERR_INVAL for a bad name, IA_ERR_NOTFOUND. */
static int flags_id(struct db *db, const char *name, int64_t *id)
{
	struct db_stmt *st;
	int rc;

	if (!flags_name_ok(name))
		return IA_ERR_INVAL;
	rc = db_prepare(db, "SELECT id FROM flags WHERE name = ?", &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, name);
	return db_step_int64(st, id);
}

static int flags_user_exists(struct db *db, int64_t user_id)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db, "SELECT 1 FROM users WHERE id = ?", &st);
	if (rc == 0)
		db_bind_int64(st, 1, user_id);
	if (rc == 0)
		rc = db_step(st);
	db_reset(st);
	if (rc == DB_ROW)
		return 0;
	return rc == DB_DONE ? IA_ERR_NOTFOUND : rc;
}

/* Run a two-integer write; IA_ERR_NOTFOUND when it touched no row. */
static int flags_write(struct db *db, const char *sql, int64_t a, int64_t b)
{
	struct db_stmt *st;
	int64_t changed = 0;
	int rc;

	rc = db_prepare(db, sql, &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, a);
	db_bind_int64(st, 2, b);
	rc = db_step_count(st, &changed);
	if (rc != 0)
		return rc;
	return changed > 0 ? 0 : IA_ERR_NOTFOUND;
}

int flags_create(struct db *db, const char *name)
{
	struct db_stmt *st;
	int rc;

	if (!flags_name_ok(name))
		return IA_ERR_INVAL;
	rc = db_prepare(db, "INSERT INTO flags(name, enabled, created) VALUES (?, 0, ?)", &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, name);
	db_bind_int64(st, 2, ia_now());
	rc = db_step(st);
	return rc < 0 ? rc : 0;
}

int flags_set_enabled(struct db *db, const char *name, bool enabled)
{
	int64_t id;
	int rc;

	rc = flags_id(db, name, &id);
	if (rc == 0)
		rc = flags_write(db, "UPDATE flags SET enabled = ?2 WHERE id = ?1", id, enabled);
	return rc;
}

/* IA_ERR_NOTFOUND for an unknown flag or user, IA_ERR_EXISTS when already assigned. */
int flags_assign(struct db *db, const char *name, int64_t user_id)
{
	int64_t id;
	int rc;

	rc = flags_id(db, name, &id);
	if (rc == 0)
		rc = flags_user_exists(db, user_id);
	if (rc == 0)
		rc = flags_write(db, "INSERT INTO user_flags(flag_id, user_id) VALUES (?, ?)", id,
				 user_id);
	return rc;
}

/* IA_ERR_NOTFOUND for an unknown flag or when it was not assigned. */
int flags_unassign(struct db *db, const char *name, int64_t user_id)
{
	int64_t id;
	int rc;

	rc = flags_id(db, name, &id);
	if (rc == 0)
		rc = flags_write(db, "DELETE FROM user_flags WHERE flag_id = ? AND user_id = ?", id,
				 user_id);
	return rc;
}

/* Ordered by name; fn must not call flags_each (db.h caching rule). */
int flags_each(struct db *db, int (*fn)(void *ud, const struct flag *f), void *ud)
{
	struct db_stmt *st;
	struct flag f;
	int rc;

	rc = db_prepare(db,
			"SELECT f.id, f.name, f.enabled, "
			"(SELECT count(*) FROM user_flags uf WHERE uf.flag_id = f.id) "
			"FROM flags f ORDER BY f.name",
			&st);
	if (rc != 0)
		return rc;
	for (;;) {
		const char *name;
		size_t len;

		rc = db_step(st);
		if (rc != DB_ROW)
			break;
		memset(&f, 0, sizeof(f));
		f.id = db_column_int64(st, 0);
		name = db_column_text(st, 1);
		len = name == NULL ? 0 : strnlen(name, FLAG_NAME_MAX);
		if (len > 0)
			memcpy(f.name, name, len);
		f.enabled = db_column_int64(st, 2) != 0;
		f.users = db_column_int64(st, 3);
		rc = fn(ud, &f);
		if (rc != 0)
			break;
	}
	db_reset(st);
	return rc; /* DB_DONE is 0 */
}

int flags_for_user(struct db *db, int64_t user_id, int (*fn)(void *ud, const char *name), void *ud)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db,
			/* EXISTS probes the (flag_id, user_id) key once per flag; an
			 * IN (SELECT ... WHERE user_id = ?) would scan every user's
			 * assignments on each request. */
			"SELECT name FROM flags f WHERE f.enabled = 1 OR EXISTS (SELECT 1 FROM "
			"user_flags uf WHERE uf.flag_id = f.id AND uf.user_id = ?) ORDER BY name",
			&st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	return db_each_text(st, fn, ud);
}

static int flags_list_add(void *ud, const char *name)
{
	struct flag_list *l = ud;

	l->names = xrealloc(l->names, (l->n + 1) * sizeof(*l->names));
	l->names[l->n++] = xstrdup(name);
	return 0;
}

int flags_list_load(struct db *db, int64_t user_id, struct flag_list *out)
{
	int rc;

	out->names = NULL;
	out->n = 0;
	rc = flags_for_user(db, user_id, flags_list_add, out);
	if (rc != 0)
		flags_list_cleanup(out);
	return rc;
}

void flags_list_cleanup(struct flag_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}
