/*
 * test_jobs.c - unit tests for lib/jobs.c on a real migrated SQLite file:
 * enqueue charges exactly once (or not at all for a free service, a short
 * balance or a disabled service), claim takes the oldest job with a lease,
 * an expired lease is taken over and the first worker loses the job,
 * failures retry and then fail with exactly one refund, the reaper in
 * jobs_claim fails jobs that died on their last attempt, deletion refunds
 * pending and processing jobs once, the processed listing pages newest
 * first; and (issue 9) claims are fair across users, the per-user limit
 * of active jobs holds (402 before 429), retries wait out their backoff,
 * leases are renewed and a dead local worker's job is released at once.
 *
 * Leases are expired without sleeping: claiming with lease_seconds = -10
 * puts lease_until in the past.
 */
#include "config.h"

#include "credits.h"
#include "db.h"
#include "err.h"
#include "jobs.h"
#include "services.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct db *db;
static int64_t uid;

static void setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "jobs@example.com", 10);
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

static int64_t balance(void)
{
	return testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid);
}

static int64_t charges(int64_t image_id)
{
	return testdb_image_ledger(db, image_id, "charge");
}

static int64_t refunds(int64_t image_id)
{
	return testdb_image_ledger(db, image_id, "refund");
}

static int64_t ledger_rows(void)
{
	return testdb_user_ledger(db, uid, NULL);
}

static int64_t image_rows(void)
{
	return testdb_int(db, "SELECT count(*) FROM images WHERE user_id = ?", uid);
}

static int64_t enqueue(const char *service)
{
	struct job_new j = {.user_id = uid, .service = service};
	int64_t id = -1;

	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	ck_assert_int_gt(id, 0);
	return id;
}

/* The status of image id, copied into a static buffer. */
static const char *status_of(int64_t id)
{
	static char status[16];
	struct job_row r;

	ck_assert_int_eq(jobs_get(db, id, 0, &r), 0);
	snprintf(status, sizeof(status), "%s", r.status);
	jobs_row_cleanup(&r);
	return status;
}

static int64_t claim(const char *worker, int64_t lease)
{
	struct job_claimed c;
	int64_t id;

	ck_assert_int_eq(jobs_claim(db, worker, lease, &c), 0);
	id = c.id;
	jobs_claimed_cleanup(&c);
	return id;
}

static const struct job_output output = {.image_key = "images/ab/abcd.png",
					 .thumbnail_key = "images/ab/abcd.webp",
					 .width = 10,
					 .height = 20,
					 .bytes = 300,
					 .content_type = "image/png",
					 .ai_response = NULL};

START_TEST(test_enqueue_charges_once)
{
	struct job_new j = {.user_id = uid,
			    .service = "remove-background",
			    .params = "{\"x\":1}",
			    .source_key = "uploads/aa/aa.png",
			    .original_name = "holiday.png"};
	struct job_row r;
	int64_t id = -1;

	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	ck_assert_int_eq(balance(), 7);
	ck_assert_int_eq(charges(id), 1);
	ck_assert_int_eq(refunds(id), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT delta FROM credit_ledger WHERE image_id = ?", id),
			 -3);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT balance_after FROM credit_ledger WHERE image_id = ?", id), 7);
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_str_eq(r.status, "pending");
	ck_assert_str_eq(r.service, "remove-background");
	ck_assert_str_eq(r.params, "{\"x\":1}");
	ck_assert_str_eq(r.source_key, "uploads/aa/aa.png");
	ck_assert_str_eq(r.original_name, "holiday.png");
	ck_assert_ptr_null(r.thumbnail_key);
	ck_assert_int_eq(r.cost, 3);
	ck_assert(r.payment_made);
	jobs_row_cleanup(&r);
	/* params default to an empty object, and a prompt has no file name */
	id = enqueue("greyscale");
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_str_eq(r.params, "{}");
	ck_assert_ptr_null(r.original_name);
	jobs_row_cleanup(&r);
	ck_assert_int_eq(balance(), 6);
	ck_assert_int_eq(charges(id), 1);
}
END_TEST

START_TEST(test_enqueue_short_funds)
{
	struct job_new j = {.user_id = uid, .service = "remove-background"};
	int64_t id = -1, rows;

	ck_assert_int_eq(credits_apply(db, uid, -8, CREDITS_ADMIN_REVOKE, 0, NULL, NULL), 0);
	rows = ledger_rows();
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), IA_ERR_FUNDS);
	ck_assert_int_eq(id, -1);
	ck_assert_int_eq(balance(), 2);
	ck_assert_int_eq(ledger_rows(), rows);
	ck_assert_int_eq(image_rows(), 0);
	/* exactly enough is enough */
	j.service = "outline";
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	ck_assert_int_eq(balance(), 0);
}
END_TEST

