/*
 * iactl-services.c - `iactl service ...` (list the catalogue, change a
 * service's cost, turn it on or off, choose its engine) and `iactl job ...`
 * (list the queue, retry a failed job). Every change is one statement in
 * lib/services or lib/jobs; the API sees it on its next request.
 */
#include "config.h"

#include "iactl.h"
#include "err.h"
#include "jobs.h"
#include "services.h"
#include "svcparams.h"
#include "text.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const iactl_job_statuses[] = {"pending", "processing", "done", "failed"};

static int iactl_service_error(const char *slug, int rc);
static int iactl_service_row_json(void *ud, const struct service *s);
static int iactl_service_row_text(void *ud, const struct service *s);
static int iactl_service_enabled(struct db *db, const struct iactl_args *a, bool on);
static int iactl_job_row_json(void *ud, const struct job_row *r);
static int iactl_job_row_text(void *ud, const struct job_row *r);

/* Explain a services_* error in terms of the command line. */
static int iactl_service_error(const char *slug, int rc)
{
	if (rc == IA_ERR_NOTFOUND)
		fprintf(stderr, "iactl: no service with slug %s (see `iactl service list`)\n",
			slug);
	else
		return iactl_fail("service update failed", rc);
	return IACTL_FAIL;
}

/* The API's service shape (with the parameter table) plus the engine. */
static int iactl_service_row_json(void *ud, const struct service *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "code", iactl_json_int(s->code));
	cJSON_AddStringToObject(o, "slug", s->slug);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "description", s->description);
	cJSON_AddItemToObject(o, "tokens", iactl_json_int(s->tokens));
	cJSON_AddBoolToObject(o, "free", s->tokens == 0);
	cJSON_AddBoolToObject(o, "enabled", s->enabled);
	svcparams_add_json(svcparams_find(s->slug), o);
	cJSON_AddStringToObject(o, "engine", s->engine);
	cJSON_AddItemToArray((cJSON *)ud, o);
	return 0;
}

static int iactl_service_row_text(void *ud, const struct service *s)
{
	(void)ud;
	printf("%-4lld %-18s %-18s %6lld  %-8s %s\n", (long long)s->code, s->slug, s->name,
	       (long long)s->tokens, s->enabled ? "on" : "off", s->engine);
	return 0;
}

int iactl_service_list(struct db *db, const struct iactl_args *a)
{
	cJSON *arr;
	int rc;

	if (a->json) {
		arr = cJSON_CreateArray();
		rc = services_each(db, iactl_service_row_json, arr);
		if (rc != 0) {
			cJSON_Delete(arr);
			return iactl_fail("listing services failed", rc);
		}
		return iactl_json_print(arr);
	}
	printf("%-4s %-18s %-18s %6s  %-8s %s\n", "CODE", "SLUG", "NAME", "TOKENS", "ENABLED",
	       "ENGINE");
	rc = services_each(db, iactl_service_row_text, NULL);
	return rc == 0 ? IACTL_OK : iactl_fail("listing services failed", rc);
}

int iactl_service_set_cost(struct db *db, const struct iactl_args *a)
{
	int64_t n;
	int rc;

	if (ia_parse_int64(a->pos[1], 0, SERVICES_COST_MAX, &n) != 0) {
		fprintf(stderr, "iactl: N must be a whole number from 0 to %lld\n",
			(long long)SERVICES_COST_MAX);
		return IACTL_USAGE;
	}
	rc = services_set_cost(db, a->pos[0], n);
	if (rc != 0)
		return iactl_service_error(a->pos[0], rc);
	printf("service %s now costs %lld credits\n", a->pos[0], (long long)n);
	return IACTL_OK;
}

static int iactl_service_enabled(struct db *db, const struct iactl_args *a, bool on)
{
	int rc = services_set_enabled(db, a->pos[0], on);

	if (rc != 0)
		return iactl_service_error(a->pos[0], rc);
	printf("service %s is %s\n", a->pos[0], on ? "enabled" : "disabled");
	return IACTL_OK;
}

int iactl_service_enable(struct db *db, const struct iactl_args *a)
{
	return iactl_service_enabled(db, a, true);
}

int iactl_service_disable(struct db *db, const struct iactl_args *a)
{
	return iactl_service_enabled(db, a, false);
}

