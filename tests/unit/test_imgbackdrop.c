/*
 * test_imgbackdrop.c - unit tests for lib/imgbackdrop.c against the
 * contract of imgbackdrop.h: the robust fit recovers known polynomial
 * surfaces of degree 0..3 (with and without deterministic Gaussian noise),
 * ignores a differently coloured blob on 30% of the border band, fits a
 * mask instead of the band, clamps and lowers its degree, and fails
 * without samples; the exact cost of a colour and of its shadow
 * explanation; and the count of outlier runs on the border ring.
 */
#include "config.h"

#include "imgbackdrop.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define W 64
#define H 48

static uint32_t rng_state;

/* Deterministic standard normal deviate (LCG + Box-Muller). */
static double gauss(void)
{
	double u1, u2;

	rng_state = rng_state * 1664525u + 1013904223u;
	u1 = ((rng_state >> 8) + 1.0) / 16777217.0;
	rng_state = rng_state * 1664525u + 1013904223u;
	u2 = (rng_state >> 8) / 16777216.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Coefficients of a known surface, terms of degree above `degree` zero. */
static void known_coef(int degree, double coef[3][IMGBACKDROP_TERMS])
{
	static const double all[3][IMGBACKDROP_TERMS] = {
	    {128, 20, -10, 8, -6, 5, 4, -3, 2, -5},
	    {90, -15, 12, -7, 9, -4, -3, 5, -2, 3},
	    {170, 5, 25, 6, 3, -9, 2, 4, -6, 1},
	};
	static const int terms[4] = {1, 3, 6, 10};

	memset(coef, 0, 3 * sizeof(coef[0]));
	for (int c = 0; c < 3; c++)
		memcpy(coef[c], all[c], (size_t)terms[degree] * sizeof(double));
}

/* The true surface at (u, v). */
static void truth(double coef[3][IMGBACKDROP_TERMS], double u, double v, float out[3])
{
	double t[IMGBACKDROP_TERMS] = {1,     u,         v,         u * u,     u * v,
				       v * v, u * u * u, u * u * v, u * v * v, v * v * v};

	for (int c = 0; c < 3; c++) {
		double s = 0;

		for (int j = 0; j < IMGBACKDROP_TERMS; j++)
			s += coef[c][j] * t[j];
		out[c] = (float)s;
	}
}

/* A w x h image of the surface plus noise of standard deviation `noise`. */
static float *render(double coef[3][IMGBACKDROP_TERMS], int w, int h, double noise)
{
	float *rgb = malloc((size_t)w * h * 3 * sizeof(float));

	ck_assert_ptr_nonnull(rgb);
	rng_state = 4242;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float *p = rgb + 3 * ((size_t)y * w + x);

			truth(coef, (x + 0.5) * 2.0 / w - 1, (y + 0.5) * 2.0 / h - 1, p);
			for (int c = 0; c < 3; c++)
				p[c] += (float)(noise * gauss());
		}
	return rgb;
}

/* Largest |fit - truth| over the columns from x0 on, through imgbackdrop_row. */
static double error_from(const struct imgbackdrop *b, double coef[3][IMGBACKDROP_TERMS], int w,
			 int h, int x0)
{
	float row[3 * W], want[3];
	double worst = 0;

	ck_assert_int_le(w, W);
	for (int y = 0; y < h; y++) {
		imgbackdrop_row(b, w, h, y, row);
		for (int x = x0; x < w; x++) {
			truth(coef, (x + 0.5) * 2.0 / w - 1, (y + 0.5) * 2.0 / h - 1, want);
			for (int c = 0; c < 3; c++)
				worst = fmax(worst, fabs(row[3 * x + c] - want[c]));
		}
	}
	return worst;
}

START_TEST(fit_recovers_exact_polynomial)
{
	for (int deg = 0; deg <= 3; deg++) {
		double coef[3][IMGBACKDROP_TERMS];
		struct imgbackdrop b;
		float *rgb, at[3], want[3];

		known_coef(deg, coef);
		rgb = render(coef, W, H, 0);
		ck_assert_int_eq(imgbackdrop_fit(&b, rgb, W, H, NULL, 4, deg, 100000), 0);
		ck_assert_int_eq(b.degree, deg);
		for (int c = 0; c < 3; c++) {
			for (int j = 0; j < IMGBACKDROP_TERMS; j++)
				ck_assert_double_eq_tol(b.coef[c][j], coef[c][j], 1e-3);
			ck_assert_double_eq(b.sigma[c], 1.0); /* the floor */
		}
		ck_assert_double_eq(b.inliers, 1.0);
		ck_assert_double_le(error_from(&b, coef, W, H, 0), 0.01);
		imgbackdrop_at(&b, 0.3, -0.7, at);
		truth(coef, 0.3, -0.7, want);
		for (int c = 0; c < 3; c++)
			ck_assert_float_eq_tol(at[c], want[c], 0.01f);
		free(rgb);
	}
}
END_TEST

