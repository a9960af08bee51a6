/*
 * test_stripe.c - unit tests for lib/stripe.c: Stripe-Signature
 * verification (a known-answer vector computed outside this code, each of
 * several v1 signatures, tampered body, wrong secret, stale and future
 * timestamps at and past the 300 s tolerance, malformed headers), exact
 * amount-to-cents conversion, the credit formula, and parsing a webhook
 * event: the succeeded payment's facts, other events and currencies
 * ignored, malformed events refused. The grant itself is test_payments.c.
 */
#include "config.h"

#include "err.h"
#include "stripe.h"
#include "util.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SECRET "whsec_test_secret"
#define T0     INT64_C(1700000000)
/* Python: hmac.new(SECRET, b"1700000000." + BODY, sha256).hexdigest() */
#define BODY "{\"id\":\"evt_1\",\"type\":\"ping\"}"
#define KAT  "74a11abdd08483d064a2a1571e7881b084c522f9f3ccd0b800ec8c74aba47fc2"

static int verify(const char *secret, const char *header, const char *body, int64_t now)
{
	return stripe_verify_signature(secret, header, body, strlen(body), now, STRIPE_TOLERANCE);
}

/* Hex HMAC of "<t>.<body>" computed here, independently of stripe.c's code path. */
static void sign(const char *secret, int64_t t, const char *body, char hex[65])
{
	unsigned char mac[32];
	char *msg = xasprintf("%" PRId64 ".%s", t, body);

	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
	free(msg);
}

START_TEST(test_sig_known_answer)
{
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=" KAT, BODY, T0), 0);
	ck_assert_int_eq(verify(SECRET, "t=1700000000, v1=" KAT, BODY, T0 + 10), 0);
}
END_TEST

