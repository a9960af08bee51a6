/*
 * imgjpeg.h - the JPEG codec of the image layer, straight through
 * libjpeg(-turbo) into and out of libgd pixel rows. Used by lib/imgio.c;
 * gd.h is not included here.
 *
 * libgd's own JPEG code cannot decode at reduced size (scale_denom), cannot
 * decode to 8-bit grey and writes a COM marker; this module does all three
 * right and copies no row on little-endian hosts.
 */
#ifndef IA_IMGJPEG_H
#define IA_IMGJPEG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct gdImageStruct;

/*
 * Decode the JPEG in fp (positioned at its start). Its header must say
 * width x height (as probed) or the decode fails. denom (1, 2, 4 or 8)
 * decodes at 1/denom size with libjpeg's reduced DCT. grey: YCbCr and grey
 * JPEGs come back as an 8-bit palette image whose index i is grey (i,i,i)
 * (see imgjpeg_is_grey); otherwise, and always for CMYK, a truecolor image.
 * EXIF orientation is NOT applied here.
 * Returns 0 and a new image in *out (caller frees with gdImageDestroy), or
 * IA_ERR_INVAL for corrupt or truncated data.
 */
int imgjpeg_decode(FILE *fp, uint32_t width, uint32_t height, unsigned denom, bool grey,
		   struct gdImageStruct **out);

/*
 * Encode im into fp as a baseline JFIF JPEG (optimised Huffman tables, no
 * other marker) at quality 1..100. Truecolor alpha is ignored (flatten
 * first); a grey palette image (imgjpeg_is_grey) is written as one-channel
 * grey; other palette images must be converted to truecolor first
 * (IA_ERR_INVAL). Returns 0 or IA_ERR_IO when libjpeg fails.
 */
int imgjpeg_encode(struct gdImageStruct *im, FILE *fp, int quality);

/* Whether im is the grey palette image imgjpeg_decode makes. */
bool imgjpeg_is_grey(struct gdImageStruct *im);

#endif
