/*
 * test_services.c - unit tests for lib/services.c on a real migrated
 * database (SQLite, or PostgreSQL with IA_TEST_DATABASE_URL): the seeded
 * catalogue, cost and enabled edits, and the engine rules: local and
 * stability for the upload services, no local engine for generate, and
 * auto (issue 12, item 3) for remove-background only, which the schema
 * accepts since migration 007 while still refusing an unknown engine.
 *
 * The last test (SQLite only) applies the migrations up to 006, edits the
 * catalogue, then applies 007, which rebuilds the services table on
 * SQLite, and checks that every row and value survived.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "services.h"
#include "testdb.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct db *db;

static void setup(void)
{
	db = testdb_open();
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

/* The engine of slug as stored. */
static const char *engine_of(const char *slug, struct service *s)
{
	ck_assert_int_eq(services_get(db, slug, s), 0);
	return s->engine;
}

START_TEST(test_seeded_catalogue)
{
	struct service s;

	ck_assert_int_eq(services_get(db, "remove-background", &s), 0);
	ck_assert_int_eq(s.code, 2);
	ck_assert_int_eq(s.tokens, 3);
	ck_assert(s.enabled);
	ck_assert_str_eq(s.engine, "local");
	ck_assert_str_eq(engine_of("generate", &s), "stability");
	ck_assert_int_eq(services_get(db, "nope", &s), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_cost_and_enabled)
{
	struct service s;

	ck_assert_int_eq(services_set_cost(db, "greyscale", 7), 0);
	ck_assert_int_eq(services_set_enabled(db, "greyscale", false), 0);
	ck_assert_int_eq(services_get(db, "greyscale", &s), 0);
	ck_assert_int_eq(s.tokens, 7);
	ck_assert(!s.enabled);
	ck_assert_int_eq(services_set_cost(db, "greyscale", -1), IA_ERR_INVAL);
	ck_assert_int_eq(services_set_cost(db, "nope", 1), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_engine_local_and_stability)
{
	struct service s;

	ck_assert_int_eq(services_set_engine(db, "avatar", "stability"), 0);
	ck_assert_str_eq(engine_of("avatar", &s), "stability");
	ck_assert_int_eq(services_set_engine(db, "avatar", "local"), 0);
	ck_assert_str_eq(engine_of("avatar", &s), "local");
	ck_assert_int_eq(services_set_engine(db, "generate", "local"), IA_ERR_INVAL);
	ck_assert_int_eq(services_set_engine(db, "avatar", "gpu"), IA_ERR_INVAL);
	ck_assert_int_eq(services_set_engine(db, "avatar", ""), IA_ERR_INVAL);
	ck_assert_int_eq(services_set_engine(db, "avatar", "Auto"), IA_ERR_INVAL);
	ck_assert_int_eq(services_set_engine(db, "nope", "local"), IA_ERR_NOTFOUND);
	ck_assert_str_eq(engine_of("avatar", &s), "local");
}
END_TEST

/* auto needs a confidence to decide on: only remove-background's engine
 * reports one. */
START_TEST(test_engine_auto_remove_background_only)
{
	static const char *const others[] = {"greyscale",   "resize",   "thumbnail", "cropping",
					     "enhancement", "generate", "outline",   "avatar"};
	struct service s;
	size_t i;

	ck_assert_int_eq(services_set_engine(db, "remove-background", "auto"), 0);
	ck_assert_str_eq(engine_of("remove-background", &s), "auto");
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char want[16];

		snprintf(want, sizeof(want), "%s", engine_of(others[i], &s));
		ck_assert_msg(services_set_engine(db, others[i], "auto") == IA_ERR_INVAL, "%s",
			      others[i]);
		ck_assert_str_eq(engine_of(others[i], &s), want); /* unchanged */
	}
	ck_assert_int_eq(services_set_engine(db, "nope", "auto"), IA_ERR_INVAL);
	ck_assert_int_eq(services_set_engine(db, "remove-background", "stability"), 0);
	ck_assert_int_eq(services_set_engine(db, "remove-background", "auto"), 0);
	ck_assert_int_eq(services_set_engine(db, "remove-background", "local"), 0);
	ck_assert_str_eq(engine_of("remove-background", &s), "local");
}
END_TEST

/* Migration 007 widened the CHECK constraint; it still refuses an engine
 * nobody knows, whatever writes it. */
START_TEST(test_schema_engine_check)
{
	ck_assert_int_eq(db_exec(db, "UPDATE services SET engine = 'auto' "
				     "WHERE slug = 'remove-background'"),
			 0);
	ck_assert_int_ne(db_exec(db, "UPDATE services SET engine = 'gpu' WHERE slug = 'resize'"),
			 0);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM services WHERE engine = 'auto' AND code = ?", 2),
	    1);
}
END_TEST

/* SQLite's migrations, in order. */
static const char *const sqlite_migrations[] = {
    "001_accounts.sql",        "002_images.sql",
    "003_payments.sql",        "004_verification_outbox.sql",
    "005_job_reliability.sql", "006_portable_names.sql",
    "007_engine_auto.sql",
};
#define N_MIGRATIONS (sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]))

