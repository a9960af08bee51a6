/*
 * health.c - the FastCGI program behind GET /health/.
 */
#include "config.h"

#include "app.h"
#include "batch.h"
#include "health.h"
#include "http.h"
#include "router.h"
#include "settings.h"
#include "util.h"

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

static const struct route health_routes[] = {
    {"GET", "/health/", handle_health, NULL},
};

int main(void)
{
	return app_run("ia-health", health_routes,
		       sizeof(health_routes) / sizeof(health_routes[0]));
}
