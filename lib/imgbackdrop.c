/*
 * imgbackdrop.c - robust polynomial fit of a studio backdrop (see
 * imgbackdrop.h): samples from a mask or the border band, a median start,
 * then trimmed least squares rounds (normal equations, Cholesky), the noise
 * from the median absolute deviation of the inliers.
 */
#include "config.h"

#include "imgbackdrop.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BD_ROUNDS      4
#define BD_INLIER      3.5  /* noise-normalised distance of an inlier */
#define BD_SIGMA_FLOOR 1.0  /* levels: even a synthetic backdrop has rounding */
#define BD_HIST_BINS   2048 /* |residual| histogram for medians, 1/8 level a bin */

/* Sample pixels: normalised position and colour. */
struct bd_samples {
	size_t n;
	float *uv;  /* n * 2 */
	float *rgb; /* n * 3 */
	uint8_t *in;
};

static int bd_terms(int degree)
{
	return (degree + 1) * (degree + 2) / 2;
}

/* The polynomial's terms at (u, v), in the order of imgbackdrop.h. */
static void bd_basis(double u, double v, double *t)
{
	t[0] = 1;
	t[1] = u;
	t[2] = v;
	t[3] = u * u;
	t[4] = u * v;
	t[5] = v * v;
	t[6] = u * u * u;
	t[7] = u * u * v;
	t[8] = u * v * v;
	t[9] = v * v * v;
}

void imgbackdrop_at(const struct imgbackdrop *b, double u, double v, float out[3])
{
	double t[IMGBACKDROP_TERMS];
	int k = bd_terms(b->degree);

	bd_basis(u, v, t);
	for (int c = 0; c < 3; c++) {
		double s = 0;

		for (int j = 0; j < k; j++)
			s += b->coef[c][j] * t[j];
		out[c] = (float)s;
	}
}

void imgbackdrop_row(const struct imgbackdrop *b, int w, int h, int y, float *out)
{
	double v = (y + 0.5) * 2.0 / h - 1.0;

	for (int x = 0; x < w; x++)
		imgbackdrop_at(b, (x + 0.5) * 2.0 / w - 1.0, v, out + 3 * (size_t)x);
}

float imgbackdrop_cost(const struct imgbackdrop *b, const float *z, const float *bd, float *shadow,
		       float *scale)
{
	double d2 = 0, zb = 0, bb = 0, s, ds;

	for (int c = 0; c < 3; c++) {
		double e = (z[c] - bd[c]) / b->sigma[c];

		d2 += e * e;
		zb += (double)z[c] * bd[c];
		bb += (double)bd[c] * bd[c];
	}
	s = bb > 0 ? zb / bb : 1;
	if (scale)
		*scale = (float)s;
	if (!shadow)
		return (float)d2;
	*shadow = HUGE_VALF;
	if (s >= 1 || s < IMGBACKDROP_SHADOW_MIN)
		return (float)d2;
	ds = 2.0 * (1 - s);
	for (int c = 0; c < 3; c++) {
		double e = (z[c] - s * bd[c]) / b->sigma[c];

		ds += e * e;
	}
	*shadow = (float)ds;
	return (float)d2;
}

/* The k-th pixel of the outermost ring, clockwise from the top-left corner. */
static size_t bd_ring_pixel(int w, int h, int k)
{
	if (k < w)
		return (size_t)k;
	k -= w;
	if (k < h - 1)
		return (size_t)(k + 1) * w + (w - 1);
	k -= h - 1;
	if (k < w - 1)
		return (size_t)(h - 1) * w + (w - 2 - k);
	k -= w - 1;
	return (size_t)(h - 2 - k) * w;
}

