/*
 * test_googlelogin.c - unit tests for lib/googlelogin.c on a real migrated
 * database: a first Google login creates a verified account with no usable
 * password and the signup credits, a second finds the same account, and
 * an existing account whose address was never proved becomes verified and
 * loses its password (API.md's linking rule).
 */
#include "config.h"

#include "err.h"
#include "google.h"
#include "googlelogin.h"
#include "settings.h"
#include "testdb.h"
#include "users.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static struct db *db;
static struct settings st;

static void setup(void)
{
	db = testdb_open();
	memset(&st, 0, sizeof(st));
	st.signup_credits = 25;
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

static struct google_identity identity(const char *email)
{
	struct google_identity id;

	memset(&id, 0, sizeof(id));
	snprintf(id.email, sizeof(id.email), "%s", email);
	snprintf(id.first_name, sizeof(id.first_name), "Ann");
	return id;
}

START_TEST(test_first_login_creates_verified_account)
{
	struct google_identity id = identity("ann@example.com");
	struct user u, again;

	ck_assert_int_eq(googlelogin_account(db, &st, &id, &u), 0);
	ck_assert_str_eq(u.email, "ann@example.com");
	ck_assert_str_eq(u.first_name, "Ann");
	ck_assert(u.email_verified);
	ck_assert(!u.has_usable_password);
	ck_assert_int_eq(u.credits, 25);
	ck_assert_int_eq(testdb_user_ledger(db, u.id, "signup_bonus"), 1);
	/* the second login is the same account, no second bonus */
	ck_assert_int_eq(googlelogin_account(db, &st, &id, &again), 0);
	ck_assert_int_eq(again.id, u.id);
	ck_assert_int_eq(again.credits, 25);
}
END_TEST

START_TEST(test_unproved_account_is_linked)
{
	struct user_new nu = {.email = "bob@example.com", .password = "a long password 123"};
	struct google_identity id = identity("BOB@example.com");
	struct user u;
	int64_t bob;

	ck_assert_int_eq(users_create(db, &nu, &bob), 0);
	ck_assert_int_eq(users_get(db, bob, &u), 0);
	ck_assert(u.has_usable_password);
	ck_assert(!u.email_verified);
	ck_assert_int_eq(googlelogin_account(db, &st, &id, &u), 0);
	ck_assert_int_eq(u.id, bob);
	ck_assert(u.email_verified);
	ck_assert(!u.has_usable_password);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("googlelogin");
	TCase *tc = tcase_create("accounts");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_first_login_creates_verified_account);
	tcase_add_test(tc, test_unproved_account_is_linked);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
