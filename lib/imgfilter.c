/*
 * imgfilter.c - pixel kernels for the image layer: a separable Lanczos-3
 * resampler (libgd's gdImageScale is slow and blurs or aliases on big
 * shrinks), an unsharp mask and a percentile contrast stretch, all on
 * libgd truecolor images (0xAARRGGBB with 7-bit alpha, 127 transparent).
 *
 * The resampler works in premultiplied float RGBA. Each source row is
 * filtered horizontally once into a small ring of rows; each output row is
 * a weighted sum of ring rows. Memory is the output plus O(taps x width).
 */
#include "config.h"

#include "imgfilter.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <gd.h>

#define IMGFILTER_PI    3.14159265358979323846
#define IMGFILTER_LOBES 3.0

/* Four floats in one SSE/NEON register (a GCC/Clang extension). */
typedef float imgfilter_v4 __attribute__((vector_size(16)));

/* Per output pixel: the first source index, tap count and weights. */
struct imgfilter_taps {
	int n; /* weights stored per output (max count) */
	int *start;
	int *count;
	float *w;
};

static double imgfilter_lanczos(double x)
{
	double px;

	if (x == 0.0)
		return 1.0;
	if (x <= -IMGFILTER_LOBES || x >= IMGFILTER_LOBES)
		return 0.0;
	px = IMGFILTER_PI * x;
	return IMGFILTER_LOBES * sin(px) * sin(px / IMGFILTER_LOBES) / (px * px);
}

/* Weights mapping in samples to out samples; windows clamp at the edges. */
static void imgfilter_taps_init(struct imgfilter_taps *t, int in, int out)
{
	double scale = (double)out / in;
	double fs = scale < 1.0 ? 1.0 / scale : 1.0;
	double support = IMGFILTER_LOBES * fs;
	int i;

	t->n = (int)ceil(2.0 * support) + 2;
	t->start = xmalloc(sizeof(int) * (size_t)out);
	t->count = xmalloc(sizeof(int) * (size_t)out);
	t->w = xcalloc((size_t)out * (size_t)t->n, sizeof(float));
	for (i = 0; i < out; i++) {
		double center = (i + 0.5) / scale, sum = 0.0;
		int lo = (int)floor(center - support), hi = (int)ceil(center + support);
		float *w = t->w + (size_t)i * (size_t)t->n;
		int j;

		if (lo < 0)
			lo = 0;
		if (hi > in)
			hi = in;
		if (hi - lo > t->n)
			hi = lo + t->n;
		if (hi <= lo) { /* cannot happen for sane sizes; keep one tap */
			lo = center < in ? (int)center : in - 1;
			hi = lo + 1;
		}
		for (j = lo; j < hi; j++) {
			double v = imgfilter_lanczos((j + 0.5 - center) / fs);

			w[j - lo] = (float)v;
			sum += v;
		}
		for (j = 0; j < hi - lo; j++)
			w[j] = sum != 0.0 ? (float)(w[j] / sum) : 1.0f / (float)(hi - lo);
		t->start[i] = lo;
		t->count[i] = hi - lo;
	}
}

static void imgfilter_taps_cleanup(struct imgfilter_taps *t)
{
	free(t->start);
	free(t->count);
	free(t->w);
}

/* gd pixels -> premultiplied float RGBA (colour 0..255, alpha 0..1). */
static void imgfilter_load_row(const int *src, int w, imgfilter_v4 *line)
{
	int x;

	for (x = 0; x < w; x++) {
		int p = src[x];
		float a = (float)(127 - ((p >> 24) & 0x7F)) * (1.0f / 127.0f);
		imgfilter_v4 v = {(float)((p >> 16) & 0xFF), (float)((p >> 8) & 0xFF),
				  (float)(p & 0xFF), 1.0f};

		line[x] = v * a;
	}
}

static void imgfilter_hpass(const imgfilter_v4 *line, const struct imgfilter_taps *t, int dw,
			    imgfilter_v4 *dst)
{
	int i, k;

	for (i = 0; i < dw; i++) {
		const float *w = t->w + (size_t)i * (size_t)t->n;
		const imgfilter_v4 *s = line + t->start[i];
		imgfilter_v4 acc = {0, 0, 0, 0};

		for (k = 0; k < t->count[i]; k++)
			acc += s[k] * w[k];
		dst[i] = acc;
	}
}

static int imgfilter_clamp255(float v)
{
	if (v <= 0.0f)
		return 0;
	if (v >= 255.0f)
		return 255;
	return (int)(v + 0.5f);
}

