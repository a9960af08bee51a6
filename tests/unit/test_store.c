/*
 * test_store.c - unit tests for lib/store.c: the shape of fresh media
 * keys, which keys are well formed, and signed media URLs: a round trip
 * through store_verify_uri, tampering with the signature, key or expiry,
 * expiry itself, malformed URIs, and a signed key containing "..".
 * The settings are filled by hand; no environment or files are used
 * except by the tests at the end, which run the local backend's objects
 * and the jobs' temp directories in a private temp dir (the S3 backend's
 * tests are test_store_s3.c, against a real gateway).
 */
#include "config.h"

#include "err.h"
#include "settings.h"
#include "store.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define NOW INT64_C(1800000000)

static struct settings st;
static char key_bytes[] = "0123456789abcdef0123456789abcdef-media";

static void setup(void)
{
	memset(&st, 0, sizeof(st));
	st.secret_key = key_bytes;
	st.secret_key_len = sizeof(key_bytes) - 1;
	st.public_url = "https://img.example.com";
	st.media_root = "/nonexistent-media-root";
	st.media_url_lifetime = 3600;
}

static bool is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

START_TEST(test_new_key_shape)
{
	char k1[STORE_KEY_MAX], k2[STORE_KEY_MAX];

	store_new_key("images", "png", k1);
	store_new_key("images", "png", k2);
	/* "images/" + 2 hex + "/" + 32 hex + ".png" */
	ck_assert_uint_eq(strlen(k1), 7 + 2 + 1 + 32 + 4);
	ck_assert_int_eq(strncmp(k1, "images/", 7), 0);
	ck_assert(is_hex(k1 + 7, 2));
	ck_assert_int_eq(k1[9], '/');
	ck_assert(is_hex(k1 + 10, 32));
	ck_assert_str_eq(k1 + 42, ".png");
	/* the directory is the first two characters of the name */
	ck_assert_int_eq(strncmp(k1 + 7, k1 + 10, 2), 0);
	ck_assert(store_key_valid(k1));
	ck_assert_str_ne(k1, k2);
	store_new_key("sources", "webp", k1);
	ck_assert_int_eq(strncmp(k1, "sources/", 8), 0);
	ck_assert_str_eq(k1 + strlen(k1) - 5, ".webp");
	ck_assert(store_key_valid(k1));
	/* a key outside the two media trees is never valid, even one made here */
	store_new_key("uploads", "webp", k1);
	ck_assert(!store_key_valid(k1));
}
END_TEST

/*
 * Issue 9 point 14: a staff PUT of name "./tmp/ia-upload-…" was accepted
 * (it is not "tmp/…" literally), attached to an image, and deleting that
 * image then unlinked the upload temp file of another request.
 */
START_TEST(test_key_dot_tmp_upload_is_not_a_key)
{
	ck_assert(!store_key_valid("./tmp/ia-upload-AbC123"));
	ck_assert(!store_key_valid("tmp/ia-upload-AbC123"));
	ck_assert(!store_key_valid("images/../tmp/ia-upload-AbC123"));
	ck_assert(!store_key_valid("sources/./../tmp/ia-upload-AbC123"));
}
END_TEST

