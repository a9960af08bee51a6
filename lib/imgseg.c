/*
 * imgseg.c - background removal by a GrabCut-style graph cut.
 *
 * This module implements, on a downscaled copy of the image (at most
 * SEG_MAX_PIXELS): a trimap whose border band is certain background and
 * whose interior is "probably foreground"; one Gaussian mixture per side
 * (SEG_K full-covariance components, k-means initialised); and SEG_ITERS
 * rounds of "assign components, re-learn mixtures, min-cut" (the cut is
 * imgflow.c's grid max-flow, 8-connected, contrast-sensitive n-links).
 * The binary result is cleaned (largest component, holes filled), blurred a
 * little and bilinearly upsampled straight into the output's alpha channel,
 * so no full-resolution plane is ever allocated besides the output image.
 */
#include "config.h"

#include "imgseg.h"
#include "imgbackdrop.h"
#include "imgedge.h"
#include "imgflow.h"
#include "imgmatte.h"
#include "err.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SEG_MAX_PIXELS     520000
#define SEG_K              5
#define SEG_ITERS          3
#define SEG_MARGIN         0.05   /* border band, fraction of each side */
#define SEG_GAMMA          50.0   /* smoothness weight, as in the GrabCut paper */
#define SEG_HARD           1.0e4f /* "infinite" t-link for certain background */
#define SEG_COV_REG        1.0    /* added to covariance diagonals (0..255 units) */
#define SEG_FEATHER        2.0    /* mask blur sigma in full-resolution pixels */
#define SEG_KMEANS_SAMPLES 20000
#define SEG_FIT_SAMPLES    40000
#define SEG_BAND           0.03   /* backdrop sample band, fraction of the shorter side */
#define SEG_CALM           4.0    /* backdrop noise (levels) of a clean studio shot */
#define SEG_NOISY          16.0   /* ... and of a backdrop that is no surface at all */
#define SEG_GC_MAX_PIXELS  160000 /* GrabCut works on a copy of at most this */
#define SEG_RING_RUN       3      /* outlier pixels in a row that count on the border ring */
#define SEG_RING_RUNS_OK   8      /* stretches of border a subject may cover */
#define SEG_STUDIO_MIN     0.6    /* confidence from which the studio path is taken */
#define SEG_STUDIO_GAMMA   10.0   /* smoothness weight of the studio cut */
#define SEG_TAU            4.0    /* noise-normalised distance where foreground starts */
#define SEG_COST_CAP       40.0f
#define SEG_SHADOW_STEP    0.04  /* darkening per pixel a soft shadow may have */
#define SEG_MIN_PART       20000 /* parts below 1/20000 of the image are specks */
#define SEG_HOLE_BIAS      1.0   /* squared mean residual (noise units) of a real hole */
#define SEG_HOLE_COST      6.0   /* its mean squared distance (3 for pure noise) */
#define SEG_REFIT_GAP      4     /* pixels kept clear of the subject when refitting */

/* One Gaussian mixture in RGB. */
struct gmm {
	int used[SEG_K];
	double mean[SEG_K][3], icov[SEG_K][9], lc[SEG_K]; /* lc: log weight/norm */
};

/* The GrabCut problem on the small image. */
struct gc {
	int w, h;
	size_t n;
	float *rgb;      /* n * 3 */
	uint8_t *fixed;  /* 1 = border band: certain background */
	uint8_t *fg;     /* current labelling */
	uint8_t *comp;   /* mixture component of each pixel */
	float *nl;       /* n * 4 n-link weights towards directions 0..3 */
	struct gmm g[2]; /* [0] background, [1] foreground */
};

static void seg_push(struct imgflow_stack *s, int32_t v)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->len++] = v;
}

/* ---- k-means ----------------------------------------------------------- */

static uint32_t seg_rand(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static float dist3(const float *a, const float *b)
{
	float d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];

	return d0 * d0 + d1 * d1 + d2 * d2;
}

static int kmeans_nearest(const float *p, const float *c, int k)
{
	int best = 0;
	float bd = dist3(p, c);

	for (int j = 1; j < k; j++) {
		float d = dist3(p, c + 3 * j);

		if (d < bd) {
			bd = d;
			best = j;
		}
	}
	return best;
}

