/*
 * fuzz_imgdecode.c - libFuzzer target for the decode paths of lib/imgio.c:
 * JPEG through lib/imgjpeg.c (libjpeg, reduced DCT, grey decode) and PNG,
 * WebP and GIF through libgd, then the EXIF orientation and the grey
 * compaction. Byte 0 picks the options (bit 0: grey allowed; bits 1-2: a
 * minimum size that lets JPEGs decode at 1/2..1/8); the rest is the file.
 * Only images whose probed size is at most 256x256 pixels are decoded,
 * so each run stays fast; the decoded size must be what the probe said
 * (scaled down by at most 8 for a reduced JPEG decode).
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "imgio.h"

#include <stdlib.h>

#include <gd.h>

#define FUZZ_MAX_PIXELS (256 * 256)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t mins[] = {0, 1, 8, 32};
	struct imgio_decode_opts opts = {false, 0, 0};
	struct img_info info = {0};
	gdImagePtr im = NULL;
	const char *path;
	uint32_t w, h;
	int rc;

	if (size < 2 || size > 256 * 1024)
		return 0;
	path = fuzz_memfile(data + 1, size - 1);
	if (imgio_probe_file(path, &info) != 0 ||
	    (uint64_t)info.width * info.height > FUZZ_MAX_PIXELS)
		return 0;
	opts.grey = (data[0] & 1) != 0;
	opts.min_width = opts.min_height = mins[(data[0] >> 1) & 3];
	rc = imgio_decode_file(path, &opts, &im, &info);
	if (rc != 0) {
		if (rc != IA_ERR_INVAL)
			abort();
		return 0;
	}
	w = (uint32_t)gdImageSX(im);
	h = (uint32_t)gdImageSY(im);
	if (w == 0 || h == 0 || w > info.width || h > info.height || w * 8 < info.width ||
	    h * 8 < info.height)
		abort();
	if (opts.min_width == 0 && (w != info.width || h != info.height))
		abort();
	imgio_compact(&im);
	gdImageDestroy(im);
	return 0;
}
