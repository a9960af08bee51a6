/*
 * imgstudio.c - the studio path of the background removal (imgstudio.h).
 *
 * The backdrop is a fitted surface (imgbackdrop.h): every pixel gets its
 * noise-normalised distance from it, or from a shadow of it where a walk
 * from the clear backdrop reaches it through gently darkening pixels. A
 * threshold finds clear backdrop to refit the surface one degree higher;
 * then a min-cut (imgflow.h: distance t-links against a constant, contrast
 * n-links) labels the subject. Enclosed background that does not match the
 * backdrop exactly is subject, not a hole; specks go; the edge band is
 * matted against the known backdrop (imgmatte.h).
 */
#include "config.h"

#include "imgstudio.h"
#include "imgflow.h"
#include "imgmask.h"
#include "imgmatte.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STUDIO_FIT_SAMPLES  40000
#define STUDIO_BAND         0.03 /* backdrop sample band, fraction of the shorter side */
#define STUDIO_CALM         4.0  /* backdrop noise (levels) of a clean studio shot */
#define STUDIO_NOISY        16.0 /* ... and of a backdrop that is no surface at all */
#define STUDIO_RING_RUN     3    /* outlier pixels in a row that count on the border ring */
#define STUDIO_RING_RUNS_OK 8    /* stretches of border a subject may cover */
#define STUDIO_GAMMA        10.0 /* smoothness weight of the cut */
#define STUDIO_TAU          3.5  /* noise-normalised distance where the subject starts */
#define STUDIO_COST_CAP     40.0f
#define STUDIO_SHADOW_STEP  0.04  /* darkening per pixel a soft shadow may have */
#define STUDIO_MIN_PART     20000 /* parts below 1/20000 of the image are specks */
#define STUDIO_HOLE_BIAS    1.0   /* squared mean residual (noise units) of a real hole */
#define STUDIO_HOLE_COST    6.0   /* its mean squared distance (3 for pure noise) */
#define STUDIO_ISLAND       0.85  /* share of shaded surroundings that makes a part an island */
#define STUDIO_REFIT_GAP    4     /* pixels kept clear of the subject when refitting */
#define STUDIO_BOX_RADIUS   3     /* box of the steady-offset evidence (7 x 7) */
#define STUDIO_BOX_DISCOUNT 4.0f  /* ... divided by this for the surface's own misfit */

/* The working state: the image, the labels, and every pixel's fit. */
struct studio {
	int w, h;
	size_t n;
	const float *rgb; /* n * 3, 0..255 */
	uint8_t *fg;      /* current labels, 1 = subject */
	float *nl;        /* n * 4 n-link weights (imgflow_nlinks) */
	float *plain;     /* squared noise-normalised distance from the backdrop */
	float *shadow;    /* the same for the best shadow, HUGE_VALF if none */
	float *scale;     /* darkening factor of that shadow */
	uint8_t *shade;   /* 1 = reached from the clear backdrop by a soft shadow */
	float *cost;      /* distance from the backdrop or its shadow */
	float *steady;    /* evidence of a steady offset from it (studio_steady) */
	float *bd;        /* the backdrop colour of each pixel, n * 3 */
};

/*
 * Fit quality of the backdrop model, the confidence the engine reports:
 * the share of the border that fits, how calm the fit's noise is, and how
 * few separate stretches of the border do not fit.
 */
static double studio_confidence(const struct imgbackdrop *bd, int runs)
{
	double noise = (bd->sigma[0] + bd->sigma[1] + bd->sigma[2]) / 3;
	double calm = (STUDIO_NOISY - noise) / (STUDIO_NOISY - STUDIO_CALM);
	double whole = runs <= STUDIO_RING_RUNS_OK ? 1.0 : (double)STUDIO_RING_RUNS_OK / runs;

	calm = calm < 0 ? 0 : (calm > 1 ? 1 : calm);
	return bd->inliers * calm * whole;
}

