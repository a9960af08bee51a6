/*
 * api.c - field validation, the <user> object, DRF pagination and
 * throttling replies shared by the cgi-bin handlers.
 */
#include "config.h"

#include "api.h"
#include "clientip.h"
#include "err.h"
#include "credits.h"
#include "flags.h"
#include "jobs.h"
#include "jsoncheck.h"
#include "services.h"
#include "store.h"
#include "http.h"
#include "ratelimit.h"
#include "settings.h"
#include "svcparams.h"
#include "text.h"
#include "users.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An integer member printed exactly (cJSON prints numbers through "%.15g"
 * and a scanf round trip, which is slow and loses integers past 2^53).
 * name must be a string constant: cJSON keeps the pointer, not a copy. */
static void api_add_int(cJSON *o, const char *name, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	cJSON_AddItemToObjectCS(o, name, cJSON_CreateRaw(num));
}

void api_errors_init(struct api_errors *e)
{
	e->obj = cJSON_CreateObject();
}

void api_errors_add(struct api_errors *e, const char *field, const char *msg)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(e->obj, field);

	if (arr == NULL)
		arr = cJSON_AddArrayToObject(e->obj, field);
	cJSON_AddItemToArray(arr, cJSON_CreateString(msg));
}

bool api_errors_any(const struct api_errors *e)
{
	return e->obj->child != NULL;
}

void api_errors_reply(struct http_request *req, const struct api_errors *e)
{
	http_reply_json(req, 400, e->obj);
}

void api_errors_cleanup(struct api_errors *e)
{
	cJSON_Delete(e->obj);
	e->obj = NULL;
}

long api_utf8_len(const char *s)
{
	return text_length(s); /* one UTF-8 decoder for every text rule (text.c) */
}

const char *api_field_string(const cJSON *body, const char *name, bool required, size_t min_chars,
			     size_t max_chars, struct api_errors *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, name);
	char msg[96];
	long len;

	if (item == NULL || cJSON_IsNull(item)) {
		if (required)
			api_errors_add(e, name, "This field is required.");
		return NULL;
	}
	if (!cJSON_IsString(item) || (len = api_utf8_len(item->valuestring)) < 0) {
		api_errors_add(e, name, "Not a valid string.");
		return NULL;
	}
	if (strstr(item->valuestring, JSONCHECK_NUL_MARK) != NULL) {
		api_errors_add(e, name, "Null characters are not allowed.");
		return NULL;
	}
	if (len == 0) {
		if (required)
			api_errors_add(e, name, "This field may not be blank.");
		return NULL;
	}
	if (max_chars > 0 && (size_t)len > max_chars) {
		snprintf(msg, sizeof(msg), "Ensure this field has no more than %zu characters.",
			 max_chars);
		api_errors_add(e, name, msg);
		return NULL;
	}
	if ((size_t)len < min_chars) {
		snprintf(msg, sizeof(msg), "Ensure this field has at least %zu characters.",
			 min_chars);
		api_errors_add(e, name, msg);
		return NULL;
	}
	return item->valuestring;
}

const char *api_field_text(const cJSON *body, const char *name, bool required, size_t min_chars,
			   size_t max_chars, bool multiline, struct api_errors *e)
{
	const char *v = api_field_string(body, name, required, min_chars, max_chars, e);
	const char *why;

	if (v != NULL && text_check(v, multiline, &why) != 0) {
		api_errors_add(e, name, why);
		return NULL;
	}
	return v;
}

bool api_field_bool(const cJSON *body, const char *name, struct api_errors *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, name);

	if (cJSON_IsBool(item))
		return cJSON_IsTrue(item);
	if (cJSON_IsNumber(item) && (item->valuedouble == 0 || item->valuedouble == 1))
		return item->valuedouble == 1;
	if (cJSON_IsString(item) &&
	    (strcmp(item->valuestring, "true") == 0 || strcmp(item->valuestring, "false") == 0))
		return strcmp(item->valuestring, "true") == 0;
	api_errors_add(e, name,
		       item == NULL ? "This field is required." : "Must be a valid boolean.");
	return false;
}

bool api_email_valid(const char *email)
{
	const char *at = strchr(email, '@'), *p, *dot;
	size_t len = strlen(email);

	if (len < 3 || len > USER_EMAIL_MAX || at == NULL || at == email || strchr(at + 1, '@'))
		return false;
	if ((size_t)(at - email) > 64 || at[1] == '\0')
		return false;
	for (p = email; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("()<>,;:\\\"[]", c) != NULL)
			return false;
	}
	dot = strrchr(at + 1, '.');
	if (dot == NULL || dot == at + 1 || dot[1] == '\0' || strstr(at + 1, "..") ||
	    email[0] == '.' || at[-1] == '.' || at[1] == '-' || at[1] == '.')
		return false;
	return true;
}

