/*
 * test_imgstyle.c - unit tests for lib/imgstyle.c: the avatar of synthetic
 * images drawn with libgd is square and at most 512 px, upper-biased for
 * portraits, has far fewer colours than its noisy input, and carries dark
 * ink along a strong edge but not across flat areas; NULL / tiny inputs.
 */
#include "config.h"

#include "imgstyle.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>

static uint32_t rng_state;

static int noise(int amp)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (int)((rng_state >> 8) % (uint32_t)(2 * amp + 1)) - amp;
}

static int clamp255(int v)
{
	return v < 0 ? 0 : (v > 255 ? 255 : v);
}

/*
 * w x h, noisy: left of split_x a light yellow, right of it a light cyan,
 * both with a vertical brightness gradient.
 */
static gdImagePtr two_tone(int w, int h, int split_x)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);

	rng_state = 99;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int g = 30 * y / h, r, gg, b;

			if (x < split_x) {
				r = 240 - g;
				gg = 215 - g;
				b = 110;
			} else {
				r = 110;
				gg = 200 - g;
				b = 235 - g;
			}
			gdImageSetPixel(im, x, y,
					gdTrueColorAlpha(clamp255(r + noise(12)),
							 clamp255(gg + noise(12)),
							 clamp255(b + noise(12)), 0));
		}
	return im;
}

/* Number of distinct colours, over a 2^24 bitmap. */
static int count_colours(gdImagePtr im)
{
	uint8_t *seen = calloc(1 << 21, 1);
	int n = 0;

	ck_assert_ptr_nonnull(seen);
	for (int y = 0; y < gdImageSY(im); y++)
		for (int x = 0; x < gdImageSX(im); x++) {
			int c = gdImageGetTrueColorPixel(im, x, y) & 0xffffff;

			if (!(seen[c >> 3] & (1 << (c & 7)))) {
				seen[c >> 3] |= (uint8_t)(1 << (c & 7));
				n++;
			}
		}
	free(seen);
	return n;
}

static int is_dark(gdImagePtr im, int x, int y)
{
	int c = gdImageGetPixel(im, x, y);

	return gdTrueColorGetRed(c) + gdTrueColorGetGreen(c) + gdTrueColorGetBlue(c) < 3 * 60;
}

START_TEST(landscape_square_quantised_inked)
{
	/* 900 x 600: crop x 150..749, edge at x 450 -> crop 300 -> 256 */
	gdImagePtr src = two_tone(900, 600, 450), out;
	int in_colours = count_colours(src), out_colours, inked = 0, stray = 0;

	out = imgstyle_avatar(src);
	ck_assert_ptr_nonnull(out);
	ck_assert(gdImageTrueColor(out));
	ck_assert_int_eq(gdImageSX(out), 512);
	ck_assert_int_eq(gdImageSY(out), 512);
	out_colours = count_colours(out);
	ck_assert_int_gt(in_colours, 5000);
	ck_assert_int_le(out_colours, 12);
	ck_assert_int_ge(out_colours, 2);
	for (int y = 10; y < 502; y++) {
		int hit = 0;

		for (int x = 253; x <= 259; x++)
			hit |= is_dark(out, x, y);
		inked += hit;
		for (int x = 20; x < 200; x++)
			stray += is_dark(out, x, y);
	}
	ck_assert_int_ge(inked, 492 * 9 / 10);
	ck_assert_int_le(stray, 20);
	/* the two sides keep their hue */
	ck_assert_int_gt(gdTrueColorGetRed(gdImageGetPixel(out, 100, 256)),
			 gdTrueColorGetBlue(gdImageGetPixel(out, 100, 256)) + 60);
	ck_assert_int_gt(gdTrueColorGetBlue(gdImageGetPixel(out, 400, 256)),
			 gdTrueColorGetRed(gdImageGetPixel(out, 400, 256)) + 60);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/*
 * Portrait 300 x 500: side 300, not upscaled; the crop starts a quarter of
 * the spare 200 rows down (y 50), so a band drawn at source rows 60..69
 * appears at output rows 10..19 and a band at rows 420..429 is cut off.
 */
START_TEST(portrait_upper_biased)
{
	gdImagePtr src = gdImageCreateTrueColor(300, 500), out;
	int top_band = 0, low_band = 0;

	gdImageFilledRectangle(src, 0, 0, 299, 499, gdTrueColorAlpha(230, 230, 230, 0));
	gdImageFilledRectangle(src, 0, 60, 299, 69, gdTrueColorAlpha(200, 30, 30, 0));
	gdImageFilledRectangle(src, 0, 420, 299, 429, gdTrueColorAlpha(30, 30, 200, 0));
	out = imgstyle_avatar(src);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gdImageSX(out), 300);
	ck_assert_int_eq(gdImageSY(out), 300);
	for (int y = 0; y < 300; y++) {
		int c = gdImageGetPixel(out, 150, y);

		if (gdTrueColorGetRed(c) > 150 && gdTrueColorGetGreen(c) < 100) {
			ck_assert_int_ge(y, 8);
			ck_assert_int_le(y, 21);
			top_band++;
		}
		if (gdTrueColorGetBlue(c) > 150 && gdTrueColorGetRed(c) < 100)
			low_band++;
	}
	ck_assert_int_ge(top_band, 5);
	ck_assert_int_eq(low_band, 0);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

START_TEST(null_and_tiny)
{
	gdImagePtr one = gdImageCreateTrueColor(1, 1), thin = gdImageCreateTrueColor(40, 2);
	gdImagePtr out;

	ck_assert_ptr_null(imgstyle_avatar(NULL));
	gdImageSetPixel(one, 0, 0, gdTrueColorAlpha(10, 200, 30, 0));
	out = imgstyle_avatar(one);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gdImageSX(out), 1);
	ck_assert_int_eq(gdImageSY(out), 1);
	ck_assert_int_gt(gdTrueColorGetGreen(gdImageGetPixel(out, 0, 0)), 150);
	gdImageDestroy(out);
	out = imgstyle_avatar(thin);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gdImageSX(out), 2);
	gdImageDestroy(out);
	gdImageDestroy(one);
	gdImageDestroy(thin);
}
END_TEST

/* Palette input and a transparent area (composited over white). */
START_TEST(palette_and_alpha)
{
	gdImagePtr pal = gdImageCreate(64, 64), tc = gdImageCreateTrueColor(64, 64);
	gdImagePtr out;
	int red = gdImageColorAllocate(pal, 200, 20, 20);

	gdImageFilledRectangle(pal, 0, 0, 63, 63, red);
	out = imgstyle_avatar(pal);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_gt(gdTrueColorGetRed(gdImageGetPixel(out, 32, 32)), 150);
	gdImageDestroy(out);
	gdImageAlphaBlending(tc, 0);
	gdImageFilledRectangle(tc, 0, 0, 63, 63, gdTrueColorAlpha(0, 0, 0, 127));
	out = imgstyle_avatar(tc);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_gt(gdTrueColorGetRed(gdImageGetPixel(out, 32, 32)), 200);
	ck_assert_int_eq(gdTrueColorGetAlpha(gdImageGetPixel(out, 32, 32)), 0);
	gdImageDestroy(out);
	gdImageDestroy(pal);
	gdImageDestroy(tc);
}
END_TEST

static Suite *imgstyle_suite(void)
{
	Suite *s = suite_create("imgstyle");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, landscape_square_quantised_inked);
	tcase_add_test(tc, portrait_upper_biased);
	tcase_add_test(tc, null_and_tiny);
	tcase_add_test(tc, palette_and_alpha);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgstyle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
