/*
 * imgpreview.c - previews of results (see imgpreview.h): decode, scale down
 * with the layer's Lanczos resampler, encode as WebP.
 */
#include "config.h"

#include "imgpreview.h"
#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gd.h>

/*
 * Encode im as WebP into path through path.<pid>.tmp (the orphan sweep's
 * pattern for a writer that died) and a rename; *bytes gets the size.
 * libwebp takes truecolor only: a palette image is converted first.
 */
static int imgpreview_write(gdImagePtr im, const char *path, uint64_t *bytes)
{
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	void *data = NULL;
	FILE *fp = NULL;
	int size = 0, rc = IA_ERR_IO;

	if (!gdImageTrueColor(im) && !gdImagePaletteToTrueColor(im))
		goto out;
	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	data = gdImageWebpPtrEx(im, &size, IMG_PREVIEW_QUALITY);
	if (data == NULL || size <= 0)
		goto out;
	fp = fopen(tmp, "wb");
	if (fp == NULL)
		goto out;
	if (fwrite(data, 1, (size_t)size, fp) != (size_t)size) {
		fclose(fp);
		goto out;
	}
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		goto out;
	*bytes = (uint64_t)size;
	rc = 0;
out:
	if (rc != 0)
		(void)unlink(tmp);
	gdFree(data);
	free(tmp);
	return rc;
}

int imgpreview_file(const char *in_path, const char *out_path, uint32_t max_side,
		    struct img_result *out)
{
	struct imgio_decode_opts opts = {0};
	struct img_info info;
	gdImagePtr im = NULL, small = NULL;
	uint32_t w, h;
	uint64_t bytes = 0;
	int rc;

	if (max_side < 1 || max_side > 8192)
		return IA_ERR_INVAL;
	rc = imgio_probe_file(in_path, &info);
	if (rc != 0)
		return rc;
	imgops_thumbnail_size(info.width, info.height, max_side, max_side, &w, &h);
	/* reduced-DCT JPEG decoding never goes below the preview's size */
	opts.min_width = w;
	opts.min_height = h;
	rc = imgio_decode_file(in_path, &opts, &im, NULL);
	if (rc != 0)
		goto out;
	if ((uint32_t)gdImageSX(im) != w || (uint32_t)gdImageSY(im) != h) {
		small = imgops_resize(im, (int)w, (int)h);
		if (small == NULL) {
			rc = IA_ERR_INVAL;
			goto out;
		}
		gdImageDestroy(im);
		im = small;
		small = NULL;
	}
	rc = imgpreview_write(im, out_path, &bytes);
	if (rc != 0)
		goto out;
	out->width = w;
	out->height = h;
	out->bytes = bytes;
	out->format = IMG_FMT_WEBP;
	out->confidence = -1.0;
out:
	if (im != NULL)
		gdImageDestroy(im);
	return rc;
}
