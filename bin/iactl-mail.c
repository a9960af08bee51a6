/*
 * iactl-mail.c - `iactl mail ...`: the outbox as an operator sees it (list
 * messages with their state, attempts and last error; put a failed one
 * back in the queue). Bodies are never shown: a reset or verification
 * link is a secret. ia-batch does the delivering (lib/outbox.c).
 */
#include "config.h"

#include "iactl.h"
#include "err.h"
#include "outbox.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *const iactl_mail_states[] = {"pending", "sending", "sent", "failed", "dropped"};

static int iactl_mail_row_json(void *ud, const struct outbox_info *m);
static int iactl_mail_row_text(void *ud, const struct outbox_info *m);

static int iactl_mail_row_json(void *ud, const struct outbox_info *m)
{
	cJSON *o = cJSON_CreateObject();
	char created[21], next[21];

	ia_iso8601(m->created, created);
	ia_iso8601(m->next_attempt, next);
	cJSON_AddItemToObject(o, "id", iactl_json_int(m->id));
	cJSON_AddStringToObject(o, "kind", m->kind);
	cJSON_AddStringToObject(o, "to", m->rcpt);
	cJSON_AddStringToObject(o, "subject", m->subject);
	cJSON_AddStringToObject(o, "state", m->state);
	cJSON_AddItemToObject(o, "attempts", iactl_json_int(m->attempts));
	cJSON_AddStringToObject(o, "next_attempt", next);
	if (m->last_error != NULL)
		cJSON_AddStringToObject(o, "last_error", m->last_error);
	else
		cJSON_AddNullToObject(o, "last_error");
	cJSON_AddStringToObject(o, "created", created);
	cJSON_AddItemToArray((cJSON *)ud, o);
	return 0;
}

static int iactl_mail_row_text(void *ud, const struct outbox_info *m)
{
	char created[21];

	(void)ud;
	ia_iso8601(m->created, created);
	printf("%-8lld %-13s %-8s %4lld  %s  %-32.32s  %s\n", (long long)m->id, m->kind, m->state,
	       (long long)m->attempts, created, m->rcpt, m->last_error ? m->last_error : "");
	return 0;
}

int iactl_mail_list(struct db *db, const struct iactl_args *a)
{
	cJSON *arr;
	size_t i, n = sizeof(iactl_mail_states) / sizeof(*iactl_mail_states);
	int rc;

	for (i = 0; a->status != NULL && i < n; i++)
		if (strcmp(a->status, iactl_mail_states[i]) == 0)
			break;
	if (a->status != NULL && i == n) {
		fputs("iactl: --status must be pending, sending, sent, failed or dropped\n",
		      stderr);
		return IACTL_USAGE;
	}
	if (a->json) {
		arr = cJSON_CreateArray();
		rc = outbox_each(db, a->status, iactl_mail_row_json, arr);
		if (rc != 0) {
			cJSON_Delete(arr);
			return iactl_fail("listing mail failed", rc);
		}
		return iactl_json_print(arr);
	}
	printf("%-8s %-13s %-8s %4s  %-20s  %-32s  %s\n", "ID", "KIND", "STATE", "TRY", "CREATED",
	       "TO", "LAST ERROR");
	rc = outbox_each(db, a->status, iactl_mail_row_text, NULL);
	return rc == 0 ? IACTL_OK : iactl_fail("listing mail failed", rc);
}

int iactl_mail_retry(struct db *db, const struct iactl_args *a)
{
	int64_t id;
	int rc;

	if (ia_parse_int64(a->pos[0], 1, INT64_MAX, &id) != 0) {
		fputs("iactl: ID must be a positive whole number\n", stderr);
		return IACTL_USAGE;
	}
	rc = outbox_retry(db, id, ia_now());
	if (rc == IA_ERR_NOTFOUND) {
		fprintf(stderr, "iactl: no failed message %lld\n", (long long)id);
		return IACTL_FAIL;
	}
	if (rc != 0)
		return iactl_fail("retry failed", rc);
	printf("message %lld is queued again (retried for another 24 hours)\n", (long long)id);
	return IACTL_OK;
}
