/*
 * test_upload.c - unit tests for lib/upload.c: a form with text fields and
 * a binary file read in small chunks; every failure (body too large, two
 * files, wrong field, missing close, read error, limits) must leave the
 * temp directory empty and the caller's form untouched.
 */
#include "config.h"

#include "err.h"
#include "upload.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define B   "xYzBoundary0123"
#define CT  "multipart/form-data; boundary=\"" B "\""
#define UNI "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80"

/* A body served in slices of at most chunk bytes; fails at fail_after. */
struct src {
	const char *p;
	size_t n, pos, chunk;
	size_t fail_after; /* 0: never fail */
};

static long src_read(void *ctx, char *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->n - s->pos;

	if (s->fail_after != 0 && s->pos >= s->fail_after)
		return -1;
	if (n > len)
		n = len;
	if (n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

struct bytes {
	char *p;
	size_t n;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	b->p = xrealloc(b->p, b->n + n + 1);
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void bytes_adds(struct bytes *b, const char *s)
{
	bytes_add(b, s, strlen(s));
}

static void add_field(struct bytes *b, const char *name, const char *value)
{
	char *s = xasprintf("--" B "\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
			    "%s\r\n",
			    name, value);

	bytes_adds(b, s);
	free(s);
}

static void add_file(struct bytes *b, const char *name, const char *filename,
		     const struct bytes *data)
{
	char *s = xasprintf("--" B "\r\nContent-Disposition: form-data; name=\"%s\"; "
			    "filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n",
			    name, filename);

	bytes_adds(b, s);
	bytes_add(b, data->p, data->n);
	bytes_adds(b, "\r\n");
	free(s);
}

static void add_close(struct bytes *b)
{
	bytes_adds(b, "--" B "--\r\n");
}

/* Binary file contents with CR/LF, NUL and boundary-like bytes. */
static void file_data(struct bytes *d, size_t filler)
{
	static const char head[] = "\x89PNG\r\n\x1a\n\0\r\n--xYzBound\r\n--xYzBoundary012-\r";
	char *fill = xmalloc(filler + 1);
	size_t i;

	for (i = 0; i < filler; i++)
		fill[i] = (char)(i * 7 + 3);
	bytes_add(d, head, sizeof(head) - 1);
	bytes_add(d, fill, filler);
	free(fill);
	bytes_adds(d, "\r\n--"
		      "xYzBoundary012");
}

static char *tmpdir_new(void)
{
	char *dir = xstrdup("/tmp/ia-test-upload-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static size_t dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	for (e = readdir(d); e != NULL; e = readdir(d))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Remove the (expected empty) temp dir. */
static void tmpdir_free(char *dir)
{
	ck_assert_uint_eq(dir_count(dir), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}

/*
 * Run upload_parse on body in chunks of 7 bytes; on failure check that *out
 * kept its sentinel bytes and the directory is empty.
 */
static int run(const struct bytes *body, size_t max_body, const char *dir, struct upload_form *out)
{
	struct src s = {body->p, body->n, 0, 7, 0};
	struct upload_form sentinel;
	int rc;

	memset(out, 0x5a, sizeof(*out));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	rc = upload_parse(CT, src_read, &s, max_body, "image", dir, out);
	if (rc != 0) {
		ck_assert(memcmp(out, &sentinel, sizeof(*out)) == 0);
		ck_assert_uint_eq(dir_count(dir), 0);
	}
	return rc;
}

static void assert_file(const char *path, const struct bytes *want)
{
	struct stat st;
	FILE *f;
	char *got = xmalloc(want->n + 1);

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq((size_t)st.st_size, want->n);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(got, 1, want->n + 1, f), want->n);
	fclose(f);
	ck_assert(want->n == 0 || memcmp(got, want->p, want->n) == 0);
	free(got);
}

START_TEST(test_form_with_file)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();
	char *path;

	file_data(&data, 50000);
	bytes_adds(&body, "preamble\r\n");
	add_field(&body, "width", "800");
	add_file(&body, "image", "../../etc/cat.png", &data);
	add_field(&body, "caption", UNI);
	add_field(&body, "empty", "");
	add_close(&body);
	ck_assert_int_eq(run(&body, body.n, dir, &form), 0); /* exactly max_body */
	ck_assert_uint_eq(form.nfields, 3);
	ck_assert_str_eq(upload_form_get(&form, "width"), "800");
	ck_assert_str_eq(upload_form_get(&form, "caption"), UNI);
	ck_assert_str_eq(upload_form_get(&form, "empty"), "");
	ck_assert_ptr_null(upload_form_get(&form, "image"));
	ck_assert_ptr_null(upload_form_get(&form, "missing"));
	ck_assert_str_eq(form.file_name, "../../etc/cat.png");
	ck_assert_uint_eq(form.file_size, data.n);
	ck_assert_ptr_nonnull(form.file_tmp_path);
	ck_assert(strncmp(form.file_tmp_path, dir, strlen(dir)) == 0);
	assert_file(form.file_tmp_path, &data);
	ck_assert_uint_eq(dir_count(dir), 1);

	path = upload_form_take_file(&form);
	ck_assert_ptr_nonnull(path);
	ck_assert_ptr_null(form.file_tmp_path);
	ck_assert_ptr_null(upload_form_take_file(&form));
	upload_form_cleanup(&form);
	ck_assert_uint_eq(dir_count(dir), 1); /* taken: the caller owns it now */
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_cleanup_unlinks)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();

	file_data(&data, 10);
	add_file(&body, "image", "a.png", &data);
	add_close(&body);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), 0);
	ck_assert_uint_eq(dir_count(dir), 1);
	upload_form_cleanup(&form);
	ck_assert_ptr_null(form.file_tmp_path);
	ck_assert_ptr_null(form.file_name);
	ck_assert_uint_eq(form.nfields, 0);
	upload_form_cleanup(&form); /* twice is harmless */
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_over_max_body)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();

	file_data(&data, 100000);
	add_field(&body, "width", "800");
	add_file(&body, "image", "big.png", &data);
	add_close(&body);
	/* the file part is well under way when the bound is hit */
	ck_assert_int_eq(run(&body, body.n - 1, dir, &form), IA_ERR_TOOBIG);
	ck_assert_int_eq(run(&body, 5000, dir, &form), IA_ERR_TOOBIG);
	ck_assert_int_eq(run(&body, 0, dir, &form), IA_ERR_TOOBIG);
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_two_files)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();

	file_data(&data, 100);
	add_file(&body, "image", "a.png", &data);
	add_file(&body, "image", "b.png", &data);
	add_close(&body);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), IA_ERR_INVAL);
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_file_under_other_field)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();

	file_data(&data, 100);
	add_file(&body, "avatar", "a.png", &data);
	add_close(&body);
	/* issue 9 point 11: skipped, so the caller says "Image file is required." */
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), 0);
	ck_assert_ptr_null(form.file_tmp_path);
	upload_form_cleanup(&form);
	free(body.p);
	/* after a good file part: that one is the upload */
	body.p = NULL;
	body.n = 0;
	add_file(&body, "image", "a.png", &data);
	add_file(&body, "other", "b.png", &data);
	add_close(&body);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), 0);
	ck_assert_ptr_nonnull(form.file_tmp_path);
	ck_assert_str_eq(form.file_name, "a.png");
	ck_assert_uint_eq(form.file_size, data.n);
	upload_form_cleanup(&form);
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_missing_close)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();

	file_data(&data, 1000);
	add_field(&body, "width", "800");
	add_file(&body, "image", "a.png", &data);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), IA_ERR_INVAL);
	/* cut inside the file part */
	body.n -= 500;
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), IA_ERR_INVAL);
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_read_error)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form, sentinel;
	char *dir = tmpdir_new();
	struct src s;

	file_data(&data, 5000);
	add_file(&body, "image", "a.png", &data);
	add_close(&body);
	s = (struct src){body.p, body.n, 0, 100, 1000};
	memset(&form, 0x5a, sizeof(form));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	ck_assert_int_eq(upload_parse(CT, src_read, &s, 1 << 20, "image", dir, &form),
			 IA_ERR_UPSTREAM);
	ck_assert(memcmp(&form, &sentinel, sizeof(form)) == 0);
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_bad_tmp_dir)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	struct src s;

	file_data(&data, 10);
	add_file(&body, "image", "a.png", &data);
	add_close(&body);
	s = (struct src){body.p, body.n, 0, 4096, 0};
	ck_assert_int_eq(
	    upload_parse(CT, src_read, &s, 1 << 20, "image", "/nonexistent/ia-test-dir", &form),
	    IA_ERR_IO);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_no_file_and_empty_filename)
{
	struct bytes body = {NULL, 0}, none = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();

	add_field(&body, "prompt", "a cat");
	add_file(&body, "image", "", &none); /* an unfilled file input */
	add_file(&body, "other", "", &none);
	add_close(&body);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), 0);
	ck_assert_uint_eq(form.nfields, 1);
	ck_assert_str_eq(upload_form_get(&form, "prompt"), "a cat");
	ck_assert_ptr_null(form.file_name);
	ck_assert_ptr_null(form.file_tmp_path);
	ck_assert_uint_eq(form.file_size, 0);
	ck_assert_ptr_null(upload_form_take_file(&form));
	upload_form_cleanup(&form);
	tmpdir_free(dir);
	free(body.p);
}
END_TEST

