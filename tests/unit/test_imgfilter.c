/*
 * test_imgfilter.c - unit tests for lib/imgfilter.c on small libgd images
 * drawn here: imgfilter_resample makes exactly the size asked for (up,
 * down, 1x1, very unequal factors) and refuses what it should, keeps a
 * flat colour exactly, averages a one-pixel checkerboard to mid grey,
 * keeps alpha and lets no colour bleed out of transparent pixels;
 * imgfilter_unsharp steepens an edge (undershoot and overshoot) and leaves
 * flat areas, far pixels and alpha alone; imgfilter_autocontrast stretches
 * a low-contrast ramp to 0..255 with one curve, clips by `clip`, and
 * leaves flat and full-range images alone.
 */
#include "config.h"

#include "imgfilter.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <gd.h>

#define RGBA(a, r, g, b) ((int)(((unsigned)(a) << 24) | ((r) << 16) | ((g) << 8) | (b)))
#define A(p)             (((p) >> 24) & 0x7F)
#define R(p)             (((p) >> 16) & 0xFF)
#define G(p)             (((p) >> 8) & 0xFF)
#define B(p)             ((p)&0xFF)

static gdImagePtr image(int w, int h)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);

	ck_assert_ptr_nonnull(im);
	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	return im;
}

static gdImagePtr flat(int w, int h, int pixel)
{
	gdImagePtr im = image(w, h);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			im->tpixels[y][x] = pixel;
	return im;
}

/* Grey step: x < w/2 is lo, the rest hi. */
static gdImagePtr step(int w, int h, int lo, int hi)
{
	gdImagePtr im = image(w, h);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int v = x < w / 2 ? lo : hi;

			im->tpixels[y][x] = RGBA(0, v, v, v);
		}
	return im;
}

/* ---- resample ---- */

START_TEST(resample_gives_exactly_the_size_asked)
{
	static const int sizes[][4] = {
	    {100, 80, 1, 1}, {100, 80, 37, 23}, {100, 80, 400, 7}, {3, 200, 3, 200},
	    {5, 5, 1000, 2}, {1, 1, 9, 4},      {640, 1, 33, 1},   {7, 300, 1, 299},
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		gdImagePtr src = flat(sizes[i][0], sizes[i][1], RGBA(0, 10, 20, 30));
		gdImagePtr dst = imgfilter_resample(src, sizes[i][2], sizes[i][3]);

		ck_assert_ptr_nonnull(dst);
		ck_assert_msg(gdImageSX(dst) == sizes[i][2] && gdImageSY(dst) == sizes[i][3],
			      "%dx%d -> %dx%d gave %dx%d", sizes[i][0], sizes[i][1], sizes[i][2],
			      sizes[i][3], gdImageSX(dst), gdImageSY(dst));
		ck_assert(gdImageTrueColor(dst));
		gdImageDestroy(dst);
		gdImageDestroy(src);
	}
}
END_TEST

START_TEST(resample_refuses_palette_images_and_empty_sizes)
{
	gdImagePtr pal = gdImageCreate(10, 10);
	gdImagePtr tc = flat(10, 10, RGBA(0, 1, 2, 3));

	ck_assert_ptr_null(imgfilter_resample(pal, 5, 5));
	ck_assert_ptr_null(imgfilter_resample(tc, 0, 5));
	ck_assert_ptr_null(imgfilter_resample(tc, 5, 0));
	ck_assert_ptr_null(imgfilter_resample(tc, -1, 5));
	ck_assert_ptr_null(imgfilter_resample(NULL, 5, 5));
	gdImageDestroy(pal);
	gdImageDestroy(tc);
}
END_TEST

START_TEST(resample_keeps_a_flat_colour_exactly)
{
	static const int dims[][2] = {{23, 17}, {2, 3}, {5, 5}, {1, 1}};
	gdImagePtr src = flat(5, 5, RGBA(0, 200, 100, 7));

	for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		gdImagePtr dst = imgfilter_resample(src, dims[i][0], dims[i][1]);

		for (int y = 0; y < dims[i][1]; y++)
			for (int x = 0; x < dims[i][0]; x++)
				ck_assert_msg(dst->tpixels[y][x] == RGBA(0, 200, 100, 7),
					      "%dx%d (%d,%d): %08x", dims[i][0], dims[i][1], x, y,
					      (unsigned)dst->tpixels[y][x]);
		gdImageDestroy(dst);
	}
	gdImageDestroy(src);
}
END_TEST

