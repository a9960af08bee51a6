/*
 * stripe.h - payments through Stripe (API.md "Payments (Stripe)"): the
 * amount rules of a purchase, creating a PaymentIntent over HTTPS, and the
 * webhook: signature verification and the one place where bought credits
 * are granted.
 */
#ifndef IA_STRIPE_H
#define IA_STRIPE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct db;
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

/* What stripe_handle_event did with a (verified) event. */
enum stripe_outcome {
	STRIPE_IGNORED,      /* another event type or currency: nothing changed */
	STRIPE_CREDITED,     /* credits granted, event recorded */
	STRIPE_DUPLICATE,    /* event id or payment intent already recorded */
	STRIPE_UNKNOWN_USER, /* metadata.user_id names no account: nothing changed */
};

/*
 * Apply a verified webhook event. For payment_intent.succeeded, in one
 * BEGIN IMMEDIATE transaction: record the event id and payment intent in
 * stripe_events (both unique) and add floor(amount_received * multiplier
 * / 100) credits to metadata.user_id as a 'purchase' ledger row whose ref
 * is the payment intent id. IA_ERR_INVAL when body is not an event (no
 * id/type, or a succeeded intent without id, amount_received or
 * metadata.user_id); IA_ERR_DB/IA_ERR_BUSY on database failure (Stripe
 * retries). *outcome and *credits (may be NULL) on success.
 */
int stripe_handle_event(struct db *db, int64_t multiplier, const char *body, size_t body_len,
			enum stripe_outcome *outcome, int64_t *credits);

#endif
