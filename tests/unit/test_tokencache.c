/*
 * test_tokencache.c - unit tests for lib/tokencache.c: a hit needs the
 * whole token, expiry is checked on every hit, a slot holds the newest
 * token, and nothing is cached past the token size bound.
 */
#include "config.h"

#include "err.h"
#include "tokencache.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct jwt_claims claims_for(int64_t user_id, int64_t exp)
{
	struct jwt_claims c;

	memset(&c, 0, sizeof(c));
	memcpy(c.token_type, "access", 7);
	c.user_id = user_id;
	c.exp = exp;
	return c;
}

static void setup(void)
{
	tokencache_clear();
}

START_TEST(test_hit_returns_claims)
{
	struct jwt_claims c = claims_for(7, 2000), got;

	tokencache_put("aaa.bbb.signature-one", &c);
	ck_assert_int_eq(tokencache_get("aaa.bbb.signature-one", 1000, &got), 0);
	ck_assert_int_eq(got.user_id, 7);
	ck_assert_int_eq(got.exp, 2000);
}
END_TEST

START_TEST(test_miss_on_any_other_token)
{
	struct jwt_claims c = claims_for(7, 2000), got;

	memset(&got, 0x5a, sizeof(got));
	tokencache_put("aaa.bbb.signature-one", &c);
	/* same signature, other payload: a forged token must not hit */
	ck_assert_int_eq(tokencache_get("aaa.bbX.signature-one", 1000, &got), IA_ERR_NOTFOUND);
	ck_assert_int_eq(tokencache_get("aaa.bbb.signature-one.", 1000, &got), IA_ERR_NOTFOUND);
	ck_assert_int_eq(tokencache_get("aaa.bbb.signature-on", 1000, &got), IA_ERR_NOTFOUND);
	ck_assert_int_eq(tokencache_get("", 1000, &got), IA_ERR_NOTFOUND);
	ck_assert_int_eq(got.user_id, 0x5a5a5a5a5a5a5a5a);
}
END_TEST

START_TEST(test_expiry_checked_on_hit)
{
	struct jwt_claims c = claims_for(7, 2000), got;

	tokencache_put("aaa.bbb.signature-one", &c);
	ck_assert_int_eq(tokencache_get("aaa.bbb.signature-one", 1999, &got), 0);
	ck_assert_int_eq(tokencache_get("aaa.bbb.signature-one", 2000, &got), IA_ERR_EXPIRED);
	ck_assert_int_eq(tokencache_get("aaa.bbb.signature-one", 5000, &got), IA_ERR_EXPIRED);
}
END_TEST

START_TEST(test_many_tokens_newest_kept)
{
	char tok[64];
	struct jwt_claims c, got;
	int i, hits = 0;

	for (i = 0; i < 4 * TOKENCACHE_SLOTS; i++) {
		snprintf(tok, sizeof(tok), "h.p.sig-%d", i);
		c = claims_for(i, 2000);
		tokencache_put(tok, &c);
	}
	for (i = 0; i < 4 * TOKENCACHE_SLOTS; i++) {
		snprintf(tok, sizeof(tok), "h.p.sig-%d", i);
		if (tokencache_get(tok, 1000, &got) == 0) {
			ck_assert_int_eq(got.user_id, i); /* never another token's claims */
			hits++;
		}
	}
	ck_assert_int_le(hits, TOKENCACHE_SLOTS);
	ck_assert_int_gt(hits, TOKENCACHE_SLOTS / 4);
	snprintf(tok, sizeof(tok), "h.p.sig-%d", 4 * TOKENCACHE_SLOTS - 1);
	ck_assert_int_eq(tokencache_get(tok, 1000, &got), 0); /* the newest is always there */
}
END_TEST

START_TEST(test_oversized_token_not_cached)
{
	size_t n = JWT_MAX_LEN + 10;
	char *big = malloc(n + 1);
	struct jwt_claims c = claims_for(1, 2000), got;

	memset(big, 'a', n);
	big[n] = '\0';
	tokencache_put(big, &c);
	ck_assert_int_eq(tokencache_get(big, 1000, &got), IA_ERR_NOTFOUND);
	free(big);
}
END_TEST

START_TEST(test_clear_forgets)
{
	struct jwt_claims c = claims_for(7, 2000), got;

	tokencache_put("aaa.bbb.signature-one", &c);
	tokencache_clear();
	ck_assert_int_eq(tokencache_get("aaa.bbb.signature-one", 1000, &got), IA_ERR_NOTFOUND);
}
END_TEST

static Suite *tokencache_suite(void)
{
	Suite *s = suite_create("tokencache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_hit_returns_claims);
	tcase_add_test(tc, test_miss_on_any_other_token);
	tcase_add_test(tc, test_expiry_checked_on_hit);
	tcase_add_test(tc, test_many_tokens_newest_kept);
	tcase_add_test(tc, test_oversized_token_not_cached);
	tcase_add_test(tc, test_clear_forgets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tokencache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