/* A one-pixel checkerboard shrunk 4x (output centres between source
 * pixels) and 3x (centres on source pixels): every output pixel averages
 * black and white evenly, as the kernel is widened by the shrink factor
 * (a plain Lanczos-3 would alias: centre pixels would dominate). */
static int checker_worst(int n, int out)
{
	gdImagePtr src = image(n, n), dst;
	int worst = 0;

	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++)
			src->tpixels[y][x] =
			    (x + y) % 2 ? RGBA(0, 255, 255, 255) : RGBA(0, 0, 0, 0);
	dst = imgfilter_resample(src, out, out);
	for (int y = 0; y < out; y++)
		for (int x = 0; x < out; x++) {
			int p = dst->tpixels[y][x], d = abs(R(p) - 128);

			ck_assert_int_eq(A(p), 0);
			ck_assert(R(p) == G(p) && G(p) == B(p));
			worst = d > worst ? d : worst;
		}
	gdImageDestroy(dst);
	gdImageDestroy(src);
	return worst;
}

START_TEST(resample_averages_a_checkerboard_to_mid_grey)
{
	int w4 = checker_worst(64, 16), w3 = checker_worst(63, 21);

	ck_assert_msg(w4 <= 2, "4x: a pixel is %d away from 128", w4);
	ck_assert_msg(w3 <= 3, "3x: a pixel is %d away from 128", w3);
}
END_TEST

START_TEST(resample_keeps_alpha)
{
	gdImagePtr clear = flat(30, 20, RGBA(127, 255, 0, 0));
	gdImagePtr half = flat(30, 20, RGBA(64, 10, 200, 30));
	gdImagePtr a = imgfilter_resample(clear, 11, 7);
	gdImagePtr b = imgfilter_resample(half, 47, 9);

	for (int y = 0; y < 7; y++)
		for (int x = 0; x < 11; x++)
			ck_assert_int_eq(A(a->tpixels[y][x]), 127);
	for (int y = 0; y < 9; y++)
		for (int x = 0; x < 47; x++) {
			int p = b->tpixels[y][x];

			ck_assert_int_eq(A(p), 64);
			ck_assert(abs(R(p) - 10) <= 1 && abs(G(p) - 200) <= 1 &&
				  abs(B(p) - 30) <= 1);
		}
	gdImageDestroy(a);
	gdImageDestroy(b);
	gdImageDestroy(clear);
	gdImageDestroy(half);
}
END_TEST

/* Left half opaque red, right half transparent green: premultiplied
 * filtering gives the green no weight, so no pixel turns greenish and the
 * transparent side stays transparent away from the edge. */
START_TEST(resample_lets_no_colour_bleed_from_transparent_pixels)
{
	gdImagePtr src = image(40, 10), dst;

	for (int y = 0; y < 10; y++)
		for (int x = 0; x < 40; x++)
			src->tpixels[y][x] = x < 20 ? RGBA(0, 255, 0, 0) : RGBA(127, 0, 255, 0);
	dst = imgfilter_resample(src, 17, 5);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 17; x++) {
			int p = dst->tpixels[y][x];

			if (A(p) < 127) /* colour of a fully transparent pixel is moot */
				ck_assert_msg(G(p) <= 2 && R(p) >= 250, "(%d,%d): %08x", x, y,
					      (unsigned)p);
		}
	ck_assert_int_eq(A(dst->tpixels[2][0]), 0);
	ck_assert_int_eq(A(dst->tpixels[2][16]), 127);
	ck_assert(A(dst->tpixels[2][8]) > 0 && A(dst->tpixels[2][8]) < 127);
	gdImageDestroy(dst);
	gdImageDestroy(src);
}
END_TEST

/* ---- unsharp ---- */