/* k-means++ seeding; returns how many centres were placed. */
static int kmeans_seed(const float *pts, size_t m, int k, float *c)
{
	uint32_t rng = 0x9e3779b9u;
	float *d2 = xmalloc(m * sizeof(*d2));
	int used = 1;

	memcpy(c, pts + 3 * (seg_rand(&rng) % m), 3 * sizeof(*c));
	for (size_t i = 0; i < m; i++)
		d2[i] = dist3(pts + 3 * i, c);
	while (used < k) {
		double total = 0, r, acc = 0;
		size_t pick = m - 1;

		for (size_t i = 0; i < m; i++)
			total += d2[i];
		if (!(total > 0))
			break;
		r = (seg_rand(&rng) / 4294967296.0) * total;
		for (size_t i = 0; i < m; i++) {
			acc += d2[i];
			if (acc > r && d2[i] > 0) {
				pick = i;
				break;
			}
		}
		memcpy(c + 3 * used, pts + 3 * pick, 3 * sizeof(*c));
		for (size_t i = 0; i < m; i++)
			d2[i] = fminf(d2[i], dist3(pts + 3 * i, c + 3 * used));
		used++;
	}
	free(d2);
	return used;
}

int imgseg_kmeans(const float *pts, size_t m, int k, int iters, float *centres)
{
	double *sum = NULL;
	size_t *cnt = NULL;
	int used;

	if (!pts || !centres || m == 0 || k < 1)
		return 0;
	used = kmeans_seed(pts, m, k, centres);
	sum = xmalloc((size_t)used * 3 * sizeof(*sum));
	cnt = xmalloc((size_t)used * sizeof(*cnt));
	for (int it = 0; it < iters; it++) {
		memset(sum, 0, (size_t)used * 3 * sizeof(*sum));
		memset(cnt, 0, (size_t)used * sizeof(*cnt));
		for (size_t i = 0; i < m; i++) {
			int j = kmeans_nearest(pts + 3 * i, centres, used);

			for (int c = 0; c < 3; c++)
				sum[3 * j + c] += pts[3 * i + c];
			cnt[j]++;
		}
		for (int j = 0; j < used; j++)
			for (int c = 0; c < 3 && cnt[j] > 0; c++)
				centres[3 * j + c] = (float)(sum[3 * j + c] / cnt[j]);
	}
	for (int j = used; j < k; j++)
		memcpy(centres + 3 * j, centres + 3 * (used - 1), 3 * sizeof(float));
	free(sum);
	free(cnt);
	return used;
}

/* ---- Gaussian mixtures --------------------------------------------------- */

/* log N(z; component j) including the log mixture weight. */
static double gmm_comp_logp(const struct gmm *g, int j, const float *z)
{
	const double *m = g->mean[j], *ic = g->icov[j];
	double d0 = z[0] - m[0], d1 = z[1] - m[1], d2 = z[2] - m[2];
	double q = d0 * (ic[0] * d0 + ic[1] * d1 + ic[2] * d2) +
		   d1 * (ic[3] * d0 + ic[4] * d1 + ic[5] * d2) +
		   d2 * (ic[6] * d0 + ic[7] * d1 + ic[8] * d2);

	return g->lc[j] - 0.5 * q;
}

/* log p(z) of the whole mixture (log-sum-exp over used components). */
static double gmm_logp(const struct gmm *g, const float *z)
{
	double lp[SEG_K], mx = -HUGE_VAL, s = 0;

	for (int j = 0; j < SEG_K; j++) {
		lp[j] = g->used[j] ? gmm_comp_logp(g, j, z) : -HUGE_VAL;
		if (lp[j] > mx)
			mx = lp[j];
	}
	if (mx == -HUGE_VAL)
		return -1.0e3;
	for (int j = 0; j < SEG_K; j++)
		if (g->used[j])
			s += exp(lp[j] - mx);
	return mx + log(s);
}

static int gmm_best(const struct gmm *g, const float *z)
{
	int best = 0;
	double bl = -HUGE_VAL;

	for (int j = 0; j < SEG_K; j++) {
		double l = g->used[j] ? gmm_comp_logp(g, j, z) : -HUGE_VAL;

		if (l > bl) {
			bl = l;
			best = j;
		}
	}
	return best;
}

/* Turn accumulated moments of component j into mean, inverse, constant. */
static void gmm_finish(struct gmm *g, int j, double cnt, double total, const double *s,
		       const double *ss)
{
	double c[9], det;
	double *m = g->mean[j], *ic = g->icov[j];

	for (int a = 0; a < 3; a++)
		m[a] = s[a] / cnt;
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			c[3 * a + b] =
			    ss[3 * a + b] / cnt - m[a] * m[b] + (a == b ? SEG_COV_REG : 0);
	ic[0] = c[4] * c[8] - c[5] * c[7];
	ic[3] = c[5] * c[6] - c[3] * c[8];
	ic[6] = c[3] * c[7] - c[4] * c[6];
	det = c[0] * ic[0] + c[1] * ic[3] + c[2] * ic[6];
	if (!(det > 1e-9)) {
		g->used[j] = 0;
		return;
	}
	ic[1] = c[2] * c[7] - c[1] * c[8];
	ic[2] = c[1] * c[5] - c[2] * c[4];
	ic[4] = c[0] * c[8] - c[2] * c[6];
	ic[5] = c[2] * c[3] - c[0] * c[5];
	ic[7] = c[1] * c[6] - c[0] * c[7];
	ic[8] = c[0] * c[4] - c[1] * c[3];
	for (int a = 0; a < 9; a++)
		ic[a] /= det;
	g->used[j] = 1;
	g->lc[j] = log(cnt / total) - 0.5 * log(det) - 1.5 * log(2 * M_PI);
}