START_TEST(fit_recovers_noisy_polynomial)
{
	for (int deg = 0; deg <= 3; deg++) {
		double coef[3][IMGBACKDROP_TERMS];
		struct imgbackdrop b;
		float *rgb;

		known_coef(deg, coef);
		rgb = render(coef, W, H, 3.0);
		ck_assert_int_eq(imgbackdrop_fit(&b, rgb, W, H, NULL, 4, deg, 100000), 0);
		ck_assert_int_eq(b.degree, deg);
		for (int c = 0; c < 3; c++)
			ck_assert_msg(fabs(b.sigma[c] - 3.0) < 0.45, "degree %d sigma[%d] %.3f",
				      deg, c, b.sigma[c]);
		ck_assert_msg(b.inliers > 0.97, "degree %d inliers %.3f", deg, b.inliers);
		ck_assert_msg(error_from(&b, coef, W, H, 0) < 1.5, "degree %d error %.3f", deg,
			      error_from(&b, coef, W, H, 0));
		free(rgb);
	}
}
END_TEST

/* A green blob over the left of the image: 30% of a 4 px border band. */
START_TEST(fit_ignores_blob_on_border)
{
	double coef[3][IMGBACKDROP_TERMS];
	struct imgbackdrop b;
	float *rgb;
	int xb = 11; /* blob: x < xb, whole height */
	double band = W * H - (W - 8) * (H - 8), covered = xb * H - (xb - 4) * (H - 8);

	known_coef(2, coef);
	rgb = render(coef, W, H, 2.0);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < xb; x++) {
			float *p = rgb + 3 * ((size_t)y * W + x);

			p[0] = 30;
			p[1] = 220;
			p[2] = 40;
		}
	ck_assert_double_eq_tol(covered / band, 0.3, 0.01);
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, W, H, NULL, 4, 2, 100000), 0);
	ck_assert_double_eq_tol(b.inliers, 1 - covered / band, 0.02);
	/* within half the noise where the backdrop shows, one noise under the blob */
	ck_assert_msg(error_from(&b, coef, W, H, xb) < 1.0, "error %.3f",
		      error_from(&b, coef, W, H, xb));
	ck_assert_msg(error_from(&b, coef, W, H, 0) < 2.0, "error %.3f",
		      error_from(&b, coef, W, H, 0));
	for (int c = 0; c < 3; c++)
		ck_assert_double_eq_tol(b.sigma[c], 2.0, 0.3);
	free(rgb);
}
END_TEST

/* Border one surface, a rectangle inside another: the mask picks the latter. */
START_TEST(fit_uses_mask_instead_of_band)
{
	double outer[3][IMGBACKDROP_TERMS], inner[3][IMGBACKDROP_TERMS];
	uint8_t use[W * H] = {0};
	struct imgbackdrop b;
	float *rgb, *in;

	known_coef(1, outer);
	known_coef(0, inner);
	inner[0][0] = 30;
	inner[1][0] = 60;
	inner[2][0] = 90;
	rgb = render(outer, W, H, 0);
	in = render(inner, W, H, 0);
	for (int y = 12; y < 36; y++)
		for (int x = 16; x < 48; x++) {
			memcpy(rgb + 3 * (y * W + x), in + 3 * (y * W + x), 3 * sizeof(float));
			use[y * W + x] = 1;
		}
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, W, H, use, 4, 1, 100000), 0);
	for (int c = 0; c < 3; c++) {
		ck_assert_double_eq_tol(b.coef[c][0], inner[c][0], 1e-3);
		ck_assert_double_eq_tol(b.coef[c][1], 0, 1e-3);
	}
	ck_assert_double_eq(b.inliers, 1.0);
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, W, H, NULL, 4, 1, 100000), 0);
	ck_assert_double_le(error_from(&b, outer, W, H, 0), 0.01);
	free(rgb);
	free(in);
}
END_TEST