START_TEST(test_enqueue_unavailable)
{
	struct job_new j = {.user_id = uid, .service = "greyscale"};
	int64_t id = -1, rows = ledger_rows();

	ck_assert_int_eq(services_set_enabled(db, "greyscale", false), 0);
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), IA_ERR_UNAVAILABLE);
	j.service = "no-such-service";
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), IA_ERR_UNAVAILABLE);
	ck_assert_int_eq(id, -1);
	ck_assert_int_eq(balance(), 10);
	ck_assert_int_eq(ledger_rows(), rows);
	ck_assert_int_eq(image_rows(), 0);
	ck_assert_int_eq(services_set_enabled(db, "greyscale", true), 0);
	j.service = "greyscale";
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
}
END_TEST

START_TEST(test_enqueue_free_service)
{
	struct job_row r;
	int64_t id, rows;

	ck_assert_int_eq(credits_apply(db, uid, -10, CREDITS_ADMIN_REVOKE, 0, NULL, NULL), 0);
	rows = ledger_rows();
	id = enqueue("cropping"); /* cost 0: allowed even with a zero balance */
	ck_assert_int_eq(balance(), 0);
	ck_assert_int_eq(ledger_rows(), rows);
	ck_assert_int_eq(charges(id), 0);
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_int_eq(r.cost, 0);
	ck_assert(!r.payment_made);
	jobs_row_cleanup(&r);
	/* failing a free job refunds nothing */
	ck_assert_int_eq(claim("w1", 60), id);
	ck_assert_int_eq(jobs_fail(db, id, "w1", "boom", false, NULL), 0);
	ck_assert_str_eq(status_of(id), "failed");
	ck_assert_int_eq(ledger_rows(), rows);
}
END_TEST

START_TEST(test_claim_oldest_first)
{
	struct job_new jn = {.user_id = uid,
			     .service = "generate",
			     .prompt = "a cat",
			     .aspect_ratio = "16:9",
			     .params = "{\"style\":\"x\"}"};
	struct job_claimed c;
	int64_t a, b, g, now = ia_now();

	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), IA_ERR_NOTFOUND);
	ck_assert_int_eq(credits_apply(db, uid, 10, CREDITS_ADMIN_GRANT, 0, NULL, NULL), 0);
	a = enqueue("greyscale");
	b = enqueue("thumbnail");
	ck_assert_int_eq(jobs_enqueue(db, &jn, &g), 0);

	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), 0);
	ck_assert_int_eq(c.id, a);
	ck_assert_int_eq(c.user_id, uid);
	ck_assert_str_eq(c.service, "greyscale");
	ck_assert_str_eq(c.engine, "local");
	ck_assert_str_eq(c.params, "{}");
	ck_assert_ptr_null(c.prompt);
	ck_assert_int_eq(c.attempts, 1);
	jobs_claimed_cleanup(&c);
	ck_assert_str_eq(status_of(a), "processing");
	ck_assert_int_eq(testdb_int(db, "SELECT attempts FROM images WHERE id = ?", a), 1);
	ck_assert_int_ge(testdb_int(db, "SELECT lease_until FROM images WHERE id = ?", a),
			 now + 60);
	ck_assert_int_le(testdb_int(db, "SELECT lease_until FROM images WHERE id = ?", a),
			 ia_now() + 60);
	ck_assert_int_eq(testdb_int(db, "SELECT worker = 'w1' FROM images WHERE id = ?", a), 1);

	ck_assert_int_eq(claim("w2", 60), b);
	ck_assert_int_eq(testdb_int(db, "SELECT worker = 'w2' FROM images WHERE id = ?", b), 1);

	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), 0);
	ck_assert_int_eq(c.id, g);
	ck_assert_str_eq(c.engine, "stability");
	ck_assert_str_eq(c.prompt, "a cat");
	ck_assert_str_eq(c.aspect_ratio, "16:9");
	ck_assert_str_eq(c.params, "{\"style\":\"x\"}");
	jobs_claimed_cleanup(&c);

	/* every job is leased: nothing to do */
	ck_assert_int_eq(jobs_claim(db, "w3", 60, &c), IA_ERR_NOTFOUND);
	ck_assert_str_eq(status_of(a), "processing");
}
END_TEST

