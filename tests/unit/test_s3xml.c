/*
 * test_s3xml.c - unit tests for lib/s3xml.c: a ListObjectsV2 page as
 * radosgw and AWS write it, truncated pages and their token, entities in
 * keys, the walk stopped by its callback, malformed pages refused, the
 * bounds of keys and tokens, LastModified times and error codes.
 */
#include "config.h"

#include "s3xml.h"
#include "err.h"
#include "util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_HEAD                                                                                  \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                                               \
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"                     \
	"<Name>image-assistant</Name><Prefix>images/</Prefix><MaxKeys>2</MaxKeys>"

#define OBJECT(key, size, time)                                                                    \
	"<Contents><Key>" key "</Key><LastModified>" time "</LastModified>"                        \
	"<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>" size "</Size>"           \
	"<StorageClass>STANDARD</StorageClass></Contents>"

struct got {
	int n;
	char keys[4][S3XML_KEY_MAX + 1];
	int64_t bytes[4], mtime[4];
	int stop_at; /* return 7 at this call (1-based), 0 = never */
};

static int collect(const struct s3xml_object *o, void *ctx)
{
	struct got *g = ctx;

	ck_assert_int_lt(g->n, 4);
	memcpy(g->keys[g->n], o->key, sizeof(o->key));
	g->bytes[g->n] = o->bytes;
	g->mtime[g->n] = o->mtime;
	g->n++;
	return g->n == g->stop_at ? 7 : 0;
}

static int page(const char *body, struct got *g, char **next)
{
	memset(g->keys, 0, sizeof(g->keys));
	g->n = 0;
	return s3xml_list_page(body, strlen(body), collect, g, next);
}

