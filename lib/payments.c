/*
 * payments.c - grants bought credits. This module implements the
 * bookkeeping half of a Stripe webhook: a verified, parsed payment
 * (lib/stripe.c) becomes one stripe_events row and one 'purchase' ledger
 * row in a single transaction, once per event id and once per payment
 * intent, whatever Stripe retries.
 */
#include "config.h"

#include "payments.h"
#include "credits.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "stripe.h"
#include "users.h"
#include "util.h"

#include <inttypes.h>
#include <stdbool.h>

static int payments_record(struct db *db, const struct stripe_payment *p, int64_t credits,
			   enum payments_outcome *outcome);

/* The transaction of a succeeded payment; rolls back on any non-credit. */
static int payments_record(struct db *db, const struct stripe_payment *p, int64_t credits,
			   enum payments_outcome *outcome)
{
	struct db_stmt *st;
	struct user u;
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = users_get(db, p->user_id, &u);
	if (rc == IA_ERR_NOTFOUND) {
		*outcome = PAYMENTS_UNKNOWN_USER;
		rc = 0;
		goto rollback;
	}
	if (rc != 0)
		goto rollback;
	rc = db_prepare(db,
			"INSERT INTO stripe_events(event_id, payment_intent, user_id, "
			"amount_received, credits, created) VALUES (?, ?, ?, ?, ?, ?)",
			&st);
	if (rc != 0)
		goto rollback;
	db_bind_text(st, 1, p->event_id);
	db_bind_text(st, 2, p->intent_id);
	db_bind_int64(st, 3, p->user_id);
	db_bind_int64(st, 4, p->amount_received);
	db_bind_int64(st, 5, credits);
	db_bind_int64(st, 6, ia_now());
	rc = db_step(st);
	db_reset(st);
	if (rc == DB_ROW)
		rc = IA_ERR_DB;
	if (rc == DB_DONE && credits > 0)
		rc = credits_apply_in_tx(db, p->user_id, credits, CREDITS_PURCHASE, 0, p->intent_id,
					 NULL);
	if (rc == IA_ERR_EXISTS) {
		*outcome = PAYMENTS_DUPLICATE;
		rc = 0;
		goto rollback;
	}
	if (rc != 0)
		goto rollback;
	rc = db_commit(db);
	if (rc == 0)
		*outcome = PAYMENTS_CREDITED;
	return rc;
rollback:
	db_rollback(db);
	return rc;
}

int payments_apply_event(struct db *db, int64_t multiplier, const char *body, size_t body_len,
			 enum payments_outcome *outcome, int64_t *credits)
{
	struct stripe_payment p = {0};
	enum payments_outcome oc = PAYMENTS_IGNORED;
	bool relevant = false;
	int64_t n = 0;
	int rc;

	rc = stripe_parse_event(body, body_len, &p, &relevant);
	if (rc != 0 || !relevant)
		goto out;
	n = stripe_credits_for(p.amount_received, multiplier);
	rc = payments_record(db, &p, n, &oc);
	if (rc != 0)
		goto out;
	if (oc == PAYMENTS_CREDITED)
		log_info("stripe: event %.64s: %" PRId64 " credits to user %" PRId64 " for %.64s",
			 p.event_id, n, p.user_id, p.intent_id);
	else if (oc == PAYMENTS_DUPLICATE)
		log_info("stripe: event %.64s for %.64s already applied", p.event_id, p.intent_id);
	else
		log_error("stripe: event %.64s names unknown user %" PRId64 ": nothing granted",
			  p.event_id, p.user_id);
out:
	if (rc == 0) {
		*outcome = oc;
		if (credits != NULL)
			*credits = oc == PAYMENTS_CREDITED ? n : 0;
	}
	stripe_payment_cleanup(&p);
	return rc;
}
