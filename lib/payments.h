/*
 * payments.h - the bookkeeping of a Stripe purchase (API.md "Payments
 * (Stripe)"): the one place where bought credits are granted. The
 * protocol (signature, event parsing, PaymentIntent requests) is
 * lib/stripe.c; this module only writes the database.
 */
#ifndef IA_PAYMENTS_H
#define IA_PAYMENTS_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* What payments_apply_event did with a (verified) event. */
enum payments_outcome {
	PAYMENTS_IGNORED,      /* another event type or currency: nothing changed */
	PAYMENTS_CREDITED,     /* credits granted, event recorded */
	PAYMENTS_DUPLICATE,    /* event id or payment intent already recorded */
	PAYMENTS_UNKNOWN_USER, /* metadata.user_id names no account: nothing changed */
};

/*
 * Apply a verified webhook event body (parsed by stripe_parse_event). For
 * payment_intent.succeeded, in one BEGIN IMMEDIATE transaction: record the
 * event id and payment intent in stripe_events (both unique) and add
 * floor(amount_received * multiplier / 100) credits to metadata.user_id
 * as a 'purchase' ledger row whose ref is the payment intent id.
 * IA_ERR_INVAL when body is not an event (as stripe_parse_event);
 * IA_ERR_DB/IA_ERR_BUSY on database failure (Stripe retries). *outcome
 * and *credits (may be NULL) on success.
 */
int payments_apply_event(struct db *db, int64_t multiplier, const char *body, size_t body_len,
			 enum payments_outcome *outcome, int64_t *credits);

#endif
