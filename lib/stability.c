/*
 * stability.c - the Stability AI v2beta client (see stability.h): builds
 * the multipart request of a job, performs it through httpc with bounded
 * retries and a time budget, judges the answer (status, finish-reason
 * header, magic bytes of the body) and records it as ai_response JSON.
 */
#include "config.h"

#include "stability.h"
#include "err.h"
#include "log.h"
#include "settings.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#define STABILITY_PREFIX        "/v2beta/stable-image/"
#define STABILITY_AVATAR_PROMPT "a friendly stylised avatar portrait, clean illustration"
#define STABILITY_MAX_ERRORS    10
#define STABILITY_MAX_ERROR_LEN 500

static void stability_add_text(struct stability_req *r, const char *name, const char *value);
static int stability_add_image(struct stability_req *r, const char *path);
static int stability_endpoint(const struct settings *s, const struct stability_call *c,
			      struct stability_req *r);
static double stability_clock(void);
static int stability_exchange(const struct settings *s, const struct stability_call *c,
			      const struct stability_req *q, struct httpc_response *resp,
			      struct stability_outcome *out);
static int stability_save(const struct httpc_response *r, enum img_format want,
			  const char *out_path, struct img_result *res);
static int stability_judge(const struct stability_call *c, const struct httpc_response *r,
			   const char *out_path, struct img_result *res, char *err, size_t errlen);
static char *stability_redact(const char *text, const char *key);

/* ---- building ------------------------------------------------------------ */

static void stability_add_text(struct stability_req *r, const char *name, const char *value)
{
	struct httpc_part *p;

	if (value == NULL || *value == '\0' || r->nparts >= STABILITY_MAX_PARTS)
		return;
	p = &r->parts[r->nparts++];
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->value = value;
}

/* The source image as the multipart "image" file part, typed by its magic bytes. */
static int stability_add_image(struct stability_req *r, const char *path)
{
	struct img_info info;
	struct httpc_part *p;

	if (path == NULL || imgio_probe_file(path, &info) != 0)
		return IA_ERR_INVAL;
	snprintf(r->filename, sizeof(r->filename), "image.%s", imgio_format_ext(info.format));
	p = &r->parts[r->nparts++];
	memset(p, 0, sizeof(*p));
	p->name = "image";
	p->file_path = path;
	p->filename = r->filename;
	p->content_type = imgio_format_mime(info.format);
	return 0;
}

/* Choose the endpoint path (and model) of c and add the parts it takes. */
static int stability_endpoint(const struct settings *s, const struct stability_call *c,
			      struct stability_req *r)
{
	const char *svc = c->service ? c->service : "";
	const char *model = s->stability_generate_model;
	bool has_prompt = c->prompt != NULL && c->prompt[0] != '\0';
	int rc = 0;

	if (strcmp(svc, "generate") == 0) {
		if (strcmp(model, "core") != 0 && strcmp(model, "sd3") != 0 &&
		    strcmp(model, "ultra") != 0)
			return IA_ERR_INVAL;
		snprintf(r->model, sizeof(r->model), "%s", model);
		snprintf(r->path, sizeof(r->path), STABILITY_PREFIX "generate/%s", model);
		if (!has_prompt)
			return IA_ERR_INVAL;
		stability_add_text(r, "prompt", c->prompt);
		stability_add_text(r, "negative_prompt", c->negative_prompt);
		stability_add_text(r, "aspect_ratio", c->aspect_ratio ? c->aspect_ratio : "16:9");
		stability_add_text(r, "seed", c->seed);
	} else if (strcmp(svc, "remove-background") == 0) {
		if (c->format == IMG_FMT_JPEG)
			return IA_ERR_INVAL; /* the endpoint answers png or webp */
		snprintf(r->path, sizeof(r->path), STABILITY_PREFIX "edit/remove-background");
		rc = stability_add_image(r, c->source_path);
	} else if (strcmp(svc, "enhancement") == 0 && has_prompt) {
		snprintf(r->path, sizeof(r->path), STABILITY_PREFIX "upscale/conservative");
		rc = stability_add_image(r, c->source_path);
		stability_add_text(r, "prompt", c->prompt);
		stability_add_text(r, "negative_prompt", c->negative_prompt);
		stability_add_text(r, "seed", c->seed);
	} else if (strcmp(svc, "enhancement") == 0) {
		snprintf(r->path, sizeof(r->path), STABILITY_PREFIX "upscale/fast");
		rc = stability_add_image(r, c->source_path);
	} else if (strcmp(svc, "avatar") == 0) {
		snprintf(r->path, sizeof(r->path), STABILITY_PREFIX "control/style");
		rc = stability_add_image(r, c->source_path);
		stability_add_text(r, "prompt", has_prompt ? c->prompt : STABILITY_AVATAR_PROMPT);
		stability_add_text(r, "negative_prompt", c->negative_prompt);
		stability_add_text(r, "seed", c->seed);
	} else {
		return IA_ERR_UNSUPPORTED;
	}
	if (rc == 0)
		stability_add_text(r, "output_format", imgio_format_name(c->format));
	return rc;
}

