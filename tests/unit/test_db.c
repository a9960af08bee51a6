/*
 * test_db.c - unit tests for the database seam (lib/db.c and its
 * backends), on whichever backend testdb gives: SQLite by default,
 * PostgreSQL when IA_TEST_DATABASE_URL is set (STYLE.md rule 15: the same
 * tests for every backend). They prove the portable dialect of db.h means
 * the same everywhere: placeholders, deferred bind errors, RETURNING ids,
 * change counts, the error mapping, transactions, notifications and the
 * change marks of per-process caches.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "testdb.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct db *db;    /* the process's connection */
static struct db *other; /* another process writing, as iactl or ia-batch would */

static void setup(void)
{
	db = testdb_open();
	ck_assert_int_eq(db_open(testdb_file(), &other), 0);
}

static void teardown(void)
{
	db_close(other);
	testdb_close(db);
}

static bool on_postgres(void)
{
	return strcmp(db_backend_name(db), "postgres") == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Have other terminate db's server process (PostgreSQL only). */
static void kill_backend(int64_t pid)
{
	ck_assert_int_eq(testdb_int(other, "SELECT pg_terminate_backend(CAST(? AS INTEGER))", pid),
			 1);
}

/* Insert a user through c and return its id. */
static int64_t add_user(struct db *c, const char *email)
{
	struct db_stmt *st;
	int64_t id = 0;

	ck_assert_int_eq(db_prepare(c,
				    "INSERT INTO users(email, password_hash, created, updated) "
				    "VALUES (?, 'x', 1, 1) RETURNING id",
				    &st),
			 0);
	db_bind_text(st, 1, email);
	ck_assert_int_eq(db_step_insert(st, &id), 0);
	return id;
}

/* Set a user's credits through c, outside any transaction. */
static void set_credits(struct db *c, int64_t uid, int64_t credits)
{
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(c, "UPDATE users SET credits = ? WHERE id = ?", &st), 0);
	db_bind_int64(st, 1, credits);
	db_bind_int64(st, 2, uid);
	ck_assert_int_eq(db_step_one(st, IA_ERR_NOTFOUND), 0);
}

/* Read a user's credits through db and return the mark of that read. */
static struct db_mark read_credits(int64_t uid)
{
	struct db_mark m;

	(void)testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid);
	db_mark_read(db, &m);
	return m;
}

/* Wait up to 5 s for db_unchanged(m, uid) to turn false (PostgreSQL's
 * notifications arrive a moment after the commit). */
static bool becomes_changed(const struct db_mark *m, int64_t uid)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!db_unchanged(db, m, uid))
			return true;
		sleep_ms(10);
	}
	return false;
}

START_TEST(test_numbered_placeholders_bind_by_number)
{
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(db, "SELECT ?2, ?1, ?2", &st), 0);
	db_bind_text(st, 1, "one");
	db_bind_text(st, 2, "two");
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "two");
	ck_assert_str_eq(db_column_text(st, 1), "one");
	ck_assert_str_eq(db_column_text(st, 2), "two");
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_reset(st);
}
END_TEST

START_TEST(test_plain_placeholder_after_numbered_takes_next_index)
{
	struct db_stmt *st;

	/* As in SQLite: a bare ? after ?5 is ?6; ?1..?4 may stay unbound. */
	ck_assert_int_eq(db_prepare(db, "SELECT ?5, ?", &st), 0);
	db_bind_int64(st, 5, 5);
	db_bind_int64(st, 6, 6);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 5);
	ck_assert_int_eq(db_column_int64(st, 1), 6);
	db_reset(st);
}
END_TEST

START_TEST(test_question_mark_in_literal_or_comment_is_not_a_parameter)
{
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(db,
				    "SELECT 'what?', 'it''s ?1', ? -- really?\n"
				    ", \"?\" FROM (SELECT 3 AS \"?\") AS t",
				    &st),
			 0);
	db_bind_int64(st, 1, 42);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "what?");
	ck_assert_str_eq(db_column_text(st, 1), "it's ?1");
	ck_assert_int_eq(db_column_int64(st, 2), 42);
	ck_assert_int_eq(db_column_int64(st, 3), 3);
	db_reset(st);
}
END_TEST

START_TEST(test_int64_text_and_null_round_trip)
{
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(db, "SELECT ?, ?, ?, ?", &st), 0);
	db_bind_int64(st, 1, INT64_MAX);
	db_bind_int64(st, 2, INT64_MIN);
	db_bind_text(st, 3, "h\xc3\xa9llo");
	db_bind_null(st, 4);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert(db_column_int64(st, 0) == INT64_MAX);
	ck_assert(db_column_int64(st, 1) == INT64_MIN);
	ck_assert_str_eq(db_column_text(st, 2), "h\xc3\xa9llo");
	ck_assert(db_column_is_null(st, 3));
	ck_assert(!db_column_is_null(st, 0));
	ck_assert_ptr_null(db_column_text(st, 3));
	ck_assert_int_eq(db_column_int64(st, 3), 0);
	db_reset(st);
}
END_TEST

