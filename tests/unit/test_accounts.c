/*
 * test_accounts.c - unit tests for lib/accounts.c on a real migrated
 * database: a signup gets the bonus credits, the show_credits flag and a
 * verification mail in the outbox, a second signup of the address changes
 * nothing; the profile is the <user> text with the user's flags, served
 * again from the cache.
 */
#include "config.h"

#include "accounts.h"
#include "err.h"
#include "settings.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static struct db *db;
static struct settings st;

static void setup(void)
{
	db = testdb_open();
	memset(&st, 0, sizeof(st));
	st.signup_credits = 30;
	st.public_url = xstrdup("http://ia.example");
}

static void teardown(void)
{
	free(st.public_url);
	testdb_close(db);
	db = NULL;
}

START_TEST(test_signup_policy)
{
	struct accounts_signup in = {.email = "new@example.com", .password = "a long password 1"};
	int64_t id = 0, again = 0;

	ck_assert_int_eq(accounts_signup(db, &st, &in, &id), 0);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(testdb_int(db, "SELECT credits FROM users WHERE id = ?", id), 30);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM user_flags uf JOIN flags f ON f.id = "
				    "uf.flag_id WHERE f.name = 'show_credits' AND uf.user_id = ?",
				    id),
			 1);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM email_verifications WHERE user_id = ?", id), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 1);
	ck_assert_int_eq(accounts_signup(db, &st, &in, &again), IA_ERR_EXISTS);
	ck_assert_int_eq(again, 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 1);
}
END_TEST

START_TEST(test_profile_text)
{
	struct accounts_signup in = {
	    .email = "p@example.com", .password = "a long password 1", .first_name = "Pat"};
	struct user u;
	char *text = NULL, *second = NULL;
	size_t len = 0, len2 = 0;
	int64_t id;

	ck_assert_int_eq(accounts_signup(db, &st, &in, &id), 0);
	ck_assert_int_eq(users_get(db, id, &u), 0);
	ck_assert_int_eq(accounts_profile(db, &u, &text, &len), 0);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_ptr_nonnull(strstr(text, "\"first_name\":\"Pat\""));
	ck_assert_ptr_nonnull(strstr(text, "\"feature_flags\":[\"show_credits\"]"));
	ck_assert_ptr_nonnull(strstr(text, "\"credits\":30"));
	ck_assert_int_eq(accounts_profile(db, &u, &second, &len2), 0);
	ck_assert_str_eq(second, text);
	ck_assert_uint_eq(len2, len);
	free(text);
	free(second);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("accounts");
	TCase *tc = tcase_create("accounts");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_signup_policy);
	tcase_add_test(tc, test_profile_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
