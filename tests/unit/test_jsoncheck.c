/*
 * test_jsoncheck.c - unit tests for lib/jsoncheck.c: documents of every
 * JSON kind pass; what Python's json.loads refuses (leading zeros, raw
 * control characters, bad escapes, trailing commas, unquoted keys, single
 * quotes, NaN/Infinity, truncated or extra input) and NUL characters are
 * refused with an offset and a reason; nesting is bounded at 64.
 */
#include "config.h"

#include "err.h"
#include "jsoncheck.h"
#include "util.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int check_str(const char *text, size_t *where, const char **why)
{
	return jsoncheck_validate(text, strlen(text), where, why);
}

static const char *const valid_docs[] = {
    "{}",
    "[]",
    "0",
    "-0",
    "1",
    "-12",
    "3.25",
    "-0.5e-3",
    "1E+10",
    "1e5",
    "0.0",
    "true",
    "false",
    "null",
    "\"\"",
    "\"plain\"",
    "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00 \\u0001\"",
    "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
    " \t\r\n{ \"a\" : 1 , \"b\" : [ true , false , null ] } \n",
    "{\"a\":{\"b\":{\"c\":[1,[2,[3,{}]]]}},\"d\":\"\"}",
    "[1,\"two\",3.0,{\"four\":4},[5],null,true,false]",
    "{\"\":0}",
    "{\"a\":1,\"a\":2}",
};

START_TEST(test_valid)
{
	size_t where = 999;
	const char *why = "untouched";
	const char *doc = valid_docs[_i];

	ck_assert_msg(check_str(doc, &where, &why) == 0, "refused <%s> at %zu: %s", doc, where,
		      why);
	/* nothing is written on success */
	ck_assert_uint_eq(where, 999);
	ck_assert_str_eq(why, "untouched");
}
END_TEST

struct bad_doc {
	const char *text;
	size_t where; /* expected offset of the problem */
};

static const struct bad_doc invalid_docs[] = {
    {"", 0},
    {"   ", 3},
    {"01", 1},
    {"-01", 2},
    {"[00]", 2},
    {"{\"a\":012}", 6},
    {"1.", 2},
    {".5", 0},
    {"1.e5", 2},
    {"1e", 2},
    {"1e+", 3},
    {"-", 1},
    {"+1", 0},
    {"0x10", 1},
    {"\"tab\there\"", 4},
    {"\"nl\nhere\"", 3},
    {"\"\x1f\"", 1},
    {"\"a\\u0000b\"", 8},
    {"{\"email\":\"victim@example.com\\u0000.evil\"}", 34},
    {"\"\\x41\"", 2},
    {"\"\\a\"", 2},
    {"\"\\'\"", 2},
    {"\"\\u12\"", 5},
    {"\"\\u12G4\"", 5},
    {"\"\\", 2},
    {"[1,2,]", 5},
    {"{\"a\":1,}", 7},
    {"[,1]", 1},
    {"[1 2]", 3},
    {"{\"a\" 1}", 5},
    {"{a:1}", 1},
    {"{'a':1}", 1},
    {"'str'", 0},
    {"[\"a\",'b']", 5},
    {"NaN", 0},
    {"[Infinity]", 1},
    {"-Infinity", 1},
    {"nul", 0},
    {"True", 0},
    {"[1,2", 4},
    {"{\"a\":1", 6},
    {"{\"a\":", 5},
    {"\"open", 5},
    {"[", 1},
    {"{} {}", 3},
    {"1 2", 2},
    {"[] x", 3},
    {"{}}", 2},
    {"truex", 4},
    {"\"a\"\"b\"", 3},
};

START_TEST(test_invalid)
{
	const struct bad_doc *d = &invalid_docs[_i];
	size_t where = 999;
	const char *why = NULL;

	ck_assert_msg(check_str(d->text, &where, &why) == IA_ERR_INVAL, "accepted <%s>", d->text);
	ck_assert_msg(why != NULL && *why != '\0', "no reason for <%s>", d->text);
	ck_assert_msg(where == d->where, "<%s>: offset %zu, expected %zu (%s)", d->text, where,
		      d->where, why);
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const char with_nul[] = "{\"a\":\"x\0y\"}";
	static const char nul_after[] = "{}\0";
	static const char nul_before[] = "\0{}";
	size_t where = 999;
	const char *why = NULL;

	ck_assert_int_eq(jsoncheck_validate(with_nul, sizeof(with_nul) - 1, &where, &why),
			 IA_ERR_INVAL);
	ck_assert_uint_eq(where, 7);
	ck_assert_int_eq(jsoncheck_validate(nul_after, sizeof(nul_after) - 1, &where, &why),
			 IA_ERR_INVAL);
	ck_assert_uint_eq(where, 2);
	ck_assert_int_eq(jsoncheck_validate(nul_before, sizeof(nul_before) - 1, &where, &why),
			 IA_ERR_INVAL);
	ck_assert_uint_eq(where, 0);
}
END_TEST

