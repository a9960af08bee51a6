/*
 * imgstyle.c - the avatar stylisation: crop, downscale, bilateral smoothing,
 * colour quantisation in a perceptual space (CIE Lab k-means) and ink
 * lines from Canny edges. Everything runs on float planes of the <= 512 x
 * 512 crop, so memory does not depend on the input size.
 */
#include "config.h"

#include "imgstyle.h"
#include "imgedge.h"
#include "imgseg.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AV_MAX_SIDE   512
#define AV_RADIUS     4    /* bilateral window radius */
#define AV_SIGMA_S    3.0  /* bilateral spatial sigma, pixels */
#define AV_SIGMA_R    28.0 /* bilateral range sigma, RGB 0..255 distance */
#define AV_PASSES     2
#define AV_LUT_STEP   16.0f /* squared-distance units per range LUT entry */
#define AV_LUT_SIZE   2048
#define AV_COLOURS    10
#define AV_CANNY_LOW  20.0
#define AV_CANNY_HIGH 60.0
#define AV_INK_R      28
#define AV_INK_G      22
#define AV_INK_B      22

/* Planes of the square tile. */
struct av_tile {
	int side;
	size_t n;
	float *rgb; /* n * 3, 0..255 */
};

/* Crop + area-average into a white-backed side x side truecolor image. */
static gdImagePtr av_crop(gdImagePtr src)
{
	int w = gdImageSX(src), h = gdImageSY(src);
	int side = w < h ? w : h;
	int out = side < AV_MAX_SIDE ? side : AV_MAX_SIDE;
	int x0 = (w - side) / 2, y0 = (h - side) / 4;
	gdImagePtr t = gdImageCreateTrueColor(out, out);

	if (!t)
		return NULL;
	gdImageAlphaBlending(t, 0);
	gdImageFilledRectangle(t, 0, 0, out - 1, out - 1, gdTrueColorAlpha(255, 255, 255, 0));
	gdImageAlphaBlending(t, 1);
	gdImageCopyResampled(t, src, 0, 0, x0, y0, out, out, side, side);
	return t;
}

/* One bilateral pass from in to out (both n * 3). */
static void av_bilateral(const float *in, float *out, int s, const float *lut, const float *ws)
{
	const int r = AV_RADIUS, span = 2 * AV_RADIUS + 1;

	for (int y = 0; y < s; y++) {
		for (int x = 0; x < s; x++) {
			const float *c = in + 3 * ((size_t)y * s + x);
			float acc[3] = {0, 0, 0}, wsum = 0;

			for (int dy = -r; dy <= r; dy++) {
				int yy = y + dy;

				if (yy < 0 || yy >= s)
					continue;
				for (int dx = -r; dx <= r; dx++) {
					int xx = x + dx;
					const float *q;
					float d0, d1, d2, wgt;
					int li;

					if (xx < 0 || xx >= s)
						continue;
					q = in + 3 * ((size_t)yy * s + xx);
					d0 = q[0] - c[0];
					d1 = q[1] - c[1];
					d2 = q[2] - c[2];
					li = (int)((d0 * d0 + d1 * d1 + d2 * d2) / AV_LUT_STEP);
					if (li >= AV_LUT_SIZE)
						continue;
					wgt = ws[(dy + r) * span + dx + r] * lut[li];
					acc[0] += wgt * q[0];
					acc[1] += wgt * q[1];
					acc[2] += wgt * q[2];
					wsum += wgt;
				}
			}
			for (int k = 0; k < 3; k++)
				out[3 * ((size_t)y * s + x) + k] = acc[k] / wsum;
		}
	}
}

/* AV_PASSES bilateral passes over t->rgb, in place. */
static void av_smooth(struct av_tile *t)
{
	const int span = 2 * AV_RADIUS + 1;
	float lut[AV_LUT_SIZE], ws[(2 * AV_RADIUS + 1) * (2 * AV_RADIUS + 1)];
	float *tmp = xmalloc(t->n * 3 * sizeof(*tmp));

	for (int i = 0; i < AV_LUT_SIZE; i++)
		lut[i] = (float)exp(-(i + 0.5) * AV_LUT_STEP / (2 * AV_SIGMA_R * AV_SIGMA_R));
	for (int dy = 0; dy < span; dy++)
		for (int dx = 0; dx < span; dx++) {
			int a = dx - AV_RADIUS, b = dy - AV_RADIUS;

			ws[dy * span + dx] =
			    (float)exp(-(a * a + b * b) / (2 * AV_SIGMA_S * AV_SIGMA_S));
		}
	for (int p = 0; p < AV_PASSES; p++) {
		av_bilateral(t->rgb, tmp, t->side, lut, ws);
		memcpy(t->rgb, tmp, t->n * 3 * sizeof(*tmp));
	}
	free(tmp);
}

static float av_linear(float c)
{
	c /= 255.0f;
	return c <= 0.04045f ? c / 12.92f : powf((c + 0.055f) / 1.055f, 2.4f);
}

static float av_labf(float t)
{
	return t > 0.008856f ? cbrtf(t) : 7.787f * t + 16.0f / 116.0f;
}

