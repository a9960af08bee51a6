/*
 * fuzz_router.c - libFuzzer target for request-line parsing: path
 * matching in lib/router.c and query strings in lib/http.c.
 *
 * Input: "<path>\n<query>" (either part may be empty); with byte 0 odd
 * the first line is instead a route pattern, matched against the second
 * line as a path. The path is matched against every route pattern of the
 * cgi-bin programs: a match must give an id >= 1 for "<id>" routes and a
 * slug of [a-z0-9-] for "<slug>" routes, and a matching path keeps
 * matching with a trailing slash added. The query is searched for the
 * parameters the API reads, into buffers of several sizes.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "http.h"
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The patterns of the route tables in cgi-bin/. */
static const char *const fuzz_patterns[] = {
    "/health/",
    "/api/v1/users/signup/",
    "/api/v1/custom/token/obtain/",
    "/api/v1/token/obtain/",
    "/api/v1/token/refresh/",
    "/api/v1/google/login/",
    "/api/v1/user/info/",
    "/api/v1/users/change/password/",
    "/api/v1/users/password/reset/confirm/",
    "/api/v1/public/config/",
    "/api/v1/contact/",
    "/api/v1/services/",
    "/api/v1/credits/history/",
    "/api/v1/process/<slug>/",
    "/api/v1/remove/background/",
    "/api/v1/create/image/from/prompt/",
    "/api/v1/image/status/<id>/",
    "/api/v1/user/images/",
    "/api/v1/images/<id>/",
    "/api/v1/update/processed/image/<id>/",
    "/_media_auth",
    "/api/v1/stripe/webhook/",
    "/",
};

/* Whether pattern has seg as one whole segment ("/<id>/" or a final "/<id>"). */
static int fuzz_has_segment(const char *pattern, const char *seg)
{
	size_t n = strlen(seg);
	const char *p;

	for (p = strstr(pattern, seg); p != NULL; p = strstr(p + 1, seg))
		if (p > pattern && p[-1] == '/' && (p[n] == '/' || p[n] == '\0'))
			return 1;
	return 0;
}

static void fuzz_match(const char *pattern, const char *path)
{
	struct route_args a, again;
	size_t n = strlen(path);
	char *slashed;
	size_t i;

	memset(&a, 0x5A, sizeof(a));
	if (!router_match(pattern, path, &a))
		return;
	if (fuzz_has_segment(pattern, "<id>") && a.id < 1)
		abort();
	if (fuzz_has_segment(pattern, "<slug>")) {
		if (a.slug[0] == '\0' || strlen(a.slug) >= ROUTER_SLUG_MAX)
			abort();
		for (i = 0; a.slug[i] != '\0'; i++)
			if (strchr("abcdefghijklmnopqrstuvwxyz0123456789-", a.slug[i]) == NULL)
				abort();
	}
	if (n > 0 && path[n - 1] != '/') {
		slashed = malloc(n + 2);
		if (slashed == NULL)
			abort();
		memcpy(slashed, path, n);
		memcpy(slashed + n, "/", 2);
		if (!router_match(pattern, slashed, &again) || again.id != a.id ||
		    strcmp(again.slug, a.slug) != 0)
			abort();
		free(slashed);
	}
}

static void fuzz_query(const char *query)
{
	static const char *const names[] = {"page", "page_size", "service", "format", "", "a"};
	static const size_t sizes[] = {1, 2, 8, 64, 4096};
	struct http_request req;
	char out[4096];
	size_t i, j;

	memset(&req, 0, sizeof(req));
	req.query = query;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			int rc;

			memset(out, 'x', sizeof(out));
			rc = http_query_get(&req, names[i], out, sizes[j]);
			if (rc == 0 && memchr(out, '\0', sizes[j]) == NULL)
				abort(); /* no terminator inside the buffer */
			if (rc != 0 && rc != IA_ERR_NOTFOUND && rc != IA_ERR_TOOBIG)
				abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *nl, *second;
	size_t i;

	if (size == 0 || size > 8192)
		return 0;
	text = fuzz_cstr(data + 1, size - 1);
	nl = strchr(text, '\n');
	second = nl ? nl + 1 : text + strlen(text);
	if (nl != NULL)
		*nl = '\0';
	if (data[0] & 1) {
		fuzz_match(text, second);
	} else {
		for (i = 0; i < sizeof(fuzz_patterns) / sizeof(fuzz_patterns[0]); i++)
			fuzz_match(fuzz_patterns[i], text);
		fuzz_query(second);
	}
	free(text);
	return 0;
}
