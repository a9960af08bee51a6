/*
 * test_outbox.c - unit tests for lib/outbox.c on a real migrated SQLite
 * file with the file transport: a rolled-back enqueue leaves nothing; a
 * message is delivered once and its body wiped; a claim whose worker died
 * is sent again under the same file name (exactly once with the file
 * transport); failures back off exponentially and turn into 'failed' at
 * 24 h; reset requests become a reset mail or are dropped.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "outbox.h"
#include "resets.h"
#include "settings.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1800000000

static struct db *db;
static struct settings s;
static char root[64];

static void setup(void)
{
	db = testdb_open();
	snprintf(root, sizeof(root), "/tmp/ia-outboxtest-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	memset(&s, 0, sizeof(s));
	s.mail_transport = xstrdup("file");
	s.mail_dir = xasprintf("%s/mail", root);
	s.default_from_email = xstrdup("Image Assistant <noreply@ia.example>");
	s.public_url = xstrdup("http://ia.example");
	s.mail_retry_base = 30;
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", root);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(s.mail_transport);
	free(s.mail_dir);
	free(s.default_from_email);
	free(s.public_url);
	testdb_close(db);
	db = NULL;
}

/* Number of .eml files in MAIL_DIR (0 when it does not exist). */
static int count_mail(void)
{
	DIR *d = opendir(s.mail_dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 4 && strcmp(de->d_name + len - 4, ".eml") == 0)
			n++;
	}
	closedir(d);
	return n;
}

static long long state_count(const char *state)
{
	struct db_stmt *st;
	long long n;

	ck_assert_int_eq(db_prepare(db, "SELECT count(*) FROM outbox WHERE state = ?", &st), 0);
	db_bind_text(st, 1, state);
	ck_assert_int_eq(db_step(st), DB_ROW);
	n = db_column_int64(st, 0);
	db_reset(st);
	return n;
}

static int64_t enqueue(const char *body)
{
	int64_t id = 0;

	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(
	    outbox_enqueue(db, OUTBOX_CONTACT, "to@example.com", "Subject", body, NOW, &id), 0);
	ck_assert_int_eq(db_commit(db), 0);
	return id;
}

START_TEST(test_rolled_back_enqueue_leaves_nothing)
{
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(
	    outbox_enqueue(db, OUTBOX_CONTACT, "to@example.com", "Subject", "body", NOW, NULL), 0);
	db_rollback(db);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 0);
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW + 10), IA_ERR_NOTFOUND);
	ck_assert_int_eq(count_mail(), 0);
}
END_TEST

START_TEST(test_header_injection_refused)
{
	ck_assert_int_eq(
	    outbox_enqueue(db, OUTBOX_CONTACT, "a@example.com\r\nBcc: x@y.z", "S", "b", NOW, NULL),
	    IA_ERR_INVAL);
	ck_assert_int_eq(
	    outbox_enqueue(db, OUTBOX_CONTACT, "a@example.com", "S\nBcc: x", "b", NOW, NULL),
	    IA_ERR_INVAL);
}
END_TEST

START_TEST(test_delivered_once_body_wiped)
{
	int sent = -1;

	enqueue("the secret body");
	ck_assert_int_eq(outbox_deliver_due(db, &s, NOW, 10, &sent), 0);
	ck_assert_int_eq(sent, 1);
	ck_assert_int_eq(count_mail(), 1);
	ck_assert_int_eq(state_count("sent"), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT length(body) FROM outbox", 0), 0);
	/* nothing is due any more, now or later */
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW + 1), IA_ERR_NOTFOUND);
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW + 2 * 86400), IA_ERR_NOTFOUND);
	ck_assert_int_eq(count_mail(), 1);
}
END_TEST

START_TEST(test_not_due_before_its_time)
{
	enqueue("later");
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW - 1), IA_ERR_NOTFOUND);
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW), 0);
}
END_TEST

/*
 * A worker that claimed a message and died (here: the claim made by hand,
 * as outbox_claim does) leaves it 'sending'. Within the lease nobody else
 * takes it; after the lease it goes again, to the same file: one message.
 */
START_TEST(test_crashed_claim_sent_again_exactly_once)
{
	int64_t id = enqueue("body");

	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW), 0); /* the send that "crashed"... */
	ck_assert_int_eq(count_mail(), 1);
	/* ...before the 'sent' mark: put the row back the way the crash left it */
	ck_assert_int_eq(db_exec(db, "UPDATE outbox SET state = 'sending', body = 'body', "
				     "lease_until = 1800000120"),
			 0);
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW + OUTBOX_LEASE - 1), IA_ERR_NOTFOUND);
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW + OUTBOX_LEASE), 0);
	ck_assert_int_eq(count_mail(), 1);
	ck_assert_int_eq(state_count("sent"), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT attempts FROM outbox WHERE id = ?", id), 2);
}
END_TEST

