/*
 * test_stripe.c - unit tests for lib/stripe.c: Stripe-Signature
 * verification (a known-answer vector computed outside this code, each of
 * several v1 signatures, tampered body, wrong secret, stale and future
 * timestamps at and past the 300 s tolerance, malformed headers), exact
 * amount-to-cents conversion, the credit formula, and the webhook grant on
 * a real migrated database: once per event id, once per payment intent,
 * nothing for other events or unknown users.
 */
#include "config.h"

#include "credits.h"
#include "db.h"
#include "err.h"
#include "stripe.h"
#include "testdb.h"
#include "users.h"
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

/* --- webhook events on a real database ------------------------------------- */

static struct db *db;
static int64_t uid;

static void db_setup(void)
{
	struct user_new nu = {.email = "buyer@example.com", .signup_credits = 100};

	db = testdb_open();
	ck_assert_int_eq(users_create(db, &nu, &uid), 0);
}

static void db_teardown(void)
{
	testdb_close(db);
	db = NULL;
}

static int64_t balance(void)
{
	return testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid);
}

static int64_t purchases(void)
{
	return testdb_int(db,
			  "SELECT count(*) FROM credit_ledger WHERE reason = 'purchase' AND "
			  "user_id = ?",
			  uid);
}

static int event(const char *evt, const char *type, const char *pi, int64_t amount, int64_t user,
		 enum stripe_outcome *oc, int64_t *credits)
{
	char *body = xasprintf("{\"id\":\"%s\",\"object\":\"event\",\"type\":\"%s\",\"data\":{"
			       "\"object\":{\"id\":\"%s\",\"object\":\"payment_intent\","
			       "\"amount\":%" PRId64 ",\"amount_received\":%" PRId64 ","
			       "\"currency\":\"usd\",\"metadata\":{\"user_id\":\"%" PRId64 "\","
			       "\"credit_amount\":\"1\"}}}}",
			       evt, type, pi, amount, amount, user);
	int rc = stripe_handle_event(db, 50, body, strlen(body), oc, credits);

	free(body);
	return rc;
}

START_TEST(test_event_grants_once)
{
	enum stripe_outcome oc = STRIPE_IGNORED;
	int64_t n = -1;

	ck_assert_int_eq(event("evt_a", "payment_intent.succeeded", "pi_1", 2599, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, STRIPE_CREDITED);
	ck_assert_int_eq(n, 1299);
	ck_assert_int_eq(balance(), 100 + 1299);
	ck_assert_int_eq(purchases(), 1);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM credit_ledger WHERE ref = 'pi_1' "
				    "AND delta = 1299 AND balance_after = 1399 AND user_id = ?",
				    uid),
			 1);
	/* the same event again */
	ck_assert_int_eq(event("evt_a", "payment_intent.succeeded", "pi_1", 2599, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, STRIPE_DUPLICATE);
	ck_assert_int_eq(n, 0);
	/* another event id for the same intent */
	ck_assert_int_eq(event("evt_b", "payment_intent.succeeded", "pi_1", 2599, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, STRIPE_DUPLICATE);
	/* the same event id naming another intent */
	ck_assert_int_eq(event("evt_a", "payment_intent.succeeded", "pi_2", 5000, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, STRIPE_DUPLICATE);
	ck_assert_int_eq(balance(), 1399);
	ck_assert_int_eq(purchases(), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM stripe_events", 0), 1);
	/* a genuinely new payment counts */
	ck_assert_int_eq(event("evt_c", "payment_intent.succeeded", "pi_2", 1000, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, STRIPE_CREDITED);
	ck_assert_int_eq(balance(), 1399 + 500);
}
END_TEST

START_TEST(test_event_purchase_row_blocks_replay)
{
	enum stripe_outcome oc;

	/* a purchase ledger row for the intent without an event row (e.g. restored
	 * from an older backup): the ledger's own unique rule still holds */
	ck_assert_int_eq(credits_apply(db, uid, 7, CREDITS_PURCHASE, 0, "pi_9", NULL), 0);
	ck_assert_int_eq(event("evt_9", "payment_intent.succeeded", "pi_9", 2000, uid, &oc, NULL),
			 0);
	ck_assert_int_eq(oc, STRIPE_DUPLICATE);
	ck_assert_int_eq(balance(), 107);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM stripe_events", 0), 0);
}
END_TEST

START_TEST(test_event_ignored_and_unknown_user)
{
	enum stripe_outcome oc = STRIPE_CREDITED;
	const char *other = "{\"id\":\"evt_o\",\"type\":\"payment_intent.created\",\"data\":{}}";
	const char *eur =
	    "{\"id\":\"evt_e\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":"
	    "{\"id\":\"pi_e\",\"amount_received\":5000,\"currency\":\"eur\","
	    "\"metadata\":{\"user_id\":\"1\"}}}}";

	ck_assert_int_eq(stripe_handle_event(db, 50, other, strlen(other), &oc, NULL), 0);
	ck_assert_int_eq(oc, STRIPE_IGNORED);
	ck_assert_int_eq(stripe_handle_event(db, 50, eur, strlen(eur), &oc, NULL), 0);
	ck_assert_int_eq(oc, STRIPE_IGNORED);
	ck_assert_int_eq(
	    event("evt_u", "payment_intent.succeeded", "pi_u", 5000, uid + 999, &oc, NULL), 0);
	ck_assert_int_eq(oc, STRIPE_UNKNOWN_USER);
	ck_assert_int_eq(balance(), 100);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM stripe_events", 0), 0);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM credit_ledger WHERE reason = "
				    "'purchase'",
				    0),
			 0);
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
	enum stripe_outcome oc = STRIPE_CREDITED;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(stripe_handle_event(db, 50, bad[i], strlen(bad[i]), &oc, NULL) ==
				  IA_ERR_INVAL,
			      "payload %zu", i);
		ck_assert_int_eq(oc, STRIPE_CREDITED); /* untouched */
	}
	ck_assert_int_eq(balance(), 100);
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
	enum stripe_outcome oc = STRIPE_CREDITED;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(stripe_handle_event(db, 50, bad[i], strlen(bad[i]), &oc, NULL) ==
				  IA_ERR_INVAL,
			      "payload %zu", i);
	ck_assert_int_eq(balance(), 100);
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
	tcase_add_checked_fixture(ev, db_setup, db_teardown);
	tcase_set_timeout(ev, 60);
	tcase_add_test(ev, test_event_grants_once);
	tcase_add_test(ev, test_event_purchase_row_blocks_replay);
	tcase_add_test(ev, test_event_ignored_and_unknown_user);
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
