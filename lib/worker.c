/*
 * worker.c - runs one claimed job on its engine and records the outcome.
 */
#include "config.h"

#include "worker.h"
#include "err.h"
#include "imgops.h"
#include "jobs.h"
#include "log.h"
#include "settings.h"
#include "store.h"
#include "util.h"

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
	cJSON_ArrayForEach(item, *json) {
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
			enum img_format fmt, const struct img_param *p, size_t n, struct img_result *res,
			char *err, size_t errlen)
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

/* Dispatch on engine; fills res or err. */
static int worker_execute(const struct settings *s, const struct job_claimed *j, const char *out_path,
			  enum img_format fmt, const struct img_param *p, size_t n, struct img_result *res,
			  char *err, size_t errlen)
{
	if (strcmp(j->service, "generate") == 0 || strcmp(j->engine, "stability") == 0) {
		snprintf(err, errlen, "The %s engine is not available on this server.", j->engine);
		return IA_ERR_UNAVAILABLE;
	}
	return worker_local(s, j, out_path, fmt, p, n, res, err, errlen);
}

int worker_run_one(struct db *db, const struct settings *s, const char *worker_id,
		   int64_t lease_seconds)
{
	struct job_claimed j;
	struct img_param params[WORKER_MAX_PARAMS];
	char numbuf[WORKER_MAX_PARAMS][32];
	char key[STORE_KEY_MAX], err[256] = "";
	struct img_result res = { 0 };
	struct job_output out = { 0 };
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
	if (rc == 0)
		rc = worker_execute(s, &j, out_path, fmt, params, n, &res, err, sizeof(err));
	if (rc == 0) {
		out.image_key = key;
		out.width = res.width;
		out.height = res.height;
		out.bytes = (int64_t)res.bytes;
		out.content_type = img_format_mime(res.format);
		rc = jobs_finish(db, j.id, worker_id, &out);
		if (rc != 0)
			unlink(out_path);
		log_info("job %lld (%s) %s", (long long)j.id, j.service, rc == 0 ? "done" : "lost its lease");
	} else {
		unlink(out_path);
		log_warn("job %lld (%s) attempt %lld failed: %s", (long long)j.id, j.service,
			 (long long)j.attempts, err[0] ? err : ia_strerror(rc));
		jobs_fail(db, j.id, worker_id, err[0] ? err : "Processing failed.", !worker_is_permanent(rc),
			  NULL);
	}
	cJSON_Delete(json);
	free(out_path);
	jobs_claimed_cleanup(&j);
	return 0;
}
