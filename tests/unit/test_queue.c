/*
 * test_queue.c - unit tests for lib/queue.c on a real migrated database
 * (SQLite, or PostgreSQL with IA_TEST_DATABASE_URL): the position of every
 * pending job is checked against what jobs_claim really does. With one
 * worker and no arrivals the positions predict the whole claim order; with
 * jobs arriving between claims, position 0 is always the job claimed next
 * and the positions of the pending jobs are always 0..n-1. Also: a job
 * that is not pending has no position, and the query reads the
 * covering index of migration 009 (SQLite's plan).
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "jobs.h"
#include "queue.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUSERS  4
#define MAXJOBS 64

static struct db *db;
static int64_t users[NUSERS];
static int64_t pending[MAXJOBS];
static size_t npending;
static unsigned rng = 12345;

static const struct job_output output = {.image_key = "images/ab/abcd.png",
					 .width = 1,
					 .height = 1,
					 .bytes = 1,
					 .content_type = "image/png"};

static void setup(void)
{
	size_t i;

	db = testdb_open();
	for (i = 0; i < NUSERS; i++) {
		char email[32];
		struct user_new nu = {.email = email, .signup_credits = 0};

		snprintf(email, sizeof(email), "q%zu@example.com", i);
		ck_assert_int_eq(users_create(db, &nu, &users[i]), 0);
	}
	npending = 0;
	rng = 12345;
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

static unsigned next_rand(void)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 16) & 0x7fff;
}

/* Queue a free job for user u (cropping costs nothing). */
static void enqueue(int64_t u)
{
	struct job_new j = {.user_id = u, .service = "cropping"};
	int64_t id;

	ck_assert_uint_lt(npending, MAXJOBS);
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	pending[npending++] = id;
}

/* Claim and finish the next job with one worker; returns its id. */
static int64_t claim_and_finish(void)
{
	struct job_claimed c;
	int64_t id;
	size_t i;

	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), 0);
	id = c.id;
	jobs_claimed_cleanup(&c);
	ck_assert_int_eq(jobs_finish(db, id, "w1", &output), 0);
	for (i = 0; i < npending && pending[i] != id; i++)
		;
	ck_assert_uint_lt(i, npending);
	pending[i] = pending[--npending];
	return id;
}

/* The pending jobs ordered by their positions, which must be 0..n-1. */
static void predicted_order(int64_t *order)
{
	size_t i;

	for (i = 0; i < npending; i++)
		order[i] = 0;
	for (i = 0; i < npending; i++) {
		int64_t pos = -1;

		ck_assert_int_eq(queue_position(db, pending[i], &pos), 0);
		ck_assert_int_ge(pos, 0);
		ck_assert_int_lt(pos, (int64_t)npending);
		ck_assert_int_eq(order[pos], 0); /* no two jobs share a position */
		order[pos] = pending[i];
	}
}

START_TEST(test_positions_predict_the_claim_order)
{
	int64_t order[MAXJOBS];
	size_t i, n, round;

	for (round = 0; round < 3; round++) {
		/* a burst of jobs from users in random order, some users with many */
		for (i = 0; i < 20; i++)
			enqueue(users[next_rand() % (round + 2 > NUSERS ? NUSERS : round + 2)]);
		/* serve a few, so users have different last-served times */
		for (i = 0; i < 5 + round; i++)
			claim_and_finish();
		n = npending;
		predicted_order(order);
		for (i = 0; i < n; i++)
			ck_assert_int_eq(claim_and_finish(), order[i]);
	}
}
END_TEST

START_TEST(test_position_zero_is_next_with_arrivals)
{
	int64_t order[MAXJOBS];
	size_t step;

	for (step = 0; step < 60; step++) {
		unsigned r = next_rand() % 3;

		if (npending < MAXJOBS - 2 && (r != 0 || npending == 0)) {
			enqueue(users[next_rand() % NUSERS]);
			continue;
		}
		predicted_order(order);
		ck_assert_int_eq(claim_and_finish(), order[0]);
	}
}
END_TEST

START_TEST(test_two_users_alternate)
{
	int64_t pos;
	size_t i;

	for (i = 0; i < 3; i++)
		enqueue(users[0]); /* A1 A2 A3 */
	enqueue(users[1]);         /* B1 */
	/* order A1 B1 A2 A3 */
	ck_assert_int_eq(queue_position(db, pending[0], &pos), 0);
	ck_assert_int_eq(pos, 0);
	ck_assert_int_eq(queue_position(db, pending[3], &pos), 0);
	ck_assert_int_eq(pos, 1);
	ck_assert_int_eq(queue_position(db, pending[1], &pos), 0);
	ck_assert_int_eq(pos, 2);
	ck_assert_int_eq(queue_position(db, pending[2], &pos), 0);
	ck_assert_int_eq(pos, 3);
}
END_TEST

START_TEST(test_no_position_unless_pending)
{
	struct job_claimed c;
	int64_t pos = 77;

	enqueue(users[0]);
	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), 0);
	ck_assert_int_eq(queue_position(db, c.id, &pos), IA_ERR_NOTFOUND);
	ck_assert_int_eq(pos, 77);
	ck_assert_int_eq(jobs_finish(db, c.id, "w1", &output), 0);
	ck_assert_int_eq(queue_position(db, c.id, &pos), IA_ERR_NOTFOUND);
	ck_assert_int_eq(queue_position(db, 999999, &pos), IA_ERR_NOTFOUND);
	jobs_claimed_cleanup(&c);
}
END_TEST

/* True when SQLite's plan for sql reads index name. */
static bool plan_uses(const char *sql, const char *name)
{
	struct db_stmt *st;
	bool found = false;

	ck_assert_int_eq(db_prepare(db, sql, &st), 0);
	while (db_step(st) == DB_ROW) {
		const char *detail = db_column_text(st, 3);

		if (detail != NULL && strstr(detail, name) != NULL)
			found = true;
	}
	db_reset(st);
	return found;
}

START_TEST(test_sqlite_plan_uses_the_pending_index)
{
	if (!testdb_is_sqlite())
		return;
	/* queue.c's two reads of the pending rows: grouped per user, and one user's before an id */
	ck_assert(
	    plan_uses("EXPLAIN QUERY PLAN SELECT w.user_id, count(*), min(w.id) FROM images w "
		      "WHERE w.status = 'pending' GROUP BY w.user_id",
		      "images_status_user"));
	ck_assert(plan_uses("EXPLAIN QUERY PLAN SELECT count(*) FROM images m WHERE m.user_id = 1 "
			    "AND m.status = 'pending' AND m.id < 5",
			    "images_status_user"));
}
END_TEST

static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_positions_predict_the_claim_order);
	tcase_add_test(tc, test_position_zero_is_next_with_arrivals);
	tcase_add_test(tc, test_two_users_alternate);
	tcase_add_test(tc, test_no_position_unless_pending);
	tcase_add_test(tc, test_sqlite_plan_uses_the_pending_index);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(queue_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
