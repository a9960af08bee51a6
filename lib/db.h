/*
 * db.h - the only door to the database, whichever engine holds it.
 *
 * Two backends sit behind this header (STYLE.md rule 15): SQLite, the
 * embedded default (lib/db_sqlite.c, a file path), and PostgreSQL
 * (lib/db_pg.c, a libpq URI from DATABASE_URL). Callers never learn which
 * one runs; they write SQL in the subset both speak:
 *
 *   - parameters are `?` or `?N` (1-based), always bound, never spliced;
 *     PostgreSQL types a parameter where it is first used, so compare an
 *     optional one before testing it (`col = ?1 OR ?1 IS NULL`);
 *   - results are integers and text; a boolean result reads as 1 or 0
 *     through db_column_int64, but is no integer in arithmetic on
 *     PostgreSQL (there, CASE ... THEN 1 ELSE 0);
 *   - time comes from the caller as a bound integer (no strftime/now());
 *   - a new row's id comes back through `INSERT ... RETURNING id`;
 *   - a claim that must skip rows other hosts hold ends its subquery with
 *     `FOR UPDATE SKIP LOCKED`, and a read that must lock its row with
 *     `FOR UPDATE`: SQLite, which has one writer and takes the write lock
 *     at db_begin, drops those words (lib/db_sqlite.c says why);
 *   - `ON CONFLICT ... DO NOTHING|DO UPDATE` instead of INSERT OR ...;
 *     a failed statement inside a transaction ends that transaction on
 *     PostgreSQL, so expected conflicts must not be statement errors.
 *
 * A struct db is one connection, opened once per process. db_prepare
 * compiles a statement once per connection and hands back the cached
 * statement, reset and with bindings cleared. Caching rule: a cached
 * statement is shared by every caller that passes the same SQL text, so
 * never prepare the same SQL again while still stepping through its rows.
 */
#ifndef IA_DB_H
#define IA_DB_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct db_stmt;

#define DB_DONE 0 /* db_step: no (more) rows */
#define DB_ROW  1 /* db_step: a row is ready */

/*
 * Open a connection. target is a PostgreSQL URI (postgresql://... or
 * postgres://...) or else the path of an SQLite file, created if needed
 * (WAL, a 5 s busy timeout, foreign keys on). *out is the caller's; close
 * it with db_close. A PostgreSQL server that is down is not an error here
 * when the backend can reconnect later: statements then fail with
 * IA_ERR_UNAVAILABLE until it is back.
 */
int db_open(const char *target, struct db **out);
/* Finalize every cached statement and close. NULL is a no-op. */
void db_close(struct db *db);
/* "sqlite" or "postgres": also the folder of its migrations under sql/. */
const char *db_backend_name(const struct db *db);

/* Apply every sql_dir/<backend>/NNN_*.sql not yet in schema_migrations, in
 * order, each in its own transaction. Safe to run from several processes. */
int db_migrate(struct db *db, const char *sql_dir);

/* Cached prepare; *out is borrowed and lives until db_close. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
/*
 * Bind parameter idx (1-based). db_bind_text copies s; NULL binds NULL.
 * A failed bind (an index out of range) is remembered and reported by the
 * next db_step as IA_ERR_DB, so callers may bind without checking each one.
 */
void db_bind_int64(struct db_stmt *st, int idx, int64_t v);
void db_bind_text(struct db_stmt *st, int idx, const char *s);
void db_bind_null(struct db_stmt *st, int idx);
/* DB_ROW, DB_DONE, IA_ERR_EXISTS on a UNIQUE/PRIMARY KEY conflict,
 * IA_ERR_INVAL on a CHECK failure, IA_ERR_BUSY (lock timeout, deadlock,
 * serialization failure), IA_ERR_UNAVAILABLE (the server cannot be
 * reached), or IA_ERR_DB. */
int db_step(struct db_stmt *st);
/*
 * Step a write statement that must change exactly one row: 0 when it did,
 * none_rc when it changed none (the row is missing, or a guard in its
 * WHERE did not hold), another error when the step failed.
 */
int db_step_one(struct db_stmt *st, int none_rc);
/* Step a write statement to its end; *changed (may be NULL) gets the
 * number of rows it inserted, updated or deleted. */
int db_step_count(struct db_stmt *st, int64_t *changed);
/* Step a write that returns one row, `INSERT ... RETURNING id` (or any
 * one value: an upsert's new count), to its end; *id_out gets column 0. */
