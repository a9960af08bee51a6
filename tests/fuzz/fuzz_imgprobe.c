/*
 * fuzz_imgprobe.c - libFuzzer target for the header probes of lib/imgio.c
 * (PNG, JPEG, WebP, GIF: magic bytes, dimensions, EXIF orientation), the
 * only image code a request worker runs on an upload. The input is the
 * file, handed over as an in-memory file. A successful probe must name a
 * known format, give non-zero dimensions within IMG_MAX_PIXELS and an
 * orientation in 1..8; a failed one must use the documented errors.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "imgio.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_info info = {0};
	int rc;

	if (size > 256 * 1024)
		return 0;
	rc = imgio_probe_file(fuzz_memfile(data, size), &info);
	if (rc == 0) {
		if (info.format == IMG_FMT_UNKNOWN || info.width == 0 || info.height == 0 ||
		    (uint64_t)info.width * info.height > IMG_MAX_PIXELS || info.orientation < 1 ||
		    info.orientation > 8)
			abort();
	} else if (rc != IA_ERR_INVAL && rc != IA_ERR_UNSUPPORTED && rc != IA_ERR_TOOBIG) {
		abort();
	}
	return 0;
}
