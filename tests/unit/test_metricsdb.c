/*
 * test_metricsdb.c - unit tests for lib/metricsdb.c on a migrated
 * database (SQLite, or PostgreSQL with IA_TEST_DATABASE_URL): counters and
 * histograms that add up over connections, and the series read from the
 * queue, the ledger and the outbox, rendered by lib/metrics.c.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "jobs.h"
#include "metrics.h"
#include "metricsdb.h"
#include "testdb.h"
#include "users.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1900000000

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

/* The rendered text of the database's series (heap). */
static char *collect(void)
{
	struct metrics_set set;
	size_t len;
	char *text;

	metrics_set_init(&set);
	ck_assert_int_eq(metricsdb_collect(db, NOW, &set), 0);
	text = metrics_render(&set, &len);
	metrics_set_cleanup(&set);
	return text;
}

START_TEST(test_counters_add_up_over_connections)
{
	const char *key = "ia_jobs_total{service=\"greyscale\",engine=\"local\",status=\"done\"}";
	struct db *other = NULL;
	char *text;

	ck_assert_int_eq(db_open(testdb_file(), &other), 0);
	ck_assert_int_eq(metricsdb_count(db, key, 1), 0);
	ck_assert_int_eq(metricsdb_count(other, key, 2), 0);
	ck_assert_int_eq(
	    metricsdb_observe(db, "ia_job_duration_seconds{service=\"greyscale\"}", 0.2), 0);
	ck_assert_int_eq(
	    metricsdb_observe(other, "ia_job_duration_seconds{service=\"greyscale\"}", 40), 0);
	db_close(other);
	text = collect();
	ck_assert_ptr_nonnull(strstr(
	    text, "# TYPE ia_jobs_total counter\n"
		  "ia_jobs_total{service=\"greyscale\",engine=\"local\",status=\"done\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE ia_job_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_job_duration_seconds_bucket{service=\"greyscale\",le=\"0.1\"} 0\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_job_duration_seconds_bucket{service=\"greyscale\",le=\"0.25\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_job_duration_seconds_bucket{service=\"greyscale\",le=\"60\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_job_duration_seconds_sum{service=\"greyscale\"} 40.200000\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_job_duration_seconds_count{service=\"greyscale\"} 2\n"));
	free(text);
}
END_TEST

START_TEST(test_facts_of_an_empty_database)
{
	char *text = collect();

	ck_assert_ptr_nonnull(strstr(text, "ia_queue_jobs{status=\"pending\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_queue_jobs{status=\"processing\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_queue_oldest_pending_age_seconds 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_credits_total{reason=\"charge\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_credits_total{reason=\"refund\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_credits_total{reason=\"purchase\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_outbox_messages{status=\"failed\"} 0\n"));
	free(text);
}
END_TEST

START_TEST(test_queue_and_ledger)
{
	struct user_new nu = {.email = "metrics@example.com", .signup_credits = 10};
	struct job_new j = {0};
	int64_t uid, id;
	char *text, *src = NULL, *img = NULL, *thumb = NULL;

	ck_assert_int_eq(users_create(db, &nu, &uid), 0);
	j.user_id = uid;
	j.service = "greyscale";
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	ck_assert_int_eq(jobs_delete(db, id, uid, &src, &img, &thumb), 0); /* cancelled: refunded */
	free(src);
	free(img);
	free(thumb);
	text = collect();
	ck_assert_ptr_nonnull(strstr(text, "ia_queue_jobs{status=\"pending\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_credits_total{reason=\"charge\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_credits_total{reason=\"refund\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "ia_credits_total{reason=\"signup_bonus\"} 10\n"));
	/* The job was created now (wall clock), NOW is in 2030. */
	ck_assert_ptr_null(strstr(text, "ia_queue_oldest_pending_age_seconds 0\n"));
	free(text);
}
END_TEST

static Suite *metricsdb_suite(void)
{
	Suite *s = suite_create("metricsdb");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_counters_add_up_over_connections);
	tcase_add_test(tc, test_facts_of_an_empty_database);
	tcase_add_test(tc, test_queue_and_ledger);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metricsdb_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