START_TEST(test_expired_lease_taken_over)
{
	struct job_claimed c;
	struct job_row r;
	int64_t id = enqueue("greyscale");

	ck_assert_int_eq(claim("w1", -10), id);
	ck_assert_int_eq(jobs_claim(db, "w2", 60, &c), 0);
	ck_assert_int_eq(c.id, id);
	ck_assert_int_eq(c.attempts, 2);
	jobs_claimed_cleanup(&c);
	ck_assert_int_eq(testdb_int(db, "SELECT worker = 'w2' FROM images WHERE id = ?", id), 1);

	/* the first worker lost its lease: its result is refused */
	ck_assert_int_eq(jobs_finish(db, id, "w1", &output), IA_ERR_BUSY);
	ck_assert_str_eq(status_of(id), "processing");
	ck_assert_int_eq(jobs_fail(db, id, "w1", "late", false, NULL), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_fail(db, id, "w1", "late", true, NULL), IA_ERR_BUSY);
	ck_assert_str_eq(status_of(id), "processing");
	ck_assert_int_eq(refunds(id), 0);

	ck_assert_int_eq(jobs_finish(db, id, "w2", &output), 0);
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_str_eq(r.status, "done");
	ck_assert_str_eq(r.image_key, "images/ab/abcd.png");
	ck_assert_int_eq(r.width, 10);
	ck_assert_int_eq(r.height, 20);
	ck_assert_int_eq(r.bytes, 300);
	ck_assert_str_eq(r.content_type, "image/png");
	ck_assert_str_eq(r.thumbnail_key, "images/ab/abcd.webp");
	ck_assert_ptr_null(r.error);
	jobs_row_cleanup(&r);
	ck_assert(testdb_int(db, "SELECT lease_until IS NULL FROM images WHERE id = ?", id) == 1);
	/* finishing twice, or failing a done job, changes nothing */
	ck_assert_int_eq(jobs_finish(db, id, "w2", &output), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_fail(db, id, "w2", "x", false, NULL), IA_ERR_BUSY);
	ck_assert_str_eq(status_of(id), "done");
	ck_assert_int_eq(charges(id), 1);
	ck_assert_int_eq(refunds(id), 0);
	ck_assert_int_eq(balance(), 9);
}
END_TEST

START_TEST(test_fail_retry_then_fail_for_good)
{
	struct job_claimed c;
	struct job_row r;
	int64_t id = enqueue("remove-background");
	int attempt;

	ck_assert_int_eq(balance(), 7);
	for (attempt = 1; attempt < JOBS_MAX_ATTEMPTS; attempt++) {
		ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), 0);
		ck_assert_int_eq(c.id, id);
		ck_assert_int_eq(c.attempts, attempt);
		jobs_claimed_cleanup(&c);
		ck_assert_int_eq(jobs_fail(db, id, "w1", "transient", true, NULL), 0);
		ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
		ck_assert_str_eq(r.status, "pending");
		ck_assert_str_eq(r.error, "transient");
		jobs_row_cleanup(&r);
		ck_assert_int_eq(refunds(id), 0);
		ck_assert_int_eq(balance(), 7);
	}
	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), 0);
	ck_assert_int_eq(c.attempts, JOBS_MAX_ATTEMPTS);
	jobs_claimed_cleanup(&c);
	/* a retry is asked for, but no attempts remain */
	ck_assert_int_eq(jobs_fail(db, id, "w1", "still broken", true, "{\"upstream\":500}"), 0);
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_str_eq(r.status, "failed");
	ck_assert_str_eq(r.error, "still broken");
	ck_assert_str_eq(r.ai_response, "{\"upstream\":500}");
	jobs_row_cleanup(&r);
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT delta FROM credit_ledger WHERE image_id = ? AND "
				    "reason = 'refund'",
				    id),
			 3);
	ck_assert_int_eq(balance(), 10);

	/* a second failure report changes nothing */
	ck_assert_int_eq(jobs_fail(db, id, "w1", "again", false, NULL), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_fail(db, id, NULL, "again", false, NULL), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_fail(db, id, "w1", "again", true, NULL), IA_ERR_BUSY);
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(balance(), 10);
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_str_eq(r.error, "still broken");
	jobs_row_cleanup(&r);
	/* and a failed job is not claimed again */
	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_fail_without_retry)
{
	int64_t id = enqueue("avatar");

	ck_assert_int_eq(balance(), 5);
	ck_assert_int_eq(claim("w1", 60), id);
	ck_assert_int_eq(jobs_fail(db, id, "w1", "bad input", false, NULL), 0);
	ck_assert_str_eq(status_of(id), "failed");
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(balance(), 10);
}
END_TEST