START_TEST(test_key_valid)
{
	char longest[STORE_KEY_MAX + 1];

	ck_assert(store_key_valid("images/3f/3fa2c1.png"));
	ck_assert(store_key_valid("sources/3f/3fa2c1.jpg"));
	ck_assert(store_key_valid("images/a"));
	ck_assert(store_key_valid("sources/A-b_c.d/e.f"));
	ck_assert(store_key_valid("images/tmp/x.png"));
	ck_assert(store_key_valid("images/.hidden"));

	/* only the two media trees */
	ck_assert(!store_key_valid("a"));
	ck_assert(!store_key_valid("A-b_c.d/e.f"));
	ck_assert(!store_key_valid("mytmp/x.png"));
	ck_assert(!store_key_valid("tmpx/a.png"));
	ck_assert(!store_key_valid("images"));
	ck_assert(!store_key_valid("sources"));
	ck_assert(!store_key_valid("imagesx/a.png"));
	ck_assert(!store_key_valid("Images/a.png"));
	ck_assert(!store_key_valid("ia.sqlite3"));
	/* no empty or "." segment anywhere */
	ck_assert(!store_key_valid("./images/a.png"));
	ck_assert(!store_key_valid("images/./a.png"));
	ck_assert(!store_key_valid("images/a/."));
	ck_assert(!store_key_valid("images/."));
	ck_assert(!store_key_valid("sources//a.png"));
	ck_assert(!store_key_valid("sources/a/"));

	ck_assert(!store_key_valid(""));
	ck_assert(!store_key_valid("/images/a.png"));
	ck_assert(!store_key_valid("images/../etc/passwd"));
	ck_assert(!store_key_valid(".."));
	ck_assert(!store_key_valid("../a"));
	ck_assert(!store_key_valid("images/.."));
	ck_assert(!store_key_valid("images/a..png"));
	ck_assert(!store_key_valid("images//a.png"));
	ck_assert(!store_key_valid("images/"));
	ck_assert(!store_key_valid("tmp/a.png"));
	ck_assert(!store_key_valid("tmp/"));
	ck_assert(!store_key_valid("images/a b.png"));
	ck_assert(!store_key_valid("images/a%2e.png"));
	ck_assert(!store_key_valid("images/a\\b.png"));
	ck_assert(!store_key_valid("images/a?.png"));
	ck_assert(!store_key_valid("images/a\n.png"));
	ck_assert(!store_key_valid("images/\xc3\xa9.png"));

	memset(longest, 'a', STORE_KEY_MAX - 1);
	memcpy(longest, "images/", 7);
	longest[STORE_KEY_MAX - 1] = '\0';
	ck_assert(store_key_valid(longest));
	longest[STORE_KEY_MAX - 1] = 'a';
	longest[STORE_KEY_MAX] = '\0';
	ck_assert(!store_key_valid(longest));
}
END_TEST

/* A signed URL is root-relative: nginx hands the media program the same text. */
static const char *uri_of(const char *url)
{
	ck_assert_int_eq(strncmp(url, "/media/", 7), 0);
	return url;
}

START_TEST(test_signed_url_shape)
{
	char *url = store_signed_url(&st, "images/ab/abcd.png", NOW);
	const char *sig;

	/* root-relative: PUBLIC_URL (set in the fixture) is not part of it */
	ck_assert_int_eq(strncmp(url, "/media/images/ab/abcd.png?exp=1800003600&sig=", 45), 0);
	sig = url + 45;
	ck_assert_uint_eq(strlen(sig), 64);
	ck_assert(is_hex(sig, 64));
	free(url);
}
END_TEST