static void studio_costs(const struct studio *p, const struct imgbackdrop *bd)
{
	for (int y = 0; y < p->h; y++) {
		float *row = p->bd + (size_t)y * p->w * 3;

		imgbackdrop_row(bd, p->w, p->h, y, row);
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;

			p->plain[i] = imgbackdrop_cost(bd, p->rgb + 3 * i, row + 3 * (size_t)x,
						       &p->shadow[i], &p->scale[i]);
		}
	}
}

/*
 * Shadows: the region reached from the clear backdrop (border-connected
 * pixels that fit the surface) through pixels a darkened backdrop
 * explains, each step darkening by at most `step`. A shadow fades in
 * gently; a subject of the backdrop's hue starts at an edge, which stops
 * the walk.
 */
static void studio_shadows(const struct studio *p, double step)
{
	struct imgflow_stack st = {NULL, 0, 0};
	const float tau2 = (float)(STUDIO_TAU * STUDIO_TAU);

	memset(p->shade, 0, p->n);
	for (int y = 0; y < p->h; y++)
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;

			if ((x == 0 || y == 0 || x == p->w - 1 || y == p->h - 1) &&
			    p->plain[i] < tau2) {
				p->shade[i] = 1;
				imgflow_stack_push(&st, (int32_t)i);
			}
		}
	while (st.len > 0) {
		int32_t i = st.v[--st.len];
		int x = i % p->w, y = i / p->w;

		for (int d = 0; d < 8; d += 2) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
			int32_t j = ny * p->w + nx;
			int ok;

			if (nx < 0 || ny < 0 || nx >= p->w || ny >= p->h || p->shade[j])
				continue;
			ok = p->plain[j] < tau2 ||
			     (p->shadow[j] < tau2 && fabsf(p->scale[j] - p->scale[i]) <= step);
			if (!ok)
				continue;
			p->shade[j] = 1;
			imgflow_stack_push(&st, j);
		}
	}
	free(st.v);
	for (size_t i = 0; i < p->n; i++)
		p->cost[i] = p->shade[i] && p->shadow[i] < p->plain[i] ? p->shadow[i] : p->plain[i];
}

/* Did pixel i's distance come from a shadow of the backdrop (studio_shadows)? */
static int studio_uses_shadow(const struct studio *p, size_t i)
{
	return p->cost[i] != p->plain[i];
}

/*
 * A subject of nearly the backdrop's colour (white on white) fits pixel by
 * pixel, but not on average: over a box of pixels that fit, the noise
 * averages out and a steady offset from the backdrop (or its shadow)
 * shows. steady[i] is that box's squared mean offset times its pixel
 * count (about 3 on a backdrop the surface fits), discounted
 * STUDIO_BOX_DISCOUNT times for the surface's own small misfit; pixels
 * that do not fit stay out of the box, so a contrasted edge does not
 * spread into the backdrop beside it.
 */
static void studio_steady(const struct studio *p, const struct imgbackdrop *bd)
{
	const float tau2 = (float)(STUDIO_TAU * STUDIO_TAU);
	float *sum = xmalloc(p->n * 4 * sizeof(*sum)), *count = sum + 3 * p->n;

	for (size_t i = 0; i < p->n; i++) {
		float s = studio_uses_shadow(p, i) ? p->scale[i] : 1.0f;
		int calm = p->cost[i] < tau2;

		for (int c = 0; c < 3; c++)
			sum[c * p->n + i] =
			    calm ? (p->rgb[3 * i + c] - s * p->bd[3 * i + c]) / (float)bd->sigma[c]
				 : 0;
		count[i] = (float)calm;
	}
	for (int c = 0; c < 4; c++)
		imgmask_box_sum(sum + c * p->n, p->w, p->h, STUDIO_BOX_RADIUS);
	for (size_t i = 0; i < p->n; i++) {
		float m2 = 0;

		for (int c = 0; c < 3; c++) {
			float m = count[i] > 0 ? sum[c * p->n + i] / count[i] : 0;

			m2 += m * m;
		}
		p->steady[i] = count[i] * m2 / STUDIO_BOX_DISCOUNT;
	}
	free(sum);
}

