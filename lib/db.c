/*
 * db.c - SQLite connection, cached prepared statements, transactions,
 * migrations and online backup. The only file that includes sqlite3.h.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct db_stmt {
	sqlite3_stmt *stmt;
	char *sql;
	struct db *db;
	struct db_stmt *next;
};

struct db {
	sqlite3 *conn;
	struct db_stmt *stmts;
	bool read_pending;           /* db_begin_read: BEGIN before the next statement */
	bool wal;                    /* in WAL mode: reads can be versioned */
	const unsigned char *walhdr; /* the WAL-index header in shared memory, or NULL */
	struct db_version version;   /* when the current or last read transaction began */
};

/* The WAL-index header: two copies of a 48-byte struct at the start of the
 * first 32 KiB region of the -shm file (sqlite.org/walformat.html). */
#define DB_WALHDR_SIZE   DB_VERSION_SIZE
#define DB_WALINDEX_PGSZ 32768
#define DB_WALHDR_ISINIT 12 /* offset of the isInit byte */

static int db_map_rc(struct db *db, int rc);
static int db_run_cached(struct db *db, const char *sql);
static void db_map_wal_index(struct db *db);
static bool db_is_wal(struct db *db);
static bool db_wal_header(const struct db *db, unsigned char out[DB_WALHDR_SIZE]);
static int db_read_file(const char *path, char **out);
static int db_apply_migration(struct db *db, const char *dir, const char *name);
static int db_name_cmp(const void *a, const void *b);

int db_open(const char *path, struct db **out)
{
	static bool configured;
	struct db *db = xcalloc(1, sizeof(*db));
	int rc;

	/* Before SQLite initialises: no allocation statistics, which would
	 * take a global mutex on every sqlite3_malloc. Harmless if too late. */
	if (!configured) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		configured = true;
	}
	rc =
	    sqlite3_open_v2(path, &db->conn,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("db: cannot open %s: %s", path,
			  db->conn ? sqlite3_errmsg(db->conn) : "?");
		goto fail;
	}
	sqlite3_busy_timeout(db->conn, 5000);
	if (db_exec(
		db,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;") != 0)
		goto fail;
	db->wal = db_is_wal(db);
	*out = db;
	return 0;
fail:
	db_close(db);
	return IA_ERR_DB;
}

void db_close(struct db *db)
{
	struct db_stmt *st, *next;

	if (db == NULL)
		return;
	for (st = db->stmts; st != NULL; st = next) {
		next = st->next;
		sqlite3_finalize(st->stmt);
		free(st->sql);
		free(st);
	}
	sqlite3_close(db->conn);
	free(db);
}

/* Translate an SQLite result code into an ia_err, logging real failures. */
static int db_map_rc(struct db *db, int rc)
{
	int ext = sqlite3_extended_errcode(db->conn);

	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE: return DB_DONE;
	case SQLITE_ROW: return DB_ROW;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return IA_ERR_BUSY;
	case SQLITE_CONSTRAINT:
		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			return IA_ERR_EXISTS;
		if (ext == SQLITE_CONSTRAINT_CHECK)
			return IA_ERR_INVAL;
		log_error("db: constraint: %s", sqlite3_errmsg(db->conn));
		return IA_ERR_DB;
	default: log_error("db: %s (%d)", sqlite3_errmsg(db->conn), ext); return IA_ERR_DB;
	}
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *st;
	sqlite3_stmt *raw = NULL;
	int rc;

	if (db->read_pending) {
		db->read_pending = false;
		rc = db_run_cached(db, "BEGIN");
		if (rc != 0)
			return rc;
	}
	for (st = db->stmts; st != NULL; st = st->next) {
		if (strcmp(st->sql, sql) == 0) {
			db_reset(st);
			*out = st;
			return 0;
		}
	}
	rc = sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, NULL);
	if (rc != SQLITE_OK) {
		log_error("db: prepare failed: %s", sqlite3_errmsg(db->conn));
		return IA_ERR_DB;
	}
	st = xcalloc(1, sizeof(*st));
	st->stmt = raw;
	st->sql = xstrdup(sql);
	st->db = db;
	st->next = db->stmts;
	db->stmts = st;
	*out = st;
	return 0;
}

