/*
 * imgmatte.c - known-backdrop matting of a cut's edge band (imgmatte.h).
 * Box sums (imgmask_box_sum) give the local mean colour
 * of the certain subject and the local shading of the backdrop; the band
 * is the mask dilated less the mask eroded (imgmask_near).
 */
#include "config.h"

#include "imgmatte.h"
#include "imgmask.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/*
 * Certain subject (no backdrop within IMGMATTE_BAND pixels, box distance)
 * and the band around the cut's edge (anything within IMGMATTE_BAND of the
 * subject that is not certain subject).
 */
static void matte_core(const struct imgmatte_input *in, uint8_t *core, uint8_t *band)
{
	size_t n = (size_t)in->w * in->h;

	for (size_t i = 0; i < n; i++)
		band[i] = !in->mask[i];
	imgmask_near(band, in->w, in->h, IMGMATTE_BAND, core); /* near backdrop */
	for (size_t i = 0; i < n; i++)
		core[i] = in->mask[i] && !core[i];
	imgmask_near(in->mask, in->w, in->h, IMGMATTE_BAND, band);
	for (size_t i = 0; i < n; i++)
		band[i] = band[i] && !core[i];
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

	matte_core(in, core, band);
	for (int c = 0; c < 3; c++) {
		for (size_t i = 0; i < n; i++)
			plane[i] = core[i] ? in->rgb[3 * i + c] : 0;
		imgmask_box_sum(plane, in->w, in->h, IMGMATTE_RADIUS);
		for (size_t i = 0; i < n; i++)
			fsum[3 * i + c] = plane[i];
	}
	for (size_t i = 0; i < n; i++)
		count[i] = core[i];
	imgmask_box_sum(count, in->w, in->h, IMGMATTE_RADIUS);
	if (in->shading) {
		shade = xmalloc(n * sizeof(*shade));
		bgn = xmalloc(n * sizeof(*bgn));
		for (size_t i = 0; i < n; i++) {
			shade[i] = in->mask[i] ? 0 : in->shading[i];
			bgn[i] = in->mask[i] ? 0 : 1;
		}
		imgmask_box_sum(shade, in->w, in->h, IMGMATTE_RADIUS);
		imgmask_box_sum(bgn, in->w, in->h, IMGMATTE_RADIUS);
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
