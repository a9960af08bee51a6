/*
 * health.c - the FastCGI program behind GET /health/.
 */
#include "config.h"

#include "app.h"
#include "batch.h"
#include "err.h"
#include "health.h"
#include "http.h"
#include "router.h"
#include "scrape.h"
#include "settings.h"
#include "util.h"

#include <stdlib.h>

/*
 * 503 when the database or the media storage cannot be reached (API.md
 * Health). A dead batch processor makes the service "degraded" but still
 * 200: app hosts must stay in the load balancer, and the state must be
 * visible.
 */
static void handle_health(struct http_request *req, const struct route_args *args)
{
	bool db_ok = health_check_db(app_db()) == 0;
	bool storage_ok = health_check_storage(settings_get()) == 0;
	bool ok = db_ok && storage_ok, batch = false;
	cJSON *o = cJSON_CreateObject();

	(void)args;
	if (db_ok && batch_alive(app_db(), ia_now(), &batch) != 0)
		batch = false;
	cJSON_AddStringToObject(o, "status", !ok ? "error" : batch ? "ok" : "degraded");
	cJSON_AddStringToObject(o, "db", db_ok ? "ok" : "error");
	cJSON_AddStringToObject(o, "storage", storage_ok ? "ok" : "error");
	if (db_ok)
		cJSON_AddStringToObject(o, "batch", batch ? "ok" : "stale");
	http_reply_json(req, ok ? 200 : 503, o);
	cJSON_Delete(o);
}

/*
 * GET /metrics (scrape.h): from loopback or with the METRICS_TOKEN bearer,
 * else 403; ?scope=host|cluster picks the host's or the database's series.
 */
static void handle_metrics(struct http_request *req, const struct route_args *args)
{
	char value[16] = "";
	enum scrape_scope scope;
	char *text = NULL;
	size_t len = 0;
	int rc;

	(void)args;
	if (!scrape_allowed(settings_get(), req->remote_addr,
			    http_param(req, "HTTP_X_FORWARDED_FOR"), req->authorization)) {
		http_reply_detail(req, 403, "You do not have permission to perform this action.");
		return;
	}
	rc = http_query_get(req, "scope", value, sizeof(value));
	if ((rc != 0 && rc != IA_ERR_NOTFOUND) || scrape_parse_scope(value, &scope) != 0) {
		http_reply_field_error(req, "scope", "Must be all, host or cluster.");
		return;
	}
	if (scrape_text(app_db(), scope, &text, &len) != 0) {
		http_reply_detail(req, 503, "Metrics are not available.");
		return;
	}
	http_reply_text(req, 200, SCRAPE_CONTENT_TYPE, text, len);
	free(text);
}

static const struct route health_routes[] = {
    {"GET", "/health/", handle_health, NULL},
    {"GET", "/metrics", handle_metrics, NULL},
};

int main(void)
{
	return app_run("ia-health", health_routes,
		       sizeof(health_routes) / sizeof(health_routes[0]));
}
