/*
 * test_store_s3.c - unit tests for lib/store_s3.c against a real S3
 * server (bin/s3-gateway: radosgw on loopback). IA_TEST_S3_CONF names its
 * storage.conf (AWS_* KEY=VALUE lines); without it the program reports a
 * skip (exit 77, automake's SKIP). Built with S3_LIST_PAGE_KEYS=2 so that
 * store_each walks several ListObjectsV2 pages.
 *
 * Each test works under its own random key prefix and removes what it put.
 */
#include "config.h"

#include "err.h"
#include "httpc.h"
#include "settings.h"
#include "store.h"
#include "store_backend.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static const struct store_backend *b = &store_s3_backend;
static struct settings st;
static char media_root[] = "/tmp/test_store_s3.XXXXXX";

/* The value of KEY in the KEY=VALUE file at path (heap), or NULL. */
static char *conf_value(const char *path, const char *key)
{
	char line[1024];
	size_t klen = strlen(key), n;
	char *v = NULL;
	FILE *f = fopen(path, "r");

	ck_assert_msg(f != NULL, "cannot read IA_TEST_S3_CONF %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		free(v);
		v = xstrdup(line + klen + 1);
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			memmove(v, v + 1, n - 2);
			v[n - 2] = '\0';
		}
	}
	fclose(f);
	return v;
}