/* Premultiplied float RGBA -> gd pixels. */
static void imgfilter_store_row(const imgfilter_v4 *acc, int w, int *dst)
{
	int x;

	for (x = 0; x < w; x++) {
		imgfilter_v4 v = acc[x];
		float a = v[3];
		int a7;

		if (a <= 0.5f / 127.0f) {
			dst[x] = 0x7F000000;
			continue;
		}
		if (a > 1.0f)
			a = 1.0f;
		a7 = 127 - (int)(a * 127.0f + 0.5f);
		v *= 1.0f / a;
		dst[x] = (a7 << 24) | (imgfilter_clamp255(v[0]) << 16) |
			 (imgfilter_clamp255(v[1]) << 8) | imgfilter_clamp255(v[2]);
	}
}

/* Ring of horizontally filtered source rows, tagged by row number. */
struct imgfilter_ring {
	int n;
	int *row;
	imgfilter_v4 *data; /* n rows of dw pixels */
	imgfilter_v4 *line; /* one source row, premultiplied */
};

static const imgfilter_v4 *imgfilter_ring_get(struct imgfilter_ring *r, gdImagePtr src,
					      const struct imgfilter_taps *ht, int dw, int y)
{
	int slot = y % r->n;
	imgfilter_v4 *dst = r->data + (size_t)slot * (size_t)dw;

	if (r->row[slot] != y) {
		imgfilter_load_row(src->tpixels[y], src->sx, r->line);
		imgfilter_hpass(r->line, ht, dw, dst);
		r->row[slot] = y;
	}
	return dst;
}

gdImagePtr imgfilter_resample(gdImagePtr src, int w, int h)
{
	struct imgfilter_taps ht, vt;
	struct imgfilter_ring ring;
	imgfilter_v4 *acc;
	gdImagePtr dst;
	int y, i, k;

	if (src == NULL || !gdImageTrueColor(src) || w < 1 || h < 1)
		return NULL;
	dst = gdImageCreateTrueColor(w, h);
	if (dst == NULL)
		return NULL;
	gdImageAlphaBlending(dst, 0);
	gdImageSaveAlpha(dst, 1);
	imgfilter_taps_init(&ht, src->sx, w);
	imgfilter_taps_init(&vt, src->sy, h);
	ring.n = vt.n;
	ring.row = xmalloc(sizeof(int) * (size_t)ring.n);
	for (i = 0; i < ring.n; i++)
		ring.row[i] = -1;
	ring.data = xmalloc(sizeof(imgfilter_v4) * (size_t)ring.n * (size_t)w);
	ring.line = xmalloc(sizeof(imgfilter_v4) * (size_t)src->sx);
	acc = xmalloc(sizeof(imgfilter_v4) * (size_t)w);
	for (y = 0; y < h; y++) {
		const float *wt = vt.w + (size_t)y * (size_t)vt.n;

		memset(acc, 0, sizeof(imgfilter_v4) * (size_t)w);
		for (k = 0; k < vt.count[y]; k++) {
			const imgfilter_v4 *s =
			    imgfilter_ring_get(&ring, src, &ht, w, vt.start[y] + k);
			float wk = wt[k];

			for (i = 0; i < w; i++)
				acc[i] += s[i] * wk;
		}
		imgfilter_store_row(acc, w, dst->tpixels[y]);
	}
	free(acc);
	free(ring.line);
	free(ring.data);
	free(ring.row);
	imgfilter_taps_cleanup(&ht);
	imgfilter_taps_cleanup(&vt);
	return dst;
}

/* ---- unsharp mask ----------------------------------------------------- */

/* Normalised Gaussian weights w[0..2r] in 1/65536 units. */
static int *imgfilter_gauss(double sigma, int *radius)
{
	int r = (int)ceil(3.0 * sigma), i, sum = 0;
	double *f = xmalloc(sizeof(double) * (size_t)(2 * r + 1)), fs = 0.0;
	int *w = xmalloc(sizeof(int) * (size_t)(2 * r + 1));

	for (i = -r; i <= r; i++) {
		f[i + r] = exp(-(double)(i * i) / (2.0 * sigma * sigma));
		fs += f[i + r];
	}
	for (i = 0; i <= 2 * r; i++) {
		w[i] = (int)(f[i] / fs * 65536.0 + 0.5);
		sum += w[i];
	}
	w[r] += 65536 - sum; /* exact unit gain */
	free(f);
	*radius = r;
	return w;
}

