/*
 * submit.c - the acceptance pipeline of uploads and prompts (see submit.h).
 */
#include "config.h"

#include "submit.h"
#include "api.h"
#include "err.h"
#include "imgops.h"
#include "jobs.h"
#include "log.h"
#include "services.h"
#include "settings.h"
#include "store.h"
#include "svcparams.h"
#include "text.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUBMIT_FILE_LIMIT (10 * 1024 * 1024)
#define SUBMIT_BODY_LIMIT (SUBMIT_FILE_LIMIT + 64 * 1024)
#define SUBMIT_INVALID_IMAGE                                                                       \
	"Upload a valid image. The file you uploaded was either not an image or a corrupted "      \
	"image."

static void submit_detail(struct submit_reply *out, int status, const char *detail)
{
	out->status = status;
	out->body = cJSON_CreateObject();
	cJSON_AddStringToObject(out->body, "detail", detail);
}

static void submit_field(struct submit_reply *out, const char *field, const char *msg)
{
	cJSON *arr;

	out->status = 400;
	out->body = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out->body, field);
	cJSON_AddItemToArray(arr, cJSON_CreateString(msg));
}

/* The enabled service slug, or a 404/503 reply. */
static int submit_service(struct db *db, const char *slug, struct service *svc,
			  struct submit_reply *out)
{
	int rc = services_get(db, slug, svc);

	if (rc == IA_ERR_NOTFOUND) {
		submit_detail(out, 404, "Not found.");
		return rc;
	}
	if (rc != 0 || !svc->enabled) {
		submit_detail(out, 503, "Service not available.");
		return rc != 0 ? rc : IA_ERR_UNAVAILABLE;
	}
	return 0;
}

/* The form's text fields as img_params and as a JSON object text (heap). */
static char *submit_params(const struct upload_form *f, struct img_param *p, size_t *n)
{
	cJSON *o = cJSON_CreateObject();
	char *text;
	size_t i;

	*n = 0;
	for (i = 0; i < f->nfields; i++) {
		if (cJSON_GetObjectItemCaseSensitive(o, f->fields[i].name) != NULL)
			continue; /* first value wins, as upload_form_get */
		p[*n].key = f->fields[i].name;
		p[*n].value = f->fields[i].value;
		(*n)++;
		cJSON_AddStringToObject(o, f->fields[i].name, f->fields[i].value);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		abort();
	return text;
}

/*
 * Every text field must be text by API.md's rules (multi-line: newline and
 * tab allowed): its name becomes a key and its value a string of the job's
 * JSON, which one stray byte would make unreadable for the user's lists.
 */
static int submit_check_text(const struct upload_form *f, struct submit_reply *out)
{
	const char *why;
	size_t i;

	for (i = 0; i < f->nfields; i++) {
		if (text_check(f->fields[i].name, false, NULL) != 0) {
			submit_detail(out, 400, "Form field names must be text.");
			return IA_ERR_INVAL;
		}
		if (text_check(f->fields[i].value, true, &why) != 0) {
			submit_field(out, f->fields[i].name, why);
			return IA_ERR_INVAL;
		}
	}
	return 0;
}

/*
 * Probe, check and store the uploaded file under a new media key, exactly
 * as uploaded: only its header is read here (type, size, pixel bound);
 * ia-batch decodes and normalises it before the engine runs.
 */
static int submit_store_source(const struct settings *s, const char *slug, struct upload_form *f,
			       struct img_param *p, size_t n, char key[STORE_KEY_MAX],
			       struct submit_reply *out)
{
	struct img_info info;
	char field[64], msg[160];
	char *tmp = NULL;
	int rc;

	if (f->file_size > SUBMIT_FILE_LIMIT) {
		submit_detail(out, 413, "Request body too large.");
		return IA_ERR_TOOBIG;
	}
	rc = imgio_probe_file(f->file_tmp_path, &info);
	if (rc == IA_ERR_TOOBIG) {
		submit_field(
		    out, "image",
		    "Image is too large: at most " IA_STRINGIFY(IMG_MAX_PIXELS_N) " pixels.");
		return rc;
	}
	if (rc != 0) {
		submit_field(out, "image", SUBMIT_INVALID_IMAGE);
		return rc;
	}
	if (!imgio_extension_matches(f->file_name, info.format)) {
		submit_detail(out, 400, "File extension does not match content type.");
		return IA_ERR_INVAL;
	}
	rc = imgops_validate_params(slug, p, n, &info, field, sizeof(field), msg, sizeof(msg));
	if (rc != 0) {
		submit_field(out, field, msg);
		return rc;
	}
	store_new_key("sources", imgio_format_ext(info.format), key);
	tmp = upload_form_take_file(f);
	rc = store_put_file(s, key, tmp, imgio_format_mime(info.format));
	if (rc != 0) {
		log_error("upload: cannot store %s (%s backend): %s", key, store_backend_name(s),
			  ia_strerror(rc));
		submit_detail(out, 503, "Could not store the image, try again.");
	}
	free(tmp);
	return rc;
}

/* The reply of a successful submission. */
static void submit_started(struct submit_reply *out, const char *msg, const char *name, int64_t id)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s started.", name);
	out->status = 202;
	out->body = cJSON_CreateObject();
	cJSON_AddStringToObject(out->body, "detail", msg != NULL ? msg : buf);
	cJSON_AddNumberToObject(out->body, "image_id", (double)id);
}

