/*
 * testdb.c - temporary migrated databases for unit tests. One database at
 * a time per process (Check forks a process per test), so its name lives
 * in a static.
 *
 * PostgreSQL (IA_TEST_DATABASE_URL set): migrating a database takes far
 * longer than copying one, so the migrations run once into a template
 * database named after a hash of sql/postgres/, and each test gets
 * CREATE DATABASE ... TEMPLATE it. Test programs run in parallel: the
 * template is built under a session advisory lock, into a scratch name,
 * and renamed when complete, so a half-built template is never copied.
 *
 * The fixtures after testdb_int (users, ledger counts, temporary file
 * trees) are what several database tests used to repeat each on its own.
 */
#include "config.h"

#include "testdb.h"
#include "db.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Advisory lock key of the template build. */
#define TESTDB_LOCK "7312543922"

const char testdb_png1x1[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00"
    "\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\xda\x63"
    "\x64\x60\xf8\x5f\x0f\x00\x02\x87\x01\x80\xeb\x47\xba\x92\x00\x00\x00\x00\x49\x45\x4e\x44"
    "\xae\x42\x60\x82";
const size_t testdb_png1x1_len = sizeof(testdb_png1x1) - 1;

static char *testdb_path; /* SQLite file path, or the PostgreSQL URI */
static char *testdb_name; /* PostgreSQL: the test database's name */

/* The maintenance URI with its database name replaced by name (fresh
 * string, caller frees). */
static char *testdb_uri_with(const char *url, const char *name)
{
	const char *auth = strstr(url, "://");
	const char *slash, *query;

	ck_assert_ptr_nonnull(auth);
	auth += 3;
	query = strchr(auth, '?');
	slash = strchr(auth, '/');
	if (slash != NULL && (query == NULL || slash < query))
		return xasprintf("%.*s%s%s", (int)(slash + 1 - url), url, name,
				 query != NULL ? query : "");
	if (query == NULL)
		return xasprintf("%s/%s", url, name);
	return xasprintf("%.*s/%s%s", (int)(query - url), url, name, query);
}

/* FNV-1a over the names and contents of the files in sql/postgres/, so a
 * changed migration gets a new template. */
static uint64_t testdb_migrations_hash(void)
{
	char *path = xasprintf("%s/postgres", IA_SQL_DIR), *file;
	uint64_t h = 14695981039346656037ULL, fh;
	struct dirent *de;
	DIR *dir = opendir(path);
	FILE *f;
	int ch;
	const char *p;

	ck_assert_msg(dir != NULL, "opendir %s", path);
	while ((de = readdir(dir)) != NULL) {
		if (strstr(de->d_name, ".sql") == NULL)
			continue;
		/* Order-independent: hash each file alone, then combine. */
		fh = 14695981039346656037ULL;
		for (p = de->d_name; *p != '\0'; p++)
			fh = (fh ^ (unsigned char)*p) * 1099511628211ULL;
		file = xasprintf("%s/%s", path, de->d_name);
		f = fopen(file, "rb");
		ck_assert_msg(f != NULL, "fopen %s", file);
		while ((ch = fgetc(f)) != EOF)
			fh = (fh ^ (unsigned char)ch) * 1099511628211ULL;
		fclose(f);
		free(file);
		h ^= fh;
	}
	closedir(dir);
	free(path);
	return h;
}

/* Run one statement with an optional text parameter; 1 if it gave a row. */
static int testdb_pg_query(struct db *db, const char *sql, const char *arg)
{
	struct db_stmt *st;
	int rc;

	ck_assert_int_eq(db_prepare(db, sql, &st), 0);
	if (arg != NULL)
		db_bind_text(st, 1, arg);
	rc = db_step(st);
	ck_assert_msg(rc >= 0, "%s: %s", sql, db_errmsg(db));
	db_reset(st);
	return rc == DB_ROW;
}

/* Build the template database name unless it exists. Database names
 * cannot be bound: every name spliced below is our own hex. */
static void testdb_pg_template(struct db *maint, const char *url, const char *tmpl)
{
	struct db *build = NULL;
	char *scratch = xasprintf("%s_build", tmpl), *uri = NULL, *sql;
	const char *exists = "SELECT 1 FROM pg_database WHERE datname = ?";

	if (testdb_pg_query(maint, exists, tmpl))
		goto out;
	ck_assert_int_eq(db_exec(maint, "SET lock_timeout = 0"), 0);
	testdb_pg_query(maint, "SELECT pg_advisory_lock(" TESTDB_LOCK ")", NULL);
	if (!testdb_pg_query(maint, exists, tmpl)) {
		sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", scratch);
		ck_assert_int_eq(db_exec(maint, sql), 0);
		free(sql);
		sql = xasprintf("CREATE DATABASE %s TEMPLATE template0", scratch);
		ck_assert_int_eq(db_exec(maint, sql), 0);
		free(sql);
		uri = testdb_uri_with(url, scratch);
		ck_assert_int_eq(db_open(uri, &build), 0);
		ck_assert_msg(db_migrate(build, IA_SQL_DIR) == 0, "migrate: %s", db_errmsg(build));
		db_close(build);
		sql = xasprintf("ALTER DATABASE %s RENAME TO %s", scratch, tmpl);
		ck_assert_msg(db_exec(maint, sql) == 0, "%s", db_errmsg(maint));
		free(sql);
	}
	testdb_pg_query(maint, "SELECT pg_advisory_unlock(" TESTDB_LOCK ")", NULL);
out:
	free(uri);
	free(scratch);
}

/* Collect into ud (a NULL-terminated array of at most 64 names) the test
 * databases whose process is gone. */
static int testdb_pg_stale(void *ud, const char *name)
{
	char **names = ud;
	const char *p = name + strlen("ia_test_");
	long long pid = 0;
	size_t n;

	if (strncmp(name, "ia_test_", 8) != 0 || *p < '1' || *p > '9')
		return 0; /* the template, or not ours */
	while (*p >= '0' && *p <= '9' && pid < INT32_MAX)
		pid = pid * 10 + (*p++ - '0');
	if (*p != '_' || pid >= INT32_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	for (n = 0; names[n] != NULL; n++)
		;
	if (n < 64)
		names[n] = xstrdup(name);
	return 0;
}

/*
 * A failed assertion ends a test's process with _exit() (Check's fork
 * mode), so its teardown never drops its database: drop, on the way in,
 * those whose process (the pid in the name) is gone.
 */
static void testdb_pg_sweep(struct db *maint)
{
	char *names[65] = {NULL}, *sql;
	struct db_stmt *st;
	size_t i;

	ck_assert_int_eq(
	    db_prepare(maint, "SELECT datname FROM pg_database WHERE datname LIKE ?", &st), 0);
	db_bind_text(st, 1, "ia\\_test\\_%");
	(void)db_each_text(st, testdb_pg_stale, names);
	for (i = 0; names[i] != NULL; i++) {
		sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", names[i]);
		(void)db_exec(maint, sql);
		free(sql);
		free(names[i]);
	}
}

/* A fresh database copied from the template; testdb_path gets its URI. */
static struct db *testdb_pg_open(const char *url)
{
	struct db *maint = NULL, *db = NULL;
	char hex[17], *tmpl, *sql;

	ck_assert_int_eq(db_open(url, &maint), 0);
	tmpl = xasprintf("ia_test_tmpl_%016llx", (unsigned long long)testdb_migrations_hash());
	testdb_pg_template(maint, url, tmpl);
	ia_random_hex(hex, 8);
	testdb_pg_sweep(maint);
	testdb_name = xasprintf("ia_test_%ld_%s", (long)getpid(), hex);
	sql = xasprintf("CREATE DATABASE %s TEMPLATE %s", testdb_name, tmpl);
	ck_assert_msg(db_exec(maint, sql) == 0, "%s", db_errmsg(maint));
	free(sql);
	free(tmpl);
	db_close(maint);
	testdb_path = testdb_uri_with(url, testdb_name);
	ck_assert_int_eq(db_open(testdb_path, &db), 0);
	/* Nothing to apply: this checks the copy is complete. */
	ck_assert_int_eq(db_migrate(db, IA_SQL_DIR), 0);
	return db;
}

struct db *testdb_open(void)
{
	const char *url = getenv("IA_TEST_DATABASE_URL");
	const char *dir = getenv("TMPDIR");
	struct db *db = NULL;
	int fd;

	if (url != NULL && *url != '\0')
		return testdb_pg_open(url);
	testdb_path = xasprintf("%s/ia-testdb-XXXXXX", dir != NULL && *dir ? dir : "/tmp");
	fd = mkstemp(testdb_path);
	ck_assert_msg(fd >= 0, "mkstemp %s", testdb_path);
	close(fd);
	ck_assert_int_eq(db_open(testdb_path, &db), 0);
	ck_assert_int_eq(db_migrate(db, IA_SQL_DIR), 0);
	return db;
}

bool testdb_is_sqlite(void)
{
	const char *url = getenv("IA_TEST_DATABASE_URL");

	return url == NULL || url[0] == '\0';
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

char *testdb_text(struct db *db, const char *sql, long long arg)
{
	struct db_stmt *st;
	char *v;

	ck_assert_int_eq(db_prepare(db, sql, &st), 0);
	if (strchr(sql, '?') != NULL)
		db_bind_int64(st, 1, arg);
	ck_assert_int_eq(db_step(st), DB_ROW);
	v = xstrdup(db_column_text(st, 0) != NULL ? db_column_text(st, 0) : "(null)");
	db_reset(st);
	return v;
}

int64_t testdb_user(struct db *db, const char *email, int64_t credits)
{
	struct user_new nu = {.email = email, .signup_credits = credits};
	int64_t id = 0;

	ck_assert_int_eq(users_create(db, &nu, &id), 0);
	return id;
}

/* count(*) of sql, which has an integer parameter and, when reason is
 * not NULL, a text one after it. */
static int64_t testdb_count(struct db *db, const char *sql, int64_t id, const char *reason)
{
	struct db_stmt *st;
	int64_t n;

	ck_assert_int_eq(db_prepare(db, sql, &st), 0);
	db_bind_int64(st, 1, id);
	if (reason != NULL)
		db_bind_text(st, 2, reason);
	ck_assert_int_eq(db_step(st), DB_ROW);
	n = db_column_int64(st, 0);
	db_reset(st);
	return n;
}

int64_t testdb_image_ledger(struct db *db, int64_t image_id, const char *reason)
{
	return testdb_count(db,
			    "SELECT count(*) FROM credit_ledger WHERE image_id = ? AND reason = ?",
			    image_id, reason);
}

int64_t testdb_user_ledger(struct db *db, int64_t user_id, const char *reason)
{
	if (reason == NULL)
		return testdb_count(db, "SELECT count(*) FROM credit_ledger WHERE user_id = ?",
				    user_id, NULL);
	return testdb_count(db,
			    "SELECT count(*) FROM credit_ledger WHERE user_id = ? AND reason = ?",
			    user_id, reason);
}

char *testdb_tmpdir(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/ia-%s-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp", name);

	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
	return dir;
}

void testdb_rmtree(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
}

void testdb_put(const char *root, const char *rel, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", root, rel), *cmd;
	FILE *f;

	cmd = xasprintf("mkdir -p \"$(dirname '%s')\"", path);
	ck_assert_int_eq(system(cmd), 0);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(cmd);
	free(path);
}

bool testdb_exists(const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	bool ok = access(path, F_OK) == 0;

	free(path);
	return ok;
}

const char *testdb_file(void)
{
	return testdb_path;
}

/* Drop the test's PostgreSQL database, closing whatever still uses it. */
static void testdb_pg_drop(const char *url)
{
	struct db *maint = NULL;
	char *sql;

	if (db_open(url, &maint) != 0)
		return;
	sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", testdb_name);
	(void)db_exec(maint, sql);
	free(sql);
	db_close(maint);
}

void testdb_close(struct db *db)
{
	const char *url = getenv("IA_TEST_DATABASE_URL");
	char *side;

	db_close(db);
	if (testdb_path == NULL)
		return;
	if (testdb_name != NULL) {
		testdb_pg_drop(url);
		free(testdb_name);
		testdb_name = NULL;
		free(testdb_path);
		testdb_path = NULL;
		return;
	}
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
