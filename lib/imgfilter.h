/*
 * imgfilter.h - pixel kernels of the image layer on libgd truecolor
 * images: separable Lanczos-3 resampling, unsharp mask and a percentile
 * contrast stretch. Used by lib/imgops.c; gd.h is not included here.
 */
#ifndef IA_IMGFILTER_H
#define IA_IMGFILTER_H

struct gdImageStruct;

/*
 * Resample truecolor src to exactly w x h (both >= 1) with a Lanczos-3
 * kernel (widened when shrinking, so it also antialiases), in
 * premultiplied alpha so transparent pixels do not bleed colour. Memory is
 * the output plus a ring of a few filtered rows. Returns a new truecolor
 * image (caller frees with gdImageDestroy) or NULL when src is not
 * truecolor or allocation is refused by libgd.
 */
struct gdImageStruct *imgfilter_resample(struct gdImageStruct *src, int w, int h);

/*
 * Sharpen truecolor im in place: im + amount * (im - gaussian(im, sigma)),
 * on R, G and B (alpha untouched). sigma in (0, 8].
 */
void imgfilter_unsharp(struct gdImageStruct *im, double sigma, double amount);

/*
 * Stretch contrast of truecolor im in place: the luminance levels below
 * the clip fraction (e.g. 0.005) and above 1 - clip map to 0 and 255, one
 * curve applied to R, G and B alike. Leaves im alone when its range is
 * already full or too narrow (flat images stay flat).
 */
void imgfilter_autocontrast(struct gdImageStruct *im, double clip);

#endif
