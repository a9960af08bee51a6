/*
 * store_s3.c - the S3 backend of store.h (MEDIA_STORAGE=s3): objects in
 * AWS_STORAGE_BUCKET_NAME at AWS_S3_ENDPOINT_URL, path-style
 * ({endpoint}/{bucket}/{key}), requests signed by libcurl through httpc
 * (AWS SigV4 headers), URLs for nginx presigned by sigv4.c.
 *
 * Every request has a connect timeout and a total one; transport errors
 * and 5xx answers (503 SlowDown included) are retried S3_ATTEMPTS times
 * with exponential backoff, then IA_ERR_UPSTREAM. Bytes never stay on the
 * local disk beyond the temp files of store_fetch and store_put_file.
 * Logs name the method, key and S3 error code, never credentials or a
 * presigned URL.
 */
#include "config.h"

#include "store_backend.h"
#include "err.h"
#include "httpc.h"
#include "log.h"
#include "settings.h"
#include "sigv4.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S3_ATTEMPTS        3
#define S3_BACKOFF_MS      100 /* then 200, 400 */
#define S3_CONNECT_TIMEOUT 5   /* seconds */
#define S3_TIMEOUT         120 /* seconds, plus one per MiB uploaded */
#define S3_CHECK_TIMEOUT   3
#define S3_ERROR_MAX       (64 * 1024) /* an error or empty body in memory */
#define S3_LIST_MAX        (8 << 20)   /* one ListObjectsV2 page (1000 keys) */
#define S3_LIST_PAGES_MAX  100000
/* Keys per ListObjectsV2 page; the unit test builds with a small one. */
#ifndef S3_LIST_PAGE_KEYS
#define S3_LIST_PAGE_KEYS 1000
#endif
#define S3_KEY_MAX      1024 /* S3's own limit, in bytes */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One request to the bucket (key NULL) or an object. */
struct s3_call {
	const char *method;
	const char *key;
	const char *query; /* sorted and SigV4-encoded, or NULL */
	const char *upload_path;
	const char *download_path;
	const char *content_type;
	long connect_timeout;
	long timeout;
	size_t max_response;
	int attempts;
};

/* One object of a ListObjectsV2 page. */
struct s3_entry {
	char key[S3_KEY_MAX + 1];
	int64_t bytes;
	int64_t mtime;
};

static char *s3_endpoint(const struct settings *s);
static char *s3_url(const struct settings *s, const struct s3_call *call);
static void s3_sleep_ms(long ms);
static int s3_perform(const struct settings *s, const struct s3_call *call,
		      struct httpc_response *out);
static int s3_judge(const struct s3_call *call, const struct httpc_response *r);
static bool s3_xml_find(const char *p, const char *end, const char *tag, const char **v,
			size_t *vlen, const char **after);
static int s3_xml_decode(const char *v, size_t n, char *out, size_t outsz);
static int s3_parse_time(const char *v, size_t n, int64_t *out);
static int s3_parse_entry(const char *p, const char *end, struct s3_entry *e);
static int s3_each_page(const char *body, size_t len, const char *prefix, store_each_fn fn,
			void *ctx, char **token);

/* AWS_S3_ENDPOINT_URL without trailing '/'s (heap). */
static char *s3_endpoint(const struct settings *s)
{
	size_t n = strlen(s->aws_s3_endpoint_url);

	while (n > 0 && s->aws_s3_endpoint_url[n - 1] == '/')
		n--;
	return xstrndup(s->aws_s3_endpoint_url, n);
}

static char *s3_url(const struct settings *s, const struct s3_call *call)
{
	char *ep = s3_endpoint(s);
	char *key = sigv4_uri_encode(call->key != NULL ? call->key : "", true);
	char *url =
	    xasprintf("%s/%s%s%s%s%s", ep, s->aws_storage_bucket_name, call->key != NULL ? "/" : "",
		      key, call->query != NULL ? "?" : "", call->query != NULL ? call->query : "");

	free(ep);
	free(key);
	return url;
}

static void s3_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Perform call, retrying transport failures and 5xx answers with backoff.
 * 0 with *out for any other status (s3_judge it); IA_ERR_UPSTREAM when
 * every attempt failed; httpc's IA_ERR_IO/INVAL/TOOBIG as they come.
 */
