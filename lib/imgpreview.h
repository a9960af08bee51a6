/*
 * imgpreview.h - the preview of a result: a small WebP that galleries and
 * result views load instead of the full-size file (API.md "Images",
 * `thumbnail`; issue 13, point 2: a gallery page of ten results in at most
 * 2 MB of images, where full-size files weighed 86 MB).
 *
 * ia-batch writes one with every successful result (lib/jobrun.c); this
 * module only turns one image file into another.
 */
#ifndef IA_IMGPREVIEW_H
#define IA_IMGPREVIEW_H

#include <stdint.h>

#include "imgops.h"

/* The longer side of a preview, in pixels (API.md). */
#define IMG_PREVIEW_MAX_SIDE 512
/* libwebp quality of previews: a 512 px photo in about 20-60 KB. */
#define IMG_PREVIEW_QUALITY 80

/*
 * Read the image file at in_path (any format imgio_probe_file knows) and
 * write its preview to out_path: WebP, fitted inside max_side x max_side
 * with the aspect ratio kept and never enlarged, alpha kept. The file is
 * written under a temp name beside out_path and renamed, so out_path is
 * all there or absent. A JPEG is decoded at reduced size when that still
 * covers the preview. Fills *out (width, height, bytes, IMG_FMT_WEBP,
 * confidence -1) on success only. Returns 0; IA_ERR_INVAL for max_side
 * outside 1..8192 or data that does not decode; the probe's errors
 * (IA_ERR_UNSUPPORTED, IA_ERR_TOOBIG, IA_ERR_IO); IA_ERR_IO when the
 * preview cannot be encoded or written. No other side effects.
 */
int imgpreview_file(const char *in_path, const char *out_path, uint32_t max_side,
		    struct img_result *out);

#endif
