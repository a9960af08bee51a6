/*
 * test_imgseg.c - unit tests for lib/imgseg.c (its max-flow is tested in
 * test_imgflow.c): background removal on synthetic "photos"
 * drawn with libgd - a textured orange disc on a noisy light-blue gradient,
 * the same on a two-band (sky / ground) background, a large image that goes
 * through the downscaled path - checked for transparent borders, an opaque
 * centre and a foreground area within 15% of the truth; k-means; NULL and
 * tiny inputs.
 *
 * Then the properties issue 12 asks of the engine, each on a small studio
 * scene whose exact coverage is known (subjects painted from discs, boxes
 * and capsules, supersampled; flat, ramp or vignetted backdrops; a soft
 * drop shadow; a little noise): a shadow is backdrop, a hole in the subject
 * is transparent, a 2 px stem survives, a subject running off the border is
 * kept, the edge alpha follows the true coverage, a vignetted backdrop comes
 * off whole, every letter of a word is kept, a white card on an off-white
 * sweep is kept whole, and the confidence is high on a
 * clean studio shot and low on noise. IA_TEST_VERBOSE=1 prints what each of
 * these measures, so a change to the engine can see its margins.
 */
#include "config.h"

#include "imgseg.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- studio scenes with exact coverage (the properties of issue 12) ---- */

/*
 * A subject is painted with primitives in order: a disc (a, b centre, c
 * radius), a box (a, b to c, d, corner radius e) or a capsule (a, b to c,
 * d, half width e), each in the subject's colour (ink 0), its second colour
 * (ink 1) or cutting back to the backdrop (CUT).
 */
enum prim_kind { DISC, BOX, SEG };

#define CUT (-1)

struct prim {
	enum prim_kind kind;
	double a, b, c, d, e;
	int ink;
};

/* A soft elliptical drop shadow: the backdrop darkened by up to `dark`. */
struct shadow {
	double cx, cy, ax, ay, dark, soft;
};

enum backdrop { FLAT, GRADIENT, VIGNETTE };

struct scene {
	int w, h;
	enum backdrop kind;
	int bg[3], fg[3], fg2[3]; /* backdrop, subject (ink 0 and 1) colours */
	const struct prim *prims;
	int nprims;
	const struct shadow *shadow; /* may be NULL */
	int untextured;              /* 1 = the subject is one flat colour */
	float *cov;                  /* set by scene_draw: exact subject coverage */
};

#define SS 6 /* supersampling of the coverage, per axis */

static int prim_inside(const struct prim *p, double x, double y)
{
	double dx, dy, vx, vy, t;

	switch (p->kind) {
	case DISC:
		dx = x - p->a;
		dy = y - p->b;
		return dx * dx + dy * dy < p->c * p->c;
	case BOX:
		if (x < p->a || x >= p->c || y < p->b || y >= p->d)
			return 0;
		dx = fmax(fmax(p->a + p->e - x, x - (p->c - p->e)), 0);
		dy = fmax(fmax(p->b + p->e - y, y - (p->d - p->e)), 0);
		return dx * dx + dy * dy <= p->e * p->e;
	case SEG:
		vx = p->c - p->a;
		vy = p->d - p->b;
		t = ((x - p->a) * vx + (y - p->b) * vy) / (vx * vx + vy * vy);
		t = t < 0 ? 0 : (t > 1 ? 1 : t);
		dx = x - p->a - t * vx;
		dy = y - p->b - t * vy;
		return dx * dx + dy * dy < p->e * p->e;
	}
	return 0;
}

/*
 * The share of pixel x, y the subject covers (supersampled); *second gets
 * the share of that in the second colour.
 */
static double coverage(const struct scene *s, int x, int y, double *second)
{
	int in = 0, ink1 = 0;

	for (int j = 0; j < SS; j++)
		for (int i = 0; i < SS; i++) {
			double px = x + (i + 0.5) / SS, py = y + (j + 0.5) / SS;
			int ink = CUT;

			for (int k = 0; k < s->nprims; k++)
				if (prim_inside(&s->prims[k], px, py))
					ink = s->prims[k].ink;
			in += ink != CUT;
			ink1 += ink == 1;
		}
	*second = in ? (double)ink1 / in : 0;
	return (double)in / (SS * SS);
}

