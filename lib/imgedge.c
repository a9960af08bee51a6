/*
 * imgedge.c - a Canny edge detector and the "outline" service. The pipeline
 * is the textbook one: luminance, separable Gaussian blur, Sobel gradients,
 * non-maximum suppression in four direction sectors, double threshold,
 * hysteresis by 8-connectivity with an explicit, bounded stack.
 *
 * Memory: everything up to the double threshold is streamed over rows
 * (struct edge_pipe): luminance rows are pulled from the source one at a
 * time, blurred horizontally into a ring of 2r+1 rows, vertically into a
 * ring of 3, differentiated into a ring of 3 magnitude rows, and suppressed
 * straight into a caller-provided byte-per-pixel class map. That map is the
 * only full-size plane; for the outline service it is the result image's
 * own 8-bit pixel rows, so the detector needs ~1 byte per pixel in all.
 * The arithmetic is the same, in the same order, as blurring a full float
 * plane first, so results do not depend on the streaming.
 */
#include "config.h"

#include "imgedge.h"
#include "err.h"
#include "util.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EDGE_SIGMA      1.4
#define EDGE_MAX_RADIUS 64
#define TAN_22_5        0.41421356f
#define TAN_67_5        2.41421356f
/* Hysteresis stack cap (entries of 8 bytes); past it, rescans finish.
 * Overridable so that a test build can run the overflow path. */
#ifndef EDGE_STACK_MAX
#define EDGE_STACK_MAX (1u << 19)
#endif

/* Classes in the byte map between suppression and hysteresis. */
enum { CLS_NONE = 0, CLS_WEAK = 1, CLS_STRONG = 2, CLS_EDGE = 3 };

/* Gradient direction sectors for non-maximum suppression. */
enum { SEC_HORIZ = 0, SEC_DIAG_DOWN = 1, SEC_VERT = 2, SEC_DIAG_UP = 3 };

/* Where the pipeline reads luminance rows: a float plane or a gd image. */
struct edge_src {
	const float *plane;
	gdImagePtr im;
	float lut[256]; /* luminance of each palette index (palette images) */
	int w, h;
};

/*
 * The streaming pipeline. Each stage computes its rows in order; row j of a
 * stage lives in slot j % (ring length). *next is the first row a stage has
 * not computed yet.
 */
struct edge_pipe {
	const struct edge_src *src;
	int w, h, r, hlen;
	float *k;       /* 2r+1 Gaussian taps */
	float *pad;     /* one source row with r replicated pixels each side */
	float *hring;   /* hlen horizontally blurred rows */
	float *bring;   /* 3 blurred rows */
	float *mring;   /* 3 rows of L1 gradient magnitude */
	uint8_t *sring; /* 3 rows of direction sectors */
	float *zero;    /* magnitudes outside the image */
	int hnext, bnext, mnext;
};

/* Pixel positions still to expand during hysteresis. */
struct edge_stack {
	int *v; /* x, y pairs */
	size_t len, cap;
	bool overflow;
};

static float *edge_kernel(double sigma, int *radius);
static void edge_hblur_row(const float *k, int r, float *pad, int w, float *out);
static void edge_vblur(float *p, int w, int h, const float *k, int r);
static void edge_src_row(const struct edge_src *s, int y, float *out);
static void pipe_init(struct edge_pipe *p, const struct edge_src *src);
static void pipe_cleanup(struct edge_pipe *p);
static void pipe_fill_h(struct edge_pipe *p, int j);
static void pipe_fill_b(struct edge_pipe *p, int j);
static void pipe_fill_m(struct edge_pipe *p, int j);
static void edge_sobel_row(const float *up, const float *mid, const float *dn, int w, float *mag,
			   uint8_t *sec);