/* Learn the mixture of label `side` from the current component labels. */
static void gmm_learn(struct gc *p, int side)
{
	double cnt[SEG_K] = {0}, s[SEG_K][3] = {{0}}, ss[SEG_K][9] = {{0}};
	double total = 0;
	struct gmm *g = &p->g[side];

	for (size_t i = 0; i < p->n; i++) {
		const float *z = p->rgb + 3 * i;
		int j = p->comp[i];

		if (p->fg[i] != side)
			continue;
		cnt[j]++;
		total++;
		for (int a = 0; a < 3; a++) {
			s[j][a] += z[a];
			for (int b = 0; b < 3; b++)
				ss[j][3 * a + b] += (double)z[a] * z[b];
		}
	}
	for (int j = 0; j < SEG_K; j++) {
		g->used[j] = 0;
		if (cnt[j] > 0)
			gmm_finish(g, j, cnt[j], total, s[j], ss[j]);
	}
}

/* k-means initialisation of the components of label `side`. */
static void gmm_init(struct gc *p, int side)
{
	size_t m = 0, stride, k = 0;
	float c[SEG_K * 3], *pts;
	int used;

	for (size_t i = 0; i < p->n; i++)
		m += p->fg[i] == side;
	if (m == 0)
		return;
	stride = m > SEG_KMEANS_SAMPLES ? m / SEG_KMEANS_SAMPLES : 1;
	pts = xmalloc((m / stride + 1) * 3 * sizeof(*pts));
	for (size_t i = 0, seen = 0; i < p->n; i++) {
		if (p->fg[i] != side)
			continue;
		if (seen++ % stride == 0)
			memcpy(pts + 3 * k++, p->rgb + 3 * i, 3 * sizeof(*pts));
	}
	used = imgseg_kmeans(pts, k, SEG_K, 10, c);
	for (size_t i = 0; i < p->n; i++)
		if (p->fg[i] == side)
			p->comp[i] = (uint8_t)kmeans_nearest(p->rgb + 3 * i, c, used);
	free(pts);
}

/* ---- GrabCut ------------------------------------------------------------ */

/* beta from the mean squared colour difference, then the n-link weights. */
static void gc_nlinks(struct gc *p, double gamma)
{
	double sum = 0, beta = 0;
	size_t cnt = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (int y = 0; y < p->h; y++) {
			for (int x = 0; x < p->w; x++) {
				size_t i = (size_t)y * p->w + x;

				for (int d = 0; d < 4; d++) {
					int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
					float d2;

					p->nl[4 * i + d] = 0;
					if (nx < 0 || nx >= p->w || ny >= p->h)
						continue;
					d2 = dist3(p->rgb + 3 * i,
						   p->rgb + 3 * ((size_t)ny * p->w + nx));
					if (pass == 0) {
						sum += d2;
						cnt++;
						continue;
					}
					p->nl[4 * i + d] = (float)(gamma / (d & 1 ? M_SQRT2 : 1.0) *
								   exp(-beta * d2));
				}
			}
		}
		if (pass == 0 && sum > 0)
			beta = (double)cnt / (2.0 * sum);
	}
}

/* Load t-links and n-links of the current models into the flow graph. */
static void gc_graph(struct gc *p, struct imgflow *f)
{
	imgflow_clear(f);
	for (int y = 0; y < p->h; y++) {
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;
			const float *z = p->rgb + 3 * i;

			/* source = foreground: cutting it away costs -log p_bg */
			if (p->fixed[i])
				imgflow_set_terminal(f, x, y, 0, SEG_HARD);
			else
				imgflow_set_terminal(f, x, y, (float)-gmm_logp(&p->g[0], z),
						     (float)-gmm_logp(&p->g[1], z));
			for (int d = 0; d < 4; d++)
				imgflow_set_edge(f, x, y, d, p->nl[4 * i + d]);
		}
	}
}

/* One GrabCut round; returns the number of foreground pixels after it. */
static size_t gc_round(struct gc *p, struct imgflow *f)
{
	size_t nfg = 0;

	for (size_t i = 0; i < p->n; i++)
		p->comp[i] = (uint8_t)gmm_best(&p->g[p->fg[i]], p->rgb + 3 * i);
	gmm_learn(p, 0);
	gmm_learn(p, 1);
	gc_graph(p, f);
	imgflow_run(f);
	for (int y = 0; y < p->h; y++) {
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;

			p->fg[i] = !p->fixed[i] && imgflow_is_source(f, x, y);
			nfg += p->fg[i];
		}
	}
	return nfg;
}

