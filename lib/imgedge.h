/*
 * imgedge.h - edge detection for the local image engine: a Canny detector
 * streamed over rows (only a byte-per-pixel class map is full size), the
 * separable Gaussian blur it uses, and the "outline" service built on them
 * (black edges on white).
 */
#ifndef IA_IMGEDGE_H
#define IA_IMGEDGE_H

#include <stdint.h>

#include <gd.h>

/*
 * The "outline" service: Canny edges of src drawn black (0,0,0) on white,
 * same size as src.
 *
 * The luminance is Rec.601 (as OpenCV's cvtColor), translucent pixels are
 * composited over white first; it is blurred with a separable Gaussian
 * (sigma 1.4), differentiated with the unnormalised 3x3 Sobel operator and
 * the gradient magnitude is the L1 norm |Gx| + |Gy| - the scale OpenCV's
 * Canny(img, low, high) uses by default (L2gradient = false), so the API's
 * defaults 50 / 150 behave the same. A pixel is a candidate when its
 * magnitude exceeds low_threshold, a seed when it exceeds high_threshold;
 * candidates 8-connected to a seed are kept. If low > high they are swapped.
 *
 * src: any gd image (truecolor or palette), not modified; may be NULL.
 * Returns a new two-entry palette image (index 0 black, 1 white: what
 * imgio_compact makes of a two-level image, written as a 1-bit PNG) the
 * caller frees with gdImageDestroy, or NULL if src is NULL, a threshold is
 * negative, or gd cannot allocate. Read pixels with
 * gdImageGetTrueColorPixel. A 1x1 image gives a valid 1x1 white image.
 * Memory: the result (1 byte per pixel) plus O(width) rows and a bounded
 * hysteresis stack (at most 4 MiB).
 */
gdImagePtr imgedge_outline(gdImagePtr src, int low_threshold, int high_threshold);

/*
 * Canny on a caller-owned luminance plane (w * h floats, row-major, values
 * in 0..255), which is only read. edges (w * h bytes, caller-owned)
 * receives 1 for an edge pixel, 0 else. Thresholds are in the L1 Sobel
 * scale described at imgedge_outline; the result is the same as the
 * outline service's on an image of that luminance.
 * Returns 0, or IA_ERR_INVAL for NULL planes or a non-positive size.
 * Extra memory: O(w) rows, h row pointers and a bounded stack (<= 4 MiB).
 */
int imgedge_canny(const float *lum, int w, int h, double low, double high, uint8_t *edges);

/*
 * Blur a caller-owned float plane (w * h, row-major) in place with a
 * separable Gaussian of the given sigma (pixels; <= 0 does nothing, radius
 * is capped at 64). Borders replicate the edge pixel. Extra memory is
 * O(radius * w), not O(w * h). A NULL plane or empty size does nothing.
 */
void imgedge_blur(float *plane, int w, int h, double sigma);

#endif
