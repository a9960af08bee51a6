/*
 * imgedge.c - a Canny edge detector on float planes and the "outline"
 * service. The pipeline is the textbook one: luminance, separable Gaussian
 * blur, Sobel gradients, non-maximum suppression in four direction sectors,
 * double threshold, hysteresis by 8-connectivity with an explicit stack.
 *
 * Memory is kept to what the pipeline needs: one float luminance plane and
 * one byte-per-pixel class plane; gradients are computed three rows at a
 * time and never stored for the whole image.
 */
#include "config.h"

#include "imgedge.h"
#include "err.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EDGE_SIGMA 1.4
#define EDGE_MAX_RADIUS 64
#define TAN_22_5 0.41421356f
#define TAN_67_5 2.41421356f

/* Classes in the byte plane between suppression and hysteresis. */
enum { CLS_NONE = 0, CLS_WEAK = 1, CLS_STRONG = 2 };

/* Gradient direction sectors for non-maximum suppression. */
enum { SEC_HORIZ = 0, SEC_DIAG_DOWN = 1, SEC_VERT = 2, SEC_DIAG_UP = 3 };

/* Growable stack of pixel indices for hysteresis. */
struct edge_stack {
	size_t *v;
	size_t len, cap;
};

static void edge_hblur(float *p, int w, int h, const float *k, int r);
static void edge_vblur(float *p, int w, int h, const float *k, int r);
static void edge_sobel_row(const float *lum, int w, int h, int y, float *mag,
			   uint8_t *sec);
static void edge_nms(const float *lum, int w, int h, float low, float high,
		     uint8_t *cls);
static void edge_hysteresis(uint8_t *cls, int w, int h);
static void edge_push(struct edge_stack *s, size_t i);
static void edge_luma(gdImagePtr src, float *lum);

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

void imgedge_blur(float *plane, int w, int h, double sigma)
{
	float *k = NULL;
	double sum = 0;
	int r;

	if (!plane || w < 1 || h < 1 || !(sigma > 0))
		return;
	r = (int)ceil(3.0 * sigma);
	if (r > EDGE_MAX_RADIUS)
		r = EDGE_MAX_RADIUS;
	k = xmalloc((size_t)(2 * r + 1) * sizeof(*k));
	for (int i = -r; i <= r; i++) {
		k[i + r] = (float)exp(-(double)(i * i) / (2 * sigma * sigma));
		sum += k[i + r];
	}
	for (int i = 0; i < 2 * r + 1; i++)
		k[i] = (float)(k[i] / sum);
	edge_hblur(plane, w, h, k, r);
	edge_vblur(plane, w, h, k, r);
	free(k);
}

/* Horizontal pass, in place, through one padded row buffer. */
static void edge_hblur(float *p, int w, int h, const float *k, int r)
{
	float *pad = xmalloc((size_t)(w + 2 * r) * sizeof(*pad));

	for (int y = 0; y < h; y++) {
		float *row = p + (size_t)y * w;

		for (int i = 0; i < w + 2 * r; i++)
			pad[i] = row[clampi(i - r, 0, w - 1)];
		for (int x = 0; x < w; x++) {
			float acc = 0;

			for (int j = 0; j < 2 * r + 1; j++)
				acc += k[j] * pad[x + j];
			row[x] = acc;
		}
	}
	free(pad);
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
		memcpy(ring + (size_t)(j % len) * w, p + (size_t)j * w,
		       (size_t)w * sizeof(*p));
	for (int y = 0; y < h; y++) {
		if (y + r < h)
			memcpy(ring + (size_t)((y + r) % len) * w,
			       p + (size_t)(y + r) * w, (size_t)w * sizeof(*p));
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

/*
 * Sobel gradient of row y (borders replicated): L1 magnitude into mag[w],
 * direction sector into sec[w]. Rows outside the image give zero magnitude,
 * which is what suppression compares against there.
 */
static void edge_sobel_row(const float *lum, int w, int h, int y, float *mag,
			   uint8_t *sec)
{
	const float *up, *mid, *dn;

	if (y < 0 || y >= h) {
		memset(mag, 0, (size_t)w * sizeof(*mag));
		memset(sec, 0, (size_t)w);
		return;
	}
	up = lum + (size_t)clampi(y - 1, 0, h - 1) * w;
	mid = lum + (size_t)y * w;
	dn = lum + (size_t)clampi(y + 1, 0, h - 1) * w;
	for (int x = 0; x < w; x++) {
		int l = x > 0 ? x - 1 : 0, r = x < w - 1 ? x + 1 : w - 1;
		float gx = (up[r] + 2 * mid[r] + dn[r]) -
			   (up[l] + 2 * mid[l] + dn[l]);
		float gy = (dn[l] + 2 * dn[x] + dn[r]) -
			   (up[l] + 2 * up[x] + up[r]);
		float ax = fabsf(gx), ay = fabsf(gy);

		mag[x] = ax + ay;
		if (ay <= ax * TAN_22_5)
			sec[x] = SEC_HORIZ;
		else if (ay > ax * TAN_67_5)
			sec[x] = SEC_VERT;
		else
			sec[x] = (gx > 0) == (gy > 0) ? SEC_DIAG_DOWN
						      : SEC_DIAG_UP;
	}
}

/*
 * Non-maximum suppression and double threshold into cls, three rows of
 * magnitudes at a time. A pixel survives if it beats its neighbour on the
 * "before" side and is not beaten on the "after" side (as OpenCV does), so
 * a plateau yields a one-pixel line.
 */
static void edge_nms(const float *lum, int w, int h, float low, float high,
		     uint8_t *cls)
{
	float *mbuf = xmalloc((size_t)3 * w * sizeof(*mbuf));
	uint8_t *sbuf = xmalloc((size_t)3 * w);
	float *m[3];
	uint8_t *s[3];

	for (int i = 0; i < 3; i++) {
		m[i] = mbuf + (size_t)i * w;
		s[i] = sbuf + (size_t)i * w;
	}
	edge_sobel_row(lum, w, h, -1, m[0], s[0]);
	edge_sobel_row(lum, w, h, 0, m[1], s[1]);
	for (int y = 0; y < h; y++) {
		uint8_t *out = cls + (size_t)y * w;

		edge_sobel_row(lum, w, h, y + 1, m[2], s[2]);
		for (int x = 0; x < w; x++) {
			float v = m[1][x], a, b;
			int l = x - 1, r = x + 1;

			out[x] = CLS_NONE;
			if (v <= low)
				continue;
			switch (s[1][x]) {
			case SEC_HORIZ:
				a = l >= 0 ? m[1][l] : 0;
				b = r < w ? m[1][r] : 0;
				break;
			case SEC_VERT:
				a = m[0][x];
				b = m[2][x];
				break;
			case SEC_DIAG_DOWN:
				a = l >= 0 ? m[0][l] : 0;
				b = r < w ? m[2][r] : 0;
				break;
			default:
				a = r < w ? m[0][r] : 0;
				b = l >= 0 ? m[2][l] : 0;
				break;
			}
			if (v > a && v >= b)
				out[x] = v > high ? CLS_STRONG : CLS_WEAK;
		}
		/* rotate the three-row window */
		float *tm = m[0];
		uint8_t *ts = s[0];
		m[0] = m[1], m[1] = m[2], m[2] = tm;
		s[0] = s[1], s[1] = s[2], s[2] = ts;
	}
	free(mbuf);
	free(sbuf);
}

static void edge_push(struct edge_stack *s, size_t i)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->len++] = i;
}

