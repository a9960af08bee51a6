/*
 * test_jobrun.c - unit tests for lib/jobrun.c, the job runner, on a real
 * migrated database and a temp MEDIA_ROOT: a greyscale job on a real
 * small PNG (stored as uploaded) ends 'done' with a result file of the
 * source's size; engines that fail leave the job 'failed' with a sentence
 * for the user as its error and the cost refunded once: an upload that
 * does not decode (local engine) and generate without a Stability AI key
 * or the local generator. An empty queue is IA_ERR_NOTFOUND.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "jobrun.h"
#include "jobs.h"
#include "settings.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

static struct db *db;
static struct settings st;
static struct jobrun_self self;
static char *root;
static int64_t uid;
static char runner_id[64];

static void setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "runner@example.com", 50);
	root = testdb_tmpdir("jobrun");
	memset(&st, 0, sizeof(st));
	st.media_root = root;
	st.stability_ai_key = (char *)"";
	st.job_retry_base = 1;
	snprintf(runner_id, sizeof(runner_id), "localhost:%ld", (long)getpid());
	self.id = runner_id;
	self.host = "localhost";
	self.mode = "once";
	self.max_seconds = 60;
}

static void teardown(void)
{
	testdb_rmtree(root);
	testdb_close(db);
	db = NULL;
}

/* Enqueue (and charge) a job of service on the stored source key (NULL: none). */
static int64_t enqueue(const char *service, const char *source_key, const char *prompt)
{
	struct job_new j = {0};
	int64_t id = 0;

	j.user_id = uid;
	j.service = service;
	j.source_key = source_key;
	j.source_raw = source_key != NULL;
	j.prompt = prompt;
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	return id;
}

/*
 * A sentence for the user, not a diagnostic: a capital first, a full stop
 * last, bounded, and no error codes or format leftovers. Wording may
 * change; these properties may not.
 */
static bool readable(const char *e)
{
	size_t n = strlen(e);

	return n > 10 && n < 200 && e[0] >= 'A' && e[0] <= 'Z' && e[n - 1] == '.' &&
	       strstr(e, "IA_ERR") == NULL && strchr(e, '%') == NULL &&
	       strstr(e, "errno") == NULL && strcasestr(e, "image") != NULL;
}

static int64_t refunds(int64_t id)
{
	return testdb_image_ledger(db, id, "refund");
}

START_TEST(test_png_job_produces_result)
{
	int64_t id;
	char *status, *key;

	testdb_put(root, "sources/ab/dot.png", testdb_png1x1, testdb_png1x1_len);
	id = enqueue("greyscale", "sources/ab/dot.png", NULL);
	ck_assert_int_eq(jobrun_run_one(db, &st, &self), 0);
	status = testdb_text(db, "SELECT status FROM images WHERE id = ?", id);
	ck_assert_str_eq(status, "done");
	key = testdb_text(db, "SELECT image_key FROM images WHERE id = ?", id);
	ck_assert(strncmp(key, "images/", 7) == 0);
	ck_assert(testdb_exists(root, key));
	ck_assert_int_eq(testdb_int(db, "SELECT width FROM images WHERE id = ?", id), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT height FROM images WHERE id = ?", id), 1);
	ck_assert_int_eq(refunds(id), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid), 49);
	/* nothing left to do */
	ck_assert_int_eq(jobrun_run_one(db, &st, &self), IA_ERR_NOTFOUND);
	free(status);
	free(key);
}
END_TEST

START_TEST(test_undecodable_upload_fails_readably)
{
	int64_t id;
	char *status, *error;

	testdb_put(root, "sources/ab/broken.png", testdb_png1x1, 40); /* a PNG cut short */
	id = enqueue("greyscale", "sources/ab/broken.png", NULL);
	ck_assert_int_eq(jobrun_run_one(db, &st, &self), 0);
	status = testdb_text(db, "SELECT status FROM images WHERE id = ?", id);
	error = testdb_text(db, "SELECT error FROM images WHERE id = ?", id);
	ck_assert_str_eq(status, "failed");
	ck_assert_msg(readable(error), "not a sentence for the user: %s", error);
	ck_assert_ptr_nonnull(strstr(error, "decode"));
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid), 50);
	free(status);
	free(error);
}
END_TEST

START_TEST(test_generate_without_engine_fails_readably)
{
	int64_t id;
	char *status, *error;

	id = enqueue("generate", NULL, "a red fox");
	ck_assert_int_eq(jobrun_run_one(db, &st, &self), 0);
	status = testdb_text(db, "SELECT status FROM images WHERE id = ?", id);
	error = testdb_text(db, "SELECT error FROM images WHERE id = ?", id);
	ck_assert_str_eq(status, "failed");
	ck_assert_msg(readable(error), "not a sentence for the user: %s", error);
	ck_assert_ptr_nonnull(strstr(error, "not available"));
	/* the setting's name is for the log, not for the user */
	ck_assert_ptr_null(strstr(error, "STABILITY_AI_KEY"));
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid), 50);
	free(status);
	free(error);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jobrun");
	TCase *tc = tcase_create("jobrun");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_png_job_produces_result);
	tcase_add_test(tc, test_undecodable_upload_fails_readably);
	tcase_add_test(tc, test_generate_without_engine_fails_readably);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
