/*
 * test_imgpreview.c - unit tests for lib/imgpreview.c: previews are WebP
 * (RIFF/WEBP magic, decodable by libgd), fit inside the box with the aspect
 * ratio kept, are never enlarged, keep alpha, come from JPEGs decoded at
 * reduced size with the right dimensions, and a file that does not decode
 * leaves no preview behind.
 */
#include "config.h"

#include "err.h"
#include "imgpreview.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gd.h>

static char tmpdir[64];

static char *tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_imgpreview.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* A w x h truecolor image, left half red and right half blue, written as f. */
static char *write_halves(const char *name, int w, int h, enum img_format f)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	char *path = tpath(name);
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	gdImageFilledRectangle(im, 0, 0, w / 2 - 1, h - 1, gdTrueColor(255, 0, 0));
	gdImageFilledRectangle(im, w / 2, 0, w - 1, h - 1, gdTrueColor(0, 0, 255));
	if (f == IMG_FMT_JPEG)
		gdImageJpeg(im, fp, 90);
	else
		gdImagePng(im, fp);
	ck_assert_int_eq(fclose(fp), 0);
	gdImageDestroy(im);
	return path;
}

/* The file at path: WebP magic checked, decoded by libgd (caller destroys). */
static gdImagePtr read_webp(const char *path, long *size)
{
	unsigned char head[12];
	gdImagePtr im;
	FILE *fp = fopen(path, "rb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(head, 1, sizeof(head), fp), sizeof(head));
	ck_assert_int_eq(memcmp(head, "RIFF", 4), 0);
	ck_assert_int_eq(memcmp(head + 8, "WEBP", 4), 0);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	*size = ftell(fp);
	rewind(fp);
	im = gdImageCreateFromWebp(fp);
	fclose(fp);
	ck_assert_ptr_nonnull(im);
	return im;
}

/* Preview of a w x h file of format f; checks its size is want_w x want_h. */
static void check_preview(int w, int h, enum img_format f, int want_w, int want_h)
{
	char *in = write_halves(f == IMG_FMT_JPEG ? "in.jpg" : "in.png", w, h, f);
	char *out = tpath("preview.webp");
	struct img_result res;
	gdImagePtr im;
	long size = 0;

	ck_assert_int_eq(imgpreview_file(in, out, IMG_PREVIEW_MAX_SIDE, &res), 0);
	ck_assert_uint_eq(res.width, (uint32_t)want_w);
	ck_assert_uint_eq(res.height, (uint32_t)want_h);
	ck_assert_int_eq(res.format, IMG_FMT_WEBP);
	im = read_webp(out, &size);
	ck_assert_int_eq(gdImageSX(im), want_w);
	ck_assert_int_eq(gdImageSY(im), want_h);
	ck_assert_uint_eq(res.bytes, (uint64_t)size);
	/* the picture survives: red on the left, blue on the right */
	ck_assert_int_gt(gdTrueColorGetRed(gdImageGetTrueColorPixel(im, 1, want_h / 2)), 200);
	ck_assert_int_gt(gdTrueColorGetBlue(gdImageGetTrueColorPixel(im, want_w - 2, want_h / 2)),
			 200);
	gdImageDestroy(im);
	unlink(out);
	unlink(in);
	free(in);
	free(out);
}

START_TEST(test_landscape_fits_the_longer_side)
{
	check_preview(2000, 1000, IMG_FMT_PNG, 512, 256);
}
END_TEST

START_TEST(test_portrait_fits_the_longer_side)
{
	check_preview(300, 1200, IMG_FMT_PNG, 128, 512);
}
END_TEST

START_TEST(test_small_image_never_enlarged)
{
	check_preview(100, 50, IMG_FMT_PNG, 100, 50);
	check_preview(512, 512, IMG_FMT_PNG, 512, 512);
}
END_TEST

/* 4000 x 3000 decodes at 1/4 (1000 x 750) and is then resampled to 512 x 384. */
START_TEST(test_large_jpeg)
{
	check_preview(4000, 3000, IMG_FMT_JPEG, 512, 384);
}
END_TEST

START_TEST(test_alpha_kept)
{
	gdImagePtr im = gdImageCreateTrueColor(1024, 1024), got;
	char *in = tpath("alpha.png"), *out = tpath("alpha.webp");
	struct img_result res;
	FILE *fp = fopen(in, "wb");
	long size;

	ck_assert_ptr_nonnull(fp);
	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	gdImageFilledRectangle(im, 0, 0, 1023, 1023, gdTrueColorAlpha(0, 0, 0, gdAlphaTransparent));
	gdImageFilledRectangle(im, 256, 256, 767, 767, gdTrueColor(0, 200, 0));
	gdImagePng(im, fp);
	ck_assert_int_eq(fclose(fp), 0);
	gdImageDestroy(im);
	ck_assert_int_eq(imgpreview_file(in, out, IMG_PREVIEW_MAX_SIDE, &res), 0);
	got = read_webp(out, &size);
	ck_assert_int_eq(gdImageSX(got), 512);
	ck_assert_int_gt(gdTrueColorGetAlpha(gdImageGetTrueColorPixel(got, 5, 5)), 120);
	ck_assert_int_eq(gdTrueColorGetAlpha(gdImageGetTrueColorPixel(got, 256, 256)), 0);
	gdImageDestroy(got);
	free(in);
	free(out);
}
END_TEST

START_TEST(test_undecodable_leaves_nothing)
{
	char *in = tpath("broken.png"), *out = tpath("broken.webp");
	struct img_result res = {0};
	struct stat sb;
	FILE *fp = fopen(in, "wb");

	ck_assert_ptr_nonnull(fp);
	fputs("not an image at all", fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_lt(imgpreview_file(in, out, IMG_PREVIEW_MAX_SIDE, &res), 0);
	ck_assert_int_ne(stat(out, &sb), 0);
	ck_assert_uint_eq(res.width, 0); /* *out written on success only */
	free(in);
	free(out);
}
END_TEST

START_TEST(test_bad_box_refused)
{
	char *in = write_halves("in.png", 64, 64, IMG_FMT_PNG);
	char *out = tpath("p.webp");
	struct img_result res;

	ck_assert_int_eq(imgpreview_file(in, out, 0, &res), IA_ERR_INVAL);
	ck_assert_int_eq(imgpreview_file(in, out, 8193, &res), IA_ERR_INVAL);
	free(in);
	free(out);
}
END_TEST

static Suite *imgpreview_suite(void)
{
	Suite *s = suite_create("imgpreview");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_landscape_fits_the_longer_side);
	tcase_add_test(tc, test_portrait_fits_the_longer_side);
	tcase_add_test(tc, test_small_image_never_enlarged);
	tcase_add_test(tc, test_large_jpeg);
	tcase_add_test(tc, test_alpha_kept);
	tcase_add_test(tc, test_undecodable_leaves_nothing);
	tcase_add_test(tc, test_bad_box_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgpreview_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