/* o + amount * (o - gaussian(o)) for column x of a grey row, in double
 * precision with clamped edges: the reference the kernel must match. */
static int unsharp_reference(const int *v, int w, int x, double sigma, double amount)
{
	int r = (int)ceil(3.0 * sigma);
	double sum = 0.0, wsum = 0.0, out;

	for (int k = -r; k <= r; k++) {
		int sx = x + k < 0 ? 0 : x + k >= w ? w - 1 : x + k;
		double g = exp(-(double)(k * k) / (2.0 * sigma * sigma));

		sum += g * v[sx];
		wsum += g;
	}
	out = v[x] + amount * (v[x] - sum / wsum);
	return out < 0 ? 0 : out > 255 ? 255 : (int)lround(out);
}

START_TEST(unsharp_raises_edge_contrast)
{
	gdImagePtr im = step(40, 12, 64, 192);
	int before[40];

	for (int x = 0; x < 40; x++)
		before[x] = R(im->tpixels[0][x]);
	imgfilter_unsharp(im, 1.5, 1.0);
	for (int y = 0; y < 12; y++) {
		int *row = im->tpixels[y];

		/* Undershoot and overshoot next to the edge (x = 19 | 20). */
		ck_assert_msg(R(row[19]) < 64 - 40, "left of edge: %d", R(row[19]));
		ck_assert_msg(R(row[20]) > 192 + 40, "right of edge: %d", R(row[20]));
		for (int x = 0; x < 40; x++) {
			int want = unsharp_reference(before, 40, x, 1.5, 1.0);

			ck_assert_msg(abs(R(row[x]) - want) <= 1, "(%d,%d): %d, want %d", x, y,
				      R(row[x]), want);
			ck_assert(R(row[x]) == G(row[x]) && G(row[x]) == B(row[x]));
		}
		/* Beyond the kernel's reach (3 sigma = 5 pixels) nothing moves. */
		ck_assert_int_eq(R(row[0]), 64);
		ck_assert_int_eq(R(row[13]), 64);
		ck_assert_int_eq(R(row[26]), 192);
		ck_assert_int_eq(R(row[39]), 192);
	}
	gdImageDestroy(im);
}
END_TEST

START_TEST(unsharp_leaves_flat_areas_and_alpha_alone)
{
	gdImagePtr im = flat(25, 25, RGBA(40, 90, 150, 210));

	imgfilter_unsharp(im, 2.0, 2.5);
	for (int y = 0; y < 25; y++)
		for (int x = 0; x < 25; x++)
			ck_assert_int_eq(im->tpixels[y][x], RGBA(40, 90, 150, 210));
	gdImageDestroy(im);
}
END_TEST

START_TEST(unsharp_ignores_sigma_out_of_range)
{
	gdImagePtr im = step(20, 4, 64, 192);

	imgfilter_unsharp(im, 0.0, 1.0);
	imgfilter_unsharp(im, 8.5, 1.0);
	for (int x = 0; x < 20; x++)
		ck_assert_int_eq(R(im->tpixels[0][x]), x < 10 ? 64 : 192);
	gdImageDestroy(im);
}
END_TEST

/* ---- autocontrast ---- */

/* 56 columns of grey 100..155, 10 rows; channel c of column x offset. */
static gdImagePtr ramp(void)
{
	gdImagePtr im = image(56, 10);

	for (int y = 0; y < 10; y++)
		for (int x = 0; x < 56; x++)
			im->tpixels[y][x] = RGBA(0, 100 + x, 100 + x, 100 + x);
	return im;
}

START_TEST(autocontrast_stretches_a_low_contrast_ramp_to_full_range)
{
	gdImagePtr im = ramp();

	imgfilter_autocontrast(im, 0.0);
	for (int y = 0; y < 10; y++)
		for (int x = 0; x < 56; x++) {
			int p = im->tpixels[y][x];

			/* lo = 100, hi = 155 */
			ck_assert_int_eq(R(p), x * 255 / 55);
			ck_assert(R(p) == G(p) && G(p) == B(p));
		}
	ck_assert_int_eq(R(im->tpixels[0][0]), 0);
	ck_assert_int_eq(R(im->tpixels[0][55]), 255);
	gdImageDestroy(im);
}
END_TEST