cJSON *api_user_json(const struct user *u, const struct flag_list *flags)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *names = cJSON_CreateArray();
	size_t i;

	/* Constant keys (…CS): served on every page load, so no key copies. */
	api_add_int(o, "id", u->id);
	cJSON_AddItemToObjectCS(o, "email", cJSON_CreateString(u->email));
	cJSON_AddItemToObjectCS(o, "first_name", cJSON_CreateString(u->first_name));
	cJSON_AddItemToObjectCS(o, "last_name", cJSON_CreateString(u->last_name));
	api_add_int(o, "credits", u->credits);
	cJSON_AddItemToObjectCS(o, "feature_flags", names);
	cJSON_AddItemToObjectCS(o, "is_staff", cJSON_CreateBool(u->is_staff));
	cJSON_AddItemToObjectCS(o, "email_verified", cJSON_CreateBool(u->email_verified));
	for (i = 0; flags != NULL && i < flags->n; i++)
		cJSON_AddItemToArray(names, cJSON_CreateString(flags->names[i]));
	return o;
}

static int api_query_int(struct http_request *req, const char *name, int64_t def, int64_t max,
			 int64_t *out)
{
	char buf[24];
	int rc = http_query_get(req, name, buf, sizeof(buf));

	if (rc == IA_ERR_NOTFOUND || (rc == 0 && buf[0] == '\0')) {
		*out = def;
		return 0;
	}
	if (rc != 0)
		return rc;
	return ia_parse_int64(buf, 1, max, out);
}

int api_page_args(struct http_request *req, int64_t *page, int64_t *page_size)
{
	if (api_query_int(req, "page", 1, INT64_C(1) << 40, page) != 0) {
		http_reply_detail(req, 404, "Invalid page.");
		return IA_ERR_INVAL;
	}
	/* DRF falls back to the default size for a malformed page_size. */
	if (api_query_int(req, "page_size", 10, INT64_C(1) << 40, page_size) != 0)
		*page_size = 10;
	if (*page_size > 50)
		*page_size = 50;
	return 0;
}

/*
 * Absolute URL of this path with page=N (DRF puts full links in
 * next/previous), then extra: the list's other query parameters, already
 * encoded ("&status=pending"), or NULL.
 */
static cJSON *api_page_link(struct http_request *req, int64_t page, int64_t page_size,
			    const char *extra)
{
	const struct settings *s = req->settings;
	char *url = xasprintf("%s%s?page=%lld&page_size=%lld%s", s->public_url, req->path,
			      (long long)page, (long long)page_size, extra != NULL ? extra : "");
	cJSON *v = cJSON_CreateString(url);

	free(url);
	return v;
}

void api_reply_page(struct http_request *req, int64_t count, int64_t page, int64_t page_size,
		    cJSON *results)
{
	api_reply_page_query(req, count, page, page_size, NULL, results);
}

void api_reply_page_query(struct http_request *req, int64_t count, int64_t page, int64_t page_size,
			  const char *extra, cJSON *results)
{
	int64_t pages = count == 0 ? 1 : (count + page_size - 1) / page_size;
	cJSON *o;

	if (page > pages) {
		cJSON_Delete(results);
		http_reply_detail(req, 404, "Invalid page.");
		return;
	}
	o = cJSON_CreateObject();
	api_add_int(o, "count", count);
	cJSON_AddItemToObject(o, "next",
			      page < pages ? api_page_link(req, page + 1, page_size, extra)
					   : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "previous",
			      page > 1 ? api_page_link(req, page - 1, page_size, extra)
				       : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "results", results);
	http_reply_json(req, 200, o);
	cJSON_Delete(o);
}

int api_throttle(struct http_request *req, struct db *db, const char *group)
{
	const struct settings *s = req->settings;
	char bucket[96], detail[96], secs[24], client[CLIENTIP_ADDR_MAX];
	int64_t retry = 0;

	/* clientip_resolve reads X-Forwarded-For only from a trusted proxy */
	if (clientip_resolve(s->trusted_nets, req->remote_addr,
			     http_param(req, "HTTP_X_FORWARDED_FOR"), client, sizeof(client)) != 0)
		snprintf(client, sizeof(client), "%.45s", req->remote_addr);
	snprintf(bucket, sizeof(bucket), "%s:%s", group, client);
	if (ratelimit_hit(db, bucket, s->rate_limit_per_minute, ia_now(), &retry) != IA_ERR_BUSY)
		return 0;
	snprintf(secs, sizeof(secs), "%lld", (long long)retry);
	snprintf(detail, sizeof(detail),
		 "Request was throttled. Expected available in %lld seconds.", (long long)retry);
	http_add_header(req, "Retry-After", secs);
	http_reply_detail(req, 429, detail);
	return IA_ERR_BUSY;
}

