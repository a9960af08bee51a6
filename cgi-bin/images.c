/*
 * images.c - the FastCGI program behind API.md's "Services and credits"
 * and "Images" sections: the service list, the credit ledger, uploads and
 * prompts (accepted through lib/submit), job status, the gallery, deletion
 * and the staff override.
 */
#include "config.h"

#include "api.h"
#include "app.h"
#include "auth.h"
#include "credits.h"
#include "err.h"
#include "gallery.h"
#include "http.h"
#include "imagefiles.h"
#include "jobs.h"
#include "queue.h"
#include "router.h"
#include "services.h"
#include "settings.h"
#include "store.h"
#include "submit.h"
#include "users.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define IMAGES_PAGE_MAX 50

static int images_add_service(void *ud, const struct service *s)
{
	cJSON_AddItemToArray((cJSON *)ud, api_service_json(s));
	return 0;
}

static void handle_services(struct http_request *req, const struct route_args *args)
{
	cJSON *list = cJSON_CreateArray();

	(void)args;
	if (services_each(app_db(), images_add_service, list) != 0)
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	else
		http_reply_json(req, 200, list);
	cJSON_Delete(list);
}

static void handle_credits_history(struct http_request *req, const struct route_args *args)
{
	struct credits_entry rows[IMAGES_PAGE_MAX];
	struct user u;
	int64_t page, size, count;
	size_t n = 0, i;
	cJSON *results;

	(void)args;
	if (auth_require(req, app_db(), &u) != 0 || api_page_args(req, &page, &size) != 0)
		return;
	if (credits_count(app_db(), u.id, &count) != 0 ||
	    credits_history(app_db(), u.id, (page - 1) * size, size, rows, &n) != 0) {
		http_reply_detail(req, 503, "Service temporarily unavailable.");
		return;
	}
	results = cJSON_CreateArray();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(results, api_ledger_json(&rows[i]));
	api_reply_page(req, count, page, size, results);
}

static long images_read_body(void *ctx, char *buf, size_t len)
{
	return http_read((struct http_request *)ctx, buf, len);
}

static void images_reply(struct http_request *req, struct submit_reply *r)
{
	http_reply_json(req, r->status, r->body);
	cJSON_Delete(r->body);
}

/* POST /process/<slug>/ and the seed aliases (args->data = alias). */
struct images_alias {
	const char *slug;
	const char *started;
};

static void handle_process(struct http_request *req, const struct route_args *args)
{
	const struct images_alias *alias = args->data;
	struct submit_upload_req sr = {0};
	struct submit_reply reply;
	struct user u;

	if (auth_require(req, app_db(), &u) != 0)
		return;
	sr.user_id = u.id;
	sr.slug = alias != NULL ? alias->slug : args->slug;
	sr.started_msg = alias != NULL ? alias->started : NULL;
	if (strcmp(sr.slug, "generate") == 0) {
		http_reply_detail(req, 404, "Not found.");
		return;
	}
	sr.content_type = req->content_type;
	sr.content_length = req->content_length;
	sr.read = images_read_body;
	sr.read_ctx = req;
	submit_upload(app_db(), settings_get(), &sr, &reply);
	images_reply(req, &reply);
}

static void handle_generate(struct http_request *req, const struct route_args *args)
{
	struct submit_reply reply;
	struct user u;
	cJSON *body = NULL;

	(void)args;
	if (auth_require(req, app_db(), &u) != 0 || http_json_body(req, &body) != 0)
		return;
	submit_generate(app_db(), settings_get(), u.id, body, &reply);
	images_reply(req, &reply);
	cJSON_Delete(body);
}

/*
 * The 202 reply of a job in flight. A pending job says how many jobs ia-batch
 * will claim before it; one claimed between the two reads has none ahead.
 * A processing job has no position (API.md: pending only), nor has a
 * pending one when the database cannot say (the reply stays useful).
 */
static void handle_status(struct http_request *req, const struct route_args *args)
{
	struct job_row r;
	struct user u;
	int64_t pos = 0;
	bool has_pos;
	cJSON *o;
	int rc;

	if (auth_require(req, app_db(), &u) != 0)
		return;
	if (jobs_get(app_db(), args->id, u.id, &r) != 0) {
		http_reply_detail(req, 404, "Image not found.");
		return;
	}
	if (strcmp(r.status, "pending") == 0 || strcmp(r.status, "processing") == 0) {
		has_pos = strcmp(r.status, "pending") == 0;
		rc = has_pos ? queue_position(app_db(), r.id, &pos) : 0;
		has_pos = has_pos && (rc == 0 || rc == IA_ERR_NOTFOUND);
		o = api_in_flight_json(&r, has_pos ? &pos : NULL);
		http_reply_json(req, 202, o);
	} else {
		o = api_image_json(settings_get(), &r);
		http_reply_json(req, 200, o);
	}
	cJSON_Delete(o);
	jobs_row_cleanup(&r);
}