START_TEST(test_parameter_may_change_type_between_executions)
{
	struct db_stmt *st;

	/* PostgreSQL prepares with the first execution's types (int8 here):
	 * text later must still work. */
	ck_assert_int_eq(db_prepare(db, "SELECT ?", &st), 0);
	db_bind_int64(st, 1, 5);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 5);
	ck_assert_int_eq(db_prepare(db, "SELECT ?", &st), 0);
	db_bind_text(st, 1, "abc");
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "abc");
	ck_assert_int_eq(db_prepare(db, "SELECT ?", &st), 0);
	db_bind_int64(st, 1, 7);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 7);
	db_reset(st);
}
END_TEST

START_TEST(test_error_message_holds_no_bound_values)
{
	struct db_stmt *st;
	int64_t id;

	add_user(db, "secret-address@example.com");
	ck_assert_int_eq(db_prepare(db,
				    "INSERT INTO users(email, password_hash, created, updated) "
				    "VALUES (?, 'x', 1, 1) RETURNING id",
				    &st),
			 0);
	db_bind_text(st, 1, "secret-address@example.com");
	ck_assert_int_eq(db_step_insert(st, &id), IA_ERR_EXISTS);
	db_reset(st);
	ck_assert_ptr_nonnull(db_errmsg(db));
	ck_assert_ptr_null(strstr(db_errmsg(db), "secret-address"));
}
END_TEST

START_TEST(test_postgres_data_exception_is_db_error_without_the_value)
{
	struct db_stmt *st;

	if (!on_postgres())
		return; /* SQLite stores text in an INTEGER column */
	ck_assert_int_eq(
	    db_prepare(db, "SELECT count(*) FROM users WHERE id = CAST(? AS BIGINT)", &st), 0);
	db_bind_text(st, 1, "not-a-number-1234");
	ck_assert_int_eq(db_step(st), IA_ERR_DB);
	db_reset(st);
	ck_assert_ptr_null(strstr(db_errmsg(db), "not-a-number"));
}
END_TEST

START_TEST(test_bind_error_is_reported_at_step)
{
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(db, "SELECT ?", &st), 0);
	db_bind_int64(st, 2, 1); /* out of range: remembered, not fatal yet */
	ck_assert_int_eq(db_step(st), IA_ERR_DB);
	db_reset(st); /* forgets the bad bind with the others */
	db_bind_int64(st, 1, 7);
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 7);
	db_reset(st);
}
END_TEST

START_TEST(test_step_insert_returns_new_ids)
{
	int64_t a = add_user(db, "a@example.com");
	int64_t b = add_user(db, "b@example.com");

	ck_assert_int_gt(a, 0);
	ck_assert_int_gt(b, a);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users WHERE id = ?", b), 1);
}
END_TEST