static int s3_perform(const struct settings *s, const struct s3_call *call,
		      struct httpc_response *out)
{
	const char *hdrs[1];
	char *url = s3_url(s, call), *sigv4 = NULL;
	struct httpc_request req = {0};
	struct httpc_response res;
	long last_status = 0;
	int attempt, rc = IA_ERR_UPSTREAM;

	hdrs[0] = call->upload_path != NULL ? "x-amz-content-sha256: UNSIGNED-PAYLOAD"
					    : "x-amz-content-sha256: " S3_EMPTY_SHA256;
	sigv4 = xasprintf("aws:amz:%s:s3", s->aws_s3_region_name);
	req.method = call->method;
	req.url = url;
	req.headers = hdrs;
	req.nheaders = 1;
	req.content_type = call->content_type;
	req.upload_path = call->upload_path;
	req.download_path = call->download_path;
	req.connect_timeout = call->connect_timeout ? call->connect_timeout : S3_CONNECT_TIMEOUT;
	req.timeout = call->timeout ? call->timeout : S3_TIMEOUT;
	req.max_response = call->max_response ? call->max_response : S3_ERROR_MAX;
	req.aws_sigv4 = sigv4;
	req.aws_key_id = s->aws_access_key_id;
	req.aws_secret = s->aws_secret_access_key;
	for (attempt = 0; attempt < (call->attempts ? call->attempts : S3_ATTEMPTS); attempt++) {
		if (attempt > 0)
			s3_sleep_ms(S3_BACKOFF_MS << (attempt - 1));
		rc = httpc_perform(&req, &res);
		if (rc == IA_ERR_UPSTREAM)
			continue;
		if (rc != 0)
			goto out;
		if (res.status < 500) {
			*out = res;
			goto out;
		}
		last_status = res.status;
		httpc_response_cleanup(&res);
		rc = IA_ERR_UPSTREAM;
	}
	if (last_status != 0)
		log_warn("s3: %s %s: gave up after HTTP %ld", call->method,
			 call->key != NULL ? call->key : "(bucket)", last_status);
	else
		log_warn("s3: %s %s: gave up, storage unreachable", call->method,
			 call->key != NULL ? call->key : "(bucket)");
out:
	free(url);
	free(sigv4);
	return rc;
}

/* 0 for a 2xx; IA_ERR_NOTFOUND for a 404; else IA_ERR_IO, logged with
 * S3's error code (a wrong key or secret is SignatureDoesNotMatch or
 * InvalidAccessKeyId). */
static int s3_judge(const struct s3_call *call, const struct httpc_response *r)
{
	char code[64] = "";
	const char *v, *after;
	size_t vlen;

	if (r->status >= 200 && r->status <= 299)
		return 0;
	if (r->status == 404)
		return IA_ERR_NOTFOUND;
	if (s3_xml_find(r->body, r->body + r->body_len, "Code", &v, &vlen, &after) &&
	    s3_xml_decode(v, vlen, code, sizeof(code)) != 0)
		code[0] = '\0';
	log_warn("s3: %s %s: HTTP %ld %s", call->method, call->key != NULL ? call->key : "(bucket)",
		 r->status, code);
	return IA_ERR_IO;
}

static int s3_put_file(const struct settings *s, const char *key, const char *path,
		       const char *content_type)
{
	struct s3_call call = {0};
	struct httpc_response res;
	struct stat st;
	int rc;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_warn("s3: PUT %s: the local file is missing", key);
		rc = IA_ERR_IO;
		goto out;
	}
	call.method = "PUT";
	call.key = key;
	call.upload_path = path;
	call.content_type = content_type != NULL ? content_type : "application/octet-stream";
	call.timeout = S3_TIMEOUT + (long)(st.st_size >> 20);
	rc = s3_perform(s, &call, &res);
	if (rc != 0)
		goto out;
	rc = s3_judge(&call, &res);
	httpc_response_cleanup(&res);
out:
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("s3: removing the uploaded temp file failed: %s", strerror(errno));
	return rc == IA_ERR_NOTFOUND ? IA_ERR_IO : rc; /* 404: no such bucket */
}

static int s3_fetch(const struct settings *s, const char *key, const char *dir,
		    struct store_local *out)
{
	struct s3_call call = {0};
	struct httpc_response res;
	const char *dot = strrchr(key, '.'), *slash = strrchr(key, '/');
	const char *ext = dot != NULL && (slash == NULL || dot > slash) ? dot : "";
	char *tmpdir = NULL, *path;
	int fd, rc;

