/*
 * httpc.c - libcurl easy-handle requests with bounded responses, and SMTP
 * submission for mail.c.
 */
#include "config.h"

#include "httpc.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct httpc_buf {
	char *data;
	size_t len, cap, max;
	int overflow;
};

static void httpc_global_init(void)
{
	static int done;

	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = 1;
	}
}

static size_t httpc_collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct httpc_buf *b = ud;
	size_t n = size * nmemb;

	if (b->len + n > b->max) {
		b->overflow = 1;
		return 0; /* aborts the transfer */
	}
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if (b->cap > b->max + 1)
			b->cap = b->max + 1;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Keep only the header block of the last response (after redirects/100). */
static size_t httpc_header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct httpc_buf *b = ud;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		b->len = 0;
	return httpc_collect(ptr, size, nmemb, ud) == n ? n : 0;
}

static curl_mime *httpc_mime(CURL *c, const struct httpc_request *req)
{
	curl_mime *mime = curl_mime_init(c);
	size_t i;

	for (i = 0; i < req->nparts; i++) {
		const struct httpc_part *p = &req->parts[i];
		curl_mimepart *part = curl_mime_addpart(mime);

		curl_mime_name(part, p->name);
		if (p->file_path != NULL) {
			curl_mime_filedata(part, p->file_path);
			if (p->filename != NULL)
				curl_mime_filename(part, p->filename);
		} else {
			curl_mime_data(part, p->value ? p->value : "", CURL_ZERO_TERMINATED);
		}
		if (p->content_type != NULL)
			curl_mime_type(part, p->content_type);
	}
	return mime;
}

int httpc_perform(const struct httpc_request *req, struct httpc_response *out)
{
	struct httpc_buf body = {0}, head = {0};
	struct curl_slist *hdrs = NULL;
	curl_mime *mime = NULL;
	char *ctype = NULL;
	CURL *c;
	CURLcode cc;
	long status = 0;
	size_t i;
	int rc = 0;

	httpc_global_init();
	c = curl_easy_init();
	if (c == NULL)
		return IA_ERR_UPSTREAM;
	body.max = req->max_response ? req->max_response : 32u << 20;
	head.max = 64 * 1024;
	for (i = 0; i < req->nheaders; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	if (req->body != NULL && req->content_type != NULL) {
		ctype = xasprintf("Content-Type: %s", req->content_type);
		hdrs = curl_slist_append(hdrs, ctype);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 req->connect_timeout ? req->connect_timeout : 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout ? req->timeout : 120L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, httpc_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, httpc_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
	if (req->nparts > 0) {
		mime = httpc_mime(c, req);
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	} else if (req->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (req->method != NULL && strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (body.overflow) {
		rc = IA_ERR_TOOBIG;
	} else if (cc != CURLE_OK) {
		log_warn("httpc: request to an outside service failed: %s", curl_easy_strerror(cc));
		rc = IA_ERR_UPSTREAM;
	}
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->status = status;
		out->body = body.data ? body.data : xstrdup("");
		out->body_len = body.len;
		out->headers = head.data ? head.data : xstrdup("");
		body.data = head.data = NULL;
	}
	free(body.data);
	free(head.data);
	free(ctype);
	curl_mime_free(mime);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

void httpc_response_cleanup(struct httpc_response *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

int httpc_response_header(const struct httpc_response *r, const char *name, char *out,
			  size_t outlen)
{
	const char *p = r->headers;
	size_t nlen = strlen(name);

	while (p != NULL && *p != '\0') {
		size_t linelen = strcspn(p, "\r\n");

		if (linelen > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			size_t vlen;

			while (*v == ' ' || *v == '\t')
				v++;
			vlen = (size_t)(p + linelen - v);
			if (vlen + 1 > outlen)
				return IA_ERR_TOOBIG;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p += linelen;
		p += strspn(p, "\r\n");
	}
	return IA_ERR_NOTFOUND;
}

char *httpc_escape(const char *s)
{
	char *e, *copy;

	httpc_global_init();
	e = curl_easy_escape(NULL, s, 0);
	if (e == NULL)
		abort();
	copy = xstrdup(e);
	curl_free(e);
	return copy;
}

struct httpc_src {
	const char *data;
	size_t len, off;
};

static size_t httpc_read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct httpc_src *s = ud;
	size_t n = size * nmemb;

	if (n > s->len - s->off)
		n = s->len - s->off;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return n;
}

/* A loopback host name as curl's URL parser gives it (IPv6 in brackets). */
static bool httpc_host_loopback(const char *host)
{
	static const char mapped[] = "[::ffff:127.";

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	if (strncmp(host, "127.", 4) == 0)
		return strspn(host, "0123456789.") == strlen(host);
	if (strncasecmp(host, mapped, sizeof(mapped) - 1) == 0)
		return strspn(host + sizeof(mapped) - 1, "0123456789.]") ==
		       strlen(host + sizeof(mapped) - 1);
	return false;
}

bool httpc_smtp_tls_required(const char *url)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	bool required = true;

	if (url == NULL)
		return true;
	u = curl_url();
	if (u == NULL)
		abort(); /* out of memory (STYLE.md rule 7) */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "smtp") == 0 && httpc_host_loopback(host))
		required = false;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return required;
}

int httpc_smtp_send(const char *url, const char *user, const char *password, const char *from,
		    const char *rcpt, const char *message, long timeout)
{
	struct httpc_src src = {message, strlen(message), 0};
	struct curl_slist *rcpts = NULL;
	char *from_arg = xasprintf("<%s>", from);
	CURL *c;
	CURLcode cc;

	httpc_global_init();
	c = curl_easy_init();
	if (c == NULL) {
		free(from_arg);
		return IA_ERR_UPSTREAM;
	}
	rcpts = curl_slist_append(rcpts, rcpt);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (user != NULL && *user != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, password ? password : "");
	}
	/* smtps:// is TLS from the first byte; for smtp://, ALL refuses to go on
	 * (AUTH included) when the server does not offer STARTTLS, so a
	 * STARTTLS stripper in the path learns nothing. */
	curl_easy_setopt(c, CURLOPT_USE_SSL,
			 httpc_smtp_tls_required(url) ? (long)CURLUSESSL_ALL
						      : (long)CURLUSESSL_TRY);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_arg);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, httpc_read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &src);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 30L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		log_warn("smtp: sending failed: %s", curl_easy_strerror(cc));
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(c);
	free(from_arg);
	return cc == CURLE_OK ? 0 : IA_ERR_UPSTREAM;
}