/*
 * The checks of API.md that need no body: enough credits (402), then fewer
 * than MAX_ACTIVE_JOBS_PER_USER jobs in flight (429). Made before the body
 * is read, so a request that cannot be accepted costs no upload, no disk
 * and no decoding; the enqueue transaction checks both again.
 */
static int submit_precheck(struct db *db, const struct settings *s, int64_t user_id,
			   const struct service *svc, struct submit_reply *out)
{
	int rc = jobs_precheck(db, user_id, svc->tokens, s->max_active_jobs_per_user);

	if (rc == IA_ERR_FUNDS)
		submit_detail(out, 402, "Insufficient credits.");
	else if (rc == IA_ERR_TOOBIG)
		submit_detail(out, 429, "Too many images in progress.");
	else if (rc != 0)
		submit_detail(out, 503, "Could not queue the job, try again.");
	return rc;
}

/* Map an enqueue failure to its reply. */
static void submit_enqueue_failed(struct submit_reply *out, int rc)
{
	if (rc == IA_ERR_FUNDS)
		submit_detail(out, 402, "Insufficient credits.");
	else if (rc == IA_ERR_TOOBIG)
		submit_detail(out, 429, "Too many images in progress.");
	else if (rc == IA_ERR_UNAVAILABLE)
		submit_detail(out, 503, "Service not available.");
	else
		submit_detail(out, 503, "Could not queue the job, try again.");
}

void submit_upload(struct db *db, const struct settings *s, const struct submit_upload_req *r,
		   struct submit_reply *out)
{
	struct upload_form form = {0};
	struct img_param params[UPLOAD_MAX_FIELDS];
	struct service svc;
	struct job_new job = {0};
	char key[STORE_KEY_MAX] = "";
	char *tmp_dir = NULL, *params_json = NULL, *accepted = NULL, *name = NULL;
	size_t n;
	int64_t id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (submit_service(db, r->slug, &svc, out) != 0 ||
	    submit_precheck(db, s, r->user_id, &svc, out) != 0)
		return;
	if (r->content_length > SUBMIT_BODY_LIMIT) {
		submit_detail(out, 413, "Request body too large.");
		return;
	}
	if (r->content_type == NULL || strncmp(r->content_type, "multipart/form-data", 19) != 0) {
		submit_detail(out, 400, "Image file is required.");
		return;
	}
	tmp_dir = store_tmp_dir(s);
	rc = upload_parse(r->content_type, r->read, r->read_ctx, SUBMIT_BODY_LIMIT, "image",
			  tmp_dir, &form);
	free(tmp_dir);
	if (rc == IA_ERR_TOOBIG) {
		submit_detail(out, 413, "Request body too large.");
		return;
	}
	if (rc == IA_ERR_IO) {
		log_error("upload: cannot write the upload under %s/tmp: %s", s->media_root,
			  strerror(errno));
		submit_detail(out, 503, "Could not store the image, try again.");
		return;
	}
	if (rc != 0) {
		submit_detail(out, 400,
			      rc == IA_ERR_INVAL ? "Malformed multipart body."
						 : "Could not read the upload.");
		return;
	}
	if (form.file_tmp_path == NULL || form.file_size == 0) {
		submit_detail(out, 400, "Image file is required.");
		goto out;
	}
	if (submit_check_text(&form, out) != 0)
		goto out;
	params_json = submit_params(&form, params, &n);
	if (submit_store_source(s, r->slug, &form, params, n, key, out) != 0)
		goto out;
	/* What <image> shows: the parameters as accepted (typed, defaults in,
	 * unknown fields out) and the file's name without any path. */
	if (imgops_params_json(r->slug, params, n, &accepted) != 0)
		accepted = NULL; /* validated above: cannot happen; the form's fields then */
	name = text_file_name(form.file_name);
	job.user_id = r->user_id;
	job.service = r->slug;
	job.params = accepted != NULL ? accepted : params_json;
	job.prompt = upload_form_get(&form, "prompt");
	job.source_key = key;
	job.source_raw = true;
	job.original_name = name;
	job.max_active = s->max_active_jobs_per_user;
	rc = jobs_enqueue(db, &job, &id);
	if (rc != 0) {
		store_remove(s, key);
		submit_enqueue_failed(out, rc);
		goto out;
	}
	submit_started(out, r->started_msg, svc.name, id);
out:
	free(params_json);
	free(accepted);
	free(name);
	upload_form_cleanup(&form);
}