START_TEST(test_fail_pending_job_refused)
{
	int64_t id = enqueue("greyscale");

	/* nobody holds a lease on a pending job */
	ck_assert_int_eq(jobs_fail(db, id, "w1", "x", false, NULL), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_fail(db, id, "w1", "x", true, NULL), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_finish(db, id, "w1", &output), IA_ERR_BUSY);
	ck_assert_str_eq(status_of(id), "pending");
	ck_assert_int_eq(refunds(id), 0);
}
END_TEST

START_TEST(test_reaper_fails_last_attempt)
{
	struct job_claimed c;
	struct job_row r;
	int64_t id = enqueue("enhancement");
	int attempt;

	ck_assert_int_eq(balance(), 7);
	/* every attempt dies with its lease */
	for (attempt = 1; attempt <= JOBS_MAX_ATTEMPTS; attempt++) {
		ck_assert_int_eq(jobs_claim(db, "w1", -10, &c), 0);
		ck_assert_int_eq(c.id, id);
		ck_assert_int_eq(c.attempts, attempt);
		jobs_claimed_cleanup(&c);
	}
	ck_assert_str_eq(status_of(id), "processing");
	ck_assert_int_eq(refunds(id), 0);
	/* the next claim finds it dead on its last attempt: failed and refunded */
	ck_assert_int_eq(jobs_claim(db, "w2", 60, &c), IA_ERR_NOTFOUND);
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_str_eq(r.status, "failed");
	ck_assert_ptr_nonnull(r.error);
	jobs_row_cleanup(&r);
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(balance(), 10);
	/* once only */
	ck_assert_int_eq(jobs_claim(db, "w2", 60, &c), IA_ERR_NOTFOUND);
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(balance(), 10);
	/* and the last worker cannot finish it any more */
	ck_assert_int_eq(jobs_finish(db, id, "w1", &output), IA_ERR_BUSY);
}
END_TEST

START_TEST(test_reaper_then_claims_next)
{
	struct job_claimed c;
	int64_t dead = enqueue("greyscale"), next;
	int attempt;

	for (attempt = 1; attempt <= JOBS_MAX_ATTEMPTS; attempt++)
		ck_assert_int_eq(claim("w1", -10), dead);
	next = enqueue("greyscale");
	ck_assert_int_eq(jobs_claim(db, "w2", 60, &c), 0);
	ck_assert_int_eq(c.id, next);
	ck_assert_int_eq(c.attempts, 1);
	jobs_claimed_cleanup(&c);
	ck_assert_str_eq(status_of(dead), "failed");
	ck_assert_int_eq(refunds(dead), 1);
	ck_assert_int_eq(balance(), 9);
}
END_TEST

START_TEST(test_delete)
{
	char *src = (char *)"sentinel", *img = (char *)"sentinel", *thumb = (char *)"sentinel";
	struct job_new jn = {
	    .user_id = uid, .service = "remove-background", .source_key = "u/a.png"};
	struct user_new other = {.email = "other@example.com"};
	int64_t pending, done, failed, other_uid;

	done = enqueue("greyscale");
	failed = enqueue("greyscale");
	ck_assert_int_eq(jobs_enqueue(db, &jn, &pending), 0);
	ck_assert_int_eq(balance(), 5);
	ck_assert_int_eq(claim("w1", 60), done);
	ck_assert_int_eq(jobs_finish(db, done, "w1", &output), 0);
	ck_assert_int_eq(claim("w1", 60), failed);
	ck_assert_int_eq(jobs_fail(db, failed, "w1", "bad", false, NULL), 0);
	ck_assert_int_eq(balance(), 6);

	/* someone else's image is not found, and nothing moves */
	ck_assert_int_eq(users_create(db, &other, &other_uid), 0);
	ck_assert_int_eq(jobs_delete(db, pending, other_uid, &src, &img, &thumb), IA_ERR_NOTFOUND);
	ck_assert_str_eq(src, "sentinel");
	ck_assert_int_eq(jobs_delete(db, 999999, uid, &src, &img, &thumb), IA_ERR_NOTFOUND);

	ck_assert_int_eq(jobs_delete(db, pending, uid, &src, &img, &thumb), 0);
	ck_assert_str_eq(src, "u/a.png");
	ck_assert_ptr_null(img);
	ck_assert_ptr_null(thumb);
	free(src);
	ck_assert_int_eq(refunds(pending), 1);
	ck_assert_int_eq(balance(), 9);

	ck_assert_int_eq(jobs_delete(db, done, uid, &src, &img, &thumb), 0);
	ck_assert_ptr_null(src);
	ck_assert_str_eq(img, "images/ab/abcd.png");
	ck_assert_str_eq(thumb, "images/ab/abcd.webp");
	free(img);
	free(thumb);
	ck_assert_int_eq(refunds(done), 0);
	ck_assert_int_eq(balance(), 9);

	ck_assert_int_eq(jobs_delete(db, failed, uid, &src, &img, &thumb), 0);
	ck_assert_int_eq(refunds(failed), 1); /* the one from the failure */
	ck_assert_int_eq(balance(), 9);
	ck_assert_int_eq(image_rows(), 0);
	ck_assert_int_eq(jobs_delete(db, failed, uid, &src, &img, &thumb), IA_ERR_NOTFOUND);
}
END_TEST

