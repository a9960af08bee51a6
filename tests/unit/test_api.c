/*
 * test_api.c - unit tests for the pure helpers of lib/api.c: UTF-8
 * character counting (and refusal of invalid UTF-8), email syntax with
 * its length bounds, and the DRF-style field validators api_field_string
 * and api_field_bool with their exact messages, and the <image> object
 * (its keys in API.md's order, root-relative media URLs, the preview only
 * when done, params as an object), and the <user> object built from a
 * loaded user and flag list without a database. The reply helpers need libfcgi streams
 * and are covered by the API tests.
 */
#include "config.h"

#include "api.h"
#include "flags.h"
#include "jobs.h"
#include "settings.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_utf8_len_valid)
{
	ck_assert_int_eq(api_utf8_len(""), 0);
	ck_assert_int_eq(api_utf8_len("hello"), 5);
	ck_assert_int_eq(api_utf8_len("caf\xc3\xa9"), 4);       /* é: 2 bytes */
	ck_assert_int_eq(api_utf8_len("\xe2\x82\xac"), 1);      /* €: 3 bytes */
	ck_assert_int_eq(api_utf8_len("\xf0\x9f\x98\x80!"), 2); /* 😀: 4 bytes */
	ck_assert_int_eq(api_utf8_len("\xc2\x80"), 1);          /* U+0080 */
	ck_assert_int_eq(api_utf8_len("\xdf\xbf"), 1);          /* U+07FF */
	ck_assert_int_eq(api_utf8_len("\xe0\xa0\x80"), 1);      /* U+0800 */
	ck_assert_int_eq(api_utf8_len("\xed\x9f\xbf"), 1);      /* U+D7FF */
	ck_assert_int_eq(api_utf8_len("\xee\x80\x80"), 1);      /* U+E000 */
	ck_assert_int_eq(api_utf8_len("\xef\xbf\xbf"), 1);      /* U+FFFF */
	ck_assert_int_eq(api_utf8_len("\xf0\x90\x80\x80"), 1);  /* U+10000 */
	ck_assert_int_eq(api_utf8_len("\xf4\x8f\xbf\xbf"), 1);  /* U+10FFFF */
	ck_assert_int_eq(api_utf8_len("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 5);
}
END_TEST

/* Byte sequences that are not UTF-8 (RFC 3629; Python's decoder refuses each). */
static const char *const bad_utf8[] = {
    "\x80",                 /* lone continuation byte */
    "a\xbf",                /* continuation byte after ASCII */
    "\xc0\xaf",             /* overlong '/' */
    "\xc0\x80",             /* overlong NUL */
    "\xc1\xbf",             /* overlong U+007F */
    "\xc3",                 /* truncated at the end */
    "\xc3x",                /* truncated by ASCII */
    "\xe2\x82",             /* truncated 3-byte */
    "\xe2\x82x",            /* truncated 3-byte */
    "\xf0\x9f\x98",         /* truncated 4-byte */
    "\xf5\x80\x80\x80",     /* lead byte beyond U+10FFFF */
    "\xf8\x88\x80\x80\x80", /* 5-byte form */
    "\xfe",                 /* never valid */
    "\xff",                 /* never valid */
    "\xe0\x80\xaf",         /* overlong 3-byte '/' */
    "\xe0\x9f\xbf",         /* overlong U+07FF */
    "\xed\xa0\x80",         /* UTF-16 surrogate U+D800 */
    "\xed\xbf\xbf",         /* UTF-16 surrogate U+DFFF */
    "\xf0\x80\x80\xaf",     /* overlong 4-byte '/' */
    "\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
    "\xf4\x90\x80\x80",     /* U+110000 */
};

START_TEST(test_utf8_len_invalid)
{
	const char *s = bad_utf8[_i];
	char hex[32] = "";
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && o + 4 < sizeof(hex); i++)
		o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%02x ", (unsigned char)s[i]);
	ck_assert_msg(api_utf8_len(s) == -1, "api_utf8_len(%s) = %ld, expected -1", hex,
		      api_utf8_len(s));
}
END_TEST

START_TEST(test_email_good)
{
	static const char *const good[] = {
	    "a@b.co",
	    "user@example.com",
	    "first.last+tag@sub.example.co.uk",
	    "UPPER@EXAMPLE.COM",
	    "o'brien@example.ie",
	    "x_y-z@my-host.example",
	    "1234@123.45.example",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(api_email_valid(good[i]), "refused %s", good[i]);
}
END_TEST

START_TEST(test_email_bad)
{
	static const char *const bad[] = {
	    "",
	    "@",
	    "a@",
	    "@b.co",
	    "plain",
	    "a@b",
	    "a@@b.co",
	    "a@b@c.co",
	    "a b@c.co",
	    "a@b c.co",
	    "a@b.co ",
	    " a@b.co",
	    "a\t@b.co",
	    "a@b.co\n",
	    "a\"b@c.co",
	    "<a@b.co>",
	    "a@[1.2.3.4]",
	    "a,b@c.co",
	    "a;b@c.co",
	    "a@b..co",
	    "a@.b.co",
	    "a@-b.co",
	    "a@b.co.",
	    ".a@b.co",
	    "a.@b.co",
	    "a@b.",
	    "\xc3\xa9@b.co",
	    "a@\xc3\xa9.co",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!api_email_valid(bad[i]), "accepted \"%s\"", bad[i]);
}
END_TEST

/* An address of exactly len bytes with a local part of local bytes. */
static char *email_of(size_t local, size_t len)
{
	char *s = xmalloc(len + 1);
	size_t i;

	ck_assert(len > local + 5);
	memset(s, 'l', local);
	s[local] = '@';
	for (i = local + 1; i < len - 3; i++)
		s[i] = (i - local) % 60 == 0 && i + 5 < len ? '.' : 'd'; /* labels < 64 */
	memcpy(s + len - 3, ".co", 3);
	s[len] = '\0';
	return s;
}

START_TEST(test_email_bounds)
{
	char *s;

	s = email_of(64, 254);
	ck_assert_msg(api_email_valid(s), "254 bytes refused: %s", s);
	free(s);
	s = email_of(64, 255);
	ck_assert_msg(!api_email_valid(s), "255 bytes accepted");
	free(s);
	s = email_of(10, 254);
	ck_assert(api_email_valid(s));
	free(s);
	s = email_of(65, 100);
	ck_assert_msg(!api_email_valid(s), "65-byte local part accepted");
	free(s);
	s = email_of(64, 100);
	ck_assert(api_email_valid(s));
	free(s);
}
END_TEST

/* The messages api_errors holds for field, joined by "|" ("" when none). */
static void messages(const struct api_errors *e, const char *field, char *out, size_t outlen)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(e->obj, field);
	const cJSON *m;
	size_t o = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(m, arr)
	{
		ck_assert(cJSON_IsString(m));
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "|" : "", m->valuestring);
		ck_assert(o < outlen);
	}
}

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	ck_assert_msg(j != NULL, "test JSON does not parse: %s", text);
	return j;
}

