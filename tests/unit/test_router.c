/*
 * test_router.c - unit tests for lib/router.c's router_match: literal
 * paths, the optional trailing slash on either side, the <id> and <slug>
 * segments and their bounds, and the paths that must not match (empty
 * segments, extra or missing segments). router_dispatch replies through
 * libfcgi streams, so it is left to the API tests.
 */
#include "config.h"

#include "router.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* router_match with args pre-filled with junk, so a match must overwrite them. */
static int match(const char *pattern, const char *path, struct route_args *args)
{
	memset(args, 0x5a, sizeof(*args));
	return router_match(pattern, path, args);
}

START_TEST(test_literal)
{
	struct route_args a;

	ck_assert_int_eq(match("/api/user/", "/api/user/", &a), 1);
	ck_assert_int_eq(a.id, 0);
	ck_assert_str_eq(a.slug, "");
	ck_assert_ptr_null(a.data);
	ck_assert_int_eq(match("/api/user/", "/api/users/", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/api/use/", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/api/User/", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/api/", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/api", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/", &a), 0);
	ck_assert_int_eq(match("/api/user/", "", &a), 0);
	ck_assert_int_eq(match("/api/user/", "api/user/", &a), 0);
	ck_assert_int_eq(match("/", "/", &a), 1);
	ck_assert_int_eq(match("/", "/x", &a), 0);
}
END_TEST

START_TEST(test_trailing_slash_both_ways)
{
	struct route_args a;

	ck_assert_int_eq(match("/api/user/", "/api/user", &a), 1);
	ck_assert_int_eq(match("/api/user", "/api/user/", &a), 1);
	ck_assert_int_eq(match("/api/user", "/api/user", &a), 1);
	/* only one trailing slash is optional */
	ck_assert_int_eq(match("/api/user/", "/api/user//", &a), 0);
	ck_assert_int_eq(match("/api/user", "/api/user//", &a), 0);
}
END_TEST

START_TEST(test_empty_and_extra_segments)
{
	struct route_args a;

	ck_assert_int_eq(match("/api/user/", "//api/user/", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/api//user/", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/api/user/x", &a), 0);
	ck_assert_int_eq(match("/api/user/", "/api/user/x/", &a), 0);
	ck_assert_int_eq(match("/api/images/<id>/", "/api/images/", &a), 0);
	ck_assert_int_eq(match("/api/images/<id>/", "/api/images//", &a), 0);
	ck_assert_int_eq(match("/api/images/<id>/", "/api/images/7/x/", &a), 0);
	ck_assert_int_eq(match("/api/images/<id>/", "/api/images/7//", &a), 0);
	/* a path that is only a prefix of the pattern */
	ck_assert_int_eq(match("/api/images/<id>/delete/", "/api/images/7/", &a), 0);
	ck_assert_int_eq(match("/api/images/<id>/delete/", "/api/images/7/delet/", &a), 0);
}
END_TEST

START_TEST(test_id)
{
	struct route_args a;

	ck_assert_int_eq(match("/api/images/<id>/", "/api/images/42/", &a), 1);
	ck_assert_int_eq(a.id, 42);
	ck_assert_str_eq(a.slug, "");
	ck_assert_int_eq(match("/api/images/<id>/", "/api/images/1", &a), 1);
	ck_assert_int_eq(a.id, 1);
	ck_assert_int_eq(match("/api/images/<id>/delete/", "/api/images/9/delete", &a), 1);
	ck_assert_int_eq(a.id, 9);
	ck_assert_int_eq(match("/api/images/<id>/", "/api/images/9223372036854775807/", &a), 1);
	ck_assert(a.id == INT64_MAX);
}
END_TEST

START_TEST(test_id_refused)
{
	static const char *const bad[] = {
	    "/api/images/0/",
	    "/api/images/00/",
	    "/api/images/007/",
	    "/api/images/-1/",
	    "/api/images/+1/",
	    "/api/images/ 1/",
	    "/api/images/\n1/",
	    "/api/images/\r1/",
	    "/api/images/\v1/",
	    "/api/images/\f1/",
	    "/api/images/1 /",
	    "/api/images/abc/",
	    "/api/images/12a/",
	    "/api/images/0x10/",
	    "/api/images/1.0/",
	    "/api/images/9223372036854775808/",
	    "/api/images/99999999999999999999/",
	    "/api/images/123456789012345678901234567890/",
	};
	struct route_args a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(match("/api/images/<id>/", bad[i], &a) == 0, "%s matched", bad[i]);
}
END_TEST

START_TEST(test_slug)
{
	char path[128], want[80];
	struct route_args a;

	ck_assert_int_eq(match("/api/services/<slug>/", "/api/services/remove-background/", &a), 1);
	ck_assert_str_eq(a.slug, "remove-background");
	ck_assert_int_eq(a.id, 0);
	ck_assert_int_eq(match("/api/services/<slug>/", "/api/services/a", &a), 1);
	ck_assert_str_eq(a.slug, "a");
	ck_assert_int_eq(match("/api/services/<slug>/", "/api/services/x9-0/", &a), 1);
	ck_assert_str_eq(a.slug, "x9-0");

	memset(want, 'z', 63);
	want[63] = '\0';
	snprintf(path, sizeof(path), "/api/services/%s/", want);
	ck_assert_int_eq(match("/api/services/<slug>/", path, &a), 1);
	ck_assert_str_eq(a.slug, want);
	snprintf(path, sizeof(path), "/api/services/%sz/", want);
	ck_assert_int_eq(match("/api/services/<slug>/", path, &a), 0);
}
END_TEST

START_TEST(test_slug_refused)
{
	static const char *const bad[] = {
	    "/api/services//",           "/api/services/Greyscale/", "/api/services/grey_scale/",
	    "/api/services/grey.scale/", "/api/services/grey%20/",   "/api/services/é/",
	    "/api/services/a b/",        "/api/services/a/b/",
	};
	struct route_args a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(match("/api/services/<slug>/", bad[i], &a) == 0, "%s matched",
			      bad[i]);
}
END_TEST

START_TEST(test_no_match_leaves_args)
{
	struct route_args a;

	memset(&a, 0x5a, sizeof(a));
	/* the id segment matches before the literal fails: args stay untouched */
	ck_assert_int_eq(router_match("/api/images/<id>/delete/", "/api/images/5/keep/", &a), 0);
	ck_assert(a.id == 0x5a5a5a5a5a5a5a5aLL);
	ck_assert_int_eq((unsigned char)a.slug[0], 0x5a);
}
END_TEST

START_TEST(test_id_and_slug_together)
{
	struct route_args a;

	ck_assert_int_eq(match("/x/<slug>/<id>/", "/x/resize/12/", &a), 1);
	ck_assert_str_eq(a.slug, "resize");
	ck_assert_int_eq(a.id, 12);
	ck_assert_int_eq(match("/x/<slug>/<id>/", "/x/12/resize/", &a), 0);
}
END_TEST

static Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_literal);
	tcase_add_test(tc, test_trailing_slash_both_ways);
	tcase_add_test(tc, test_empty_and_extra_segments);
	tcase_add_test(tc, test_id);
	tcase_add_test(tc, test_id_refused);
	tcase_add_test(tc, test_slug);
	tcase_add_test(tc, test_slug_refused);
	tcase_add_test(tc, test_no_match_leaves_args);
	tcase_add_test(tc, test_id_and_slug_together);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
