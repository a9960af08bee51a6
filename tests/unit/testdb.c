/*
 * testdb.c - temporary migrated databases for unit tests. One database at
 * a time per process (Check forks a process per test), so the path lives
 * in a static.
 */
#include "config.h"

#include "testdb.h"
#include "db.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *testdb_path;

struct db *testdb_open(void)
{
	const char *dir = getenv("TMPDIR");
	struct db *db = NULL;
	int fd;

	testdb_path = xasprintf("%s/ia-testdb-XXXXXX", dir != NULL && *dir ? dir : "/tmp");
	fd = mkstemp(testdb_path);
	ck_assert_msg(fd >= 0, "mkstemp %s", testdb_path);
	close(fd);
	ck_assert_int_eq(db_open(testdb_path, &db), 0);
	ck_assert_int_eq(db_migrate(db, IA_SQL_DIR), 0);
	return db;
}

long long testdb_int(struct db *db, const char *sql, long long arg)
{
	struct db_stmt *st;
	long long v;

	ck_assert_int_eq(db_prepare(db, sql, &st), 0);
	if (strchr(sql, '?') != NULL)
		db_bind_int64(st, 1, arg);
	ck_assert_int_eq(db_step(st), DB_ROW);
	v = db_column_int64(st, 0);
	db_reset(st);
	return v;
}

const char *testdb_file(void)
{
	return testdb_path;
}

void testdb_close(struct db *db)
{
	char *side;

	db_close(db);
	if (testdb_path == NULL)
		return;
	unlink(testdb_path);
	side = xasprintf("%s-wal", testdb_path);
	unlink(side);
	free(side);
	side = xasprintf("%s-shm", testdb_path);
	unlink(side);
	free(side);
	free(testdb_path);
	testdb_path = NULL;
}