int iactl_service_set_engine(struct db *db, const struct iactl_args *a)
{
	const char *engine = a->pos[1];
	int rc;

	if (strcmp(engine, "local") != 0 && strcmp(engine, "stability") != 0 &&
	    strcmp(engine, "auto") != 0) {
		fputs("iactl: ENGINE must be local, stability or auto\n", stderr);
		return IACTL_USAGE;
	}
	rc = services_set_engine(db, a->pos[0], engine);
	if (rc == IA_ERR_INVAL) {
		fprintf(stderr, "iactl: service %s has no %s engine\n", a->pos[0], engine);
		return IACTL_FAIL;
	}
	if (rc != 0)
		return iactl_service_error(a->pos[0], rc);
	printf("service %s now runs on the %s engine\n", a->pos[0], engine);
	return IACTL_OK;
}

static int iactl_job_row_json(void *ud, const struct job_row *r)
{
	cJSON *o = cJSON_CreateObject();
	char created[21], updated[21];

	ia_iso8601(r->created, created);
	ia_iso8601(r->updated, updated);
	cJSON_AddItemToObject(o, "id", iactl_json_int(r->id));
	cJSON_AddItemToObject(o, "user", iactl_json_int(r->user_id));
	cJSON_AddStringToObject(o, "service", r->service);
	cJSON_AddStringToObject(o, "status", r->status);
	cJSON_AddItemToObject(o, "cost", iactl_json_int(r->cost));
	if (r->error != NULL)
		cJSON_AddStringToObject(o, "error", r->error);
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddStringToObject(o, "created", created);
	cJSON_AddStringToObject(o, "updated", updated);
	cJSON_AddItemToArray((cJSON *)ud, o);
	return 0;
}

static int iactl_job_row_text(void *ud, const struct job_row *r)
{
	char created[21];
	char *error = text_escape(r->error); /* may quote an outside service */

	(void)ud;
	ia_iso8601(r->created, created);
	printf("%-8lld %-8lld %-18s %-10s %5lld  %s  %s\n", (long long)r->id, (long long)r->user_id,
	       r->service, r->status, (long long)r->cost, created, error);
	free(error);
	return 0;
}

int iactl_job_list(struct db *db, const struct iactl_args *a)
{
	cJSON *arr;
	size_t i;
	int rc;

	for (i = 0;
	     a->status != NULL && i < sizeof(iactl_job_statuses) / sizeof(*iactl_job_statuses); i++)
		if (strcmp(a->status, iactl_job_statuses[i]) == 0)
			break;
	if (a->status != NULL && i == sizeof(iactl_job_statuses) / sizeof(*iactl_job_statuses)) {
		fputs("iactl: --status must be pending, processing, done or failed\n", stderr);
		return IACTL_USAGE;
	}
	if (a->json) {
		arr = cJSON_CreateArray();
		rc = jobs_each(db, a->status, 0, iactl_job_row_json, arr);
		if (rc != 0) {
			cJSON_Delete(arr);
			return iactl_fail("listing jobs failed", rc);
		}
		return iactl_json_print(arr);
	}
	printf("%-8s %-8s %-18s %-10s %5s  %-20s  %s\n", "ID", "USER", "SERVICE", "STATUS", "COST",
	       "CREATED", "ERROR");
	rc = jobs_each(db, a->status, 0, iactl_job_row_text, NULL);
	return rc == 0 ? IACTL_OK : iactl_fail("listing jobs failed", rc);
}

int iactl_job_retry(struct db *db, const struct iactl_args *a)
{
	int64_t id;
	int rc;

	if (ia_parse_int64(a->pos[0], 1, INT64_MAX, &id) != 0) {
		fputs("iactl: ID must be a positive whole number\n", stderr);
		return IACTL_USAGE;
	}
	rc = jobs_retry(db, id);
	if (rc == IA_ERR_NOTFOUND) {
		fprintf(stderr, "iactl: no job %lld\n", (long long)id);
		return IACTL_FAIL;
	}
	if (rc == IA_ERR_INVAL) {
		fprintf(stderr, "iactl: job %lld has not failed; only failed jobs are retried\n",
			(long long)id);
		return IACTL_FAIL;
	}
	if (rc != 0)
		return iactl_fail("retry failed", rc);
	printf("job %lld is pending again (free of charge: its cost was refunded)\n",
	       (long long)id);
	return IACTL_OK;
}