START_TEST(test_signature_is_hmac_of_key_and_exp)
{
	/* sig = HMAC-SHA256(SECRET_KEY, "<key>\n<exp>"), computed independently */
	static const char msg[] = "images/ab/abcd.png\n1800003600";
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	char *url = store_signed_url(&st, "images/ab/abcd.png", NOW);

	crypto_auth_hmacsha256_state hs;

	crypto_auth_hmacsha256_init(&hs, (const unsigned char *)key_bytes, sizeof(key_bytes) - 1);
	crypto_auth_hmacsha256_update(&hs, (const unsigned char *)msg, sizeof(msg) - 1);
	crypto_auth_hmacsha256_final(&hs, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	ck_assert_str_eq(strstr(url, "&sig=") + 5, hex);
	free(url);
}
END_TEST

START_TEST(test_round_trip)
{
	char key[STORE_KEY_MAX];
	char *url;

	store_new_key("images", "jpg", key);
	url = store_signed_url(&st, key, NOW);
	ck_assert_int_eq(store_verify_uri(&st, uri_of(url), NOW), 0);
	ck_assert_int_eq(store_verify_uri(&st, uri_of(url), NOW + 3599), 0);
	ck_assert_int_eq(store_verify_uri(&st, uri_of(url), 0), 0);
	free(url);
}
END_TEST

/* The media program turns exp into the reply's Cache-Control max-age. */
START_TEST(test_verify_reports_exp)
{
	char *url = store_signed_url(&st, "images/ab/abcd.png", NOW);
	int64_t exp = -1;

	ck_assert_int_eq(store_verify_uri_exp(&st, uri_of(url), NOW + 3600, &exp), IA_ERR_EXPIRED);
	ck_assert_int_eq(exp, -1); /* written only on success */
	ck_assert_int_eq(store_verify_uri_exp(&st, uri_of(url), NOW + 100, &exp), 0);
	ck_assert_int_eq(exp, NOW + 3600);
	free(url);
}
END_TEST

START_TEST(test_expired)
{
	char *url = store_signed_url(&st, "images/ab/abcd.png", NOW);

	ck_assert_int_eq(store_verify_uri(&st, uri_of(url), NOW + 3600), IA_ERR_EXPIRED);
	ck_assert_int_eq(store_verify_uri(&st, uri_of(url), NOW + 100000), IA_ERR_EXPIRED);
	free(url);
}
END_TEST

START_TEST(test_other_secret_refused)
{
	char *url = store_signed_url(&st, "images/ab/abcd.png", NOW);
	static char other[] = "0123456789abcdef0123456789abcdef-medib";

	st.secret_key = other;
	ck_assert_int_eq(store_verify_uri(&st, uri_of(url), NOW), IA_ERR_AUTH);
	free(url);
}
END_TEST

/* Replace the first occurrence of from in s by to (heap result). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);

	ck_assert_ptr_nonnull(at);
	return xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

START_TEST(test_tampered)
{
	char *url = store_signed_url(&st, "images/ab/abcd.png", NOW);
	const char *uri = uri_of(url);
	char *t, *sig;
	size_t i;

	/* each hex digit of the signature flipped in turn */
	t = xstrdup(uri);
	sig = strstr(t, "&sig=") + 5;
	for (i = 0; i < 64; i++) {
		char was = sig[i];

		sig[i] = was == '0' ? '1' : '0';
		ck_assert_msg(store_verify_uri(&st, t, NOW) == IA_ERR_AUTH, "sig[%zu] flipped", i);
		sig[i] = was;
	}
	ck_assert_int_eq(store_verify_uri(&st, t, NOW), 0);
	free(t);

	/* another key, the same signature */
	t = replace(uri, "abcd.png", "abce.png");
	ck_assert_int_eq(store_verify_uri(&st, t, NOW), IA_ERR_AUTH);
	free(t);
	t = replace(uri, "/media/images/", "/media/Images/");
	ck_assert_int_eq(store_verify_uri(&st, t, NOW), IA_ERR_AUTH);
	free(t);
	/* a later expiry, the same signature */
	t = replace(uri, "exp=1800003600", "exp=1800003601");
	ck_assert_int_eq(store_verify_uri(&st, t, NOW), IA_ERR_AUTH);
	free(t);
	t = replace(uri, "exp=1800003600", "exp=99999999999");
	ck_assert_int_eq(store_verify_uri(&st, t, NOW), IA_ERR_AUTH);
	free(t);
	/* an expired link made "fresh" by editing exp is refused as forged, not expired */
	t = replace(uri, "exp=1800003600", "exp=1900000000");
	ck_assert_int_eq(store_verify_uri(&st, t, NOW + 3600), IA_ERR_AUTH);
	free(t);
	free(url);
}
END_TEST

START_TEST(test_malformed_uris)
{
	char *url = store_signed_url(&st, "images/ab/abcd.png", NOW);
	const char *uri = uri_of(url);
	const char *sig = strstr(uri, "&sig=") + 5;
	char *t;
	size_t i;
	char *bad[16];
	size_t n = 0;

	bad[n++] = xstrdup("");
	bad[n++] = xstrdup("/media/images/ab/abcd.png");
	bad[n++] = xstrdup("/media/?exp=1800003600&sig=00");
	bad[n++] = xasprintf("/static/images/ab/abcd.png?exp=1800003600&sig=%s", sig);
	bad[n++] = xasprintf("media/images/ab/abcd.png?exp=1800003600&sig=%s", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?sig=%s&exp=1800003600", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=&sig=%s", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=-1&sig=%s", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=1800003600x&sig=%s", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=1800003600&sig=%.63s", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=1800003600&sig=%s0", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=1800003600&sig=%s&x=1", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=1800003600&sig=%.62szz", sig);
	bad[n++] = xasprintf("/media/images/ab/abcd.png?exp=1800003600&x=1&sig=%s", sig);
	bad[n++] = xasprintf("/media//images/ab/abcd.png?exp=1800003600&sig=%s", sig);
	for (i = 0; i < n; i++) {
		ck_assert_msg(store_verify_uri(&st, bad[i], NOW) == IA_ERR_AUTH, "accepted %s",
			      bad[i]);
		free(bad[i]);
	}
	/* a key at the length bound is refused without overflowing */
	t = xasprintf("/media/%0*d?exp=1800003600&sig=%s", STORE_KEY_MAX, 0, sig);
	ck_assert_int_eq(store_verify_uri(&st, t, NOW), IA_ERR_AUTH);
	free(t);
	free(url);
}
END_TEST