/* Issue 13 point 2: a result's preview is a media key of its row (orphan
 * scans and storage copies see it) until a staff override replaces the
 * result it shows. */
static int collect_key(void *ud, const char *key)
{
	int *seen = ud;

	if (strcmp(key, "images/ab/abcd.webp") == 0)
		(*seen)++;
	return 0;
}

START_TEST(test_preview_is_a_media_key_until_overridden)
{
	int64_t id = enqueue("greyscale");
	struct job_row r;
	int seen = 0;

	ck_assert_int_eq(claim("w1", 60), id);
	ck_assert_int_eq(jobs_finish(db, id, "w1", &output), 0);
	ck_assert_int_eq(jobs_each_media_key(db, collect_key, &seen), 0);
	ck_assert_int_eq(seen, 1);
	ck_assert_int_eq(
	    jobs_set_processed(db, id, "images/cd/cdef.png", NULL, 1, 1, 9, "image/png"), 0);
	ck_assert_int_eq(jobs_get(db, id, uid, &r), 0);
	ck_assert_ptr_null(r.thumbnail_key);
	ck_assert_str_eq(r.image_key, "images/cd/cdef.png");
	jobs_row_cleanup(&r);
	seen = 0;
	ck_assert_int_eq(jobs_each_media_key(db, collect_key, &seen), 0);
	ck_assert_int_eq(seen, 0);
}
END_TEST

/* Issue 9 point 10: a job deleted while processing is refunded once, and
 * its worker then finds it gone. */
START_TEST(test_delete_while_processing_refunds_once)
{
	char *src = NULL, *img = NULL, *thumb = NULL;
	int64_t id = enqueue("remove-background");

	ck_assert_int_eq(balance(), 7);
	ck_assert_int_eq(claim("w1", 60), id);
	ck_assert_int_eq(jobs_delete(db, id, uid, &src, &img, &thumb), 0);
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(balance(), 10);
	ck_assert_int_eq(jobs_renew(db, id, "w1", 15), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_finish(db, id, "w1", &output), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_fail(db, id, "w1", "late", false, NULL), IA_ERR_BUSY);
	ck_assert_int_eq(refunds(id), 1);
	ck_assert_int_eq(balance(), 10);
}
END_TEST

/* Issue 9 point 6: user B's one job is not stuck behind user A's queue. */
START_TEST(test_claim_fair_across_users)
{
	struct user_new nb = {.email = "b@example.com", .signup_credits = 10};
	struct job_new jb = {.service = "cropping"};
	int64_t a[8], b, a1, a2;
	int i;

	for (i = 0; i < 8; i++)
		a[i] = enqueue("cropping");
	ck_assert_int_eq(users_create(db, &nb, &jb.user_id), 0);
	ck_assert_int_eq(jobs_enqueue(db, &jb, &b), 0);
	/* two workers: B's job is among the first two claims */
	a1 = claim("w1", 60);
	ck_assert_int_eq(a1, a[0]);
	ck_assert_int_eq(claim("w2", 60), b);
	/* one worker finishing each job: users alternate */
	ck_assert_int_eq(jobs_finish(db, a1, "w1", &output), 0);
	ck_assert_int_eq(jobs_finish(db, b, "w2", &output), 0);
	ck_assert_int_eq(jobs_enqueue(db, &jb, &b), 0);
	a2 = claim("w1", 60);
	ck_assert_int_eq(a2, a[1]); /* A was served longest ago... */
	ck_assert_int_eq(jobs_finish(db, a2, "w1", &output), 0);
	ck_assert_int_eq(claim("w1", 60), b); /* ...then B, not A's six others */
}
END_TEST