/* Label the trimap and run the whole GrabCut loop on p->rgb. */
static void gc_solve(struct gc *p)
{
	struct imgflow f;
	int mx = (int)(SEG_MARGIN * p->w + 0.5), my = (int)(SEG_MARGIN * p->h + 0.5);

	mx = mx < 1 ? 1 : mx;
	my = my < 1 ? 1 : my;
	for (int y = 0; y < p->h; y++)
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;
			int band = x < mx || y < my || x >= p->w - mx || y >= p->h - my;

			p->fixed[i] = (uint8_t)band;
			p->fg[i] = (uint8_t)!band;
		}
	gmm_init(p, 0);
	gmm_init(p, 1);
	gmm_learn(p, 0);
	gmm_learn(p, 1);
	gc_nlinks(p, SEG_GAMMA);
	imgflow_init(&f, p->w, p->h);
	for (int it = 0; it < SEG_ITERS; it++)
		if (gc_round(p, &f) == 0)
			break;
	imgflow_cleanup(&f);
}

/* ---- mask clean-up ------------------------------------------------------ */

/*
 * Keep the 8-connected foreground components of at least min_size pixels
 * and the largest one (min_size SIZE_MAX: only the largest).
 */
static void mask_keep_parts(uint8_t *fg, int w, int h, size_t min_size)
{
	size_t n = (size_t)w * h, best_size = 0;
	int32_t *lab = xcalloc(n, sizeof(*lab)), best = 0, next = 0;
	uint8_t *keep = xcalloc(n / 2 + 2, 1); /* per label; labels <= n / 2 + 1 */
	struct imgflow_stack st = {NULL, 0, 0};

	for (size_t s = 0; s < n; s++) {
		size_t size = 0;

		if (!fg[s] || lab[s])
			continue;
		lab[s] = ++next;
		seg_push(&st, (int32_t)s);
		while (st.len > 0) {
			int32_t i = st.v[--st.len];
			int x = i % w, y = i / w;

			size++;
			for (int d = 0; d < 8; d++) {
				int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
				int32_t j = ny * w + nx;

				if (nx < 0 || ny < 0 || nx >= w || ny >= h || !fg[j] || lab[j])
					continue;
				lab[j] = next;
				seg_push(&st, j);
			}
		}
		if ((size_t)next < n / 2 + 2)
			keep[next] = size >= min_size;
		if (size > best_size) {
			best_size = size;
			best = next;
		}
	}
	for (size_t i = 0; i < n; i++)
		fg[i] = fg[i] && (lab[i] == best || ((size_t)lab[i] < n / 2 + 2 && keep[lab[i]]));
	free(keep);
	free(lab);
	free(st.v);
}

/* ---- studio backdrops: a fitted surface instead of colour mixtures ------ */

/*
 * Fit quality of the backdrop model, the confidence the engine reports:
 * the share of the border that fits, how calm the fit's noise is, and how
 * few separate stretches of the border do not fit.
 */
static double studio_confidence(const struct imgbackdrop *bd, int runs)
{
	double noise = (bd->sigma[0] + bd->sigma[1] + bd->sigma[2]) / 3;
	double calm = (SEG_NOISY - noise) / (SEG_NOISY - SEG_CALM);
	double whole = runs <= SEG_RING_RUNS_OK ? 1.0 : (double)SEG_RING_RUNS_OK / runs;

	calm = calm < 0 ? 0 : (calm > 1 ? 1 : calm);
	return bd->inliers * calm * whole;
}

/* Per-pixel fit to the backdrop surface (imgbackdrop_cost). */
struct studio_fit {
	float *plain;   /* squared noise-normalised distance */
	float *shadow;  /* the same for the best shadow, HUGE_VALF if none */
	float *scale;   /* darkening factor of that shadow */
	uint8_t *shade; /* 1 = reached from the clear backdrop by a soft shadow */
	float *cost;    /* what the cut uses */
	float *bd;      /* the backdrop colour of each pixel, n * 3 */
};