/* What the cut weighs against the constant: the larger of the two distances. */
static float studio_evidence(const struct studio *p, size_t i)
{
	float c = p->cost[i] > p->steady[i] ? p->cost[i] : p->steady[i];

	return c < STUDIO_COST_CAP ? c : STUDIO_COST_CAP;
}

/* How much the darkening factor varies between neighbours from noise alone. */
static double studio_shadow_step(const struct imgbackdrop *bd)
{
	float c[3];
	double level, noise = (bd->sigma[0] + bd->sigma[1] + bd->sigma[2]) / 3;

	imgbackdrop_at(bd, 0, 0, c);
	level = (c[0] + c[1] + c[2]) / 3;
	return STUDIO_SHADOW_STEP + 3 * noise / (level > 16 ? level : 16);
}

/* Min-cut with backdrop-distance t-links on a fresh f; labels p->fg. */
static void studio_cut(struct studio *p, struct imgflow *f)
{
	for (int y = 0; y < p->h; y++) {
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;
			float c = studio_evidence(p, i);

			imgflow_set_terminal(f, x, y, c * 0.5f, STUDIO_TAU * STUDIO_TAU * 0.5f);
			for (int d = 0; d < 4; d++)
				imgflow_set_edge(f, x, y, d, p->nl[4 * i + d]);
		}
	}
	imgflow_run(f);
	for (int y = 0; y < p->h; y++)
		for (int x = 0; x < p->w; x++)
			p->fg[(size_t)y * p->w + x] = (uint8_t)imgflow_is_source(f, x, y);
}

/*
 * Background pixels at least `gap` pixels (box distance) from the
 * foreground that fit the plain backdrop: what the refit uses. (Not "that
 * the cut did not call shadow": noise makes half the backdrop a little
 * darker, a shadow of scale 0.99 fits those better, and leaving them out
 * lifted the refit by half the noise.)
 */
static uint8_t *studio_clear_background(const struct studio *p, int gap)
{
	uint8_t *clear = xmalloc(p->n);

	imgmask_near(p->fg, p->w, p->h, gap, clear);
	for (size_t i = 0; i < p->n; i++)
		clear[i] = !clear[i] && p->plain[i] < (float)(STUDIO_TAU * STUDIO_TAU);
	return clear;
}

/*
 * Fit, shadows and labels for the current surface: a min-cut when f is
 * given, else the plain threshold (enough to find clear backdrop to refit).
 */
static void studio_round(struct studio *p, const struct imgbackdrop *bd, struct imgflow *f)
{
	studio_costs(p, bd);
	studio_shadows(p, studio_shadow_step(bd));
	studio_steady(p, bd);
	if (f) {
		studio_cut(p, f);
		return;
	}
	for (size_t i = 0; i < p->n; i++)
		p->fg[i] = studio_evidence(p, i) >= (float)(STUDIO_TAU * STUDIO_TAU);
}

/* Is background pixel i a shadow: explained by one and not by the plain backdrop? */
static int studio_shaded(const struct studio *p, size_t i)
{
	return !p->fg[i] && studio_uses_shadow(p, i) &&
	       p->plain[i] >= (float)(STUDIO_TAU * STUDIO_TAU);
}

/*
 * Grow one foreground component from seed (8-connected, marking lab) and
 * count the background around it: all of it, and the shaded part.
 */
static void studio_part(const struct studio *p, int32_t seed, uint8_t *lab,
			struct imgflow_stack *st, struct imgflow_stack *part, size_t *ring,
			size_t *shaded)
{
	*ring = *shaded = 0;
	part->len = 0;
	lab[seed] = 1;
	imgflow_stack_push(st, seed);
	while (st->len > 0) {
		int32_t i = st->v[--st->len];
		int x = i % p->w, y = i / p->w;

		imgflow_stack_push(part, i);
		for (int d = 0; d < 8; d++) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
			int32_t j = ny * p->w + nx;

			if (nx < 0 || ny < 0 || nx >= p->w || ny >= p->h)
				continue;
			if (!p->fg[j]) {
				*ring += (d & 1) == 0;
				*shaded += (d & 1) == 0 && studio_shaded(p, (size_t)j);
				continue;
			}
			if (!lab[j]) {
				lab[j] = 1;
				imgflow_stack_push(st, j);
			}
		}
	}
}

