/*
 * http.c - FastCGI request reading and JSON responses over libfcgi's
 * reentrant FCGX API (the listening socket is fd 0, as spawn-fcgi leaves it).
 */
#include "config.h"

#include "http.h"
#include "jsoncheck.h"
#include "err.h"
#include "log.h"
#include "settings.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static FCGX_Request http_fcgi;

static void http_reset(struct http_request *req);
static void http_write_head(struct http_request *req, int status, const char *ctype, size_t len);
static int http_hexval(int c);

int http_init(void)
{
	if (FCGX_Init() != 0 || FCGX_InitRequest(&http_fcgi, 0, 0) != 0)
		return IA_ERR_IO;
	return 0;
}

/* Forget the previous request; the settings stay (they are the process's). */
static void http_reset(struct http_request *req)
{
	const struct settings *s = req->settings;
	int i;

	free(req->body);
	for (i = 0; i < req->n_extra_headers; i++)
		free(req->extra_headers[i]);
	memset(req, 0, sizeof(*req));
	req->settings = s;
}

/* *out = the value of env when it is the variable named by name_eq ("NAME="). */
static bool http_pick(const char *env, const char *name_eq, size_t len, const char **out)
{
	if (strncmp(env, name_eq, len) != 0)
		return false;
	*out = env + len;
	return true;
}

#define HTTP_PICK(env, name, out) http_pick(env, name "=", sizeof(name), out)

/* The request variables the handlers use, picked in one pass over the
 * FastCGI environment (FCGX_GetParam would scan it once per name); the
 * first byte rules out most of nginx's ~30 variables. */
static void http_pick_params(struct http_request *req, char **envp, const char **cl)
{
	for (; envp != NULL && *envp != NULL; envp++) {
		const char *e = *envp;

		switch (e[0]) {
		case 'C':
			if (!HTTP_PICK(e, "CONTENT_LENGTH", cl))
				HTTP_PICK(e, "CONTENT_TYPE", &req->content_type);
			break;
		case 'D': HTTP_PICK(e, "DOCUMENT_URI", &req->path); break;
		case 'H':
			if (!HTTP_PICK(e, "HTTP_AUTHORIZATION", &req->authorization))
				HTTP_PICK(e, "HTTP_ORIGIN", &req->origin);
			break;
		case 'Q': HTTP_PICK(e, "QUERY_STRING", &req->query); break;
		case 'R':
			if (!HTTP_PICK(e, "REQUEST_METHOD", &req->method))
				HTTP_PICK(e, "REMOTE_ADDR", &req->remote_addr);
			break;
		default: break;
		}
	}
}

int http_accept(struct http_request *req)
{
	const char *cl = NULL;
	int64_t len;

	http_reset(req);
	if (FCGX_Accept_r(&http_fcgi) < 0)
		return IA_ERR_IO;
	req->fcgi = &http_fcgi;
	http_pick_params(req, http_fcgi.envp, &cl);
	if (req->method == NULL)
		req->method = "GET";
	if (req->path == NULL)
		req->path = "/";
	if (req->query == NULL)
		req->query = "";
	if (req->remote_addr == NULL)
		req->remote_addr = "unknown";
	req->content_length = -1;
	if (cl != NULL && *cl != '\0' && ia_parse_int64(cl, 0, INT64_MAX, &len) == 0)
		req->content_length = len;
	return 0;
}

const char *http_param(struct http_request *req, const char *name)
{
	FCGX_Request *r = req->fcgi;

	return r == NULL ? getenv(name) : FCGX_GetParam(name, r->envp);
}

long http_read(struct http_request *req, char *buf, size_t len)
{
	FCGX_Request *r = req->fcgi;
	int n;

	if (len > (1 << 20))
		len = 1 << 20;
	n = FCGX_GetStr(buf, (int)len, r->in);
	if (n < 0 || FCGX_GetError(r->in) != 0)
		return IA_ERR_IO;
	return n;
}

int http_read_body(struct http_request *req, size_t limit)
{
	size_t cap, len = 0;
	char *buf;
	long n;

	if (req->content_length > (int64_t)limit)
		return IA_ERR_TOOBIG;
	cap = req->content_length > 0 ? (size_t)req->content_length + 1 : 4096;
	buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > limit + 1) {
				free(buf);
				return IA_ERR_TOOBIG;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = http_read(req, buf + len, cap - len - 1);
		if (n < 0) {
			free(buf);
			return IA_ERR_IO;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > limit) {
			free(buf);
			return IA_ERR_TOOBIG;
		}
	}
	buf[len] = '\0';
	free(req->body);
	req->body = buf;
	req->body_len = len;
	return 0;
}