static void studio_costs(const struct gc *p, const struct imgbackdrop *bd, struct studio_fit *sf)
{
	for (int y = 0; y < p->h; y++) {
		float *row = sf->bd + (size_t)y * p->w * 3;

		imgbackdrop_row(bd, p->w, p->h, y, row);
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;

			sf->plain[i] = imgbackdrop_cost(bd, p->rgb + 3 * i, row + 3 * (size_t)x,
							&sf->shadow[i], &sf->scale[i]);
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
static void studio_shadows(const struct gc *p, struct studio_fit *sf, double step)
{
	struct imgflow_stack st = {NULL, 0, 0};
	const float tau2 = (float)(SEG_TAU * SEG_TAU);

	memset(sf->shade, 0, p->n);
	for (int y = 0; y < p->h; y++)
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;

			if ((x == 0 || y == 0 || x == p->w - 1 || y == p->h - 1) &&
			    sf->plain[i] < tau2) {
				sf->shade[i] = 1;
				seg_push(&st, (int32_t)i);
			}
		}
	while (st.len > 0) {
		int32_t i = st.v[--st.len];
		int x = i % p->w, y = i / p->w;

		for (int d = 0; d < 8; d += 2) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
			int32_t j = ny * p->w + nx;
			int ok;

			if (nx < 0 || ny < 0 || nx >= p->w || ny >= p->h || sf->shade[j])
				continue;
			ok = sf->plain[j] < tau2 ||
			     (sf->shadow[j] < tau2 && fabsf(sf->scale[j] - sf->scale[i]) <= step);
			if (!ok)
				continue;
			sf->shade[j] = 1;
			seg_push(&st, j);
		}
	}
	free(st.v);
	for (size_t i = 0; i < p->n; i++)
		sf->cost[i] =
		    sf->shade[i] && sf->shadow[i] < sf->plain[i] ? sf->shadow[i] : sf->plain[i];
}

/* How much the darkening factor varies between neighbours from noise alone. */
static double studio_shadow_step(const struct imgbackdrop *bd)
{
	float c[3];
	double level, noise = (bd->sigma[0] + bd->sigma[1] + bd->sigma[2]) / 3;

	imgbackdrop_at(bd, 0, 0, c);
	level = (c[0] + c[1] + c[2]) / 3;
	return SEG_SHADOW_STEP + 3 * noise / (level > 16 ? level : 16);
}