int db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	return sqlite3_bind_int64(st->stmt, idx, v) == SQLITE_OK ? 0 : IA_ERR_DB;
}

int db_bind_text(struct db_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return db_bind_null(st, idx);
	return sqlite3_bind_text(st->stmt, idx, s, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0
										      : IA_ERR_DB;
}

int db_bind_null(struct db_stmt *st, int idx)
{
	return sqlite3_bind_null(st->stmt, idx) == SQLITE_OK ? 0 : IA_ERR_DB;
}

int db_step(struct db_stmt *st)
{
	struct db *db = st->db;
	int rc;

	/* A statement that starts a transaction reads the database as of this
	 * header or later; one that writes makes its reads uncacheable. */
	if (sqlite3_txn_state(db->conn, NULL) == SQLITE_TXN_NONE)
		db->version.known = db_wal_header(db, db->version.hdr);
	rc = sqlite3_step(st->stmt);
	if (sqlite3_txn_state(db->conn, NULL) == SQLITE_TXN_WRITE)
		db->version.known = false;
	if (db->walhdr == NULL && db->wal)
		db_map_wal_index(db); /* SQLite has mapped it for this read */
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	rc = db_map_rc(db, rc);
	sqlite3_reset(st->stmt);
	return rc;
}

int db_step_one(struct db_stmt *st, int none_rc)
{
	int rc = db_step(st);

	if (rc != DB_DONE)
		return rc < 0 ? rc : IA_ERR_DB;
	return sqlite3_changes(sqlite3_db_handle(st->stmt)) == 1 ? 0 : none_rc;
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
	sqlite3_reset(st->stmt);
	sqlite3_clear_bindings(st->stmt);
}

int64_t db_column_int64(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(st->stmt, col);
}

const char *db_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->stmt, col);
}

bool db_column_is_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->stmt, col) == SQLITE_NULL;
}

/* Run a cached parameterless statement to completion. */
static int db_run_cached(struct db *db, const char *sql)
{
	struct db_stmt *st;
	int rc = db_prepare(db, sql, &st);

	if (rc != 0)
		return rc;
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? 0 : rc < 0 ? rc : IA_ERR_DB;
}

int db_begin(struct db *db)
{
	return db_run_cached(db, "BEGIN IMMEDIATE");
}

int db_begin_read(struct db *db)
{
	db->read_pending = true;
	return 0;
}

int db_commit(struct db *db)
{
	if (db->read_pending) {
		db->read_pending = false;
		return 0;
	}
	return db_run_cached(db, "COMMIT");
}