static void edge_nms_row(const struct edge_pipe *p, int y, float low, float high, uint8_t *out);
static void edge_detect(const struct edge_src *src, double low, double high, uint8_t **rows);
static void edge_hysteresis(uint8_t **rows, int w, int h);
static void edge_flood(struct edge_stack *st, uint8_t **rows, int w, int h);
static void edge_push(struct edge_stack *s, int x, int y);

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/* Normalised Gaussian taps k[0..2r] for sigma; the radius goes to *radius. */
static float *edge_kernel(double sigma, int *radius)
{
	int r = (int)ceil(3.0 * sigma);
	double sum = 0;
	float *k;

	if (r > EDGE_MAX_RADIUS)
		r = EDGE_MAX_RADIUS;
	k = xmalloc((size_t)(2 * r + 1) * sizeof(*k));
	for (int i = -r; i <= r; i++) {
		k[i + r] = (float)exp(-(double)(i * i) / (2 * sigma * sigma));
		sum += k[i + r];
	}
	for (int i = 0; i < 2 * r + 1; i++)
		k[i] = (float)(k[i] / sum);
	*radius = r;
	return k;
}

/*
 * Horizontal blur of the row held at pad + r (w values): the borders of pad
 * are filled here by replication, out[x] = sum over j of k[j] * pad[x + j]
 * added in order of j (the loops are swapped only so that they vectorise).
 */
static void edge_hblur_row(const float *k, int r, float *pad, int w, float *out)
{
	for (int i = 0; i < r; i++) {
		pad[i] = pad[r];
		pad[r + w + i] = pad[r + w - 1];
	}
	for (int x = 0; x < w; x++)
		out[x] = k[0] * pad[x];
	for (int j = 1; j < 2 * r + 1; j++) {
		float kj = k[j];
		const float *pj = pad + j;

		for (int x = 0; x < w; x++)
			out[x] += kj * pj[x];
	}
}

void imgedge_blur(float *plane, int w, int h, double sigma)
{
	float *k, *pad;
	int r;

	if (!plane || w < 1 || h < 1 || !(sigma > 0))
		return;
	k = edge_kernel(sigma, &r);
	pad = xmalloc((size_t)(w + 2 * r) * sizeof(*pad));
	for (int y = 0; y < h; y++) {
		float *row = plane + (size_t)y * w;

		memcpy(pad + r, row, (size_t)w * sizeof(*row));
		edge_hblur_row(k, r, pad, w, row);
	}
	edge_vblur(plane, w, h, k, r);
	free(pad);
	free(k);
}

/*
 * Vertical pass, in place. A ring of 2r+1 rows keeps the original values of
 * rows y-r..y+r: row j is copied into slot j % L before row j-r is written,
 * and only overwritten by row j+L, which is copied after row j+r is done.
 */
static void edge_vblur(float *p, int w, int h, const float *k, int r)
{
	int len = 2 * r + 1;
	float *ring = xmalloc((size_t)len * w * sizeof(*ring));
	float *acc = xmalloc((size_t)w * sizeof(*acc));

	for (int j = 0; j < r && j < h; j++)
		memcpy(ring + (size_t)(j % len) * w, p + (size_t)j * w, (size_t)w * sizeof(*p));
	for (int y = 0; y < h; y++) {
		if (y + r < h)
			memcpy(ring + (size_t)((y + r) % len) * w, p + (size_t)(y + r) * w,
			       (size_t)w * sizeof(*p));
		memset(acc, 0, (size_t)w * sizeof(*acc));
		for (int t = -r; t <= r; t++) {
			int j = clampi(y + t, 0, h - 1);
			const float *src = ring + (size_t)(j % len) * w;
			float kt = k[t + r];

			for (int x = 0; x < w; x++)
				acc[x] += kt * src[x];
		}
		memcpy(p + (size_t)y * w, acc, (size_t)w * sizeof(*p));
	}
	free(acc);
	free(ring);
}

/* Rec.601 luminance of gd colour c, composited over white by its alpha. */
static float edge_luma(int c)
{
	float a = (float)gdTrueColorGetAlpha(c) / 127.0f;
	float v = 0.299f * gdTrueColorGetRed(c) + 0.587f * gdTrueColorGetGreen(c) +
		  0.114f * gdTrueColorGetBlue(c);

	return v * (1 - a) + 255.0f * a;
}