int imgbackdrop_ring_runs(const struct imgbackdrop *b, const float *rgb, int w, int h, int min_run)
{
	int ring = w > 1 && h > 1 ? 2 * (w + h) - 4 : 0, runs = 0, len = 0, start = -1;

	/* start counting at an inlier so that no run is split across the start */
	for (int k = 0; k < ring && start < 0; k++) {
		size_t i = bd_ring_pixel(w, h, k);
		float bd[3];

		imgbackdrop_at(b, (i % w + 0.5) * 2.0 / w - 1.0, (i / w + 0.5) * 2.0 / h - 1.0, bd);
		if (imgbackdrop_cost(b, rgb + 3 * i, bd, NULL, NULL) <= BD_INLIER * BD_INLIER)
			start = k;
	}
	if (start < 0)
		return ring > 0 ? 1 : 0;
	for (int n = 1; n <= ring; n++) {
		size_t i = bd_ring_pixel(w, h, (start + n) % ring);
		float bd[3];
		int out;

		imgbackdrop_at(b, (i % w + 0.5) * 2.0 / w - 1.0, (i / w + 0.5) * 2.0 / h - 1.0, bd);
		out = imgbackdrop_cost(b, rgb + 3 * i, bd, NULL, NULL) > BD_INLIER * BD_INLIER;
		if (out) {
			len++;
			continue;
		}
		runs += len >= min_run;
		len = 0;
	}
	return runs;
}

/* Is pixel (x, y) in the border band? */
static int bd_in_band(int x, int y, int w, int h, int band)
{
	return x < band || y < band || x >= w - band || y >= h - band;
}

static void bd_collect(struct bd_samples *s, const float *rgb, int w, int h, const uint8_t *use,
		       int band, size_t max_samples)
{
	size_t total = 0, stride, seen = 0, k = 0;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			total += use ? use[(size_t)y * w + x] != 0 : bd_in_band(x, y, w, h, band);
	stride =
	    max_samples > 0 && total > max_samples ? (total + max_samples - 1) / max_samples : 1;
	s->uv = xmalloc((total / stride + 1) * 2 * sizeof(*s->uv));
	s->rgb = xmalloc((total / stride + 1) * 3 * sizeof(*s->rgb));
	s->in = xmalloc(total / stride + 1);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;

			if (!(use ? use[i] != 0 : bd_in_band(x, y, w, h, band)))
				continue;
			if (seen++ % stride != 0)
				continue;
			s->uv[2 * k] = (float)((x + 0.5) * 2.0 / w - 1.0);
			s->uv[2 * k + 1] = (float)((y + 0.5) * 2.0 / h - 1.0);
			memcpy(s->rgb + 3 * k, rgb + 3 * i, 3 * sizeof(float));
			s->in[k] = 1;
			k++;
		}
	s->n = k;
}

/* Median of |x| from a histogram (1/8 level bins). */
static double bd_median_abs(const float *x, size_t n, size_t stride, const uint8_t *in)
{
	static const double bin = 0.125;
	size_t hist[BD_HIST_BINS] = {0}, cnt = 0, acc = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (in && !in[i])
			continue;
		j = (size_t)(fabsf(x[i * stride]) / bin);
		hist[j < BD_HIST_BINS ? j : BD_HIST_BINS - 1]++;
		cnt++;
	}
	for (size_t j = 0; j < BD_HIST_BINS; j++) {
		acc += hist[j];
		if (2 * acc >= cnt)
			return (j + 0.5) * bin;
	}
	return 0;
}

/* Per-channel median of the samples (the robust start: a flat backdrop). */
static void bd_start(struct imgbackdrop *b, const struct bd_samples *s)
{
	for (int c = 0; c < 3; c++) {
		size_t hist[256] = {0}, acc = 0;
		int m = 0;

		for (size_t i = 0; i < s->n; i++) {
			float z = s->rgb[3 * i + c];

			hist[z <= 0 ? 0 : (z >= 255 ? 255 : (int)z)]++;
		}
		while (m < 255 && 2 * (acc + hist[m]) < s->n)
			acc += hist[m++];
		memset(b->coef[c], 0, sizeof(b->coef[c]));
		b->coef[c][0] = m + 0.5;
	}
}

/* Solve the k x k symmetric positive system a x = r by Cholesky (in place). */
static int bd_solve(double *a, double *r, int k)
{
	for (int i = 0; i < k; i++) {
		for (int j = 0; j <= i; j++) {
			double s = a[i * k + j];

			for (int p = 0; p < j; p++)
				s -= a[i * k + p] * a[j * k + p];
			if (i == j) {
				if (!(s > 1e-12))
					return -1;
				a[i * k + i] = sqrt(s);
			} else {
				a[i * k + j] = s / a[j * k + j];
			}
		}
	}
	for (int c = 0; c < 3; c++) {
		double *x = r + c * IMGBACKDROP_TERMS;

		for (int i = 0; i < k; i++) {
			for (int p = 0; p < i; p++)
				x[i] -= a[i * k + p] * x[p];
			x[i] /= a[i * k + i];
		}
		for (int i = k - 1; i >= 0; i--) {
			for (int p = i + 1; p < k; p++)
				x[i] -= a[p * k + i] * x[p];
			x[i] /= a[i * k + i];
		}
	}
	return 0;
}

