/*
 * test_users.c - unit tests for lib/users.c against a real migrated
 * SQLite file: creation with the signup bonus and flag, case-insensitive
 * emails, authentication, password changes, bans, staff bits and listing.
 */
#include "config.h"

#include "credits.h"
#include "db.h"
#include "err.h"
#include "flags.h"
#include "testdb.h"
#include "users.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db *db;

static void setup(void)
{
	db = testdb_open();
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

static int64_t make_user(const char *email, const char *password, int64_t bonus, bool flag)
{
	struct user_new nu = {.email = email,
			      .password = password,
			      .signup_credits = bonus,
			      .show_credits_flag = flag};
	int64_t id = 0;

	ck_assert_int_eq(users_create(db, &nu, &id), 0);
	ck_assert_int_gt(id, 0);
	return id;
}

static int collect_flag(void *ud, const char *name)
{
	char *buf = ud;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, "%s,", name);
	return 0;
}

START_TEST(test_signup_bonus_and_flag)
{
	struct credits_entry e[4];
	char flags[256] = "";
	struct user u;
	size_t n = 0;
	int64_t id = make_user("Alice@Example.COM", "password-1", 100, true);

	ck_assert_int_eq(users_get(db, id, &u), 0);
	ck_assert_str_eq(u.email, "alice@example.com");
	ck_assert_int_eq(u.credits, 100);
	ck_assert(u.has_usable_password);
	ck_assert(!u.is_staff && !u.banned);
	ck_assert_int_eq(testdb_user_ledger(db, id, NULL), 1);
	ck_assert_int_eq(credits_history(db, id, 0, 4, e, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(e[0].reason, "signup_bonus");
	ck_assert_int_eq(e[0].delta, 100);
	ck_assert_int_eq(e[0].balance_after, 100);
	ck_assert_int_eq(flags_for_user(db, id, collect_flag, flags), 0);
	ck_assert_str_eq(flags, "show_credits,");
}
END_TEST

START_TEST(test_no_bonus_no_ledger)
{
	struct user u;
	int64_t id = make_user("admin@example.com", NULL, 0, false);
	char flags[256] = "";

	ck_assert_int_eq(users_get(db, id, &u), 0);
	ck_assert_int_eq(u.credits, 0);
	ck_assert(!u.has_usable_password);
	ck_assert_int_eq(testdb_user_ledger(db, id, NULL), 0);
	ck_assert_int_eq(flags_for_user(db, id, collect_flag, flags), 0);
	ck_assert_str_eq(flags, "");
}
END_TEST

START_TEST(test_duplicate_email_other_case)
{
	struct user_new nu = {
	    .email = "BOB@example.com", .signup_credits = 100, .show_credits_flag = true};
	int64_t id = 0;

	make_user("bob@example.com", NULL, 100, true);
	ck_assert_int_eq(users_create(db, &nu, &id), IA_ERR_EXISTS);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM credit_ledger", 0), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM user_flags", 0), 1);
}
END_TEST

START_TEST(test_create_invalid)
{
	struct user_new nu = {.email = "no-at-sign"};
	char name[4 * USER_NAME_MAX + 8];
	int64_t id = 0;

	ck_assert_int_eq(users_create(db, &nu, &id), IA_ERR_INVAL);
	nu.email = "";
	ck_assert_int_eq(users_create(db, &nu, &id), IA_ERR_INVAL);
	nu.email = "x@example.com";
	memset(name, 'a', 31);
	name[31] = '\0';
	nu.first_name = name;
	ck_assert_int_eq(users_create(db, &nu, &id), IA_ERR_INVAL);
	/* 30 two-byte characters are 30 characters, not 60 */
	for (int i = 0; i < 30; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[60] = '\0';
	ck_assert_int_eq(users_create(db, &nu, &id), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 1);
}
END_TEST

/* Issue 9: a name holding ESC [ 2 J reached the admin's terminal through
 * `iactl user show`. Whoever creates the account, users_create refuses it. */
START_TEST(test_create_refuses_control_characters_in_names)
{
	static const char *const bad[] = {"Eve\x1b[2J", "a\nb",        "tab\t",
					  "del\x7f",    "csi\xc2\x9b", "bad\xff"};
	struct user_new nu = {.email = "x@example.com"};
	int64_t id = 0;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nu.first_name = bad[i];
		nu.last_name = NULL;
		ck_assert_int_eq(users_create(db, &nu, &id), IA_ERR_INVAL);
		nu.first_name = NULL;
		nu.last_name = bad[i];
		ck_assert_int_eq(users_create(db, &nu, &id), IA_ERR_INVAL);
	}
	nu.last_name = NULL;
	nu.email = "eve\x1b[2J@example.com";
	ck_assert_int_eq(users_create(db, &nu, &id), IA_ERR_INVAL);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM users", 0), 0);
	nu.email = "x@example.com";
	nu.first_name = "Zo\xc3\xab";
	nu.last_name = "O'Brien-Sm\xc3\xadth";
	ck_assert_int_eq(users_create(db, &nu, &id), 0);
}
END_TEST

