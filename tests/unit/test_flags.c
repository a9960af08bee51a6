/*
 * test_flags.c - unit tests for lib/flags.c on a real migrated SQLite file:
 * name rules, enabling, per-user assignment and the sorted list of flags
 * active for a user.
 */
#include "config.h"

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
static int64_t alice, bob;

static void setup(void)
{
	struct user_new a = {.email = "alice@example.com"};
	struct user_new b = {.email = "bob@example.com"};

	db = testdb_open();
	ck_assert_int_eq(users_create(db, &a, &alice), 0);
	ck_assert_int_eq(users_create(db, &b, &bob), 0);
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

static int join_name(void *ud, const char *name)
{
	char *buf = ud;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, "%s,", name);
	return 0;
}

static const char *active(int64_t user_id)
{
	static char buf[256];

	buf[0] = '\0';
	ck_assert_int_eq(flags_for_user(db, user_id, join_name, buf), 0);
	return buf;
}

START_TEST(test_create_names)
{
	char long_name[FLAG_NAME_MAX + 2];

	ck_assert_int_eq(flags_create(db, "beta-ui_2"), 0);
	ck_assert_int_eq(flags_create(db, "beta-ui_2"), IA_ERR_EXISTS);
	ck_assert_int_eq(flags_create(db, "show_credits"), IA_ERR_EXISTS); /* seeded */
	ck_assert_int_eq(flags_create(db, "Beta"), IA_ERR_INVAL);
	ck_assert_int_eq(flags_create(db, "a b"), IA_ERR_INVAL);
	ck_assert_int_eq(flags_create(db, ""), IA_ERR_INVAL);
	ck_assert_int_eq(flags_create(db, NULL), IA_ERR_INVAL);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[FLAG_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(flags_create(db, long_name), IA_ERR_INVAL);
	long_name[FLAG_NAME_MAX] = '\0';
	ck_assert_int_eq(flags_create(db, long_name), 0);
}
END_TEST

START_TEST(test_for_user_global_and_assigned_sorted)
{
	ck_assert_int_eq(flags_create(db, "zeta"), 0);
	ck_assert_int_eq(flags_create(db, "alpha"), 0);
	ck_assert_int_eq(flags_create(db, "mid"), 0);
	ck_assert_str_eq(active(alice), "");
	ck_assert_int_eq(flags_set_enabled(db, "mid", true), 0);
	ck_assert_int_eq(flags_assign(db, "zeta", alice), 0);
	ck_assert_int_eq(flags_assign(db, "alpha", alice), 0);
	ck_assert_str_eq(active(alice), "alpha,mid,zeta,");
	ck_assert_str_eq(active(bob), "mid,");
	ck_assert_int_eq(flags_set_enabled(db, "mid", false), 0);
	ck_assert_str_eq(active(bob), "");
	ck_assert_int_eq(flags_unassign(db, "zeta", alice), 0);
	ck_assert_str_eq(active(alice), "alpha,");
}
END_TEST

START_TEST(test_list_load_matches_for_user)
{
	struct flag_list l;

	ck_assert_int_eq(flags_create(db, "zeta"), 0);
	ck_assert_int_eq(flags_create(db, "alpha"), 0);
	ck_assert_int_eq(flags_set_enabled(db, "zeta", true), 0);
	ck_assert_int_eq(flags_assign(db, "alpha", alice), 0);
	ck_assert_int_eq(flags_list_load(db, alice, &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.names[0], "alpha");
	ck_assert_str_eq(l.names[1], "zeta");
	flags_list_cleanup(&l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.names);
	flags_list_cleanup(&l); /* twice, and NULL: no-ops */
	flags_list_cleanup(NULL);
	ck_assert_int_eq(flags_list_load(db, bob, &l), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.names[0], "zeta");
	flags_list_cleanup(&l);
}
END_TEST

START_TEST(test_assign_errors)
{
	ck_assert_int_eq(flags_assign(db, "nope", alice), IA_ERR_NOTFOUND);
	ck_assert_int_eq(flags_assign(db, "show_credits", 999), IA_ERR_NOTFOUND);
	ck_assert_int_eq(flags_assign(db, "show_credits", alice), 0);
	ck_assert_int_eq(flags_assign(db, "show_credits", alice), IA_ERR_EXISTS);
	ck_assert_int_eq(flags_unassign(db, "show_credits", bob), IA_ERR_NOTFOUND);
	ck_assert_int_eq(flags_unassign(db, "nope", bob), IA_ERR_NOTFOUND);
	ck_assert_int_eq(flags_set_enabled(db, "nope", true), IA_ERR_NOTFOUND);
	ck_assert_int_eq(flags_set_enabled(db, "BAD NAME", true), IA_ERR_INVAL);
}
END_TEST

struct listing {
	char text[256];
};

static int list_flag(void *ud, const struct flag *f)
{
	struct listing *l = ud;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s:%d:%lld;", f->name, f->enabled,
		 (long long)f->users);
	return 0;
}

START_TEST(test_each)
{
	struct listing l = {""};

	ck_assert_int_eq(flags_create(db, "beta"), 0);
	ck_assert_int_eq(flags_set_enabled(db, "beta", true), 0);
	ck_assert_int_eq(flags_assign(db, "show_credits", alice), 0);
	ck_assert_int_eq(flags_assign(db, "show_credits", bob), 0);
	ck_assert_int_eq(flags_each(db, list_flag, &l), 0);
	ck_assert_str_eq(l.text, "beta:1:0;show_credits:0:2;");
}
END_TEST

static Suite *flags_suite(void)
{
	Suite *s = suite_create("flags");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create_names);
	tcase_add_test(tc, test_for_user_global_and_assigned_sorted);
	tcase_add_test(tc, test_list_load_matches_for_user);
	tcase_add_test(tc, test_assign_errors);
	tcase_add_test(tc, test_each);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flags_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