/*
 * Promote weak pixels 8-connected to strong ones, depth-first with an
 * explicit stack (no recursion: an edge can be millions of pixels long).
 * Afterwards cls holds 1 for edges and 0 elsewhere.
 */
static void edge_hysteresis(uint8_t *cls, int w, int h)
{
	struct edge_stack st = {NULL, 0, 0};
	size_t n = (size_t)w * h;

	for (size_t i = 0; i < n; i++)
		if (cls[i] == CLS_STRONG)
			edge_push(&st, i);
	while (st.len > 0) {
		size_t i = st.v[--st.len];
		int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);

		for (int dy = -1; dy <= 1; dy++) {
			for (int dx = -1; dx <= 1; dx++) {
				int nx = x + dx, ny = y + dy;
				size_t j;

				if (nx < 0 || ny < 0 || nx >= w || ny >= h)
					continue;
				j = (size_t)ny * w + nx;
				if (cls[j] == CLS_WEAK) {
					cls[j] = CLS_STRONG;
					edge_push(&st, j);
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		cls[i] = cls[i] == CLS_STRONG;
	free(st.v);
}

int imgedge_canny(float *lum, int w, int h, double low, double high,
		  uint8_t *edges)
{
	if (!lum || !edges || w < 1 || h < 1)
		return IA_ERR_INVAL;
	if (low > high) {
		double t = low;
		low = high;
		high = t;
	}
	imgedge_blur(lum, w, h, EDGE_SIGMA);
	edge_nms(lum, w, h, (float)low, (float)high, edges);
	edge_hysteresis(edges, w, h);
	return 0;
}

/* Rec.601 luminance of src, translucent pixels composited over white. */
static void edge_luma(gdImagePtr src, float *lum)
{
	int w = gdImageSX(src), h = gdImageSY(src);

	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			int c = gdImageTrueColor(src)
					? src->tpixels[y][x]
					: gdImageGetTrueColorPixel(src, x, y);
			float a = (float)gdTrueColorGetAlpha(c) / 127.0f;
			float v = 0.299f * gdTrueColorGetRed(c) +
				  0.587f * gdTrueColorGetGreen(c) +
				  0.114f * gdTrueColorGetBlue(c);

			lum[(size_t)y * w + x] = v * (1 - a) + 255.0f * a;
		}
	}
}

gdImagePtr imgedge_outline(gdImagePtr src, int low_threshold,
			   int high_threshold)
{
	float *lum = NULL;
	uint8_t *edges = NULL;
	gdImagePtr dst = NULL;
	int w, h;
	const int white = gdTrueColorAlpha(255, 255, 255, 0);
	const int black = gdTrueColorAlpha(0, 0, 0, 0);

	if (!src || low_threshold < 0 || high_threshold < 0)
		goto out;
	w = gdImageSX(src);
	h = gdImageSY(src);
	if (w < 1 || h < 1)
		goto out;
	lum = xmalloc((size_t)w * h * sizeof(*lum));
	edges = xmalloc((size_t)w * h);
	edge_luma(src, lum);
	if (imgedge_canny(lum, w, h, low_threshold, high_threshold, edges) < 0)
		goto out;
	free(lum);
	lum = NULL;
	dst = gdImageCreateTrueColor(w, h);
	if (!dst)
		goto out;
	for (int y = 0; y < h; y++) {
		const uint8_t *e = edges + (size_t)y * w;

		for (int x = 0; x < w; x++)
			dst->tpixels[y][x] = e[x] ? black : white;
	}
out:
	free(lum);
	free(edges);
	return dst;
}
