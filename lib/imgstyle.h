/*
 * imgstyle.h - stylised renderings for the local image engine: the
 * "avatar" service (square portrait crop with a flat, inked cartoon look).
 */
#ifndef IA_IMGSTYLE_H
#define IA_IMGSTYLE_H

#include <gd.h>

/*
 * The "avatar" service. Crops the largest square (side min(w, h)), centred
 * horizontally and biased upwards (a quarter of the spare height above it)
 * where faces sit in portraits; scales it to at most 512 x 512 with area
 * averaging; then stylises: two passes of a bilateral filter (edge-
 * preserving smoothing), k-means colour quantisation to 10 colours in CIE
 * Lab, and dark ink lines where Canny (imgedge_canny) finds edges in the
 * smoothed image. Translucent source pixels are composited over white.
 *
 * src: any gd image, not modified; may be NULL.
 * Returns a new opaque truecolor image the caller frees with
 * gdImageDestroy, or NULL if src is NULL or gd cannot allocate. A 1x1
 * input gives a valid 1x1 image.
 */
gdImagePtr imgstyle_avatar(gdImagePtr src);

#endif
