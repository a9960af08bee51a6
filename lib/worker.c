/*
 * worker.c - runs one claimed job on its engine (local libgd code, Stability
 * AI, or the local placeholder generator) and records the outcome.
 */
#include "config.h"

#include "worker.h"
#include "err.h"
#include "imggen.h"
#include "imgops.h"
#include "jobs.h"
#include "log.h"
#include "settings.h"
#include "stability.h"
#include "store.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define WORKER_MAX_PARAMS 32

/* The job's params JSON as key/value strings borrowed from *json. */
static size_t worker_params(const char *text, cJSON **json, struct img_param *p, char numbuf[][32])
{
	cJSON *item;
	size_t n = 0;

	*json = cJSON_Parse(text ? text : "{}");
	cJSON_ArrayForEach(item, *json)
	{
		if (n >= WORKER_MAX_PARAMS || item->string == NULL)
			break;
		p[n].key = item->string;
		if (cJSON_IsString(item)) {
			p[n].value = item->valuestring;
		} else if (cJSON_IsNumber(item)) {
			snprintf(numbuf[n], 32, "%.0f", item->valuedouble);
			p[n].value = numbuf[n];
		} else {
			continue;
		}
		n++;
	}
	return n;
}

/* Errors that another attempt cannot fix. */
static int worker_is_permanent(int rc)
{
	return rc == IA_ERR_INVAL || rc == IA_ERR_UNSUPPORTED || rc == IA_ERR_TOOBIG ||
	       rc == IA_ERR_NOTFOUND || rc == IA_ERR_UNAVAILABLE;
}

/* Run a local-engine upload service into out_path. */
static int worker_local(const struct settings *s, const struct job_claimed *j, const char *out_path,
			enum img_format fmt, const struct img_param *p, size_t n,
			struct img_result *res, char *err, size_t errlen)
{
	char *src;
	int rc;

	if (j->source_key == NULL) {
		snprintf(err, errlen, "The job has no source image.");
		return IA_ERR_INVAL;
	}
	src = store_path(s, j->source_key);
	rc = img_run_service(j->service, src, out_path, fmt, p, n, res, err, errlen);
	free(src);
	return rc;
}

/* What one run needs; built by worker_run_one. */
struct worker_task {
	const struct settings *s;
	const struct job_claimed *j;
	const char *out_path;
	enum img_format fmt;
	const struct img_param *p;
	size_t n;
	int64_t lease_seconds;
	char *ai_response; /* heap JSON text for the job row, or NULL */
	bool final;        /* a failure must not be retried (already retried inside) */
};

static const char *worker_param(const struct worker_task *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->p[i].key, key) == 0)
			return t->p[i].value;
	return NULL;
}

/*
 * The Stability AI engine. Its client retries transient failures itself
 * (stability.h), so any failure here is final: the job fails and is
 * refunded at once rather than going through the queue's attempts again.
 * The whole call stays inside the lease, with a margin.
 */
static int worker_stability(struct worker_task *t, struct img_result *res, char *err, size_t errlen)
{
	struct stability_call c = {0};
	struct stability_outcome o;
	char *src = NULL;
	int rc;

	c.service = t->j->service;
	c.prompt = t->j->prompt;
	c.negative_prompt = worker_param(t, "negative_prompt");
	c.aspect_ratio = t->j->aspect_ratio;
	c.seed = worker_param(t, "seed");
	c.format = t->fmt;
	c.budget = t->lease_seconds > 60 ? (long)(t->lease_seconds - 30)
					 : (long)(t->lease_seconds / 2 + 1);
	if (t->j->source_key != NULL) {
		src = store_path(t->s, t->j->source_key);
		c.source_path = src;
	}
	rc = stability_run(t->s, &c, t->out_path, &o, err, errlen);
	if (rc == 0)
		*res = o.img;
	t->ai_response = o.ai_response;
	o.ai_response = NULL;
	t->final = true;
	stability_outcome_cleanup(&o);
	free(src);
	return rc;
}

