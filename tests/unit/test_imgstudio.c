/*
 * test_imgstudio.c - unit tests for lib/imgstudio.c against imgstudio.h on
 * small float scenes: the fit's confidence is high on a flat noisy
 * backdrop with a centred subject, lower (but still studio) when the
 * subject crosses one border, and low on random noise and on a busy,
 * striped border; the cut of a disc on a gradient gives opaque inside,
 * transparent outside, soft coverage at the edge, and a refitted backdrop.
 */
#include "config.h"

#include "imgstudio.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define W 120
#define H 90

static uint32_t rng_state;

static double uniform(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (rng_state >> 8) / 16777216.0;
}

/* Deterministic standard normal deviate (Box-Muller). */
static double gauss(void)
{
	double u1 = 1.0 - uniform(), u2 = uniform();

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Share of pixel (x, y) inside the disc (cx, cy, r), 8 x 8 samples. */
static float coverage(int x, int y, double cx, double cy, double r)
{
	int in = 0;

	for (int j = 0; j < 8; j++)
		for (int i = 0; i < 8; i++) {
			double dx = x + (i + 0.5) / 8 - cx, dy = y + (j + 0.5) / 8 - cy;

			in += dx * dx + dy * dy < r * r;
		}
	return in / 64.0f;
}

/* The backdrop of the scenes: flat, or a horizontal gradient. */
static void backdrop(int x, int gradient, float out[3])
{
	double t = gradient ? (double)x / (W - 1) : 0.5;

	out[0] = (float)(150 + 60 * t);
	out[1] = (float)(200 - 40 * t);
	out[2] = (float)(170 + 20 * t);
}

/* A red disc over the backdrop with Gaussian noise of 2 levels. */
static float *scene(double cx, double cy, double r, int gradient, float *cov)
{
	static const float subject[3] = {200, 50, 40};
	float *rgb = malloc((size_t)W * H * 3 * sizeof(float));

	ck_assert_ptr_nonnull(rgb);
	rng_state = 7;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			float b[3], a = coverage(x, y, cx, cy, r);

			backdrop(x, gradient, b);
			if (cov)
				cov[y * W + x] = a;
			for (int c = 0; c < 3; c++)
				rgb[3 * (y * W + x) + c] =
				    a * subject[c] + (1 - a) * b[c] + (float)(2 * gauss());
		}
	return rgb;
}

static double fit(const float *rgb)
{
	struct imgbackdrop bd;

	return imgstudio_fit(rgb, W, H, &bd);
}

START_TEST(fit_confident_on_studio_shot)
{
	float *centred = scene(W / 2.0, H / 2.0, 25, 0, NULL);
	float *crossing = scene(W, H / 2.0, 35, 0, NULL);
	double c1 = fit(centred), c2 = fit(crossing);

	ck_assert_msg(c1 >= 0.8, "centred subject: confidence %.3f", c1);
	ck_assert_msg(c2 >= 0.6 && c2 < c1, "subject across the border: %.3f (centred %.3f)", c2,
		      c1);
	free(centred);
	free(crossing);
}
END_TEST

START_TEST(fit_not_confident_on_noise)
{
	float *rgb = malloc((size_t)W * H * 3 * sizeof(float));
	double c;

	ck_assert_ptr_nonnull(rgb);
	rng_state = 11;
	for (int i = 0; i < W * H * 3; i++)
		rgb[i] = (float)(256 * uniform());
	c = fit(rgb);
	ck_assert_msg(c < 0.3, "confidence %.3f on noise", c);
	free(rgb);
}
END_TEST

/* Vertical stripes, 4 px each, of two colours: a calm but busy border. */
START_TEST(fit_not_confident_on_stripes)
{
	float *rgb = scene(W / 2.0, H / 2.0, 25, 0, NULL);
	double c;

	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			if ((x / 4) % 2) {
				float *p = rgb + 3 * (y * W + x);

				p[0] = 40;
				p[1] = 60;
				p[2] = 90;
			}
	c = fit(rgb);
	ck_assert_msg(c < 0.3, "confidence %.3f on stripes", c);
	free(rgb);
}
END_TEST

