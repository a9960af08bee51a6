/*
 * fuzz_stripe.c - libFuzzer target for the webhook side of lib/stripe.c.
 *
 * Byte 0 picks the mode (mod 4):
 *   0: "<Stripe-Signature header>\n<body>" through stripe_verify_signature;
 *   1: the same, but the harness appends a correct "v1=" for the header's
 *      t (when it has one), so the code after the MAC runs too: the
 *      answer must then be 0 or IA_ERR_EXPIRED, never IA_ERR_AUTH;
 *   2: a JSON "amount" through stripe_amount_cents;
 *   3: a webhook event through payments_apply_event against a migrated
 *      database (in $TMPDIR) with three users; after every event each
 *      user's balance must equal the sum of their ledger rows and no
 *      payment intent may be credited twice.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "payments.h"
#include "fuzz.h"
#include "stripe.h"
#include "users.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#define FUZZ_NOW 1700000000

static const char fuzz_secret[] = "whsec_fuzz";

static void fuzz_signature(const char *text, bool sign)
{
	const char *nl = strchr(text, '\n');
	size_t hlen = nl ? (size_t)(nl - text) : strlen(text);
	const char *body = nl ? nl + 1 : "";
	char *header = malloc(hlen + 80);
	const char *t;
	bool signed_it = false;
	int rc;

	if (header == NULL)
		abort();
	memcpy(header, text, hlen);
	header[hlen] = '\0';
	t = strstr(header, "t=");
	if (sign && t != NULL && (t == header || t[-1] == ',')) {
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256_state st;
		size_t tlen = strcspn(t + 2, ",");
		char hex[65];

		crypto_auth_hmacsha256_init(&st, (const unsigned char *)fuzz_secret,
					    strlen(fuzz_secret));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)t + 2, tlen);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
		crypto_auth_hmacsha256_final(&st, mac);
		sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
		snprintf(header + hlen, 80, ",v1=%s", hex);
		signed_it = true;
	}
	rc = stripe_verify_signature(fuzz_secret, header, body, strlen(body), FUZZ_NOW,
				     STRIPE_TOLERANCE);
	if (rc != 0 && rc != IA_ERR_INVAL && rc != IA_ERR_AUTH && rc != IA_ERR_EXPIRED)
		abort();
	/* A correct v1 for a canonical t (digits only) must be accepted or expired. */
	if (signed_it && rc == IA_ERR_AUTH && strspn(t + 2, "0123456789") == strcspn(t + 2, ",") &&
	    t[2] != '0' && strcspn(t + 2, ",") < 19)
		abort();
	free(header);
}

static void fuzz_amount(const char *text)
{
	cJSON *v = cJSON_Parse(text);
	int64_t cents = -1;

	if (stripe_amount_cents(v, &cents) == 0 && cJSON_IsNumber(v) &&
	    (cents > 1000000000000LL || cents < -1000000000000LL))
		abort(); /* numbers are bounded to 1e10 dollars */
	cJSON_Delete(v);
}

static struct db *fuzz_db(void)
{
	static struct db *db;
	char *path;
	int i;

	if (db != NULL)
		return db;
	path = xasprintf("%s/stripe.sqlite3", fuzz_tmpdir());
	if (db_open(path, &db) != 0 || db_migrate(db, IA_SQL_DIR) != 0 ||
	    db_exec(db, "PRAGMA synchronous=OFF") != 0)
		abort();
	for (i = 1; i <= 3; i++) {
		struct user_new nu = {0};
		char email[32];

		snprintf(email, sizeof(email), "u%d@example.com", i);
		nu.email = email;
		nu.signup_credits = 100;
		if (users_create(db, &nu, NULL) != 0)
			abort();
	}
	free(path);
	return db;
}

static long long fuzz_db_count(struct db *db, const char *sql)
{
	struct db_stmt *st;
	long long n;

	if (db_prepare(db, sql, &st) != 0 || db_step(st) != DB_ROW)
		abort();
	n = db_column_int64(st, 0);
	db_reset(st);
	return n;
}

static void fuzz_event(const uint8_t *data, size_t size)
{
	struct db *db = fuzz_db();
	enum payments_outcome oc;
	int64_t credits = -1;
	int rc;

	rc = payments_apply_event(db, 50, (const char *)data, size, &oc, &credits);
	if (rc != 0 && rc != IA_ERR_INVAL)
		abort();
	if (rc == 0 && (credits < 0 || (oc != PAYMENTS_CREDITED && credits != 0)))
		abort();
	if (fuzz_db_count(db, "SELECT count(*) FROM users u WHERE credits <> "
			      "(SELECT coalesce(sum(delta), 0) FROM credit_ledger "
			      "WHERE user_id = u.id)") != 0)
		abort(); /* a balance that its ledger does not explain */
	if (fuzz_db_count(db, "SELECT count(*) FROM (SELECT ref FROM credit_ledger "
			      "WHERE reason = 'purchase' GROUP BY ref HAVING count(*) > 1)") != 0)
		abort(); /* one payment intent credited twice */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0 || size > STRIPE_WEBHOOK_LIMIT)
		return 0;
	if (data[0] % 4 == 3) {
		fuzz_event(data + 1, size - 1);
		return 0;
	}
	text = fuzz_cstr(data + 1, size - 1);
	if (data[0] % 4 == 2)
		fuzz_amount(text);
	else
		fuzz_signature(text, data[0] % 4 == 1);
	free(text);
	return 0;
}
