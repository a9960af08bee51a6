/*
 * stripe.h - the Stripe protocol (API.md "Payments (Stripe)"): the amount
 * rules of a purchase, creating a PaymentIntent over HTTPS, and the
 * webhook's signature and event parsing. No database here: granting the
 * bought credits is lib/payments.c.
 */
#ifndef IA_STRIPE_H
#define IA_STRIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct settings;
struct user;

#define STRIPE_MIN_CENTS     1000        /* $10.00 */
#define STRIPE_MAX_CENTS     100000      /* $1000.00 */
#define STRIPE_TOLERANCE     300         /* seconds a signature timestamp may be off */
#define STRIPE_WEBHOOK_LIMIT (64 * 1024) /* bytes of a webhook body */

/*
 * Convert the "amount" field of a create-intent body (USD) to cents. A
 * JSON number or a numeric string with at most two decimal places is
 * accepted ("25", 25, 25.5, "25.50"); the conversion is exact. Returns
 * IA_ERR_INVAL for anything else (absent, another type, more than two
 * decimals, not finite); the 10..1000 range is the caller's check.
 */
int stripe_amount_cents(const cJSON *amount, int64_t *cents);

/* Credits bought by cents at multiplier credits per dollar, rounded down. */
int64_t stripe_credits_for(int64_t cents, int64_t multiplier);

/*
 * Create a PaymentIntent for u paying cents (POST {STRIPE_API_BASE}/v1/
 * payment_intents, form-encoded, with a fresh Idempotency-Key).
 * *client_secret is a heap string, the caller's to free. IA_ERR_UNAVAILABLE
 * when STRIPE_SECRET_KEY is unset; IA_ERR_UPSTREAM on a transport error, a
 * non-2xx answer or an answer without client_secret. The key is sent only
 * in the Authorization header and never logged.
 */
int stripe_create_intent(const struct settings *s, const struct user *u, int64_t cents,
			 char **client_secret);

/*
 * Check a Stripe-Signature header ("t=<unix>,v1=<hex>[,v1=<hex>...]")
 * against body: HMAC-SHA256 of "<t>.<body>" with secret, any v1 may
 * match (constant-time compare), |now - t| <= tolerance. Returns 0;
 * IA_ERR_INVAL for a malformed header (no t, no v1, bad number) or an
 * empty secret; IA_ERR_AUTH when no v1 matches; IA_ERR_EXPIRED when the
 * signature matches but t is out of tolerance.
 */
int stripe_verify_signature(const char *secret, const char *header, const char *body,
			    size_t body_len, int64_t now, int64_t tolerance);

/* The facts of a payment_intent.succeeded event that a grant needs. */
struct stripe_payment {
	char *event_id;          /* heap */
	char *intent_id;         /* heap */
	int64_t amount_received; /* cents */
	int64_t user_id;         /* metadata.user_id */
};

/*
 * Parse a (verified) webhook event body. For a payment_intent.succeeded
 * in USD (or without a currency) fills *out (release with
 * stripe_payment_cleanup) and sets *relevant; any other event type or
 * currency is 0 with *relevant false and *out empty. IA_ERR_INVAL when
 * body is not an event (no id/type, or a succeeded intent without id,
 * amount_received in 0..10^12 or a positive metadata.user_id). Pure: no
 * database, no network.
 */
int stripe_parse_event(const char *body, size_t body_len, struct stripe_payment *out,
		       bool *relevant);
/* Free p's strings and empty it; p may be NULL. */
void stripe_payment_cleanup(struct stripe_payment *p);

#endif
