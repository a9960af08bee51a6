/*
 * test_onetime.c - unit tests for lib/onetime.c on a real migrated SQLite
 * file (its password_resets table, through statements of the test's own):
 * the link round-trips, malformed links are refused, a token is found
 * only while unused, unexpired and for its own user, a redeem wins once
 * and retires the user's other tokens, and a failing grant undoes it.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "onetime.h"
#include "testdb.h"
#include "users.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NOW      1800000000
#define LIFETIME 600

static const struct onetime_sql sql = {
    .insert = "INSERT INTO password_resets(user_id, token_hash, created) "
	      "SELECT id, ?2, ?3 FROM users WHERE id = ?1",
    .find = "SELECT id, user_id, created, used IS NOT NULL FROM password_resets "
	    "WHERE token_hash = ?1",
    .claim = "UPDATE password_resets SET used = ?1 WHERE id = ?2 AND used IS NULL",
    .retire = "UPDATE password_resets SET used = ?1 WHERE user_id = ?2 AND used IS NULL",
    .lifetime = LIFETIME,
};

static struct db *db;
static int64_t uid;

static void setup(void)
{
	struct user_new nu = {.email = "onetime@example.com", .password = "a-password"};

	db = testdb_open();
	ck_assert_int_eq(users_create(db, &nu, &uid), 0);
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

static int claim(const struct onetime_row *row, int64_t now)
{
	return onetime_redeem(db, &sql, row, now, NULL, NULL);
}

/* A grant that records its user in *ud and then fails. */
static int failing_grant(struct db *d, int64_t user_id, int64_t now, void *ud)
{
	(void)d;
	(void)now;
	*(int64_t *)ud = user_id;
	return IA_ERR_IO;
}

START_TEST(test_link_round_trip)
{
	char u[ONETIME_UID_MAX], t[ONETIME_TOKEN_LEN + 1], h[ONETIME_HASH_HEX];
	char h2[ONETIME_HASH_HEX];
	int64_t id = 0;

	onetime_link_new(1, u, t, h);
	ck_assert_str_eq(u, "MQ"); /* urlsafe_base64_encode(b"1") */
	ck_assert_uint_eq(strlen(t), ONETIME_TOKEN_LEN);
	ck_assert_uint_eq(strspn(t, "0123456789abcdef"), ONETIME_TOKEN_LEN);
	ck_assert_uint_eq(strlen(h), ONETIME_HASH_HEX - 1);
	ck_assert_int_eq(onetime_link_parse(u, t, &id, h2), 0);
	ck_assert_int_eq(id, 1);
	ck_assert_str_eq(h, h2);
	onetime_link_new(1234567, u, t, h);
	ck_assert_str_eq(u, "MTIzNDU2Nw"); /* b"1234567" */
	ck_assert_int_eq(onetime_link_parse(u, t, &id, h2), 0);
	ck_assert_int_eq(id, 1234567);
}
END_TEST

START_TEST(test_link_parse_refuses_malformed)
{
	char u[ONETIME_UID_MAX], t[ONETIME_TOKEN_LEN + 1], h[ONETIME_HASH_HEX];
	char bad[ONETIME_TOKEN_LEN + 1];
	int64_t id = 0;

	onetime_link_new(7, u, t, h);
	memcpy(bad, t, sizeof(bad));
	bad[0] = 'A'; /* uppercase hex */
	ck_assert_int_eq(onetime_link_parse(u, bad, &id, h), IA_ERR_AUTH);
	bad[ONETIME_TOKEN_LEN - 1] = '\0'; /* short */
	ck_assert_int_eq(onetime_link_parse(u, bad, &id, h), IA_ERR_AUTH);
	ck_assert_int_eq(onetime_link_parse(u, NULL, &id, h), IA_ERR_AUTH);
	ck_assert_int_eq(onetime_link_parse(NULL, t, &id, h), IA_ERR_AUTH);
	ck_assert_int_eq(onetime_link_parse("MA", t, &id, h), IA_ERR_AUTH);   /* "0" */
	ck_assert_int_eq(onetime_link_parse("MDc", t, &id, h), IA_ERR_AUTH);  /* "07" */
	ck_assert_int_eq(onetime_link_parse("Nw==", t, &id, h), IA_ERR_AUTH); /* padded */
	ck_assert_int_eq(onetime_link_parse("eA", t, &id, h), IA_ERR_AUTH);   /* "x" */
	ck_assert_int_eq(id, 0);
}
END_TEST