START_TEST(test_empty_file)
{
	struct bytes body = {NULL, 0}, none = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();

	add_file(&body, "image", "zero.png", &none);
	add_close(&body);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), 0);
	ck_assert_str_eq(form.file_name, "zero.png");
	ck_assert_uint_eq(form.file_size, 0);
	assert_file(form.file_tmp_path, &none);
	upload_form_cleanup(&form);
	tmpdir_free(dir);
	free(body.p);
}
END_TEST

static int fields_run(size_t nfields, size_t name_len, size_t value_len, const char *dir)
{
	struct bytes body = {NULL, 0};
	struct upload_form form;
	char *name = xcalloc(1, name_len + 16);
	char *value = xcalloc(1, value_len + 1);
	size_t i;
	int rc;

	memset(value, 'v', value_len);
	for (i = 0; i < nfields; i++) {
		int w = snprintf(name, name_len + 16, "f%zu", i);

		memset(name + w, 'n', name_len > (size_t)w ? name_len - (size_t)w : 0);
		add_field(&body, name, value);
	}
	add_close(&body);
	rc = run(&body, 1 << 20, dir, &form);
	if (rc == 0) {
		ck_assert_uint_eq(form.nfields, nfields);
		ck_assert_uint_eq(strlen(form.fields[nfields - 1].value), value_len);
		ck_assert_uint_eq(strlen(form.fields[nfields - 1].name), name_len);
		upload_form_cleanup(&form);
	}
	free(name);
	free(value);
	free(body.p);
	return rc;
}