/* A string or JSON null. */
static void api_add_str(cJSON *o, const char *name, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static void api_add_time(cJSON *o, const char *name, int64_t t)
{
	char iso[21];

	ia_iso8601(t, iso);
	cJSON_AddStringToObject(o, name, iso);
}

/* A signed root-relative media URL for key (store_signed_url), or JSON null. */
static void api_add_media(const struct settings *s, cJSON *o, const char *name, const char *key)
{
	char *url;

	if (key == NULL) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	url = store_signed_url(s, key, ia_now());
	cJSON_AddStringToObject(o, name, url);
	free(url);
}

/*
 * A job's params column as the JSON object it holds; {} for anything
 * else (the column is written by us, so only a bug or a hand edit gets
 * there, and the row must still be shown).
 */
static cJSON *api_params_json(const char *text)
{
	cJSON *p = text != NULL ? cJSON_Parse(text) : NULL;

	if (cJSON_IsObject(p))
		return p;
	cJSON_Delete(p);
	return cJSON_CreateObject();
}

cJSON *api_in_flight_json(const struct job_row *r, const int64_t *position)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "detail", "Image is still being processed.");
	cJSON_AddStringToObject(o, "status", r->status);
	if (position != NULL)
		cJSON_AddNumberToObject(o, "position", (double)*position);
	return o;
}

cJSON *api_image_json(const struct settings *s, const struct job_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *ai = r->ai_response ? cJSON_Parse(r->ai_response) : NULL;
	bool finished = strcmp(r->status, "done") == 0 || strcmp(r->status, "failed") == 0;
	bool done = strcmp(r->status, "done") == 0;

	api_add_int(o, "id", r->id);
	api_add_media(s, o, "image", done ? r->image_key : NULL);
	api_add_str(o, "alternate_url", r->alternate_url);
	api_add_int(o, "user", r->user_id);
	api_add_str(o, "prompt", r->prompt);
	cJSON_AddBoolToObject(o, "processed", finished);
	api_add_str(o, "aspect_ratio", r->aspect_ratio);
	cJSON_AddItemToObject(o, "ai_response", ai != NULL ? ai : cJSON_CreateNull());
	cJSON_AddBoolToObject(o, "payment_made", r->payment_made);
	api_add_time(o, "created", r->created);
	api_add_time(o, "updated", r->updated);
	cJSON_AddStringToObject(o, "service", r->service);
	cJSON_AddStringToObject(o, "status", r->status);
	api_add_str(o, "error", r->error);
	if (done) {
		api_add_int(o, "width", r->width);
		api_add_int(o, "height", r->height);
		api_add_str(o, "content_type", r->content_type);
		api_add_int(o, "bytes", r->bytes);
	} else {
		cJSON_AddNullToObject(o, "width");
		cJSON_AddNullToObject(o, "height");
		cJSON_AddNullToObject(o, "content_type");
		cJSON_AddNullToObject(o, "bytes");
	}
	api_add_int(o, "cost", r->cost);
	api_add_media(s, o, "source", r->source_key);
	api_add_media(s, o, "thumbnail", done ? r->thumbnail_key : NULL);
	api_add_str(o, "original_name", r->original_name);
	cJSON_AddItemToObject(o, "params", api_params_json(r->params));
	return o;
}

cJSON *api_ledger_json(const struct credits_entry *c)
{
	cJSON *o = cJSON_CreateObject();

	api_add_int(o, "id", c->id);
	api_add_int(o, "delta", c->delta);
	api_add_int(o, "balance_after", c->balance_after);
	cJSON_AddStringToObject(o, "reason", c->reason);
	if (c->image_id > 0)
		api_add_int(o, "image_id", c->image_id);
	else
		cJSON_AddNullToObject(o, "image_id");
	api_add_time(o, "created", c->created);
	return o;
}

cJSON *api_service_json(const struct service *s)
{
	cJSON *o = cJSON_CreateObject();

	api_add_int(o, "code", s->code);
	cJSON_AddStringToObject(o, "slug", s->slug);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "description", s->description);
	api_add_int(o, "tokens", s->tokens);
	cJSON_AddBoolToObject(o, "free", s->tokens == 0);
	cJSON_AddBoolToObject(o, "enabled", s->enabled);
	svcparams_add_json(svcparams_find(s->slug), o);
	return o;
}
