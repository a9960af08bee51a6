/*
 * test_health.c - unit tests for lib/health.c: the database check passes
 * on a migrated database and fails on one without the schema (an empty
 * SQLite file) or with schema_migrations gone; the storage check passes
 * for a writable local MEDIA_ROOT (created when missing, as store_check
 * does) and fails for a path that cannot be a directory, a directory
 * this process may not write (as a non-root user, in a forked child) and
 * NULL settings.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "health.h"
#include "settings.h"
#include "testdb.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *d = xasprintf("%s/ia-health-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void rm_rf(const char *d)
{
	char *cmd = xasprintf("rm -rf '%s'", d);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

START_TEST(db_check_passes_on_a_migrated_database)
{
	struct db *db = testdb_open();

	ck_assert_int_eq(health_check_db(db), 0);
	ck_assert_int_eq(health_check_db(db), 0); /* the statement is reusable */
	testdb_close(db);
}
END_TEST

START_TEST(db_check_fails_without_the_schema)
{
	struct db *db = testdb_open();

	ck_assert_int_eq(db_exec(db, "DROP TABLE schema_migrations"), 0);
	ck_assert_int_lt(health_check_db(db), 0);
	testdb_close(db);
}
END_TEST

START_TEST(db_check_fails_on_an_empty_sqlite_file)
{
	char *dir = tmp_dir(), *path = xasprintf("%s/empty.sqlite3", dir);
	struct db *db = NULL;

	ck_assert_int_eq(db_open(path, &db), 0);
	ck_assert_int_lt(health_check_db(db), 0);
	db_close(db);
	rm_rf(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(storage_check_passes_only_for_an_existing_writable_media_root)
{
	char *dir = tmp_dir(), *fresh = xasprintf("%s/media", dir);
	struct settings s;

	memset(&s, 0, sizeof(s));
	s.media_root = dir;
	ck_assert_int_eq(health_check_storage(&s), 0);
	ck_assert_int_eq(rmdir(dir), 0); /* and wrote nothing into it */
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	s.media_root = fresh; /* not there: nothing is created */
	ck_assert_int_eq(health_check_storage(&s), IA_ERR_IO);
	ck_assert_int_eq(access(fresh, F_OK), -1);
	rm_rf(dir);
	free(fresh);
	free(dir);
}
END_TEST

START_TEST(storage_check_fails_for_a_file_or_null)
{
	char *dir = tmp_dir(), *file = xasprintf("%s/plain", dir);
	struct settings s;
	FILE *f = fopen(file, "w");

	ck_assert_ptr_nonnull(f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	s.media_root = file; /* a file, not a directory */
	ck_assert_int_lt(health_check_storage(&s), 0);
	ck_assert_int_eq(health_check_storage(NULL), IA_ERR_IO);
	rm_rf(dir);
	free(file);
	free(dir);
}
END_TEST

/* Root may write anywhere: the child becomes nobody-like uid 4545 first. */
START_TEST(storage_check_fails_for_a_directory_it_may_not_write)
{
	char *dir = tmp_dir();
	struct settings s;
	int status;
	pid_t pid;

	ck_assert_int_eq(chmod(dir, 0555), 0);
	memset(&s, 0, sizeof(s));
	s.media_root = dir;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(4545) != 0 || setuid(4545) != 0))
			_exit(2);
		_exit(health_check_storage(&s) < 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	chmod(dir, 0700);
	rm_rf(dir);
	free(dir);
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, db_check_passes_on_a_migrated_database);
	tcase_add_test(tc, db_check_fails_without_the_schema);
	if (testdb_is_sqlite())
		tcase_add_test(tc, db_check_fails_on_an_empty_sqlite_file);
	tcase_add_test(tc, storage_check_passes_only_for_an_existing_writable_media_root);
	tcase_add_test(tc, storage_check_fails_for_a_file_or_null);
	tcase_add_test(tc, storage_check_fails_for_a_directory_it_may_not_write);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(health_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
