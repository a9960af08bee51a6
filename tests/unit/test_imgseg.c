/*
 * test_imgseg.c - unit tests for lib/imgseg.c (and the grid max-flow in
 * lib/imgflow.c it relies on): background removal on synthetic "photos"
 * drawn with libgd - a textured orange disc on a noisy light-blue gradient,
 * the same on a two-band (sky / ground) background, a large image that goes
 * through the downscaled path - checked for transparent borders, an opaque
 * centre and a foreground area within 15% of the truth; k-means; a small
 * min-cut with a known answer; NULL and tiny inputs.
 */
#include "config.h"

#include "imgflow.h"
#include "imgseg.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <gd.h>

static uint32_t rng_state;

/* Deterministic noise in [-amp, amp]. */
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
 * A w x h "photo": light-blue vertical gradient (or, with bands, sky above
 * 55% and brownish-green ground below) with noise, and an orange disc of
 * radius r at the centre with a streaky texture and noise.
 */
static gdImagePtr photo(int w, int h, int r, int bands)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	double cx = w / 2.0, cy = h / 2.0;

	ck_assert_ptr_nonnull(im);
	rng_state = 12345;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			double t = (double)y / h, dx = x + 0.5 - cx, dy = y + 0.5 - cy;
			int R, G, B;

			if (dx * dx + dy * dy < (double)r * r) {
				int tex = (int)(18 * sin(x * 0.21 + y * 0.13));

				R = 225 + noise(12);
				G = 105 + tex + noise(12);
				B = 40 + noise(10);
			} else if (bands && t > 0.55) {
				R = 110 + (int)(30 * t) + noise(14);
				G = 120 + noise(14);
				B = 70 + noise(14);
			} else {
				R = 150 + (int)(50 * t) + noise(10);
				G = 190 + (int)(40 * t) + noise(10);
				B = 230 + (int)(25 * t) + noise(10);
			}
			gdImageSetPixel(im, x, y,
					gdTrueColorAlpha(clamp255(R), clamp255(G), clamp255(B), 0));
		}
	}
	return im;
}

static int alpha_at(gdImagePtr im, int x, int y)
{
	return gdTrueColorGetAlpha(gdImageGetPixel(im, x, y));
}

/* Shared checks: border transparent, centre opaque, area within 15%. */
static void check_disc(gdImagePtr src, gdImagePtr out, int r)
{
	int w = gdImageSX(src), h = gdImageSY(src);
	double area = 0, truth = M_PI * r * r;

	ck_assert_ptr_nonnull(out);
	ck_assert(gdImageTrueColor(out));
	ck_assert_int_eq(gdImageSX(out), w);
	ck_assert_int_eq(gdImageSY(out), h);
	ck_assert_int_eq(out->saveAlphaFlag, 1);
	ck_assert_int_eq(out->alphaBlendingFlag, 0);
	for (int x = 0; x < w; x++) {
		ck_assert_int_ge(alpha_at(out, x, 0), 120);
		ck_assert_int_ge(alpha_at(out, x, h - 1), 120);
	}
	for (int y = 0; y < h; y++) {
		ck_assert_int_ge(alpha_at(out, 0, y), 120);
		ck_assert_int_ge(alpha_at(out, w - 1, y), 120);
	}
	/* background between the disc and the border too */
	ck_assert_int_ge(alpha_at(out, w / 2, (h / 2 - r) / 2), 120);
	ck_assert_int_ge(alpha_at(out, (w / 2 - r) / 2, h / 2), 120);
	ck_assert_int_le(alpha_at(out, w / 2, h / 2), 10);
	ck_assert_int_le(alpha_at(out, w / 2 + r / 2, h / 2 - r / 2), 10);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			area += (127 - alpha_at(out, x, y)) / 127.0;
	ck_assert_msg(fabs(area - truth) <= 0.15 * truth, "foreground area %.0f, disc %.0f", area,
		      truth);
	/* colours are the source's */
	ck_assert_int_eq(gdImageGetPixel(out, w / 2, h / 2) & 0xffffff,
			 gdImageGetPixel(src, w / 2, h / 2) & 0xffffff);
}

