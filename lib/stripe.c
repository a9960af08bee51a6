/*
 * stripe.c - the Stripe protocol. This module implements the parts of
 * API.md "Payments (Stripe)" that talk to or about Stripe:
 *
 *  - the amount of a purchase, converted exactly to cents (no floating
 *    point rounding surprises: 19.99 is 1999 cents);
 *  - the PaymentIntent request, form-encoded as Stripe expects, with the
 *    secret key only in the Authorization header (wiped after use);
 *  - the webhook: Stripe-Signature verification (HMAC-SHA256, constant-time
 *    compare, 300 s tolerance) and parsing a succeeded payment out of an
 *    event. Granting the bought credits is bookkeeping: lib/payments.c.
 */
#include "config.h"

#include "stripe.h"
#include "err.h"
#include "httpc.h"
#include "log.h"
#include "metrics.h"
#include "settings.h"
#include "users.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define STRIPE_VERSION           "2024-06-20"
#define STRIPE_AMOUNT_MAX_DIGITS 12
#define STRIPE_RECEIVED_MAX      INT64_C(1000000000000) /* cents; keeps the math in range */

static int stripe_amount_string(const char *s, int64_t *cents);
static char *stripe_form(const struct user *u, int64_t cents, int64_t credits);
static int stripe_parse_secret(const struct httpc_response *r, char **client_secret);
static int stripe_sig_item(const char *item, size_t len, int64_t *t, bool *have_t);
static bool stripe_sig_matches(const unsigned char mac[32], const char *header);
static void stripe_mac(const char *secret, const char *t, size_t tlen, const char *body,
		       size_t body_len, unsigned char mac[32]);
static int stripe_int_field(const cJSON *v, int64_t min, int64_t max, int64_t *out);
static int stripe_parse_payment(const cJSON *ev, struct stripe_payment *p, bool *relevant);

/* "[-]digits[.d[d]]" to cents, exactly. */
static int stripe_amount_string(const char *s, int64_t *cents)
{
	int64_t whole = 0, frac = 0;
	bool neg = false;
	size_t nd = 0, nf = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		if (nd >= STRIPE_AMOUNT_MAX_DIGITS)
			return IA_ERR_INVAL;
		whole = whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
			if (nf >= 2)
				return IA_ERR_INVAL;
			frac = frac * 10 + (*s - '0');
		}
		if (nf == 0)
			return IA_ERR_INVAL;
		if (nf == 1)
			frac *= 10;
	}
	if (*s != '\0' || nd == 0)
		return IA_ERR_INVAL;
	*cents = (neg ? -1 : 1) * (whole * 100 + frac);
	return 0;
}

int stripe_amount_cents(const cJSON *amount, int64_t *cents)
{
	double x, c;

	if (cJSON_IsString(amount))
		return stripe_amount_string(amount->valuestring, cents);
	if (!cJSON_IsNumber(amount))
		return IA_ERR_INVAL;
	x = amount->valuedouble;
	if (!isfinite(x) || fabs(x) > 1e10)
		return IA_ERR_INVAL;
	c = round(x * 100.0);
	if (fabs(x * 100.0 - c) > 1e-6) /* more than two decimal places */
		return IA_ERR_INVAL;
	*cents = (int64_t)c;
	return 0;
}

int64_t stripe_credits_for(int64_t cents, int64_t multiplier)
{
	if (cents <= 0 || multiplier <= 0 || cents > STRIPE_RECEIVED_MAX ||
	    multiplier > INT64_MAX / STRIPE_RECEIVED_MAX)
		return 0;
	return cents * multiplier / 100;
}

/* The form body of the PaymentIntent request (heap, caller frees). */
static char *stripe_form(const struct user *u, int64_t cents, int64_t credits)
{
	char *email = httpc_escape(u->email);
	char *k_uid = httpc_escape("metadata[user_id]");
	char *k_credits = httpc_escape("metadata[credit_amount]");
	char *k_apm = httpc_escape("automatic_payment_methods[enabled]");
	char *form;

	form = xasprintf("amount=%" PRId64 "&currency=usd&receipt_email=%s&%s=%" PRId64
			 "&%s=%" PRId64 "&%s=true",
			 cents, email, k_uid, u->id, k_credits, credits, k_apm);
	free(email);
	free(k_uid);
	free(k_credits);
	free(k_apm);
	return form;
}