/* A source reading gd image im (palette indices through a lookup table). */
static void edge_src_image(struct edge_src *s, gdImagePtr im)
{
	memset(s, 0, sizeof(*s));
	s->im = im;
	s->w = gdImageSX(im);
	s->h = gdImageSY(im);
	if (gdImageTrueColor(im))
		return;
	/* the colour gdImageGetTrueColorPixel gives for each index */
	for (int i = 0; i < 256; i++) {
		int a = im->transparent == i ? gdAlphaTransparent : im->alpha[i];

		s->lut[i] = edge_luma(gdTrueColorAlpha(im->red[i], im->green[i], im->blue[i], a));
	}
}

/* Luminance of source row y into out[0..w-1]. */
static void edge_src_row(const struct edge_src *s, int y, float *out)
{
	int w = s->w;

	if (s->plane) {
		memcpy(out, s->plane + (size_t)y * w, (size_t)w * sizeof(*out));
	} else if (gdImageTrueColor(s->im)) {
		const int *row = s->im->tpixels[y];

		for (int x = 0; x < w; x++)
			out[x] = edge_luma(row[x]);
	} else {
		const unsigned char *row = s->im->pixels[y];

		for (int x = 0; x < w; x++)
			out[x] = s->lut[row[x]];
	}
}

static void pipe_init(struct edge_pipe *p, const struct edge_src *src)
{
	size_t w;

	memset(p, 0, sizeof(*p));
	p->src = src;
	p->w = src->w;
	p->h = src->h;
	p->k = edge_kernel(EDGE_SIGMA, &p->r);
	p->hlen = 2 * p->r + 1;
	w = (size_t)p->w;
	p->pad = xmalloc((w + 2 * (size_t)p->r) * sizeof(*p->pad));
	p->hring = xmalloc((size_t)p->hlen * w * sizeof(*p->hring));
	p->bring = xmalloc(3 * w * sizeof(*p->bring));
	p->mring = xmalloc(3 * w * sizeof(*p->mring));
	p->sring = xmalloc(3 * w);
	p->zero = xcalloc(w, sizeof(*p->zero));
}

static void pipe_cleanup(struct edge_pipe *p)
{
	free(p->k);
	free(p->pad);
	free(p->hring);
	free(p->bring);
	free(p->mring);
	free(p->sring);
	free(p->zero);
}

static float *pipe_hrow(const struct edge_pipe *p, int j)
{
	j = clampi(j, 0, p->h - 1);
	return p->hring + (size_t)(j % p->hlen) * p->w;
}

static float *pipe_brow(const struct edge_pipe *p, int j)
{
	j = clampi(j, 0, p->h - 1);
	return p->bring + (size_t)(j % 3) * p->w;
}

/* Magnitudes of row j; zero outside the image (what suppression compares). */
static const float *pipe_mrow(const struct edge_pipe *p, int j)
{
	if (j < 0 || j >= p->h)
		return p->zero;
	return p->mring + (size_t)(j % 3) * p->w;
}

/* Horizontally blurred rows up to j (at most the last row). */
static void pipe_fill_h(struct edge_pipe *p, int j)
{
	if (j > p->h - 1)
		j = p->h - 1;
	for (; p->hnext <= j; p->hnext++) {
		edge_src_row(p->src, p->hnext, p->pad + p->r);
		edge_hblur_row(p->k, p->r, p->pad, p->w, pipe_hrow(p, p->hnext));
	}
}

/*
 * Blurred rows up to j. Row b reads horizontal rows b-r..b+r (clamped);
 * the ring holds them: row b-r is only overwritten by row b+r+1.
 */
static void pipe_fill_b(struct edge_pipe *p, int j)
{
	if (j > p->h - 1)
		j = p->h - 1;
	for (; p->bnext <= j; p->bnext++) {
		int b = p->bnext;
		float *acc = pipe_brow(p, b);

		pipe_fill_h(p, b + p->r);
		memset(acc, 0, (size_t)p->w * sizeof(*acc));
		for (int t = -p->r; t <= p->r; t++) {
			const float *src = pipe_hrow(p, b + t);
			float kt = p->k[t + p->r];

			for (int x = 0; x < p->w; x++)
				acc[x] += kt * src[x];
		}
	}
}

