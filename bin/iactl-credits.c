/*
 * iactl-credits.c - `iactl credits ...`: grant and revoke (each one
 * credits_apply, so one ledger row per change and never a negative
 * balance) and the ledger history.
 */
#include "config.h"

#include "iactl.h"
#include "credits.h"
#include "err.h"
#include "users.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#define IACTL_CREDITS_MAX INT64_C(1000000000)
#define IACTL_PAGE        100

static int iactl_amount(const char *s, int64_t *n);
static int iactl_credits_change(struct db *db, const struct iactl_args *a, bool grant);
static cJSON *iactl_entry_json(const struct credits_entry *e);
static void iactl_entry_text(const struct credits_entry *e);

static int iactl_amount(const char *s, int64_t *n)
{
	if (ia_parse_int64(s, 1, IACTL_CREDITS_MAX, n) != 0) {
		fprintf(stderr, "iactl: N must be a whole number from 1 to %lld\n",
			(long long)IACTL_CREDITS_MAX);
		return IACTL_USAGE;
	}
	return IACTL_OK;
}

static int iactl_credits_change(struct db *db, const struct iactl_args *a, bool grant)
{
	struct user u;
	int64_t n = 0, balance = 0;
	int rc;

	rc = iactl_amount(a->pos[1], &n);
	if (rc == IACTL_OK)
		rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	rc = credits_apply(db, u.id, grant ? n : -n,
			   grant ? CREDITS_ADMIN_GRANT : CREDITS_ADMIN_REVOKE, 0, NULL, &balance);
	if (rc == IA_ERR_FUNDS) {
		fprintf(stderr, "iactl: %s has only %lld credits; nothing revoked\n", u.email,
			(long long)u.credits);
		return IACTL_FAIL;
	}
	if (rc != 0)
		return iactl_fail(grant ? "grant failed" : "revoke failed", rc);
	printf("%s: %s%lld credits, balance %lld\n", u.email, grant ? "+" : "-", (long long)n,
	       (long long)balance);
	return IACTL_OK;
}

int iactl_credits_grant(struct db *db, const struct iactl_args *a)
{
	return iactl_credits_change(db, a, true);
}

int iactl_credits_revoke(struct db *db, const struct iactl_args *a)
{
	return iactl_credits_change(db, a, false);
}

/* The API's history entry shape. */
static cJSON *iactl_entry_json(const struct credits_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	char created[21];

	ia_iso8601(e->created, created);
	cJSON_AddItemToObject(o, "id", iactl_json_int(e->id));
	cJSON_AddItemToObject(o, "delta", iactl_json_int(e->delta));
	cJSON_AddItemToObject(o, "balance_after", iactl_json_int(e->balance_after));
	cJSON_AddStringToObject(o, "reason", e->reason);
	if (e->image_id > 0)
		cJSON_AddItemToObject(o, "image_id", iactl_json_int(e->image_id));
	else
		cJSON_AddNullToObject(o, "image_id");
	cJSON_AddStringToObject(o, "created", created);
	return o;
}

static void iactl_entry_text(const struct credits_entry *e)
{
	char created[21];

	ia_iso8601(e->created, created);
	printf("%-8lld %s %+8lld %8lld  %-13s", (long long)e->id, created, (long long)e->delta,
	       (long long)e->balance_after, e->reason);
	if (e->image_id > 0)
		printf(" %lld", (long long)e->image_id);
	putchar('\n');
}

int iactl_credits_history(struct db *db, const struct iactl_args *a)
{
	struct credits_entry page[IACTL_PAGE];
	cJSON *arr = NULL;
	struct user u;
	int64_t offset = 0;
	size_t n, i;
	int rc;

	rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	if (a->json)
		arr = cJSON_CreateArray();
	else
		printf("%-8s %-20s %8s %8s  %-13s %s\n", "ID", "CREATED", "DELTA", "BALANCE",
		       "REASON", "IMAGE");
	do {
		rc = credits_history(db, u.id, offset, IACTL_PAGE, page, &n);
		if (rc != 0) {
			cJSON_Delete(arr);
			return iactl_fail("reading the ledger failed", rc);
		}
		for (i = 0; i < n; i++) {
			if (arr != NULL)
				cJSON_AddItemToArray(arr, iactl_entry_json(&page[i]));
			else
				iactl_entry_text(&page[i]);
		}
		offset += (int64_t)n;
	} while (n == IACTL_PAGE);
	return arr != NULL ? iactl_json_print(arr) : IACTL_OK;
}