static int stripe_parse_secret(const struct httpc_response *r, char **client_secret)
{
	cJSON *o = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(o, "client_secret");
	int rc = IA_ERR_UPSTREAM;

	if (cJSON_IsString(cs) && cs->valuestring[0] != '\0') {
		*client_secret = xstrdup(cs->valuestring);
		rc = 0;
	} else {
		log_warn("stripe: payment intent answer has no client_secret");
	}
	cJSON_Delete(o);
	return rc;
}

int stripe_create_intent(const struct settings *s, const struct user *u, int64_t cents,
			 char **client_secret)
{
	struct httpc_request req = {0};
	struct httpc_response resp = {0};
	char idem[33];
	char *auth = NULL, *idem_h = NULL, *url = NULL, *form = NULL;
	const char *headers[3];
	double started;
	int rc;

	if (s->stripe_secret_key == NULL || s->stripe_secret_key[0] == '\0') {
		log_error("stripe: STRIPE_SECRET_KEY is not set");
		return IA_ERR_UNAVAILABLE;
	}
	ia_random_hex(idem, 16);
	auth = xasprintf("Authorization: Bearer %s", s->stripe_secret_key);
	idem_h = xasprintf("Idempotency-Key: %s", idem);
	url = xasprintf("%s/v1/payment_intents", s->stripe_api_base);
	form = stripe_form(u, cents, stripe_credits_for(cents, s->credit_multiplier));
	headers[0] = auth;
	headers[1] = idem_h;
	headers[2] = "Stripe-Version: " STRIPE_VERSION;
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.nheaders = 3;
	req.body = form;
	req.body_len = strlen(form);
	req.content_type = "application/x-www-form-urlencoded";
	req.connect_timeout = 10;
	req.timeout = 30;
	req.max_response = 256 * 1024;
	started = metrics_clock();
	rc = httpc_perform(&req, &resp);
	metrics_call("stripe", rc == 0 ? resp.status : 0, metrics_clock() - started);
	if (rc != 0) {
		rc = IA_ERR_UPSTREAM;
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		log_warn("stripe: creating a payment intent for user %" PRId64 " answered HTTP %ld",
			 u->id, resp.status);
		rc = IA_ERR_UPSTREAM;
		goto out;
	}
	rc = stripe_parse_secret(&resp, client_secret);
out:
	httpc_response_cleanup(&resp);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	free(idem_h);
	free(url);
	free(form);
	return rc;
}

/* One "k=v" item of the header: records t; v1 items are checked later. */
static int stripe_sig_item(const char *item, size_t len, int64_t *t, bool *have_t)
{
	char num[24];

	if (len < 2 || item[0] != 't' || item[1] != '=')
		return 0;
	if (len - 2 == 0 || len - 2 >= sizeof(num) || *have_t)
		return IA_ERR_INVAL;
	memcpy(num, item + 2, len - 2);
	num[len - 2] = '\0';
	if (ia_parse_int64(num, 0, INT64_MAX / 2, t) != 0)
		return IA_ERR_INVAL;
	*have_t = true;
	return 0;
}

/* True when any well-formed v1 signature of header equals mac. */
static bool stripe_sig_matches(const unsigned char mac[32], const char *header)
{
	unsigned char sig[32];
	const char *p = header;
	bool match = false;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		size_t binlen = 0;

		while (*p == ' ' && len > 0) {
			p++;
			len--;
		}
		if (len == 3 + 64 && strncmp(p, "v1=", 3) == 0 &&
		    sodium_hex2bin(sig, sizeof(sig), p + 3, 64, NULL, &binlen, NULL) == 0 &&
		    binlen == sizeof(sig) && crypto_verify_32(sig, mac) == 0)
			match = true;
		p += len;
		if (*p == ',')
			p++;
	}
	sodium_memzero(sig, sizeof(sig));
	return match;
}

