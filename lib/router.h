/*
 * router.h - maps method + path to a handler. Patterns are literal paths
 * with "<id>" (a positive integer) and "<slug>" ([a-z0-9-]{1,63}) segments;
 * a path matches with or without its trailing slash. Unknown paths get
 * 404 {"detail": "Not found."}, a known path with another method 405 with
 * an Allow header, and OPTIONS a 204 CORS preflight.
 */
#ifndef IA_ROUTER_H
#define IA_ROUTER_H

#include <stddef.h>
#include <stdint.h>

struct http_request;

#define ROUTER_SLUG_MAX 64

struct route_args {
	int64_t id;                 /* the <id> segment, 0 when none */
	char slug[ROUTER_SLUG_MAX]; /* the <slug> segment, "" when none */
	const void *data;           /* the route's data pointer */
};

typedef void (*route_handler)(struct http_request *req, const struct route_args *args);

struct route {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern;
	route_handler handler;
	const void *data; /* handed to the handler in args->data */
};

/* Match a path against a pattern; fills *args on a match (returns 1), else 0. */
int router_match(const char *pattern, const char *path, struct route_args *args);

/* Find the route for req and call it, or reply 404/405/204 as above. */
void router_dispatch(const struct route *routes, size_t n, struct http_request *req);

#endif