int stability_req_build(const struct settings *s, const struct stability_call *c,
			struct stability_req *out)
{
	struct stability_req r;
	const char *base = s->stability_api_base;
	size_t blen = strlen(base);
	int rc;

	memset(&r, 0, sizeof(r));
	if (c->format != IMG_FMT_PNG && c->format != IMG_FMT_JPEG && c->format != IMG_FMT_WEBP)
		return IA_ERR_INVAL;
	rc = stability_endpoint(s, c, &r);
	if (rc != 0)
		return rc;
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	r.url = xasprintf("%.*s%s", (int)blen, base, r.path);
	r.auth = xasprintf("Authorization: Bearer %s", s->stability_ai_key);
	*out = r;
	/* parts[].filename pointed into the local copy */
	for (size_t i = 0; i < out->nparts; i++)
		if (out->parts[i].filename != NULL)
			out->parts[i].filename = out->filename;
	return 0;
}

void stability_req_cleanup(struct stability_req *r)
{
	if (r->auth != NULL) {
		sodium_memzero(r->auth, strlen(r->auth));
		free(r->auth);
	}
	free(r->url);
	memset(r, 0, sizeof(*r));
}

/* ---- performing ---------------------------------------------------------- */

static double stability_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How long to wait before retrying after resp: the provider's Retry-After
 * in seconds when longer than our own backoff, or -1 (give up now) when
 * it is over STABILITY_RETRY_AFTER_MAX. An HTTP-date is not used. */
static int64_t stability_wait_ms(const struct httpc_response *resp, int64_t backoff_ms)
{
	char value[24];
	int64_t seconds;

	if (httpc_response_header(resp, "retry-after", value, sizeof(value)) != 0 ||
	    ia_parse_int64(value, 0, INT32_MAX, &seconds) != 0)
		return backoff_ms;
	if (seconds > STABILITY_RETRY_AFTER_MAX)
		return -1;
	return seconds * 1000 > backoff_ms ? seconds * 1000 : backoff_ms;
}

/*
 * Perform q with up to STABILITY_TRIES attempts inside c->budget. Returns
 * httpc_perform's result for the last attempt (*resp filled when 0).
 * out->attempts and each attempt's status and time are recorded.
 */
static int stability_exchange(const struct settings *s, const struct stability_call *c,
			      const struct stability_req *q, struct httpc_response *resp,
			      struct stability_outcome *out)
{
	const char *headers[2] = {q->auth, "accept: image/*"};
	struct httpc_request req = {0};
	double deadline = stability_clock() + (double)c->budget;
	long per_try = s->stability_timeout > 0 ? (long)s->stability_timeout : 120L;
	int64_t delay = s->stability_retry_base_ms;
	int rc = IA_ERR_UPSTREAM;

	req.method = "POST";
	req.url = q->url;
	req.headers = headers;
	req.nheaders = 2;
	req.parts = q->parts;
	req.nparts = q->nparts;
	req.connect_timeout = 10;
	for (int try = 1; try <= STABILITY_TRIES; try++) {
		double left = deadline - stability_clock();
		bool transient;
		int64_t wait;

		req.timeout = per_try;
		if (c->budget > 0 && left < (double)per_try)
			req.timeout = (long)left;
		if (req.timeout < 1)
			break;
		out->attempts = try;
		out->attempt_seconds[try - 1] = stability_clock();
		rc = httpc_perform(&req, resp);
		out->attempt_seconds[try - 1] = stability_clock() - out->attempt_seconds[try - 1];
		out->attempt_status[try - 1] = rc == 0 ? resp->status : 0;
		transient = rc == IA_ERR_UPSTREAM ||
			    (rc == 0 && (resp->status == 429 || resp->status >= 500));
		if (!transient || try == STABILITY_TRIES)
			break;
		wait = rc == 0 ? stability_wait_ms(resp, delay) : delay;
		if (wait < 0 ||
		    (c->budget > 0 && stability_clock() + (double)wait / 1000.0 + 1.0 > deadline))
			break;
		if (rc == 0)
			log_warn("stability: %s answered %ld (attempt %d of %d), retrying", q->path,
				 resp->status, try, STABILITY_TRIES);
		else
			log_warn("stability: %s failed (attempt %d of %d), retrying", q->path, try,
				 STABILITY_TRIES);
		if (rc == 0)
			httpc_response_cleanup(resp);
		rc = IA_ERR_UPSTREAM;
		ia_sleep_ms(wait);
		delay *= 2;
	}
	return rc;
}

