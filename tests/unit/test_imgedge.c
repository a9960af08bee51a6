/*
 * test_imgedge.c - unit tests for lib/imgedge.c: Canny edges of synthetic
 * images drawn with libgd (a black rectangle on white, a flat image, a
 * low-contrast rectangle against two threshold pairs), edge positions
 * against the true border, sizes, and NULL / 1x1 / palette inputs; and the
 * streamed detector against a reference Canny written here on full float
 * planes (exact equality, including hysteresis on long noisy edges).
 * Built twice: against libia, and with lib/imgedge.c compiled in with a
 * tiny hysteresis stack (test_imgedge_smallstack) so that the stack
 * overflow and rescan path runs on every image.
 */
#include "config.h"

#include "err.h"
#include "imgedge.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>

/* Rectangle used by the tests: pixels X0..X1, Y0..Y1 inclusive. */
#define W  200
#define H  150
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
	int c = gdImageGetTrueColorPixel(im, x, y);

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
	/* a two-entry palette image: written as a 1-bit PNG */
	ck_assert(!gdImageTrueColor(out));
	ck_assert_int_eq(gdImageColorsTotal(out), 2);
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
	ck_assert(!gdImageTrueColor(out));
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

/* ---- reference Canny on full planes, for the equality tests ---- */

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/* Sobel (L1) magnitude and sector of every pixel of the blurred plane b. */
static void ref_sobel(const float *b, int w, int h, float *mag, uint8_t *sec)
{
	for (int y = 0; y < h; y++) {
		const float *up = b + (size_t)clampi(y - 1, 0, h - 1) * w;
		const float *mid = b + (size_t)y * w;
		const float *dn = b + (size_t)clampi(y + 1, 0, h - 1) * w;

		for (int x = 0; x < w; x++) {
			int l = clampi(x - 1, 0, w - 1), r = clampi(x + 1, 0, w - 1);
			float gx = (up[r] + 2 * mid[r] + dn[r]) - (up[l] + 2 * mid[l] + dn[l]);
			float gy = (dn[l] + 2 * dn[x] + dn[r]) - (up[l] + 2 * up[x] + up[r]);
			float ax = fabsf(gx), ay = fabsf(gy);
			size_t i = (size_t)y * w + x;

			mag[i] = ax + ay;
			if (ay <= ax * 0.41421356f)
				sec[i] = 0; /* horizontal neighbours */
			else if (ay > ax * 2.41421356f)
				sec[i] = 2; /* vertical */
			else
				sec[i] = (gx > 0) == (gy > 0) ? 1 : 3;
		}
	}
}

static float ref_at(const float *m, int w, int h, int x, int y)
{
	return x < 0 || y < 0 || x >= w || y >= h ? 0 : m[(size_t)y * w + x];
}

/* Suppression + double threshold (0 none, 1 weak, 2 strong), then
 * hysteresis by sweeping until nothing changes. */
static void ref_classify(const float *mag, const uint8_t *sec, int w, int h, float low, float high,
			 uint8_t *out)
{
	static const int dx[4][2] = {{-1, 1}, {-1, 1}, {0, 0}, {1, -1}};
	static const int dy[4][2] = {{0, 0}, {-1, 1}, {-1, 1}, {-1, 1}};
	int changed = 1;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			int s = sec[i];
			float v = mag[i], a = ref_at(mag, w, h, x + dx[s][0], y + dy[s][0]);
			float b = ref_at(mag, w, h, x + dx[s][1], y + dy[s][1]);

			out[i] = v > low && v > a && v >= b ? (v > high ? 2 : 1) : 0;
		}
	while (changed) {
		changed = 0;
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				if (out[(size_t)y * w + x] != 1)
					continue;
				for (int ny = y - 1; ny <= y + 1; ny++)
					for (int nx = x - 1; nx <= x + 1; nx++)
						if (ny >= 0 && nx >= 0 && ny < h && nx < w &&
						    out[(size_t)ny * w + nx] == 2 &&
						    out[(size_t)y * w + x] == 1) {
							out[(size_t)y * w + x] = 2;
							changed = 1;
						}
			}
	}
	for (size_t i = 0; i < (size_t)w * h; i++)
		out[i] = out[i] == 2;
}

static void ref_canny(const float *lum, int w, int h, double low, double high, uint8_t *out)
{
	size_t n = (size_t)w * h;
	float *b = malloc(n * sizeof(*b)), *mag = malloc(n * sizeof(*mag));
	uint8_t *sec = malloc(n);

	ck_assert(b && mag && sec);
	if (low > high) {
		double t = low;

		low = high;
		high = t;
	}
	memcpy(b, lum, n * sizeof(*b));
	imgedge_blur(b, w, h, 1.4);
	ref_sobel(b, w, h, mag, sec);
	ref_classify(mag, sec, w, h, (float)low, (float)high, out);
	free(b);
	free(mag);
	free(sec);
}

