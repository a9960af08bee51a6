/*
 * test_imgedge.c - unit tests for lib/imgedge.c: Canny edges of synthetic
 * images drawn with libgd (a black rectangle on white, a flat image, a
 * low-contrast rectangle against two threshold pairs), edge positions
 * against the true border, sizes, and NULL / 1x1 / palette inputs.
 */
#include "config.h"

#include "err.h"
#include "imgedge.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <gd.h>

/* Rectangle used by the tests: pixels X0..X1, Y0..Y1 inclusive. */
#define W 200
#define H 150
#define X0 50
#define X1 149
#define Y0 40
#define Y1 109

static gdImagePtr rect_image(int bg, int fg)
{
	gdImagePtr im = gdImageCreateTrueColor(W, H);

	ck_assert_ptr_nonnull(im);
	gdImageFilledRectangle(im, 0, 0, W - 1, H - 1, gdTrueColorAlpha(bg, bg, bg, 0));
	gdImageFilledRectangle(im, X0, Y0, X1, Y1, gdTrueColorAlpha(fg, fg, fg, 0));
	return im;
}

static int is_edge(gdImagePtr im, int x, int y)
{
	int c = gdImageGetPixel(im, x, y);

	if (c == gdTrueColorAlpha(0, 0, 0, 0))
		return 1;
	ck_assert_int_eq(c, gdTrueColorAlpha(255, 255, 255, 0));
	return 0;
}

/* Distance of pixel (x, y) from the rectangle's outline (between pixels). */
static double border_dist(int x, int y)
{
	double l = X0 - 0.5, r = X1 + 0.5, t = Y0 - 0.5, b = Y1 + 0.5;
	double dx = x < l ? l - x : (x > r ? x - r : 0);
	double dy = y < t ? t - y : (y > b ? y - b : 0);

	if (dx > 0 || dy > 0) /* outside */
		return sqrt(dx * dx + dy * dy);
	return fmin(fmin(x - l, r - x), fmin(y - t, b - y));
}

static int count_edges(gdImagePtr im)
{
	int n = 0;

	for (int y = 0; y < gdImageSY(im); y++)
		for (int x = 0; x < gdImageSX(im); x++)
			n += is_edge(im, x, y);
	return n;
}

START_TEST(rectangle_border)
{
	gdImagePtr src = rect_image(255, 0), out = imgedge_outline(src, 50, 150);
	int n = 0, perim = 2 * (X1 - X0 + 1) + 2 * (Y1 - Y0 + 1);

	ck_assert_ptr_nonnull(out);
	ck_assert(gdImageTrueColor(out));
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			if (!is_edge(out, x, y))
				continue;
			n++;
			ck_assert_msg(border_dist(x, y) <= 2.0,
				      "edge at %d,%d is %.1f px off the border", x, y,
				      border_dist(x, y));
		}
	/* a thin (1-2 px) closed outline: about one perimeter of pixels */
	ck_assert_int_ge(n, perim * 9 / 10);
	ck_assert_int_le(n, perim * 2);
	/* every side is found along its whole length (corners aside) */
	for (int x = X0 + 3; x <= X1 - 3; x++) {
		ck_assert(is_edge(out, x, Y0 - 1) || is_edge(out, x, Y0));
		ck_assert(is_edge(out, x, Y1) || is_edge(out, x, Y1 + 1));
	}
	for (int y = Y0 + 3; y <= Y1 - 3; y++) {
		ck_assert(is_edge(out, X0 - 1, y) || is_edge(out, X0, y));
		ck_assert(is_edge(out, X1, y) || is_edge(out, X1 + 1, y));
	}
	/* one line per side, not a double outline */
	ck_assert(!(is_edge(out, 100, Y0 - 1) && is_edge(out, 100, Y0)));
	/* the source is left alone */
	ck_assert_int_eq(gdImageGetPixel(src, 100, 80), gdTrueColorAlpha(0, 0, 0, 0));
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

