/*
 * payments.c - the FastCGI program behind API.md's "Payments (Stripe)":
 * creating a PaymentIntent for a signed-in user, and Stripe's webhook,
 * the only way bought credits reach an account. nginx sends every
 * /api/v1/stripe/ path here.
 *
 * Choices where API.md is silent:
 *  - amount is USD as a JSON number or numeric string with at most two
 *    decimal places (cents precision); anything else is 400
 *    {"amount": ["A valid number is required."]};
 *  - no STRIPE_SECRET_KEY, a transport error or a non-2xx answer from
 *    Stripe are all 502 {"error": "Payment provider unavailable"};
 *  - webhook: no STRIPE_WEBHOOK_SECRET is 503 (Stripe retries once it is
 *    configured); a database failure is 503 too; an event naming an
 *    unknown user is 200 {"received": true}, logged, nothing changed.
 */
#include "config.h"

#include "app.h"
#include "auth.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "payments.h"
#include "router.h"
#include "settings.h"
#include "stripe.h"
#include "users.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Reply {"error": msg}. */
static void payments_reply_error(struct http_request *req, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", msg);
	http_reply_json(req, status, o);
	cJSON_Delete(o);
}

static void handle_create_intent(struct http_request *req, const struct route_args *args)
{
	cJSON *body = NULL, *o;
	char *secret = NULL;
	int64_t cents;
	struct user u;

	(void)args;
	if (auth_require(req, app_db(), &u) != 0 || http_json_body(req, &body) != 0)
		return;
	if (stripe_amount_cents(cJSON_GetObjectItemCaseSensitive(body, "amount"), &cents) != 0) {
		http_reply_field_error(req, "amount", "A valid number is required.");
		goto out;
	}
	if (cents < STRIPE_MIN_CENTS) {
		payments_reply_error(req, 400, "Minimum amount is $10.00");
		goto out;
	}
	if (cents > STRIPE_MAX_CENTS) {
		payments_reply_error(req, 400, "Maximum amount is $1000.00");
		goto out;
	}
	if (stripe_create_intent(settings_get(), &u, cents, &secret) != 0) {
		payments_reply_error(req, 502, "Payment provider unavailable");
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "client_secret", secret);
	http_reply_json(req, 200, o);
	cJSON_Delete(o);
out:
	free(secret);
	cJSON_Delete(body);
}

/* 0 when the request carries a valid, fresh signature; else replied. */
static int payments_check_signature(struct http_request *req)
{
	const struct settings *s = settings_get();
	const char *sig = http_param(req, "HTTP_STRIPE_SIGNATURE");
	int rc;

	if (s->stripe_webhook_secret == NULL || s->stripe_webhook_secret[0] == '\0') {
		log_error("stripe webhook: STRIPE_WEBHOOK_SECRET is not set; event refused");
		payments_reply_error(req, 503, "Webhook not configured");
		return IA_ERR_UNAVAILABLE;
	}
	if (sig == NULL || sig[0] == '\0') {
		payments_reply_error(req, 400, "Missing Stripe-Signature header");
		return IA_ERR_INVAL;
	}
	rc = stripe_verify_signature(s->stripe_webhook_secret, sig, req->body, req->body_len,
				     ia_now(), STRIPE_TOLERANCE);
	if (rc == IA_ERR_EXPIRED)
		payments_reply_error(req, 400, "Signature timestamp outside the tolerance zone");
	else if (rc != 0)
		payments_reply_error(req, 400, "Invalid signature");
	if (rc != 0)
		log_warn("stripe webhook: signature rejected (%s)", ia_strerror(rc));
	return rc;
}

static void handle_webhook(struct http_request *req, const struct route_args *args)
{
	enum payments_outcome oc;
	cJSON *o;
	int rc;

	(void)args;
	rc = http_read_body(req, STRIPE_WEBHOOK_LIMIT);
	if (rc == IA_ERR_TOOBIG) {
		http_reply_detail(req, 413, "Request body too large.");
		return;
	}
	if (rc != 0) {
		payments_reply_error(req, 400, "Invalid payload");
		return;
	}
	if (payments_check_signature(req) != 0)
		return;
	rc = payments_apply_event(app_db(), settings_get()->credit_multiplier, req->body,
				  req->body_len, &oc, NULL);
	if (rc == IA_ERR_INVAL) {
		payments_reply_error(req, 400, "Invalid payload");
		return;
	}
	if (rc != 0) {
		log_error("stripe webhook: event not applied: %s", ia_strerror(rc));
		payments_reply_error(req, 503, "Try again later");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "received", 1);
	http_reply_json(req, 200, o);
	cJSON_Delete(o);
}

static const struct route payments_routes[] = {
    {"POST", "/api/v1/stripe/payment/create-intent/", handle_create_intent, NULL},
    {"POST", "/api/v1/stripe/webhook/", handle_webhook, NULL},
};

int main(void)
{
	return app_run("ia-payments", payments_routes,
		       sizeof(payments_routes) / sizeof(payments_routes[0]));
}