void db_rollback(struct db *db)
{
	db->read_pending = false;
	if (!sqlite3_get_autocommit(db->conn) && db_run_cached(db, "ROLLBACK") != 0)
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

/* True when the connection is in WAL mode (db_open asks for it; an
 * in-memory database cannot have it). */
static bool db_is_wal(struct db *db)
{
	struct db_stmt *st;
	bool wal;

	if (db_prepare(db, "PRAGMA journal_mode", &st) != 0)
		return false;
	wal = db_step(st) == DB_ROW && strcmp(db_column_text(st, 0), "wal") == 0;
	db_reset(st);
	return wal;
}

/* Find SQLite's own mapping of the WAL-index: after a read, xShmMap of
 * the connection's file hands back the region SQLite mapped for it. */
static void db_map_wal_index(struct db *db)
{
	sqlite3_file *f = NULL;
	void volatile *region = NULL;

	if (!db->wal ||
	    sqlite3_file_control(db->conn, "main", SQLITE_FCNTL_FILE_POINTER, &f) != 0 ||
	    f == NULL || f->pMethods == NULL || f->pMethods->iVersion < 2 ||
	    f->pMethods->xShmMap == NULL)
		return;
	if (f->pMethods->xShmMap(f, 0, DB_WALINDEX_PGSZ, 0, &region) == SQLITE_OK)
		db->walhdr = (const unsigned char *)region;
}

/* Copy the WAL-index header the way SQLite's readers do: first copy, a
 * barrier, second copy. A committing writer updates them in the other
 * order, so two equal copies are a consistent header. */
static bool db_wal_header(const struct db *db, unsigned char out[DB_WALHDR_SIZE])
{
	unsigned char second[DB_WALHDR_SIZE];

	if (db->walhdr == NULL)
		return false;
	memcpy(out, db->walhdr, DB_WALHDR_SIZE);
	atomic_thread_fence(memory_order_acquire);
	memcpy(second, db->walhdr + DB_WALHDR_SIZE, DB_WALHDR_SIZE);
	return memcmp(out, second, DB_WALHDR_SIZE) == 0 && out[DB_WALHDR_ISINIT] != 0;
}

void db_read_version(struct db *db, struct db_version *out)
{
	*out = db->version;
	if (sqlite3_txn_state(db->conn, NULL) == SQLITE_TXN_WRITE)
		out->known = false;
}

bool db_version_current(struct db *db, const struct db_version *v)
{
	unsigned char now[DB_WALHDR_SIZE];

	if (!v->known || sqlite3_txn_state(db->conn, NULL) == SQLITE_TXN_WRITE)
		return false;
	return db_wal_header(db, now) && memcmp(now, v->hdr, DB_WALHDR_SIZE) == 0;
}

int64_t db_last_insert_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->conn);
}

int db_changes(struct db *db)
{
	return sqlite3_changes(db->conn);
}

const char *db_errmsg(struct db *db)
{
	return sqlite3_errmsg(db->conn);
}

int db_exec(struct db *db, const char *sql)
{
	int rc = sqlite3_exec(db->conn, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_map_rc(db, rc);
}

int db_backup(struct db *db, const char *dest_path)
{
	sqlite3 *dest = NULL;
	sqlite3_backup *bk = NULL;
	int rc = IA_ERR_DB;

	if (sqlite3_open(dest_path, &dest) != SQLITE_OK)
		goto out;
	bk = sqlite3_backup_init(dest, "main", db->conn, "main");
	if (bk == NULL)
		goto out;
	do {
		rc = sqlite3_backup_step(bk, 256);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	rc = rc == SQLITE_DONE ? 0 : IA_ERR_DB;
out:
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	if (rc != 0 && dest != NULL)
		log_error("db: backup failed: %s", sqlite3_errmsg(dest));
	sqlite3_close(dest);
	return rc;
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

/* Apply one migration file inside BEGIN IMMEDIATE unless another process
 * already recorded it. */
static int db_apply_migration(struct db *db, const char *dir, const char *name)
{
	struct db_stmt *st;
	char *path = xasprintf("%s/%s", dir, name);
	char *sql = NULL;
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		goto out;
	rc = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE name = ?", &st);
	if (rc == 0)
		rc = db_bind_text(st, 1, name);
	if (rc == 0)
		rc = db_step(st);
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
		rc = db_prepare(
		    db,
		    "INSERT INTO schema_migrations(name, applied) VALUES (?, strftime('%s','now'))",
		    &st);
	if (rc == 0)
		rc = db_bind_text(st, 1, name);
	if (rc == 0)
		rc = db_step(st) == DB_DONE ? 0 : IA_ERR_DB;
	if (rc == 0)
		log_info("db: applied migration %s", name);
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
	DIR *dir = NULL;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	rc = db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations("
			 "name TEXT PRIMARY KEY, applied INTEGER NOT NULL)");
	if (rc != 0)
		return rc;
	dir = opendir(sql_dir);
	if (dir == NULL) {
		log_error("db: cannot read migrations in %s", sql_dir);
		return IA_ERR_IO;
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
		rc = db_apply_migration(db, sql_dir, names[i]);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
