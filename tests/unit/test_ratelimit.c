/*
 * test_ratelimit.c - unit tests for lib/ratelimit.c on a real migrated
 * SQLite file: counting per window and bucket, Retry-After, switching
 * limiting off, pruning of old windows.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "ratelimit.h"
#include "testdb.h"

#include <check.h>
#include <stdlib.h>

#define T0 1800000000 /* a window start: divisible by 60 */

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

START_TEST(test_counts_and_retry_after)
{
	int64_t retry = -1;

	ck_assert_int_eq(T0 % 60, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ratelimit_hit(db, "login:10.0.0.1", 3, T0 + 10, &retry), 0);
	ck_assert_int_eq(retry, -1);
	ck_assert_int_eq(ratelimit_hit(db, "login:10.0.0.1", 3, T0 + 15, &retry), IA_ERR_BUSY);
	ck_assert_int_eq(retry, 45);
	ck_assert_int_eq(ratelimit_hit(db, "login:10.0.0.1", 3, T0 + 59, &retry), IA_ERR_BUSY);
	ck_assert_int_eq(retry, 1);
	/* another bucket has its own count */
	ck_assert_int_eq(ratelimit_hit(db, "login:10.0.0.2", 3, T0 + 20, &retry), 0);
	ck_assert_int_eq(ratelimit_hit(db, "signup:10.0.0.1", 3, T0 + 20, &retry), 0);
	/* the next window starts fresh */
	ck_assert_int_eq(ratelimit_hit(db, "login:10.0.0.1", 3, T0 + 60, &retry), 0);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count FROM rate_limits WHERE window_start = ?", T0 + 60), 1);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count FROM rate_limits WHERE bucket = "
				    "'login:10.0.0.1' AND window_start = ?",
				    T0),
			 5);
}
END_TEST

START_TEST(test_off)
{
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(ratelimit_hit(db, "login:x", 0, T0, NULL), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM rate_limits", 0), 0);
	ck_assert_int_eq(ratelimit_hit(db, NULL, 3, T0, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(ratelimit_hit(db, "x", -1, T0, NULL), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_prune)
{
	ck_assert_int_eq(ratelimit_hit(db, "a", 5, T0, NULL), 0);
	ck_assert_int_eq(ratelimit_hit(db, "b", 5, T0 + 60, NULL), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM rate_limits", 0), 2);
	/* opening a window three minutes later drops those older than two */
	ck_assert_int_eq(ratelimit_hit(db, "c", 5, T0 + 180, NULL), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM rate_limits", 0), 2);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM rate_limits WHERE bucket = 'a'", 0),
			 0);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_counts_and_retry_after);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_prune);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