/* Least squares on the inlier samples; keeps b unchanged if singular. */
static void bd_least_squares(struct imgbackdrop *b, const struct bd_samples *s, int degree)
{
	int k = bd_terms(degree);
	double a[IMGBACKDROP_TERMS * IMGBACKDROP_TERMS] = {0};
	double r[3 * IMGBACKDROP_TERMS] = {0}, t[IMGBACKDROP_TERMS];

	for (size_t i = 0; i < s->n; i++) {
		if (!s->in[i])
			continue;
		bd_basis(s->uv[2 * i], s->uv[2 * i + 1], t);
		for (int p = 0; p < k; p++) {
			for (int q = 0; q <= p; q++)
				a[p * k + q] += t[p] * t[q];
			for (int c = 0; c < 3; c++)
				r[c * IMGBACKDROP_TERMS + p] += t[p] * s->rgb[3 * i + c];
		}
	}
	for (int p = 0; p < k; p++)
		for (int q = p + 1; q < k; q++)
			a[p * k + q] = a[q * k + p];
	if (bd_solve(a, r, k) != 0)
		return;
	b->degree = degree;
	for (int c = 0; c < 3; c++) {
		memset(b->coef[c], 0, sizeof(b->coef[c]));
		memcpy(b->coef[c], r + c * IMGBACKDROP_TERMS, (size_t)k * sizeof(double));
	}
}

/* Noise from the inliers' residuals, then the inlier set; returns its size. */
static size_t bd_trim(struct imgbackdrop *b, struct bd_samples *s, float *res)
{
	size_t nin = 0;

	for (size_t i = 0; i < s->n; i++) {
		float bd[3];

		imgbackdrop_at(b, s->uv[2 * i], s->uv[2 * i + 1], bd);
		for (int c = 0; c < 3; c++)
			res[3 * i + c] = s->rgb[3 * i + c] - bd[c];
	}
	for (int c = 0; c < 3; c++)
		b->sigma[c] = fmax(1.4826 * bd_median_abs(res + c, s->n, 3, s->in), BD_SIGMA_FLOOR);
	for (size_t i = 0; i < s->n; i++) {
		double d2 = 0;

		for (int c = 0; c < 3; c++) {
			double e = res[3 * i + c] / b->sigma[c];

			d2 += e * e;
		}
		s->in[i] = d2 <= BD_INLIER * BD_INLIER;
		nin += s->in[i];
	}
	return nin;
}

int imgbackdrop_fit(struct imgbackdrop *b, const float *rgb, int w, int h, const uint8_t *use,
		    int band, int degree, size_t max_samples)
{
	struct bd_samples s = {0};
	size_t nin = 0;
	float *res;

	memset(b, 0, sizeof(*b));
	b->sigma[0] = b->sigma[1] = b->sigma[2] = BD_SIGMA_FLOOR;
	degree = degree < 0 ? 0 : (degree > 3 ? 3 : degree);
	bd_collect(&s, rgb, w, h, use, band, max_samples);
	if (s.n == 0) {
		free(s.uv);
		free(s.rgb);
		free(s.in);
		return -1;
	}
	while (degree > 0 && s.n < (size_t)bd_terms(degree) * 20)
		degree--;
	res = xmalloc(s.n * 3 * sizeof(*res));
	bd_start(b, &s);
	nin = bd_trim(b, &s, res);
	for (int round = 0; round < BD_ROUNDS && nin > 0; round++) {
		bd_least_squares(b, &s, round == 0 && degree > 1 ? 1 : degree);
		nin = bd_trim(b, &s, res);
	}
	b->inliers = (double)nin / s.n;
	free(res);
	free(s.uv);
	free(s.rgb);
	free(s.in);
	return 0;
}