START_TEST(test_step_count_counts_changed_rows)
{
	struct db_stmt *st;
	int64_t n = -1;

	add_user(db, "a@example.com");
	add_user(db, "b@example.com");
	add_user(db, "c@example.com");
	ck_assert_int_eq(db_prepare(db, "UPDATE users SET credits = ? WHERE email <> ?", &st), 0);
	db_bind_int64(st, 1, 5);
	db_bind_text(st, 2, "b@example.com");
	ck_assert_int_eq(db_step_count(st, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(db_prepare(db, "DELETE FROM users WHERE credits = ?", &st), 0);
	db_bind_int64(st, 1, 99);
	ck_assert_int_eq(db_step_count(st, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(db_prepare(db, "DELETE FROM users WHERE credits = ?", &st), 0);
	db_bind_int64(st, 1, 5);
	ck_assert_int_eq(db_step_count(st, NULL), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
}
END_TEST

START_TEST(test_unique_conflict_is_exists_and_email_ignores_case)
{
	struct db_stmt *st;
	int64_t id;

	add_user(db, "Same@Example.com");
	ck_assert_int_eq(db_prepare(db,
				    "INSERT INTO users(email, password_hash, created, updated) "
				    "VALUES (?, 'x', 1, 1) RETURNING id",
				    &st),
			 0);
	db_bind_text(st, 1, "same@example.COM");
	ck_assert_int_eq(db_step_insert(st, &id), IA_ERR_EXISTS);
	db_reset(st);
	ck_assert_int_eq(db_prepare(db, "SELECT count(*) FROM users WHERE email = ?", &st), 0);
	db_bind_text(st, 1, "SAME@example.com");
	ck_assert_int_eq(db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 1);
	db_reset(st);
}
END_TEST

START_TEST(test_check_violation_is_inval)
{
	int64_t uid = add_user(db, "a@example.com");
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(db, "UPDATE users SET credits = ? WHERE id = ?", &st), 0);
	db_bind_int64(st, 1, -1);
	db_bind_int64(st, 2, uid);
	ck_assert_int_eq(db_step(st), IA_ERR_INVAL);
	db_reset(st);
	ck_assert_int_eq(testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid), 0);
}
END_TEST

START_TEST(test_rollback_discards_and_commit_publishes)
{
	ck_assert_int_eq(db_begin(db), 0);
	add_user(db, "gone@example.com");
	db_rollback(db);
	ck_assert_int_eq(testdb_int(other, "SELECT count(*) FROM users", 0), 0);

	ck_assert_int_eq(db_begin(db), 0);
	add_user(db, "kept@example.com");
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(testdb_int(other, "SELECT count(*) FROM users", 0), 1);
}
END_TEST

START_TEST(test_read_group_commit_and_rollback_are_harmless)
{
	int64_t uid = add_user(db, "a@example.com");

	ck_assert_int_eq(db_begin_read(db), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid), 0);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(db_begin_read(db), 0);
	db_rollback(db);
	ck_assert_int_eq(db_begin(db), 0); /* nothing left open */
	set_credits(db, uid, 3);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(testdb_int(other, "SELECT credits FROM users WHERE id = ?", uid), 3);
}
END_TEST

START_TEST(test_notify_is_delivered_on_commit_only)
{
	ck_assert_int_eq(db_listen(other, DB_CHANNEL_JOBS), 0);
	ck_assert_int_eq(db_wait(other, 0), 0);

	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(db_notify(db, DB_CHANNEL_JOBS), 0);
	ck_assert_int_eq(db_wait(other, 100), 0); /* not before the commit */
	db_rollback(db);
	ck_assert_int_eq(db_wait(other, 200), 0); /* never after a rollback */

	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(db_notify(db, DB_CHANNEL_JOBS), 0);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(db_wait(other, 5000), 1);
	ck_assert_int_eq(db_wait(other, 0), 0); /* consumed */

	ck_assert_int_eq(db_notify(db, DB_CHANNEL_JOBS), 0); /* outside: at once */
	ck_assert_int_eq(db_wait(other, 5000), 1);
}
END_TEST

START_TEST(test_wait_times_out_without_notification)
{
	time_t t0;

	ck_assert_int_eq(db_listen(db, DB_CHANNEL_JOBS), 0);
	t0 = time(NULL);
	ck_assert_int_eq(db_wait(db, 300), 0);
	ck_assert_int_le(time(NULL) - t0, 2);
}
END_TEST

START_TEST(test_mark_unchanged_until_another_connection_updates_the_user)
{
	int64_t uid = add_user(db, "a@example.com");
	struct db_mark m = read_credits(uid);

	ck_assert(m.known);
	ck_assert(db_unchanged(db, &m, uid));
	ck_assert(db_unchanged(db, &m, uid)); /* checking changes nothing */
	set_credits(other, uid, 7);
	ck_assert(becomes_changed(&m, uid));
	m = read_credits(uid);
	ck_assert(db_unchanged(db, &m, uid));
}
END_TEST

START_TEST(test_mark_unknown_inside_a_write_transaction)
{
	int64_t uid = add_user(db, "a@example.com");
	struct db_mark before = read_credits(uid), m;

	ck_assert_int_eq(db_begin(db), 0);
	set_credits(db, uid, 2);
	db_mark_read(db, &m);
	ck_assert(!m.known);
	ck_assert(!db_unchanged(db, &before, uid));
	db_rollback(db);
	m = read_credits(uid);
	ck_assert(m.known);
}
END_TEST

START_TEST(test_mark_survives_unrelated_change_on_postgres)
{
	int64_t uid = add_user(db, "a@example.com");
	int64_t uid2 = add_user(db, "b@example.com");
	struct db_mark m;

	if (!on_postgres())
		return; /* SQLite: any commit is a change */
	ck_assert_int_ne(uid % 256, uid2 % 256);
	m = read_credits(uid);
	ck_assert_int_eq(db_listen(db, DB_CHANNEL_JOBS), 0);
	/* The notification of this update arrives before the wake-up that
	 * follows it from the same connection. */
	set_credits(other, uid2, 9);
	ck_assert_int_eq(db_notify(other, DB_CHANNEL_JOBS), 0);
	ck_assert_int_eq(db_wait(db, 5000), 1);
	ck_assert(db_unchanged(db, &m, uid));
	ck_assert(!db_unchanged(db, &m, uid2));
	ck_assert(!db_unchanged(db, &m, 0));
}
END_TEST

START_TEST(test_flag_change_makes_every_mark_stale)
{
	int64_t uid = add_user(db, "a@example.com");
	struct db_mark m = read_credits(uid);
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(other, "UPDATE flags SET enabled = ?", &st), 0);
	db_bind_int64(st, 1, 1);
	ck_assert_int_eq(db_step_count(st, NULL), 0);
	ck_assert(becomes_changed(&m, uid));
}
END_TEST

START_TEST(test_postgres_reconnects_after_backend_killed)
{
	struct db_stmt *st;
	int64_t uid = add_user(db, "a@example.com");
	int64_t pid;
	struct db_mark m;
	int rc, i;

	if (!on_postgres())
		return;
	ck_assert_int_eq(db_listen(db, DB_CHANNEL_JOBS), 0);
	m = read_credits(uid);
	pid = testdb_int(db, "SELECT pg_backend_pid()", 0);
	kill_backend(pid);
	/* At most one statement fails (the one that finds the connection
	 * dead); the next reconnects. */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(db_prepare(db, "SELECT credits FROM users WHERE id = ?", &st), 0);
		db_bind_int64(st, 1, uid);
		rc = db_step(st);
		db_reset(st);
		if (rc == DB_ROW)
			break;
		ck_assert_int_eq(rc, IA_ERR_UNAVAILABLE);
	}
	ck_assert_int_eq(rc, DB_ROW);
	ck_assert(!db_unchanged(db, &m, uid)); /* notifications may have been lost */
	/* LISTEN again after the reconnect. */
	(void)db_wait(db, 0);
	ck_assert_int_eq(db_notify(other, DB_CHANNEL_JOBS), 0);
	ck_assert_int_eq(db_wait(db, 5000), 1);
}
END_TEST

