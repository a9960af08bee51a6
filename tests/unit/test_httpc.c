/*
 * test_httpc.c - unit tests for lib/httpc.c's SMTP TLS decision: smtp://
 * to anything but a loopback host requires STARTTLS (issue 9 point 3:
 * credentials never in clear), smtps:// is TLS, loopback may be plain.
 */
#include "config.h"

#include "httpc.h"

#include <check.h>
#include <stdlib.h>

START_TEST(test_loopback_may_be_plain)
{
	ck_assert(!httpc_smtp_tls_required("smtp://127.0.0.1:2525"));
	ck_assert(!httpc_smtp_tls_required("smtp://127.10.20.30"));
	ck_assert(!httpc_smtp_tls_required("smtp://localhost:25"));
	ck_assert(!httpc_smtp_tls_required("smtp://LOCALHOST"));
	ck_assert(!httpc_smtp_tls_required("smtp://[::1]:25"));
	ck_assert(!httpc_smtp_tls_required("smtp://user:pass@127.0.0.1:25/helo"));
	ck_assert(!httpc_smtp_tls_required("SMTP://127.0.0.1"));
}
END_TEST

START_TEST(test_other_hosts_require_tls)
{
	ck_assert(httpc_smtp_tls_required("smtp://smtp.example.com:587"));
	ck_assert(httpc_smtp_tls_required("smtp://192.0.2.2:2525"));
	ck_assert(httpc_smtp_tls_required("smtp://10.0.0.1"));
	ck_assert(httpc_smtp_tls_required("smtp://[2001:db8::1]:25"));
	ck_assert(httpc_smtp_tls_required("smtp://127.0.0.1.evil.example"));
	ck_assert(httpc_smtp_tls_required("smtp://localhost.evil.example"));
	ck_assert(httpc_smtp_tls_required("smtp://127.0.0.1@evil.example"));
	ck_assert(httpc_smtp_tls_required("smtps://127.0.0.1:465"));
	ck_assert(httpc_smtp_tls_required("smtps://smtp.example.com"));
	ck_assert(httpc_smtp_tls_required(""));
	ck_assert(httpc_smtp_tls_required("not a url"));
	ck_assert(httpc_smtp_tls_required(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("httpc");
	TCase *tc = tcase_create("smtp_tls");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_loopback_may_be_plain);
	tcase_add_test(tc, test_other_hosts_require_tls);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
