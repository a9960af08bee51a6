/*
 * imgmatte.h - soft alpha for the edge of a cut-out when the backdrop
 * behind every pixel is known (the studio path of imgseg.c): each pixel
 * near the edge of a binary mask is a mix z = a F + (1 - a) B of the
 * subject's colour F, estimated from the nearby certain subject, and the
 * backdrop B, so a = (z - B).(F - B) / |F - B|^2. Gives anti-aliased edges
 * and hair-thin strokes their partial coverage instead of a staircase.
 */
#ifndef IA_IMGMATTE_H
#define IA_IMGMATTE_H

#include <stdint.h>

/* What the matting needs; every plane is w x h (colour planes 3 floats a pixel). */
struct imgmatte_input {
	int w, h;
	const float *rgb;     /* the image, 0..255 */
	const float *bd;      /* the backdrop behind each pixel, without shadows */
	const float *shading; /* per pixel darkening of the backdrop (1 = none), or NULL */
	const uint8_t *mask;  /* the cut: 1 subject, 0 backdrop */
	const double *sigma;  /* the backdrop's noise per channel, levels */
};

/*
 * Write alpha (w x h floats, 0..1): the mask's value away from its edge,
 * the mixing estimate within IMGMATTE_BAND pixels of it where a subject
 * colour clearly different from the backdrop is found within
 * IMGMATTE_RADIUS pixels.
 */
#define IMGMATTE_BAND   2
#define IMGMATTE_RADIUS 6
void imgmatte_known_backdrop(const struct imgmatte_input *in, float *alpha);

#endif