START_TEST(test_authenticate)
{
	struct user u;
	int64_t id = make_user("carol@example.com", "right-password", 0, false);

	memset(&u, 0, sizeof(u));
	ck_assert_int_eq(users_authenticate(db, "CAROL@example.com", "right-password", &u), 0);
	ck_assert_int_eq(u.id, id);
	memset(&u, 0, sizeof(u));
	ck_assert_int_eq(users_authenticate(db, "carol@example.com", "wrong-password", &u),
			 IA_ERR_AUTH);
	ck_assert_int_eq(u.id, 0); /* out untouched on failure */
	ck_assert_int_eq(users_authenticate(db, "nobody@example.com", "right-password", &u),
			 IA_ERR_AUTH);
	ck_assert_int_eq(users_authenticate(db, NULL, "x", &u), IA_ERR_AUTH);
}
END_TEST

START_TEST(test_authenticate_unusable_password)
{
	struct user u;

	make_user("google@example.com", NULL, 0, false);
	ck_assert_int_eq(users_authenticate(db, "google@example.com", "!", &u), IA_ERR_AUTH);
	ck_assert_int_eq(users_authenticate(db, "google@example.com", "", &u), IA_ERR_AUTH);
}
END_TEST

START_TEST(test_set_password_bumps_version)
{
	struct user u;
	int64_t id = make_user("dave@example.com", "old-password", 0, false);

	ck_assert_int_eq(users_get(db, id, &u), 0);
	ck_assert_int_eq(u.token_version, 0);
	ck_assert_int_eq(users_set_password(db, id, "new-password"), 0);
	ck_assert_int_eq(users_get(db, id, &u), 0);
	ck_assert_int_eq(u.token_version, 1);
	ck_assert_int_eq(users_authenticate(db, "dave@example.com", "old-password", &u),
			 IA_ERR_AUTH);
	ck_assert_int_eq(users_authenticate(db, "dave@example.com", "new-password", &u), 0);
	ck_assert_int_eq(users_set_password(db, id + 100, "x-password"), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_ban_and_staff)
{
	struct user u;
	int64_t id = make_user("eve@example.com", NULL, 0, false);

	ck_assert_int_eq(users_set_ban(db, id, true, "spam"), 0);
	ck_assert_int_eq(users_get_by_email(db, "EVE@EXAMPLE.COM", &u), 0);
	ck_assert(u.banned);
	ck_assert_int_eq(users_set_ban(db, id, false, NULL), 0);
	ck_assert_int_eq(users_get(db, id, &u), 0);
	ck_assert(!u.banned);
	ck_assert_int_eq(users_set_staff(db, id, true, true), 0);
	ck_assert_int_eq(users_get(db, id, &u), 0);
	ck_assert(u.is_staff && u.is_superuser);
	ck_assert_int_eq(users_set_ban(db, 999, true, "x"), IA_ERR_NOTFOUND);
	ck_assert_int_eq(users_set_staff(db, 999, true, false), IA_ERR_NOTFOUND);
	ck_assert_int_eq(users_get(db, 999, &u), IA_ERR_NOTFOUND);
	ck_assert_int_eq(users_get_by_email(db, "nobody@example.com", &u), IA_ERR_NOTFOUND);
}
END_TEST

struct seen {
	int64_t ids[8];
	int n;
	int stop_after;
};

static int collect_user(void *ud, const struct user *u)
{
	struct seen *s = ud;

	s->ids[s->n++] = u->id;
	return s->n == s->stop_after ? 7 : 0;
}

START_TEST(test_each)
{
	struct seen s = {.n = 0, .stop_after = 0};
	int64_t a = make_user("u1@example.com", NULL, 0, false);
	int64_t b = make_user("u2@example.com", NULL, 0, false);
	int64_t c = make_user("u3@example.com", NULL, 0, false);

	ck_assert_int_eq(users_each(db, collect_user, &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert(s.ids[0] == a && s.ids[1] == b && s.ids[2] == c);
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	ck_assert_int_eq(users_each(db, collect_user, &s), 7);
	ck_assert_int_eq(s.n, 2);
}
END_TEST

static Suite *users_suite(void)
{
	Suite *s = suite_create("users");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_signup_bonus_and_flag);
	tcase_add_test(tc, test_no_bonus_no_ledger);
	tcase_add_test(tc, test_duplicate_email_other_case);
	tcase_add_test(tc, test_create_invalid);
	tcase_add_test(tc, test_create_refuses_control_characters_in_names);
	tcase_add_test(tc, test_authenticate);
	tcase_add_test(tc, test_authenticate_unusable_password);
	tcase_add_test(tc, test_set_password_bumps_version);
	tcase_add_test(tc, test_ban_and_staff);
	tcase_add_test(tc, test_each);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(users_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