START_TEST(cut_disc_on_gradient)
{
	static float cov[W * H], alpha[W * H];
	float *rgb = scene(W / 2.0, H / 2.0, 22, 1, cov);
	struct imgbackdrop bd;
	double edge_err = 0;
	int edge = 0;

	ck_assert_double_ge(imgstudio_fit(rgb, W, H, &bd), 0.8);
	ck_assert_int_eq(bd.degree, 2);
	imgstudio_cut(rgb, W, H, &bd, alpha);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			double d = hypot(x + 0.5 - W / 2.0, y + 0.5 - H / 2.0);
			float a = alpha[y * W + x];

			if (d < 19)
				ck_assert_msg(a > 0.95f, "(%d, %d) inside: %.3f", x, y, a);
			else if (d > 25)
				ck_assert_msg(a < 0.05f, "(%d, %d) outside: %.3f", x, y, a);
			else if (cov[y * W + x] > 0 && cov[y * W + x] < 1) {
				edge_err += fabs(a - cov[y * W + x]);
				edge++;
			}
		}
	ck_assert_msg(edge_err / edge < 0.1, "mean edge error %.3f", edge_err / edge);
	/* refitted one degree higher on the clear backdrop, right under the disc too */
	ck_assert_int_eq(bd.degree, 3);
	ck_assert_double_gt(bd.inliers, 0.9);
	for (int x = 0; x < W; x += 7) {
		float got[3], want[3];

		imgbackdrop_at(&bd, (x + 0.5) * 2.0 / W - 1, 0, got);
		backdrop(x, 1, want);
		for (int c = 0; c < 3; c++)
			ck_assert_msg(fabsf(got[c] - want[c]) < 1.5f,
				      "x %d channel %d: %.2f, want %.2f", x, c, got[c], want[c]);
	}
	free(rgb);
}
END_TEST

/*
 * Regression (refit biased bright): on a gradient backdrop with 2 levels
 * of noise and no subject at all, the refitted surface must stay on the
 * backdrop. Pixels that noise made slightly darker fit a "shadow" better
 * than the plain surface; leaving them out of the refit lifted it by
 * about half the noise.
 */
START_TEST(cut_refit_not_biased_by_noise_shadows)
{
	static float alpha[W * H];
	float *rgb = scene(W / 2.0, H / 2.0, 0, 1, NULL);
	struct imgbackdrop bd;
	double bias[3] = {0};
	int n = 0;

	imgstudio_fit(rgb, W, H, &bd);
	imgstudio_cut(rgb, W, H, &bd, alpha);
	for (int i = 0; i < W * H; i++)
		ck_assert_float_lt(alpha[i], 0.05f);
	for (int y = 0; y < H; y += 3)
		for (int x = 0; x < W; x += 3) {
			float got[3], want[3];

			imgbackdrop_at(&bd, (x + 0.5) * 2.0 / W - 1, (y + 0.5) * 2.0 / H - 1, got);
			backdrop(x, 1, want);
			for (int c = 0; c < 3; c++)
				bias[c] += got[c] - want[c];
			n++;
		}
	for (int c = 0; c < 3; c++) {
		ck_assert_msg(fabs(bias[c] / n) < 0.3, "channel %d: refit off by %.2f levels", c,
			      bias[c] / n);
		ck_assert_msg(fabs(bd.sigma[c] - 2.0) < 0.15, "channel %d: sigma %.2f, noise 2", c,
			      bd.sigma[c]);
	}
	free(rgb);
}
END_TEST

static Suite *imgstudio_suite(void)
{
	Suite *s = suite_create("imgstudio");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fit_confident_on_studio_shot);
	tcase_add_test(tc, fit_not_confident_on_noise);
	tcase_add_test(tc, fit_not_confident_on_stripes);
	tcase_add_test(tc, cut_disc_on_gradient);
	tcase_add_test(tc, cut_refit_not_biased_by_noise_shadows);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgstudio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