/* Write the body beside out_path, check it is an image of format want, rename. */
static int stability_save(const struct httpc_response *r, enum img_format want,
			  const char *out_path, struct img_result *res)
{
	char *tmp = xasprintf("%s.%ld.tmp", out_path, (long)getpid());
	struct img_info info;
	FILE *fp = fopen(tmp, "wb");
	int rc = IA_ERR_IO;

	if (fp == NULL)
		goto out;
	if (fwrite(r->body, 1, r->body_len, fp) != r->body_len) {
		fclose(fp);
		goto out;
	}
	if (fclose(fp) != 0)
		goto out;
	rc = imgio_probe_file(tmp, &info);
	if (rc == 0 && info.format != want)
		rc = IA_ERR_UNSUPPORTED;
	if (rc != 0) {
		rc = rc == IA_ERR_IO ? IA_ERR_IO : IA_ERR_UPSTREAM;
		goto out;
	}
	if (rename(tmp, out_path) != 0) {
		rc = IA_ERR_IO;
		goto out;
	}
	res->width = info.width;
	res->height = info.height;
	res->bytes = r->body_len;
	res->format = info.format;
	res->confidence = -1.0;
out:
	if (rc != 0)
		(void)unlink(tmp);
	free(tmp);
	return rc;
}

/* Decide what an HTTP answer means; on 200 + SUCCESS store the image. */
static int stability_judge(const struct stability_call *c, const struct httpc_response *r,
			   const char *out_path, struct img_result *res, char *err, size_t errlen)
{
	char finish[64] = "";
	int rc;

	if (r->status != 200) {
		/* the job's error is for its user: the status and Stability's own
		 * words stay in the job's ai_response and in the log */
		if (r->status == 429)
			snprintf(err, errlen,
				 "Stability AI is too busy right now. Try again in a few minutes.");
		else if (r->status >= 500)
			snprintf(err, errlen,
				 "Stability AI had a problem and could not make the "
				 "image. Try again later.");
		else
			snprintf(err, errlen,
				 "Stability AI refused to make this image. Try a "
				 "different image or prompt.");
		return IA_ERR_UPSTREAM;
	}
	if (httpc_response_header(r, "finish-reason", finish, sizeof(finish)) == 0 &&
	    strcmp(finish, "SUCCESS") != 0) {
		if (strcmp(finish, "CONTENT_FILTERED") == 0)
			snprintf(err, errlen,
				 "The image was blocked by Stability AI's content filter.");
		else
			snprintf(err, errlen, "Stability AI did not finish the image.");
		return IA_ERR_UPSTREAM;
	}
	rc = stability_save(r, c->format, out_path, res);
	if (rc == IA_ERR_UPSTREAM)
		snprintf(err, errlen,
			 "Stability AI sent back something that is not a %s "
			 "image. Try again.",
			 imgio_format_name(c->format));
	else if (rc != 0)
		snprintf(err, errlen, "Could not store the generated image.");
	return rc;
}

int stability_run(const struct settings *s, const struct stability_call *c, const char *out_path,
		  struct stability_outcome *out, char *err, size_t errlen)
{
	struct stability_req q = {0};
	struct httpc_response resp = {0};
	bool have_resp = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s->stability_ai_key == NULL || s->stability_ai_key[0] == '\0') {
		/* the job's error is for its user: the setting's name goes to the log */
		log_warn("stability: STABILITY_AI_KEY is not set");
		snprintf(err, errlen, "This service is not available right now.");
		return IA_ERR_UNAVAILABLE;
	}
	rc = stability_req_build(s, c, &q);
	if (rc != 0) {
		snprintf(err, errlen,
			 rc == IA_ERR_UNSUPPORTED
			     ? "Stability AI does not offer the %s service."
			     : "The %s request for Stability AI is incomplete or invalid.",
			 c->service ? c->service : "");
		return rc;
	}
	rc = stability_exchange(s, c, &q, &resp, out);
	if (rc == 0) {
		have_resp = true;
		rc = stability_judge(c, &resp, out_path, &out->img, err, errlen);
	} else {
		snprintf(err, errlen,
			 rc == IA_ERR_TOOBIG
			     ? "Stability AI sent a response that is too large."
			     : "Stability AI could not be reached or did not answer in time.");
		rc = IA_ERR_UPSTREAM;
	}
	out->ai_response = stability_ai_response(&q, have_resp ? &resp : NULL,
						 have_resp ? NULL : "timeout or connection failure",
						 out->attempts, s->stability_ai_key);
	if (rc != 0)
		log_warn("stability: %s failed after %d attempt(s) (HTTP %ld): %s", q.path,
			 out->attempts, have_resp ? resp.status : 0L, err);
	if (have_resp)
		httpc_response_cleanup(&resp);
	stability_req_cleanup(&q);
	return rc;
}