START_TEST(test_backoff_then_failed_after_24h)
{
	int64_t id, t = NOW, next, prev_delay = 0;
	int attempts = 0;

	free(s.mail_dir);
	s.mail_dir = xstrdup("/dev/null/cannot-be-a-directory");
	id = enqueue("body");
	for (;;) {
		ck_assert_int_eq(outbox_deliver_one(db, &s, t), IA_ERR_IO);
		attempts++;
		if (state_count("failed") == 1)
			break;
		ck_assert_int_eq(state_count("pending"), 1);
		next = testdb_int(db, "SELECT next_attempt FROM outbox WHERE id = ?", id);
		/* doubling, capped at an hour, never past the 24 h */
		if (next < NOW + OUTBOX_MAX_AGE) {
			ck_assert_int_eq(next - t, prev_delay == 0 ? 30
						   : prev_delay * 2 > OUTBOX_MAX_DELAY
						       ? OUTBOX_MAX_DELAY
						       : prev_delay * 2);
			prev_delay = next - t;
		}
		ck_assert_int_le(next, NOW + OUTBOX_MAX_AGE);
		ck_assert_int_eq(outbox_deliver_one(db, &s, next - 1), IA_ERR_NOTFOUND);
		t = next;
		ck_assert_int_lt(attempts, 100);
	}
	/* the last attempt was at the 24 h mark itself */
	ck_assert_int_eq(t, NOW + OUTBOX_MAX_AGE);
	/* every failed attempt counted, cluster-wide (GET /metrics) */
	ck_assert_int_eq(testdb_int(db,
				    "SELECT value FROM metric_counters WHERE series = "
				    "'ia_outbox_delivery_failures_total' AND idx = ?",
				    0),
			 attempts);
	ck_assert_int_eq(testdb_int(db, "SELECT attempts FROM outbox WHERE id = ?", id), attempts);
	ck_assert_int_eq(outbox_deliver_one(db, &s, t + 86400), IA_ERR_NOTFOUND);
	/* iactl mail retry: back in the queue, and it goes once the disk is back */
	ck_assert_int_eq(outbox_retry(db, id + 1, t), IA_ERR_NOTFOUND);
	ck_assert_int_eq(outbox_retry(db, id, t + 100), 0);
	free(s.mail_dir);
	s.mail_dir = xasprintf("%s/mail", root);
	ck_assert_int_eq(outbox_deliver_one(db, &s, t + 100), 0);
	ck_assert_int_eq(count_mail(), 1);
	ck_assert_int_eq(outbox_retry(db, id, t + 100), IA_ERR_NOTFOUND); /* only failed ones */
}
END_TEST

START_TEST(test_failure_stops_the_round)
{
	int sent = -1;

	free(s.mail_dir);
	s.mail_dir = xstrdup("/dev/null/cannot-be-a-directory");
	enqueue("one");
	enqueue("two");
	ck_assert_int_eq(outbox_deliver_due(db, &s, NOW, 10, &sent), 0);
	ck_assert_int_eq(sent, 0);
	ck_assert_int_eq(testdb_int(db, "SELECT sum(attempts) FROM outbox", 0), 1);
}
END_TEST

START_TEST(test_reset_request_unknown_dropped)
{
	ck_assert_int_eq(resets_request(db, "nobody@example.com", NOW), 0);
	ck_assert_int_eq(outbox_deliver_one(db, &s, NOW), 0);
	ck_assert_int_eq(count_mail(), 0);
	ck_assert_int_eq(state_count("dropped"), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT length(rcpt) FROM outbox", 0), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM password_resets", 0), 0);
}
END_TEST

START_TEST(test_reset_request_becomes_mail)
{
	struct user_new nu = {.email = "known@example.com", .password = "a password"};
	struct user_new g = {.email = "google@example.com"}; /* no usable password */
	int64_t id;

	ck_assert_int_eq(users_create(db, &nu, &id), 0);
	ck_assert_int_eq(users_create(db, &g, NULL), 0);
	ck_assert_int_eq(resets_request(db, "KNOWN@example.com", NOW), 0);
	ck_assert_int_eq(resets_request(db, "google@example.com", NOW), 0);
	ck_assert_int_eq(outbox_deliver_due(db, &s, NOW, 10, NULL), 0);
	ck_assert_int_eq(count_mail(), 1);
	ck_assert_int_eq(state_count("sent"), 1);
	ck_assert_int_eq(state_count("dropped"), 1);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM password_resets WHERE user_id = ?", id), 1);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM outbox WHERE kind = 'reset' AND "
				    "rcpt = 'known@example.com'",
				    0),
			 1);
}
END_TEST

START_TEST(test_old_rows_pruned)
{
	enqueue("x");
	ck_assert_int_eq(outbox_deliver_due(db, &s, NOW, 10, NULL), 0);
	ck_assert_int_eq(outbox_deliver_due(db, &s, NOW + OUTBOX_KEEP - 1, 10, NULL), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 1);
	/* pruning runs at most hourly */
	ck_assert_int_eq(outbox_deliver_due(db, &s, NOW + OUTBOX_KEEP + 3600, 10, NULL), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 0);
}
END_TEST

static Suite *outbox_suite(void)
{
	Suite *su = suite_create("outbox");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rolled_back_enqueue_leaves_nothing);
	tcase_add_test(tc, test_header_injection_refused);
	tcase_add_test(tc, test_delivered_once_body_wiped);
	tcase_add_test(tc, test_not_due_before_its_time);
	tcase_add_test(tc, test_crashed_claim_sent_again_exactly_once);
	tcase_add_test(tc, test_backoff_then_failed_after_24h);
	tcase_add_test(tc, test_failure_stops_the_round);
	tcase_add_test(tc, test_reset_request_unknown_dropped);
	tcase_add_test(tc, test_reset_request_becomes_mail);
	tcase_add_test(tc, test_old_rows_pruned);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(outbox_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
