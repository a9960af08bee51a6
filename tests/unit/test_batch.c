/*
 * test_batch.c - unit tests for lib/batch.c against a real migrated
 * database (testdb): batch_beat inserts a worker's row and refreshes its
 * time and mode without touching when it started, and prunes rows silent
 * for a day; batch_alive is true exactly while a watch worker beat within
 * BATCH_WATCH_STALE seconds or a once run within BATCH_ONCE_STALE (edges
 * included); batch_forget removes only the named worker.
 */
#include "config.h"

#include "batch.h"
#include "db.h"
#include "err.h"
#include "testdb.h"
#include "util.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

static struct db *db;

static void setup(void)
{
	db = testdb_open();
}

static void teardown(void)
{
	testdb_close(db);
}

/* Move worker's last beat to t (the beat itself always writes now). */
static void seen_at(const char *worker, int64_t t)
{
	struct db_stmt *st;

	ck_assert_int_eq(
	    db_prepare(db, "UPDATE batch_workers SET seen = ?, started = ? WHERE worker = ?", &st),
	    0);
	db_bind_int64(st, 1, t);
	db_bind_int64(st, 2, t);
	db_bind_text(st, 3, worker);
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_reset(st);
}

static bool alive_at(int64_t now)
{
	bool alive = !(now & 1); /* garbage: must be overwritten */

	ck_assert_int_eq(batch_alive(db, now, &alive), 0);
	return alive;
}

START_TEST(beat_inserts_then_refreshes_keeping_the_start)
{
	int64_t before = ia_now();

	ck_assert_int_eq(batch_beat(db, "h1:10", "h1", 10, "once"), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM batch_workers", 0), 1);
	ck_assert_int_ge(testdb_int(db, "SELECT seen FROM batch_workers", 0), before);
	seen_at("h1:10", 1000);
	ck_assert_int_eq(batch_beat(db, "h1:10", "h1", 10, "watch"), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM batch_workers", 0), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT started FROM batch_workers", 0), 1000);
	ck_assert_int_ge(testdb_int(db, "SELECT seen FROM batch_workers", 0), before);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM batch_workers WHERE mode = 'watch' "
				    "AND pid = 10 AND host = 'h1'",
				    0),
			 1);
}
END_TEST

START_TEST(beat_prunes_rows_silent_for_a_day)
{
	int64_t now = ia_now();

	ck_assert_int_eq(batch_beat(db, "old:1", "old", 1, "watch"), 0);
	ck_assert_int_eq(batch_beat(db, "recent:2", "recent", 2, "watch"), 0);
	seen_at("old:1", now - 86400 - 60);
	seen_at("recent:2", now - 86400 + 60);
	ck_assert_int_eq(batch_beat(db, "me:3", "me", 3, "watch"), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM batch_workers", 0), 2);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM batch_workers WHERE worker = 'old:1'", 0), 0);
}
END_TEST

START_TEST(alive_follows_the_staleness_of_each_mode)
{
	int64_t t = 2000000000;

	ck_assert(!alive_at(t)); /* nobody */
	ck_assert_int_eq(batch_beat(db, "w:1", "w", 1, "watch"), 0);
	seen_at("w:1", t);
	ck_assert(alive_at(t));
	ck_assert(alive_at(t + BATCH_WATCH_STALE));
	ck_assert(!alive_at(t + BATCH_WATCH_STALE + 1));
	ck_assert_int_eq(batch_forget(db, "w:1"), 0);
	ck_assert_int_eq(batch_beat(db, "c:2", "c", 2, "once"), 0);
	seen_at("c:2", t);
	ck_assert(alive_at(t + BATCH_WATCH_STALE + 1)); /* a cron run lasts longer */
	ck_assert(alive_at(t + BATCH_ONCE_STALE));
	ck_assert(!alive_at(t + BATCH_ONCE_STALE + 1));
}
END_TEST

START_TEST(forget_removes_only_that_worker)
{
	ck_assert_int_eq(batch_beat(db, "a:1", "a", 1, "watch"), 0);
	ck_assert_int_eq(batch_beat(db, "b:2", "b", 2, "watch"), 0);
	ck_assert_int_eq(batch_forget(db, "a:1"), 0);
	ck_assert_int_eq(batch_forget(db, "nobody:9"), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM batch_workers", 0), 1);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM batch_workers WHERE worker = 'b:2'", 0), 1);
	ck_assert(alive_at(ia_now()));
	ck_assert_int_eq(batch_forget(db, "b:2"), 0);
	ck_assert(!alive_at(ia_now()));
}
END_TEST

static Suite *batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, beat_inserts_then_refreshes_keeping_the_start);
	tcase_add_test(tc, beat_prunes_rows_silent_for_a_day);
	tcase_add_test(tc, alive_follows_the_staleness_of_each_mode);
	tcase_add_test(tc, forget_removes_only_that_worker);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(batch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