/* A copy of sql/ whose sqlite/ holds the migrations whose names sort at or
 * below last (symbolic links to the real files); returns its root (caller
 * frees with partial_sql_dir_free). */
static char *partial_sql_dir(const char *last)
{
	const char *tmp = getenv("TMPDIR");
	char *root = xasprintf("%s/ia-svc-sql-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	char *sub;
	size_t i;

	ck_assert_ptr_nonnull(mkdtemp(root));
	sub = xasprintf("%s/sqlite", root);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	for (i = 0; i < N_MIGRATIONS; i++) {
		char *from = xasprintf("%s/sqlite/%s", IA_SQL_DIR, sqlite_migrations[i]);
		char *to = xasprintf("%s/%s", sub, sqlite_migrations[i]);

		ck_assert_msg(access(from, R_OK) == 0, "%s", from);
		if (strcmp(sqlite_migrations[i], last) <= 0)
			ck_assert_int_eq(symlink(from, to), 0);
		free(from);
		free(to);
	}
	free(sub);
	return root;
}

static void partial_sql_dir_free(char *root)
{
	char *sub = xasprintf("%s/sqlite", root);
	size_t i;

	for (i = 0; i < N_MIGRATIONS; i++) {
		char *p = xasprintf("%s/%s", sub, sqlite_migrations[i]);

		(void)unlink(p);
		free(p);
	}
	rmdir(sub);
	rmdir(root);
	free(sub);
	free(root);
}

/* SQLite's 007 rebuilds the table: every row, cost, state and engine an
 * admin set before the upgrade is still there after it. */
START_TEST(test_sqlite_007_keeps_rows)
{
	const char *tmp = getenv("TMPDIR");
	char *path = xasprintf("%s/ia-svc-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	char *dir6, *dir7;
	struct db *old = NULL;
	struct service s;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	dir6 = partial_sql_dir("006_portable_names.sql");
	dir7 = partial_sql_dir("007_engine_auto.sql");
	ck_assert_int_eq(db_open(path, &old), 0);
	ck_assert_int_eq(db_migrate(old, dir6), 0);
	ck_assert_int_ne(db_exec(old, "UPDATE services SET engine = 'auto' WHERE code = 2"), 0);
	ck_assert_int_eq(services_set_cost(old, "outline", 11), 0);
	ck_assert_int_eq(services_set_enabled(old, "avatar", false), 0);
	ck_assert_int_eq(services_set_engine(old, "enhancement", "stability"), 0);
	ck_assert_int_eq(db_exec(old, "INSERT INTO services(code, slug, name, tokens) "
				      "VALUES (42, 'extra', 'Extra', 4)"),
			 0);
	ck_assert_int_eq(db_migrate(old, dir7), 0);

	ck_assert_int_eq(testdb_int(old, "SELECT count(*) FROM services WHERE ? = 1", 1), 10);
	ck_assert_int_eq(services_get(old, "outline", &s), 0);
	ck_assert_int_eq(s.tokens, 11);
	ck_assert_int_eq(s.code, 8);
	ck_assert_int_eq(services_get(old, "avatar", &s), 0);
	ck_assert(!s.enabled);
	ck_assert_int_eq(services_get(old, "enhancement", &s), 0);
	ck_assert_str_eq(s.engine, "stability");
	ck_assert_int_eq(services_get(old, "generate", &s), 0);
	ck_assert_str_eq(s.engine, "stability");
	ck_assert_int_eq(services_get(old, "extra", &s), 0);
	ck_assert_int_eq(s.code, 42);
	ck_assert_int_eq(s.tokens, 4);
	/* the new constraint, the unique slug and the table's name hold */
	ck_assert_int_eq(services_set_engine(old, "remove-background", "auto"), 0);
	ck_assert_int_ne(db_exec(old, "UPDATE services SET engine = 'gpu' WHERE code = 1"), 0);
	ck_assert_int_ne(db_exec(old, "INSERT INTO services(code, slug, name, tokens) "
				      "VALUES (43, 'extra', 'Again', 1)"),
			 0);
	ck_assert_int_eq(testdb_int(old,
				    "SELECT count(*) FROM sqlite_master WHERE ? = 1 AND "
				    "(name LIKE '%services_new%' OR sql LIKE '%services_new%')",
				    1),
			 0);
	db_close(old);
	partial_sql_dir_free(dir6);
	partial_sql_dir_free(dir7);
	unlink(path);
	free(path);
}
END_TEST

static Suite *services_suite(void)
{
	Suite *s = suite_create("services");
	TCase *tc = tcase_create("catalogue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_seeded_catalogue);
	tcase_add_test(tc, test_cost_and_enabled);
	tcase_add_test(tc, test_engine_local_and_stability);
	tcase_add_test(tc, test_engine_auto_remove_background_only);
	tcase_add_test(tc, test_schema_engine_check);
	suite_add_tcase(s, tc);
	if (testdb_is_sqlite()) {
		TCase *mig = tcase_create("migration");

		tcase_add_test(mig, test_sqlite_007_keeps_rows);
		suite_add_tcase(s, mig);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(services_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