/* Issue 9 point 6: MAX_ACTIVE_JOBS_PER_USER, free services included; 402 wins. */
START_TEST(test_active_limit)
{
	struct job_new j = {.user_id = uid, .service = "cropping", .max_active = 2};
	int64_t id, first;

	ck_assert_int_eq(jobs_precheck(db, uid, 0, 2), 0);
	ck_assert_int_eq(jobs_enqueue(db, &j, &first), 0);
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), IA_ERR_TOOBIG);
	ck_assert_int_eq(jobs_precheck(db, uid, 0, 2), IA_ERR_TOOBIG);
	ck_assert_int_eq(image_rows(), 2);
	/* short of credits and at the limit: 402 wins */
	j.service = "avatar";
	ck_assert_int_eq(jobs_precheck(db, uid, 50, 2), IA_ERR_FUNDS);
	ck_assert_int_eq(credits_apply(db, uid, -10, CREDITS_ADMIN_REVOKE, 0, NULL, NULL), 0);
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), IA_ERR_FUNDS);
	ck_assert_int_eq(image_rows(), 2);
	/* a finished job frees a slot; no limit with 0 */
	ck_assert_int_eq(claim("w1", 60), first);
	ck_assert_int_eq(jobs_finish(db, first, "w1", &output), 0);
	j.service = "cropping";
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	j.max_active = 0;
	ck_assert_int_eq(jobs_enqueue(db, &j, &id), 0);
	ck_assert_int_eq(jobs_precheck(db, uid, 0, 0), 0);
}
END_TEST

/* Issue 9 point 8: a transient failure waits out its backoff. */
START_TEST(test_retry_backoff)
{
	struct job_claimed c;
	int64_t id = enqueue("greyscale");

	ck_assert_int_eq(claim("w1", 60), id);
	ck_assert_int_eq(jobs_fail_later(db, id, "w1", "The disk is full.", 100, NULL), 0);
	ck_assert_str_eq(status_of(id), "pending");
	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), IA_ERR_NOTFOUND);
	testdb_int(db, "UPDATE images SET run_after = 0 WHERE id = ? RETURNING 1", id);
	ck_assert_int_eq(claim("w1", 60), id);
	/* permanent: at once, refunded */
	ck_assert_int_eq(jobs_fail_later(db, id, "w1", "Undecodable.", -1, NULL), 0);
	ck_assert_str_eq(status_of(id), "failed");
	ck_assert_int_eq(refunds(id), 1);
}
END_TEST

/* Issue 9 point 7: a renewed lease holds; a dead local worker's job is
 * released at once. */