START_TEST(test_signed_bad_key_refused)
{
	static const char *const keys[] = {
	    "images/../../etc/passwd",
	    "tmp/upload.png",
	    "images//a.png",
	    "images/a b.png",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		/* a genuine signature over a bad key still does not open the file */
		char *url = store_signed_url(&st, keys[i], NOW);

		ck_assert_msg(store_verify_uri(&st, uri_of(url), NOW) == IA_ERR_AUTH, "accepted %s",
			      keys[i]);
		free(url);
	}
}
END_TEST

/* Write text to path. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	fclose(f);
}

static int count_key(const char *key, int64_t bytes, int64_t mtime, void *ctx)
{
	int *n = ctx;

	ck_assert_str_eq(key, "images/ab/abcd.png");
	ck_assert_int_eq(bytes, 5);
	ck_assert_int_gt(mtime, 0);
	(*n)++;
	return 0;
}

/* The local backend: put renames from tmp/, fetch names the file itself. */
START_TEST(test_local_backend_objects)
{
	const char *tmp = getenv("TMPDIR");
	char *root = xasprintf("%s/ia-store-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	struct store_local got = {0};
	char *path, *tdir, *sub;
	int64_t bytes = -1;
	int n = 0;

	ck_assert_ptr_nonnull(mkdtemp(root));
	st.media_root = root;
	ck_assert_str_eq(store_backend_name(&st), "local");
	ck_assert_int_eq(store_check(&st), 0);
	ck_assert(!store_exists(&st, "images/ab/abcd.png", &bytes));
	ck_assert_int_eq(bytes, -1);
	ck_assert_int_eq(store_stat(&st, "images/ab/abcd.png", &bytes), IA_ERR_NOTFOUND);
	ck_assert_int_eq(store_fetch(&st, "images/ab/abcd.png", NULL, &got), IA_ERR_NOTFOUND);
	tdir = store_tmp_dir(&st);
	path = xasprintf("%s/upload", tdir);
	write_file(path, "12345");
	ck_assert_int_eq(store_put_file(&st, "images/ab/abcd.png", path, "image/png"), 0);
	ck_assert_int_eq(access(path, F_OK), -1); /* consumed */
	ck_assert(store_exists(&st, "images/ab/abcd.png", &bytes));
	ck_assert_int_eq(bytes, 5);
	ck_assert_int_eq(store_fetch(&st, "images/ab/abcd.png", NULL, &got), 0);
	ck_assert(!got.temp);
	ck_assert_str_eq(got.path + strlen(root), "/images/ab/abcd.png");
	store_local_cleanup(&got);
	ck_assert(store_exists(&st, "images/ab/abcd.png", NULL)); /* not a temp copy */
	ck_assert_int_eq(store_each(&st, "images/", count_key, &n), 0);
	ck_assert_int_eq(n, 1);
	n = 0;
	ck_assert_int_eq(store_each(&st, "sources/", count_key, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert(!store_exists(&st, "images/ab", NULL)); /* a directory is not a file */
	ck_assert_ptr_null(store_upstream_url(&st, "images/ab/abcd.png", NOW));
	/* a bad key is refused, and the file offered is still consumed */
	write_file(path, "x");
	ck_assert_int_eq(store_put_file(&st, "../etc/passwd", path, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(store_remove(&st, "images/ab/abcd.png"), 0);
	ck_assert(!store_exists(&st, "images/ab/abcd.png", NULL));
	ck_assert_int_eq(store_remove(&st, "images/ab/abcd.png"), 0); /* already gone */
	ck_assert_int_eq(store_remove(&st, NULL), 0);
	sub = xasprintf("%s/tmp", root);
	ck_assert_str_eq(tdir, sub);
	/* an upload temp file is neither a media file nor removable by a key */
	free(path);
	path = xasprintf("%s/ia-upload-AbC123", tdir);
	write_file(path, "");
	ck_assert(!store_exists(&st, "./tmp/ia-upload-AbC123", NULL));
	ck_assert_int_eq(store_remove(&st, "./tmp/ia-upload-AbC123"), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);

	rmdir(tdir);
	free(sub);
	sub = xasprintf("%s/images/ab", root);
	rmdir(sub);
	free(sub);
	sub = xasprintf("%s/images", root);
	rmdir(sub);
	free(sub);
	ck_assert_int_eq(rmdir(root), 0); /* nothing else was left behind */
	free(tdir);
	free(path);
	free(root);
}
END_TEST

/* A job's temp directory goes whole, however many files it holds (more
 * than one getdents64 buffer). */
START_TEST(test_tmp_dir_removed_whole)
{
	const char *tmp = getenv("TMPDIR");
	char *root = xasprintf("%s/ia-store-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	char *dir, *path, *tdir;
	int i;

	ck_assert_ptr_nonnull(mkdtemp(root));
	st.media_root = root;
	dir = store_tmp_mkdtemp(&st, "ia-job-");
	ck_assert_ptr_nonnull(dir);
	tdir = store_tmp_dir(&st);
	ck_assert_int_eq(strncmp(dir, tdir, strlen(tdir)), 0);
	ck_assert_int_eq(strncmp(dir + strlen(tdir), "/ia-job-", 8), 0);
	for (i = 0; i < 300; i++) {
		path = xasprintf("%s/file-with-a-rather-long-name-%03d.png.12345.tmp", dir, i);
		write_file(path, "x");
		free(path);
	}
	store_tmp_rmdir(dir);
	ck_assert_int_eq(access(dir, F_OK), -1);
	store_tmp_rmdir(dir); /* gone already: fine */
	store_tmp_rmdir(NULL);
	ck_assert_int_eq(rmdir(tdir), 0);
	ck_assert_int_eq(rmdir(root), 0);
	free(tdir);
	free(dir);
	free(root);
}
END_TEST

/* The set of keys rows name: sorted, each once, asked with bsearch. */
START_TEST(test_keys_set)
{
	struct store_keys k = {NULL, 0, 0};
	const char *in[] = {"sources/b", "images/a", "sources/b", "images/c", "images/a"};
	size_t i;

	store_keys_sort(&k); /* empty: nothing to do */
	ck_assert(!store_keys_has(&k, "images/a"));
	for (i = 0; i < 300; i++)
		store_keys_add(&k, in[i % 5]);
	store_keys_sort(&k);
	ck_assert_uint_eq(k.n, 3);
	ck_assert_str_eq(k.v[0], "images/a");
	ck_assert_str_eq(k.v[1], "images/c");
	ck_assert_str_eq(k.v[2], "sources/b");
	ck_assert(store_keys_has(&k, "images/c"));
	ck_assert(!store_keys_has(&k, "images/b"));
	store_keys_cleanup(&k);
	ck_assert_uint_eq(k.n, 0);
}
END_TEST

START_TEST(test_uri_key)
{
	char key[STORE_KEY_MAX];

	ck_assert_int_eq(store_uri_key("/media/images/ab/abcd.png?exp=1&sig=00", key), 0);
	ck_assert_str_eq(key, "images/ab/abcd.png");
	ck_assert_int_eq(store_uri_key("/media/sources/ab/x.webp", key), 0);
	ck_assert_str_eq(key, "sources/ab/x.webp");
	ck_assert_int_eq(store_uri_key("/media/tmp/ia-upload-x?exp=1", key), IA_ERR_INVAL);
	ck_assert_int_eq(store_uri_key("/media/images/../x.png?e", key), IA_ERR_INVAL);
	ck_assert_int_eq(store_uri_key("/static/images/a.png", key), IA_ERR_INVAL);
	ck_assert_int_eq(store_uri_key("/media/?exp=1", key), IA_ERR_INVAL);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("keys-and-urls");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_new_key_shape);
	tcase_add_test(tc, test_key_valid);
	tcase_add_test(tc, test_key_dot_tmp_upload_is_not_a_key);
	tcase_add_test(tc, test_signed_url_shape);
	tcase_add_test(tc, test_signature_is_hmac_of_key_and_exp);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_verify_reports_exp);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_other_secret_refused);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_malformed_uris);
	tcase_add_test(tc, test_signed_bad_key_refused);
	tcase_add_test(tc, test_local_backend_objects);
	tcase_add_test(tc, test_tmp_dir_removed_whole);
	tcase_add_test(tc, test_uri_key);
	tcase_add_test(tc, test_keys_set);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(store_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