int http_json_body(struct http_request *req, cJSON **out)
{
	const char *why = NULL;
	size_t where = 0;
	cJSON *json = NULL;
	char detail[128];
	int rc = http_read_body(req, HTTP_JSON_LIMIT);

	if (rc == IA_ERR_TOOBIG) {
		http_reply_detail(req, 413, "Request body too large.");
		return rc;
	}
	if (rc != 0) {
		http_reply_detail(req, 400, "Could not read the request body.");
		return rc;
	}
	if (req->body_len == 0) {
		*out = cJSON_CreateObject();
		return 0;
	}
	if (req->content_type == NULL || strncmp(req->content_type, "application/json", 16) != 0) {
		snprintf(detail, sizeof(detail), "Unsupported media type \"%.60s\" in request.",
			 req->content_type ? req->content_type : "");
		http_reply_detail(req, 415, detail);
		return IA_ERR_INVAL;
	}
	if (jsoncheck_validate_marking_nul(req->body, req->body_len, &where, &why) != 0 ||
	    (json = cJSON_ParseWithLength(req->body, req->body_len)) == NULL) {
		snprintf(detail, sizeof(detail), "JSON parse error - %s at byte %zu",
			 why != NULL ? why : "invalid JSON", where);
		http_reply_detail(req, 400, detail);
		return IA_ERR_INVAL;
	}
	if (!cJSON_IsObject(json)) {
		cJSON_Delete(json);
		http_reply_field_error(
		    req, "non_field_errors",
		    "Invalid data. Expected a dictionary, but got another type.");
		return IA_ERR_INVAL;
	}
	*out = json;
	return 0;
}

static int http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_query_get(struct http_request *req, const char *name, char *out, size_t outlen)
{
	const char *p = req->query;
	size_t nlen = strlen(name);

	while (p != NULL && *p != '\0') {
		size_t seglen = strcspn(p, "&");

		if (seglen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1, *vend = p + seglen;
			size_t o = 0;

			while (v < vend) {
				int c = (unsigned char)*v, hi, lo;

				if (c == '+') {
					c = ' ';
				} else if (c == '%' && vend - v >= 3 &&
					   (hi = http_hexval(v[1])) >= 0 &&
					   (lo = http_hexval(v[2])) >= 0) {
					c = hi * 16 + lo;
					v += 2;
				}
				if (o + 1 >= outlen)
					return IA_ERR_TOOBIG;
				out[o++] = (char)c;
				v++;
			}
			out[o] = '\0';
			return 0;
		}
		p += seglen;
		if (*p == '&')
			p++;
	}
	return IA_ERR_NOTFOUND;
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
	if (req->n_extra_headers >= HTTP_MAX_EXTRA_HEADERS)
		return;
	req->extra_headers[req->n_extra_headers++] = xasprintf("%s: %s", name, value);
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static void http_write_head(struct http_request *req, int status, const char *ctype, size_t len)
{
	FCGX_Request *r = req->fcgi;
	const struct settings *s = req->settings;
	char head[256];
	int i, n;

	/* The common head in one write; ctype is one of our constants. */
	if (ctype != NULL)
		n = snprintf(head, sizeof(head),
			     "Status: %d %s\r\nContent-Type: %s\r\n"
			     "Content-Length: %zu\r\n",
			     status, http_status_text(status), ctype, len);
	else
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n", status,
			     http_status_text(status));
	FCGX_PutStr(head, n > 0 && (size_t)n < sizeof(head) ? n : 0, r->out);
	if (s != NULL && settings_origin_allowed(s, req->origin)) {
		FCGX_FPrintF(r->out, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n",
			     req->origin);
		if (strcmp(req->method, "OPTIONS") == 0)
			FCGX_PutS(
			    "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
			    "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
			    "Access-Control-Max-Age: 86400\r\n",
			    r->out);
	}
	for (i = 0; i < req->n_extra_headers; i++)
		FCGX_FPrintF(r->out, "%s\r\n", req->extra_headers[i]);
	FCGX_PutS("\r\n", r->out);
	req->replied = 1;
	req->status = status;
}

void http_reply_json_text(struct http_request *req, int status, const char *json, size_t len)
{
	http_write_head(req, status, "application/json; charset=utf-8", len);
	FCGX_PutStr(json, (int)len, ((FCGX_Request *)req->fcgi)->out);
}

void http_reply_text(struct http_request *req, int status, const char *ctype, const char *text,
		     size_t len)
{
	http_write_head(req, status, ctype, len);
	FCGX_PutStr(text, (int)len, ((FCGX_Request *)req->fcgi)->out);
}

void http_reply_json(struct http_request *req, int status, const cJSON *body)
{
	/* Most replies fit the stack buffer; a larger one is printed to the heap. */
	char small[4096];
	char *text = small;

	if (!cJSON_PrintPreallocated((cJSON *)body, small, (int)sizeof(small), 0))
		text = cJSON_PrintUnformatted(body);
	if (text == NULL) {
		log_error("http: cannot serialise a reply");
		abort();
	}
	http_reply_json_text(req, status, text, strlen(text));
	if (text != small)
		cJSON_free(text);
}

void http_reply_detail(struct http_request *req, int status, const char *detail)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "detail", detail);
	http_reply_json(req, status, o);
	cJSON_Delete(o);
}

void http_reply_field_error(struct http_request *req, const char *field, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, field);

	cJSON_AddItemToArray(arr, cJSON_CreateString(msg));
	http_reply_json(req, 400, o);
	cJSON_Delete(o);
}

void http_reply_empty(struct http_request *req, int status)
{
	http_write_head(req, status, NULL, 0);
}
