/*
 * imgmatte.c - known-backdrop matting of a cut's edge band (imgmatte.h).
 * Box sums (running sums, separable, O(pixels)) give the local mean colour
 * of the certain subject and the local shading of the backdrop; the band
 * is found by eroding and dilating the mask with the same box sums.
 */
#include "config.h"

#include "imgmatte.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* In-place box sum of radius r over a w x h plane (edges: the window is cut). */
static void box_sum(float *plane, int w, int h, int r)
{
	size_t longest = (size_t)(w > h ? w : h);
	double *line = xmalloc((longest + 1) * sizeof(*line));

	for (int y = 0; y < h; y++) {
		float *row = plane + (size_t)y * w;

		line[0] = 0;
		for (int x = 0; x < w; x++)
			line[x + 1] = line[x] + row[x];
		for (int x = 0; x < w; x++) {
			int a = x - r < 0 ? 0 : x - r, b = x + r + 1 > w ? w : x + r + 1;

			row[x] = (float)(line[b] - line[a]);
		}
	}
	for (int x = 0; x < w; x++) {
		line[0] = 0;
		for (int y = 0; y < h; y++)
			line[y + 1] = line[y] + plane[(size_t)y * w + x];
		for (int y = 0; y < h; y++) {
			int a = y - r < 0 ? 0 : y - r, b = y + r + 1 > h ? h : y + r + 1;

			plane[(size_t)y * w + x] = (float)(line[b] - line[a]);
		}
	}
	free(line);
}

/* Subject pixels whose whole (2 band + 1)^2 box is subject: certain subject. */
static void matte_core(const struct imgmatte_input *in, float *count, uint8_t *core, uint8_t *band)
{
	size_t n = (size_t)in->w * in->h;

	for (size_t i = 0; i < n; i++)
		count[i] = in->mask[i] ? 1.0f : 0.0f;
	box_sum(count, in->w, in->h, IMGMATTE_BAND);
	for (int y = 0; y < in->h; y++)
		for (int x = 0; x < in->w; x++) {
			size_t i = (size_t)y * in->w + x;
			int wx = (x + IMGMATTE_BAND < in->w ? x + IMGMATTE_BAND : in->w - 1) -
				 (x - IMGMATTE_BAND > 0 ? x - IMGMATTE_BAND : 0) + 1;
			int wy = (y + IMGMATTE_BAND < in->h ? y + IMGMATTE_BAND : in->h - 1) -
				 (y - IMGMATTE_BAND > 0 ? y - IMGMATTE_BAND : 0) + 1;
			float all = (float)(wx * wy);

			core[i] = count[i] > all - 0.5f;
			band[i] = count[i] > 0.5f && !core[i];
		}
}

/* One pixel's mixing estimate, or -1 when the subject colour is unknown. */
static float matte_pixel(const struct imgmatte_input *in, size_t i, const float *f, float k,
			 float shade)
{
	double d[3], num = 0, den = 0, noise = 0;

	if (k < 0.5f)
		return -1;
	for (int c = 0; c < 3; c++) {
		double b = in->bd[3 * i + c] * shade;

		d[c] = f[c] / k - b;
		num += (in->rgb[3 * i + c] - b) * d[c];
		den += d[c] * d[c];
		noise += in->sigma[c] * in->sigma[c];
	}
	if (den < 16 * noise)
		return -1; /* subject and backdrop too alike to mix reliably */
	num /= den;
	return (float)(num < 0 ? 0 : (num > 1 ? 1 : num));
}

void imgmatte_known_backdrop(const struct imgmatte_input *in, float *alpha)
{
	size_t n = (size_t)in->w * in->h;
	float *count = xmalloc(n * sizeof(*count)), *fsum = xmalloc(n * 3 * sizeof(*fsum));
	float *plane = xmalloc(n * sizeof(*plane)), *shade = NULL, *bgn = NULL;
	uint8_t *core = xmalloc(n), *band = xmalloc(n);

	matte_core(in, count, core, band);
	for (int c = 0; c < 3; c++) {
		for (size_t i = 0; i < n; i++)
			plane[i] = core[i] ? in->rgb[3 * i + c] : 0;
		box_sum(plane, in->w, in->h, IMGMATTE_RADIUS);
		for (size_t i = 0; i < n; i++)
			fsum[3 * i + c] = plane[i];
	}
	for (size_t i = 0; i < n; i++)
		count[i] = core[i];
	box_sum(count, in->w, in->h, IMGMATTE_RADIUS);
	if (in->shading) {
		shade = xmalloc(n * sizeof(*shade));
		bgn = xmalloc(n * sizeof(*bgn));
		for (size_t i = 0; i < n; i++) {
			shade[i] = in->mask[i] ? 0 : in->shading[i];
			bgn[i] = in->mask[i] ? 0 : 1;
		}
		box_sum(shade, in->w, in->h, IMGMATTE_RADIUS);
		box_sum(bgn, in->w, in->h, IMGMATTE_RADIUS);
	}
	for (size_t i = 0; i < n; i++) {
		float s = shade && bgn[i] > 0.5f ? shade[i] / bgn[i] : 1.0f, a;

		alpha[i] = in->mask[i] ? 1.0f : 0.0f;
		if (!band[i])
			continue;
		a = matte_pixel(in, i, fsum + 3 * i, count[i], s);
		if (a >= 0)
			alpha[i] = a;
	}
	free(count);
	free(fsum);
	free(plane);
	free(shade);
	free(bgn);
	free(core);
	free(band);
}