	if (dir == NULL)
		tmpdir = store_tmp_dir(s);
	/* The key's extension kept: engines may look at it. */
	path = xasprintf("%s/s3-XXXXXX%s", dir != NULL ? dir : tmpdir, ext);
	fd = mkstemps(path, (int)strlen(ext));
	if (fd < 0) {
		log_warn("s3: GET %s: cannot create a temp file: %s", key, strerror(errno));
		rc = IA_ERR_IO;
		goto out;
	}
	close(fd);
	call.method = "GET";
	call.key = key;
	call.download_path = path;
	call.timeout = S3_TIMEOUT;
	rc = s3_perform(s, &call, &res);
	if (rc == 0) {
		rc = s3_judge(&call, &res);
		httpc_response_cleanup(&res);
	}
	if (rc != 0) {
		unlink(path);
		goto out;
	}
	out->path = path;
	out->temp = true;
	path = NULL;
out:
	free(path);
	free(tmpdir);
	return rc;
}

static int s3_remove(const struct settings *s, const char *key)
{
	struct s3_call call = {0};
	struct httpc_response res;
	int rc;

	if (key == NULL)
		return 0;
	call.method = "DELETE";
	call.key = key;
	rc = s3_perform(s, &call, &res);
	if (rc != 0)
		return rc;
	rc = s3_judge(&call, &res);
	httpc_response_cleanup(&res);
	return rc == IA_ERR_NOTFOUND ? 0 : rc;
}

static int s3_stat(const struct settings *s, const char *key, int64_t *bytes)
{
	struct s3_call call = {0};
	struct httpc_response res;
	char len[32];
	int64_t n = 0;
	int rc;

	call.method = "HEAD";
	call.key = key;
	rc = s3_perform(s, &call, &res);
	if (rc != 0)
		return rc;
	rc = s3_judge(&call, &res);
	if (rc == 0 && (httpc_response_header(&res, "Content-Length", len, sizeof(len)) != 0 ||
			ia_parse_int64(len, 0, INT64_MAX, &n) != 0)) {
		log_warn("s3: HEAD %s: no Content-Length", key);
		rc = IA_ERR_IO;
	}
	httpc_response_cleanup(&res);
	if (rc == 0 && bytes != NULL)
		*bytes = n;
	return rc;
}

/* HEAD of the bucket, once, quickly: /health/ must answer fast. */
static int s3_check(const struct settings *s)
{
	struct s3_call call = {0};
	struct httpc_response res;
	int rc;

	call.method = "HEAD";
	call.connect_timeout = S3_CHECK_TIMEOUT;
	call.timeout = S3_CHECK_TIMEOUT;
	call.attempts = 1;
	rc = s3_perform(s, &call, &res);
	if (rc != 0)
		return rc;
	rc = s3_judge(&call, &res);
	httpc_response_cleanup(&res);
	return rc == IA_ERR_NOTFOUND ? IA_ERR_IO : rc; /* 404: no such bucket */
}

static char *s3_upstream_url(const struct settings *s, const char *key, int64_t now)
{
	struct sigv4_key k = {s->aws_access_key_id, s->aws_secret_access_key, s->aws_s3_region_name,
			      "s3"};
	char *path = xasprintf("/%s/%s", s->aws_storage_bucket_name, key);
	char *url = NULL;

	if (sigv4_presign(&k, "GET", s->aws_s3_endpoint_url, path, now, STORE_UPSTREAM_LIFETIME,
			  &url) != 0) {
		log_error("s3: cannot presign %s (AWS_S3_ENDPOINT_URL or keys malformed)", key);
		url = NULL;
	}
	free(path);
	return url;
}

/*
 * The text between <tag> and </tag> of the first such element in
 * [p, end): *v, *vlen, and *after (just past the closing tag). Elements
 * with attributes or nested same-named ones are not S3's, not handled.
 */
static bool s3_xml_find(const char *p, const char *end, const char *tag, const char **v,
			size_t *vlen, const char **after)
{
	char open[40], close[40];
	size_t olen, clen;
	const char *a, *b;

	olen = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	clen = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	if (p == NULL || p >= end || olen >= sizeof(open) || clen >= sizeof(close))
		return false;
	a = memmem(p, (size_t)(end - p), open, olen);
	if (a == NULL)
		return false;
	a += olen;
	b = memmem(a, (size_t)(end - a), close, clen);
	if (b == NULL)
		return false;
	*v = a;
	*vlen = (size_t)(b - a);
	*after = b + clen;
	return true;
}