static int fit_degree(int w, int h, int band, int degree, size_t max_samples)
{
	double coef[3][IMGBACKDROP_TERMS];
	struct imgbackdrop b;
	float *rgb;

	known_coef(3, coef);
	rgb = render(coef, w, h, 0);
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, w, h, NULL, band, degree, max_samples), 0);
	free(rgb);
	return b.degree;
}

/* 0..3, and 20 samples a term: a 16 x 16 ring (60 samples) has 3 terms. */
START_TEST(fit_clamps_and_lowers_degree)
{
	ck_assert_int_eq(fit_degree(W, H, 4, 7, 100000), 3);
	ck_assert_int_eq(fit_degree(W, H, 4, -2, 100000), 0);
	ck_assert_int_eq(fit_degree(16, 16, 1, 3, 100000), 1);
	ck_assert_int_eq(fit_degree(15, 16, 1, 3, 100000), 0);
	ck_assert_int_eq(fit_degree(10, 10, 1, 2, 100000), 0);
	/* 832 band pixels strided to at most 100: below the 120 of degree 2 */
	ck_assert_int_eq(fit_degree(W, H, 4, 3, 100), 1);
	ck_assert_int_eq(fit_degree(W, H, 4, 3, 200), 2);
}
END_TEST

START_TEST(fit_without_samples_fails)
{
	float rgb[8 * 8 * 3];
	uint8_t use[8 * 8] = {0};
	struct imgbackdrop b;

	for (size_t i = 0; i < sizeof(rgb) / sizeof(rgb[0]); i++)
		rgb[i] = 100;
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, 8, 8, use, 2, 2, 1000), -1);
	ck_assert_double_eq(b.inliers, 0);
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, 8, 8, NULL, 0, 2, 1000), -1);
	ck_assert_double_eq(b.inliers, 0);
	use[27] = 1;
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, 8, 8, use, 2, 2, 1000), 0);
	ck_assert_int_eq(b.degree, 0);
	ck_assert_double_eq(b.inliers, 1.0);
}
END_TEST

static const struct imgbackdrop noise124 = {0, {{0}}, {1, 2, 4}, 1};

START_TEST(cost_exact)
{
	const float z[3] = {10, 20, 30}, bd[3] = {12, 16, 30};
	float shadow = 0, scale = 0;

	/* (-2/1)^2 + (4/2)^2 + 0 */
	ck_assert_float_eq_tol(imgbackdrop_cost(&noise124, z, bd, NULL, NULL), 8.0f, 1e-5f);
	ck_assert_float_eq_tol(imgbackdrop_cost(&noise124, z, bd, &shadow, &scale), 8.0f, 1e-5f);
	ck_assert_float_eq_tol(scale, 1340.0f / 1300.0f, 1e-5f);
	ck_assert(isinf(shadow)); /* brighter than the backdrop: no shadow */
}
END_TEST

START_TEST(cost_shadow_branch)
{
	const float bd[3] = {100, 150, 200}, shade[3] = {60, 90, 120}, deep[3] = {30, 45, 60};
	const float faint[3] = {36, 54, 72};
	float shadow = 0, scale = 0, plain;

	plain = imgbackdrop_cost(&noise124, shade, bd, &shadow, &scale);
	ck_assert_float_eq_tol(plain, 1600.0f + 900.0f + 400.0f, 1e-2f);
	ck_assert_float_eq_tol(scale, 0.6f, 1e-6f);
	ck_assert_float_eq_tol(shadow, 0.8f, 1e-4f); /* penalty 2 (1 - 0.6), exact colour */
	/* off the shadow's chromaticity: the residual adds */
	{
		const float off[3] = {60, 90, 124};
		double s =
		    (60.0 * 100 + 90.0 * 150 + 124.0 * 200) / (100.0 * 100 + 150 * 150 + 200 * 200);
		double e0 = 60 - s * 100, e1 = (90 - s * 150) / 2, e2 = (124 - s * 200) / 4;

		imgbackdrop_cost(&noise124, off, bd, &shadow, &scale);
		ck_assert_float_eq_tol(scale, (float)s, 1e-6f);
		ck_assert_float_eq_tol(shadow, (float)(2 * (1 - s) + e0 * e0 + e1 * e1 + e2 * e2),
				       1e-4f);
	}
	imgbackdrop_cost(&noise124, deep, bd, &shadow, &scale); /* 0.3 < SHADOW_MIN */
	ck_assert_float_eq_tol(scale, 0.3f, 1e-6f);
	ck_assert(isinf(shadow));
	imgbackdrop_cost(&noise124, faint, bd, &shadow, &scale); /* 0.36 >= SHADOW_MIN */
	ck_assert_float_eq_tol(shadow, 2 * (1 - 0.36f), 1e-4f);
	imgbackdrop_cost(&noise124, bd, bd, &shadow, &scale); /* scale 1: not a shadow */
	ck_assert(isinf(shadow));
	ck_assert_float_eq(imgbackdrop_cost(&noise124, bd, bd, NULL, NULL), 0.0f);
}
END_TEST

