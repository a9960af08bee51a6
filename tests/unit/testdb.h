/*
 * testdb.h - a fresh, fully migrated database for unit tests that need the
 * real schema, on the backend the environment chooses: SQLite in a
 * temporary file by default, PostgreSQL when IA_TEST_DATABASE_URL is set
 * (a libpq URI to the maintenance database of a private test cluster,
 * e.g. what `tests/pg-cluster start DIR PORT --fast` prints).
 */
#ifndef IA_TESTDB_H
#define IA_TESTDB_H

#include <stdbool.h>

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
