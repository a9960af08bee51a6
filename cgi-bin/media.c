/*
 * media.c - the FastCGI program nginx asks (auth_request) before it serves
 * a file under /media/: 200 when the URL's signature is valid and
 * unexpired, 403 otherwise. nginx passes the original URI as ORIGINAL_URI.
 * It also answers the CORS preflight (OPTIONS) of a /media/ URL, which
 * nginx hands it as /_media_preflight.
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
#include <stdlib.h>

/*
 * On success the reply also names the seconds the URL has left
 * (X-Media-Max-Age, nginx's Cache-Control max-age) and, through the usual
 * CORS header of an allowed Origin, lets nginx add it to the file's reply.
 * With MEDIA_STORAGE=s3 it names where nginx streams the bytes from: a
 * short-lived presigned URL of the object (X-Media-Upstream; nginx never
 * passes the auth reply's headers to the client).
 */
static void handle_media_auth(struct http_request *req, const struct route_args *args)
{
	const char *uri = http_param(req, "ORIGINAL_URI");
	int64_t now = ia_now(), exp;
	char left[24], key[STORE_KEY_MAX], *upstream = NULL;

	(void)args;
	if (uri != NULL && store_verify_uri_exp(settings_get(), uri, now, &exp) == 0) {
		snprintf(left, sizeof(left), "%lld", (long long)(exp - now));
		http_add_header(req, "X-Media-Max-Age", left);
		if (store_uri_key(uri, key) == 0)
			upstream = store_upstream_url(settings_get(), key, now);
		if (upstream != NULL)
			http_add_header(req, "X-Media-Upstream", upstream);
		http_reply_empty(req, 200);
		free(upstream);
	} else {
		http_reply_empty(req, 403);
	}
}

/*
 * OPTIONS of a /media/ URL (API.md "Media", issue 13 point 13): 204 with
 * the API's CORS headers for an allowed Origin (lib/http.c adds them to
 * every reply, and the preflight ones to OPTIONS), none for another; the
 * same answer as the API's own preflights. A preflight carries no
 * credentials and reads no file, so the signature is not checked here:
 * the GET that follows is.
 */
static void handle_media_preflight(struct http_request *req, const struct route_args *args)
{
	(void)args;
	http_add_header(req, "Allow", "GET, HEAD, OPTIONS");
	http_reply_empty(req, 204);
}

static const struct route media_routes[] = {
    {"GET", "/_media_auth", handle_media_auth, NULL},
    {"HEAD", "/_media_auth", handle_media_auth, NULL},
    {"OPTIONS", "/_media_preflight", handle_media_preflight, NULL},
};

int main(void)
{
	return app_run("ia-media", media_routes, sizeof(media_routes) / sizeof(media_routes[0]));
}