/* Gradient rows up to j; row m reads blurred rows m-1..m+1 (clamped). */
static void pipe_fill_m(struct edge_pipe *p, int j)
{
	if (j > p->h - 1)
		j = p->h - 1;
	for (; p->mnext <= j; p->mnext++) {
		int m = p->mnext;

		pipe_fill_b(p, m + 1);
		edge_sobel_row(pipe_brow(p, m - 1), pipe_brow(p, m), pipe_brow(p, m + 1), p->w,
			       p->mring + (size_t)(m % 3) * p->w,
			       p->sring + (size_t)(m % 3) * p->w);
	}
}

/*
 * Sobel gradient of the row mid between up and dn (columns replicated at
 * the borders): L1 magnitude into mag[w], direction sector into sec[w].
 */
static void edge_sobel_row(const float *up, const float *mid, const float *dn, int w, float *mag,
			   uint8_t *sec)
{
	for (int x = 0; x < w; x++) {
		int l = x > 0 ? x - 1 : 0, r = x < w - 1 ? x + 1 : w - 1;
		float gx = (up[r] + 2 * mid[r] + dn[r]) - (up[l] + 2 * mid[l] + dn[l]);
		float gy = (dn[l] + 2 * dn[x] + dn[r]) - (up[l] + 2 * up[x] + up[r]);
		float ax = fabsf(gx), ay = fabsf(gy);

		mag[x] = ax + ay;
		if (ay <= ax * TAN_22_5)
			sec[x] = SEC_HORIZ;
		else if (ay > ax * TAN_67_5)
			sec[x] = SEC_VERT;
		else
			sec[x] = (gx > 0) == (gy > 0) ? SEC_DIAG_DOWN : SEC_DIAG_UP;
	}
}

/*
 * Non-maximum suppression and double threshold of row y into out[w]
 * (gradient rows y-1..y+1 must be computed). A pixel survives if it beats
 * its neighbour on the "before" side and is not beaten on the "after" side
 * (as OpenCV does), so a plateau yields a one-pixel line.
 */
static void edge_nms_row(const struct edge_pipe *p, int y, float low, float high, uint8_t *out)
{
	const float *m0 = pipe_mrow(p, y - 1), *m1 = pipe_mrow(p, y), *m2 = pipe_mrow(p, y + 1);
	const uint8_t *s = p->sring + (size_t)(y % 3) * p->w;
	int w = p->w;

	for (int x = 0; x < w; x++) {
		float v = m1[x], a, b;
		int l = x - 1, r = x + 1;

		out[x] = CLS_NONE;
		if (v <= low)
			continue;
		switch (s[x]) {
		case SEC_HORIZ:
			a = l >= 0 ? m1[l] : 0;
			b = r < w ? m1[r] : 0;
			break;
		case SEC_VERT:
			a = m0[x];
			b = m2[x];
			break;
		case SEC_DIAG_DOWN:
			a = l >= 0 ? m0[l] : 0;
			b = r < w ? m2[r] : 0;
			break;
		default:
			a = r < w ? m0[r] : 0;
			b = l >= 0 ? m2[l] : 0;
			break;
		}
		if (v > a && v >= b)
			out[x] = v > high ? CLS_STRONG : CLS_WEAK;
	}
}

/*
 * The whole detector: rows[y][0..w-1] receive 1 for edge pixels, 0 else.
 * Thresholds are swapped if low > high.
 */
static void edge_detect(const struct edge_src *src, double low, double high, uint8_t **rows)
{
	struct edge_pipe p;

	if (low > high) {
		double t = low;

		low = high;
		high = t;
	}
	pipe_init(&p, src);
	for (int y = 0; y < src->h; y++) {
		pipe_fill_m(&p, y + 1);
		edge_nms_row(&p, y, (float)low, (float)high, rows[y]);
	}
	pipe_cleanup(&p);
	edge_hysteresis(rows, src->w, src->h);
}

