/*
 * db.c - the front of lib/db: picks the backend (db_backend.h) once per
 * connection from the form of the target, and keeps what every backend
 * shares: the statement cache, deferred bind errors, the step helpers and
 * the migration runner. Includes no database library.
 */
#include "config.h"

#include "db.h"
#include "db_backend.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_stmt {
	struct db_bstmt *impl;
	char *sql;
	struct db *db;
	int bind_rc; /* the first failed bind since the last reset, else 0 */
	struct db_stmt *next;
};

struct db {
	const struct db_backend *be;
	struct db_conn *conn;
	struct db_stmt *stmts;
};

static const struct db_backend *const db_backends[] = {
#ifdef HAVE_LIBPQ
    &db_backend_pg,
#endif
    &db_backend_sqlite, /* last: it takes any path */
};

static int db_read_file(const char *path, char **out);
static int db_apply_migration(struct db *db, const char *dir, const char *name);
static int db_name_cmp(const void *a, const void *b);

int db_open(const char *target, struct db **out)
{
	const struct db_backend *be = NULL;
	struct db_conn *conn = NULL;
	struct db *db;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(db_backends) / sizeof(db_backends[0]) && be == NULL; i++)
		if (db_backends[i]->accepts(target))
			be = db_backends[i];
	if (be == NULL) {
		log_error("db: no database configured (DATABASE_URL or DB_PATH)");
		return IA_ERR_INVAL;
	}
	rc = be->open(target, &conn);
	if (rc != 0)
		return rc;
	db = xcalloc(1, sizeof(*db));
	db->be = be;
	db->conn = conn;
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	struct db_stmt *st, *next;

	if (db == NULL)
		return;
	for (st = db->stmts; st != NULL; st = next) {
		next = st->next;
		db->be->finalize(st->impl);
		free(st->sql);
		free(st);
	}
	db->be->close(db->conn);
	free(db);
}

const char *db_backend_name(const struct db *db)
{
	return db->be->name;
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_bstmt *impl = NULL;
	struct db_stmt *st;
	int rc;

	for (st = db->stmts; st != NULL; st = st->next) {
		if (strcmp(st->sql, sql) == 0) {
			db_reset(st);
			*out = st;
			return 0;
		}
	}
	rc = db->be->prepare(db->conn, sql, &impl);
	if (rc != 0)
		return rc;
	st = xcalloc(1, sizeof(*st));
	st->impl = impl;
	st->sql = xstrdup(sql);
	st->db = db;
	st->next = db->stmts;
	db->stmts = st;
	*out = st;
	return 0;
}

/* Remember the first failed bind; db_step reports it. */
static void db_bind_result(struct db_stmt *st, int idx, int rc)
{
	if (rc == 0 || st->bind_rc != 0)
		return;
	log_error("db: cannot bind parameter %d of: %.80s", idx, st->sql);
	st->bind_rc = IA_ERR_DB;
}

void db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	db_bind_result(st, idx, st->db->be->bind_int64(st->impl, idx, v));
}

void db_bind_text(struct db_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		db_bind_null(st, idx);
	else
		db_bind_result(st, idx, st->db->be->bind_text(st->impl, idx, s));
}

void db_bind_null(struct db_stmt *st, int idx)
{
	db_bind_result(st, idx, st->db->be->bind_null(st->impl, idx));
}

int db_step(struct db_stmt *st)
{
	if (st->bind_rc != 0)
		return st->bind_rc;
	return st->db->be->step(st->impl);
}

int db_step_count(struct db_stmt *st, int64_t *changed)
{
	int rc = db_step(st);

	if (rc == DB_ROW) {
		/* A write with RETURNING: walk to the end for the count. */
		do
			rc = db_step(st);
		while (rc == DB_ROW);
	}
	if (rc != DB_DONE)
		return rc < 0 ? rc : IA_ERR_DB;
	if (changed != NULL)
		*changed = st->db->be->changes(st->impl);
	return 0;
}

int db_step_one(struct db_stmt *st, int none_rc)
{
	int64_t changed = 0;
	int rc = db_step_count(st, &changed);

	if (rc != 0)
		return rc;
	return changed == 1 ? 0 : none_rc;
}

int db_step_insert(struct db_stmt *st, int64_t *id_out)
{
	int rc = db_step(st);
	int64_t id;

	if (rc != DB_ROW)
		return rc < 0 ? rc : IA_ERR_DB;
	id = db_column_int64(st, 0);
	rc = db_step(st);
	if (rc != DB_DONE)
		return rc < 0 ? rc : IA_ERR_DB;
	*id_out = id;
	return 0;
}

int db_step_int64(struct db_stmt *st, int64_t *out)
{
	int rc = db_step(st);

	if (rc == DB_ROW)
		*out = db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? IA_ERR_NOTFOUND : rc;
}