void stability_outcome_cleanup(struct stability_outcome *o)
{
	free(o->ai_response);
	memset(o, 0, sizeof(*o));
}

/* ---- recording ----------------------------------------------------------- */

/* A copy of text with every occurrence of key replaced (heap). */
static char *stability_redact(const char *text, const char *key)
{
	static const char mark[] = "[redacted]";
	size_t klen = key ? strlen(key) : 0, n = 0;
	const char *p = text, *hit;
	char *out, *o;

	if (klen == 0)
		return xstrdup(text);
	for (hit = strstr(p, key); hit != NULL; hit = strstr(hit + klen, key))
		n++;
	out = xmalloc(strlen(text) + n * sizeof(mark) + 1);
	o = out;
	while ((hit = strstr(p, key)) != NULL) {
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, mark, sizeof(mark) - 1);
		o += sizeof(mark) - 1;
		p = hit + klen;
	}
	memcpy(o, p, strlen(p) + 1);
	return out;
}

/* name and errors of a JSON error body {"name": ..., "errors": [...]} */
static void stability_add_error_body(cJSON *o, const struct httpc_response *r)
{
	cJSON *body = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(body, "errors");
	const cJSON *item;
	cJSON *arr;
	int n = 0;

	if (cJSON_IsString(name))
		cJSON_AddStringToObject(o, "name", name->valuestring);
	if (!cJSON_IsArray(errors)) {
		cJSON_Delete(body);
		return;
	}
	arr = cJSON_AddArrayToObject(o, "errors");
	cJSON_ArrayForEach(item, errors)
	{
		const char *s;
		size_t len;
		char *msg;

		if (!cJSON_IsString(item) || n++ >= STABILITY_MAX_ERRORS)
			continue;
		/* Cut long messages at a character start: the record is served as JSON. */
		s = item->valuestring;
		len = strnlen(s, STABILITY_MAX_ERROR_LEN);
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
		msg = xstrndup(s, len);
		cJSON_AddItemToArray(arr, cJSON_CreateString(msg));
		free(msg);
	}
	cJSON_Delete(body);
}

static void stability_add_header(cJSON *o, const struct httpc_response *r, const char *header,
				 const char *field, bool numeric)
{
	char v[64];
	int64_t num;

	if (r == NULL || httpc_response_header(r, header, v, sizeof(v)) != 0)
		cJSON_AddNullToObject(o, field);
	else if (numeric && ia_parse_int64(v, 0, INT64_C(1) << 40, &num) == 0)
		cJSON_AddNumberToObject(o, field, (double)num);
	else
		cJSON_AddStringToObject(o, field, v);
}

char *stability_ai_response(const struct stability_req *q, const struct httpc_response *r,
			    const char *transport_error, int attempts, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	char *text, *clean;

	cJSON_AddStringToObject(o, "provider", "stability");
	cJSON_AddStringToObject(o, "endpoint", q->path);
	if (q->model[0] != '\0')
		cJSON_AddStringToObject(o, "model", q->model);
	if (r != NULL)
		cJSON_AddNumberToObject(o, "status", (double)r->status);
	else
		cJSON_AddNullToObject(o, "status");
	if (r != NULL && r->status != 200)
		stability_add_error_body(o, r);
	if (r == NULL)
		cJSON_AddStringToObject(o, "error",
					transport_error ? transport_error : "transport failure");
	stability_add_header(o, r, "finish-reason", "finish_reason", false);
	stability_add_header(o, r, "seed", "seed", true);
	cJSON_AddNumberToObject(o, "attempts", attempts);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		abort();
	clean = stability_redact(text, key);
	free(text);
	return clean;
}