/* How much the shadow darkens the backdrop at x, y (0 = not at all). */
static double shadow_dark(const struct shadow *sh, double x, double y)
{
	double dx, dy, rho;

	if (!sh)
		return 0;
	dx = (x - sh->cx) / sh->ax;
	dy = (y - sh->cy) / sh->ay;
	rho = sqrt(dx * dx + dy * dy);
	return sh->dark * 0.5 * erfc((rho - 1) * fmin(sh->ax, sh->ay) / sh->soft);
}

/* Backdrop brightness: flat, a diagonal ramp, or a radial vignette. */
static double backdrop_shade(const struct scene *s, double x, double y)
{
	double dx = x - s->w / 2.0, dy = y - s->h / 2.0;
	double r2 = (dx * dx + dy * dy) / (s->w * s->w / 4.0 + s->h * s->h / 4.0);

	switch (s->kind) {
	case FLAT: return 1;
	case GRADIENT: return 0.78 + 0.22 * (0.7 * y / s->h + 0.3 * x / s->w);
	case VIGNETTE: return 1 - 0.55 * r2; /* corners at 45% */
	}
	return 1;
}

/*
 * Draw s (a lightly textured subject composited with its exact coverage
 * over the backdrop and shadow, plus noise) and fill s->cov (the caller
 * frees it). Returns the photo; the caller destroys it.
 */
static gdImagePtr scene_draw(struct scene *s, uint32_t seed)
{
	gdImagePtr im = gdImageCreateTrueColor(s->w, s->h);

	ck_assert_ptr_nonnull(im);
	s->cov = malloc((size_t)s->w * s->h * sizeof(*s->cov));
	ck_assert_ptr_nonnull(s->cov);
	rng_state = seed;
	for (int y = 0; y < s->h; y++)
		for (int x = 0; x < s->w; x++) {
			double two, a = coverage(s, x, y, &two), px = x + 0.5, py = y + 0.5;
			double shade =
			    backdrop_shade(s, px, py) * (1 - shadow_dark(s->shadow, px, py));
			double tex = s->untextured ? 1 : 1 + 0.06 * sin(x * 0.19 + y * 0.11);
			int c[3];

			for (int k = 0; k < 3; k++) {
				double f = (1 - two) * s->fg[k] + two * s->fg2[k];

				c[k] =
				    clamp255((int)lround(a * f * tex + (1 - a) * s->bg[k] * shade) +
					     noise(4));
			}
			s->cov[(size_t)y * s->w + x] = (float)a;
			gdImageSetPixel(im, x, y, gdTrueColorAlpha(c[0], c[1], c[2], 0));
		}
	return im;
}

static double cov_at(const struct scene *s, int x, int y)
{
	if (x < 0 || y < 0 || x >= s->w || y >= s->h)
		return 0;
	return s->cov[(size_t)y * s->w + x];
}

/*
 * Whether the (2k+1)^2 window around x, y is wholly subject (want 1) or
 * wholly backdrop (want 0): "inside by k pixels", "outside by k pixels".
 */
static int window_is(const struct scene *s, int x, int y, int k, int want)
{
	for (int j = -k; j <= k; j++)
		for (int i = -k; i <= k; i++)
			if (cov_at(s, x + i, y + j) != (float)want)
				return 0;
	return 1;
}

/*
 * A region tally: count the pixels of a region and those whose gd alpha is
 * within lo..hi; frac() is the share, 1 for an empty region.
 */
struct tally {
	long n, in;
};

static void tally_add(struct tally *t, gdImagePtr out, int x, int y, int lo, int hi)
{
	int a = alpha_at(out, x, y);

	t->n++;
	t->in += a >= lo && a <= hi;
}

static double frac(const struct tally *t)
{
	return t->n ? (double)t->in / t->n : 1;
}

#define OPAQUE 0, 20    /* gd alpha: solid subject */
#define KEPT   0, 40    /* at least 69% opaque */
#define CLEAR  100, 127 /* transparent, at most faint */