/*
 * Islands: a shadow lies beside the subject, never around its parts. When
 * parts of the subject are almost wholly surrounded by "shadow", that
 * shadow is the subject's own body in the backdrop's hue (a grey case on a
 * grey sweep), reached by the walk where the real shadow touches it: what
 * is shaded within the convex hull of those parts goes back to the
 * subject. (A drop shadow around the whole subject lies outside its hull.)
 */
static void studio_islands(struct studio *p)
{
	uint8_t *lab = xcalloc(p->n, 1), *isl = xcalloc(p->n, 1);
	struct imgflow_stack st = {NULL, 0, 0}, part = {NULL, 0, 0};
	int found = 0;

	for (size_t s = 0; s < p->n; s++) {
		size_t ring, shaded;

		if (!p->fg[s] || lab[s])
			continue;
		studio_part(p, (int32_t)s, lab, &st, &part, &ring, &shaded);
		if (part.len < p->n / STUDIO_MIN_PART + 8 || ring == 0 ||
		    (double)shaded < STUDIO_ISLAND * (double)ring)
			continue;
		for (size_t k = 0; k < part.len; k++)
			isl[part.v[k]] = 1;
		found = 1;
	}
	if (found) {
		imgmask_hull(isl, p->w, p->h, lab);
		for (size_t i = 0; i < p->n; i++)
			if (lab[i] && studio_shaded(p, i)) {
				p->fg[i] = 1;
				p->cost[i] = p->plain[i];
			}
	}
	free(lab);
	free(isl);
	free(st.v);
	free(part.v);
}

/* What one enclosed background region looks like against the backdrop. */
struct studio_region {
	size_t count;
	int open;       /* touches the image border */
	double bias[3]; /* sum of noise-normalised residuals per channel */
	double cost;    /* sum of plain costs */
};

/* Flood the background region of `seed` (4-connected), marking it in seen. */
static void studio_region(const struct studio *p, const struct imgbackdrop *bd, int32_t seed,
			  uint8_t *seen, struct imgflow_stack *st, struct imgflow_stack *members,
			  struct studio_region *r)
{
	memset(r, 0, sizeof(*r));
	members->len = 0;
	seen[seed] = 1;
	imgflow_stack_push(st, seed);
	while (st->len > 0) {
		int32_t i = st->v[--st->len];
		int x = i % p->w, y = i / p->w;

		imgflow_stack_push(members, i);
		r->count++;
		r->open |= x == 0 || y == 0 || x == p->w - 1 || y == p->h - 1;
		r->cost += p->plain[i];
		for (int c = 0; c < 3; c++)
			r->bias[c] += (p->rgb[3 * i + c] - p->bd[3 * i + c]) / bd->sigma[c];
		for (int d = 0; d < 8; d += 2) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
			int32_t j = ny * p->w + nx;

			if (nx < 0 || ny < 0 || nx >= p->w || ny >= p->h || p->fg[j] || seen[j])
				continue;
			seen[j] = 1;
			imgflow_stack_push(st, j);
		}
	}
}

/*
 * Holes: a background region enclosed by the subject stays transparent
 * only when it is the backdrop showing through - its colours match the
 * surface without a bias, as the border does. An enclosed region that is
 * merely close to the backdrop colour (a white label on a white sweep, a
 * grey body on a grey one) is part of the subject, and so is a speck.
 */