/* Create the bucket if the gateway has not (an existing one is fine). */
static void make_bucket(void)
{
	static const char *const hdrs[] = {
	    "x-amz-content-sha256: "
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
	struct httpc_request req = {0};
	struct httpc_response res;
	char *url = xasprintf("%s/%s", st.aws_s3_endpoint_url, st.aws_storage_bucket_name);
	char *sig = xasprintf("aws:amz:%s:s3", st.aws_s3_region_name);

	req.method = "PUT";
	req.url = url;
	req.headers = hdrs;
	req.nheaders = 1;
	req.aws_sigv4 = sig;
	req.aws_key_id = st.aws_access_key_id;
	req.aws_secret = st.aws_secret_access_key;
	ck_assert_int_eq(httpc_perform(&req, &res), 0);
	ck_assert_msg(res.status == 200 || res.status == 409, "create bucket: %ld %s", res.status,
		      res.body);
	httpc_response_cleanup(&res);
	free(url);
	free(sig);
}

static void setup(void)
{
	const char *conf = getenv("IA_TEST_S3_CONF");

	memset(&st, 0, sizeof(st));
	ck_assert_ptr_nonnull(mkdtemp(media_root));
	st.media_root = media_root;
	st.media_storage = "s3";
	st.aws_storage_bucket_name = conf_value(conf, "AWS_STORAGE_BUCKET_NAME");
	st.aws_s3_endpoint_url = conf_value(conf, "AWS_S3_ENDPOINT_URL");
	st.aws_s3_region_name = conf_value(conf, "AWS_S3_REGION_NAME");
	st.aws_access_key_id = conf_value(conf, "AWS_ACCESS_KEY_ID");
	st.aws_secret_access_key = conf_value(conf, "AWS_SECRET_ACCESS_KEY");
	if (st.aws_s3_region_name == NULL)
		st.aws_s3_region_name = xstrdup("us-east-1");
	ck_assert_msg(st.aws_storage_bucket_name != NULL && st.aws_s3_endpoint_url != NULL &&
			  st.aws_access_key_id != NULL && st.aws_secret_access_key != NULL,
		      "%s lacks an AWS_* setting", conf);
	make_bucket();
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", media_root);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(st.aws_storage_bucket_name);
	free(st.aws_s3_endpoint_url);
	free(st.aws_s3_region_name);
	free(st.aws_access_key_id);
	free(st.aws_secret_access_key);
}

/* A temp file of n random bytes under store_tmp_dir (heap path); a copy
 * of the bytes in *bytes when not NULL. */
static char *make_file(size_t n, unsigned char **bytes)
{
	char *dir = store_tmp_dir(&st);
	char *path = xasprintf("%s/up-XXXXXX", dir);
	unsigned char *buf = xmalloc(n > 0 ? n : 1);
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	randombytes_buf(buf, n);
	if (n > 0)
		ck_assert_int_eq(ia_write_all(fd, buf, n), 0);
	close(fd);
	if (bytes != NULL)
		*bytes = buf;
	else
		free(buf);
	free(dir);
	return path;
}

static bool file_equals(const char *path, const unsigned char *bytes, size_t n)
{
	unsigned char *got = xmalloc(n + 1);
	FILE *f = fopen(path, "rb");
	size_t r;
	bool same;

	ck_assert_ptr_nonnull(f);
	r = fread(got, 1, n + 1, f);
	fclose(f);
	same = r == n && memcmp(got, bytes, n) == 0;
	free(got);
	return same;
}

/* Files left in dir (temp copies that should be gone). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct seen {
	const char *key;
	int64_t bytes, mtime;
	int found, total;
};

static int seen_fn(const char *key, int64_t bytes, int64_t mtime, void *ctx)
{
	struct seen *s = ctx;

	s->total++;
	if (strcmp(key, s->key) == 0) {
		s->found++;
		s->bytes = bytes;
		s->mtime = mtime;
	}
	return 0;
}

/* put, stat, fetch, each, remove, and what is left afterwards. */
START_TEST(test_object_life_cycle)
{
	char key[STORE_KEY_MAX];
	unsigned char *bytes;
	char *path = make_file(100000, &bytes), *dir = xasprintf("%s/fetched", media_root);
	struct store_local l = {NULL, false};
	struct seen seen = {key, 0, 0, 0, 0};
	int64_t size = -1;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	store_new_key("images", "png", key);
	ck_assert_int_eq(b->put_file(&st, key, path, "image/png"), 0);
	ck_assert_int_eq(access(path, F_OK), -1); /* consumed */
	ck_assert_int_eq(b->stat(&st, key, &size), 0);
	ck_assert_int_eq(size, 100000);
	ck_assert_int_eq(b->stat(&st, key, NULL), 0);
	ck_assert_int_eq(b->fetch(&st, key, dir, &l), 0);
	ck_assert(l.temp);
	ck_assert_int_eq(strncmp(l.path, dir, strlen(dir)), 0);
	ck_assert_str_eq(l.path + strlen(l.path) - 4, ".png");
	ck_assert(file_equals(l.path, bytes, 100000));
	store_local_cleanup(&l);
	ck_assert_int_eq(count_files(dir), 0);
	/* NULL dir: the host's temp dir. */
	ck_assert_int_eq(b->fetch(&st, key, NULL, &l), 0);
	ck_assert(file_equals(l.path, bytes, 100000));
	store_local_cleanup(&l);
	ck_assert_int_eq(b->each(&st, "images/", seen_fn, &seen), 0);
	ck_assert_int_eq(seen.found, 1);
	ck_assert_int_eq(seen.bytes, 100000);
	ck_assert_msg(seen.mtime > ia_now() - 600 && seen.mtime < ia_now() + 600, "mtime %lld",
		      (long long)seen.mtime);
	ck_assert_int_eq(b->remove(&st, key), 0);
	ck_assert_int_eq(b->stat(&st, key, &size), IA_ERR_NOTFOUND);
	ck_assert_int_eq(b->remove(&st, key), 0); /* missing is fine */
	ck_assert_int_eq(b->remove(&st, NULL), 0);
	ck_assert_int_eq(b->fetch(&st, key, dir, &l), IA_ERR_NOTFOUND);
	ck_assert_int_eq(count_files(dir), 0); /* no partial file */
	seen.found = 0;
	ck_assert_int_eq(b->each(&st, "images/", seen_fn, &seen), 0);
	ck_assert_int_eq(seen.found, 0);
	free(bytes);
	free(path);
	free(dir);
}
END_TEST

static int stop_at_second(const char *key, int64_t bytes, int64_t mtime, void *ctx)
{
	int *n = ctx;

	(void)key;
	(void)bytes;
	(void)mtime;
	return ++*n == 2 ? 42 : 0;
}

/* Five objects over pages of two; a non-zero return stops the walk. */
START_TEST(test_each_walks_every_page)
{
	char keys[5][STORE_KEY_MAX];
	int i, found = 0, calls = 0;
	struct seen seen;

	for (i = 0; i < 5; i++) {
		char *path = make_file((size_t)i * 10, NULL);

		store_new_key("sources", "webp", keys[i]);
		ck_assert_int_eq(b->put_file(&st, keys[i], path, NULL), 0);
		free(path);
	}
	for (i = 0; i < 5; i++) {
		memset(&seen, 0, sizeof(seen));
		seen.key = keys[i];
		ck_assert_int_eq(b->each(&st, "sources/", seen_fn, &seen), 0);
		ck_assert_int_ge(seen.total, 5);
		found += seen.found;
		ck_assert_int_eq(seen.bytes, i * 10);
	}
	ck_assert_int_eq(found, 5);
	ck_assert_int_eq(b->each(&st, "sources/", stop_at_second, &calls), 42);
	ck_assert_int_eq(calls, 2);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(b->remove(&st, keys[i]), 0);
}
END_TEST

/* 12 MB up and down without the process growing by the object's size. */
START_TEST(test_large_object_streams)
{
	const size_t n = 12u << 20;
	char key[STORE_KEY_MAX];
	unsigned char *bytes;
	char *path = make_file(n, &bytes);
	struct store_local l = {NULL, false};
	struct rusage ru0, ru1;
	int64_t size = 0;

	getrusage(RUSAGE_SELF, &ru0);
	store_new_key("images", "jpg", key);
	ck_assert_int_eq(b->put_file(&st, key, path, "image/jpeg"), 0);
	ck_assert_int_eq(b->stat(&st, key, &size), 0);
	ck_assert_int_eq(size, (int64_t)n);
	ck_assert_int_eq(b->fetch(&st, key, NULL, &l), 0);
	getrusage(RUSAGE_SELF, &ru1);
	/* ru_maxrss in KiB; the bytes array itself was resident before. */
	ck_assert_msg(ru1.ru_maxrss - ru0.ru_maxrss < 6 * 1024, "RSS grew by %ld KiB",
		      ru1.ru_maxrss - ru0.ru_maxrss);
	ck_assert(file_equals(l.path, bytes, n));
	store_local_cleanup(&l);
	ck_assert_int_eq(b->remove(&st, key), 0);
	free(bytes);
	free(path);
}
END_TEST

/* A wrong secret is an error everywhere, never a silent success. */
START_TEST(test_wrong_secret_fails)
{
	char key[STORE_KEY_MAX];
	char *path = make_file(1000, NULL), *secret = st.aws_secret_access_key;
	struct store_local l = {NULL, false};
	struct seen seen = {key, 0, 0, 0, 0};
	int rc;

	store_new_key("images", "png", key);
	st.aws_secret_access_key = "wrong-secret-wrong-secret-wrong-secret";
	rc = b->put_file(&st, key, path, "image/png");
	ck_assert_int_ne(rc, 0);
	ck_assert_int_eq(access(path, F_OK), -1); /* consumed on failure too */
	ck_assert_int_ne(b->check(&st), 0);
	ck_assert_int_ne(b->each(&st, "images/", seen_fn, &seen), 0);
	rc = b->stat(&st, key, NULL);
	ck_assert(rc != 0 && rc != IA_ERR_NOTFOUND);
	rc = b->fetch(&st, key, NULL, &l);
	ck_assert(rc != 0 && rc != IA_ERR_NOTFOUND);
	st.aws_secret_access_key = secret;
	ck_assert_int_eq(b->stat(&st, key, NULL), IA_ERR_NOTFOUND); /* nothing was stored */
	free(path);
}
END_TEST

START_TEST(test_check)
{
	char *bucket = st.aws_storage_bucket_name, *endpoint = st.aws_s3_endpoint_url;
	char *slash = xasprintf("%s/", endpoint);
	int64_t t0;

	ck_assert_int_eq(b->check(&st), 0);
	st.aws_s3_endpoint_url = slash; /* a trailing '/' is normalised */
	ck_assert_int_eq(b->check(&st), 0);
	st.aws_s3_endpoint_url = endpoint;
	st.aws_storage_bucket_name = "no-such-bucket-of-test-store-s3";
	ck_assert_int_ne(b->check(&st), 0);
	st.aws_storage_bucket_name = bucket;
	st.aws_s3_endpoint_url = "http://127.0.0.1:1";
	t0 = ia_now();
	ck_assert_int_eq(b->check(&st), IA_ERR_UPSTREAM);
	ck_assert_int_le(ia_now() - t0, 4);
	st.aws_s3_endpoint_url = endpoint;
	free(slash);
}
END_TEST

/* Transport failures are retried, then IA_ERR_UPSTREAM; the file is
 * consumed all the same. */
START_TEST(test_unreachable_is_upstream)
{
	char key[STORE_KEY_MAX];
	char *path = make_file(10, NULL), *endpoint = st.aws_s3_endpoint_url;
	struct store_local l = {NULL, false};
	char *dir = xasprintf("%s/fetched", media_root);

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	store_new_key("images", "png", key);
	st.aws_s3_endpoint_url = "http://127.0.0.1:1";
	ck_assert_int_eq(b->put_file(&st, key, path, NULL), IA_ERR_UPSTREAM);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(b->stat(&st, key, NULL), IA_ERR_UPSTREAM);
	ck_assert_int_eq(b->remove(&st, key), IA_ERR_UPSTREAM);
	ck_assert_int_eq(b->fetch(&st, key, dir, &l), IA_ERR_UPSTREAM);
	ck_assert_int_eq(count_files(dir), 0);
	st.aws_s3_endpoint_url = endpoint;
	free(path);
	free(dir);
}
END_TEST

/* GET url without any credentials: status and, on 200, the bytes. */
static long plain_get(const char *url, const unsigned char *bytes, size_t n)
{
	struct httpc_request req = {0};
	struct httpc_response res;
	long status;

	req.method = "GET";
	req.url = url;
	ck_assert_int_eq(httpc_perform(&req, &res), 0);
	status = res.status;
	if (status == 200)
		ck_assert(res.body_len == n && memcmp(res.body, bytes, n) == 0);
	httpc_response_cleanup(&res);
	return status;
}

/* The presigned URL works for anyone until it expires, for that key only. */
START_TEST(test_upstream_url_presigned)
{
	char key[STORE_KEY_MAX];
	unsigned char *bytes;
	char *path = make_file(5000, &bytes), *url, *old, *other, *p;
	char *cmd, *out = xasprintf("%s/curl.out", media_root);

	store_new_key("images", "webp", key);
	ck_assert_int_eq(b->put_file(&st, key, path, "image/webp"), 0);
	url = b->upstream_url(&st, key, ia_now());
	ck_assert_ptr_nonnull(url);
	ck_assert_ptr_nonnull(strstr(url, "X-Amz-Expires=60&"));
	ck_assert_int_eq(plain_get(url, bytes, 5000), 200);
	/* The curl program, no credentials. */
	cmd = xasprintf("curl -sSf -o '%s' '%s'", out, url);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert(file_equals(out, bytes, 5000));
	/* Signed 2 lifetimes ago: expired. */
	old = b->upstream_url(&st, key, ia_now() - 2 * STORE_UPSTREAM_LIFETIME);
	ck_assert_int_eq(plain_get(old, bytes, 5000), 403);
	/* The signature of one key does not open another. */
	other = xstrdup(url);
	p = strstr(other, ".webp?");
	ck_assert_ptr_nonnull(p);
	p[-1] = p[-1] == '0' ? '1' : '0';
	ck_assert_int_eq(plain_get(other, bytes, 5000), 403);
	ck_assert_int_eq(b->remove(&st, key), 0);
	ck_assert_int_eq(plain_get(url, bytes, 5000), 404);
	free(cmd);
	free(out);
	free(url);
	free(old);
	free(other);
	free(bytes);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_s3");
	TCase *tc = tcase_create("s3");
	SRunner *sr;
	int failed;

	if (getenv("IA_TEST_S3_CONF") == NULL || getenv("IA_TEST_S3_CONF")[0] == '\0') {
		printf("test_store_s3: IA_TEST_S3_CONF is not set (bin/s3-gateway start DIR writes "
		       "DIR/storage.conf): skipped\n");
		return 77;
	}
	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_object_life_cycle);
	tcase_add_test(tc, test_each_walks_every_page);
	tcase_add_test(tc, test_large_object_streams);
	tcase_add_test(tc, test_wrong_secret_fails);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_unreachable_is_upstream);
	tcase_add_test(tc, test_upstream_url_presigned);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
