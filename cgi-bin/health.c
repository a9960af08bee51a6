/*
 * health.c - the FastCGI program behind GET /health/.
 */
#include "config.h"

#include "app.h"
#include "health.h"
#include "http.h"
#include "router.h"

static void handle_health(struct http_request *req, const struct route_args *args)
{
	int ok = health_check_db(app_db()) == 0;
	cJSON *o = cJSON_CreateObject();

	(void)args;
	cJSON_AddStringToObject(o, "status", ok ? "ok" : "error");
	cJSON_AddStringToObject(o, "db", ok ? "ok" : "error");
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
