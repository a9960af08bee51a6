/*
 * test_imgmatte.c - unit tests for lib/imgmatte.c against imgmatte.h: a
 * disc of a known colour F on a known flat backdrop B, rendered with its
 * exact (supersampled) coverage a as z = a F + (1 - a) B and cut by the
 * mask a >= 0.5. The edge band's alpha must recover a, the rest must be
 * the mask; colours too close to tell apart (|F - B|^2 below 16 times the
 * summed noise variance) keep the mask; a shading plane that darkens the
 * backdrop is used; alpha is clamped to 0..1.
 */
#include "config.h"

#include "imgmatte.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N  48 /* the image is N x N */
#define CX 24.0
#define R  9.3

/* A rendered disc scene and the matting's inputs. */
struct scene {
	float rgb[N * N * 3], bd[N * N * 3], shading[N * N], cov[N * N], alpha[N * N];
	uint8_t mask[N * N];
	double sigma[3];
};

static uint32_t rng_state;

/* Deterministic noise in [-amp, amp]. */
static float noise(float amp)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return amp * (float)((rng_state >> 8) / 8388608.0 - 1.0);
}

/* Share of pixel (x, y) inside the disc, 16 x 16 samples. */
static float coverage(int x, int y)
{
	int in = 0;

	for (int j = 0; j < 16; j++)
		for (int i = 0; i < 16; i++) {
			double dx = x + (i + 0.5) / 16 - CX, dy = y + (j + 0.5) / 16 - CX;

			in += dx * dx + dy * dy < R * R;
		}
	return in / 256.0f;
}

/*
 * Disc of colour f on backdrop b, the backdrop darkened by `shade` within
 * `shade_r` of the centre (the plane in s->shading), noise of `amp`.
 */
static void render(struct scene *s, const float f[3], const float b[3], float shade, double shade_r,
		   float amp)
{
	rng_state = 99;
	for (int y = 0; y < N; y++)
		for (int x = 0; x < N; x++) {
			int i = y * N + x;
			double dx = x + 0.5 - CX, dy = y + 0.5 - CX;
			float a = coverage(x, y);

			s->shading[i] = dx * dx + dy * dy < shade_r * shade_r ? shade : 1.0f;
			s->cov[i] = a;
			s->mask[i] = a >= 0.5f;
			for (int c = 0; c < 3; c++) {
				s->bd[3 * i + c] = b[c];
				s->rgb[3 * i + c] =
				    a * f[c] + (1 - a) * s->shading[i] * b[c] + noise(amp);
			}
		}
	s->sigma[0] = s->sigma[1] = s->sigma[2] = 1.0;
}

static void matte(struct scene *s, int use_shading)
{
	struct imgmatte_input in = {
	    N, N, s->rgb, s->bd, use_shading ? s->shading : NULL, s->mask, s->sigma};

	imgmatte_known_backdrop(&in, s->alpha);
}

/* Is (x, y) more than IMGMATTE_BAND pixels (box) from the other mask value? */
static int far_from_edge(const struct scene *s, int x, int y)
{
	for (int j = y - IMGMATTE_BAND; j <= y + IMGMATTE_BAND; j++)
		for (int i = x - IMGMATTE_BAND; i <= x + IMGMATTE_BAND; i++)
			if (i >= 0 && j >= 0 && i < N && j < N &&
			    s->mask[j * N + i] != s->mask[y * N + x])
				return 0;
	return 1;
}

/* Worst |alpha - coverage| over the band; far pixels must equal the mask. */
static double band_error(const struct scene *s, int *fractional)
{
	double worst = 0;

	*fractional = 0;
	for (int y = 0; y < N; y++)
		for (int x = 0; x < N; x++) {
			int i = y * N + x;

			ck_assert(s->alpha[i] >= 0.0f && s->alpha[i] <= 1.0f);
			if (far_from_edge(s, x, y)) {
				ck_assert_float_eq(s->alpha[i], s->mask[i]);
				continue;
			}
			worst = fmax(worst, fabs(s->alpha[i] - s->cov[i]));
			*fractional += s->alpha[i] > 0.02f && s->alpha[i] < 0.98f;
		}
	return worst;
}

static const float orange[3] = {220, 110, 40}, blue[3] = {60, 140, 210};

START_TEST(band_recovers_coverage)
{
	static struct scene s;
	int frac;

	render(&s, orange, blue, 1, 0, 0);
	matte(&s, 0);
	ck_assert_double_lt(band_error(&s, &frac), 1e-3);
	ck_assert_int_gt(frac, 30); /* the edge really is soft */
	render(&s, orange, blue, 1, 0, 2.0f);
	matte(&s, 0);
	ck_assert_double_lt(band_error(&s, &frac), 0.05);
}
END_TEST

/*
 * sigma 2: the threshold is 16 * 12 = 192. |F - B|^2 = 169 keeps the mask,
 * 196 mixes.
 */
START_TEST(too_close_keeps_mask)
{
	static struct scene s;
	const float b[3] = {100, 120, 140}, close[3] = {113, 120, 140}, apart[3] = {114, 120, 140};
	int frac;

	render(&s, close, b, 1, 0, 0);
	s.sigma[0] = s.sigma[1] = s.sigma[2] = 2.0;
	matte(&s, 0);
	for (int i = 0; i < N * N; i++)
		ck_assert_float_eq(s.alpha[i], s.mask[i]);
	render(&s, apart, b, 1, 0, 0);
	s.sigma[0] = s.sigma[1] = s.sigma[2] = 2.0;
	matte(&s, 0);
	ck_assert_double_lt(band_error(&s, &frac), 1e-3);
	ck_assert_int_gt(frac, 30);
}
END_TEST

/* The backdrop behind the disc is darkened to 0.6: the estimate mixes with 0.6 B. */
START_TEST(shading_darkens_backdrop)
{
	static struct scene s;
	int frac;

	render(&s, orange, blue, 0.6f, 22, 0);
	matte(&s, 1);
	ck_assert_double_lt(band_error(&s, &frac), 1e-3);
	ck_assert_int_gt(frac, 30);
	/* without the plane the same pixels come out wrong */
	matte(&s, 0);
	ck_assert_double_gt(band_error(&s, &frac), 0.2);
}
END_TEST

/*
 * Edge pixels pushed past F (inside the mask) or past B (outside) would
 * mix at 1.5 and -0.5: alpha is clamped to 1 and 0.
 */
START_TEST(alpha_is_clamped)
{
	static struct scene s;
	int pushed = 0;

	render(&s, orange, blue, 1, 0, 0);
	for (int i = 0; i < N * N; i++) {
		if (s.cov[i] <= 0.0f || s.cov[i] >= 1.0f)
			continue;
		for (int c = 0; c < 3; c++) {
			float d = orange[c] - blue[c];

			s.rgb[3 * i + c] = s.mask[i] ? orange[c] + 0.5f * d : blue[c] - 0.5f * d;
		}
		pushed++;
	}
	ck_assert_int_gt(pushed, 30);
	matte(&s, 0);
	for (int i = 0; i < N * N; i++)
		if (s.cov[i] > 0.0f && s.cov[i] < 1.0f)
			ck_assert_float_eq(s.alpha[i], s.mask[i] ? 1.0f : 0.0f);
}
END_TEST

static Suite *imgmatte_suite(void)
{
	Suite *s = suite_create("imgmatte");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, band_recovers_coverage);
	tcase_add_test(tc, too_close_keeps_mask);
	tcase_add_test(tc, shading_darkens_backdrop);
	tcase_add_test(tc, alpha_is_clamped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgmatte_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