/* sRGB (0..255) to CIE Lab (D65). */
static void av_lab(const float *rgb, float *lab)
{
	float r = av_linear(rgb[0]), g = av_linear(rgb[1]), b = av_linear(rgb[2]);
	float x = (0.4124f * r + 0.3576f * g + 0.1805f * b) / 0.95047f;
	float y = 0.2126f * r + 0.7152f * g + 0.0722f * b;
	float z = (0.0193f * r + 0.1192f * g + 0.9505f * b) / 1.08883f;
	float fx = av_labf(x), fy = av_labf(y), fz = av_labf(z);

	lab[0] = 116.0f * fy - 16.0f;
	lab[1] = 500.0f * (fx - fy);
	lab[2] = 200.0f * (fy - fz);
}

static int av_nearest(const float *p, const float *c, int k)
{
	int best = 0;
	float bd = INFINITY;

	for (int j = 0; j < k; j++) {
		float d0 = p[0] - c[3 * j], d1 = p[1] - c[3 * j + 1];
		float d2 = p[2] - c[3 * j + 2], d = d0 * d0 + d1 * d1 + d2 * d2;

		if (d < bd) {
			bd = d;
			best = j;
		}
	}
	return best;
}

/*
 * Quantise t->rgb in place to at most AV_COLOURS colours: k-means in Lab on
 * a subsample, then every pixel takes the mean sRGB colour of its cluster.
 */
static void av_quantise(struct av_tile *t)
{
	float *lab = xmalloc(t->n * 3 * sizeof(*lab)), c[AV_COLOURS * 3];
	float *pts = xmalloc((t->n / 3 + 1) * 3 * sizeof(*pts));
	uint8_t *lbl = xmalloc(t->n);
	double sum[AV_COLOURS][3] = {{0}}, cnt[AV_COLOURS] = {0};
	size_t m = 0;
	int k;

	for (size_t i = 0; i < t->n; i++) {
		av_lab(t->rgb + 3 * i, lab + 3 * i);
		if (i % 3 == 0)
			memcpy(pts + 3 * m++, lab + 3 * i, 3 * sizeof(*pts));
	}
	k = imgseg_kmeans(pts, m, AV_COLOURS, 8, c);
	for (size_t i = 0; i < t->n; i++) {
		int j = av_nearest(lab + 3 * i, c, k);

		lbl[i] = (uint8_t)j;
		cnt[j]++;
		for (int a = 0; a < 3; a++)
			sum[j][a] += t->rgb[3 * i + a];
	}
	for (size_t i = 0; i < t->n; i++)
		for (int a = 0; a < 3; a++)
			t->rgb[3 * i + a] = (float)(sum[lbl[i]][a] / cnt[lbl[i]]);
	free(lab);
	free(pts);
	free(lbl);
}

/* Canny edges (1 byte each) of the smoothed tile's luminance. */
static uint8_t *av_edges(const struct av_tile *t)
{
	float *lum = xmalloc(t->n * sizeof(*lum));
	uint8_t *e = xmalloc(t->n);

	for (size_t i = 0; i < t->n; i++) {
		const float *p = t->rgb + 3 * i;

		lum[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
	}
	if (imgedge_canny(lum, t->side, t->side, AV_CANNY_LOW, AV_CANNY_HIGH, e) < 0)
		memset(e, 0, t->n);
	free(lum);
	return e;
}

static int av_byte(float v)
{
	return v < 0 ? 0 : (v > 255 ? 255 : (int)(v + 0.5f));
}

gdImagePtr imgstyle_avatar(gdImagePtr src)
{
	gdImagePtr img = NULL;
	struct av_tile t = {0, 0, NULL};
	uint8_t *edges = NULL;
	const int ink = gdTrueColorAlpha(AV_INK_R, AV_INK_G, AV_INK_B, 0);

	if (!src || gdImageSX(src) < 1 || gdImageSY(src) < 1)
		goto out;
	img = av_crop(src);
	if (!img)
		goto out;
	t.side = gdImageSX(img);
	t.n = (size_t)t.side * t.side;
	t.rgb = xmalloc(t.n * 3 * sizeof(*t.rgb));
	for (int y = 0; y < t.side; y++)
		for (int x = 0; x < t.side; x++) {
			int c = img->tpixels[y][x];
			float *p = t.rgb + 3 * ((size_t)y * t.side + x);

			p[0] = (float)gdTrueColorGetRed(c);
			p[1] = (float)gdTrueColorGetGreen(c);
			p[2] = (float)gdTrueColorGetBlue(c);
		}
	av_smooth(&t);
	edges = av_edges(&t);
	av_quantise(&t);
	for (int y = 0; y < t.side; y++)
		for (int x = 0; x < t.side; x++) {
			size_t i = (size_t)y * t.side + x;
			const float *p = t.rgb + 3 * i;

			img->tpixels[y][x] =
			    edges[i]
				? ink
				: gdTrueColorAlpha(av_byte(p[0]), av_byte(p[1]), av_byte(p[2]), 0);
		}
	gdImageAlphaBlending(img, 1);
	gdImageSaveAlpha(img, 0);
out:
	free(t.rgb);
	free(edges);
	return img;
}
