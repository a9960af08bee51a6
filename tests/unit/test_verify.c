/*
 * test_verify.c - unit tests for lib/verify.c and the Google linking rule
 * (users_link_google) on a real migrated SQLite file: signup queues one
 * verification mail in its transaction, a link works once and for 3 days,
 * resend does nothing for a verified address, and a Google sign-in into
 * an unverified account with a password takes the password away and
 * revokes older tokens.
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
#include "verify.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t NOW; /* when the signup hook stamped the token (the real time) */

static struct db *db;
static struct settings s;
static int64_t uid;

static int failing_hook(struct db *d, int64_t id, const char *email, void *ud)
{
	(void)ud;
	ck_assert_int_eq(verify_enqueue(d, &s, id, email, NOW), 0);
	return IA_ERR_IO;
}

static void setup(void)
{
	struct user_new nu = {.email = "Verify@Example.com", .password = "a password"};

	db = testdb_open();
	memset(&s, 0, sizeof(s));
	s.public_url = xstrdup("http://ia.example");
	nu.in_tx = verify_on_signup;
	nu.in_tx_ud = &s;
	ck_assert_int_eq(users_create(db, &nu, &uid), 0);
	NOW = testdb_int(db, "SELECT created FROM email_verifications WHERE user_id = ?", uid);
}

static void teardown(void)
{
	free(s.public_url);
	testdb_close(db);
	db = NULL;
}

/* The uidb64 and token of the newest verification mail in the outbox. */
static void newest_link(char uid64[RESETS_UID_MAX], char token[RESETS_TOKEN_LEN + 1])
{
	struct db_stmt *st;
	const char *body, *p;
	size_t n;

	ck_assert_int_eq(db_prepare(db,
				    "SELECT body FROM outbox WHERE kind = 'verify' "
				    "ORDER BY id DESC LIMIT 1",
				    &st),
			 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	body = db_column_text(st, 0);
	p = strstr(body, "http://ia.example/users/verify/email/");
	ck_assert_ptr_nonnull(p);
	p += strlen("http://ia.example/users/verify/email/");
	n = strcspn(p, "/");
	ck_assert_uint_lt(n, RESETS_UID_MAX);
	memcpy(uid64, p, n);
	uid64[n] = '\0';
	p += n + 1;
	n = strcspn(p, "/");
	ck_assert_uint_eq(n, RESETS_TOKEN_LEN);
	memcpy(token, p, n);
	token[n] = '\0';
	db_reset(st);
}

static bool verified(int64_t id)
{
	return testdb_int(db, "SELECT email_verified FROM users WHERE id = ?", id) != 0;
}

START_TEST(test_signup_queues_one_mail)
{
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 1);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM outbox WHERE kind = 'verify' AND "
				    "rcpt = 'verify@example.com' AND state = 'pending'",
				    0),
			 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM email_verifications", 0), 1);
	ck_assert(!verified(uid));
}
END_TEST

START_TEST(test_failed_signup_queues_nothing)
{
	struct user_new nu = {.email = "rollback@example.com", .password = "a password"};

	nu.in_tx = failing_hook;
	ck_assert_int_eq(users_create(db, &nu, NULL), IA_ERR_IO);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
}
END_TEST

START_TEST(test_link_works_once)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];
	struct user usr;

	newest_link(u, t);
	ck_assert_str_eq(u, "MQ");
	ck_assert_int_eq(verify_confirm(db, u, t, NOW), 0);
	ck_assert(verified(uid));
	ck_assert_int_eq(users_get(db, uid, &usr), 0);
	ck_assert(usr.email_verified);
	ck_assert_int_eq(verify_confirm(db, u, t, NOW), IA_ERR_AUTH);
}
END_TEST