#define RW 20
#define RH 10

/* A flat grey (100) RW x RH image; outliers painted with paint(). */
static void ring_image(float *rgb)
{
	for (int i = 0; i < RW * RH * 3; i++)
		rgb[i] = 100;
}

static void paint(float *rgb, int x0, int y0, int x1, int y1)
{
	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++)
			rgb[3 * (y * RW + x)] = 200;
}

static const struct imgbackdrop flat100 = {0, {{100}, {100}, {100}}, {1, 1, 1}, 1};

START_TEST(ring_runs_counts_border_stretches)
{
	float rgb[RW * RH * 3];

	ring_image(rgb);
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 3), 0);
	paint(rgb, 5, 0, 9, 4); /* one blob on the top edge */
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 3), 1);
	ring_image(rgb);
	paint(rgb, 0, 0, 3, 3); /* over the top-left corner, where the ring starts */
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 3), 1);
	paint(rgb, 16, 6, 19, 9); /* and the bottom-right one */
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 3), 2);
	ring_image(rgb);
	paint(rgb, 0, 0, RW - 1, RH - 1); /* the whole ring: one run */
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 3), 1);
}
END_TEST

START_TEST(ring_runs_counts_many_and_skips_short)
{
	float rgb[RW * RH * 3];

	ring_image(rgb);
	for (int x = 1; x < RW - 3; x += 5) {
		paint(rgb, x, 0, x + 2, 0);               /* 4 runs of 3 on the top */
		paint(rgb, x + 1, RH - 1, x + 2, RH - 1); /* 4 runs of 2 on the bottom */
	}
	paint(rgb, RW - 1, 3, RW - 1, 6); /* 1 run of 4 on the right */
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 3), 5);
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 2), 9);
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 4), 1);
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 5), 0);
	/* an interior outlier is not on the ring */
	ring_image(rgb);
	paint(rgb, 3, 3, 12, 6);
	ck_assert_int_eq(imgbackdrop_ring_runs(&flat100, rgb, RW, RH, 1), 0);
}
END_TEST

/* The ring is judged against the surface, not a constant. */
START_TEST(ring_runs_follows_surface)
{
	double coef[3][IMGBACKDROP_TERMS];
	struct imgbackdrop b;
	float *rgb;

	known_coef(2, coef);
	rgb = render(coef, W, H, 0);
	ck_assert_int_eq(imgbackdrop_fit(&b, rgb, W, H, NULL, 2, 2, 100000), 0);
	ck_assert_int_eq(imgbackdrop_ring_runs(&b, rgb, W, H, 1), 0);
	for (int x = 20; x < 30; x++)
		rgb[3 * ((H - 1) * W + x) + 1] += 10; /* 10 sigma off on the bottom edge */
	ck_assert_int_eq(imgbackdrop_ring_runs(&b, rgb, W, H, 1), 1);
	free(rgb);
}
END_TEST

static Suite *imgbackdrop_suite(void)
{
	Suite *s = suite_create("imgbackdrop");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fit_recovers_exact_polynomial);
	tcase_add_test(tc, fit_recovers_noisy_polynomial);
	tcase_add_test(tc, fit_ignores_blob_on_border);
	tcase_add_test(tc, fit_uses_mask_instead_of_band);
	tcase_add_test(tc, fit_clamps_and_lowers_degree);
	tcase_add_test(tc, fit_without_samples_fails);
	tcase_add_test(tc, cost_exact);
	tcase_add_test(tc, cost_shadow_branch);
	tcase_add_test(tc, ring_runs_counts_border_stretches);
	tcase_add_test(tc, ring_runs_counts_many_and_skips_short);
	tcase_add_test(tc, ring_runs_follows_surface);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgbackdrop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