/* clip 0.1 of 560 pixels: the darkest and lightest 6 columns (60 > 56
 * pixels each) saturate, and the curve runs from level 105 to 150. */
START_TEST(autocontrast_clips_by_the_given_fraction)
{
	gdImagePtr im = ramp();

	imgfilter_autocontrast(im, 0.1);
	for (int x = 0; x < 56; x++) {
		int v = R(im->tpixels[5][x]), want = (100 + x - 105) * 255 / 45;

		want = want < 0 ? 0 : want > 255 ? 255 : want;
		ck_assert_msg(v == want, "column %d: %d, want %d", x, v, want);
	}
	for (int x = 0; x <= 5; x++)
		ck_assert_int_eq(R(im->tpixels[0][x]), 0);
	for (int x = 50; x < 56; x++)
		ck_assert_int_eq(R(im->tpixels[0][x]), 255);
	ck_assert_int_gt(R(im->tpixels[0][6]), 0);
	ck_assert_int_lt(R(im->tpixels[0][49]), 255);
	gdImageDestroy(im);
}
END_TEST

/* One curve for R, G and B (from luminance): hues keep their order. */
START_TEST(autocontrast_applies_one_curve_to_every_channel)
{
	gdImagePtr im = image(56, 2);

	for (int x = 0; x < 56; x++) {
		im->tpixels[0][x] = RGBA(0, 100 + x, 100 + x, 100 + x);
		im->tpixels[1][x] = RGBA(0, 110, 120, 130);
	}
	imgfilter_autocontrast(im, 0.0);
	ck_assert_int_eq(im->tpixels[1][0], RGBA(0, 10 * 255 / 55, 20 * 255 / 55, 30 * 255 / 55));
	gdImageDestroy(im);
}
END_TEST

START_TEST(autocontrast_leaves_flat_and_full_range_images_alone)
{
	gdImagePtr flat_im = flat(20, 20, RGBA(0, 120, 120, 120));
	gdImagePtr narrow = step(20, 20, 120, 130); /* under 16 levels apart */
	gdImagePtr full = step(20, 20, 0, 255);

	imgfilter_autocontrast(flat_im, 0.0);
	imgfilter_autocontrast(narrow, 0.0);
	imgfilter_autocontrast(full, 0.0);
	for (int x = 0; x < 20; x++) {
		ck_assert_int_eq(flat_im->tpixels[3][x], RGBA(0, 120, 120, 120));
		ck_assert_int_eq(R(narrow->tpixels[3][x]), x < 10 ? 120 : 130);
		ck_assert_int_eq(R(full->tpixels[3][x]), x < 10 ? 0 : 255);
	}
	gdImageDestroy(flat_im);
	gdImageDestroy(narrow);
	gdImageDestroy(full);
}
END_TEST

static Suite *imgfilter_suite(void)
{
	Suite *s = suite_create("imgfilter");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, resample_gives_exactly_the_size_asked);
	tcase_add_test(tc, resample_refuses_palette_images_and_empty_sizes);
	tcase_add_test(tc, resample_keeps_a_flat_colour_exactly);
	tcase_add_test(tc, resample_averages_a_checkerboard_to_mid_grey);
	tcase_add_test(tc, resample_keeps_alpha);
	tcase_add_test(tc, resample_lets_no_colour_bleed_from_transparent_pixels);
	tcase_add_test(tc, unsharp_raises_edge_contrast);
	tcase_add_test(tc, unsharp_leaves_flat_areas_and_alpha_alone);
	tcase_add_test(tc, unsharp_ignores_sigma_out_of_range);
	tcase_add_test(tc, autocontrast_stretches_a_low_contrast_ramp_to_full_range);
	tcase_add_test(tc, autocontrast_clips_by_the_given_fraction);
	tcase_add_test(tc, autocontrast_applies_one_curve_to_every_channel);
	tcase_add_test(tc, autocontrast_leaves_flat_and_full_range_images_alone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgfilter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