START_TEST(test_length_is_respected)
{
	/* only the first len bytes count: the text beyond must not be read */
	static const char text[] = "[1,2]garbage";
	size_t where = 999;
	const char *why = NULL;

	ck_assert_int_eq(jsoncheck_validate(text, 5, &where, &why), 0);
	ck_assert_int_eq(jsoncheck_validate(text, 4, &where, &why), IA_ERR_INVAL);
	ck_assert_uint_eq(where, 4);
	ck_assert_int_eq(jsoncheck_validate("true", 3, &where, &why), IA_ERR_INVAL);
	ck_assert_int_eq(jsoncheck_validate("\"\\u00e9\"", 6, &where, &why), IA_ERR_INVAL);
}
END_TEST

/* Containers in level i: objects at odd levels, except the innermost
 * (an array, so that it may be empty). */
static bool is_object(size_t i, size_t depth)
{
	return i % 2 == 1 && i + 1 < depth;
}

/* depth nested containers, alternating arrays and objects, around inner. */
static char *nested(int depth, const char *inner)
{
	size_t n = strlen(inner), i, len = 0, d = (size_t)depth;
	char *s = xmalloc(d * 10 + n + 1);

	for (i = 0; i < d; i++) {
		const char *open = is_object(i, d) ? "{\"k\":" : "[";

		memcpy(s + len, open, strlen(open));
		len += strlen(open);
	}
	memcpy(s + len, inner, n);
	len += n;
	for (i = d; i-- > 0;)
		s[len++] = is_object(i, d) ? '}' : ']';
	s[len] = '\0';
	return s;
}

START_TEST(test_depth)
{
	size_t where = 999;
	const char *why = NULL;
	char *s;

	s = nested(JSONCHECK_MAX_DEPTH, "");
	ck_assert_msg(check_str(s, &where, &why) == 0, "64 empty: %s at %zu", why, where);
	free(s);
	s = nested(JSONCHECK_MAX_DEPTH - 1, "[]");
	ck_assert_msg(check_str(s, &where, &why) == 0, "63 + []: %s at %zu", why, where);
	free(s);
	/* 64 containers holding a scalar are still 64 levels of nesting */
	s = nested(JSONCHECK_MAX_DEPTH, "1");
	ck_assert_msg(check_str(s, &where, &why) == 0, "64 + scalar: %s at %zu", why, where);
	free(s);
	s = nested(JSONCHECK_MAX_DEPTH, "\"s\"");
	ck_assert_msg(check_str(s, &where, &why) == 0, "64 + string: %s at %zu", why, where);
	free(s);

	why = NULL;
	s = nested(JSONCHECK_MAX_DEPTH + 1, "");
	ck_assert_int_eq(check_str(s, &where, &why), IA_ERR_INVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "deep"));
	free(s);
	s = nested(JSONCHECK_MAX_DEPTH + 1, "1");
	ck_assert_int_eq(check_str(s, &where, &why), IA_ERR_INVAL);
	free(s);
	/* far deeper than the limit: refused quickly, no stack exhaustion */
	s = nested(100000, "");
	ck_assert_int_eq(check_str(s, &where, &why), IA_ERR_INVAL);
	free(s);
}
END_TEST

START_TEST(test_marking_nul)
{
	char text[] = "{\"a\":\"x\\u0000y\",\"b\":\"\\u00000\"}";
	char bad[] = "{\"a\":\"\\u0000\",}";
	char raw[] = "\"\x01\"";
	size_t where = 999;
	const char *why = NULL;

	ck_assert_int_eq(jsoncheck_validate_marking_nul(text, strlen(text), &where, &why), 0);
	ck_assert_str_eq(text, "{\"a\":\"x\\uFFFFy\",\"b\":\"\\uFFFF0\"}");
	/* other defects are still refused */
	ck_assert_int_eq(jsoncheck_validate_marking_nul(bad, strlen(bad), &where, &why),
			 IA_ERR_INVAL);
	ck_assert_uint_eq(where, 14);
	ck_assert_int_eq(jsoncheck_validate_marking_nul(raw, strlen(raw), &where, &why),
			 IA_ERR_INVAL);
	ck_assert_uint_eq(where, 1);
}
END_TEST

static Suite *jsoncheck_suite(void)
{
	Suite *s = suite_create("jsoncheck");
	TCase *tc = tcase_create("validate");

	tcase_add_loop_test(tc, test_valid, 0, (int)(sizeof(valid_docs) / sizeof(valid_docs[0])));
	tcase_add_loop_test(tc, test_invalid, 0,
			    (int)(sizeof(invalid_docs) / sizeof(invalid_docs[0])));
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_length_is_respected);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_marking_nul);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jsoncheck_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
