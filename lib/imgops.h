/*
 * imgops.h - the public API of the image layer: upload checks, parameter
 * validation with DRF-style messages, the local image services and the
 * dispatcher that runs one service from file to file.
 *
 * Includes imgio.h (formats, probing). gd.h is never included: in-memory
 * images are the opaque struct gdImageStruct, freed by the caller with
 * gdImageDestroy (only modules of the image layer touch them).
 */
#ifndef IA_IMGOPS_H
#define IA_IMGOPS_H

#include <stddef.h>
#include <stdint.h>

#include "imgio.h"

struct gdImageStruct;

/* One multipart text field, borrowed strings. */
struct img_param {
	const char *key;
	const char *value;
};

/* What a run produced. */
struct img_result {
	uint32_t width, height;
	uint64_t bytes;
	enum img_format format;
	/* How sure the engine is of its result, 0..1 (remove-background's
	 * backdrop fit, imgseg.h); negative when the engine reports none. */
	double confidence;
};

/*
 * Validate a service's params (unknown keys are ignored, as DRF does) for
 * the source described by src (may be NULL: checks that need the source
 * size, the crop box and the enhancement output bound, are then skipped).
 * Meant to run before charging. On a bad value writes the field name
 * (e.g. "width", "format" or "non_field_errors") into field and a DRF
 * message (e.g. "Ensure this value is less than or equal to 8192.") into
 * msg, both NUL-terminated and truncated to their lengths, and returns
 * IA_ERR_INVAL. Returns IA_ERR_NOTFOUND for a slug that is not an upload
 * service (field and msg untouched), 0 when valid.
 */
int imgops_validate_params(const char *slug, const struct img_param *p, size_t n,
			   const struct img_info *src, char *field, size_t fieldlen, char *msg,
			   size_t msglen);

/*
 * The parameters of a valid request as the job will run them (API.md
 * <image> "params"): into *out the text of a JSON object (heap, caller
 * frees) with every field of the service's table (lib/svcparams.c) in
 * its order, integers (and enhancement's scale) as numbers, defaults
 * filled in, "format" by name, free text (enhancement's "prompt") only when
 * given; unknown fields are left out, e.g. {"width":400,"height":300,
 * "format":"png"}. Returns IA_ERR_NOTFOUND for a slug that is not an
 * upload service, IA_ERR_INVAL when p does not validate (checks that need
 * the source are not made: validate with imgops_validate_params first).
 * *out is written on success only.
 */
int imgops_params_json(const char *slug, const struct img_param *p, size_t n, char **out);

/*
 * The output format a service will write for params p: the "format" field
 * when present and valid, else PNG. Returns 0 and writes *out, or
 * IA_ERR_INVAL for a bad value.
 */
int imgops_params_format(const struct img_param *p, size_t n, enum img_format *out);

/*
 * Check an upload: decode in_path fully (proves it decodes: corrupt or
 * truncated data is IA_ERR_INVAL; probe errors as imgio_probe_file), apply
 * its EXIF orientation and re-encode it in its own format without metadata
 * (GIF becomes PNG) into out_path, written as a temp file in the same
 * directory then renamed. Fills *out with the final size, bytes and
 * format. in_path and out_path may be the same file.
 */
int imgops_normalize_upload(const char *in_path, const char *out_path, struct img_result *out);

/*
 * Run one service: decode in_path (probing first; a JPEG that will shrink
 * a lot is decoded at reduced size), transform, and encode as fmt into
 * out_path via a temp file and rename. Params are validated as
 * imgops_validate_params does. On failure writes a readable reason into
 * errbuf (may be NULL) and returns: IA_ERR_NOTFOUND unknown slug,
 * IA_ERR_INVAL bad params or undecodable input, IA_ERR_TOOBIG source over
 * the pixel bound, IA_ERR_UNSUPPORTED unknown input type, IA_ERR_IO,
 * IA_ERR_UNAVAILABLE when a service's engine is not built in.
 * out->confidence is the engine's (remove-background), else -1.
 */
int imgops_run_service(const char *slug, const char *in_path, const char *out_path,
		       enum img_format fmt, const struct img_param *p, size_t n,
		       struct img_result *out, char *errbuf, size_t errlen);

/*
 * The services on in-memory images. Each leaves src untouched and returns
 * a new truecolor image (caller frees with gdImageDestroy), or NULL on bad
 * arguments (sizes < 1 or > 8192, a crop box outside src, scale not 2 or
 * 4, an output over IMG_MAX_PIXELS).
 */
/* Rec.601 luminance in R=G=B, alpha kept. */
struct gdImageStruct *imgops_greyscale(struct gdImageStruct *src);
/* Exactly w x h, Lanczos-3 resampling with premultiplied alpha. */
struct gdImageStruct *imgops_resize(struct gdImageStruct *src, int w, int h);
/* Fit inside max_w x max_h keeping the aspect ratio; never enlarges. */
struct gdImageStruct *imgops_thumbnail(struct gdImageStruct *src, int max_w, int max_h);
/* The w x h box at (x, y), which must lie inside src. */
struct gdImageStruct *imgops_crop(struct gdImageStruct *src, int x, int y, int w, int h);
/* scale x upscale, unsharp mask, then a 0.5%..99.5% contrast stretch. */
struct gdImageStruct *imgops_enhance(struct gdImageStruct *src, int scale);

/* The size imgops_thumbnail gives a w x h image for a max_w x max_h box. */
void imgops_thumbnail_size(uint32_t w, uint32_t h, uint32_t max_w, uint32_t max_h, uint32_t *out_w,
			   uint32_t *out_h);

#endif
