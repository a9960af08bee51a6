/*
 * imgseg.h - foreground / background segmentation for the local image
 * engine: the "remove-background" service (a fitted studio backdrop, or
 * GrabCut when the backdrop is no smooth surface) and the colour k-means,
 * which the avatar stylisation reuses.
 */
#ifndef IA_IMGSEG_H
#define IA_IMGSEG_H

#include <stddef.h>

#include <gd.h>

/*
 * Below this confidence a remove-background result is doubtful: with the
 * service's engine "auto" it goes to Stability AI when a key is configured
 * (the setting BG_MIN_CONFIDENCE overrides it).
 */
#define IMGSEG_MIN_CONFIDENCE 0.5

/*
 * The "remove-background" service. A backdrop that fits a smooth colour
 * surface (flat, gradient, vignette; imgstudio.h) is cut against that
 * surface: soft shadows transparent, holes the backdrop shows through
 * transparent, thin parts and subjects running off the border kept, the
 * edge matted. Any other picture goes through GrabCut, and its confidence
 * is at most half its backdrop fit.
 *
 * src: any gd image, not modified; may be NULL.
 * confidence: may be NULL; else receives how sure the engine is of the cut,
 * 0 (a guess) .. 1 (a clean backdrop that fits its model everywhere).
 * Returns a new truecolor image (saveAlpha on, alphaBlending off) with src's
 * colours and gd alpha 127 (transparent) on the background, 0 (opaque) on
 * the foreground, a soft band on its edges (src's own translucency is
 * kept), or NULL if src is NULL or gd cannot allocate. Images narrower or
 * shorter than 3 pixels have no interior and come back fully transparent.
 * The caller frees the result with gdImageDestroy.
 */
gdImagePtr imgseg_remove_background(gdImagePtr src, double *confidence);

/*
 * k-means on m points of 3 floats (pts, row-major). Writes k centres
 * (k * 3 floats) into centres. Deterministic: k-means++ seeding from a fixed
 * seed, then `iters` Lloyd rounds. Returns the number of centres seeded,
 * at most k and fewer when the points have fewer distinct values (the
 * remaining centres then repeat the last one), or 0 when m == 0, k < 1 or
 * a pointer is NULL (centres untouched).
 */
int imgseg_kmeans(const float *pts, size_t m, int k, int iters, float *centres);

#endif
