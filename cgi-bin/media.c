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

#include <stdint.h>
#include <stdio.h>

/*
 * On success the reply also names the seconds the URL has left
 * (X-Media-Max-Age, nginx's Cache-Control max-age) and, through the usual
 * CORS header of an allowed Origin, lets nginx add it to the file's reply.
 */
static void handle_media_auth(struct http_request *req, const struct route_args *args)
{
	const char *uri = http_param(req, "ORIGINAL_URI");
	int64_t now = ia_now(), exp;
	char left[24];

	(void)args;
	if (uri != NULL && store_verify_uri_exp(settings_get(), uri, now, &exp) == 0) {
		snprintf(left, sizeof(left), "%lld", (long long)(exp - now));
		http_add_header(req, "X-Media-Max-Age", left);
		http_reply_empty(req, 200);
	} else {
		http_reply_empty(req, 403);
	}
}

static const struct route media_routes[] = {
    {"GET", "/_media_auth", handle_media_auth, NULL},
    {"HEAD", "/_media_auth", handle_media_auth, NULL},
};

int main(void)
{
	return app_run("ia-media", media_routes, sizeof(media_routes) / sizeof(media_routes[0]));
}
