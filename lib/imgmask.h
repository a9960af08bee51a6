/*
 * imgmask.h - clean-up of binary masks (w x h bytes, 1 = subject) for the
 * background removal: keep the real parts, fill holes, find what lies near
 * the subject.
 */
#ifndef IA_IMGMASK_H
#define IA_IMGMASK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Keep the 8-connected foreground components of at least min_size pixels
 * and the largest one (min_size SIZE_MAX: only the largest).
 */
void imgmask_keep_parts(uint8_t *fg, int w, int h, size_t min_size);

/* Background regions not 4-connected to the image border become foreground. */
void imgmask_fill_holes(uint8_t *fg, int w, int h);

/* near[i] = 1 where a foreground pixel lies within gap pixels (box distance). */
void imgmask_near(const uint8_t *fg, int w, int h, int gap, uint8_t *near);

/*
 * In place, each value of a w x h float plane becomes the sum over the
 * (2r + 1)^2 box around it, cut at the image edges (running sums,
 * separable, O(pixels)): local means of a soft mask or of a colour.
 */
void imgmask_box_sum(float *plane, int w, int h, int r);

/*
 * inside[i] = 1 on the convex hull of the mask's pixels (pixel centres,
 * hull edges included), 0 elsewhere; all 0 for an empty mask.
 */
void imgmask_hull(const uint8_t *m, int w, int h, uint8_t *inside);

#endif
