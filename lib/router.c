/*
 * router.c - segment-by-segment matching of request paths against the
 * route tables of the cgi-bin programs.
 */
#include "config.h"

#include "router.h"
#include "http.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static int router_match_segment(const char *pat, size_t plen, const char *seg, size_t slen,
				struct route_args *args);
static size_t router_trimmed_len(const char *s);
static int router_match_len(const char *pattern, const char *path, size_t path_len,
			    struct route_args *args);

/* One pattern segment against one path segment. */
static int router_match_segment(const char *pat, size_t plen, const char *seg, size_t slen,
				struct route_args *args)
{
	size_t i;

	if (plen == 4 && strncmp(pat, "<id>", 4) == 0) {
		char num[20];
		int64_t v;

		if (slen == 0 || slen >= sizeof(num) || seg[0] == '0')
			return 0;
		memcpy(num, seg, slen);
		num[slen] = '\0';
		if (ia_parse_int64(num, 1, INT64_MAX, &v) != 0)
			return 0;
		args->id = v;
		return 1;
	}
	if (plen == 6 && strncmp(pat, "<slug>", 6) == 0) {
		if (slen == 0 || slen >= ROUTER_SLUG_MAX)
			return 0;
		for (i = 0; i < slen; i++) {
			char c = seg[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return 0;
		}
		memcpy(args->slug, seg, slen);
		args->slug[slen] = '\0';
		return 1;
	}
	return plen == slen && strncmp(pat, seg, slen) == 0;
}

/* Length of s without one trailing slash (but keep a lone "/"). */
static size_t router_trimmed_len(const char *s)
{
	size_t len = strlen(s);

	return len > 1 && s[len - 1] == '/' ? len - 1 : len;
}

/* router_match with the path's trimmed length already known. */
static int router_match_len(const char *pattern, const char *path, size_t path_len,
			    struct route_args *args)
{
	struct route_args tmp;
	const char *p = pattern, *s = path;
	const char *pend = pattern + router_trimmed_len(pattern);
	const char *send = path + path_len;

	if (*p != '/' || *s != '/')
		return 0;
	tmp.id = 0;
	tmp.slug[0] = '\0';
	tmp.data = NULL;
	while (p < pend && s < send) {
		const char *pseg = ++p, *sseg = ++s;

		while (p < pend && *p != '/')
			p++;
		while (s < send && *s != '/')
			s++;
		if (!router_match_segment(pseg, (size_t)(p - pseg), sseg, (size_t)(s - sseg), &tmp))
			return 0;
	}
	if (p != pend || s != send)
		return 0;
	*args = tmp;
	return 1;
}

int router_match(const char *pattern, const char *path, struct route_args *args)
{
	return router_match_len(pattern, path, router_trimmed_len(path), args);
}

void router_dispatch(const struct route *routes, size_t n, struct http_request *req)
{
	char allow[64] = "";
	size_t i, used = 0;
	struct route_args args;
	size_t path_len = router_trimmed_len(req->path);
	int known = 0;

	for (i = 0; i < n; i++) {
		if (!router_match_len(routes[i].pattern, req->path, path_len, &args))
			continue;
		if (strcmp(routes[i].method, req->method) == 0) {
			args.data = routes[i].data;
			routes[i].handler(req, &args);
			return;
		}
		known = 1;
		if (used + strlen(routes[i].method) + 3 < sizeof(allow))
			used += (size_t)snprintf(allow + used, sizeof(allow) - used, "%s%s",
						 used ? ", " : "", routes[i].method);
	}
	if (!known) {
		http_reply_detail(req, 404, "Not found.");
		return;
	}
	if (used + 10 < sizeof(allow))
		snprintf(allow + used, sizeof(allow) - used, ", OPTIONS");
	http_add_header(req, "Allow", allow);
	if (strcmp(req->method, "OPTIONS") == 0) {
		http_reply_empty(req, 204);
	} else {
		char detail[80];

		snprintf(detail, sizeof(detail), "Method \"%.20s\" not allowed.", req->method);
		http_reply_detail(req, 405, detail);
	}
}
