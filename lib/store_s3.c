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
#include "s3xml.h"
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
/* A request with no byte moving for this long is given up (and retried):
 * a gateway that stops answering costs seconds, not the total timeout
 * times the attempts. */
#define S3_STALL_TIMEOUT  10
#define S3_ERROR_MAX      (64 * 1024) /* an error or empty body in memory */
#define S3_LIST_MAX       (8 << 20)   /* one ListObjectsV2 page (1000 keys) */
#define S3_LIST_PAGES_MAX 100000
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

static char *s3_endpoint(const struct settings *s);
static char *s3_url(const struct settings *s, const struct s3_call *call);
static int s3_perform(const struct settings *s, const struct s3_call *call,
		      struct httpc_response *out);
static int s3_judge(const struct s3_call *call, const struct httpc_response *r);
static int s3_walk_object(const struct s3xml_object *o, void *ctx);

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
	req.stall_timeout = S3_STALL_TIMEOUT;
	req.max_response = call->max_response ? call->max_response : S3_ERROR_MAX;
	req.aws_sigv4 = sigv4;
	req.aws_key_id = s->aws_access_key_id;
	req.aws_secret = s->aws_secret_access_key;
	for (attempt = 0; attempt < (call->attempts ? call->attempts : S3_ATTEMPTS); attempt++) {
		if (attempt > 0)
			ia_sleep_ms(S3_BACKOFF_MS << (attempt - 1));
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
	char code[64];

	if (r->status >= 200 && r->status <= 299)
		return 0;
	if (r->status == 404)
		return IA_ERR_NOTFOUND;
	s3xml_error_code(r->body, r->body_len, code, sizeof(code));
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

/* What s3_each passes through to s3xml_list_page's callback. */
struct s3_walk {
	const char *prefix;
	store_each_fn fn;
	void *ctx;
	size_t skipped;
	int stopped; /* fn's non-zero return */
};

/* Objects that are not media keys (store_key_valid) or lie outside the
 * prefix are skipped: no store operation would accept them. */
static int s3_walk_object(const struct s3xml_object *o, void *ctx)
{
	struct s3_walk *w = ctx;

	if (strncmp(o->key, w->prefix, strlen(w->prefix)) != 0 || !store_key_valid(o->key)) {
		w->skipped++;
		return 0;
	}
	w->stopped = w->fn(o->key, o->bytes, o->mtime, w->ctx);
	return w->stopped;
}

static int s3_each(const struct settings *s, const char *prefix, store_each_fn fn, void *ctx)
{
	struct s3_walk walk = {prefix, fn, ctx, 0, 0};
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
		if (rc == 0) {
			rc = s3xml_list_page(res.body, res.body_len, s3_walk_object, &walk, &token);
			if (rc != 0 && walk.stopped == 0) {
				log_warn("s3: a ListObjectsV2 page of %s is malformed", prefix);
				rc = IA_ERR_IO;
			}
		}
		httpc_response_cleanup(&res);
		if (rc != 0 || token == NULL)
			goto out;
	}
	log_warn("s3: listing %s stopped after %d pages", prefix, pages);
	rc = IA_ERR_TOOBIG;
out:
	if (walk.skipped > 0)
		log_warn("s3: skipped %zu objects under %s that are not media keys", walk.skipped,
			 prefix);
	free(token);
	free(enc_prefix);
	return rc;
}

const struct store_backend store_s3_backend = {
    "s3", s3_put_file, s3_fetch, s3_remove, s3_stat, s3_check, s3_upstream_url, s3_each,
};