/* Min-cut with backdrop-distance t-links; labels p->fg. */
static void studio_cut(struct gc *p, const float *cost, struct imgflow *f)
{
	imgflow_clear(f);
	for (int y = 0; y < p->h; y++) {
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;
			float c = cost[i] < SEG_COST_CAP ? cost[i] : SEG_COST_CAP;

			imgflow_set_terminal(f, x, y, c * 0.5f, SEG_TAU * SEG_TAU * 0.5f);
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
 * foreground that fit the backdrop without a shadow: what the refit uses.
 */
static uint8_t *studio_clear_background(const struct gc *p, const struct studio_fit *sf, int gap)
{
	uint8_t *near = xcalloc(p->n, 1);
	int *last = xmalloc((size_t)p->w * sizeof(*last));

	/* rows: distance to the nearest foreground on the left and right */
	for (int y = 0; y < p->h; y++) {
		const uint8_t *fg = p->fg + (size_t)y * p->w;
		uint8_t *out = near + (size_t)y * p->w;
		int prev = -1 - gap;

		for (int x = 0; x < p->w; x++) {
			prev = fg[x] ? x : prev;
			out[x] = x - prev <= gap;
		}
		prev = p->w + gap;
		for (int x = p->w - 1; x >= 0; x--) {
			prev = fg[x] ? x : prev;
			out[x] |= prev - x <= gap;
		}
	}
	/* columns of that: the box of side 2 gap + 1 around each foreground pixel */
	for (int x = 0; x < p->w; x++)
		last[x] = -1 - gap;
	for (int y = 0; y < p->h; y++)
		for (int x = 0; x < p->w; x++) {
			uint8_t *o = near + (size_t)y * p->w + x;

			last[x] = *o & 1 ? y : last[x];
			*o |= (uint8_t)((y - last[x] <= gap) << 1);
		}
	for (int x = 0; x < p->w; x++)
		last[x] = p->h + gap;
	for (int y = p->h - 1; y >= 0; y--)
		for (int x = 0; x < p->w; x++) {
			uint8_t *o = near + (size_t)y * p->w + x;

			last[x] = *o & 1 ? y : last[x];
			*o |= (uint8_t)((last[x] - y <= gap) << 1);
		}
	for (size_t i = 0; i < p->n; i++)
		near[i] = !(near[i] & 2) && sf->cost[i] == sf->plain[i];
	free(last);
	return near;
}

/*
 * Fit, shadows and labels for the current surface: a min-cut when f is
 * given, else the plain threshold (enough to find clear backdrop to refit).
 */
static void studio_round(struct gc *p, const struct imgbackdrop *bd, struct studio_fit *sf,
			 struct imgflow *f)
{
	studio_costs(p, bd, sf);
	studio_shadows(p, sf, studio_shadow_step(bd));
	if (f) {
		studio_cut(p, sf->cost, f);
		return;
	}
	for (size_t i = 0; i < p->n; i++)
		p->fg[i] = sf->cost[i] >= (float)(SEG_TAU * SEG_TAU);
}

/* What one enclosed background region looks like against the backdrop. */
struct studio_region {
	size_t count;
	int open;       /* touches the image border */
	double bias[3]; /* sum of noise-normalised residuals per channel */
	double cost;    /* sum of plain costs */
};

/* Flood the background region of `seed` (4-connected), marking it in seen. */
static void studio_region(const struct gc *p, const struct imgbackdrop *bd,
			  const struct studio_fit *sf, int32_t seed, uint8_t *seen,
			  struct imgflow_stack *st, struct imgflow_stack *members,
			  struct studio_region *r)
{
	memset(r, 0, sizeof(*r));
	members->len = 0;
	seen[seed] = 1;
	seg_push(st, seed);
	while (st->len > 0) {
		int32_t i = st->v[--st->len];
		int x = i % p->w, y = i / p->w;

		seg_push(members, i);
		r->count++;
		r->open |= x == 0 || y == 0 || x == p->w - 1 || y == p->h - 1;
		r->cost += sf->plain[i];
		for (int c = 0; c < 3; c++)
			r->bias[c] += (p->rgb[3 * i + c] - sf->bd[3 * i + c]) / bd->sigma[c];
		for (int d = 0; d < 8; d += 2) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
			int32_t j = ny * p->w + nx;

			if (nx < 0 || ny < 0 || nx >= p->w || ny >= p->h || p->fg[j] || seen[j])
				continue;
			seen[j] = 1;
			seg_push(st, j);
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
static void studio_holes(struct gc *p, const struct imgbackdrop *bd, const struct studio_fit *sf)
{
	uint8_t *seen = xcalloc(p->n, 1);
	struct imgflow_stack st = {NULL, 0, 0}, members = {NULL, 0, 0};
	size_t min_hole = p->n / SEG_MIN_PART + 8;

	for (size_t s = 0; s < p->n; s++) {
		struct studio_region r;
		double bias2 = 0;

		if (p->fg[s] || seen[s])
			continue;
		studio_region(p, bd, sf, (int32_t)s, seen, &st, &members, &r);
		for (int c = 0; c < 3; c++)
			bias2 += (r.bias[c] / r.count) * (r.bias[c] / r.count);
		if (r.open || (r.count >= min_hole && bias2 <= SEG_HOLE_BIAS &&
			       r.cost / r.count <= SEG_HOLE_COST))
			continue;
		for (size_t k = 0; k < members.len; k++)
			p->fg[members.v[k]] = 1;
	}
	free(seen);
	free(st.v);
	free(members.v);
}

/* Soft alpha at the cut's edge from the known backdrop (imgmatte.h). */
static void studio_matte(const struct gc *p, const struct imgbackdrop *bd, struct studio_fit *sf,
			 float *alpha)
{
	struct imgmatte_input in = {p->w, p->h, p->rgb, sf->bd, sf->scale, p->fg, bd->sigma};

	/* the shading of the backdrop: the shadow's darkening where the cut used it */
	for (size_t i = 0; i < p->n; i++)
		sf->scale[i] = sf->cost[i] != sf->plain[i] ? sf->scale[i] : 1.0f;
	imgmatte_known_backdrop(&in, alpha);
}

/*
 * The studio path: cut against the border's backdrop surface, refit the
 * surface (one degree higher) to everything the cut left as clear
 * background, and cut again.
 */
static void studio_solve(struct gc *p, struct imgbackdrop *bd, float *alpha)
{
	struct imgflow f;
	struct studio_fit sf;
	uint8_t *clear;
	struct imgbackdrop refit;

	sf.plain = xmalloc(p->n * sizeof(float));
	sf.shadow = xmalloc(p->n * sizeof(float));
	sf.scale = xmalloc(p->n * sizeof(float));
	sf.cost = xmalloc(p->n * sizeof(float));
	sf.shade = xmalloc(p->n);
	sf.bd = xmalloc(p->n * 3 * sizeof(float));
	studio_round(p, bd, &sf, NULL);
	clear = studio_clear_background(p, &sf, SEG_REFIT_GAP);
	if (imgbackdrop_fit(&refit, p->rgb, p->w, p->h, clear, 0, 3, SEG_FIT_SAMPLES) == 0 &&
	    refit.inliers > 0.5)
		*bd = refit;
	gc_nlinks(p, SEG_STUDIO_GAMMA);
	imgflow_init(&f, p->w, p->h);
	studio_round(p, bd, &sf, &f);
	studio_holes(p, bd, &sf);
	mask_keep_parts(p->fg, p->w, p->h, p->n / SEG_MIN_PART + 8);
	studio_matte(p, bd, &sf, alpha);
	free(clear);
	imgflow_cleanup(&f);
	free(sf.plain);
	free(sf.shadow);
	free(sf.scale);
	free(sf.cost);
	free(sf.shade);
	free(sf.bd);
}

/* ---- mask clean-up and output ------------------------------------------- */

/* Background regions not 4-connected to the image border become foreground. */
static void mask_fill_holes(uint8_t *fg, int w, int h)
{
	size_t n = (size_t)w * h;
	uint8_t *seen = xcalloc(n, 1);
	struct imgflow_stack st = {NULL, 0, 0};

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int32_t i = y * w + x;

			if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && !fg[i]) {
				seen[i] = 1;
				seg_push(&st, i);
			}
		}
	while (st.len > 0) {
		int32_t i = st.v[--st.len];
		int x = i % w, y = i / w;

		for (int d = 0; d < 8; d += 2) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
			int32_t j = ny * w + nx;

			if (nx < 0 || ny < 0 || nx >= w || ny >= h || fg[j] || seen[j])
				continue;
			seen[j] = 1;
			seg_push(&st, j);
		}
	}
	for (size_t i = 0; i < n; i++)
		fg[i] = !seen[i];
	free(seen);
	free(st.v);
}

/* Truecolor pixel of any gd image. */
static int seg_pixel(gdImagePtr im, int x, int y)
{
	return gdImageTrueColor(im) ? im->tpixels[y][x] : gdImageGetTrueColorPixel(im, x, y);
}

/*
 * The small working copy: src itself when small enough, else an
 * area-averaged resample. *own says whether the caller must destroy it.
 */
static gdImagePtr seg_small(gdImagePtr src, double max_pixels, int *own)
{
	int w = gdImageSX(src), h = gdImageSY(src), sw, sh;
	double n = (double)w * h, s;
	gdImagePtr im;

	*own = 0;
	if (n <= max_pixels)
		return src;
	s = sqrt(max_pixels / n);
	sw = (int)(w * s);
	sh = (int)(h * s);
	sw = sw < 1 ? 1 : sw;
	sh = sh < 1 ? 1 : sh;
	im = gdImageCreateTrueColor(sw, sh);
	if (!im)
		return NULL;
	gdImageAlphaBlending(im, 0);
	gdImageCopyResampled(im, src, 0, 0, 0, 0, sw, sh, w, h);
	*own = 1;
	return im;
}

/*
 * Write src's colours into dst with alpha from the small mask, bilinearly
 * upsampled; src's own opacity multiplies the mask.
 */
static void seg_compose(gdImagePtr src, gdImagePtr dst, const float *m, int sw, int sh)
{
	int w = gdImageSX(src), h = gdImageSY(src);
	int *x0 = xmalloc((size_t)w * sizeof(*x0));
	float *fx = xmalloc((size_t)w * sizeof(*fx));

	for (int x = 0; x < w; x++) {
		float u = (x + 0.5f) * sw / w - 0.5f;

		u = u < 0 ? 0 : (u > sw - 1 ? (float)(sw - 1) : u);
		x0[x] = (int)u < sw - 1 ? (int)u : (sw > 1 ? sw - 2 : 0);
		fx[x] = sw > 1 ? u - x0[x] : 0;
	}
	for (int y = 0; y < h; y++) {
		float v = (y + 0.5f) * sh / h - 0.5f, fy;
		int y0;
		const float *r0, *r1;

		v = v < 0 ? 0 : (v > sh - 1 ? (float)(sh - 1) : v);
		y0 = (int)v < sh - 1 ? (int)v : (sh > 1 ? sh - 2 : 0);
		fy = sh > 1 ? v - y0 : 0;
		r0 = m + (size_t)y0 * sw;
		r1 = sh > 1 ? r0 + sw : r0;
		for (int x = 0; x < w; x++) {
			int a = x0[x], b = sw > 1 ? a + 1 : a, c = seg_pixel(src, x, y);
			float top = r0[a] + (r0[b] - r0[a]) * fx[x];
			float bot = r1[a] + (r1[b] - r1[a]) * fx[x];
			float k = top + (bot - top) * fy;
			float op = (127 - gdTrueColorGetAlpha(c)) * k;
			int alpha = 127 - (int)(op + 0.5f);

			alpha = alpha < 0 ? 0 : (alpha > 127 ? 127 : alpha);
			dst->tpixels[y][x] =
			    gdTrueColorAlpha(gdTrueColorGetRed(c), gdTrueColorGetGreen(c),
					     gdTrueColorGetBlue(c), alpha);
		}
	}
	free(x0);
	free(fx);
}

/* The small image as floats in p->rgb. */
static void seg_load(struct gc *p, gdImagePtr small)
{
	for (int y = 0; y < p->h; y++)
		for (int x = 0; x < p->w; x++) {
			int c = seg_pixel(small, x, y);
			float *z = p->rgb + 3 * ((size_t)y * p->w + x);

			z[0] = (float)gdTrueColorGetRed(c);
			z[1] = (float)gdTrueColorGetGreen(c);
			z[2] = (float)gdTrueColorGetBlue(c);
		}
}

/* A mask being built: w x h floats, 0 or 1, and the confidence. */
struct seg_mask {
	float *m;
	int w, h;
	double confidence;
	int soft; /* m is already a soft alpha (matted), not a 0/1 cut */
};

/* Allocate the working problem for a w x h image. */
static void gc_alloc(struct gc *p, gdImagePtr im)
{
	memset(p, 0, sizeof(*p));
	p->w = gdImageSX(im);
	p->h = gdImageSY(im);
	p->n = (size_t)p->w * p->h;
	p->rgb = xmalloc(p->n * 3 * sizeof(*p->rgb));
	p->fixed = xmalloc(p->n);
	p->fg = xmalloc(p->n);
	p->comp = xcalloc(p->n, 1);
	p->nl = xmalloc(p->n * 4 * sizeof(*p->nl));
	seg_load(p, im);
}

static void gc_free(struct gc *p)
{
	free(p->rgb);
	free(p->fixed);
	free(p->fg);
	free(p->comp);
	free(p->nl);
}

/* Hand p's labels over as the mask. */
static void seg_take(struct seg_mask *out, const struct gc *p)
{
	out->w = p->w;
	out->h = p->h;
	out->m = xmalloc(p->n * sizeof(*out->m));
	for (size_t i = 0; i < p->n; i++)
		out->m[i] = p->fg[i];
}

/* The GrabCut path, on a smaller copy (colour mixtures need no detail). */
static int seg_grabcut(gdImagePtr src, struct seg_mask *out)
{
	struct gc p;
	int own;
	gdImagePtr small = seg_small(src, SEG_GC_MAX_PIXELS, &own);

	if (!small)
		return -1;
	gc_alloc(&p, small);
	if (own)
		gdImageDestroy(small);
	gc_solve(&p);
	mask_keep_parts(p.fg, p.w, p.h, SIZE_MAX);
	mask_fill_holes(p.fg, p.w, p.h);
	seg_take(out, &p);
	gc_free(&p);
	return 0;
}

/*
 * Segment src into out (a mask at working resolution) and rate it. A
 * backdrop that fits a smooth surface takes the studio path; anything
 * else GrabCut's colour mixtures.
 */
static int seg_segment(gdImagePtr src, struct seg_mask *out)
{
	struct gc p;
	struct imgbackdrop bd;
	int own, band;
	gdImagePtr small = seg_small(src, SEG_MAX_PIXELS, &own);

	if (!small)
		return -1;
	memset(out, 0, sizeof(*out));
	if (gdImageSX(small) < 3 || gdImageSY(small) < 3) {
		out->w = gdImageSX(small);
		out->h = gdImageSY(small);
		out->m = xcalloc((size_t)out->w * out->h, sizeof(*out->m));
		if (own)
			gdImageDestroy(small);
		return 0;
	}
	gc_alloc(&p, small);
	if (own)
		gdImageDestroy(small);
	band = (int)(SEG_BAND * (p.w < p.h ? p.w : p.h) + 0.5);
	band = band < 1 ? 1 : band;
	if (imgbackdrop_fit(&bd, p.rgb, p.w, p.h, NULL, band, 2, SEG_FIT_SAMPLES) == 0)
		out->confidence = studio_confidence(
		    &bd, imgbackdrop_ring_runs(&bd, p.rgb, p.w, p.h, SEG_RING_RUN));
	if (out->confidence < SEG_STUDIO_MIN) {
		/* no surface fits: the colour-mixture cut is a guess, and says so */
		out->confidence *= 0.5;
		gc_free(&p);
		return seg_grabcut(src, out);
	}
	out->w = p.w;
	out->h = p.h;
	out->m = xmalloc(p.n * sizeof(*out->m));
	out->soft = 1;
	studio_solve(&p, &bd, out->m);
	gc_free(&p);
	return 0;
}

gdImagePtr imgseg_remove_background(gdImagePtr src, double *confidence)
{
	gdImagePtr dst = NULL;
	struct seg_mask sm = {0};
	double scale;

	if (confidence)
		*confidence = 0;
	if (!src || gdImageSX(src) < 1 || gdImageSY(src) < 1 || seg_segment(src, &sm) != 0)
		goto out;
	if (confidence)
		*confidence = sm.confidence;
	/* feather ~SEG_FEATHER full-size pixels, at least half a small pixel */
	scale = (double)gdImageSX(src) / sm.w;
	if (!sm.soft)
		imgedge_blur(sm.m, sm.w, sm.h, fmax(SEG_FEATHER / scale, 0.5));
	dst = gdImageCreateTrueColor(gdImageSX(src), gdImageSY(src));
	if (!dst)
		goto out;
	gdImageAlphaBlending(dst, 0);
	gdImageSaveAlpha(dst, 1);
	seg_compose(src, dst, sm.m, sm.w, sm.h);
out:
	free(sm.m);
	return dst;
}