START_TEST(test_field_limits)
{
	char *dir = tmpdir_new();

	ck_assert_int_eq(fields_run(UPLOAD_MAX_FIELDS, 10, 10, dir), 0);
	ck_assert_int_eq(fields_run(UPLOAD_MAX_FIELDS + 1, 10, 10, dir), IA_ERR_TOOBIG);
	ck_assert_int_eq(fields_run(1, 10, UPLOAD_MAX_VALUE, dir), 0);
	ck_assert_int_eq(fields_run(1, 10, UPLOAD_MAX_VALUE + 1, dir), IA_ERR_TOOBIG);
	ck_assert_int_eq(fields_run(1, UPLOAD_MAX_NAME, 10, dir), 0);
	ck_assert_int_eq(fields_run(1, UPLOAD_MAX_NAME + 1, 10, dir), IA_ERR_TOOBIG);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_too_many_parts_with_file)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();
	size_t i;

	file_data(&data, 100);
	add_file(&body, "image", "a.png", &data);
	for (i = 0; i < 100; i++)
		add_file(&body, "skip", "", &data);
	add_close(&body);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), IA_ERR_TOOBIG);
	tmpdir_free(dir);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_malformed)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct upload_form form;
	char *dir = tmpdir_new();
	char *longname = xcalloc(1, 9001);
	struct src s = {"", 0, 0, 1, 0};
	static const char nul_body[] = "--" B "\r\nContent-Disposition: form-data; name=a\r\n"
				       "\r\nx\0y\r\n--" B "--";

	/* oversized header block (file name of 9000 bytes) */
	memset(longname, 'a', 9000);
	file_data(&data, 10);
	add_file(&body, "image", longname, &data);
	add_close(&body);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), IA_ERR_TOOBIG);
	free(body.p);
	/* a NUL byte in a text field */
	body.p = NULL;
	body.n = 0;
	bytes_add(&body, nul_body, sizeof(nul_body) - 1);
	ck_assert_int_eq(run(&body, 1 << 20, dir, &form), IA_ERR_INVAL);
	/* not multipart, and bad arguments */
	ck_assert_int_eq(upload_parse("application/json", src_read, &s, 10, "image", dir, &form),
			 IA_ERR_INVAL);
	ck_assert_int_eq(upload_parse(CT, NULL, &s, 10, "image", dir, &form), IA_ERR_INVAL);
	ck_assert_int_eq(upload_parse(NULL, src_read, &s, 10, "image", dir, &form), IA_ERR_INVAL);
	tmpdir_free(dir);
	free(longname);
	free(body.p);
	free(data.p);
}
END_TEST

static Suite *upload_suite(void)
{
	Suite *s = suite_create("upload");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_form_with_file);
	tcase_add_test(tc, test_cleanup_unlinks);
	tcase_add_test(tc, test_over_max_body);
	tcase_add_test(tc, test_two_files);
	tcase_add_test(tc, test_file_under_other_field);
	tcase_add_test(tc, test_missing_close);
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_bad_tmp_dir);
	tcase_add_test(tc, test_no_file_and_empty_filename);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_field_limits);
	tcase_add_test(tc, test_too_many_parts_with_file);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(upload_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