static void studio_holes(struct studio *p, const struct imgbackdrop *bd)
{
	uint8_t *seen = xcalloc(p->n, 1);
	struct imgflow_stack st = {NULL, 0, 0}, members = {NULL, 0, 0};
	size_t min_hole = p->n / STUDIO_MIN_PART + 8;

	for (size_t s = 0; s < p->n; s++) {
		struct studio_region r;
		double bias2 = 0;

		if (p->fg[s] || seen[s])
			continue;
		studio_region(p, bd, (int32_t)s, seen, &st, &members, &r);
		for (int c = 0; c < 3; c++)
			bias2 += (r.bias[c] / r.count) * (r.bias[c] / r.count);
		if (r.open || (r.count >= min_hole && bias2 <= STUDIO_HOLE_BIAS &&
			       r.cost / r.count <= STUDIO_HOLE_COST))
			continue;
		for (size_t k = 0; k < members.len; k++)
			p->fg[members.v[k]] = 1;
	}
	free(seen);
	free(st.v);
	free(members.v);
}

/* Soft alpha at the cut's edge from the known backdrop (imgmatte.h). */
static void studio_matte(const struct studio *p, const struct imgbackdrop *bd, float *alpha)
{
	struct imgmatte_input in = {p->w, p->h, p->rgb, p->bd, p->scale, p->fg, bd->sigma};

	/* the shading of the backdrop: the shadow's darkening where the cut used it */
	for (size_t i = 0; i < p->n; i++)
		p->scale[i] = studio_uses_shadow(p, i) ? p->scale[i] : 1.0f;
	imgmatte_known_backdrop(&in, alpha);
}

/*
 * The studio path: cut against the border's backdrop surface, refit the
 * surface (one degree higher) to everything the cut left as clear
 * background, and cut again.
 */
static void studio_solve(struct studio *p, struct imgbackdrop *bd, float *alpha)
{
	struct imgflow f;
	uint8_t *clear;
	struct imgbackdrop refit;

	studio_round(p, bd, NULL);
	clear = studio_clear_background(p, STUDIO_REFIT_GAP);
	if (imgbackdrop_fit(&refit, p->rgb, p->w, p->h, clear, 0, 3, STUDIO_FIT_SAMPLES) == 0 &&
	    refit.inliers > 0.5)
		*bd = refit;
	free(clear);
	imgflow_nlinks(p->rgb, p->w, p->h, STUDIO_GAMMA, p->nl);
	imgflow_init(&f, p->w, p->h);
	studio_round(p, bd, &f);
	imgflow_cleanup(&f);
	studio_islands(p);
	studio_holes(p, bd);
	imgmask_keep_parts(p->fg, p->w, p->h, p->n / STUDIO_MIN_PART + 8);
	studio_matte(p, bd, alpha);
}

double imgstudio_fit(const float *rgb, int w, int h, struct imgbackdrop *bd)
{
	int band = (int)(STUDIO_BAND * (w < h ? w : h) + 0.5);

	band = band < 1 ? 1 : band;
	if (imgbackdrop_fit(bd, rgb, w, h, NULL, band, 2, STUDIO_FIT_SAMPLES) != 0)
		return 0;
	return studio_confidence(bd, imgbackdrop_ring_runs(bd, rgb, w, h, STUDIO_RING_RUN));
}

void imgstudio_cut(const float *rgb, int w, int h, struct imgbackdrop *bd, float *alpha)
{
	struct studio p = {0};

	p.w = w;
	p.h = h;
	p.n = (size_t)w * h;
	p.rgb = rgb;
	p.fg = xmalloc(p.n);
	p.nl = xmalloc(p.n * 4 * sizeof(*p.nl));
	p.plain = xmalloc(p.n * sizeof(float));
	p.shadow = xmalloc(p.n * sizeof(float));
	p.scale = xmalloc(p.n * sizeof(float));
	p.cost = xmalloc(p.n * sizeof(float));
	p.steady = xmalloc(p.n * sizeof(float));
	p.shade = xmalloc(p.n);
	p.bd = xmalloc(p.n * 3 * sizeof(float));
	studio_solve(&p, bd, alpha);
	free(p.fg);
	free(p.nl);
	free(p.plain);
	free(p.shadow);
	free(p.scale);
	free(p.cost);
	free(p.steady);
	free(p.shade);
	free(p.bd);
}
