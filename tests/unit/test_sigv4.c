/*
 * test_sigv4.c - unit tests for lib/sigv4.c: AWS's own presigned-URL
 * example, a path-style URL with a port (the signature checked with an
 * independent implementation: Python's hmac and hashlib), the host header
 * rules, the URI encoding, and every argument the contract refuses.
 */
#include "config.h"

#include "sigv4.h"
#include "err.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct sigv4_key example_key = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};

/* AWS documentation, "Authenticating Requests: Using Query Parameters". */
START_TEST(test_aws_documented_example)
{
	char *url = NULL;

	ck_assert_int_eq(sigv4_presign(&example_key, "GET",
				       "https://examplebucket.s3.amazonaws.com", "/test.txt",
				       1369353600 /* 20130524T000000Z */, 86400, &url),
			 0);
	ck_assert_str_eq(url,
			 "https://examplebucket.s3.amazonaws.com/test.txt"
			 "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			 "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
			 "aws4_request"
			 "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
			 "&X-Amz-SignedHeaders=host"
			 "&X-Amz-Signature="
			 "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	free(url);
}
END_TEST

/* Path-style, a non-default port in the signed host, a space in the key. */
START_TEST(test_path_style_with_port)
{
	struct sigv4_key k = example_key;
	char *url = NULL;

	k.region = "eu-west-1";
	ck_assert_int_eq(sigv4_presign(&k, "GET", "http://127.0.0.1:7480/",
				       "/media-bucket/images/3f/a b.png",
				       1704164645 /* 20240102T030405Z */, 60, &url),
			 0);
	ck_assert_str_eq(url,
			 "http://127.0.0.1:7480/media-bucket/images/3f/a%20b.png"
			 "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			 "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240102%2Feu-west-1%2Fs3%2F"
			 "aws4_request"
			 "&X-Amz-Date=20240102T030405Z&X-Amz-Expires=60"
			 "&X-Amz-SignedHeaders=host"
			 "&X-Amz-Signature="
			 "cd0d1bd906dedbf54811cde89fee4c5c1161ff5d5aa3346830f91705d52bbede");
	free(url);
}
END_TEST

/* A client leaves out the default port and sends the host in any case:
 * the URL and the signature are those of the plain lower-case host. */
START_TEST(test_default_port_and_case_are_normalised)
{
	char *a = NULL, *b = NULL, *c = NULL;

	ck_assert_int_eq(sigv4_presign(&example_key, "GET", "https://Host.Example:443", "/b/k",
				       1369353600, 60, &a),
			 0);
	ck_assert_int_eq(
	    sigv4_presign(&example_key, "GET", "https://host.example", "/b/k", 1369353600, 60, &b),
	    0);
	ck_assert_int_eq(sigv4_presign(&example_key, "GET", "HTTP://host.example:80//", "/b/k",
				       1369353600, 60, &c),
			 0);
	ck_assert_str_eq(a, b);
	ck_assert(strncmp(a, "https://host.example/b/k?", 25) == 0);
	ck_assert(strncmp(c, "http://host.example/b/k?", 24) == 0);
	ck_assert_str_eq(strstr(c, "&X-Amz-Signature="), strstr(b, "&X-Amz-Signature="));
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_uri_encode_rules)
{
	char *p = sigv4_uri_encode("a b/c~._-Z9+=&%\xc3\xbc", true);
	char *q = sigv4_uri_encode("a b/c~._-Z9+=&%\xc3\xbc", false);

	ck_assert_str_eq(p, "a%20b/c~._-Z9%2B%3D%26%25%C3%BC");
	ck_assert_str_eq(q, "a%20b%2Fc~._-Z9%2B%3D%26%25%C3%BC");
	free(p);
	free(q);
}
END_TEST

START_TEST(test_refuses_bad_arguments)
{
	static const char *const bad_endpoints[] = {
	    "ftp://host",     "http://",         "https:///",  "host:80",
	    "http://h/path",  "http://u@h",      "http://h:0", "http://h:65536",
	    "http://h:x",     "http://h:",       "http://h?q", "http://h#f",
	    "http://[::1",    "http://[zz]",     "http://h h", "http://[::1]x",
	    "http://h:80:80", "http://h:123456", "",
	};
	struct sigv4_key k = example_key;
	char *url = (char *)"untouched";
	size_t i;

	for (i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++)
		ck_assert_msg(sigv4_presign(&example_key, "GET", bad_endpoints[i], "/b/k", 0, 60,
					    &url) == IA_ERR_INVAL,
			      "accepted %s", bad_endpoints[i]);
	ck_assert_int_eq(sigv4_presign(&example_key, "GET", "http://h", "b/k", 0, 60, &url),
			 IA_ERR_INVAL);
	ck_assert_int_eq(sigv4_presign(&example_key, "get", "http://h", "/b/k", 0, 60, &url),
			 IA_ERR_INVAL);
	ck_assert_int_eq(sigv4_presign(&example_key, "", "http://h", "/b/k", 0, 60, &url),
			 IA_ERR_INVAL);
	ck_assert_int_eq(sigv4_presign(&example_key, "GET", "http://h", "/b/k", -1, 60, &url),
			 IA_ERR_INVAL);
	ck_assert_int_eq(sigv4_presign(&example_key, "GET", "http://h", "/b/k", 0, 0, &url),
			 IA_ERR_INVAL);
	ck_assert_int_eq(
	    sigv4_presign(&example_key, "GET", "http://h", "/b/k", 0, SIGV4_EXPIRES_MAX + 1, &url),
	    IA_ERR_INVAL);
	ck_assert_int_eq(sigv4_presign(NULL, "GET", "http://h", "/b/k", 0, 60, &url), IA_ERR_INVAL);
	k.secret = "";
	ck_assert_int_eq(sigv4_presign(&k, "GET", "http://h", "/b/k", 0, 60, &url), IA_ERR_INVAL);
	k = example_key;
	k.region = NULL;
	ck_assert_int_eq(sigv4_presign(&k, "GET", "http://h", "/b/k", 0, 60, &url), IA_ERR_INVAL);
	ck_assert_str_eq(url, "untouched");
	/* The bounds themselves are fine, and IPv6 literals keep their port. */
	ck_assert_int_eq(sigv4_presign(&example_key, "GET", "http://[::1]:7480", "/b/k", 0,
				       SIGV4_EXPIRES_MAX, &url),
			 0);
	ck_assert(strncmp(url, "http://[::1]:7480/b/k?", 22) == 0);
	free(url);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc = tcase_create("presign");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_aws_documented_example);
	tcase_add_test(tc, test_path_style_with_port);
	tcase_add_test(tc, test_default_port_and_case_are_normalised);
	tcase_add_test(tc, test_uri_encode_rules);
	tcase_add_test(tc, test_refuses_bad_arguments);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