START_TEST(test_create_check_claim_once)
{
	char u[ONETIME_UID_MAX], t[ONETIME_TOKEN_LEN + 1];
	struct onetime_row row;

	ck_assert_int_eq(onetime_create(db, &sql, uid, NOW, u, t), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT length(token_hash) FROM password_resets", 0), 64);
	ck_assert_int_eq(onetime_check(db, &sql, u, t, NOW + 1, &row), 0);
	ck_assert_int_eq(row.user_id, uid);
	ck_assert_int_eq(row.created, NOW);
	ck_assert_int_eq(claim(&row, NOW + 2), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT used FROM password_resets", 0), NOW + 2);
	/* used: neither found again nor claimed twice */
	ck_assert_int_eq(onetime_check(db, &sql, u, t, NOW + 3, &row), IA_ERR_AUTH);
	ck_assert_int_eq(claim(&row, NOW + 3), IA_ERR_AUTH);
}
END_TEST

START_TEST(test_create_unknown_user)
{
	char u[ONETIME_UID_MAX] = "", t[ONETIME_TOKEN_LEN + 1] = "";

	ck_assert_int_eq(onetime_create(db, &sql, uid + 1, NOW, u, t), IA_ERR_NOTFOUND);
	ck_assert_str_eq(u, ""); /* outputs written only on success */
	ck_assert_str_eq(t, "");
	ck_assert_int_eq(onetime_create(db, &sql, 0, NOW, u, t), IA_ERR_INVAL);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM password_resets", 0), 0);
}
END_TEST

START_TEST(test_check_expiry_and_user)
{
	char u[ONETIME_UID_MAX], t[ONETIME_TOKEN_LEN + 1];
	char other[ONETIME_UID_MAX], h[ONETIME_HASH_HEX], t2[ONETIME_TOKEN_LEN + 1];
	struct onetime_row row;

	ck_assert_int_eq(onetime_create(db, &sql, uid, NOW, u, t), 0);
	ck_assert_int_eq(onetime_check(db, &sql, u, t, NOW + LIFETIME, &row), 0);
	ck_assert_int_eq(onetime_check(db, &sql, u, t, NOW + LIFETIME + 1, &row), IA_ERR_AUTH);
	onetime_link_new(uid + 1, other, t2, h); /* another user's uidb64 */
	ck_assert_int_eq(onetime_check(db, &sql, other, t, NOW, &row), IA_ERR_AUTH);
	ck_assert_int_eq(onetime_check(db, &sql, u, t2, NOW, &row), IA_ERR_AUTH); /* unknown */
}
END_TEST

START_TEST(test_claim_retires_siblings)
{
	char u1[ONETIME_UID_MAX], t1[ONETIME_TOKEN_LEN + 1];
	char u2[ONETIME_UID_MAX], t2[ONETIME_TOKEN_LEN + 1];
	struct onetime_row row;

	ck_assert_int_eq(onetime_create(db, &sql, uid, NOW, u1, t1), 0);
	ck_assert_int_eq(onetime_create(db, &sql, uid, NOW + 5, u2, t2), 0);
	ck_assert_int_eq(onetime_check(db, &sql, u2, t2, NOW + 10, &row), 0);
	ck_assert_int_eq(claim(&row, NOW + 10), 0);
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM password_resets WHERE used IS NULL", 0), 0);
	ck_assert_int_eq(onetime_check(db, &sql, u1, t1, NOW + 11, &row), IA_ERR_AUTH);
}
END_TEST

START_TEST(test_failing_grant_rolls_back)
{
	char u[ONETIME_UID_MAX], t[ONETIME_TOKEN_LEN + 1];
	struct onetime_row row;
	int64_t granted = 0;

	ck_assert_int_eq(onetime_create(db, &sql, uid, NOW, u, t), 0);
	ck_assert_int_eq(onetime_check(db, &sql, u, t, NOW + 1, &row), 0);
	ck_assert_int_eq(onetime_redeem(db, &sql, &row, NOW + 1, failing_grant, &granted),
			 IA_ERR_IO);
	ck_assert_int_eq(granted, uid);
	/* the claim was rolled back: the token still works */
	ck_assert_int_eq(
	    testdb_int(db, "SELECT count(*) FROM password_resets WHERE used IS NULL", 0), 1);
	ck_assert_int_eq(onetime_check(db, &sql, u, t, NOW + 2, &row), 0);
	ck_assert_int_eq(claim(&row, NOW + 2), 0);
}
END_TEST

static Suite *onetime_suite(void)
{
	Suite *s = suite_create("onetime");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_link_round_trip);
	tcase_add_test(tc, test_link_parse_refuses_malformed);
	tcase_add_test(tc, test_create_check_claim_once);
	tcase_add_test(tc, test_create_unknown_user);
	tcase_add_test(tc, test_check_expiry_and_user);
	tcase_add_test(tc, test_claim_retires_siblings);
	tcase_add_test(tc, test_failing_grant_rolls_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(onetime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
