/*
 * httpc.c - libcurl easy-handle requests with bounded responses, and SMTP
 * submission for mail.c.
 */
#include "config.h"

#include "httpc.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

/*
 * Where a response body goes: memory (bounded by mem->max), or with
 * download_path, a 2xx body to that file, opened at its first byte (or
 * after the transfer for an empty body) once the status is known.
 */
struct httpc_sink {
	CURL *c;
	struct httpc_buf *mem;
	const char *path;
	int fd;     /* the download file once opened, else -1 */
	int to_mem; /* 1: this response is not 2xx, 0: undecided or file */
	int failed; /* opening or writing the file failed */
};

static bool httpc_status_2xx(long status)
{
	return status >= 200 && status <= 299;
}

static int httpc_sink_open(struct httpc_sink *k)
{
	k->fd = open(k->path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (k->fd < 0) {
		log_warn("httpc: cannot create the download file: %s", strerror(errno));
		k->failed = 1;
		return IA_ERR_IO;
	}
	return 0;
}

static size_t httpc_sink_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct httpc_sink *k = ud;
	size_t n = size * nmemb;
	long status = 0;

	if (k->path == NULL || k->to_mem)
		return httpc_collect(ptr, size, nmemb, k->mem);
	if (k->fd < 0) {
		curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &status);
		if (!httpc_status_2xx(status)) {
			k->to_mem = 1;
			return httpc_collect(ptr, size, nmemb, k->mem);
		}
		if (httpc_sink_open(k) != 0)
			return 0;
	}
	if (n > 0 && ia_write_all(k->fd, ptr, n) != 0) {
		log_warn("httpc: writing the download file failed: %s", strerror(errno));
		k->failed = 1;
		return 0;
	}
	return n;
}

static size_t httpc_file_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	FILE *f = ud;
	size_t n = fread(buf, size, nmemb, f);

	if (n == 0 && ferror(f))
		return CURL_READFUNC_ABORT;
	return n;
}

static int httpc_file_seek(void *ud, curl_off_t offset, int origin)
{
	return fseeko((FILE *)ud, (off_t)offset, origin) == 0 ? CURL_SEEKFUNC_OK
							      : CURL_SEEKFUNC_FAIL;
}

/* PUT the file at path, streamed: *fp is the open file (the caller closes). */
static int httpc_upload(CURL *c, const char *path, FILE **fp)
{
	struct stat st;
	FILE *f = fopen(path, "rbe");

	if (f == NULL) {
		log_warn("httpc: cannot open the upload file: %s", strerror(errno));
		return IA_ERR_IO;
	}
	*fp = f;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		log_warn("httpc: the upload file is not a regular file");
		return IA_ERR_IO;
	}
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, httpc_file_read);
	curl_easy_setopt(c, CURLOPT_READDATA, f);
	curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, httpc_file_seek);
	curl_easy_setopt(c, CURLOPT_SEEKDATA, f);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	return 0;
}

/*
 * The method and the request body: multipart, raw body (POST, or PUT),
 * a streamed file (PUT), or none. IA_ERR_INVAL for an unknown method or
 * upload_path without PUT; IA_ERR_IO when the upload file cannot be read.
 */
static int httpc_set_method(CURL *c, const struct httpc_request *req, curl_mime **mime,
			    FILE **upload)
{
	const char *m = req->method != NULL ? req->method : "GET";
	bool put = strcmp(m, "PUT") == 0;

	if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0 && !put && strcmp(m, "HEAD") != 0 &&
	    strcmp(m, "DELETE") != 0)
		return IA_ERR_INVAL;
	if (req->upload_path != NULL && !put)
		return IA_ERR_INVAL;
	if (put && req->upload_path != NULL)
		return httpc_upload(c, req->upload_path, upload);
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		return 0;
	}
	if (strcmp(m, "DELETE") == 0 || put)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	if (req->nparts > 0) {
		*mime = httpc_mime(c, req);
		curl_easy_setopt(c, CURLOPT_MIMEPOST, *mime);
	} else if (req->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(m, "POST") == 0 || put) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	return 0;
}

int httpc_perform(const struct httpc_request *req, struct httpc_response *out)
{
	struct httpc_buf body = {0}, head = {0};
	struct httpc_sink sink = {NULL, &body, NULL, -1, 0, 0};
	struct curl_slist *hdrs = NULL;
	curl_mime *mime = NULL;
	FILE *upload = NULL;
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
	sink.c = c;
	sink.path = req->download_path;
	body.max = req->max_response ? req->max_response : 32u << 20;
	head.max = 64 * 1024;
	for (i = 0; i < req->nheaders; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	if ((req->body != NULL || req->upload_path != NULL) && req->content_type != NULL) {
		ctype = xasprintf("Content-Type: %s", req->content_type);
		hdrs = curl_slist_append(hdrs, ctype);
	}
	/* No "Expect: 100-continue" wait, except under SigV4: libcurl 7.88
	 * signs a blanked header as an empty one it then does not send. */
	if (req->aws_sigv4 == NULL)
		hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 req->connect_timeout ? req->connect_timeout : 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout ? req->timeout : 120L);
	if (req->stall_timeout > 0) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req->stall_timeout);
	}
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, httpc_sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, httpc_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
	if (req->aws_sigv4 != NULL) {
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, req->aws_key_id ? req->aws_key_id : "");
		curl_easy_setopt(c, CURLOPT_PASSWORD, req->aws_secret ? req->aws_secret : "");
	}
	rc = httpc_set_method(c, req, &mime, &upload);
	if (rc != 0)
		goto out;
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (body.overflow) {
		rc = IA_ERR_TOOBIG;
	} else if (sink.failed) {
		rc = IA_ERR_IO;
	} else if (cc != CURLE_OK) {
		log_warn("httpc: request to an outside service failed: %s", curl_easy_strerror(cc));
		rc = IA_ERR_UPSTREAM;
	} else if (sink.path != NULL && sink.fd < 0 && httpc_status_2xx(status)) {
		rc = httpc_sink_open(&sink); /* an empty 2xx body */
	}
	if (sink.fd >= 0 && close(sink.fd) != 0 && rc == 0) {
		log_warn("httpc: closing the download file failed: %s", strerror(errno));
		rc = IA_ERR_IO;
	}
	if (rc != 0 && sink.fd >= 0)
		unlink(sink.path); /* never leave a part of a body behind */
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->status = status;
		out->body = body.data ? body.data : xstrdup("");
		out->body_len = body.len;
		out->headers = head.data ? head.data : xstrdup("");
		body.data = head.data = NULL;
	}
out:
	if (upload != NULL)
		fclose(upload);
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