/*
 * One optional field of the generation table (lib/svcparams.c): a JSON
 * string checked against its choices, or text checked against its length.
 * Returns the value (borrowed from body) or its default.
 */
static const char *submit_generate_text(const cJSON *body, const struct svcparam *p,
					struct api_errors *e)
{
	const char *v;
	char msg[160];

	if (p->type == SVCPARAM_STRING)
		return api_field_text(body, p->name, false, p->required ? 1 : 0, p->max_length,
				      true, e);
	v = api_field_string(body, p->name, false, 0, 64, e);
	if (api_errors_any(e))
		return NULL;
	v = svcparams_resolve(p, v);
	if (svcparams_check(p, v, NULL, msg, sizeof(msg)) != 0) {
		api_errors_add(e, p->name, msg);
		return NULL;
	}
	return v;
}

/* The seed: a JSON integer within the table's bounds, or absent. */
static void submit_generate_seed(const cJSON *body, const struct svcparam *p, cJSON *params,
				 struct api_errors *e)
{
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(body, p->name);
	char msg[96];

	if (seed == NULL || cJSON_IsNull(seed))
		return;
	/* range first: casting 1e300 to int64_t is undefined */
	if (!cJSON_IsNumber(seed) || !(seed->valuedouble >= (double)p->min) ||
	    seed->valuedouble > (double)p->max ||
	    seed->valuedouble != (double)(int64_t)seed->valuedouble) {
		snprintf(msg, sizeof(msg), "Ensure this value is an integer from %lld to %lld.",
			 p->min, p->max);
		api_errors_add(e, p->name, msg);
	} else {
		cJSON_AddNumberToObject(params, p->name, seed->valuedouble);
	}
}

/*
 * Validate the generation fields with the table GET /services/ publishes
 * for "generate"; fills params (a JSON object) on success.
 */
static int submit_generate_fields(const cJSON *body, cJSON *params, const char **prompt,
				  const char **aspect, struct api_errors *e)
{
	const struct svcparams *t = svcparams_find("generate");
	const char *neg;

	*aspect = submit_generate_text(body, svcparams_param(t, "aspect_ratio"), e);
	*prompt = submit_generate_text(body, svcparams_param(t, "prompt"), e);
	neg = submit_generate_text(body, svcparams_param(t, "negative_prompt"), e);
	if (neg != NULL)
		cJSON_AddStringToObject(params, "negative_prompt", neg);
	submit_generate_seed(body, svcparams_param(t, "seed"), params, e);
	return api_errors_any(e) ? IA_ERR_INVAL : 0;
}

void submit_generate(struct db *db, const struct settings *s, int64_t user_id, const cJSON *body,
		     struct submit_reply *out)
{
	const cJSON *prompt_item = cJSON_GetObjectItemCaseSensitive(body, "prompt");
	cJSON *params = cJSON_CreateObject();
	struct api_errors e;
	struct service svc;
	struct job_new job = {0};
	const char *prompt = NULL, *aspect = NULL;
	char *params_json = NULL;
	int64_t id;
	int rc;

	memset(out, 0, sizeof(*out));
	api_errors_init(&e);
	/* API.md's order: service (404/503), credits (402), jobs in flight (429), then the fields
	 */
	if (submit_service(db, "generate", &svc, out) != 0)
		goto out;
	if (s->stability_ai_key[0] == '\0' && !s->local_generator) {
		submit_detail(out, 503, "Service not available.");
		goto out;
	}
	if (submit_precheck(db, s, user_id, &svc, out) != 0)
		goto out;
	if (prompt_item == NULL || cJSON_IsNull(prompt_item) ||
	    (cJSON_IsString(prompt_item) && prompt_item->valuestring[0] == '\0')) {
		submit_detail(out, 400, "Prompt is required.");
		goto out;
	}
	if (submit_generate_fields(body, params, &prompt, &aspect, &e) != 0) {
		out->status = 400;
		out->body = cJSON_Duplicate(e.obj, 1);
		goto out;
	}
	params_json = cJSON_PrintUnformatted(params);
	job.user_id = user_id;
	job.service = "generate";
	job.params = params_json;
	job.prompt = prompt;
	job.aspect_ratio = aspect;
	job.max_active = s->max_active_jobs_per_user;
	rc = jobs_enqueue(db, &job, &id);
	if (rc != 0) {
		submit_enqueue_failed(out, rc);
		goto out;
	}
	out->status = 202;
	out->body = cJSON_CreateObject();
	cJSON_AddNumberToObject(out->body, "detail", (double)id);
	cJSON_AddNumberToObject(out->body, "image_id", (double)id);
out:
	free(params_json);
	cJSON_Delete(params);
	api_errors_cleanup(&e);
}