/* Append code point cp as UTF-8; false when out of room or invalid. */
static bool s3_utf8(unsigned long cp, char *out, size_t outsz, size_t *o)
{
	unsigned char b[4];
	size_t n, i;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return false;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (*o + n >= outsz)
		return false;
	for (i = 0; i < n; i++)
		out[(*o)++] = (char)b[i];
	return true;
}

/*
 * XML character data v[0..n) with its five named entities and numeric
 * references decoded into out[outsz] (NUL-terminated). IA_ERR_TOOBIG when
 * it does not fit, IA_ERR_INVAL for another '&' sequence or a NUL.
 */
static int s3_xml_decode(const char *v, size_t n, char *out, size_t outsz)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	size_t i = 0, o = 0, k, len;

	while (i < n) {
		if (v[i] == '\0')
			return IA_ERR_INVAL;
		if (v[i] != '&') {
			if (o + 1 >= outsz)
				return IA_ERR_TOOBIG;
			out[o++] = v[i++];
			continue;
		}
		i++;
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
			len = strlen(named[k].name);
			if (n - i >= len && memcmp(v + i, named[k].name, len) == 0)
				break;
		}
		if (k < sizeof(named) / sizeof(named[0])) {
			if (o + 1 >= outsz)
				return IA_ERR_TOOBIG;
			out[o++] = named[k].c;
			i += len;
		} else if (i < n && v[i] == '#') {
			bool hex = i + 1 < n && (v[i + 1] == 'x' || v[i + 1] == 'X');
			unsigned long cp = 0;
			size_t digits = 0;

			for (i += hex ? 2 : 1; i < n && v[i] != ';' && digits < 8; i++, digits++) {
				int d;

				if (v[i] >= '0' && v[i] <= '9')
					d = v[i] - '0';
				else if (hex && v[i] >= 'a' && v[i] <= 'f')
					d = v[i] - 'a' + 10;
				else if (hex && v[i] >= 'A' && v[i] <= 'F')
					d = v[i] - 'A' + 10;
				else
					return IA_ERR_INVAL;
				cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			}
			if (digits == 0 || i >= n || v[i] != ';')
				return IA_ERR_INVAL;
			i++;
			if (!s3_utf8(cp, out, outsz, &o))
				return IA_ERR_INVAL;
		} else {
			return IA_ERR_INVAL;
		}
	}
	if (o >= outsz)
		return IA_ERR_TOOBIG;
	out[o] = '\0';
	return 0;
}