START_TEST(test_truncated_page_with_token)
{
	static const char body[] =
	    PAGE_HEAD "<IsTruncated>true</IsTruncated><KeyCount>2</KeyCount>"
		      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;x"
		      "</NextContinuationToken>" OBJECT("images/ab/one.png", "100",
							"2024-01-02T03:04:05.678Z")
			  OBJECT("images/ab/two&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#xe9;.png", "0",
				 "2024-01-02T03:04:06Z") "</ListBucketResult>";
	struct got g = {0};
	char *next = NULL;

	ck_assert_int_eq(page(body, &g, &next), 0);
	ck_assert_int_eq(g.n, 2);
	ck_assert_str_eq(g.keys[0], "images/ab/one.png");
	ck_assert_int_eq(g.bytes[0], 100);
	ck_assert_int_eq(g.mtime[0], 1704164645);
	ck_assert_str_eq(g.keys[1], "images/ab/two&<>\"'AB\xc3\xa9.png");
	ck_assert_int_eq(g.bytes[1], 0);
	ck_assert_int_eq(g.mtime[1], 1704164646);
	ck_assert_str_eq(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x");
	free(next);
}
END_TEST

START_TEST(test_last_and_empty_pages)
{
	struct got g = {0};
	char *next = (char *)"x";

	ck_assert_int_eq(page(PAGE_HEAD "<IsTruncated>false</IsTruncated>" OBJECT(
				  "sources/00/a.webp", "9223372036854775807",
				  "1970-01-01T00:00:00Z") "</ListBucketResult>",
			      &g, &next),
			 0);
	ck_assert_ptr_null(next);
	ck_assert_int_eq(g.n, 1);
	ck_assert_int_eq(g.bytes[0], INT64_MAX);
	ck_assert_int_eq(g.mtime[0], 0);
	next = (char *)"x";
	ck_assert_int_eq(page(PAGE_HEAD "<IsTruncated>false</IsTruncated><KeyCount>0</KeyCount>"
					"</ListBucketResult>",
			      &g, &next),
			 0);
	ck_assert_int_eq(g.n, 0);
	ck_assert_ptr_null(next);
	ck_assert_int_eq(page("", &g, &next), 0);
	ck_assert_int_eq(g.n, 0);
}
END_TEST

START_TEST(test_callback_stops_the_walk)
{
	struct got g = {0};
	char *next = (char *)"x";

	g.stop_at = 1;
	ck_assert_int_eq(page(PAGE_HEAD "<IsTruncated>true</IsTruncated>"
					"<NextContinuationToken>t</NextContinuationToken>" OBJECT(
					    "images/a", "1", "2024-01-02T03:04:05Z")
					    OBJECT("images/b", "1", "2024-01-02T03:04:05Z"),
			      &g, &next),
			 7);
	ck_assert_int_eq(g.n, 1);
	ck_assert_ptr_null(next);
}
END_TEST

START_TEST(test_malformed_pages_refused)
{
	static const char *const bad[] = {
	    /* truncated without a token, or an empty one */
	    PAGE_HEAD "<IsTruncated>true</IsTruncated>",
	    PAGE_HEAD
	    "<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>",
	    /* a Contents without Key, Size or LastModified, or with bad ones */
	    "<Contents><Size>1</Size><LastModified>2024-01-02T03:04:05Z</LastModified></Contents>",
	    "<Contents><Key>k</Key><LastModified>2024-01-02T03:04:05Z</LastModified></Contents>",
	    "<Contents><Key>k</Key><Size>1</Size></Contents>",
	    OBJECT("k", "-1", "2024-01-02T03:04:05Z"),
	    OBJECT("k", "1x", "2024-01-02T03:04:05Z"),
	    OBJECT("k", "", "2024-01-02T03:04:05Z"),
	    OBJECT("k", "99999999999999999999", "2024-01-02T03:04:05Z"),
	    OBJECT("k", "1", "2024-01-02 03:04:05Z"),
	    OBJECT("k&bogus;", "1", "2024-01-02T03:04:05Z"),
	    OBJECT("k&#0;", "1", "2024-01-02T03:04:05Z"),
	    OBJECT("k&#xD800;", "1", "2024-01-02T03:04:05Z"),
	    OBJECT("k&#x110000;", "1", "2024-01-02T03:04:05Z"),
	    OBJECT("k&#;", "1", "2024-01-02T03:04:05Z"),
	    OBJECT("k&#65", "1", "2024-01-02T03:04:05Z"),
	    OBJECT("k&amp", "1", "2024-01-02T03:04:05Z"),
	    /* unterminated */
	    "<Contents><Key>k</Key><Size>1</Size><LastModified>2024-01-02T03:04:05Z",
	};
	static const char nul[] = "<Contents><Key>a\0b</Key><Size>1</Size><LastModified>"
				  "2024-01-02T03:04:05Z</LastModified></Contents>";
	struct got g = {0};
	char *next;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		next = (char *)"x";
		ck_assert_msg(page(bad[i], &g, &next) == IA_ERR_INVAL, "accepted %s", bad[i]);
		ck_assert_ptr_null(next);
	}
	/* A NUL inside a key. */
	next = (char *)"x";
	ck_assert_int_eq(s3xml_list_page(nul, sizeof(nul) - 1, collect, &g, &next), IA_ERR_INVAL);
}
END_TEST

