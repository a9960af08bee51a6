/*
 * imgseg.h - foreground / background segmentation for the local image
 * engine: the "remove-background" service (GrabCut-style graph cut) and the
 * colour k-means it is seeded with, which the avatar stylisation reuses.
 */
#ifndef IA_IMGSEG_H
#define IA_IMGSEG_H

#include <stddef.h>

#include <gd.h>

/*
 * The "remove-background" service. Segments src GrabCut-style: a 5% border
 * band seeds the background colour model, the interior starts as "probably
 * foreground"; 5-component Gaussian mixtures (k-means initialised) model
 * both sides and a min-cut (Boykov-Kolmogorov max-flow, 8-neighbour
 * contrast-sensitive smoothness) relabels the interior, three rounds. It
 * runs on an area-averaged copy of at most ~400k pixels; the largest
 * foreground component is kept, its holes filled, and the mask is
 * upsampled and feathered (~2 px) into the alpha channel.
 *
 * src: any gd image, not modified; may be NULL.
 * Returns a new truecolor image (saveAlpha on, alphaBlending off) with src's
 * colours and gd alpha 127 (transparent) on the background, 0 (opaque) on
 * the foreground (src's own translucency is kept), or NULL if src is NULL
 * or gd cannot allocate. Images narrower or shorter than 3 pixels have no
 * interior and come back fully transparent. The caller frees the result
 * with gdImageDestroy.
 */
gdImagePtr imgseg_remove_background(gdImagePtr src);

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