/* n digits of v as a number in [min, max]. */
static bool s3_digits(const char *v, size_t n, int min, int max, int *out)
{
	int x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
	}
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" as S3 writes LastModified. */
static int s3_parse_time(const char *v, size_t n, int64_t *out)
{
	struct tm tm = {0};
	size_t i;
	time_t t;

	if (n < 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' ||
	    v[n - 1] != 'Z' || !s3_digits(v, 4, 1970, 9999, &tm.tm_year) ||
	    !s3_digits(v + 5, 2, 1, 12, &tm.tm_mon) || !s3_digits(v + 8, 2, 1, 31, &tm.tm_mday) ||
	    !s3_digits(v + 11, 2, 0, 23, &tm.tm_hour) || !s3_digits(v + 14, 2, 0, 59, &tm.tm_min) ||
	    !s3_digits(v + 17, 2, 0, 60, &tm.tm_sec))
		return IA_ERR_INVAL;
	if (n > 20) {
		if (v[19] != '.' || n > 20 + 9)
			return IA_ERR_INVAL;
		for (i = 20; i < n - 1; i++)
			if (v[i] < '0' || v[i] > '9')
				return IA_ERR_INVAL;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return IA_ERR_INVAL;
	*out = (int64_t)t;
	return 0;
}

/* The Key, Size and LastModified of one <Contents> element [p, end). */
static int s3_parse_entry(const char *p, const char *end, struct s3_entry *e)
{
	const char *v, *after;
	char num[24];
	size_t vlen;
	int rc;

	if (!s3_xml_find(p, end, "Key", &v, &vlen, &after))
		return IA_ERR_INVAL;
	rc = s3_xml_decode(v, vlen, e->key, sizeof(e->key));
	if (rc != 0)
		return rc;
	if (!s3_xml_find(p, end, "Size", &v, &vlen, &after) || vlen >= sizeof(num))
		return IA_ERR_INVAL;
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	if (ia_parse_int64(num, 0, INT64_MAX, &e->bytes) != 0)
		return IA_ERR_INVAL;
	if (!s3_xml_find(p, end, "LastModified", &v, &vlen, &after))
		return IA_ERR_INVAL;
	return s3_parse_time(v, vlen, &e->mtime);
}

/*
 * Call fn for each object of one ListObjectsV2 page. 0, or fn's non-zero
 * return, or IA_ERR_IO for a malformed page. *token is set to the next
 * page's continuation token (heap) when the listing is truncated, else
 * NULL. Keys that are not media keys (store_key_valid) or lie outside
 * prefix are skipped: no store operation would accept them.
 */
static int s3_each_page(const char *body, size_t len, const char *prefix, store_each_fn fn,
			void *ctx, char **token)
{
	const char *p = body, *end = body + len, *v, *after;
	struct s3_entry *e = xmalloc(sizeof(*e));
	size_t vlen, skipped = 0, plen = strlen(prefix);
	char *tok = NULL;
	int rc = 0;

	*token = NULL;
	while (s3_xml_find(p, end, "Contents", &v, &vlen, &after)) {
		p = after;
		if (s3_parse_entry(v, v + vlen, e) != 0) {
			rc = IA_ERR_IO;
			goto out;
		}
		if (strncmp(e->key, prefix, plen) != 0 || !store_key_valid(e->key)) {
			skipped++;
			continue;
		}
		rc = fn(e->key, e->bytes, e->mtime, ctx);
		if (rc != 0)
			goto out;
	}
	if (s3_xml_find(body, end, "IsTruncated", &v, &vlen, &after) && vlen == 4 &&
	    memcmp(v, "true", 4) == 0) {
		tok = xmalloc(S3_KEY_MAX + 1);
		if (!s3_xml_find(body, end, "NextContinuationToken", &v, &vlen, &after) ||
		    vlen == 0 || s3_xml_decode(v, vlen, tok, S3_KEY_MAX + 1) != 0) {
			rc = IA_ERR_IO;
			goto out;
		}
		*token = tok;
		tok = NULL;
	}
out:
	if (rc == IA_ERR_IO)
		log_warn("s3: a ListObjectsV2 page is malformed");
	if (skipped > 0)
		log_warn("s3: skipped %zu objects under %s that are not media keys", skipped,
			 prefix);
	free(tok);
	free(e);
	return rc;
}

static int s3_each(const struct settings *s, const char *prefix, store_each_fn fn, void *ctx)
{
	struct s3_call call = {0};
	struct httpc_response res;
	char *token = NULL, *enc_prefix = sigv4_uri_encode(prefix, false), *enc_token, *query;
	int pages, rc = 0;

	call.method = "GET";
	call.max_response = S3_LIST_MAX;
	for (pages = 0; pages < S3_LIST_PAGES_MAX; pages++) {
		/* Parameters in byte order of their names, as SigV4 signs them. */
		if (token != NULL) {
			enc_token = sigv4_uri_encode(token, false);
			query = xasprintf("continuation-token=%s&list-type=2&max-keys=%d&prefix=%s",
					  enc_token, S3_LIST_PAGE_KEYS, enc_prefix);
			free(enc_token);
		} else {
			query = xasprintf("list-type=2&max-keys=%d&prefix=%s", S3_LIST_PAGE_KEYS,
					  enc_prefix);
		}
		free(token);
		token = NULL;
		call.query = query;
		rc = s3_perform(s, &call, &res);
		free(query);
		if (rc != 0)
			goto out;
		rc = s3_judge(&call, &res);
		if (rc == IA_ERR_NOTFOUND)
			rc = IA_ERR_IO; /* no such bucket */
		if (rc == 0)
			rc = s3_each_page(res.body, res.body_len, prefix, fn, ctx, &token);
		httpc_response_cleanup(&res);
		if (rc != 0 || token == NULL)
			goto out;
	}
	log_warn("s3: listing %s stopped after %d pages", prefix, pages);
	rc = IA_ERR_TOOBIG;
out:
	free(token);
	free(enc_prefix);
	return rc;
}

const struct store_backend store_s3_backend = {
    "s3", s3_put_file, s3_fetch, s3_remove, s3_stat, s3_check, s3_upstream_url, s3_each,
};