static int images_add_row(void *ud, const struct job_row *r)
{
	cJSON_AddItemToArray((cJSON *)ud, api_image_json(settings_get(), r));
	return 0;
}

/* The gallery: ?status= and ?service= filters (400 first, as DRF filters
 * before it pages), then the page. */
static void handle_gallery(struct http_request *req, const struct route_args *args)
{
	struct gallery_query q;
	struct api_errors e;
	struct user u;
	int64_t page, size, count;
	cJSON *results;
	int rc;

	(void)args;
	if (auth_require(req, app_db(), &u) != 0)
		return;
	api_errors_init(&e);
	rc = gallery_query_read(req, app_db(), &q, &e);
	if (rc == IA_ERR_INVAL)
		api_errors_reply(req, &e);
	else if (rc != 0)
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	api_errors_cleanup(&e);
	if (rc != 0 || api_page_args(req, &page, &size) != 0)
		return;
	results = cJSON_CreateArray();
	if (jobs_count_filtered(app_db(), u.id, &q.filter, &count) != 0 ||
	    jobs_each_filtered(app_db(), u.id, &q.filter, (page - 1) * size, size, images_add_row,
			       results) != 0) {
		cJSON_Delete(results);
		http_reply_detail(req, 503, "Service temporarily unavailable.");
		return;
	}
	api_reply_page_query(req, count, page, size, q.link, results);
}

static void handle_delete(struct http_request *req, const struct route_args *args)
{
	struct user u;

	if (auth_require(req, app_db(), &u) != 0)
		return;
	if (imagefiles_delete(app_db(), settings_get(), args->id, u.id) != 0) {
		http_reply_detail(req, 404, "Image not found.");
		return;
	}
	http_reply_empty(req, 204);
}

static void handle_update_processed(struct http_request *req, const struct route_args *args)
{
	struct api_errors e;
	struct job_row r;
	struct user u;
	cJSON *body = NULL, *o;
	const char *name, *url;
	int rc = 0;

	if (auth_require(req, app_db(), &u) != 0)
		return;
	if (!u.is_staff) {
		http_reply_detail(req, 403, "You do not have permission to perform this action.");
		return;
	}
	if (http_json_body(req, &body) != 0)
		return;
	api_errors_init(&e);
	name = api_field_string(body, "name", true, 1, STORE_KEY_MAX - 1, &e);
	url = api_field_string(body, "url", false, 0, 2000, &e);
	if (name != NULL && !api_errors_any(&e))
		rc = imagefiles_override(app_db(), settings_get(), args->id, name, url, &e, &r);
	if (api_errors_any(&e)) {
		api_errors_reply(req, &e);
	} else if (rc == IA_ERR_NOTFOUND) {
		http_reply_detail(req, 404, "Image not found.");
	} else if (rc != 0) {
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	} else {
		o = api_image_json(settings_get(), &r);
		http_reply_json(req, 202, o);
		cJSON_Delete(o);
		jobs_row_cleanup(&r);
	}
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}

static const struct images_alias alias_background = {"remove-background",
						     "Background removal started."};
static const struct images_alias alias_grayscale = {"greyscale", "Grayscale conversion started."};
static const struct images_alias alias_outline = {"outline", "Outline creation started."};

static const struct route images_routes[] = {
    {"GET", "/api/v1/services/", handle_services, NULL},
    {"GET", "/api/v1/credits/history/", handle_credits_history, NULL},
    {"POST", "/api/v1/process/<slug>/", handle_process, NULL},
    {"POST", "/api/v1/remove/background/", handle_process, &alias_background},
    {"POST", "/api/v1/create/grayscale/", handle_process, &alias_grayscale},
    {"POST", "/api/v1/create/outline/", handle_process, &alias_outline},
    {"POST", "/api/v1/create/image/from/prompt/", handle_generate, NULL},
    {"GET", "/api/v1/image/status/<id>/", handle_status, NULL},
    {"GET", "/api/v1/user/images/", handle_gallery, NULL},
    {"DELETE", "/api/v1/images/<id>/", handle_delete, NULL},
    {"PUT", "/api/v1/update/processed/image/<id>/", handle_update_processed, NULL},
};

int main(void)
{
	return app_run("ia-images", images_routes,
		       sizeof(images_routes) / sizeof(images_routes[0]));
}