int db_each_text(struct db_stmt *st, int (*fn)(void *ud, const char *text), void *ud)
{
	int rc;

	for (;;) {
		rc = db_step(st);
		if (rc != DB_ROW)
			break;
		rc = fn(ud, db_column_text(st, 0));
		if (rc != 0)
			break;
	}
	db_reset(st);
	return rc;
}

void db_reset(struct db_stmt *st)
{
	st->bind_rc = 0;
	st->db->be->reset(st->impl);
}

int64_t db_column_int64(struct db_stmt *st, int col)
{
	return st->db->be->column_int64(st->impl, col);
}

const char *db_column_text(struct db_stmt *st, int col)
{
	return st->db->be->column_text(st->impl, col);
}

bool db_column_is_null(struct db_stmt *st, int col)
{
	return st->db->be->column_is_null(st->impl, col);
}

int db_begin(struct db *db)
{
	return db->be->begin(db->conn, true);
}

int db_begin_read(struct db *db)
{
	return db->be->begin(db->conn, false);
}

int db_commit(struct db *db)
{
	return db->be->commit(db->conn);
}

void db_rollback(struct db *db)
{
	db->be->rollback(db->conn);
}

int db_lock(struct db *db, int64_t key)
{
	return db->be->lock(db->conn, key);
}

void db_mark_read(struct db *db, struct db_mark *out)
{
	db->be->mark_read(db->conn, out);
}

bool db_unchanged(struct db *db, const struct db_mark *m, int64_t user_id)
{
	return db->be->unchanged(db->conn, m, user_id);
}

int db_notify(struct db *db, const char *channel)
{
	return db->be->notify(db->conn, channel);
}

int db_listen(struct db *db, const char *channel)
{
	return db->be->listen(db->conn, channel);
}

int db_wait(struct db *db, int timeout_ms)
{
	return db->be->wait(db->conn, timeout_ms);
}

const char *db_errmsg(struct db *db)
{
	return db->be->errmsg(db->conn);
}

int db_exec(struct db *db, const char *sql)
{
	return db->be->exec(db->conn, sql);
}

int db_backup(struct db *db, const char *dest_path)
{
	if (db->be->backup == NULL)
		return IA_ERR_UNSUPPORTED;
	return db->be->backup(db->conn, dest_path);
}

static int db_read_file(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;
	int rc = IA_ERR_IO;

	if (f == NULL)
		return IA_ERR_IO;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > (1L << 24) ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = xmalloc((size_t)len + 1);
	if (fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto out;
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* Apply one migration file in its own write transaction, unless another
 * process already recorded it. */
static int db_apply_migration(struct db *db, const char *dir, const char *name)
{
	struct db_stmt *st;
	char *path = xasprintf("%s/%s", dir, name);
	char *sql = NULL;
	int rc;

	rc = db_begin(db);
	if (rc == 0)
		rc = db_lock(db, DB_LOCK_MIGRATIONS);
	if (rc == 0)
		rc = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE name = ?", &st);
	if (rc == 0) {
		db_bind_text(st, 1, name);
		rc = db_step(st);
		db_reset(st);
	}
	if (rc == DB_ROW) {
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = db_read_file(path, &sql);
	if (rc == 0)
		rc = db_exec(db, sql);
	if (rc == 0)
		rc = db_prepare(db, "INSERT INTO schema_migrations(name, applied) VALUES (?, ?)",
				&st);
	if (rc == 0) {
		db_bind_text(st, 1, name);
		db_bind_int64(st, 2, (int64_t)time(NULL));
		rc = db_step_count(st, NULL);
	}
	if (rc == 0)
		log_info("db: applied migration %s/%s", db->be->name, name);
out:
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		log_error("db: migration %s failed: %s", name, db_errmsg(db));
		db_rollback(db);
	}
	free(sql);
	free(path);
	return rc;
}

static int db_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int db_migrate(struct db *db, const char *sql_dir)
{
	char *dirpath = xasprintf("%s/%s", sql_dir, db->be->name);
	DIR *dir = NULL;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	rc = db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations("
			 "name TEXT PRIMARY KEY, applied BIGINT NOT NULL)");
	if (rc != 0)
		goto out;
	dir = opendir(dirpath);
	if (dir == NULL) {
		log_error("db: cannot read migrations in %s", dirpath);
		rc = IA_ERR_IO;
		goto out;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0 || de->d_name[0] < '0' ||
		    de->d_name[0] > '9')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), db_name_cmp);
	for (i = 0; i < n && rc == 0; i++)
		rc = db_apply_migration(db, dirpath, names[i]);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dirpath);
	return rc;
}