/* Blur one row horizontally (RGB; alpha copied). */
static void imgfilter_blur_h(const int *src, int *dst, int width, const int *w, int r)
{
	int x, k;

	for (x = 0; x < width; x++) {
		int64_t cr = 0, cg = 0, cb = 0;

		for (k = -r; k <= r; k++) {
			int sx = x + k;
			int p;

			sx = sx < 0 ? 0 : sx >= width ? width - 1 : sx;
			p = src[sx];
			cr += (int64_t)w[k + r] * ((p >> 16) & 0xFF);
			cg += (int64_t)w[k + r] * ((p >> 8) & 0xFF);
			cb += (int64_t)w[k + r] * (p & 0xFF);
		}
		dst[x] = (src[x] & 0x7F000000) | (int)(((cr + 32768) >> 16) << 16) |
			 (int)(((cg + 32768) >> 16) << 8) | (int)((cb + 32768) >> 16);
	}
}

static int imgfilter_sharpen(int o, int b, int amount256)
{
	int v = o + (((o - b) * amount256) >> 8);

	return v < 0 ? 0 : v > 255 ? 255 : v;
}

void imgfilter_unsharp(gdImagePtr im, double sigma, double amount)
{
	int r, x, y, k, *w, *tmp, amt;
	int64_t *col;

	if (im == NULL || !gdImageTrueColor(im) || !(sigma > 0.0) || sigma > 8.0)
		return;
	w = imgfilter_gauss(sigma, &r);
	amt = (int)(amount * 256.0 + 0.5);
	tmp = xmalloc(sizeof(int) * (size_t)im->sx * (size_t)im->sy);
	for (y = 0; y < im->sy; y++)
		imgfilter_blur_h(im->tpixels[y], tmp + (size_t)y * (size_t)im->sx, im->sx, w, r);
	col = xmalloc(sizeof(int64_t) * 3 * (size_t)im->sx);
	for (y = 0; y < im->sy; y++) {
		int *row = im->tpixels[y];

		memset(col, 0, sizeof(int64_t) * 3 * (size_t)im->sx);
		for (k = -r; k <= r; k++) {
			int sy = y + k;
			const int *s;

			sy = sy < 0 ? 0 : sy >= im->sy ? im->sy - 1 : sy;
			s = tmp + (size_t)sy * (size_t)im->sx;
			for (x = 0; x < im->sx; x++) {
				col[3 * x] += (int64_t)w[k + r] * ((s[x] >> 16) & 0xFF);
				col[3 * x + 1] += (int64_t)w[k + r] * ((s[x] >> 8) & 0xFF);
				col[3 * x + 2] += (int64_t)w[k + r] * (s[x] & 0xFF);
			}
		}
		for (x = 0; x < im->sx; x++) {
			int p = row[x];
			int nr = imgfilter_sharpen((p >> 16) & 0xFF,
						   (int)((col[3 * x] + 32768) >> 16), amt);
			int ng = imgfilter_sharpen((p >> 8) & 0xFF,
						   (int)((col[3 * x + 1] + 32768) >> 16), amt);
			int nb =
			    imgfilter_sharpen(p & 0xFF, (int)((col[3 * x + 2] + 32768) >> 16), amt);

			row[x] = (p & 0x7F000000) | (nr << 16) | (ng << 8) | nb;
		}
	}
	free(col);
	free(tmp);
	free(w);
}

/* ---- contrast stretch ------------------------------------------------- */

static int imgfilter_luma(int p)
{
	return (19595 * ((p >> 16) & 0xFF) + 38470 * ((p >> 8) & 0xFF) + 7471 * (p & 0xFF) +
		32768) >>
	       16;
}

void imgfilter_autocontrast(gdImagePtr im, double clip)
{
	uint64_t hist[256] = {0}, n, cut, acc;
	int lo, hi, x, y, v;
	unsigned char lut[256];

	if (im == NULL || !gdImageTrueColor(im))
		return;
	for (y = 0; y < im->sy; y++) {
		for (x = 0; x < im->sx; x++)
			hist[imgfilter_luma(im->tpixels[y][x])]++;
	}
	n = (uint64_t)im->sx * (uint64_t)im->sy;
	cut = (uint64_t)((double)n * clip);
	for (lo = 0, acc = 0; lo < 255; lo++) {
		acc += hist[lo];
		if (acc > cut)
			break;
	}
	for (hi = 255, acc = 0; hi > 0; hi--) {
		acc += hist[hi];
		if (acc > cut)
			break;
	}
	if (hi - lo < 16 || (lo == 0 && hi == 255))
		return;
	for (v = 0; v < 256; v++) {
		int s = (v - lo) * 255 / (hi - lo);

		lut[v] = (unsigned char)(s < 0 ? 0 : s > 255 ? 255 : s);
	}
	for (y = 0; y < im->sy; y++) {
		int *row = im->tpixels[y];

		for (x = 0; x < im->sx; x++) {
			int p = row[x];

			row[x] = (p & 0x7F000000) | (lut[(p >> 16) & 0xFF] << 16) |
				 (lut[(p >> 8) & 0xFF] << 8) | lut[p & 0xFF];
		}
	}
}
