/*
 * imgbackdrop.h - a studio backdrop as a smooth colour surface: a
 * low-order polynomial in x and y per channel plus Gaussian noise, fitted
 * robustly to sample pixels (the image border first, then every pixel the
 * cut called background). Flat, gradient and vignetted backdrops are such
 * surfaces; a busy photograph is not, and the fit says so (inliers, noise).
 * Used by the background removal in imgseg.c.
 *
 * Coordinates are normalised to [-1, 1] across the image, so one fit can be
 * evaluated at any resolution of the same picture.
 */
#ifndef IA_IMGBACKDROP_H
#define IA_IMGBACKDROP_H

#include <stddef.h>
#include <stdint.h>

#define IMGBACKDROP_TERMS 10 /* 1, x, y, x2, xy, y2, x3, x2y, xy2, y3 */

struct imgbackdrop {
	int degree;                        /* 0..3 */
	double coef[3][IMGBACKDROP_TERMS]; /* per channel (R, G, B) */
	double sigma[3];                   /* noise per channel, levels */
	double inliers;                    /* fraction of samples that fit */
};

/*
 * Fit b to the pixels of rgb (w x h, 3 floats a pixel, 0..255) where
 * use[i] is non-zero (use NULL: the border band, `band` pixels wide).
 * Robust: outliers (a subject touching the border, a shadow) are trimmed
 * over a few rounds and the noise is a median absolute deviation. At most
 * `max_samples` pixels are used (evenly strided). degree is clamped to
 * 0..3 and lowered when there are too few samples.
 * Returns 0, or -1 when there are no samples (b then describes nothing:
 * inliers 0).
 */
int imgbackdrop_fit(struct imgbackdrop *b, const float *rgb, int w, int h, const uint8_t *use,
		    int band, int degree, size_t max_samples);

/*
 * How broken-up the image border is under the fit: the number of runs of
 * at least min_run outlier pixels along the outermost ring of pixels. A
 * subject touching the border makes one or two runs; a busy photograph,
 * whose border only partly resembles a smooth surface, makes many.
 */
int imgbackdrop_ring_runs(const struct imgbackdrop *b, const float *rgb, int w, int h, int min_run);

/* The backdrop colour at normalised coordinates (u, v) in [-1, 1]. */
void imgbackdrop_at(const struct imgbackdrop *b, double u, double v, float out[3]);

/*
 * The backdrop of row y of a w x h picture of the same scene, w colours
 * (3 floats each) into out.
 */
void imgbackdrop_row(const struct imgbackdrop *b, int w, int h, int y, float *out);

/*
 * How well a pixel colour z fits the backdrop colour bd: returns the
 * squared noise-normalised distance. When shadow is not NULL it receives
 * the distance of the best shadow explanation (bd darkened by the factor
 * *scale, same chromaticity, not darker than IMGBACKDROP_SHADOW_MIN) plus a
 * penalty that grows with the darkening, or HUGE_VALF when there is none.
 */
#define IMGBACKDROP_SHADOW_MIN 0.35
float imgbackdrop_cost(const struct imgbackdrop *b, const float *z, const float *bd, float *shadow,
		       float *scale);

#endif