static void stripe_mac(const char *secret, const char *t, size_t tlen, const char *body,
		       size_t body_len, unsigned char mac[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, tlen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

int stripe_verify_signature(const char *secret, const char *header, const char *body,
			    size_t body_len, int64_t now, int64_t tolerance)
{
	unsigned char mac[32];
	char tstr[24];
	const char *p;
	int64_t t = 0;
	bool have_t = false, have_v1 = false;
	int rc = 0;

	if (secret == NULL || secret[0] == '\0' || header == NULL || body == NULL)
		return IA_ERR_INVAL;
	for (p = header; *p != '\0' && rc == 0;) {
		size_t len = strcspn(p, ",");

		while (*p == ' ' && len > 0) {
			p++;
			len--;
		}
		if (len >= 3 && strncmp(p, "v1=", 3) == 0)
			have_v1 = true;
		rc = stripe_sig_item(p, len, &t, &have_t);
		p += len;
		if (*p == ',')
			p++;
	}
	if (rc != 0 || !have_t || !have_v1)
		return IA_ERR_INVAL;
	snprintf(tstr, sizeof(tstr), "%" PRId64, t);
	stripe_mac(secret, tstr, strlen(tstr), body, body_len, mac);
	if (!stripe_sig_matches(mac, header))
		rc = IA_ERR_AUTH;
	else if (t < now - tolerance || t > now + tolerance)
		rc = IA_ERR_EXPIRED;
	sodium_memzero(mac, sizeof(mac));
	return rc;
}

/* An integer given as a JSON number or a decimal string, in [min, max]. */
static int stripe_int_field(const cJSON *v, int64_t min, int64_t max, int64_t *out)
{
	double d;

	if (cJSON_IsString(v))
		return ia_parse_int64(v->valuestring, min, max, out);
	if (!cJSON_IsNumber(v))
		return IA_ERR_INVAL;
	d = v->valuedouble;
	/* (double)INT64_MAX rounds up to 2^63, which does not fit: refuse it first. */
	if (!isfinite(d) || d != floor(d) || d >= 9223372036854775808.0 || d < (double)min ||
	    d > (double)max)
		return IA_ERR_INVAL;
	*out = (int64_t)d;
	return 0;
}

/*
 * Pick the payment out of an event. *relevant is false for other event
 * types and other currencies (answered 200 and otherwise ignored).
 */
static int stripe_parse_payment(const cJSON *ev, struct stripe_payment *p, bool *relevant)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(data, "object");
	const cJSON *pi_id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(obj, "currency");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	if (!cJSON_IsString(id) || id->valuestring[0] == '\0' || !cJSON_IsString(type))
		return IA_ERR_INVAL;
	*relevant = false;
	if (strcmp(type->valuestring, "payment_intent.succeeded") != 0)
		return 0;
	if (!cJSON_IsString(pi_id) || pi_id->valuestring[0] == '\0' ||
	    stripe_int_field(cJSON_GetObjectItemCaseSensitive(obj, "amount_received"), 0,
			     STRIPE_RECEIVED_MAX, &p->amount_received) != 0 ||
	    stripe_int_field(cJSON_GetObjectItemCaseSensitive(meta, "user_id"), 1, INT64_MAX,
			     &p->user_id) != 0)
		return IA_ERR_INVAL;
	if (cJSON_IsString(cur) && strcmp(cur->valuestring, "usd") != 0) {
		log_warn("stripe: event %.64s pays in %.8s, not usd: ignored", id->valuestring,
			 cur->valuestring);
		return 0;
	}
	p->event_id = id->valuestring;
	p->intent_id = pi_id->valuestring;
	*relevant = true;
	return 0;
}

int stripe_parse_event(const char *body, size_t body_len, struct stripe_payment *out,
		       bool *relevant)
{
	struct stripe_payment p = {0};
	cJSON *ev = cJSON_ParseWithLength(body, body_len);
	bool rel = false;
	int rc;

	if (!cJSON_IsObject(ev)) {
		rc = IA_ERR_INVAL;
		goto out;
	}
	rc = stripe_parse_payment(ev, &p, &rel);
	if (rc != 0)
		goto out;
	if (rel) {
		/* p's strings point into ev: copy them out before it goes. */
		p.event_id = xstrdup(p.event_id);
		p.intent_id = xstrdup(p.intent_id);
	} else {
		memset(&p, 0, sizeof(p));
	}
	*out = p;
	*relevant = rel;
out:
	cJSON_Delete(ev);
	return rc;
}

void stripe_payment_cleanup(struct stripe_payment *p)
{
	if (p == NULL)
		return;
	free(p->event_id);
	free(p->intent_id);
	memset(p, 0, sizeof(*p));
}