/* The development placeholder of generate (LOCAL_GENERATOR=1). */
static int worker_placeholder(struct worker_task *t, struct img_result *res, char *err,
			      size_t errlen)
{
	int rc =
	    imggen_generate(t->j->prompt ? t->j->prompt : "", t->j->aspect_ratio,
			    worker_param(t, "seed"), t->fmt, t->out_path, res, &t->ai_response);

	if (rc != 0)
		snprintf(err, errlen, "The local placeholder generator failed (%s).",
			 ia_strerror(rc));
	return rc;
}

/*
 * Dispatch on engine; fills res or err. generate goes to Stability AI when
 * its engine is stability and a key is configured, else to the local
 * placeholder when LOCAL_GENERATOR=1, else fails; the upload services go
 * to Stability AI when their engine is stability (failing without a key).
 */
static int worker_execute(struct worker_task *t, struct img_result *res, char *err, size_t errlen)
{
	const struct settings *s = t->s;
	bool have_key = s->stability_ai_key != NULL && s->stability_ai_key[0] != '\0';
	bool remote = strcmp(t->j->engine, "stability") == 0;

	if (strcmp(t->j->service, "generate") == 0) {
		if (remote && have_key)
			return worker_stability(t, res, err, errlen);
		if (s->local_generator)
			return worker_placeholder(t, res, err, errlen);
		snprintf(err, errlen,
			 "Image generation is not available: no Stability AI key is configured.");
		return IA_ERR_UNAVAILABLE;
	}
	if (remote)
		return worker_stability(t, res, err, errlen);
	return worker_local(s, t->j, t->out_path, t->fmt, t->p, t->n, res, err, errlen);
}

int worker_run_one(struct db *db, const struct settings *s, const char *worker_id,
		   int64_t lease_seconds)
{
	struct job_claimed j;
	struct img_param params[WORKER_MAX_PARAMS];
	char numbuf[WORKER_MAX_PARAMS][32];
	char key[STORE_KEY_MAX], err[256] = "";
	struct img_result res = {0};
	struct job_output out = {0};
	struct worker_task t = {0};
	enum img_format fmt = IMG_FMT_PNG;
	cJSON *json = NULL;
	char *out_path = NULL;
	size_t n;
	int rc;

	rc = jobs_claim(db, worker_id, lease_seconds, &j);
	if (rc != 0)
		return rc;
	n = worker_params(j.params, &json, params, numbuf);
	if (img_params_format(params, n, &fmt) != 0)
		fmt = IMG_FMT_PNG;
	store_new_key("images", img_format_ext(fmt), key);
	out_path = store_path(s, key);
	rc = store_prepare(s, key);
	t.s = s;
	t.j = &j;
	t.out_path = out_path;
	t.fmt = fmt;
	t.p = params;
	t.n = n;
	t.lease_seconds = lease_seconds;
	if (rc == 0)
		rc = worker_execute(&t, &res, err, sizeof(err));
	if (rc == 0) {
		out.image_key = key;
		out.ai_response = t.ai_response;
		out.width = res.width;
		out.height = res.height;
		out.bytes = (int64_t)res.bytes;
		out.content_type = img_format_mime(res.format);
		rc = jobs_finish(db, j.id, worker_id, &out);
		if (rc != 0)
			unlink(out_path);
		log_info("job %lld (%s) %s", (long long)j.id, j.service,
			 rc == 0 ? "done" : "lost its lease");
	} else {
		unlink(out_path);
		log_warn("job %lld (%s) attempt %lld failed: %s", (long long)j.id, j.service,
			 (long long)j.attempts, err[0] ? err : ia_strerror(rc));
		jobs_fail(db, j.id, worker_id, err[0] ? err : "Processing failed.",
			  !t.final && !worker_is_permanent(rc), t.ai_response);
	}
	free(t.ai_response);
	cJSON_Delete(json);
	free(out_path);
	jobs_claimed_cleanup(&j);
	return 0;
}