int db_step_insert(struct db_stmt *st, int64_t *id_out);
/* Step a bound query for its first row and read column 0 as an integer
 * (0 for NULL) into *out. Resets st. IA_ERR_NOTFOUND when there is no row. */
int db_step_int64(struct db_stmt *st, int64_t *out);
/*
 * Step a bound query to its end, calling fn with the text of column 0 of
 * each row (borrowed: valid during the call). Resets st. Returns 0 after
 * the last row, fn's value when it returns non-zero (the walk stops), or
 * the step's error.
 */
int db_each_text(struct db_stmt *st, int (*fn)(void *ud, const char *text), void *ud);
/* Reset and clear bindings (db_prepare does this too). */
void db_reset(struct db_stmt *st);
/* Column values of the current row; 0 / NULL for SQL NULL. Text is
 * borrowed until the next db_step/db_reset of st. */
int64_t db_column_int64(struct db_stmt *st, int col);
const char *db_column_text(struct db_stmt *st, int col);
bool db_column_is_null(struct db_stmt *st, int col);

/*
 * db_begin starts a transaction that will write: on SQLite it takes the
 * write lock now (BEGIN IMMEDIATE), so a read->write upgrade can never
 * fail; on PostgreSQL rows are locked as they are written or read
 * FOR UPDATE. db_begin_read groups the reads that follow (one snapshot on
 * SQLite, where it saves locks; nothing on PostgreSQL, where it would cost
 * round trips); it begins lazily at the next statement, so a request that
 * reads nothing costs nothing. Never follow db_begin_read with db_begin.
 */
int db_begin(struct db *db);
int db_begin_read(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/*
 * Inside a db_begin transaction: wait until no other transaction, in any
 * process on any host, holds lock key, and hold it until this one ends.
 * For work that must see every earlier one committed (migrations, fair
 * job claims). SQLite's write lock, taken at db_begin, already is such a
 * lock; PostgreSQL takes an advisory transaction lock.
 */
#define DB_LOCK_MIGRATIONS 7312543921 /* db_migrate */
#define DB_LOCK_JOB_CLAIMS 7312543922 /* jobs_claim */
int db_lock(struct db *db, int64_t key);

/*
 * Change detection for per-process caches ("has the data changed").
 * db_mark_read fills *out with the state the current or last read started
 * from; db_unchanged is true when no commit since then, by any process on
 * any host, can have changed what that read returned about user_id
 * (0: about anything), and we are not inside a write transaction (whose
 * reads may see uncommitted rows). It never costs a round trip: SQLite
 * compares the WAL-index header in shared memory (exact: a commit is seen
 * by the next look); PostgreSQL drains the change notifications already on
 * its socket, which the server sends as the other commit ends (a few
 * milliseconds on a LAN, before another request of the same client can
 * arrive). A mark that is not known (out->known false) is never unchanged.
 */
struct db_mark {
	uint64_t state[6]; /* the backend's */
	bool known;
};
void db_mark_read(struct db *db, struct db_mark *out);
bool db_unchanged(struct db *db, const struct db_mark *m, int64_t user_id);

/*
 * Wake-ups between processes (and hosts). db_notify inside a transaction
 * is delivered when it commits and dropped when it rolls back; outside
 * one, at once. db_listen subscribes this connection to channel; db_wait
 * blocks until a notification for one of its channels arrives (1), the
 * timeout passes (0) or a signal interrupts it (0). Channel names are
 * short identifiers (DB_CHANNEL_*). A notification wakes at least one
 * waiting listener; a wake-up with nothing to do is harmless.
 */
#define DB_CHANNEL_JOBS "ia_jobs" /* work for ia-batch: a job or a mail */
int db_notify(struct db *db, const char *channel);
int db_listen(struct db *db, const char *channel);
int db_wait(struct db *db, int timeout_ms);

/* Run parameterless SQL text (pragmas, migration scripts). */
int db_exec(struct db *db, const char *sql);
/* Online backup of the whole database into a new file dest_path;
 * IA_ERR_UNSUPPORTED on a server backend (use its own tools). */
int db_backup(struct db *db, const char *dest_path);
/* The last error message of this connection (borrowed; never holds
 * bound values or passwords). */
const char *db_errmsg(struct db *db);

#endif
