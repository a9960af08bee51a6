/*
 * test_payments.c - unit tests for lib/payments.c on a real migrated
 * database: the webhook grant happens once per event id and once per
 * payment intent (the ledger's own unique rule too), nothing changes for
 * other events, other currencies, unknown users or a malformed event.
 */
#include "config.h"

#include "credits.h"
#include "db.h"
#include "err.h"
#include "payments.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static struct db *db;
static int64_t uid;

static void db_setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "buyer@example.com", 100);
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
	return testdb_user_ledger(db, uid, "purchase");
}

static int event(const char *evt, const char *type, const char *pi, int64_t amount, int64_t user,
		 enum payments_outcome *oc, int64_t *credits)
{
	char *body = xasprintf("{\"id\":\"%s\",\"object\":\"event\",\"type\":\"%s\",\"data\":{"
			       "\"object\":{\"id\":\"%s\",\"object\":\"payment_intent\","
			       "\"amount\":%" PRId64 ",\"amount_received\":%" PRId64 ","
			       "\"currency\":\"usd\",\"metadata\":{\"user_id\":\"%" PRId64 "\","
			       "\"credit_amount\":\"1\"}}}}",
			       evt, type, pi, amount, amount, user);
	int rc = payments_apply_event(db, 50, body, strlen(body), oc, credits);

	free(body);
	return rc;
}

START_TEST(test_event_grants_once)
{
	enum payments_outcome oc = PAYMENTS_IGNORED;
	int64_t n = -1;

	ck_assert_int_eq(event("evt_a", "payment_intent.succeeded", "pi_1", 2599, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, PAYMENTS_CREDITED);
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
	ck_assert_int_eq(oc, PAYMENTS_DUPLICATE);
	ck_assert_int_eq(n, 0);
	/* another event id for the same intent */
	ck_assert_int_eq(event("evt_b", "payment_intent.succeeded", "pi_1", 2599, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, PAYMENTS_DUPLICATE);
	/* the same event id naming another intent */
	ck_assert_int_eq(event("evt_a", "payment_intent.succeeded", "pi_2", 5000, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, PAYMENTS_DUPLICATE);
	ck_assert_int_eq(balance(), 1399);
	ck_assert_int_eq(purchases(), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM stripe_events", 0), 1);
	/* a genuinely new payment counts */
	ck_assert_int_eq(event("evt_c", "payment_intent.succeeded", "pi_2", 1000, uid, &oc, &n), 0);
	ck_assert_int_eq(oc, PAYMENTS_CREDITED);
	ck_assert_int_eq(balance(), 1399 + 500);
}
END_TEST

START_TEST(test_event_purchase_row_blocks_replay)
{
	enum payments_outcome oc;

	/* a purchase ledger row for the intent without an event row (e.g. restored
	 * from an older backup): the ledger's own unique rule still holds */
	ck_assert_int_eq(credits_apply(db, uid, 7, CREDITS_PURCHASE, 0, "pi_9", NULL), 0);
	ck_assert_int_eq(event("evt_9", "payment_intent.succeeded", "pi_9", 2000, uid, &oc, NULL),
			 0);
	ck_assert_int_eq(oc, PAYMENTS_DUPLICATE);
	ck_assert_int_eq(balance(), 107);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM stripe_events", 0), 0);
}
END_TEST

START_TEST(test_event_ignored_and_unknown_user)
{
	enum payments_outcome oc = PAYMENTS_CREDITED;
	const char *other = "{\"id\":\"evt_o\",\"type\":\"payment_intent.created\",\"data\":{}}";
	const char *eur =
	    "{\"id\":\"evt_e\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":"
	    "{\"id\":\"pi_e\",\"amount_received\":5000,\"currency\":\"eur\","
	    "\"metadata\":{\"user_id\":\"1\"}}}}";

	ck_assert_int_eq(payments_apply_event(db, 50, other, strlen(other), &oc, NULL), 0);
	ck_assert_int_eq(oc, PAYMENTS_IGNORED);
	ck_assert_int_eq(payments_apply_event(db, 50, eur, strlen(eur), &oc, NULL), 0);
	ck_assert_int_eq(oc, PAYMENTS_IGNORED);
	ck_assert_int_eq(
	    event("evt_u", "payment_intent.succeeded", "pi_u", 5000, uid + 999, &oc, NULL), 0);
	ck_assert_int_eq(oc, PAYMENTS_UNKNOWN_USER);
	ck_assert_int_eq(balance(), 100);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM stripe_events", 0), 0);
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM credit_ledger WHERE reason = "
				    "'purchase'",
				    0),
			 0);
}
END_TEST

START_TEST(test_event_bad_payload_changes_nothing)
{
	static const char *bad[] = {
	    "not json",
	    "{\"id\":\"evt_x\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
	    "\"id\":\"pi_x\",\"amount_received\":100}}}", /* no metadata.user_id */
	};
	enum payments_outcome oc = PAYMENTS_CREDITED;
	int64_t n = -1;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(payments_apply_event(db, 50, bad[i], strlen(bad[i]), &oc, &n) ==
				  IA_ERR_INVAL,
			      "payload %zu", i);
		ck_assert_int_eq(oc, PAYMENTS_CREDITED); /* untouched */
		ck_assert_int_eq(n, -1);
	}
	ck_assert_int_eq(balance(), 100);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM stripe_events", 0), 0);
}
END_TEST

static Suite *payments_suite(void)
{
	Suite *s = suite_create("payments");
	TCase *ev = tcase_create("events");

	tcase_add_checked_fixture(ev, db_setup, db_teardown);
	tcase_set_timeout(ev, 60);
	tcase_add_test(ev, test_event_grants_once);
	tcase_add_test(ev, test_event_purchase_row_blocks_replay);
	tcase_add_test(ev, test_event_ignored_and_unknown_user);
	tcase_add_test(ev, test_event_bad_payload_changes_nothing);
	suite_add_tcase(s, ev);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(payments_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