START_TEST(test_postgres_connection_lost_inside_a_transaction)
{
	struct db_stmt *st;
	int64_t pid;

	if (!on_postgres())
		return;
	pid = testdb_int(db, "SELECT pg_backend_pid()", 0);
	ck_assert_int_eq(db_begin(db), 0);
	kill_backend(pid);
	sleep_ms(100);
	ck_assert_int_eq(db_prepare(db, "SELECT count(*) FROM users", &st), 0);
	ck_assert_int_eq(db_step(st), IA_ERR_UNAVAILABLE);
	db_reset(st);
	db_rollback(db);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 0);
}
END_TEST

START_TEST(test_postgres_failed_transaction_commit_is_an_error)
{
	struct db_stmt *st;
	int64_t uid = add_user(db, "a@example.com");

	if (!on_postgres())
		return;
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(db_prepare(db, "UPDATE users SET credits = ? WHERE id = ?", &st), 0);
	db_bind_int64(st, 1, -5);
	db_bind_int64(st, 2, uid);
	ck_assert_int_eq(db_step(st), IA_ERR_INVAL);
	db_reset(st);
	ck_assert_int_eq(db_commit(db), IA_ERR_DB);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
}
END_TEST

static Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_numbered_placeholders_bind_by_number);
	tcase_add_test(tc, test_plain_placeholder_after_numbered_takes_next_index);
	tcase_add_test(tc, test_question_mark_in_literal_or_comment_is_not_a_parameter);
	tcase_add_test(tc, test_int64_text_and_null_round_trip);
	tcase_add_test(tc, test_parameter_may_change_type_between_executions);
	tcase_add_test(tc, test_bind_error_is_reported_at_step);
	tcase_add_test(tc, test_error_message_holds_no_bound_values);
	tcase_add_test(tc, test_postgres_data_exception_is_db_error_without_the_value);
	tcase_add_test(tc, test_step_insert_returns_new_ids);
	tcase_add_test(tc, test_step_count_counts_changed_rows);
	tcase_add_test(tc, test_unique_conflict_is_exists_and_email_ignores_case);
	tcase_add_test(tc, test_check_violation_is_inval);
	tcase_add_test(tc, test_rollback_discards_and_commit_publishes);
	tcase_add_test(tc, test_read_group_commit_and_rollback_are_harmless);
	tcase_add_test(tc, test_notify_is_delivered_on_commit_only);
	tcase_add_test(tc, test_wait_times_out_without_notification);
	tcase_add_test(tc, test_mark_unchanged_until_another_connection_updates_the_user);
	tcase_add_test(tc, test_mark_unknown_inside_a_write_transaction);
	tcase_add_test(tc, test_mark_survives_unrelated_change_on_postgres);
	tcase_add_test(tc, test_flag_change_makes_every_mark_stale);
	tcase_add_test(tc, test_postgres_reconnects_after_backend_killed);
	tcase_add_test(tc, test_postgres_connection_lost_inside_a_transaction);
	tcase_add_test(tc, test_postgres_failed_transaction_commit_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(db_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