START_TEST(test_bad_links)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];
	struct user_new other = {.email = "other@example.com", .password = "a password"};
	char bad[RESETS_TOKEN_LEN + 1];
	int64_t oid;

	ck_assert_int_eq(users_create(db, &other, &oid), 0);
	newest_link(u, t);
	memcpy(bad, t, sizeof(bad));
	bad[0] = bad[0] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(verify_confirm(db, u, bad, NOW), IA_ERR_AUTH);
	ck_assert_int_eq(verify_confirm(db, "Mg", t, NOW), IA_ERR_AUTH); /* user 2's uid */
	ck_assert_int_eq(verify_confirm(db, u, "", NOW), IA_ERR_AUTH);
	ck_assert_int_eq(verify_confirm(db, NULL, t, NOW), IA_ERR_AUTH);
	/* a password reset token is not a verification token */
	ck_assert(!verified(uid));
	/* older than 3 days */
	ck_assert_int_eq(verify_confirm(db, u, t, NOW + VERIFY_LIFETIME + 1), IA_ERR_AUTH);
	ck_assert_int_eq(verify_confirm(db, u, t, NOW + VERIFY_LIFETIME - 60), 0);
	ck_assert(!verified(oid));
}
END_TEST

START_TEST(test_resend)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];
	char u2[RESETS_UID_MAX], t2[RESETS_TOKEN_LEN + 1];
	bool sent = false;

	newest_link(u, t);
	ck_assert_int_eq(verify_resend(db, &s, uid, NOW, &sent), 0);
	ck_assert(sent);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 2);
	newest_link(u2, t2);
	ck_assert_str_ne(t, t2);
	/* using one link retires the other */
	ck_assert_int_eq(verify_confirm(db, u2, t2, NOW), 0);
	ck_assert_int_eq(verify_confirm(db, u, t, NOW), IA_ERR_AUTH);
	/* verified: nothing more is sent */
	ck_assert_int_eq(verify_resend(db, &s, uid, NOW, &sent), 0);
	ck_assert(!sent);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 2);
	ck_assert_int_eq(verify_resend(db, &s, 999, NOW, &sent), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_google_link_takes_the_password)
{
	struct user before, after;

	ck_assert_int_eq(users_get(db, uid, &before), 0);
	ck_assert(before.has_usable_password);
	ck_assert_int_eq(users_link_google(db, uid), 0);
	ck_assert_int_eq(users_get(db, uid, &after), 0);
	ck_assert(!after.has_usable_password);
	ck_assert(after.email_verified);
	ck_assert_int_eq(after.token_version, before.token_version + 1);
	ck_assert_int_eq(users_authenticate(db, "verify@example.com", "a password", &after),
			 IA_ERR_AUTH);
	/* a second Google sign-in changes nothing */
	ck_assert_int_eq(users_link_google(db, uid), 0);
	ck_assert_int_eq(users_get(db, uid, &after), 0);
	ck_assert_int_eq(after.token_version, before.token_version + 1);
}
END_TEST

START_TEST(test_google_link_keeps_a_verified_password)
{
	char u[RESETS_UID_MAX], t[RESETS_TOKEN_LEN + 1];
	struct user usr;

	newest_link(u, t);
	ck_assert_int_eq(verify_confirm(db, u, t, NOW), 0);
	ck_assert_int_eq(users_link_google(db, uid), 0);
	ck_assert_int_eq(users_authenticate(db, "verify@example.com", "a password", &usr), 0);
	ck_assert_int_eq(usr.token_version, 0);
}
END_TEST

START_TEST(test_google_created_is_verified)
{
	struct user_new g = {.email = "g@example.com", .email_verified = true};
	struct user usr;
	int64_t id;

	ck_assert_int_eq(users_create(db, &g, &id), 0);
	ck_assert_int_eq(users_get(db, id, &usr), 0);
	ck_assert(usr.email_verified);
}
END_TEST

static Suite *verify_suite(void)
{
	Suite *su = suite_create("verify");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_signup_queues_one_mail);
	tcase_add_test(tc, test_failed_signup_queues_nothing);
	tcase_add_test(tc, test_link_works_once);
	tcase_add_test(tc, test_bad_links);
	tcase_add_test(tc, test_resend);
	tcase_add_test(tc, test_google_link_takes_the_password);
	tcase_add_test(tc, test_google_link_keeps_a_verified_password);
	tcase_add_test(tc, test_google_created_is_verified);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(verify_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
