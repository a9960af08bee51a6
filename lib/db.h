/*
 * db.h - the only door to SQLite (STYLE.md rule 2).
 *
 * A struct db is one connection in WAL mode with a busy timeout; every
 * statement goes through db_prepare(), which compiles it once per process
 * and hands back the cached statement, reset and with bindings cleared.
 * Parameters are always bound, never spliced into SQL text.
 *
 * Caching rule: a cached statement is shared by every caller that passes
 * the same SQL text, so never prepare the same SQL again while still
 * stepping through its rows.
 */
#ifndef IA_DB_H
#define IA_DB_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct db_stmt;

#define DB_DONE 0 /* db_step: no (more) rows */
#define DB_ROW  1 /* db_step: a row is ready */

/* Open (creating if needed) the database at path with WAL, a 5 s busy
 * timeout and foreign keys on. *out is the caller's; close with db_close. */
int db_open(const char *path, struct db **out);
/* Finalize every cached statement and close. NULL is a no-op. */
void db_close(struct db *db);

/* Apply every sql_dir/NNN_*.sql not yet in schema_migrations, in order,
 * each in its own transaction. Safe to run from several processes. */
int db_migrate(struct db *db, const char *sql_dir);

/* Cached prepare; *out is borrowed and lives until db_close. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
/* Bind parameter idx (1-based). db_bind_text copies s; NULL binds NULL. */
int db_bind_int64(struct db_stmt *st, int idx, int64_t v);
int db_bind_text(struct db_stmt *st, int idx, const char *s);
int db_bind_null(struct db_stmt *st, int idx);
/* DB_ROW, DB_DONE, IA_ERR_EXISTS on a UNIQUE/PRIMARY KEY conflict,
 * IA_ERR_INVAL on a CHECK failure, IA_ERR_BUSY, or IA_ERR_DB. */
int db_step(struct db_stmt *st);
/*
 * Step a write statement that must change exactly one row: 0 when it did,
 * none_rc when it changed none (the row is missing, or a guard in its
 * WHERE did not hold), another error when the step failed.
 */
int db_step_one(struct db_stmt *st, int none_rc);
/*
 * Step a bound query to its end, calling fn with the text of column 0 of
 * each row (borrowed: valid during the call). Resets st. Returns 0 after
 * the last row, fn's value when it returns non-zero (the walk stops), or
 * the step's error.
 */
int db_each_text(struct db_stmt *st, int (*fn)(void *ud, const char *text), void *ud);
/* Reset and clear bindings (db_prepare does this too). */
void db_reset(struct db_stmt *st);
int64_t db_column_int64(struct db_stmt *st, int col);
/* Borrowed until the next db_step/db_reset of st; NULL for SQL NULL. */
const char *db_column_text(struct db_stmt *st, int col);
bool db_column_is_null(struct db_stmt *st, int col);

/* BEGIN IMMEDIATE (take the write lock now, so a read->write upgrade can
 * never fail with SQLITE_BUSY), COMMIT, ROLLBACK. */
int db_begin(struct db *db);
/* BEGIN (deferred): the reads that follow share one snapshot and one
 * shared lock, instead of one each; end it with db_rollback or db_commit.
 * The BEGIN itself waits for the next db_prepare, so a request that reads
 * nothing (a cache hit) costs nothing. Never follow it with db_begin. */
int db_begin_read(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/*
 * Change detection for per-process caches. A db_version names the state
 * of the database that the current or last read transaction started
 * from: the WAL-index header in shared memory, which every commit by any
 * process changes (sqlite.org/walformat.html). Reads inside a write
 * transaction have no version: they may see uncommitted rows.
 */
#define DB_VERSION_SIZE 48
struct db_version {
	unsigned char hdr[DB_VERSION_SIZE];
	bool known;
};
void db_read_version(struct db *db, struct db_version *out);
/* True when nothing has been committed since v (so what was read at v is
 * still what a read would return now), and we are not in a write
 * transaction. Reads shared memory only: no lock, no system call. */
bool db_version_current(struct db *db, const struct db_version *v);

int64_t db_last_insert_id(struct db *db);
int db_changes(struct db *db);
/* Run parameterless SQL text (pragmas, migration scripts). */
int db_exec(struct db *db, const char *sql);
/* Online backup of the whole database into a new file dest_path. */
int db_backup(struct db *db, const char *dest_path);
/* The last SQLite error message of this connection (borrowed). */
const char *db_errmsg(struct db *db);

#endif