/* Push (x, y); when the stack is at EDGE_STACK_MAX, drop it and say so. */
static void edge_push(struct edge_stack *s, int x, int y)
{
	if (s->len == s->cap) {
		if (s->cap >= EDGE_STACK_MAX) {
			s->overflow = true;
			return;
		}
		s->cap = s->cap ? s->cap * 2 : 1024;
		if (s->cap > EDGE_STACK_MAX)
			s->cap = EDGE_STACK_MAX;
		s->v = xrealloc(s->v, s->cap * 2 * sizeof(*s->v));
	}
	s->v[2 * s->len] = x;
	s->v[2 * s->len + 1] = y;
	s->len++;
}

/* Mark every weak or strong pixel 8-connected to the stacked ones as EDGE. */
static void edge_flood(struct edge_stack *st, uint8_t **rows, int w, int h)
{
	while (st->len > 0) {
		int x, y;

		st->len--;
		x = st->v[2 * st->len];
		y = st->v[2 * st->len + 1];
		for (int ny = y - 1; ny <= y + 1; ny++) {
			if (ny < 0 || ny >= h)
				continue;
			for (int nx = x - 1; nx <= x + 1; nx++) {
				if (nx < 0 || nx >= w)
					continue;
				if (rows[ny][nx] == CLS_WEAK || rows[ny][nx] == CLS_STRONG) {
					rows[ny][nx] = CLS_EDGE;
					edge_push(st, nx, ny);
				}
			}
		}
	}
}

/*
 * Keep the weak pixels 8-connected to strong ones, depth-first with an
 * explicit stack (no recursion: an edge can be millions of pixels long).
 * The stack is capped: pixels dropped when it is full are already marked,
 * and a rescan of all marked pixels expands them later, until a pass ends
 * without dropping any. Afterwards rows hold 1 for edges and 0 elsewhere.
 */
static void edge_hysteresis(uint8_t **rows, int w, int h)
{
	struct edge_stack st = {NULL, 0, 0, false};
	int seed = CLS_STRONG;

	do {
		st.overflow = false;
		for (int y = 0; y < h; y++) {
			for (int x = 0; x < w; x++) {
				if (rows[y][x] != seed)
					continue;
				rows[y][x] = CLS_EDGE;
				edge_push(&st, x, y);
				edge_flood(&st, rows, w, h);
			}
		}
		seed = CLS_EDGE; /* later passes: re-expand all marked pixels */
	} while (st.overflow);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			rows[y][x] = rows[y][x] == CLS_EDGE;
	free(st.v);
}

int imgedge_canny(const float *lum, int w, int h, double low, double high, uint8_t *edges)
{
	struct edge_src src;
	uint8_t **rows;

	if (!lum || !edges || w < 1 || h < 1)
		return IA_ERR_INVAL;
	memset(&src, 0, sizeof(src));
	src.plane = lum;
	src.w = w;
	src.h = h;
	rows = xmalloc((size_t)h * sizeof(*rows));
	for (int y = 0; y < h; y++)
		rows[y] = edges + (size_t)y * w;
	edge_detect(&src, low, high, rows);
	free(rows);
	return 0;
}

gdImagePtr imgedge_outline(gdImagePtr src, int low_threshold, int high_threshold)
{
	struct edge_src es;
	gdImagePtr dst = NULL;
	int black, white;

	if (!src || low_threshold < 0 || high_threshold < 0)
		goto out;
	if (gdImageSX(src) < 1 || gdImageSY(src) < 1)
		goto out;
	dst = gdImageCreate(gdImageSX(src), gdImageSY(src));
	if (!dst)
		goto out;
	/* black first: the palette imgio_compact gives a two-level image */
	black = gdImageColorAllocate(dst, 0, 0, 0);
	white = gdImageColorAllocate(dst, 255, 255, 255);
	edge_src_image(&es, src);
	/* the result's own 8-bit rows serve as the class map */
	edge_detect(&es, low_threshold, high_threshold, dst->pixels);
	for (int y = 0; y < es.h; y++) {
		unsigned char *row = dst->pixels[y];

		for (int x = 0; x < es.w; x++)
			row[x] = (unsigned char)(row[x] ? black : white);
	}
out:
	return dst;
}
