/*
 * test_imggen.c - unit tests for lib/imggen.c, the local placeholder
 * generator: sizes per aspect ratio, determinism (same prompt and seed give
 * the same bytes, another seed or prompt gives others), the formats, the
 * ai_response label, and refusals.
 */
#include "config.h"

#include "err.h"
#include "imggen.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static char path_a[64], path_b[64];

static void setup(void)
{
	snprintf(path_a, sizeof(path_a), "/tmp/test_imggen.%ld.a", (long)getpid());
	snprintf(path_b, sizeof(path_b), "/tmp/test_imggen.%ld.b", (long)getpid());
}

static void teardown(void)
{
	unlink(path_a);
	unlink(path_b);
}

/* Whole file contents (heap) and length. */
static char *slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	buf = malloc((size_t)*len);
	ck_assert_uint_eq(fread(buf, 1, (size_t)*len, f), (size_t)*len);
	fclose(f);
	return buf;
}

static int same_file(const char *a, const char *b)
{
	long la, lb;
	char *ba = slurp(a, &la), *bb = slurp(b, &lb);
	int same = la == lb && memcmp(ba, bb, (size_t)la) == 0;

	free(ba);
	free(bb);
	return same;
}

static void gen(const char *prompt, const char *ratio, const char *seed, enum img_format f,
		const char *path, struct img_result *res)
{
	char *ai = NULL;

	ck_assert_int_eq(imggen_generate(prompt, ratio, seed, f, path, res, &ai), 0);
	ck_assert_ptr_nonnull(ai);
	free(ai);
}

START_TEST(test_sizes)
{
	uint32_t w = 0, h = 0;

	ck_assert_int_eq(imggen_size("16:9", &w, &h), 0);
	ck_assert_uint_eq(w, 1344);
	ck_assert_uint_eq(h, 768);
	ck_assert_int_eq(imggen_size(NULL, &w, &h), 0);
	ck_assert_uint_eq(w, 1344);
	ck_assert_int_eq(imggen_size("9:21", &w, &h), 0);
	ck_assert_uint_eq(w, 640);
	ck_assert_uint_eq(h, 1536);
	ck_assert_int_eq(imggen_size("1:1", &w, &h), 0);
	ck_assert_uint_eq(w, h);
	ck_assert_int_eq(imggen_size("4:3", &w, &h), IA_ERR_INVAL);
	ck_assert_int_eq(imggen_size("", &w, &h), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_deterministic)
{
	struct img_result a, b;
	struct img_info info;

	gen("a lighthouse at dusk", "2:3", "7", IMG_FMT_PNG, path_a, &a);
	gen("a lighthouse at dusk", "2:3", "7", IMG_FMT_PNG, path_b, &b);
	ck_assert(same_file(path_a, path_b));
	ck_assert_uint_eq(a.width, 832);
	ck_assert_uint_eq(a.height, 1216);
	ck_assert_int_eq(imgio_probe_file(path_a, &info), 0);
	ck_assert_int_eq(info.format, IMG_FMT_PNG);
	ck_assert_uint_eq(info.width, 832);
	ck_assert_uint_eq(info.height, 1216);
	gen("a lighthouse at dusk", "2:3", "8", IMG_FMT_PNG, path_b, &b);
	ck_assert(!same_file(path_a, path_b));
	gen("a lighthouse at dawn", "2:3", "7", IMG_FMT_PNG, path_b, &b);
	ck_assert(!same_file(path_a, path_b));
	/* no seed: derived from the prompt, still deterministic */
	gen("no seed", "1:1", NULL, IMG_FMT_PNG, path_a, &a);
	gen("no seed", "1:1", NULL, IMG_FMT_PNG, path_b, &b);
	ck_assert(same_file(path_a, path_b));
}
END_TEST

START_TEST(test_formats_and_label)
{
	struct img_result r;
	struct img_info info;
	char *ai = NULL;
	cJSON *o;

	ck_assert_int_eq(imggen_generate("x", "5:4", "3", IMG_FMT_JPEG, path_a, &r, &ai), 0);
	ck_assert_int_eq(imgio_probe_file(path_a, &info), 0);
	ck_assert_int_eq(info.format, IMG_FMT_JPEG);
	ck_assert_int_eq(r.format, IMG_FMT_JPEG);
	ck_assert_uint_eq(info.width, 1088);
	ck_assert(r.bytes > 1000);
	o = cJSON_Parse(ai);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "provider")->valuestring, "local");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "placeholder")));
	ck_assert_int_eq(cJSON_GetObjectItem(o, "seed")->valueint, 3);
	cJSON_Delete(o);
	free(ai);
	gen("x", "9:16", "3", IMG_FMT_WEBP, path_b, &r);
	ck_assert_int_eq(imgio_probe_file(path_b, &info), 0);
	ck_assert_int_eq(info.format, IMG_FMT_WEBP);
	ck_assert_uint_eq(info.height, 1344);
}
END_TEST

START_TEST(test_refusals)
{
	struct img_result r;
	char *ai = NULL;

	ck_assert_int_eq(imggen_generate("x", "3:1", NULL, IMG_FMT_PNG, path_a, &r, &ai),
			 IA_ERR_INVAL);
	ck_assert_int_eq(imggen_generate("x", "1:1", "-1", IMG_FMT_PNG, path_a, &r, &ai),
			 IA_ERR_INVAL);
	ck_assert_int_eq(imggen_generate("x", "1:1", "4294967295", IMG_FMT_PNG, path_a, &r, &ai),
			 IA_ERR_INVAL);
	ck_assert_int_eq(imggen_generate("x", "1:1", NULL, IMG_FMT_GIF, path_a, &r, &ai),
			 IA_ERR_INVAL);
	ck_assert_int_eq(
	    imggen_generate("x", "1:1", NULL, IMG_FMT_PNG, "/nonexistent/dir/x.png", &r, &ai),
	    IA_ERR_IO);
	ck_assert_ptr_null(ai);
	ck_assert_int_eq(access(path_a, F_OK), -1);
}
END_TEST

static Suite *imggen_suite(void)
{
	Suite *s = suite_create("imggen");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_formats_and_label);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imggen_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
