/*
 * imgstudio.h - background removal for studio shots: a subject on a
 * backdrop that is a smooth colour surface (flat, gradient, vignetted),
 * with soft shadows, holes the backdrop shows through, thin parts and
 * subjects that run off the image border. The path imgseg.c takes when
 * the backdrop fits; see imgstudio.c for the method.
 */
#ifndef IA_IMGSTUDIO_H
#define IA_IMGSTUDIO_H

#include "imgbackdrop.h"

/*
 * Fit the backdrop to the border of rgb (w x h, 3 floats a pixel, 0..255)
 * into bd and rate the fit, 0..1: the share of the border that fits, how
 * calm its noise is, and how few stretches of the border do not fit (a
 * subject crosses the border in one or two; a busy photograph in many).
 */
double imgstudio_fit(const float *rgb, int w, int h, struct imgbackdrop *bd);

/*
 * Cut the subject out of rgb against the backdrop bd (from imgstudio_fit;
 * refitted in place) and write its alpha, w x h floats 0..1, soft at the
 * edge.
 */
void imgstudio_cut(const float *rgb, int w, int h, struct imgbackdrop *bd, float *alpha);

#endif
