/*
 * imgseg.c - background removal: the choice of method and the output.
 *
 * On a working copy of at most SEG_MAX_PIXELS the backdrop is fitted as a
 * smooth surface (imgstudio_fit). When it fits (confidence >=
 * SEG_STUDIO_MIN), the studio path cuts and mattes the subject
 * (imgstudio.c). Otherwise this module's GrabCut does, on a smaller copy
 * (SEG_GC_MAX_PIXELS): a trimap whose border band is certain background;
 * one Gaussian mixture per side (SEG_K full-covariance components, k-means
 * initialised); SEG_ITERS rounds of "assign components, re-learn mixtures,
 * min-cut" (imgflow.c); the largest part kept, holes filled, the edge
 * feathered. Either alpha is bilinearly upsampled straight into the
 * output's alpha channel, so no full-resolution plane is allocated besides
 * the output image.
 */
#include "config.h"

#include "imgseg.h"
#include "imgedge.h"
#include "imgflow.h"
#include "imgmask.h"
#include "imgstudio.h"
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
#define SEG_GC_MAX_PIXELS  100000 /* GrabCut works on a copy of at most this */
#define SEG_STUDIO_MIN     0.6    /* confidence from which the studio path is taken */

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
	float *tl;       /* n t-links of the last cut (source minus sink) */
	struct gmm g[2]; /* [0] background, [1] foreground */
};

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

/* Terminal capacity of pixel i under the current models (source minus sink). */
static float gc_tlink(const struct gc *p, size_t i)
{
	const float *z = p->rgb + 3 * i;

	/* source = foreground: cutting it away costs -log p_bg */
	if (p->fixed[i])
		return -SEG_HARD;
	return (float)(gmm_logp(&p->g[1], z) - gmm_logp(&p->g[0], z));
}

/*
 * Load the current models into the flow graph. The n-links never change,
 * so after the first round only the t-links move, by their change, and the
 * solver goes on from the last round's flow.
 */
static void gc_graph(struct gc *p, struct imgflow *f, int first)
{
	if (first)
		imgflow_clear(f);
	for (int y = 0; y < p->h; y++) {
		for (int x = 0; x < p->w; x++) {
			size_t i = (size_t)y * p->w + x;
			float t = gc_tlink(p, i);

			if (!first) {
				imgflow_add_terminal(f, x, y, t - p->tl[i]);
				p->tl[i] = t;
				continue;
			}
			p->tl[i] = t;
			imgflow_set_terminal(f, x, y, t, 0);
			for (int d = 0; d < 4; d++)
				imgflow_set_edge(f, x, y, d, p->nl[4 * i + d]);
		}
	}
}

/* One GrabCut round; returns the number of foreground pixels after it. */
static size_t gc_round(struct gc *p, struct imgflow *f, int first)
{
	size_t nfg = 0;

	for (size_t i = 0; i < p->n; i++)
		p->comp[i] = (uint8_t)gmm_best(&p->g[p->fg[i]], p->rgb + 3 * i);
	gmm_learn(p, 0);
	gmm_learn(p, 1);
	gc_graph(p, f, first);
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
	imgflow_nlinks(p->rgb, p->w, p->h, SEG_GAMMA, p->nl);
	imgflow_init(&f, p->w, p->h);
	for (int it = 0; it < SEG_ITERS; it++)
		if (gc_round(p, &f, it == 0) == 0)
			break;
	imgflow_cleanup(&f);
}

/* ---- mask clean-up and output ------------------------------------------- */

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

/* A gd image as floats, 3 a pixel, 0..255 (heap). */
static float *seg_rgb(gdImagePtr im)
{
	int w = gdImageSX(im), h = gdImageSY(im);
	float *rgb = xmalloc((size_t)w * h * 3 * sizeof(*rgb));

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int c = seg_pixel(im, x, y);
			float *z = rgb + 3 * ((size_t)y * w + x);

			z[0] = (float)gdTrueColorGetRed(c);
			z[1] = (float)gdTrueColorGetGreen(c);
			z[2] = (float)gdTrueColorGetBlue(c);
		}
	return rgb;
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
	p->rgb = seg_rgb(im);
	p->fixed = xmalloc(p->n);
	p->fg = xmalloc(p->n);
	p->comp = xcalloc(p->n, 1);
	p->nl = xmalloc(p->n * 4 * sizeof(*p->nl));
	p->tl = xmalloc(p->n * sizeof(*p->tl));
}

static void gc_free(struct gc *p)
{
	free(p->rgb);
	free(p->fixed);
	free(p->fg);
	free(p->comp);
	free(p->nl);
	free(p->tl);
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
	imgmask_keep_parts(p.fg, p.w, p.h, SIZE_MAX);
	imgmask_fill_holes(p.fg, p.w, p.h);
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
	struct imgbackdrop bd;
	int own;
	gdImagePtr small = seg_small(src, SEG_MAX_PIXELS, &own);
	float *rgb;

	if (!small)
		return -1;
	memset(out, 0, sizeof(*out));
	out->w = gdImageSX(small);
	out->h = gdImageSY(small);
	if (out->w < 3 || out->h < 3) {
		out->m = xcalloc((size_t)out->w * out->h, sizeof(*out->m));
		if (own)
			gdImageDestroy(small);
		return 0;
	}
	rgb = seg_rgb(small);
	if (own)
		gdImageDestroy(small);
	out->confidence = imgstudio_fit(rgb, out->w, out->h, &bd);
	if (out->confidence < SEG_STUDIO_MIN) {
		/* no surface fits: the colour-mixture cut is a guess, and says so */
		out->confidence *= 0.5;
		free(rgb);
		return seg_grabcut(src, out);
	}
	out->m = xmalloc((size_t)out->w * out->h * sizeof(*out->m));
	out->soft = 1;
	imgstudio_cut(rgb, out->w, out->h, &bd, out->m);
	free(rgb);
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
