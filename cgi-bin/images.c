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
#include "imgops.h"
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
static cJSON *images_in_flight(const struct job_row *r)
{
	cJSON *o = cJSON_CreateObject();
	int64_t pos = 0;
	int rc;

	cJSON_AddStringToObject(o, "detail", "Image is still being processed.");
	cJSON_AddStringToObject(o, "status", r->status);
	if (strcmp(r->status, "pending") == 0) {
		rc = queue_position(app_db(), r->id, &pos);
		if (rc == 0 || rc == IA_ERR_NOTFOUND)
			cJSON_AddNumberToObject(o, "position", (double)pos);
	}
	return o;
}

static void handle_status(struct http_request *req, const struct route_args *args)
{
	struct job_row r;
	struct user u;
	cJSON *o;

	if (auth_require(req, app_db(), &u) != 0)
		return;
	if (jobs_get(app_db(), args->id, u.id, &r) != 0) {
		http_reply_detail(req, 404, "Image not found.");
		return;
	}
	if (strcmp(r.status, "pending") == 0 || strcmp(r.status, "processing") == 0) {
		o = images_in_flight(&r);
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
	char *source = NULL, *image = NULL, *thumbnail = NULL;
	struct user u;

	if (auth_require(req, app_db(), &u) != 0)
		return;
	if (jobs_delete(app_db(), args->id, u.id, &source, &image, &thumbnail) != 0) {
		http_reply_detail(req, 404, "Image not found.");
		return;
	}
	store_remove(settings_get(), source);
	store_remove(settings_get(), image);
	store_remove(settings_get(), thumbnail);
	free(source);
	free(image);
	free(thumbnail);
	http_reply_empty(req, 204);
}

/*
 * The staff's media key must name an image in the storage: its header
 * gives the row's size and type. Field errors go to e; a storage that
 * cannot be reached is a non-zero return (503).
 */
static int images_media_file(const struct settings *s, const char *name, struct api_errors *e,
			     struct img_info *info, int64_t *bytes)
{
	struct store_local file = {0};
	int rc;

	if (!store_key_valid(name)) {
		api_errors_add(e, "name", "A media key is a path under images/ or sources/.");
		return 0;
	}
	rc = store_stat(s, name, bytes);
	if (rc == 0)
		rc = store_fetch(s, name, NULL, &file);
	if (rc == IA_ERR_NOTFOUND) {
		api_errors_add(e, "name", "No media file with this key.");
		return 0;
	}
	if (rc == 0 && imgio_probe_file(file.path, info) != 0)
		api_errors_add(e, "name", "The media file is not an image.");
	store_local_cleanup(&file);
	return rc;
}

/*
 * The preview of image id before a staff override, which no longer shows
 * the result afterwards (jobs_set_processed clears it): heap key or NULL.
 */
static char *images_old_thumbnail(int64_t id)
{
	struct job_row r;
	char *key = NULL;

	if (jobs_get(app_db(), id, 0, &r) == 0) {
		key = r.thumbnail_key;
		r.thumbnail_key = NULL;
		jobs_row_cleanup(&r);
	}
	return key;
}

static void handle_update_processed(struct http_request *req, const struct route_args *args)
{
	const struct settings *s = settings_get();
	struct api_errors e;
	struct img_info info;
	struct job_row r;
	struct user u;
	char *old_thumbnail = NULL;
	cJSON *body = NULL, *o;
	const char *name, *url;
	int64_t bytes = 0;
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
		rc = images_media_file(s, name, &e, &info, &bytes);
	if (!api_errors_any(&e) && rc == 0)
		old_thumbnail = images_old_thumbnail(args->id);
	if (api_errors_any(&e)) {
		api_errors_reply(req, &e);
	} else if (rc != 0) {
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	} else if (jobs_set_processed(app_db(), args->id, name, url, info.width, info.height, bytes,
				      imgio_format_mime(info.format)) != 0 ||
		   jobs_get(app_db(), args->id, 0, &r) != 0) {
		http_reply_detail(req, 404, "Image not found.");
	} else {
		/* the staff's key may be anything under images/, never the preview itself */
		if (old_thumbnail != NULL && strcmp(old_thumbnail, name) != 0)
			store_remove(s, old_thumbnail);
		o = api_image_json(settings_get(), &r);
		http_reply_json(req, 202, o);
		cJSON_Delete(o);
		jobs_row_cleanup(&r);
	}
	free(old_thumbnail);
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