/* Subject (coverage >= 1/2) against alpha < 64: intersection over union. */
static double scene_iou(const struct scene *s, gdImagePtr out)
{
	long both = 0, either = 0;

	for (int y = 0; y < s->h; y++)
		for (int x = 0; x < s->w; x++) {
			int t = cov_at(s, x, y) >= 0.5, o = alpha_at(out, x, y) < 64;

			both += t && o;
			either += t || o;
		}
	return either ? (double)both / either : 1;
}

/* Subject pixels inside by 3 px, and backdrop outside by `gap` px. */
static void tally_inout(const struct scene *s, gdImagePtr out, int gap, struct tally *in,
			struct tally *bg)
{
	for (int y = 0; y < s->h; y++)
		for (int x = 0; x < s->w; x++) {
			if (window_is(s, x, y, 3, 1))
				tally_add(in, out, x, y, OPAQUE);
			else if (window_is(s, x, y, gap, 0))
				tally_add(bg, out, x, y, CLEAR);
		}
}

/* IA_TEST_VERBOSE=1 prints every measurement, passing or not. */
static void report(const char *test, const char *what, double v)
{
	if (getenv("IA_TEST_VERBOSE"))
		fprintf(stderr, "%s: %s = %.3f\n", test, what, v);
}

/*
 * A red ball on beige with a soft drop shadow below and right (the
 * backdrop darkened by up to 45%): the shadow is backdrop, not subject.
 */