START_TEST(test_field_string)
{
	cJSON *body = parse("{\"name\":\"Ann\",\"blank\":\"\",\"num\":5,\"arr\":[],\"obj\":{},"
			    "\"t\":true,\"nul\":null,\"accents\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}");
	struct api_errors e;
	char msg[256];

	api_errors_init(&e);
	ck_assert(!api_errors_any(&e));
	ck_assert_str_eq(api_field_string(body, "name", true, 0, 0, &e), "Ann");
	ck_assert_str_eq(api_field_string(body, "name", true, 3, 3, &e), "Ann");
	ck_assert(!api_errors_any(&e));

	ck_assert_ptr_null(api_field_string(body, "missing", true, 0, 10, &e));
	messages(&e, "missing", msg, sizeof(msg));
	ck_assert_str_eq(msg, "This field is required.");
	ck_assert_ptr_null(api_field_string(body, "nul", true, 0, 10, &e));
	messages(&e, "nul", msg, sizeof(msg));
	ck_assert_str_eq(msg, "This field is required.");
	ck_assert_ptr_null(api_field_string(body, "blank", true, 0, 10, &e));
	messages(&e, "blank", msg, sizeof(msg));
	ck_assert_str_eq(msg, "This field may not be blank.");

	ck_assert_ptr_null(api_field_string(body, "num", true, 0, 10, &e));
	ck_assert_ptr_null(api_field_string(body, "arr", false, 0, 10, &e));
	ck_assert_ptr_null(api_field_string(body, "obj", false, 0, 10, &e));
	ck_assert_ptr_null(api_field_string(body, "t", false, 0, 10, &e));
	messages(&e, "num", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Not a valid string.");
	messages(&e, "arr", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Not a valid string.");
	messages(&e, "obj", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Not a valid string.");
	messages(&e, "t", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Not a valid string.");
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}
END_TEST

START_TEST(test_field_string_optional)
{
	cJSON *body = parse("{\"blank\":\"\",\"nul\":null}");
	struct api_errors e;

	api_errors_init(&e);
	ck_assert_ptr_null(api_field_string(body, "missing", false, 0, 10, &e));
	ck_assert_ptr_null(api_field_string(body, "blank", false, 3, 10, &e));
	ck_assert_ptr_null(api_field_string(body, "nul", false, 0, 10, &e));
	ck_assert(!api_errors_any(&e));
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}
END_TEST

START_TEST(test_field_string_lengths_in_chars)
{
	/* five characters, ten bytes */
	cJSON *body = parse("{\"s\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}");
	struct api_errors e;
	char msg[256];

	api_errors_init(&e);
	ck_assert_ptr_nonnull(api_field_string(body, "s", true, 5, 5, &e));
	ck_assert_ptr_nonnull(api_field_string(body, "s", true, 1, 9, &e));
	ck_assert(!api_errors_any(&e));
	ck_assert_ptr_null(api_field_string(body, "s", true, 0, 4, &e));
	messages(&e, "s", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Ensure this field has no more than 4 characters.");
	api_errors_cleanup(&e);

	api_errors_init(&e);
	ck_assert_ptr_null(api_field_string(body, "s", true, 6, 0, &e));
	messages(&e, "s", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Ensure this field has at least 6 characters.");
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}
END_TEST

START_TEST(test_field_string_invalid_utf8)
{
	cJSON *body = cJSON_CreateObject();
	struct api_errors e;
	char msg[256];

	cJSON_AddStringToObject(body, "s", "ab\xc0\xafz");
	api_errors_init(&e);
	ck_assert_ptr_null(api_field_string(body, "s", true, 0, 100, &e));
	messages(&e, "s", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Not a valid string.");
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}
END_TEST

/* API.md's text rules on JSON fields: names one-line, messages multi-line. */
START_TEST(test_field_text)
{
	cJSON *body = parse("{\"name\":\"Eve\\u001b[2J\",\"ok\":\"Zo\xc3\xab\","
			    "\"msg\":\"one\\ntwo\\tthree\\r\\n\",\"cr\":\"a\\rb\","
			    "\"c1\":\"x\\u009b2J\",\"long\":\"abcdef\"}");
	struct api_errors e;
	char msg[256];

	api_errors_init(&e);
	ck_assert_str_eq(api_field_text(body, "ok", true, 0, 30, false, &e), "Zo\xc3\xab");
	ck_assert_str_eq(api_field_text(body, "msg", true, 0, 30, true, &e), "one\ntwo\tthree\r\n");
	ck_assert_ptr_null(api_field_text(body, "absent", false, 0, 30, false, &e));
	ck_assert(!api_errors_any(&e));

	ck_assert_ptr_null(api_field_text(body, "name", true, 0, 30, false, &e));
	messages(&e, "name", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Control characters are not allowed.");
	ck_assert_ptr_null(api_field_text(body, "msg", true, 0, 30, false, &e));
	messages(&e, "msg", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Control characters are not allowed.");
	ck_assert_ptr_null(api_field_text(body, "cr", true, 0, 30, true, &e));
	messages(&e, "cr", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Control characters other than newline and tab are not allowed.");
	ck_assert_ptr_null(api_field_text(body, "c1", true, 0, 30, true, &e));
	messages(&e, "c1", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Control characters other than newline and tab are not allowed.");
	/* the string checks come first, with one message per field */
	ck_assert_ptr_null(api_field_text(body, "long", true, 0, 3, false, &e));
	messages(&e, "long", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Ensure this field has no more than 3 characters.");
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}
END_TEST

START_TEST(test_errors_accumulate)
{
	struct api_errors e;
	char msg[256];

	api_errors_init(&e);
	api_errors_add(&e, "email", "one");
	api_errors_add(&e, "email", "two");
	api_errors_add(&e, "password", "three");
	ck_assert(api_errors_any(&e));
	messages(&e, "email", msg, sizeof(msg));
	ck_assert_str_eq(msg, "one|two");
	messages(&e, "password", msg, sizeof(msg));
	ck_assert_str_eq(msg, "three");
	api_errors_cleanup(&e);
	ck_assert_ptr_null(e.obj);
}
END_TEST

START_TEST(test_field_bool)
{
	cJSON *body = parse("{\"t\":true,\"f\":false,\"one\":1,\"zero\":0,\"st\":\"true\","
			    "\"sf\":\"false\",\"two\":2,\"half\":0.5,\"yes\":\"yes\",\"nul\":null,"
			    "\"arr\":[true],\"caps\":\"TRUE\"}");
	static const char *const bad[] = {"two", "half", "yes", "nul", "arr", "caps"};
	struct api_errors e;
	char msg[256];
	size_t i;

	api_errors_init(&e);
	ck_assert(api_field_bool(body, "t", &e) == true);
	ck_assert(api_field_bool(body, "f", &e) == false);
	ck_assert(api_field_bool(body, "one", &e) == true);
	ck_assert(api_field_bool(body, "zero", &e) == false);
	ck_assert(api_field_bool(body, "st", &e) == true);
	ck_assert(api_field_bool(body, "sf", &e) == false);
	ck_assert(!api_errors_any(&e));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert(api_field_bool(body, bad[i], &e) == false);
		messages(&e, bad[i], msg, sizeof(msg));
		ck_assert_msg(strcmp(msg, "Must be a valid boolean.") == 0, "%s: \"%s\"", bad[i],
			      msg);
	}
	ck_assert(api_field_bool(body, "missing", &e) == false);
	messages(&e, "missing", msg, sizeof(msg));
	ck_assert_str_eq(msg, "This field is required.");
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}
END_TEST

/* The string member name of o, which must be a root-relative signed media URL of key. */
static void assert_media(const cJSON *o, const char *name, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char *want = xasprintf("/media/%s?exp=", key);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", name);
	ck_assert_msg(strncmp(v->valuestring, want, strlen(want)) == 0, "%s: %s", name,
		      v->valuestring);
	ck_assert_ptr_nonnull(strstr(v->valuestring, "&sig="));
	free(want);
}

START_TEST(test_image_json)
{
	static const char *const keys[] = {
	    "id",        "image",         "alternate_url", "user",         "prompt",
	    "processed", "aspect_ratio",  "ai_response",   "payment_made", "created",
	    "updated",   "service",       "status",        "error",        "width",
	    "height",    "content_type",  "bytes",         "cost",         "source",
	    "thumbnail", "original_name", "params"};
	struct job_row r = {0};
	const cJSON *item;
	cJSON *o;
	char *text;
	size_t i = 0;

	setenv("SECRET_KEY", "0123456789abcdef0123456789abcdef-api-test", 1);
	setenv("PUBLIC_URL", "https://img.example.com", 1);
	r.id = 7;
	r.user_id = 3;
	r.service = (char *)"resize";
	r.status = (char *)"done";
	r.params = (char *)"{\"width\":400,\"height\":300,\"format\":\"png\"}";
	r.source_key = (char *)"sources/ab/abcd.png";
	r.image_key = (char *)"images/cd/cdef.png";
	r.thumbnail_key = (char *)"images/cd/cdef.webp";
	r.original_name = (char *)"holiday.png";
	o = api_image_json(settings_get(), &r);
	cJSON_ArrayForEach(item, o)
	{
		ck_assert_uint_lt(i, sizeof(keys) / sizeof(keys[0]));
		ck_assert_str_eq(item->string, keys[i]);
		i++;
	}
	ck_assert_uint_eq(i, sizeof(keys) / sizeof(keys[0]));
	/* root-relative, PUBLIC_URL or not (the original's serializer had no request) */
	assert_media(o, "image", "images/cd/cdef.png");
	assert_media(o, "source", "sources/ab/abcd.png");
	assert_media(o, "thumbnail", "images/cd/cdef.webp");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "original_name")->valuestring,
			 "holiday.png");
	text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "params"));
	ck_assert_str_eq(text, "{\"width\":400,\"height\":300,\"format\":\"png\"}");
	cJSON_free(text);
	cJSON_Delete(o);

	/* not done: no result and no preview; a prompt has no file name; an
	 * unreadable params column shows as {} */
	r.status = (char *)"failed";
	r.original_name = NULL;
	r.params = (char *)"[1, 2]";
	o = api_image_json(settings_get(), &r);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "image")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "thumbnail")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "original_name")));
	item = cJSON_GetObjectItemCaseSensitive(o, "params");
	ck_assert(cJSON_IsObject(item) && item->child == NULL);
	cJSON_Delete(o);
}
END_TEST

/* api_user_json is a pure builder: no database, the flags are the caller's. */
START_TEST(test_user_json_pure)
{
	struct user u;
	char *names[] = {"alpha", "show_credits"};
	struct flag_list flags = {names, 2};
	cJSON *o;
	char *text;

	memset(&u, 0, sizeof(u));
	u.id = 7;
	snprintf(u.email, sizeof(u.email), "a@example.com");
	snprintf(u.first_name, sizeof(u.first_name), "Ann");
	u.credits = 42;
	u.email_verified = true;
	o = api_user_json(&u, &flags);
	text = cJSON_PrintUnformatted(o);
	ck_assert_str_eq(text, "{\"id\":7,\"email\":\"a@example.com\",\"first_name\":\"Ann\","
			       "\"last_name\":\"\",\"credits\":42,\"feature_flags\":[\"alpha\","
			       "\"show_credits\"],\"is_staff\":false,\"email_verified\":true}");
	cJSON_free(text);
	cJSON_Delete(o);
	o = api_user_json(&u, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "feature_flags")), 0);
	cJSON_Delete(o);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("helpers");

	tcase_add_test(tc, test_utf8_len_valid);
	tcase_add_loop_test(tc, test_utf8_len_invalid, 0,
			    (int)(sizeof(bad_utf8) / sizeof(bad_utf8[0])));
	tcase_add_test(tc, test_email_good);
	tcase_add_test(tc, test_email_bad);
	tcase_add_test(tc, test_email_bounds);
	tcase_add_test(tc, test_field_string);
	tcase_add_test(tc, test_field_string_optional);
	tcase_add_test(tc, test_field_string_lengths_in_chars);
	tcase_add_test(tc, test_field_string_invalid_utf8);
	tcase_add_test(tc, test_field_text);
	tcase_add_test(tc, test_errors_accumulate);
	tcase_add_test(tc, test_field_bool);
	tcase_add_test(tc, test_image_json);
	tcase_add_test(tc, test_user_json_pure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
