/*
 * test_scrape.c - unit tests for lib/scrape.c: who may read /metrics
 * (loopback as TRUSTED_PROXIES resolves the client, or the METRICS_TOKEN
 * bearer) and the scope parameter.
 */
#include "config.h"

#include "clientip.h"
#include "err.h"
#include "scrape.h"
#include "settings.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct settings s;
static char token[] = "a-metrics-token-of-some-length";
static char empty[] = "";

static void setup(void)
{
	char err[128];

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(clientip_nets_parse("127.0.0.1/32", &s.trusted_nets, err, sizeof(err)), 0);
	s.metrics_token = empty;
}

static void teardown(void)
{
	clientip_nets_free(s.trusted_nets);
	memset(&s, 0, sizeof(s));
}

START_TEST(test_loopback_is_allowed)
{
	ck_assert(scrape_allowed(&s, "127.0.0.1", NULL, NULL));
	ck_assert(scrape_allowed(&s, "127.3.4.5", NULL, NULL));
	ck_assert(scrape_allowed(&s, "::1", NULL, NULL));
	ck_assert(scrape_allowed(&s, "::ffff:127.0.0.1", NULL, NULL) ||
		  !scrape_allowed(&s, "::ffff:127.0.0.1", NULL, NULL)); /* either is safe */
	ck_assert(!scrape_allowed(&s, "10.1.2.3", NULL, NULL));
	ck_assert(!scrape_allowed(&s, "unknown", NULL, NULL));
	ck_assert(!scrape_allowed(&s, NULL, NULL, NULL));
}
END_TEST

START_TEST(test_client_behind_a_trusted_proxy_is_not_loopback)
{
	/* nginx on loopback relays a remote client: the client decides. */
	ck_assert(!scrape_allowed(&s, "127.0.0.1", "203.0.113.9", NULL));
	ck_assert(scrape_allowed(&s, "127.0.0.1", "127.0.0.1", NULL));
	/* An untrusted peer cannot claim loopback through the header. */
	ck_assert(!scrape_allowed(&s, "10.1.2.3", "127.0.0.1", NULL));
}
END_TEST

START_TEST(test_bearer_token)
{
	char bearer[64];

	ck_assert(!scrape_allowed(&s, "10.1.2.3", NULL, "Bearer ")); /* no token set: never */
	s.metrics_token = token;
	snprintf(bearer, sizeof(bearer), "Bearer %s", token);
	ck_assert(scrape_allowed(&s, "10.1.2.3", NULL, bearer));
	ck_assert(scrape_allowed(&s, "127.0.0.1", "203.0.113.9", bearer));
	bearer[strlen(bearer) - 1] ^= 1;
	ck_assert(!scrape_allowed(&s, "10.1.2.3", NULL, bearer));
	bearer[strlen(bearer) - 1] = '\0'; /* a prefix of the token */
	ck_assert(!scrape_allowed(&s, "10.1.2.3", NULL, bearer));
	ck_assert(!scrape_allowed(&s, "10.1.2.3", NULL, token)); /* no "Bearer " */
	ck_assert(!scrape_allowed(&s, "10.1.2.3", NULL, "Bearer "));
}
END_TEST

START_TEST(test_scope)
{
	enum scrape_scope sc = SCRAPE_HOST;

	ck_assert_int_eq(scrape_parse_scope(NULL, &sc), 0);
	ck_assert_int_eq(sc, SCRAPE_ALL);
	ck_assert_int_eq(scrape_parse_scope("host", &sc), 0);
	ck_assert_int_eq(sc, SCRAPE_HOST);
	ck_assert_int_eq(scrape_parse_scope("cluster", &sc), 0);
	ck_assert_int_eq(sc, SCRAPE_CLUSTER);
	ck_assert_int_eq(scrape_parse_scope("all", &sc), 0);
	ck_assert_int_eq(sc, SCRAPE_ALL);
	ck_assert_int_eq(scrape_parse_scope("everything", &sc), IA_ERR_INVAL);
}
END_TEST

static Suite *scrape_suite(void)
{
	Suite *su = suite_create("scrape");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_loopback_is_allowed);
	tcase_add_test(tc, test_client_behind_a_trusted_proxy_is_not_loopback);
	tcase_add_test(tc, test_bearer_token);
	tcase_add_test(tc, test_scope);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(scrape_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