START_TEST(shadow_is_background)
{
	const struct prim ball[] = {{DISC, 210, 150, 70, 0, 0, 0}};
	const struct shadow sh = {245, 218, 100, 38, 0.45, 14};
	struct scene s = {.w = 480,
			  .h = 360,
			  .kind = FLAT,
			  .bg = {226, 212, 184},
			  .fg = {196, 38, 42},
			  .prims = ball,
			  .nprims = 1,
			  .shadow = &sh};
	gdImagePtr src = scene_draw(&s, 101), out = imgseg_remove_background(src, NULL);
	struct tally shadow = {0, 0}, subj = {0, 0}, bg = {0, 0};

	ck_assert_ptr_nonnull(out);
	for (int y = 0; y < s.h; y++)
		for (int x = 0; x < s.w; x++)
			if (shadow_dark(&sh, x + 0.5, y + 0.5) > 0.2 && window_is(&s, x, y, 4, 0))
				tally_add(&shadow, out, x, y, CLEAR);
	tally_inout(&s, out, 4, &subj, &bg);
	report("shadow", "shadow clear", frac(&shadow));
	report("shadow", "subject opaque", frac(&subj));
	report("shadow", "backdrop clear", frac(&bg));
	report("shadow", "iou", scene_iou(&s, out));
	ck_assert_msg(frac(&shadow) >= 0.90, "%.1f%% of %ld shadow pixels transparent (want 90%%)",
		      100 * frac(&shadow), shadow.n);
	ck_assert_msg(frac(&subj) >= 0.98, "%.1f%% of the ball opaque", 100 * frac(&subj));
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/*
 * A mug: body and handle, the backdrop showing through the handle. The
 * hole is backdrop; the handle around it stays.
 */
START_TEST(hole_is_transparent)
{
	const struct prim mug[] = {
	    {BOX, 110, 70, 250, 250, 10, 0},
	    {DISC, 250, 160, 62, 0, 0, 0},
	    {DISC, 250, 160, 38, 0, 0, CUT},
	    {BOX, 110, 70, 250, 250, 10, 0}, /* the body again: only the handle is open */
	};
	struct scene s = {.w = 400,
			  .h = 300,
			  .kind = FLAT,
			  .bg = {205, 205, 210},
			  .fg = {40, 70, 160},
			  .prims = mug,
			  .nprims = 4};
	gdImagePtr src = scene_draw(&s, 202), out = imgseg_remove_background(src, NULL);
	struct tally hole = {0, 0}, handle = {0, 0};

	ck_assert_ptr_nonnull(out);
	for (int y = 0; y < s.h; y++)
		for (int x = 0; x < s.w; x++) {
			double dx = x + 0.5 - 250, dy = y + 0.5 - 160, r = sqrt(dx * dx + dy * dy);

			if (r < 34 && window_is(&s, x, y, 3, 0))
				tally_add(&hole, out, x, y, CLEAR);
			else if (r > 42 && r < 58 && x > 254)
				tally_add(&handle, out, x, y, OPAQUE);
		}
	report("hole", "hole clear", frac(&hole));
	report("hole", "handle opaque", frac(&handle));
	report("hole", "iou", scene_iou(&s, out));
	ck_assert_msg(frac(&hole) >= 0.95, "%.1f%% of %ld hole pixels transparent (want 95%%)",
		      100 * frac(&hole), hole.n);
	ck_assert_msg(frac(&handle) >= 0.95, "%.1f%% of the handle opaque", 100 * frac(&handle));
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/*
 * A flower: a yellow head and a 2 px wide, slightly slanted green stem.
 * The pixels the stem fully covers stay at least 69% opaque (a stem at half
 * opacity has faded, not survived); the backdrop 7 and 10 px beside it is
 * transparent.
 */
START_TEST(thin_stem_is_kept)
{
	const struct prim flower[] = {
	    {SEG, 180, 140, 212, 350, 1.0, 1},
	    {DISC, 180, 110, 40, 0, 0, 0},
	};
	struct scene s = {.w = 360,
			  .h = 400,
			  .kind = FLAT,
			  .bg = {228, 230, 222},
			  .fg = {236, 190, 30},
			  .fg2 = {50, 120, 45},
			  .prims = flower,
			  .nprims = 2};
	gdImagePtr src = scene_draw(&s, 303), out = imgseg_remove_background(src, NULL);
	struct tally stem = {0, 0}, beside = {0, 0};

	ck_assert_ptr_nonnull(out);
	for (int y = 175; y < 345; y++) {
		int xc = (int)(180 + 32.0 * (y + 0.5 - 140) / 210);

		for (int x = xc - 3; x <= xc + 3; x++)
			if (cov_at(&s, x, y) >= 0.9)
				tally_add(&stem, out, x, y, KEPT);
		tally_add(&beside, out, xc - 7, y, CLEAR);
		tally_add(&beside, out, xc + 7, y, CLEAR);
		tally_add(&beside, out, xc - 10, y, CLEAR);
		tally_add(&beside, out, xc + 10, y, CLEAR);
	}
	report("stem", "stem kept", frac(&stem));
	report("stem", "beside clear", frac(&beside));
	ck_assert_msg(frac(&stem) >= 0.80,
		      "%.1f%% of %ld stem pixels kept (alpha <= 40, want 80%%)", 100 * frac(&stem),
		      stem.n);
	ck_assert_msg(frac(&beside) >= 0.95, "%.1f%% of the backdrop beside the stem transparent",
		      100 * frac(&beside));
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/*
 * A tall vase running off the bottom edge and a ball cut by the right
 * edge, on a gradient backdrop: what touches the border stays, the
 * backdrop along the other borders goes.
 */
START_TEST(border_subject_is_kept)
{
	const struct prim parts[] = {
	    {BOX, 120, 80, 260, 330, 24, 0},
	    {DISC, 400, 120, 55, 0, 0, 0},
	};
	struct scene s = {.w = 400,
			  .h = 300,
			  .kind = GRADIENT,
			  .bg = {214, 218, 224},
			  .fg = {205, 110, 35},
			  .prims = parts,
			  .nprims = 2};
	gdImagePtr src = scene_draw(&s, 404), out = imgseg_remove_background(src, NULL);
	struct tally edge = {0, 0}, in = {0, 0}, bg = {0, 0}, rim = {0, 0};

	ck_assert_ptr_nonnull(out);
	for (int y = 0; y < s.h; y++)
		for (int x = 0; x < s.w; x++) {
			int border = x < 6 || y < 6 || x >= s.w - 6 || y >= s.h - 6;

			if (border && window_is(&s, x, y, 1, 1))
				tally_add(&edge, out, x, y, OPAQUE);
			else if (border && window_is(&s, x, y, 4, 0))
				tally_add(&rim, out, x, y, CLEAR);
		}
	tally_inout(&s, out, 4, &in, &bg);
	report("border", "subject at the border opaque", frac(&edge));
	report("border", "backdrop at the border clear", frac(&rim));
	report("border", "subject opaque", frac(&in));
	report("border", "backdrop clear", frac(&bg));
	report("border", "iou", scene_iou(&s, out));
	ck_assert_msg(frac(&edge) >= 0.95, "%.1f%% of %ld subject pixels at the border opaque",
		      100 * frac(&edge), edge.n);
	ck_assert_msg(frac(&rim) >= 0.98, "%.1f%% of the backdrop at the border transparent",
		      100 * frac(&rim));
	ck_assert_msg(scene_iou(&s, out) >= 0.93, "IoU %.3f", scene_iou(&s, out));
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* What soft_edge_follows_coverage measures on a disc at cx, cy, radius r. */
struct edge_stats {
	int soft;        /* of 32 sectors, those with an intermediate alpha within 3 px */
	int monotone;    /* of 32 rays, those whose alpha grows outwards (8 units slack) */
	double err_edge; /* mean |opacity - coverage| where the coverage is fractional */
	double err_band; /* the same on all pixels within 3 px of the edge */
};

static void edge_measure(const struct scene *s, gdImagePtr out, double cx, double cy, double r,
			 struct edge_stats *st)
{
	int mid[32] = {0};
	long n_edge = 0, n_band = 0;

	memset(st, 0, sizeof(*st));
	for (int k = 0; k < 32; k++) {
		double c = cos(k * M_PI / 16), sn = sin(k * M_PI / 16);
		int prev = -1, mono = 1;

		for (double t = -6; t <= 6; t += 0.25) {
			int a = alpha_at(out, (int)floor(cx + (r + t) * c),
					 (int)floor(cy + (r + t) * sn));

			mono &= a >= prev - 8;
			prev = a;
		}
		st->monotone += mono;
	}
	for (int y = 0; y < s->h; y++)
		for (int x = 0; x < s->w; x++) {
			double dx = x + 0.5 - cx, dy = y + 0.5 - cy,
			       d = sqrt(dx * dx + dy * dy) - r;
			int a = alpha_at(out, x, y);
			double cv = cov_at(s, x, y), e = fabs((127 - a) / 127.0 - cv);
			int sector = (int)floor((atan2(dy, dx) + M_PI) / (2 * M_PI) * 32) & 31;

			if (fabs(d) > 3)
				continue;
			mid[sector] |= a > 10 && a < 117;
			st->err_band += e;
			n_band++;
			if (cv > 0.02 && cv < 0.98) {
				st->err_edge += e;
				n_edge++;
			}
		}
	for (int k = 0; k < 32; k++)
		st->soft += mid[k];
	st->err_edge /= n_edge;
	st->err_band /= n_band;
}

/*
 * An anti-aliased disc: all around its edge the alpha passes through
 * intermediate values within 3 px of the edge and grows outwards along
 * 32 rays, and near the edge it follows the true coverage (a soft band as
 * wide as the real one, not a staircase nor a wide blur).
 */
START_TEST(soft_edge_follows_coverage)
{
	const double cx = 200.3, cy = 150.6, r = 90.4;
	const struct prim disc[] = {{DISC, cx, cy, r, 0, 0, 0}};
	struct scene s = {.w = 400,
			  .h = 300,
			  .kind = FLAT,
			  .bg = {190, 200, 215},
			  .fg = {30, 140, 60},
			  .prims = disc,
			  .nprims = 1};
	gdImagePtr src = scene_draw(&s, 505), out = imgseg_remove_background(src, NULL);
	struct edge_stats st;

	ck_assert_ptr_nonnull(out);
	edge_measure(&s, out, cx, cy, r, &st);
	report("soft", "sectors with a soft band", st.soft);
	report("soft", "monotone rays", st.monotone);
	report("soft", "edge-pixel alpha error", st.err_edge);
	report("soft", "band alpha error", st.err_band);
	ck_assert_msg(st.soft == 32, "%d of 32 sectors have intermediate alpha", st.soft);
	ck_assert_msg(st.monotone >= 30, "%d of 32 rays monotone", st.monotone);
	ck_assert_msg(st.err_edge <= 0.15, "mean |alpha - coverage| %.3f on the edge pixels",
		      st.err_edge);
	ck_assert_msg(st.err_band <= 0.10, "mean |alpha - coverage| %.3f within 3 px of the edge",
		      st.err_band);
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/*
 * A teal box on a studio backdrop under a strong vignette (corners at 45%
 * of the centre's brightness): dark corners and bright middle are both
 * backdrop.
 */
START_TEST(vignetted_backdrop_comes_off)
{
	const struct prim box[] = {{BOX, 170, 120, 310, 240, 16, 0}};
	struct scene s = {.w = 480,
			  .h = 360,
			  .kind = VIGNETTE,
			  .bg = {218, 212, 202},
			  .fg = {20, 120, 130},
			  .prims = box,
			  .nprims = 1};
	gdImagePtr src = scene_draw(&s, 606), out = imgseg_remove_background(src, NULL);
	struct tally corners = {0, 0}, in = {0, 0}, bg = {0, 0};

	ck_assert_ptr_nonnull(out);
	for (int y = 0; y < 24; y++)
		for (int x = 0; x < 24; x++) {
			tally_add(&corners, out, x, y, CLEAR);
			tally_add(&corners, out, s.w - 1 - x, y, CLEAR);
			tally_add(&corners, out, x, s.h - 1 - y, CLEAR);
			tally_add(&corners, out, s.w - 1 - x, s.h - 1 - y, CLEAR);
		}
	tally_inout(&s, out, 4, &in, &bg);
	report("vignette", "corners clear", frac(&corners));
	report("vignette", "backdrop clear", frac(&bg));
	report("vignette", "subject opaque", frac(&in));
	report("vignette", "iou", scene_iou(&s, out));
	ck_assert_msg(frac(&corners) >= 0.98, "%.1f%% of the corners transparent",
		      100 * frac(&corners));
	ck_assert_msg(frac(&bg) >= 0.97, "%.1f%% of the backdrop transparent", 100 * frac(&bg));
	ck_assert_msg(scene_iou(&s, out) >= 0.93, "IoU %.3f", scene_iou(&s, out));
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/*
 * A white card on an off-white sweep: per pixel the card is within the
 * noise of the backdrop (2.6 noise levels at most, in blue), on average it
 * is not. It is kept whole; the sweep around it comes off.
 */
START_TEST(white_on_white_is_kept)
{
	const struct prim card[] = {{BOX, 150, 90, 330, 250, 14, 0}};
	struct scene s = {.w = 480,
			  .h = 340,
			  .kind = FLAT,
			  .bg = {247, 243, 238},
			  .fg = {246, 245, 244},
			  .prims = card,
			  .nprims = 1,
			  .untextured = 1};
	gdImagePtr src = scene_draw(&s, 909), out = imgseg_remove_background(src, NULL);
	struct tally in = {0, 0}, bg = {0, 0};

	ck_assert_ptr_nonnull(out);
	tally_inout(&s, out, 6, &in, &bg);
	report("white on white", "card opaque", frac(&in));
	report("white on white", "backdrop clear", frac(&bg));
	report("white on white", "iou", scene_iou(&s, out));
	ck_assert_msg(frac(&in) >= 0.95, "%.1f%% of the card opaque", 100 * frac(&in));
	ck_assert_msg(frac(&bg) >= 0.97, "%.1f%% of the backdrop transparent", 100 * frac(&bg));
	ck_assert_msg(scene_iou(&s, out) >= 0.93, "IoU %.3f", scene_iou(&s, out));
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* Four block letters "LITE": each one is kept, not only the largest. */
START_TEST(separate_parts_are_all_kept)
{
	const struct prim word[] = {
	    {BOX, 60, 70, 76, 170, 0, 0},    {BOX, 60, 154, 120, 170, 0, 0}, /* L */
	    {BOX, 160, 70, 176, 170, 0, 0},                                  /* I */
	    {BOX, 214, 70, 290, 86, 0, 0},   {BOX, 244, 70, 260, 170, 0, 0}, /* T */
	    {BOX, 330, 70, 346, 170, 0, 0},  {BOX, 330, 70, 394, 86, 0, 0},  /* E */
	    {BOX, 330, 112, 384, 128, 0, 0}, {BOX, 330, 154, 394, 170, 0, 0},
	};
	const int x0[] = {50, 150, 200, 320}, x1[] = {130, 186, 300, 404};
	struct scene s = {.w = 460,
			  .h = 240,
			  .kind = FLAT,
			  .bg = {236, 234, 228},
			  .fg = {35, 35, 45},
			  .prims = word,
			  .nprims = 9};
	gdImagePtr src = scene_draw(&s, 707), out = imgseg_remove_background(src, NULL);
	int kept = 0;

	ck_assert_ptr_nonnull(out);
	for (int p = 0; p < 4; p++) {
		struct tally t = {0, 0};

		for (int y = 0; y < s.h; y++)
			for (int x = x0[p]; x < x1[p]; x++)
				if (window_is(&s, x, y, 2, 1))
					tally_add(&t, out, x, y, OPAQUE);
		report("parts", "letter opaque", frac(&t));
		kept += frac(&t) >= 0.95;
	}
	report("parts", "iou", scene_iou(&s, out));
	ck_assert_msg(kept == 4, "%d of 4 letters kept", kept);
	ck_assert_msg(scene_iou(&s, out) >= 0.90, "IoU %.3f", scene_iou(&s, out));
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* A clean studio shot: the engine is sure of it. */
START_TEST(confidence_high_on_studio_shot)
{
	const struct prim disc[] = {{DISC, 160, 120, 60, 0, 0, 0}};
	struct scene s = {.w = 320,
			  .h = 240,
			  .kind = FLAT,
			  .bg = {226, 212, 184},
			  .fg = {30, 90, 170},
			  .prims = disc,
			  .nprims = 1};
	gdImagePtr src = scene_draw(&s, 808), out;
	double conf = -1;

	out = imgseg_remove_background(src, &conf);
	ck_assert_ptr_nonnull(out);
	report("confidence", "studio shot", conf);
	ck_assert_msg(conf >= 0.7, "confidence %.3f on a clean studio shot", conf);
	free(s.cov);
	gdImageDestroy(out);
	gdImageDestroy(src);
}
END_TEST

/* Uniform RGB noise has no backdrop to model: the engine says it guessed. */
START_TEST(confidence_low_on_noise)
{
	gdImagePtr src = gdImageCreateTrueColor(320, 240), out;
	double conf = -1;

	ck_assert_ptr_nonnull(src);
	rng_state = 909;
	for (int y = 0; y < 240; y++)
		for (int x = 0; x < 320; x++)
			gdImageSetPixel(src, x, y,
					gdTrueColorAlpha(128 + noise(127), 128 + noise(127),
							 128 + noise(127), 0));
	out = imgseg_remove_background(src, &conf);
	ck_assert_ptr_nonnull(out);
	report("confidence", "noise", conf);
	ck_assert_msg(conf < IMGSEG_MIN_CONFIDENCE, "confidence %.3f on uniform noise", conf);
	gdImageDestroy(out);
	gdImageDestroy(src);
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
	tcase_add_test(tc, null_and_tiny);
	tcase_add_test(tc, flat_image_is_all_background);
	tcase_add_test(tc, kmeans_three_clusters);
	tcase_add_test(tc, shadow_is_background);
	tcase_add_test(tc, hole_is_transparent);
	tcase_add_test(tc, thin_stem_is_kept);
	tcase_add_test(tc, border_subject_is_kept);
	tcase_add_test(tc, soft_edge_follows_coverage);
	tcase_add_test(tc, vignetted_backdrop_comes_off);
	tcase_add_test(tc, separate_parts_are_all_kept);
	tcase_add_test(tc, white_on_white_is_kept);
	tcase_add_test(tc, confidence_high_on_studio_shot);
	tcase_add_test(tc, confidence_low_on_noise);
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