START_TEST(flat_has_no_edges)
{
	gdImagePtr src = gdImageCreateTrueColor(120, 90), out;

	gdImageFilledRectangle(src, 0, 0, 119, 89, gdTrueColorAlpha(90, 140, 200, 0));
	out = imgedge_outline(src, 1, 2);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(count_edges(out), 0);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* Contrast 22 grey levels: L1 Sobel peak after the blur is ~50. */
START_TEST(thresholds_matter)
{
	gdImagePtr src = rect_image(150, 128);
	gdImagePtr lo = imgedge_outline(src, 10, 30);
	gdImagePtr hi = imgedge_outline(src, 100, 200);
	gdImagePtr dflt = imgedge_outline(src, 50, 150);

	ck_assert_ptr_nonnull(lo);
	ck_assert_ptr_nonnull(hi);
	ck_assert_ptr_nonnull(dflt);
	ck_assert_int_ge(count_edges(lo), 300);
	ck_assert_int_eq(count_edges(hi), 0);
	ck_assert_int_eq(count_edges(dflt), 0);
	/* swapped thresholds behave like ordered ones */
	gdImageDestroy(hi);
	hi = imgedge_outline(src, 30, 10);
	ck_assert_int_eq(count_edges(hi), count_edges(lo));
	gdImageDestroy(lo);
	gdImageDestroy(hi);
	gdImageDestroy(dflt);
	gdImageDestroy(src);
}
END_TEST

/*
 * Hysteresis: one bar whose top edge fades from black to faint (contrast 40:
 * above the low threshold only) keeps its faint stretch because it is joined
 * to the strong one; a separate faint bar of the same contrast is dropped.
 */
START_TEST(hysteresis_connectivity)
{
	gdImagePtr src = gdImageCreateTrueColor(200, 60), out;
	int joined = 0, lone = 0;

	gdImageFilledRectangle(src, 0, 0, 199, 59, gdTrueColorAlpha(255, 255, 255, 0));
	for (int x = 10; x < 110; x++) {
		int v = (x - 10) * 4 < 215 ? (x - 10) * 4 : 215;

		gdImageFilledRectangle(src, x, 30, x, 59, gdTrueColorAlpha(v, v, v, 0));
	}
	gdImageFilledRectangle(src, 130, 30, 189, 59, gdTrueColorAlpha(215, 215, 215, 0));
	out = imgedge_outline(src, 40, 150);
	for (int x = 75; x < 105; x++)
		joined += is_edge(out, x, 29) || is_edge(out, x, 30);
	for (int x = 140; x < 180; x++)
		lone += is_edge(out, x, 29) || is_edge(out, x, 30);
	ck_assert_int_eq(joined, 30);
	ck_assert_int_eq(lone, 0);
	/* with a high threshold the faint bar can reach, both are kept */
	gdImageDestroy(out);
	out = imgedge_outline(src, 40, 60);
	for (int x = 140; x < 180; x++)
		lone += is_edge(out, x, 29) || is_edge(out, x, 30);
	ck_assert_int_eq(lone, 40);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

START_TEST(size_is_kept)
{
	gdImagePtr src = gdImageCreateTrueColor(123, 77), out;

	gdImageFilledEllipse(src, 60, 38, 50, 30, gdTrueColorAlpha(255, 200, 0, 0));
	out = imgedge_outline(src, 50, 150);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gdImageSX(out), 123);
	ck_assert_int_eq(gdImageSY(out), 77);
	ck_assert_int_gt(count_edges(out), 50);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

START_TEST(palette_input)
{
	gdImagePtr src = gdImageCreate(80, 60), out;
	int white = gdImageColorAllocate(src, 255, 255, 255);
	int black = gdImageColorAllocate(src, 0, 0, 0);

	gdImageFilledRectangle(src, 0, 0, 79, 59, white);
	gdImageFilledRectangle(src, 20, 20, 59, 39, black);
	out = imgedge_outline(src, 50, 150);
	ck_assert_ptr_nonnull(out);
	ck_assert(gdImageTrueColor(out));
	ck_assert(is_edge(out, 40, 19) || is_edge(out, 40, 20));
	ck_assert(!is_edge(out, 5, 5));
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* NULL and negative thresholds give NULL; tiny images give valid images. */
START_TEST(bad_and_tiny_inputs)
{
	gdImagePtr one = gdImageCreateTrueColor(1, 1), out;
	gdImagePtr line = gdImageCreateTrueColor(7, 1);

	ck_assert_ptr_null(imgedge_outline(NULL, 50, 150));
	ck_assert_ptr_null(imgedge_outline(one, -1, 150));
	out = imgedge_outline(one, 50, 150);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gdImageSX(out), 1);
	ck_assert_int_eq(count_edges(out), 0);
	gdImageDestroy(out);
	gdImageSetPixel(line, 3, 0, gdTrueColorAlpha(255, 255, 255, 0));
	out = imgedge_outline(line, 0, 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gdImageSX(out), 7);
	gdImageDestroy(out);
	ck_assert_int_eq(imgedge_canny(NULL, 1, 1, 1, 2, NULL), IA_ERR_INVAL);
	gdImageDestroy(one);
	gdImageDestroy(line);
}
END_TEST

/* The blur preserves the mean of a plane and flattens an impulse. */
START_TEST(blur_plane)
{
	float p[41 * 31] = {0};
	double sum = 0;

	p[15 * 41 + 20] = 1000;
	imgedge_blur(p, 41, 31, 2.0);
	for (int i = 0; i < 41 * 31; i++)
		sum += p[i];
	ck_assert_double_eq_tol(sum, 1000, 0.5);
	ck_assert_float_lt(p[15 * 41 + 20], 50);
	ck_assert_float_gt(p[15 * 41 + 20], p[15 * 41 + 22]);
	ck_assert_float_eq_tol(p[15 * 41 + 22], p[17 * 41 + 20], 1e-3);
}
END_TEST

static Suite *imgedge_suite(void)
{
	Suite *s = suite_create("imgedge");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rectangle_border);
	tcase_add_test(tc, flat_has_no_edges);
	tcase_add_test(tc, thresholds_matter);
	tcase_add_test(tc, hysteresis_connectivity);
	tcase_add_test(tc, size_is_kept);
	tcase_add_test(tc, palette_input);
	tcase_add_test(tc, bad_and_tiny_inputs);
	tcase_add_test(tc, blur_plane);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgedge_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
