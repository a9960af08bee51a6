/*
 * testdb.h - a fresh, fully migrated database for unit tests that need the
 * real schema, on the backend the environment chooses: SQLite in a
 * temporary file by default, PostgreSQL when IA_TEST_DATABASE_URL is set
 * (a libpq URI to the maintenance database of a private test cluster,
 * e.g. what `tests/pg-cluster start DIR PORT --fast` prints); with the
 * fixtures the database tests share: a user with credits, one value of a
 * query, counts of credit_ledger rows, a temporary directory of files (a
 * MEDIA_ROOT) and a small PNG to put in it.
 */
#ifndef IA_TESTDB_H
#define IA_TESTDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/*
 * Make an empty database, open it and migrate it (db_migrate(IA_SQL_DIR)).
 * SQLite: a file under $TMPDIR (or /tmp). PostgreSQL: a new database
 * copied from a migrated template, which the first caller builds (once
 * per set of migrations, under an advisory lock: Check runs tests in
 * parallel processes). Test databases left by a failed test (whose process
 * is gone) are dropped here. Aborts the test (ck_abort) on failure.
 */
struct db *testdb_open(void);

/*
 * Run sql with one integer parameter (not bound when the SQL has no `?`)
 * and return the first column of the first row; aborts the test when
 * there is no row.
 */
long long testdb_int(struct db *db, const char *sql, long long arg);

/*
 * Like testdb_int for a text column: a copy of its value (the caller
 * frees it), "(null)" for SQL NULL.
 */
char *testdb_text(struct db *db, const char *sql, long long arg);

/* Create a user with the address email and a balance of credits (its
 * signup bonus, so one ledger row when credits > 0); returns its id. */
int64_t testdb_user(struct db *db, const char *email, int64_t credits);

/* Rows of credit_ledger for the image image_id whose reason is reason
 * ('charge', 'refund'). */
int64_t testdb_image_ledger(struct db *db, int64_t image_id, const char *reason);

/* Rows of credit_ledger of the user user_id whose reason is reason
 * ('signup_bonus', 'purchase', ...), or of any reason when it is NULL. */
int64_t testdb_user_ledger(struct db *db, int64_t user_id, const char *reason);

/*
 * A fresh empty directory for a test's files (a MEDIA_ROOT, a scratch
 * area): $TMPDIR (or /tmp)/ia-<name>-XXXXXX. The caller owns the path
 * and ends with testdb_rmtree.
 */
char *testdb_tmpdir(const char *name);

/* Remove the directory testdb_tmpdir made, with everything in it, and
 * free its path. */
void testdb_rmtree(char *dir);

/* Write len bytes of data to the file root/rel, making its directories. */
void testdb_put(const char *root, const char *rel, const void *data, size_t len);

/* True when root/rel exists. */
bool testdb_exists(const char *root, const char *rel);

/* A valid 1x1 RGBA PNG of testdb_png1x1_len bytes, to store as an upload
 * or an image file. */
extern const char testdb_png1x1[];
extern const size_t testdb_png1x1_len;

/* True when the tests run on SQLite (no IA_TEST_DATABASE_URL): tests of
 * SQLite's own machinery (its VFS, its file locks) run only then. */
bool testdb_is_sqlite(void);

/* What db_open needs for a second connection to the database testdb_open
 * made: its file path or its URI (borrowed until testdb_close). */
const char *testdb_file(void);

/* Close the database and remove it (the file and its WAL/SHM side files,
 * or DROP DATABASE). */
void testdb_close(struct db *db);

#endif
