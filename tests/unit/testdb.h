/*
 * testdb.h - a fresh, fully migrated SQLite database in a temporary file
 * for unit tests that need the real schema.
 */
#ifndef IA_TESTDB_H
#define IA_TESTDB_H

struct db;

/*
 * Create an empty database file under $TMPDIR (or /tmp), open it and run
 * db_migrate(IA_SQL_DIR). Aborts the test (ck_abort) on failure.
 */
struct db *testdb_open(void);

/*
 * Run sql with one integer parameter (ignored when the SQL has none) and
 * return the first column of the first row; aborts the test when there
 * is no row.
 */
long long testdb_int(struct db *db, const char *sql, long long arg);

/* Path of the database file testdb_open made (for a second connection). */
const char *testdb_file(void);

/* Close the database and remove its file and WAL/SHM side files. */
void testdb_close(struct db *db);

#endif