START_TEST(test_renew_and_reclaim_dead)
{
	struct job_claimed c;
	char worker[64];
	int64_t id = enqueue("greyscale");
	pid_t pid = fork();
	int n = -1;

	if (pid == 0)
		_exit(0);
	ck_assert_int_gt(pid, 0);
	waitpid(pid, NULL, 0); /* pid is now gone */
	snprintf(worker, sizeof(worker), "testhost:%ld", (long)pid);
	ck_assert_int_eq(claim(worker, 60), id);
	ck_assert_int_eq(jobs_renew(db, id, worker, 15), 0);
	ck_assert_int_eq(jobs_renew(db, id, "w2", 15), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_claim(db, "w2", 15, &c), IA_ERR_NOTFOUND);
	ck_assert_int_eq(jobs_reclaim_dead(db, "otherhost", &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(jobs_claim(db, "w2", 15, &c), IA_ERR_NOTFOUND);
	ck_assert_int_eq(jobs_reclaim_dead(db, "testhost", &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(claim("w2", 15), id);
	ck_assert_int_eq(jobs_finish(db, id, worker, &output), IA_ERR_BUSY);
	ck_assert_int_eq(jobs_finish(db, id, "w2", &output), 0);
}
END_TEST

struct walk {
	int64_t ids[16];
	int n;
	int stop_after; /* return 7 after this many rows, 0 = never */
};

static int walk_fn(void *ud, const struct job_row *r)
{
	struct walk *w = ud;

	ck_assert_int_lt(w->n, 16);
	ck_assert_int_eq(r->user_id, uid);
	ck_assert(strcmp(r->status, "done") == 0 || strcmp(r->status, "failed") == 0);
	w->ids[w->n++] = r->id;
	return w->stop_after > 0 && w->n >= w->stop_after ? 7 : 0;
}

/* The gallery's default listing: processed (done or failed) images of every service. */
static const struct jobs_filter processed = {JOBS_PROCESSED, NULL};

START_TEST(test_processed_listing)
{
	struct user_new nu = {.email = "someone@example.com", .signup_credits = 10};
	struct job_new other = {.service = "greyscale"};
	int64_t ids[6], count = -1, oid, oimg;
	struct walk w;
	int i;

	ck_assert_int_eq(jobs_count_filtered(db, uid, &processed, &count), 0);
	ck_assert_int_eq(count, 0);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(jobs_each_filtered(db, uid, &processed, 0, 10, walk_fn, &w), 0);
	ck_assert_int_eq(w.n, 0);

	for (i = 0; i < 6; i++)
		ids[i] = enqueue("cropping");
	/* 0, 2, 3 done; 4 failed; 1 processing; 5 pending */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(claim("w1", 60), ids[i]);
	ck_assert_int_eq(jobs_finish(db, ids[0], "w1", &output), 0);
	ck_assert_int_eq(jobs_finish(db, ids[2], "w1", &output), 0);
	ck_assert_int_eq(jobs_finish(db, ids[3], "w1", &output), 0);
	ck_assert_int_eq(jobs_fail(db, ids[4], "w1", "x", false, NULL), 0);
	/* another user's processed job is not listed */
	ck_assert_int_eq(users_create(db, &nu, &oid), 0);
	other.user_id = oid;
	ck_assert_int_eq(jobs_enqueue(db, &other, &oimg), 0);
	/* fair claims: the other user has nothing running, uid has ids[1] */
	ck_assert_int_eq(claim("w1", 60), oimg);
	ck_assert_int_eq(claim("w1", 60), ids[5]);
	ck_assert_int_eq(jobs_finish(db, oimg, "w1", &output), 0);
	ck_assert_int_eq(jobs_fail(db, ids[5], "w1", "retry", true, NULL), 0);

	ck_assert_int_eq(jobs_count_filtered(db, uid, &processed, &count), 0);
	ck_assert_int_eq(count, 4);

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(jobs_each_filtered(db, uid, &processed, 0, 10, walk_fn, &w), 0);
	ck_assert_int_eq(w.n, 4);
	ck_assert_int_eq(w.ids[0], ids[4]);
	ck_assert_int_eq(w.ids[1], ids[3]);
	ck_assert_int_eq(w.ids[2], ids[2]);
	ck_assert_int_eq(w.ids[3], ids[0]);

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(jobs_each_filtered(db, uid, &processed, 1, 2, walk_fn, &w), 0);
	ck_assert_int_eq(w.n, 2);
	ck_assert_int_eq(w.ids[0], ids[3]);
	ck_assert_int_eq(w.ids[1], ids[2]);

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(jobs_each_filtered(db, uid, &processed, 3, 2, walk_fn, &w), 0);
	ck_assert_int_eq(w.n, 1);
	ck_assert_int_eq(w.ids[0], ids[0]);

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(jobs_each_filtered(db, uid, &processed, 4, 2, walk_fn, &w), 0);
	ck_assert_int_eq(w.n, 0);

	/* the callback's non-zero return stops the walk and is returned */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	ck_assert_int_eq(jobs_each_filtered(db, uid, &processed, 0, 10, walk_fn, &w), 7);
	ck_assert_int_eq(w.n, 2);
}
END_TEST

/* Collects the ids a filtered walk hands over, any status. */
static int collect_fn(void *ud, const struct job_row *r)
{
	struct walk *w = ud;

	ck_assert_int_lt(w->n, 16);
	ck_assert_int_eq(r->user_id, uid);
	w->ids[w->n++] = r->id;
	return 0;
}

/* Issue 13 point 11: the gallery lists chosen states of one service. */
START_TEST(test_filtered_listing)
{
	struct jobs_filter f = {JOBS_PENDING | JOBS_PROCESSING, NULL};
	int64_t crop[3], grey, count = -1;
	struct walk w;

	crop[0] = enqueue("cropping");
	crop[1] = enqueue("cropping");
	grey = enqueue("greyscale");
	crop[2] = enqueue("cropping");
	ck_assert_int_eq(claim("w1", 60), crop[0]);
	ck_assert_int_eq(jobs_finish(db, crop[0], "w1", &output), 0);
	ck_assert_int_eq(claim("w1", 60), crop[1]); /* processing */

	ck_assert_int_eq(jobs_count_filtered(db, uid, &f, &count), 0);
	ck_assert_int_eq(count, 3);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(jobs_each_filtered(db, uid, &f, 0, 10, collect_fn, &w), 0);
	ck_assert_int_eq(w.n, 3);
	ck_assert_int_eq(w.ids[0], crop[2]);
	ck_assert_int_eq(w.ids[1], grey);
	ck_assert_int_eq(w.ids[2], crop[1]);

	f.service = "cropping";
	ck_assert_int_eq(jobs_count_filtered(db, uid, &f, &count), 0);
	ck_assert_int_eq(count, 2);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(jobs_each_filtered(db, uid, &f, 1, 1, collect_fn, &w), 0);
	ck_assert_int_eq(w.n, 1);
	ck_assert_int_eq(w.ids[0], crop[1]);

	f.statuses = JOBS_PENDING | JOBS_PROCESSING | JOBS_DONE | JOBS_FAILED;
	ck_assert_int_eq(jobs_count_filtered(db, uid, &f, &count), 0);
	ck_assert_int_eq(count, 3);
	f.statuses = JOBS_DONE;
	f.service = "greyscale";
	ck_assert_int_eq(jobs_count_filtered(db, uid, &f, &count), 0);
	ck_assert_int_eq(count, 0);
	f.statuses = 0; /* nothing */
	f.service = NULL;
	ck_assert_int_eq(jobs_count_filtered(db, uid, &f, &count), 0);
	ck_assert_int_eq(count, 0);

	ck_assert_uint_eq(jobs_status_bit("processing"), JOBS_PROCESSING);
	ck_assert_uint_eq(jobs_status_bit("Processing"), 0);
	ck_assert_uint_eq(jobs_status_bit(NULL), 0);
	ck_assert_str_eq(jobs_status_name(JOBS_FAILED), "failed");
	ck_assert_str_eq(jobs_status_name(JOBS_DONE | JOBS_FAILED), "");
}
END_TEST

/* The path of the main database file of db (heap). */
static char *db_file(void)
{
	struct db_stmt *st;
	char *path;

	ck_assert_int_eq(
	    db_prepare(db, "SELECT file FROM pragma_database_list WHERE name = 'main'", &st), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	path = xstrdup(db_column_text(st, 0));
	db_reset(st);
	return path;
}

START_TEST(test_claim_error_leaves_out_alone)
{
	struct db *locker = NULL;
	struct job_claimed c;
	char *path = db_file();
	int rc;

	(void)enqueue("greyscale");
	ck_assert_int_eq(db_open(path, &locker), 0);
	ck_assert_int_eq(db_begin(locker), 0); /* hold the write lock past the busy timeout */
	/* out holds garbage, as an uninitialised caller variable would */
	memset(&c, 0xa5, sizeof(c));
	rc = jobs_claim(db, "w1", 60, &c);
	ck_assert_int_ne(rc, 0);
	ck_assert_int_ne(rc, IA_ERR_NOTFOUND);
	db_rollback(locker);
	db_close(locker);
	free(path);
	ck_assert_int_eq(claim("w1", 60), 1);
}
END_TEST

static Suite *jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("queue");
	TCase *slow = tcase_create("busy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_enqueue_charges_once);
	tcase_add_test(tc, test_enqueue_short_funds);
	tcase_add_test(tc, test_enqueue_unavailable);
	tcase_add_test(tc, test_enqueue_free_service);
	tcase_add_test(tc, test_claim_oldest_first);
	tcase_add_test(tc, test_expired_lease_taken_over);
	tcase_add_test(tc, test_fail_retry_then_fail_for_good);
	tcase_add_test(tc, test_fail_without_retry);
	tcase_add_test(tc, test_fail_pending_job_refused);
	tcase_add_test(tc, test_reaper_fails_last_attempt);
	tcase_add_test(tc, test_reaper_then_claims_next);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_processed_listing);
	tcase_add_test(tc, test_filtered_listing);
	tcase_add_test(tc, test_delete_while_processing_refunds_once);
	tcase_add_test(tc, test_preview_is_a_media_key_until_overridden);
	tcase_add_test(tc, test_claim_fair_across_users);
	tcase_add_test(tc, test_active_limit);
	tcase_add_test(tc, test_retry_backoff);
	tcase_add_test(tc, test_renew_and_reclaim_dead);
	suite_add_tcase(s, tc);

	/* waits out the 5 s busy timeout of db_open */
	tcase_add_checked_fixture(slow, setup, teardown);
	tcase_set_timeout(slow, 30);
	if (testdb_is_sqlite()) /* an SQLite write lock held past the busy timeout */
		tcase_add_test(slow, test_claim_error_leaves_out_alone);
	suite_add_tcase(s, slow);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jobs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
