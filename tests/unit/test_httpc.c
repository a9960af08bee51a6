/*
 * test_httpc.c - unit tests for lib/httpc.c: the SMTP TLS decision
 * (smtp:// to anything but a loopback host requires STARTTLS, issue 9
 * point 3: credentials never in clear; smtps:// is TLS, loopback may be
 * plain), and the HTTP transport against a small HTTP/1.1 server forked
 * on loopback for each test: streamed PUT from a file, HEAD, DELETE,
 * downloads into a file (2xx only), and AWS SigV4 headers.
 */
#include "config.h"

#include "httpc.h"
#include "err.h"
#include "testsrv.h"
#include "util.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(test_loopback_may_be_plain)
{
	ck_assert(!httpc_smtp_tls_required("smtp://127.0.0.1:2525"));
	ck_assert(!httpc_smtp_tls_required("smtp://127.10.20.30"));
	ck_assert(!httpc_smtp_tls_required("smtp://localhost:25"));
	ck_assert(!httpc_smtp_tls_required("smtp://LOCALHOST"));
	ck_assert(!httpc_smtp_tls_required("smtp://[::1]:25"));
	ck_assert(!httpc_smtp_tls_required("smtp://user:pass@127.0.0.1:25/helo"));
	ck_assert(!httpc_smtp_tls_required("SMTP://127.0.0.1"));
}
END_TEST

START_TEST(test_other_hosts_require_tls)
{
	ck_assert(httpc_smtp_tls_required("smtp://smtp.example.com:587"));
	ck_assert(httpc_smtp_tls_required("smtp://192.0.2.2:2525"));
	ck_assert(httpc_smtp_tls_required("smtp://10.0.0.1"));
	ck_assert(httpc_smtp_tls_required("smtp://[2001:db8::1]:25"));
	ck_assert(httpc_smtp_tls_required("smtp://127.0.0.1.evil.example"));
	ck_assert(httpc_smtp_tls_required("smtp://localhost.evil.example"));
	ck_assert(httpc_smtp_tls_required("smtp://127.0.0.1@evil.example"));
	ck_assert(httpc_smtp_tls_required("smtps://127.0.0.1:465"));
	ck_assert(httpc_smtp_tls_required("smtps://smtp.example.com"));
	ck_assert(httpc_smtp_tls_required(""));
	ck_assert(httpc_smtp_tls_required("not a url"));
	ck_assert(httpc_smtp_tls_required(NULL));
}
END_TEST

/* The loopback server of this test process (Check forks one per test). */
static int srv_port;
static char srv_dir[] = "/tmp/test_httpc.XXXXXX";

/* Byte i of the bodies both sides generate. */
static unsigned char pattern_byte(size_t i)
{
	return (unsigned char)((i * 7919u) >> 3);
}

/* Content-Length of a request head, 0 when absent. */
static size_t srv_content_length(const char *head)
{
	const char *p = strcasestr(head, "\r\ncontent-length:");

	return p != NULL ? strtoul(p + 17, NULL, 10) : 0;
}

/*
 * One connection: read the head and the body (hashing it), then answer by
 * path: /missing 404, /empty an empty 200, /truncated a 200 cut short,
 * /big?n=N N pattern bytes, anything else 200 with "len=<n> sha=<hex>"
 * and the request head echoed. HEAD gets a Content-Length and no body.
 */
