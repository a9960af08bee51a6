/*
 * test_credits.c - unit tests for lib/credits.c on a real migrated SQLite
 * file: balance and ledger move together, never below zero, a job is
 * charged/refunded at most once, a failed apply inside a transaction
 * leaves it intact, and history pages newest first.
 */
#include "config.h"

#include "credits.h"
#include "db.h"
#include "err.h"
#include "testdb.h"
#include "users.h"

#include <check.h>
#include <stdlib.h>

static struct db *db;
static int64_t uid;

static void setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "payer@example.com", 10);
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

static int64_t ledger_rows(void)
{
	return testdb_user_ledger(db, uid, NULL);
}

START_TEST(test_apply_grant_and_revoke)
{
	int64_t after = -1;

	ck_assert_int_eq(credits_apply(db, uid, 5, CREDITS_ADMIN_GRANT, 0, NULL, &after), 0);
	ck_assert_int_eq(after, 15);
	ck_assert_int_eq(balance(), 15);
	ck_assert_int_eq(credits_apply(db, uid, -15, CREDITS_ADMIN_REVOKE, 0, NULL, &after), 0);
	ck_assert_int_eq(after, 0);
	ck_assert_int_eq(balance(), 0);
	ck_assert_int_eq(ledger_rows(), 3);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT balance_after FROM credit_ledger WHERE user_id = ? "
				    "ORDER BY id DESC LIMIT 1",
				    uid),
			 0);
}
END_TEST

START_TEST(test_overdraw_changes_nothing)
{
	int64_t after = -1;

	ck_assert_int_eq(credits_apply(db, uid, -11, CREDITS_ADMIN_REVOKE, 0, NULL, &after),
			 IA_ERR_FUNDS);
	ck_assert_int_eq(after, -1);
	ck_assert_int_eq(balance(), 10);
	ck_assert_int_eq(ledger_rows(), 1);
	ck_assert_int_eq(credits_apply(db, uid, -10, CREDITS_CHARGE, 7, NULL, &after), 0);
	ck_assert_int_eq(after, 0);
}
END_TEST

START_TEST(test_charge_once_per_image)
{
	ck_assert_int_eq(credits_apply(db, uid, -3, CREDITS_CHARGE, 42, NULL, NULL), 0);
	ck_assert_int_eq(credits_apply(db, uid, -3, CREDITS_CHARGE, 42, NULL, NULL), IA_ERR_EXISTS);
	ck_assert_int_eq(balance(), 7);
	ck_assert_int_eq(ledger_rows(), 2);
	ck_assert_int_eq(credits_apply(db, uid, 3, CREDITS_REFUND, 42, NULL, NULL), 0);
	ck_assert_int_eq(credits_apply(db, uid, 3, CREDITS_REFUND, 42, NULL, NULL), IA_ERR_EXISTS);
	ck_assert_int_eq(balance(), 10);
	ck_assert_int_eq(credits_apply(db, uid, 50, CREDITS_PURCHASE, 0, "pi_123", NULL), 0);
	ck_assert_int_eq(credits_apply(db, uid, 50, CREDITS_PURCHASE, 0, "pi_123", NULL),
			 IA_ERR_EXISTS);
	ck_assert_int_eq(balance(), 60);
	ck_assert_int_eq(ledger_rows(), 4);
}
END_TEST

/* A refused apply inside a caller's transaction must not undo or half-apply. */
START_TEST(test_in_tx_failure_is_atomic)
{
	int64_t after = 0;

	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(credits_apply_in_tx(db, uid, -2, CREDITS_CHARGE, 9, NULL, &after), 0);
	ck_assert_int_eq(after, 8);
	ck_assert_int_eq(credits_apply_in_tx(db, uid, -2, CREDITS_CHARGE, 9, NULL, NULL),
			 IA_ERR_EXISTS);
	ck_assert_int_eq(credits_apply_in_tx(db, uid, -100, CREDITS_CHARGE, 10, NULL, NULL),
			 IA_ERR_FUNDS);
	ck_assert_int_eq(db_commit(db), 0);
	ck_assert_int_eq(balance(), 8);
	ck_assert_int_eq(ledger_rows(), 2);
}
END_TEST

START_TEST(test_invalid_and_unknown)
{
	ck_assert_int_eq(credits_apply(db, uid, 0, CREDITS_ADMIN_GRANT, 0, NULL, NULL),
			 IA_ERR_INVAL);
	ck_assert_int_eq(credits_apply(db, uid, 1, NULL, 0, NULL, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(credits_apply(db, uid, 1, "bogus", 0, NULL, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(credits_apply(db, uid + 1, 1, CREDITS_ADMIN_GRANT, 0, NULL, NULL),
			 IA_ERR_NOTFOUND);
	ck_assert_int_eq(balance(), 10);
	ck_assert_int_eq(ledger_rows(), 1);
}
END_TEST

START_TEST(test_history_order_and_paging)
{
	struct credits_entry e[3];
	int64_t count = 0;
	size_t n = 0;

	for (int i = 1; i <= 4; i++)
		ck_assert_int_eq(credits_apply(db, uid, i, CREDITS_ADMIN_GRANT, 0, NULL, NULL), 0);
	ck_assert_int_eq(credits_count(db, uid, &count), 0);
	ck_assert_int_eq(count, 5);
	ck_assert_int_eq(credits_history(db, uid, 0, 2, e, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(e[0].delta, 4);
	ck_assert_int_eq(e[0].balance_after, 20);
	ck_assert_int_eq(e[1].delta, 3);
	ck_assert_int_gt(e[0].id, e[1].id);
	ck_assert_str_eq(e[0].reason, "admin_grant");
	ck_assert_int_eq(e[0].image_id, 0);
	ck_assert_int_eq(credits_history(db, uid, 4, 3, e, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(e[0].reason, "signup_bonus");
	ck_assert_int_eq(credits_history(db, uid, 5, 3, e, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(credits_history(db, uid, -1, 3, e, &n), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_history_image_id)
{
	struct credits_entry e[1];
	size_t n = 0;

	ck_assert_int_eq(credits_apply(db, uid, -1, CREDITS_CHARGE, 77, NULL, NULL), 0);
	ck_assert_int_eq(credits_history(db, uid, 0, 1, e, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(e[0].image_id, 77);
	ck_assert_int_eq(e[0].delta, -1);
	ck_assert_int_eq(e[0].balance_after, 9);
}
END_TEST

static Suite *credits_suite(void)
{
	Suite *s = suite_create("credits");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_apply_grant_and_revoke);
	tcase_add_test(tc, test_overdraw_changes_nothing);
	tcase_add_test(tc, test_charge_once_per_image);
	tcase_add_test(tc, test_in_tx_failure_is_atomic);
	tcase_add_test(tc, test_invalid_and_unknown);
	tcase_add_test(tc, test_history_order_and_paging);
	tcase_add_test(tc, test_history_image_id);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(credits_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
