/*
 * test_http.c - unit tests for lib/http.c's query-string reader
 * http_query_get (on a request with only .query set, no FastCGI): present
 * and absent names, URL decoding, duplicates, names that are prefixes of
 * others, the output bound, and empty values. Replies need libfcgi streams
 * and are left to the API tests.
 */
#include "config.h"

#include "err.h"
#include "http.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct http_request req_with(const char *query)
{
	struct http_request r;

	memset(&r, 0, sizeof(r));
	r.query = query;
	r.content_length = -1;
	return r;
}

START_TEST(test_present_and_absent)
{
	struct http_request r = req_with("page=2&page_size=20&q=cat");
	char out[32];

	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "2");
	ck_assert_int_eq(http_query_get(&r, "page_size", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "20");
	ck_assert_int_eq(http_query_get(&r, "q", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "cat");
	snprintf(out, sizeof(out), "untouched");
	ck_assert_int_eq(http_query_get(&r, "missing", out, sizeof(out)), IA_ERR_NOTFOUND);
	ck_assert_int_eq(http_query_get(&r, "pag", out, sizeof(out)), IA_ERR_NOTFOUND);
	ck_assert_int_eq(http_query_get(&r, "Page", out, sizeof(out)), IA_ERR_NOTFOUND);
	ck_assert_str_eq(out, "untouched");
}
END_TEST

START_TEST(test_no_query)
{
	struct http_request r = req_with(NULL);
	char out[8];

	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), IA_ERR_NOTFOUND);
	r = req_with("");
	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), IA_ERR_NOTFOUND);
	r = req_with("&&&");
	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_url_decoding)
{
	struct http_request r = req_with("a=%41%62c&b=x+y&c=%zz&d=100%&e=%4&f=%2B%26%3D&g=%c3%A9");
	char out[32];

	ck_assert_int_eq(http_query_get(&r, "a", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "Abc");
	ck_assert_int_eq(http_query_get(&r, "b", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "x y");
	/* a bad escape is kept literally */
	ck_assert_int_eq(http_query_get(&r, "c", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "%zz");
	ck_assert_int_eq(http_query_get(&r, "d", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "100%");
	/* a truncated escape at the end of a value does not read the next pair */
	ck_assert_int_eq(http_query_get(&r, "e", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "%4");
	/* encoded separators are data, not separators */
	ck_assert_int_eq(http_query_get(&r, "f", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "+&=");
	ck_assert_int_eq(http_query_get(&r, "g", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "\xc3\xa9");
}
END_TEST

START_TEST(test_first_of_duplicates)
{
	struct http_request r = req_with("page=1&page=2&page=3");
	char out[8];

	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "1");
}
END_TEST

START_TEST(test_prefix_names)
{
	struct http_request r = req_with("page_size=50&page=3");
	char out[8];

	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "3");
	ck_assert_int_eq(http_query_get(&r, "page_size", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "50");

	r = req_with("page_size=50");
	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), IA_ERR_NOTFOUND);
	r = req_with("xpage=4");
	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(test_out_too_small)
{
	struct http_request r = req_with("q=abcd&p=%41%41%41");
	char out[5];

	ck_assert_int_eq(http_query_get(&r, "q", out, 5), 0);
	ck_assert_str_eq(out, "abcd");
	ck_assert_int_eq(http_query_get(&r, "q", out, 4), IA_ERR_TOOBIG);
	ck_assert_int_eq(http_query_get(&r, "q", out, 1), IA_ERR_TOOBIG);
	/* the bound counts decoded bytes */
	ck_assert_int_eq(http_query_get(&r, "p", out, 4), 0);
	ck_assert_str_eq(out, "AAA");
	ck_assert_int_eq(http_query_get(&r, "p", out, 3), IA_ERR_TOOBIG);
}
END_TEST

START_TEST(test_empty_value)
{
	struct http_request r = req_with("page=&page_size=5&flag");
	char out[8];

	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(http_query_get(&r, "page", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(http_query_get(&r, "page", out, 1), 0);
	ck_assert_str_eq(out, "");
	/* a bare name without '=' has no value */
	ck_assert_int_eq(http_query_get(&r, "flag", out, sizeof(out)), IA_ERR_NOTFOUND);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("query");

	tcase_add_test(tc, test_present_and_absent);
	tcase_add_test(tc, test_no_query);
	tcase_add_test(tc, test_url_decoding);
	tcase_add_test(tc, test_first_of_duplicates);
	tcase_add_test(tc, test_prefix_names);
	tcase_add_test(tc, test_out_too_small);
	tcase_add_test(tc, test_empty_value);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
