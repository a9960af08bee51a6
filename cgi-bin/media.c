/*
 * media.c - the FastCGI program nginx asks (auth_request) before it serves
 * a file under /media/: 200 when the URL's signature is valid and
 * unexpired, 403 otherwise. nginx passes the original URI as ORIGINAL_URI.
 */
#include "config.h"

#include "app.h"
#include "http.h"
#include "router.h"
#include "settings.h"
#include "store.h"
#include "util.h"

static void handle_media_auth(struct http_request *req, const struct route_args *args)
{
	const char *uri = http_param(req, "ORIGINAL_URI");

	(void)args;
	if (uri != NULL && store_verify_uri(settings_get(), uri, ia_now()) == 0)
		http_reply_empty(req, 200);
	else
		http_reply_empty(req, 403);
}

static const struct route media_routes[] = {
    {"GET", "/_media_auth", handle_media_auth, NULL},
    {"HEAD", "/_media_auth", handle_media_auth, NULL},
};

int main(void)
{
	return app_run("ia-media", media_routes, sizeof(media_routes) / sizeof(media_routes[0]));
}