/* Keys up to S3's 1024 bytes, after decoding; a longer one is refused. */
START_TEST(test_key_bounds)
{
	char *key = xmalloc(S3XML_KEY_MAX + 2), *body;
	struct got g = {0};
	char *next;

	memset(key, 'k', S3XML_KEY_MAX);
	key[S3XML_KEY_MAX] = '\0';
	body = xasprintf(OBJECT("%s", "1", "2024-01-02T03:04:05Z"), key);
	ck_assert_int_eq(page(body, &g, &next), 0);
	ck_assert_uint_eq(strlen(g.keys[0]), S3XML_KEY_MAX);
	free(body);
	key[S3XML_KEY_MAX] = 'k';
	key[S3XML_KEY_MAX + 1] = '\0';
	body = xasprintf(OBJECT("%s", "1", "2024-01-02T03:04:05Z"), key);
	ck_assert_int_eq(page(body, &g, &next), IA_ERR_INVAL);
	free(body);
	/* 1021 bytes and an entity that decodes to 3 more: exactly full. */
	key[S3XML_KEY_MAX - 3] = '\0';
	body = xasprintf(OBJECT("%s&#x20AC;", "1", "2024-01-02T03:04:05Z"), key);
	ck_assert_int_eq(page(body, &g, &next), 0);
	ck_assert_uint_eq(strlen(g.keys[0]), S3XML_KEY_MAX);
	free(body);
	body = xasprintf(OBJECT("k%s&#x20AC;", "1", "2024-01-02T03:04:05Z"), key);
	ck_assert_int_eq(page(body, &g, &next), IA_ERR_INVAL);
	free(body);
	free(key);
}
END_TEST

START_TEST(test_decode_bounds)
{
	char out[4];

	ck_assert_int_eq(s3xml_decode("abc", 3, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(s3xml_decode("abcd", 4, out, sizeof(out)), IA_ERR_TOOBIG);
	ck_assert_int_eq(s3xml_decode("&amp;&amp;&amp;", 15, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "&&&");
	ck_assert_int_eq(s3xml_decode("a&#xe9;", 7, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a\xc3\xa9");
	ck_assert_int_ne(s3xml_decode("ab&#xe9;", 8, out, sizeof(out)), 0);
	ck_assert_int_eq(s3xml_decode("&#123456789;", 12, out, sizeof(out)), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_decode("", 0, out, 1), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_times)
{
	int64_t t = -1;

	ck_assert_int_eq(s3xml_time("2013-05-24T00:00:00Z", 20, &t), 0);
	ck_assert_int_eq(t, 1369353600);
	ck_assert_int_eq(s3xml_time("2013-05-24T00:00:00.1Z", 22, &t), 0);
	ck_assert_int_eq(s3xml_time("2013-05-24T00:00:00.12345678Z", 29, &t), 0);
	ck_assert_int_eq(t, 1369353600);
	ck_assert_int_eq(s3xml_time("2013-05-24T00:00:00.123456789Z", 30, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("2013-05-24T00:00:00.Z", 21, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("2013-05-24T00:00:00", 19, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("2013-05-24T00:00:00+01:00", 25, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("2013-13-24T00:00:00Z", 20, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("2013-05-24T24:00:00Z", 20, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("1969-12-31T23:59:59Z", 20, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("2013-05-2xT00:00:00Z", 20, &t), IA_ERR_INVAL);
	ck_assert_int_eq(s3xml_time("+013-05-24T00:00:00Z", 20, &t), IA_ERR_INVAL);
	ck_assert_int_eq(t, 1369353600); /* untouched by failures */
}
END_TEST

START_TEST(test_error_code)
{
	static const char err[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
				  "<Code>SignatureDoesNotMatch</Code><Message></Message></Error>";
	char code[32];

	s3xml_error_code(err, strlen(err), code, sizeof(code));
	ck_assert_str_eq(code, "SignatureDoesNotMatch");
	s3xml_error_code(err, strlen(err), code, 8);
	ck_assert_str_eq(code, "");
	s3xml_error_code("", 0, code, sizeof(code));
	ck_assert_str_eq(code, "");
	s3xml_error_code("<Code>Slow&amp;Down</Code>", 26, code, sizeof(code));
	ck_assert_str_eq(code, "Slow&Down");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s3xml");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_truncated_page_with_token);
	tcase_add_test(tc, test_last_and_empty_pages);
	tcase_add_test(tc, test_callback_stops_the_walk);
	tcase_add_test(tc, test_malformed_pages_refused);
	tcase_add_test(tc, test_key_bounds);
	tcase_add_test(tc, test_decode_bounds);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_error_code);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
