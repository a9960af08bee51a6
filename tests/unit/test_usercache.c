/*
 * test_usercache.c - unit tests for the database versions of lib/db.c
 * and the user cache built on them: a commit by another connection makes
 * every cached read stale at once, reads inside a write transaction are
 * never versioned, and a profile only attaches to a current entry.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "testdb.h"
#include "usercache.h"
#include "users.h"

#include <check.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static struct db *db;    /* the worker's connection */
static struct db *other; /* another process writing, as iactl or ia-batch would */
static int64_t uid;

static void setup(void)
{
	struct user_new nu = {.email = "cache@example.com", .password = NULL};

	usercache_clear();
	db = testdb_open();
	ck_assert_int_eq(db_open(testdb_file(), &other), 0);
	ck_assert_int_eq(users_create(db, &nu, &uid), 0);
}

static void teardown(void)
{
	usercache_clear();
	db_close(other);
	testdb_close(db);
}

/* Read the user through db (autocommit) and return the mark of that read. */
static struct db_mark read_user(struct user *u)
{
	struct db_mark v;

	ck_assert_int_eq(users_get(db, uid, u), 0);
	db_mark_read(db, &v);
	return v;
}

static void other_sets_credits(long long n)
{
	struct db_stmt *st;

	ck_assert_int_eq(db_prepare(other, "UPDATE users SET credits = ? WHERE id = ?", &st), 0);
	db_bind_int64(st, 1, n);
	db_bind_int64(st, 2, uid);
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_reset(st);
}

/* True once m is no longer unchanged, within 2 s (see profile_goes). */
static bool goes_stale(const struct db_mark *m)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (!db_unchanged(db, m, uid))
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * True once the cached profile of user id is gone, within 2 s: on
 * PostgreSQL the change notification of another connection's commit is on
 * its way over a socket; on SQLite the first look sees the new WAL header.
 */
static bool profile_goes(int64_t id)
{
	size_t len = 0;
	int i;

	for (i = 0; i < 2000; i++) {
		if (usercache_profile(db, id, &len) == NULL)
			return true;
		usleep(1000);
	}
	return false;
}

START_TEST(test_version_known_and_current_after_a_read)
{
	struct user u;
	struct db_mark v = read_user(&u);

	ck_assert(v.known);
	ck_assert(db_unchanged(db, &v, uid));
	ck_assert(db_unchanged(db, &v, uid)); /* checking changes nothing */
}
END_TEST

START_TEST(test_commit_elsewhere_makes_version_stale)
{
	struct user u;
	struct db_mark v = read_user(&u), again;

	other_sets_credits(7);
	ck_assert(goes_stale(&v));
	again = read_user(&u);
	ck_assert_int_eq(u.credits, 7);
	ck_assert(db_unchanged(db, &again, uid));
	ck_assert(!db_unchanged(db, &v, uid));
}
END_TEST

START_TEST(test_reads_in_a_write_transaction_have_no_version)
{
	struct user u;
	struct db_mark v, before = read_user(&u);

	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(users_set_staff(db, uid, true, false), 0);
	ck_assert_int_eq(users_get(db, uid, &u), 0);
	ck_assert(u.is_staff);
	db_mark_read(db, &v);
	ck_assert(!v.known);
	ck_assert(!db_unchanged(db, &before, uid)); /* not inside a write */
	db_rollback(db);
	/* The uncommitted row was read after the last versioned start: still
	 * unknown until a new transaction begins. */
	db_mark_read(db, &v);
	ck_assert(!v.known);
	v = read_user(&u);
	ck_assert(!u.is_staff);
	ck_assert(v.known);
}
END_TEST

START_TEST(test_lazy_read_transaction_costs_nothing_unused)
{
	struct user u;
	struct db_mark v = read_user(&u);

	ck_assert_int_eq(db_begin_read(db), 0);
	db_rollback(db);
	ck_assert_int_eq(db_begin_read(db), 0);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert(db_unchanged(db, &v, uid));
	/* A read after db_begin_read still runs inside BEGIN ... ROLLBACK. */
	ck_assert_int_eq(db_begin_read(db), 0);
	ck_assert_int_eq(users_get(db, uid, &u), 0);
	db_rollback(db);
	ck_assert_int_eq(db_begin(db), 0); /* no transaction left open */
	db_rollback(db);
}
END_TEST

START_TEST(test_cache_hit_until_the_user_changes)
{
	struct user u, got;
	struct db_mark v;

	v = read_user(&u);
	usercache_put(db, &u);
	ck_assert_int_eq(usercache_get(db, uid, &got), 0);
	ck_assert_str_eq(got.email, "cache@example.com");
	other_sets_credits(42);
	ck_assert(goes_stale(&v));
	ck_assert_int_eq(usercache_get(db, uid, &got), IA_ERR_NOTFOUND);
	ck_assert_int_eq(usercache_get(db, uid + 1, &got), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_profile_attaches_only_to_a_current_entry)
{
	struct user u;
	size_t len = 0;

	ck_assert_ptr_null(usercache_profile(db, uid, &len));
	usercache_put_profile(db, uid, "{\"id\":1}"); /* no entry yet */
	ck_assert_ptr_null(usercache_profile(db, uid, &len));
	read_user(&u);
	usercache_put(db, &u);
	usercache_put_profile(db, uid, "{\"id\":1}");
	ck_assert_str_eq(usercache_profile(db, uid, &len), "{\"id\":1}");
	ck_assert_uint_eq(len, 8);
	other_sets_credits(3);
	ck_assert(profile_goes(uid));
	usercache_put_profile(db, uid, "{\"id\":2}"); /* built after the change: refused */
	read_user(&u);
	usercache_put(db, &u); /* a new entry starts without a profile */
	ck_assert_ptr_null(usercache_profile(db, uid, &len));
}
END_TEST

START_TEST(test_no_entry_from_a_write_transaction)
{
	struct user u, got;

	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(users_set_staff(db, uid, true, false), 0);
	ck_assert_int_eq(users_get(db, uid, &u), 0);
	usercache_put(db, &u);
	db_rollback(db);
	ck_assert_int_eq(usercache_get(db, uid, &got), IA_ERR_NOTFOUND);
}
END_TEST

static Suite *usercache_suite(void)
{
	Suite *s = suite_create("usercache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_version_known_and_current_after_a_read);
	tcase_add_test(tc, test_commit_elsewhere_makes_version_stale);
	tcase_add_test(tc, test_reads_in_a_write_transaction_have_no_version);
	tcase_add_test(tc, test_lazy_read_transaction_costs_nothing_unused);
	tcase_add_test(tc, test_cache_hit_until_the_user_changes);
	tcase_add_test(tc, test_profile_attaches_only_to_a_current_entry);
	tcase_add_test(tc, test_no_entry_from_a_write_transaction);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(usercache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