START_TEST(test_sig_any_of_several_v1)
{
	const char *bogus = "0000000000000000000000000000000000000000000000000000000000000000";
	char hdr[400];

	snprintf(hdr, sizeof(hdr), "t=1700000000,v1=%s,v1=" KAT, bogus);
	ck_assert_int_eq(verify(SECRET, hdr, BODY, T0), 0);
	snprintf(hdr, sizeof(hdr), "t=1700000000,v1=" KAT ",v1=%s,v0=%s", bogus, bogus);
	ck_assert_int_eq(verify(SECRET, hdr, BODY, T0), 0);
	snprintf(hdr, sizeof(hdr), "t=1700000000,v1=%s,v1=%s", bogus, bogus);
	ck_assert_int_eq(verify(SECRET, hdr, BODY, T0), IA_ERR_AUTH);
	/* a v0 (test-mode scheme) alone does not count */
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v0=" KAT, BODY, T0), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_sig_tampered_body_and_wrong_secret)
{
	ck_assert_int_eq(
	    verify(SECRET, "t=1700000000,v1=" KAT, "{\"id\":\"evt_1\",\"type\":\"pinG\"}", T0),
	    IA_ERR_AUTH);
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=" KAT, BODY " ", T0), IA_ERR_AUTH);
	ck_assert_int_eq(verify("whsec_other", "t=1700000000,v1=" KAT, BODY, T0), IA_ERR_AUTH);
	/* the timestamp is signed too: moving it breaks the signature */
	ck_assert_int_eq(verify(SECRET, "t=1700000001,v1=" KAT, BODY, T0), IA_ERR_AUTH);
	/* one flipped hex digit */
	ck_assert_int_eq(
	    verify(SECRET,
		   "t=1700000000,v1=74a11abdd08483d064a2a1571e7881b084c522f9f3ccd0b800ec8c7"
		   "4aba47fc3",
		   BODY, T0),
	    IA_ERR_AUTH);
}
END_TEST

START_TEST(test_sig_tolerance)
{
	char hex[65], hdr[128];

	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=" KAT, BODY, T0 + 300), 0);
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=" KAT, BODY, T0 + 301), IA_ERR_EXPIRED);
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=" KAT, BODY, T0 - 300), 0);
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=" KAT, BODY, T0 - 301), IA_ERR_EXPIRED);
	/* a fresh signature made now passes; one from an hour ago and one an hour ahead do not */
	sign(SECRET, ia_now(), BODY, hex);
	snprintf(hdr, sizeof(hdr), "t=%" PRId64 ",v1=%s", ia_now(), hex);
	ck_assert_int_eq(verify(SECRET, hdr, BODY, ia_now()), 0);
	sign(SECRET, ia_now() - 3600, BODY, hex);
	snprintf(hdr, sizeof(hdr), "t=%" PRId64 ",v1=%s", ia_now() - 3600, hex);
	ck_assert_int_eq(verify(SECRET, hdr, BODY, ia_now()), IA_ERR_EXPIRED);
	sign(SECRET, ia_now() + 3600, BODY, hex);
	snprintf(hdr, sizeof(hdr), "t=%" PRId64 ",v1=%s", ia_now() + 3600, hex);
	ck_assert_int_eq(verify(SECRET, hdr, BODY, ia_now()), IA_ERR_EXPIRED);
}
END_TEST

START_TEST(test_sig_malformed)
{
	static const char *bad[] = {
	    "",
	    "garbage",
	    "v1=" KAT,                           /* no t */
	    "t=1700000000",                      /* no v1 */
	    "t=,v1=" KAT,                        /* empty t */
	    "t=17000x0000,v1=" KAT,              /* not a number */
	    "t=-1700000000,v1=" KAT,             /* negative */
	    "t=1700000000,t=1700000000,v1=" KAT, /* two timestamps */
	    "t=99999999999999999999999,v1=" KAT, /* overflow */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(verify(SECRET, bad[i], BODY, T0) == IA_ERR_INVAL, "header %zu", i);
	/* a v1 that is not 64 hex digits never matches */
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=74a11abd", BODY, T0), IA_ERR_AUTH);
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=" KAT "00", BODY, T0), IA_ERR_AUTH);
	ck_assert_int_eq(verify(SECRET, "t=1700000000,v1=zz" KAT, BODY, T0), IA_ERR_AUTH);
	ck_assert_int_eq(verify("", "t=1700000000,v1=" KAT, BODY, T0), IA_ERR_INVAL);
	ck_assert_int_eq(verify(NULL, "t=1700000000,v1=" KAT, BODY, T0), IA_ERR_INVAL);
	ck_assert_int_eq(verify(SECRET, NULL, BODY, T0), IA_ERR_INVAL);
}
END_TEST

static int cents_of(const char *json, int64_t *cents)
{
	cJSON *o = cJSON_Parse(json);
	int rc = stripe_amount_cents(cJSON_GetObjectItemCaseSensitive(o, "amount"), cents);

	cJSON_Delete(o);
	return rc;
}

START_TEST(test_amount_cents)
{
	static const struct {
		const char *json;
		int64_t cents;
	} ok[] = {
	    {"{\"amount\": 25}", 2500},
	    {"{\"amount\": 25.5}", 2550},
	    {"{\"amount\": 19.99}", 1999},
	    {"{\"amount\": 0.29}", 29},
	    {"{\"amount\": \"25\"}", 2500},
	    {"{\"amount\": \"25.50\"}", 2550},
	    {"{\"amount\": \"1000.00\"}", 100000},
	    {"{\"amount\": -5}", -500},
	    {"{\"amount\": 1e3}", 100000},
	};
	static const char *bad[] = {
	    "{}",
	    "{\"amount\": null}",
	    "{\"amount\": true}",
	    "{\"amount\": \"\"}",
	    "{\"amount\": \"ten\"}",
	    "{\"amount\": 25.555}",
	    "{\"amount\": \"25.555\"}",
	    "{\"amount\": \"25.\"}",
	    "{\"amount\": \" 25\"}",
	    "{\"amount\": [25]}",
	    "{\"amount\": \"1e3\"}",
	    "{\"amount\": 1e300}",
	};
	int64_t c;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		c = -1;
		ck_assert_msg(cents_of(ok[i].json, &c) == 0, "%s", ok[i].json);
		ck_assert_msg(c == ok[i].cents, "%s -> %" PRId64, ok[i].json, c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = 12345;
		ck_assert_msg(cents_of(bad[i], &c) == IA_ERR_INVAL, "%s", bad[i]);
		ck_assert_int_eq(c, 12345); /* out-param untouched on failure */
	}
}
END_TEST

START_TEST(test_credits_formula)
{
	ck_assert_int_eq(stripe_credits_for(2500, 50), 1250);
	ck_assert_int_eq(stripe_credits_for(2599, 50), 1299); /* floor(25.99 * 50) */
	ck_assert_int_eq(stripe_credits_for(1001, 50), 500);
	ck_assert_int_eq(stripe_credits_for(1, 50), 0);
	ck_assert_int_eq(stripe_credits_for(0, 50), 0);
	ck_assert_int_eq(stripe_credits_for(-100, 50), 0);
	ck_assert_int_eq(stripe_credits_for(100000, 3), 3000);
}
END_TEST

/* --- webhook event parsing (no database) ------------------------------------ */

START_TEST(test_event_parse_succeeded)
{
	const char *ok = "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\",\"data\":{"
			 "\"object\":{\"id\":\"pi_1\",\"amount_received\":\"2599\","
			 "\"currency\":\"usd\",\"metadata\":{\"user_id\":\"42\"}}}}";
	const char *other = "{\"id\":\"evt_o\",\"type\":\"payment_intent.created\",\"data\":{}}";
	const char *eur =
	    "{\"id\":\"evt_e\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":"
	    "{\"id\":\"pi_e\",\"amount_received\":5000,\"currency\":\"eur\","
	    "\"metadata\":{\"user_id\":\"1\"}}}}";
	struct stripe_payment p = {0};
	bool relevant = false;

	ck_assert_int_eq(stripe_parse_event(ok, strlen(ok), &p, &relevant), 0);
	ck_assert(relevant);
	ck_assert_str_eq(p.event_id, "evt_1");
	ck_assert_str_eq(p.intent_id, "pi_1");
	ck_assert_int_eq(p.amount_received, 2599);
	ck_assert_int_eq(p.user_id, 42);
	stripe_payment_cleanup(&p);
	ck_assert_ptr_null(p.event_id);
	stripe_payment_cleanup(NULL);
	ck_assert_int_eq(stripe_parse_event(other, strlen(other), &p, &relevant), 0);
	ck_assert(!relevant);
	ck_assert_ptr_null(p.event_id);
	relevant = true;
	ck_assert_int_eq(stripe_parse_event(eur, strlen(eur), &p, &relevant), 0);
	ck_assert(!relevant);
	ck_assert_ptr_null(p.event_id);
}
END_TEST

START_TEST(test_event_bad_payload)
{
	static const char *bad[] = {
	    "not json",
	    "[]",
	    "{\"type\":\"payment_intent.succeeded\"}",
	    "{\"id\":\"evt_x\"}",
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"id\":\"pi_x\",\"amount_received\":100}}}", /* no metadata.user_id */
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"amount_received\":100,\"metadata\":{\"user_id\":\"1\"}}}}", /* no intent id */
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"id\":\"pi_x\",\"amount_received\":-5,\"metadata\":{\"user_id\":\"1\"}}}}",
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"id\":\"pi_x\",\"amount_received\":1.5,\"metadata\":{\"user_id\":\"1\"}}}}",
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"id\":\"pi_x\",\"amount_received\":100,\"metadata\":{\"user_id\":\"abc\"}}}}",
	};
	struct stripe_payment p = {0};
	bool relevant = true;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(stripe_parse_event(bad[i], strlen(bad[i]), &p, &relevant) ==
				  IA_ERR_INVAL,
			      "payload %zu", i);
		ck_assert(relevant); /* untouched */
		ck_assert_ptr_null(p.event_id);
	}
}
END_TEST

/*
 * Regression (fuzz_stripe): a numeric metadata.user_id of 2^63 passed the
 * "d > (double)INT64_MAX" range check ((double)INT64_MAX is 2^63) and was
 * converted to int64_t out of range (undefined behaviour; INT64_MIN on
 * x86-64, then an "unknown user" answer instead of a refusal).
 */
START_TEST(test_event_user_id_2_pow_63)
{
	static const char *const bad[] = {
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"id\":\"pi_x\",\"amount_received\":100,\"metadata\":{\"user_id\":"
	    "9223372036854775808}}}}",
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"id\":\"pi_x\",\"amount_received\":100,\"metadata\":{\"user_id\":1e19}}}}",
	};
	struct stripe_payment p = {0};
	bool relevant = true;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(stripe_parse_event(bad[i], strlen(bad[i]), &p, &relevant) ==
				  IA_ERR_INVAL,
			      "payload %zu", i);
}
END_TEST

static Suite *stripe_suite(void)
{
	Suite *s = suite_create("stripe");
	TCase *sig = tcase_create("signature");
	TCase *ev = tcase_create("events");

	tcase_add_test(sig, test_sig_known_answer);
	tcase_add_test(sig, test_sig_any_of_several_v1);
	tcase_add_test(sig, test_sig_tampered_body_and_wrong_secret);
	tcase_add_test(sig, test_sig_tolerance);
	tcase_add_test(sig, test_sig_malformed);
	tcase_add_test(sig, test_amount_cents);
	tcase_add_test(sig, test_credits_formula);
	suite_add_tcase(s, sig);
	tcase_add_test(ev, test_event_parse_succeeded);
	tcase_add_test(ev, test_event_bad_payload);
	tcase_add_test(ev, test_event_user_id_2_pow_63);
	suite_add_tcase(s, ev);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(stripe_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
