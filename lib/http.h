/*
 * http.h - one FastCGI request and its response. The only module that
 * includes the libfcgi headers (STYLE.md rule 2).
 *
 * A program calls http_init() once, then loops on http_accept(); a handler
 * reads the request through the fields and functions below and answers
 * with exactly one http_reply_*() call. Every reply carries CORS headers
 * when the request's Origin is in CORS_ALLOWED_ORIGINS.
 */
#ifndef IA_HTTP_H
#define IA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct settings;

#define HTTP_JSON_LIMIT        (64 * 1024) /* API.md: JSON body > 64 KiB is 413 */
#define HTTP_MAX_EXTRA_HEADERS 8

struct http_request {
	/* Borrowed from the FastCGI environment until http_accept's next call. */
	const char *method;
	const char *path; /* DOCUMENT_URI: no query string */
	const char *query;
	const char *content_type;
	const char *authorization;
	const char *remote_addr;
	const char *origin;
	int64_t content_length; /* -1 when absent */
	/* Filled by http_read_body; owned by the request. */
	char *body;
	size_t body_len;
	/* Response state. */
	int replied;
	int status; /* the status replied (0 before the reply) */
	char *extra_headers[HTTP_MAX_EXTRA_HEADERS];
	int n_extra_headers;
	void *fcgi; /* FCGX_Request */
	/* The process's settings, set once by the caller of http_accept
	 * (lib/app.c) and kept across requests; borrowed. Handlers and lib/
	 * modules that serve a request read them from here. */
	const struct settings *settings;
};

/* Initialise libfcgi; 0 or IA_ERR_IO. */
int http_init(void);
/* Wait for the next request (finishing the previous one). 0, or <0 when
 * the process should exit. */
int http_accept(struct http_request *req);
/* A request environment variable such as "HTTP_STRIPE_SIGNATURE"; borrowed. */
const char *http_param(struct http_request *req, const char *name);

/*
 * Read the whole body into req->body (NUL-terminated), at most limit
 * bytes. IA_ERR_TOOBIG when Content-Length or the bytes read exceed limit;
 * IA_ERR_IO on a read error.
 */
int http_read_body(struct http_request *req, size_t limit);
/* Stream the body: bytes read, 0 at the end, <0 on error. */
long http_read(struct http_request *req, char *buf, size_t len);

/*
 * Parse the body as a JSON object (after http_read_body with
 * HTTP_JSON_LIMIT). On failure replies itself (400 "JSON parse error - ..."
 * or 413) and returns <0; on success *out is the caller's to cJSON_Delete.
 */
int http_json_body(struct http_request *req, cJSON **out);

/*
 * Copy the URL-decoded value of query parameter name into out (at most
 * outlen-1 bytes). IA_ERR_NOTFOUND when absent, IA_ERR_TOOBIG when longer.
 */
int http_query_get(struct http_request *req, const char *name, char *out, size_t outlen);

/* Queue one response header line ("Retry-After: 30"); copied. */
void http_add_header(struct http_request *req, const char *name, const char *value);

/* Reply with a JSON value (not consumed). */
void http_reply_json(struct http_request *req, int status, const cJSON *body);
/* Reply with JSON text already printed (len bytes). */
void http_reply_json_text(struct http_request *req, int status, const char *json, size_t len);
/* Reply {"detail": detail}. */
void http_reply_detail(struct http_request *req, int status, const char *detail);
/* Reply 400 {field: [msg]}. */
void http_reply_field_error(struct http_request *req, const char *field, const char *msg);
/* Reply with text of content type ctype (one of our constants): len bytes. */
void http_reply_text(struct http_request *req, int status, const char *ctype, const char *text,
		     size_t len);
/* Reply with no body (204, or a 200 with only headers for auth_request). */
void http_reply_empty(struct http_request *req, int status);

/* Reason phrase of a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