START_TEST(disc_on_gradient)
{
	gdImagePtr src = photo(320, 240, 70, 0);
	int before = gdImageGetPixel(src, 3, 3);
	gdImagePtr out = imgseg_remove_background(src, NULL);

	check_disc(src, out, 70);
	ck_assert_int_eq(gdImageGetPixel(src, 3, 3), before); /* src untouched */
	ck_assert_int_eq(gdImageSX(src), 320);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

START_TEST(disc_on_two_bands)
{
	gdImagePtr src = photo(300, 260, 75, 1);
	gdImagePtr out = imgseg_remove_background(src, NULL);

	check_disc(src, out, 75);
	/* deep in the ground band, far from the disc */
	ck_assert_int_ge(alpha_at(out, 30, 230), 120);
	ck_assert_int_ge(alpha_at(out, 270, 200), 120);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* 900 x 700 is above the working size: exercises downscale + upsample. */
START_TEST(large_image_downscaled)
{
	gdImagePtr src = photo(900, 700, 200, 1);
	gdImagePtr out = imgseg_remove_background(src, NULL);

	check_disc(src, out, 200);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* The mask edge is feathered: some partial alpha along the disc outline. */
START_TEST(edge_is_feathered)
{
	gdImagePtr src = photo(320, 240, 70, 0);
	gdImagePtr out = imgseg_remove_background(src, NULL);
	int partial = 0;

	for (int x = 160 + 60; x < 160 + 80; x++) {
		int a = alpha_at(out, x, 120);

		partial += a > 10 && a < 117;
	}
	ck_assert_int_ge(partial, 2);
	ck_assert_int_le(partial, 12);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

START_TEST(null_and_tiny)
{
	gdImagePtr one = gdImageCreateTrueColor(1, 1), two = gdImageCreateTrueColor(2, 9);
	gdImagePtr out;

	ck_assert_ptr_null(imgseg_remove_background(NULL, NULL));
	out = imgseg_remove_background(one, NULL);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(alpha_at(out, 0, 0), 127);
	gdImageDestroy(out);
	out = imgseg_remove_background(two, NULL);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(gdImageSY(out), 9);
	ck_assert_int_eq(alpha_at(out, 1, 4), 127);
	gdImageDestroy(out);
	gdImageDestroy(one);
	gdImageDestroy(two);
	for (int s = 3; s <= 12; s++) { /* smallest sizes with an interior */
		gdImagePtr im = photo(s, s + 1, s / 3, 0);

		out = imgseg_remove_background(im, NULL);
		ck_assert_ptr_nonnull(out);
		ck_assert_int_eq(gdImageSX(out), s);
		ck_assert_int_ge(alpha_at(out, 0, 0), 64); /* feather may reach */
		gdImageDestroy(out);
		gdImageDestroy(im);
	}
}
END_TEST

START_TEST(flat_image_is_all_background)
{
	gdImagePtr src = gdImageCreateTrueColor(64, 48), out;

	gdImageFilledRectangle(src, 0, 0, 63, 47, gdTrueColorAlpha(40, 80, 120, 0));
	out = imgseg_remove_background(src, NULL);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_ge(alpha_at(out, 32, 24), 120);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

START_TEST(kmeans_three_clusters)
{
	float pts[300 * 3], c[3 * 3];
	int found[3] = {0, 0, 0};

	rng_state = 7;
	for (int i = 0; i < 300; i++)
		for (int a = 0; a < 3; a++)
			pts[3 * i + a] = (float)((i % 3) * 100 + noise(5));
	ck_assert_int_eq(imgseg_kmeans(pts, 300, 3, 10, c), 3);
	for (int j = 0; j < 3; j++) {
		int k = (int)lround(c[3 * j] / 100.0);

		ck_assert_int_ge(k, 0);
		ck_assert_int_le(k, 2);
		ck_assert_float_eq_tol(c[3 * j], k * 100.0f, 2.0f);
		found[k]++;
	}
	ck_assert_int_eq(found[0] * found[1] * found[2], 1);
	/* fewer distinct points than centres */
	ck_assert_int_eq(imgseg_kmeans(pts, 1, 3, 5, c), 1);
	ck_assert_float_eq(c[6], pts[0]);
	ck_assert_int_eq(imgseg_kmeans(pts, 0, 3, 5, c), 0);
	ck_assert_int_eq(imgseg_kmeans(NULL, 3, 3, 5, c), 0);
}
END_TEST

/*
 * A 4 x 1 chain s -> a - b - c - d -> t with edge capacities 5, 1, 5: the
 * cheapest cut is the middle edge.
 */
START_TEST(maxflow_chain)
{
	struct imgflow f;

	imgflow_init(&f, 4, 1);
	imgflow_set_terminal(&f, 0, 0, 10, 0);
	imgflow_set_terminal(&f, 3, 0, 0, 10);
	imgflow_set_edge(&f, 0, 0, 0, 5);
	imgflow_set_edge(&f, 1, 0, 0, 1);
	imgflow_set_edge(&f, 2, 0, 0, 5);
	imgflow_run(&f);
	ck_assert_int_eq(imgflow_is_source(&f, 0, 0), 1);
	ck_assert_int_eq(imgflow_is_source(&f, 1, 0), 1);
	ck_assert_int_eq(imgflow_is_source(&f, 2, 0), 0);
	ck_assert_int_eq(imgflow_is_source(&f, 3, 0), 0);
	/* reuse: make the middle edge expensive, the cut moves to the end */
	imgflow_clear(&f);
	imgflow_set_terminal(&f, 0, 0, 10, 0);
	imgflow_set_terminal(&f, 3, 0, 0, 10);
	imgflow_set_edge(&f, 0, 0, 0, 5);
	imgflow_set_edge(&f, 1, 0, 0, 9);
	imgflow_set_edge(&f, 2, 0, 0, 3);
	imgflow_run(&f);
	ck_assert_int_eq(imgflow_is_source(&f, 2, 0), 1);
	ck_assert_int_eq(imgflow_is_source(&f, 3, 0), 0);
	imgflow_cleanup(&f);
}
END_TEST

/*
 * A 3 x 3 grid, source on the left column and sink on the right; the
 * vertical middle column is only weakly linked to the right: cut there.
 * Also checks the flow uses diagonal arcs (set with directions 1 and 3).
 */
START_TEST(maxflow_grid)
{
	struct imgflow f;

	imgflow_init(&f, 3, 3);
	for (int y = 0; y < 3; y++) {
		imgflow_set_terminal(&f, 0, y, 100, 0);
		imgflow_set_terminal(&f, 2, y, 0, 100);
		imgflow_set_edge(&f, 0, y, 0, 50);
		imgflow_set_edge(&f, 1, y, 0, 1);
		if (y < 2) {
			imgflow_set_edge(&f, 0, y, 1, 50);
			imgflow_set_edge(&f, 1, y, 1, 0.5f);
			imgflow_set_edge(&f, 2, y, 3, 0.5f);
			imgflow_set_edge(&f, 1, y, 3, 50);
		}
	}
	imgflow_run(&f);
	for (int y = 0; y < 3; y++) {
		ck_assert_int_eq(imgflow_is_source(&f, 0, y), 1);
		ck_assert_int_eq(imgflow_is_source(&f, 1, y), 1);
		ck_assert_int_eq(imgflow_is_source(&f, 2, y), 0);
	}
	imgflow_cleanup(&f);
}
END_TEST

static Suite *imgseg_suite(void)
{
	Suite *s = suite_create("imgseg");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, disc_on_gradient);
	tcase_add_test(tc, disc_on_two_bands);
	tcase_add_test(tc, large_image_downscaled);
	tcase_add_test(tc, edge_is_feathered);
	tcase_add_test(tc, null_and_tiny);
	tcase_add_test(tc, flat_image_is_all_background);
	tcase_add_test(tc, kmeans_three_clusters);
	tcase_add_test(tc, maxflow_chain);
	tcase_add_test(tc, maxflow_grid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgseg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
