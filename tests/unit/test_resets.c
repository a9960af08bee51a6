/*
 * test_resets.c - unit tests for lib/resets.c on a real migrated SQLite
 * file: Django-compatible uidb64, single use, expiry, mismatched uid,
 * malformed tokens, only a hash stored, sibling tokens retired.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "resets.h"
#include "testdb.h"
#include "users.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1800000000

static struct db *db;
static int64_t uid;

static void setup(void)
{
	struct user_new nu = {.email = "reset@example.com", .password = "old-password"};

	db = testdb_open();
	ck_assert_int_eq(users_create(db, &nu, &uid), 0);
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

START_TEST(test_create_format)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];

	ck_assert_int_eq(uid, 1);
	ck_assert_int_eq(resets_create(db, uid, NOW, u, t), 0);
	ck_assert_str_eq(u, "MQ"); /* urlsafe_base64_encode(b"1") */
	ck_assert_uint_eq(strlen(t), RESETS_TOKEN_LEN);
	ck_assert_uint_eq(strspn(t, "0123456789abcdef"), RESETS_TOKEN_LEN);
	/* only the hash is stored */
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM password_resets", 0), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT length(token_hash) FROM password_resets", 0), 64);
	ck_assert_int_eq(resets_create(db, 999, NOW, u, t), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_confirm_once)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];
	struct user usr;

	ck_assert_int_eq(resets_create(db, uid, NOW, u, t), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT email_verified FROM users WHERE id = ?", uid), 0);
	ck_assert_int_eq(resets_confirm(db, u, t, "new-password", NOW + 60), 0);
	ck_assert_int_eq(users_authenticate(db, "reset@example.com", "new-password", &usr), 0);
	ck_assert(usr.email_verified); /* the link came through the mailbox */
	ck_assert_int_eq(usr.token_version, 1);
	ck_assert_int_eq(users_authenticate(db, "reset@example.com", "old-password", &usr),
			 IA_ERR_AUTH);
	ck_assert_int_eq(resets_confirm(db, u, t, "third-password", NOW + 61), IA_ERR_AUTH);
	ck_assert_int_eq(users_get(db, uid, &usr), 0);
	ck_assert_int_eq(usr.token_version, 1);
}
END_TEST

START_TEST(test_expired)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];

	ck_assert_int_eq(resets_create(db, uid, NOW, u, t), 0);
	ck_assert_int_eq(resets_confirm(db, u, t, "new-password", NOW + RESETS_LIFETIME + 1),
			 IA_ERR_AUTH);
	ck_assert_int_eq(resets_confirm(db, u, t, "new-password", NOW + RESETS_LIFETIME), 0);
}
END_TEST

START_TEST(test_wrong_uid)
{
	struct user_new nu = {.email = "other@example.com"};
	char u1[RESETS_UID_MAX], t1[RESETS_TOKEN_LEN + 1];
	char u2[RESETS_UID_MAX], t2[RESETS_TOKEN_LEN + 1];
	int64_t other;

	ck_assert_int_eq(users_create(db, &nu, &other), 0);
	ck_assert_int_eq(resets_create(db, uid, NOW, u1, t1), 0);
	ck_assert_int_eq(resets_create(db, other, NOW, u2, t2), 0);
	ck_assert_str_eq(u2, "Mg");
	ck_assert_int_eq(resets_confirm(db, u2, t1, "new-password", NOW), IA_ERR_AUTH);
	ck_assert_int_eq(resets_confirm(db, "MQ==", t1, "new-password", NOW), IA_ERR_AUTH);
	ck_assert_int_eq(resets_confirm(db, "!!", t1, "new-password", NOW), IA_ERR_AUTH);
	ck_assert_int_eq(resets_confirm(db, NULL, t1, "new-password", NOW), IA_ERR_AUTH);
	/* the token survived the failed attempts */
	ck_assert_int_eq(resets_confirm(db, u1, t1, "new-password", NOW), 0);
}
END_TEST

START_TEST(test_malformed_token)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];
	char upper[RESETS_TOKEN_LEN + 1];

	ck_assert_int_eq(resets_create(db, uid, NOW, u, t), 0);
	ck_assert_int_eq(resets_confirm(db, u, "", "new-password", NOW), IA_ERR_AUTH);
	ck_assert_int_eq(resets_confirm(db, u, NULL, "new-password", NOW), IA_ERR_AUTH);
	memcpy(upper, t, sizeof(upper));
	upper[0] = 'G';
	ck_assert_int_eq(resets_confirm(db, u, upper, "new-password", NOW), IA_ERR_AUTH);
	upper[0] = t[0] == '0' ? '1' : '0'; /* well formed, but not ours */
	ck_assert_int_eq(resets_confirm(db, u, upper, "new-password", NOW), IA_ERR_AUTH);
	ck_assert_int_eq(resets_confirm(db, u, t, NULL, NOW), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_siblings_retired)
{
	char u1[RESETS_UID_MAX], t1[RESETS_TOKEN_LEN + 1];
	char u2[RESETS_UID_MAX], t2[RESETS_TOKEN_LEN + 1];

	ck_assert_int_eq(resets_create(db, uid, NOW, u1, t1), 0);
	ck_assert_int_eq(resets_create(db, uid, NOW + 5, u2, t2), 0);
	ck_assert_str_ne(t1, t2);
	ck_assert_int_eq(resets_confirm(db, u2, t2, "new-password", NOW + 10), 0);
	ck_assert_int_eq(resets_confirm(db, u1, t1, "other-password", NOW + 11), IA_ERR_AUTH);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM password_resets WHERE used IS NULL", 0), 0);
}
END_TEST

static Suite *resets_suite(void)
{
	Suite *s = suite_create("resets");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create_format);
	tcase_add_test(tc, test_confirm_once);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_wrong_uid);
	tcase_add_test(tc, test_malformed_token);
	tcase_add_test(tc, test_siblings_retired);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(resets_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