static void srv_serve(int fd)
{
	static char head[65536];
	char buf[65536], path[256], method[16], reply[512];
	unsigned char hash[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	crypto_hash_sha256_state st;
	size_t hlen = 0, clen, got = 0, extra, n;
	char *end = NULL;
	ssize_t r;

	while (end == NULL && hlen < sizeof(head) - 1) {
		r = read(fd, head + hlen, sizeof(head) - 1 - hlen);
		if (r <= 0)
			return;
		hlen += (size_t)r;
		head[hlen] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (end == NULL)
		return;
	end += 4;
	clen = srv_content_length(head);
	crypto_hash_sha256_init(&st);
	extra = hlen - (size_t)(end - head);
	crypto_hash_sha256_update(&st, (unsigned char *)end, extra);
	got = extra;
	*end = '\0';
	while (got < clen) {
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			return;
		crypto_hash_sha256_update(&st, (unsigned char *)buf, (size_t)r);
		got += (size_t)r;
	}
	crypto_hash_sha256_final(&st, hash);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	n = strcspn(head, " ");
	if (n >= sizeof(method) || head[n] != ' ')
		return;
	memcpy(method, head, n);
	method[n] = '\0';
	extra = strcspn(head + n + 1, " ");
	if (extra >= sizeof(path))
		return;
	memcpy(path, head + n + 1, extra);
	path[extra] = '\0';
	if (strcmp(method, "HEAD") == 0) {
		n = (size_t)snprintf(reply, sizeof(reply),
				     "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n"
				     "Connection: close\r\n\r\n");
		testsrv_send(fd, reply, n);
	} else if (strcmp(path, "/missing") == 0) {
		static const char nf[] =
		    "HTTP/1.1 404 Not Found\r\nContent-Length: 8\r\n\r\nnot here";

		testsrv_send(fd, nf, sizeof(nf) - 1);
	} else if (strcmp(path, "/empty") == 0) {
		n = (size_t)snprintf(reply, sizeof(reply),
				     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		testsrv_send(fd, reply, n);
	} else if (strcmp(path, "/truncated") == 0) {
		n = (size_t)snprintf(reply, sizeof(reply),
				     "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
		testsrv_send(fd, reply, n);
	} else if (strncmp(path, "/big?n=", 7) == 0) {
		size_t total = strtoul(path + 7, NULL, 10), i, off = 0;

		n = (size_t)snprintf(reply, sizeof(reply),
				     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
		testsrv_send(fd, reply, n);
		while (off < total) {
			n = total - off < sizeof(buf) ? total - off : sizeof(buf);
			for (i = 0; i < n; i++)
				buf[i] = (char)pattern_byte(off + i);
			testsrv_send(fd, buf, n);
			off += n;
		}
	} else {
		int blen = snprintf(buf, sizeof(buf), "len=%zu sha=%s\n%s", got, hex, head);

		n = (size_t)snprintf(reply, sizeof(reply),
				     "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", blen);
		testsrv_send(fd, reply, n);
		testsrv_send(fd, buf, (size_t)blen);
	}
}

static void srv_start(void)
{
	ck_assert_ptr_nonnull(mkdtemp(srv_dir));
	srv_port = testsrv_start(srv_serve);
}

static void srv_stop(void)
{
	char *cmd;

	testsrv_stop();
	cmd = xasprintf("rm -rf '%s'", srv_dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static char *srv_url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv_port, path);
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", srv_dir, name);
}

/* A file of n pattern bytes; its SHA-256 in hex into hex. */
static char *make_file(const char *name, size_t n, char hex[2 * crypto_hash_sha256_BYTES + 1])
{
	unsigned char buf[8192], hash[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");
	size_t off = 0, i, k;

	ck_assert_ptr_nonnull(f);
	crypto_hash_sha256_init(&st);
	while (off < n) {
		k = n - off < sizeof(buf) ? n - off : sizeof(buf);
		for (i = 0; i < k; i++)
			buf[i] = pattern_byte(off + i);
		ck_assert_uint_eq(fwrite(buf, 1, k, f), k);
		crypto_hash_sha256_update(&st, buf, k);
		off += k;
	}
	ck_assert_int_eq(fclose(f), 0);
	crypto_hash_sha256_final(&st, hash);
	sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, hash, sizeof(hash));
	return path;
}

static int run(const char *method, const char *path, struct httpc_request *req,
	       struct httpc_response *out)
{
	char *url = srv_url(path);
	int rc;

	req->method = method;
	req->url = url;
	rc = httpc_perform(req, out);
	free(url);
	return rc;
}

/* 10 MB through a 64 KiB response bound: the upload is a stream. */
START_TEST(test_put_streams_the_file)
{
	static const char *const hdrs[] = {"x-amz-content-sha256: UNSIGNED-PAYLOAD"};
	struct httpc_request req = {0};
	struct httpc_response res;
	char hex[65], *expect;
	char *file = make_file("up.bin", 10u << 20, hex);

	req.upload_path = file;
	req.content_type = "image/png";
	req.headers = hdrs;
	req.nheaders = 1;
	req.max_response = 64 * 1024;
	ck_assert_int_eq(run("PUT", "/echo", &req, &res), 0);
	ck_assert_int_eq(res.status, 200);
	expect = xasprintf("len=%u sha=%s\nPUT /echo HTTP/1.1\r\n", 10u << 20, hex);
	ck_assert_msg(strncmp(res.body, expect, strlen(expect)) == 0, "got %s", res.body);
	ck_assert_ptr_nonnull(strcasestr(res.body, "\r\nContent-Length: 10485760\r\n"));
	ck_assert_ptr_nonnull(strcasestr(res.body, "\r\nContent-Type: image/png\r\n"));
	ck_assert_ptr_nonnull(
	    strcasestr(res.body, "\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"));
	ck_assert_ptr_null(strcasestr(res.body, "\r\nExpect:"));
	httpc_response_cleanup(&res);
	/* A retry sends the whole file again. */
	ck_assert_int_eq(run("PUT", "/echo", &req, &res), 0);
	ck_assert(strncmp(res.body, expect, strlen(expect)) == 0);
	httpc_response_cleanup(&res);
	free(expect);
	free(file);
}
END_TEST

START_TEST(test_put_of_an_empty_file)
{
	struct httpc_request req = {0};
	struct httpc_response res;
	char hex[65];
	char *file = make_file("empty.bin", 0, hex);

	req.upload_path = file;
	ck_assert_int_eq(run("PUT", "/echo", &req, &res), 0);
	ck_assert(strncmp(res.body, "len=0 sha=e3b0c442", 18) == 0);
	ck_assert_ptr_nonnull(strcasestr(res.body, "\r\nContent-Length: 0\r\n"));
	httpc_response_cleanup(&res);
	free(file);
}
END_TEST

START_TEST(test_head_and_delete)
{
	struct httpc_request req = {0};
	struct httpc_response res;
	char v[32];

	ck_assert_int_eq(run("HEAD", "/obj", &req, &res), 0);
	ck_assert_int_eq(res.status, 200);
	ck_assert_uint_eq(res.body_len, 0);
	ck_assert_int_eq(httpc_response_header(&res, "content-length", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "1234");
	httpc_response_cleanup(&res);
	ck_assert_int_eq(run("DELETE", "/obj", &req, &res), 0);
	ck_assert(strncmp(res.body, "len=0 ", 6) == 0);
	ck_assert_ptr_nonnull(strstr(res.body, "\nDELETE /obj HTTP/1.1\r\n"));
	httpc_response_cleanup(&res);
	ck_assert_int_eq(run(NULL, "/obj", &req, &res), 0);
	ck_assert_ptr_nonnull(strstr(res.body, "\nGET /obj HTTP/1.1\r\n"));
	httpc_response_cleanup(&res);
}
END_TEST

/* max_response bounds memory, not a download into a file. */
START_TEST(test_download_2xx_into_file)
{
	struct httpc_request req = {0};
	struct httpc_response res;
	char *file = tmp_path("down.bin");
	struct stat st;
	FILE *f;
	size_t i;
	int ch;

	req.download_path = file;
	req.max_response = 1024;
	ck_assert_int_eq(run("GET", "/big?n=3000000", &req, &res), 0);
	ck_assert_int_eq(res.status, 200);
	ck_assert_uint_eq(res.body_len, 0);
	httpc_response_cleanup(&res);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_size, 3000000);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	f = fopen(file, "rb");
	ck_assert_ptr_nonnull(f);
	for (i = 0; (ch = fgetc(f)) != EOF; i++)
		ck_assert_int_eq(ch, pattern_byte(i));
	fclose(f);
	/* Truncated, not appended, by the next one. */
	ck_assert_int_eq(run("GET", "/big?n=10", &req, &res), 0);
	httpc_response_cleanup(&res);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_size, 10);
	/* An empty 2xx body is an empty file. */
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(run("GET", "/empty", &req, &res), 0);
	httpc_response_cleanup(&res);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	free(file);
}
END_TEST

START_TEST(test_download_error_body_stays_in_memory)
{
	struct httpc_request req = {0};
	struct httpc_response res;
	char *file = tmp_path("down.bin");
	struct stat st;

	req.download_path = file;
	ck_assert_int_eq(run("GET", "/missing", &req, &res), 0);
	ck_assert_int_eq(res.status, 404);
	ck_assert_str_eq(res.body, "not here");
	httpc_response_cleanup(&res);
	ck_assert_int_eq(stat(file, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* Still bounded by max_response. */
	req.max_response = 4;
	ck_assert_int_eq(run("GET", "/missing", &req, &res), IA_ERR_TOOBIG);
	free(file);
}
END_TEST

START_TEST(test_download_cut_short_leaves_no_file)
{
	struct httpc_request req = {0};
	struct httpc_response res;
	char *file = tmp_path("down.bin");
	struct stat st;

	req.download_path = file;
	ck_assert_int_eq(run("GET", "/truncated", &req, &res), IA_ERR_UPSTREAM);
	ck_assert_int_eq(stat(file, &st), -1);
	free(file);
}
END_TEST

START_TEST(test_refuses_bad_requests)
{
	struct httpc_request req = {0};
	struct httpc_response res;
	char hex[65];
	char *missing = tmp_path("no-such-file");
	char *file = make_file("x.bin", 10, hex);
	char *nodir = tmp_path("no-such-dir/down.bin");

	req.upload_path = missing;
	ck_assert_int_eq(run("PUT", "/echo", &req, &res), IA_ERR_IO);
	req.upload_path = srv_dir; /* a directory */
	ck_assert_int_eq(run("PUT", "/echo", &req, &res), IA_ERR_IO);
	req.upload_path = file;
	ck_assert_int_eq(run("POST", "/echo", &req, &res), IA_ERR_INVAL);
	req.upload_path = NULL;
	ck_assert_int_eq(run("PATCH", "/echo", &req, &res), IA_ERR_INVAL);
	req.download_path = nodir;
	ck_assert_int_eq(run("GET", "/big?n=100", &req, &res), IA_ERR_IO);
	free(missing);
	free(file);
	free(nodir);
}
END_TEST

/* libcurl signs; the caller's x-amz-content-sha256 is sent and signed. */
START_TEST(test_aws_sigv4_headers)
{
	static const char *const hdrs[] = {
	    "x-amz-content-sha256: "
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
	struct httpc_request req = {0};
	struct httpc_response res;
	const char *auth;

	req.headers = hdrs;
	req.nheaders = 1;
	req.aws_sigv4 = "aws:amz:us-east-1:s3";
	req.aws_key_id = "AKIDEXAMPLE";
	req.aws_secret = "not-logged-secret";
	ck_assert_int_eq(run("GET", "/bucket/key", &req, &res), 0);
	auth = strcasestr(res.body, "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/");
	ck_assert_msg(auth != NULL, "got %s", res.body);
	ck_assert_ptr_nonnull(strstr(auth, "/us-east-1/s3/aws4_request"));
	ck_assert_ptr_nonnull(strstr(auth, "x-amz-content-sha256"));
	ck_assert_ptr_nonnull(strcasestr(res.body, "\r\nX-Amz-Date: "));
	ck_assert_ptr_null(strstr(res.body, "not-logged-secret"));
	httpc_response_cleanup(&res);
}
END_TEST

/*
 * Regression: the "Expect:" line that turns off 100-continue was signed by
 * libcurl 7.88 as "expect:" but not sent, so every S3 request failed with
 * SignatureDoesNotMatch. Every signed header must be in the request.
 */
START_TEST(test_sigv4_signs_only_headers_it_sends)
{
	static const char *const hdrs[] = {"x-amz-content-sha256: UNSIGNED-PAYLOAD"};
	struct httpc_request req = {0};
	struct httpc_response res;
	const char *list, *end;
	char hex[65], name[64], *line;
	char *file = make_file("signed.bin", 100, hex);
	size_t n;

	req.headers = hdrs;
	req.nheaders = 1;
	req.upload_path = file;
	req.content_type = "image/png";
	req.aws_sigv4 = "aws:amz:us-east-1:s3";
	req.aws_key_id = "AKIDEXAMPLE";
	req.aws_secret = "secret";
	ck_assert_int_eq(run("PUT", "/bucket/key", &req, &res), 0);
	list = strstr(res.body, "SignedHeaders=");
	ck_assert_ptr_nonnull(list);
	list += 14;
	end = list + strcspn(list, ",\r\n");
	ck_assert_ptr_null(strstr(res.body, "expect"));
	while (list < end) {
		n = strcspn(list, ";,\r\n");
		ck_assert_uint_lt(n, sizeof(name) - 3);
		name[0] = '\n';
		memcpy(name + 1, list, n);
		name[n + 1] = ':';
		name[n + 2] = '\0';
		line = strcasestr(res.body, name);
		ck_assert_msg(line != NULL, "signed %s not sent: %s", name + 1, res.body);
		list += n + (list[n] == ';');
	}
	httpc_response_cleanup(&res);
	free(file);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("httpc");
	TCase *tc = tcase_create("smtp_tls");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_loopback_may_be_plain);
	tcase_add_test(tc, test_other_hosts_require_tls);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, srv_start, srv_stop);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_put_streams_the_file);
	tcase_add_test(tc, test_put_of_an_empty_file);
	tcase_add_test(tc, test_head_and_delete);
	tcase_add_test(tc, test_download_2xx_into_file);
	tcase_add_test(tc, test_download_error_body_stays_in_memory);
	tcase_add_test(tc, test_download_cut_short_leaves_no_file);
	tcase_add_test(tc, test_refuses_bad_requests);
	tcase_add_test(tc, test_aws_sigv4_headers);
	tcase_add_test(tc, test_sigv4_signs_only_headers_it_sends);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