/* A grey test picture: gradient, shapes and deterministic grain. */
static gdImagePtr noisy_image(int w, int h, unsigned seed)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);

	ck_assert_ptr_nonnull(im);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int v = (x * 200) / w + 20;

			seed = seed * 1103515245u + 12345u;
			if ((x - w / 3) * (x - w / 3) + (y - h / 2) * (y - h / 2) < w * h / 16)
				v = 230 - v / 2;
			if (x > w / 2 && y > h / 4 && y < h * 3 / 4)
				v /= 3;
			v += (int)((seed >> 16) % 41) - 20;
			v = clampi(v, 0, 255);
			im->tpixels[y][x] = gdTrueColorAlpha(v, v, v, 0);
		}
	return im;
}

/* The luminance imgedge_outline computes for an opaque grey pixel. */
static float *grey_plane(gdImagePtr im)
{
	int w = gdImageSX(im), h = gdImageSY(im);
	float *lum = malloc((size_t)w * h * sizeof(*lum));

	ck_assert_ptr_nonnull(lum);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int v = gdTrueColorGetRed(im->tpixels[y][x]);

			lum[(size_t)y * w + x] = 0.299f * v + 0.587f * v + 0.114f * v;
		}
	return lum;
}

/*
 * imgedge_canny, imgedge_outline and the full-plane reference agree pixel
 * for pixel, and canny leaves its input alone.
 */
static void check_same_as_reference(int w, int h, double low, double high)
{
	gdImagePtr im = noisy_image(w, h, (unsigned)(w * 31 + h));
	float *lum = grey_plane(im), *copy = malloc((size_t)w * h * sizeof(*copy));
	uint8_t *got = malloc((size_t)w * h), *want = malloc((size_t)w * h);
	gdImagePtr out;

	ck_assert(copy && got && want);
	memcpy(copy, lum, (size_t)w * h * sizeof(*copy));
	ref_canny(lum, w, h, low, high, want);
	ck_assert_int_eq(imgedge_canny(lum, w, h, low, high, got), 0);
	ck_assert(memcmp(lum, copy, (size_t)w * h * sizeof(*copy)) == 0);
	out = imgedge_outline(im, (int)low, (int)high);
	ck_assert_ptr_nonnull(out);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;

			ck_assert_msg(got[i] == want[i], "%dx%d %g/%g: canny %d,%d", w, h, low,
				      high, x, y);
			ck_assert_msg(is_edge(out, x, y) == want[i], "%dx%d %g/%g: outline %d,%d",
				      w, h, low, high, x, y);
		}
	gdImageDestroy(out);
	gdImageDestroy(im);
	free(lum);
	free(copy);
	free(got);
	free(want);
}

static int count_plane(const uint8_t *e, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		c += e[i];
	return c;
}

START_TEST(streamed_equals_reference)
{
	static const int sizes[][2] = {{301, 203}, {64, 64}, {7, 97}, {97, 3},
				       {1, 40},    {40, 1},  {2, 2}};
	static const double thr[][2] = {{50, 150}, {5, 20}, {20, 5}, {0, 0}, {30, 31}};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t t = 0; t < sizeof(thr) / sizeof(thr[0]); t++)
			check_same_as_reference(sizes[s][0], sizes[s][1], thr[t][0], thr[t][1]);
}
END_TEST

/*
 * Hysteresis over long, branching noisy edges (deep stacks; the small-stack
 * build overflows and rescans): weak pixels are really kept through their
 * strong neighbours, and the result still equals the reference.
 */
START_TEST(hysteresis_on_noise)
{
	int w = 400, h = 300;
	gdImagePtr im = noisy_image(w, h, 7);
	float *lum = grey_plane(im);
	uint8_t *strong_only = malloc((size_t)w * h), *both = malloc((size_t)w * h);
	uint8_t *weak_too = malloc((size_t)w * h);

	ck_assert(strong_only && both && weak_too);
	ck_assert_int_eq(imgedge_canny(lum, w, h, 40, 40, strong_only), 0);
	ck_assert_int_eq(imgedge_canny(lum, w, h, 10, 40, both), 0);
	ck_assert_int_eq(imgedge_canny(lum, w, h, 10, 10, weak_too), 0);
	ck_assert_int_gt(count_plane(both, (size_t)w * h), count_plane(strong_only, (size_t)w * h));
	ck_assert_int_lt(count_plane(both, (size_t)w * h), count_plane(weak_too, (size_t)w * h));
	ck_assert_int_gt(count_plane(both, (size_t)w * h), 5000);
	gdImageDestroy(im);
	free(lum);
	free(strong_only);
	free(both);
	free(weak_too);
	check_same_as_reference(w, h, 10, 40);
}
END_TEST

static Suite *imgedge_suite(void)
{
	Suite *s = suite_create("imgedge");
	TCase *tc = tcase_create("core");

	/* Check's 4 s default is for a quiet machine: make check runs these
	 * beside the API tests' stack (-j2), where the streamed comparison
	 * alone took over 4 s (as test_imggen and test_credits allow). */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rectangle_border);
	tcase_add_test(tc, flat_has_no_edges);
	tcase_add_test(tc, thresholds_matter);
	tcase_add_test(tc, hysteresis_connectivity);
	tcase_add_test(tc, size_is_kept);
	tcase_add_test(tc, palette_input);
	tcase_add_test(tc, bad_and_tiny_inputs);
	tcase_add_test(tc, blur_plane);
	tcase_add_test(tc, streamed_equals_reference);
	tcase_add_test(tc, hysteresis_on_noise);
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
