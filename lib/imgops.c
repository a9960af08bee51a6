/*
 * imgops.c - the image layer's public face: parameter validation with
 * Django REST Framework wording, the simple local services (greyscale,
 * resize, thumbnail, crop, enhancement) and the dispatcher that runs any
 * upload service from an input file to an output file, calling the
 * outline, background-removal and avatar engines of lib/imgedge.c,
 * lib/imgseg.c and lib/imgstyle.c.
 *
 * Every service's parameters are described once, in the table of
 * lib/svcparams.c that GET /api/v1/services/ publishes: validation before
 * charging, the run itself and the published forms agree.
 */
#include "config.h"

#include "imgops.h"
#include "imgedge.h"
#include "imgfilter.h"
#include "imgseg.h"
#include "imgstyle.h"
#include "svcparams.h"
#include "err.h"
#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gd.h>

#define IMGOPS_MAX_SIDE 8192

enum imgops_svc {
	SVC_GREYSCALE,
	SVC_RESIZE,
	SVC_THUMBNAIL,
	SVC_CROP,
	SVC_ENHANCE,
	SVC_OUTLINE,
	SVC_REMOVE_BG,
	SVC_AVATAR,
};

/* Parsed parameters of any service (unused members keep their defaults). */
struct imgops_args {
	enum img_format format;
	int width, height, x, y, max_width, max_height, scale, low, high;
};

/* Where the integer parameters of the table (lib/svcparams.c) land. */
struct imgops_slot {
	const char *name;
	size_t off; /* of the int member in struct imgops_args */
};

static const struct imgops_slot imgops_slots[] = {
    {"width", offsetof(struct imgops_args, width)},
    {"height", offsetof(struct imgops_args, height)},
    {"x", offsetof(struct imgops_args, x)},
    {"y", offsetof(struct imgops_args, y)},
    {"max_width", offsetof(struct imgops_args, max_width)},
    {"max_height", offsetof(struct imgops_args, max_height)},
    {"scale", offsetof(struct imgops_args, scale)},
    {"low_threshold", offsetof(struct imgops_args, low)},
    {"high_threshold", offsetof(struct imgops_args, high)},
};

struct imgops_service {
	const char *slug;
	enum imgops_svc id;
};

static const struct imgops_service imgops_services[] = {
    {"greyscale", SVC_GREYSCALE},         {"resize", SVC_RESIZE},
    {"thumbnail", SVC_THUMBNAIL},         {"cropping", SVC_CROP},
    {"enhancement", SVC_ENHANCE},         {"outline", SVC_OUTLINE},
    {"remove-background", SVC_REMOVE_BG}, {"avatar", SVC_AVATAR},
};

static const struct imgops_service *imgops_lookup(const char *slug)
{
	size_t i;

	for (i = 0; slug != NULL && i < sizeof(imgops_services) / sizeof(imgops_services[0]); i++) {
		if (strcmp(imgops_services[i].slug, slug) == 0)
			return &imgops_services[i];
	}
	return NULL;
}

/* True when the table lists fmt among the output formats of s. */
static bool imgops_offers(const struct imgops_service *s, enum img_format fmt)
{
	const struct svcparams *t = svcparams_find(s->slug);
	const char *const *f;

	for (f = t != NULL ? t->formats : NULL; f != NULL && *f != NULL; f++) {
		if (strcmp(*f, imgio_format_name(fmt)) == 0)
			return true;
	}
	return false;
}

/* The int member of a for parameter name, or NULL (format, prompt). */
static int *imgops_slot(struct imgops_args *a, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(imgops_slots) / sizeof(imgops_slots[0]); i++) {
		if (strcmp(imgops_slots[i].name, name) == 0)
			return (int *)(void *)((char *)a + imgops_slots[i].off);
	}
	return NULL;
}

/* ---- parameter parsing ------------------------------------------------ */

/* The last value sent for key (as Django's QueryDict.get), or NULL. */
static const char *imgops_get(const struct img_param *p, size_t n, const char *key)
{
	const char *v = NULL;
	size_t i;

	for (i = 0; p != NULL && i < n; i++) {
		if (p[i].key != NULL && strcmp(p[i].key, key) == 0)
			v = p[i].value != NULL ? p[i].value : "";
	}
	return v;
}

struct imgops_errs {
	char *field;
	size_t fieldlen;
	char *msg;
	size_t msglen;
};

/* Report one field error; always returns IA_ERR_INVAL. */
static int imgops_fail(const struct imgops_errs *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int imgops_fail(const struct imgops_errs *e, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (e->field != NULL && e->fieldlen > 0)
		snprintf(e->field, e->fieldlen, "%s", name);
	if (e->msg != NULL && e->msglen > 0) {
		va_start(ap, fmt);
		vsnprintf(e->msg, e->msglen, fmt, ap);
		va_end(ap);
	}
	return IA_ERR_INVAL;
}

/*
 * Check one parameter of the table against the value sent (v, NULL when
 * absent) and store it in a. A format the service does not offer but that
 * exists (JPEG for remove-background) gets a message saying why.
 */
static int imgops_field_parse(const struct imgops_service *s, const struct svcparam *f,
			      const char *v, struct imgops_args *a, const struct imgops_errs *e)
{
	const char *rv = svcparams_resolve(f, v);
	enum img_format fmt;
	long long iv = 0;
	char msg[160];
	int *slot;

	if (svcparams_check(f, rv, &iv, msg, sizeof(msg)) != 0) {
		if (strcmp(f->name, "format") == 0 && imgio_format_parse(rv, &fmt) == 0 &&
		    fmt == IMG_FMT_JPEG)
			return imgops_fail(e, f->name,
					   "JPEG has no transparency: choose png or webp for %s.",
					   s->slug);
		return imgops_fail(e, f->name, "%s", msg);
	}
	if (rv == NULL)
		return 0;
	if (strcmp(f->name, "format") == 0)
		return imgio_format_parse(rv, &a->format) == 0
			   ? 0
			   : imgops_fail(e, f->name, "\"%s\" is not a valid choice.", rv);
	slot = imgops_slot(a, f->name);
	if (slot != NULL)
		*slot = (int)iv;
	else if (f->type == SVCPARAM_INTEGER) /* a table entry imgops cannot run */
		return imgops_fail(e, f->name, "This parameter is not supported.");
	return 0;
}

/* Checks across fields and against the source size (src may be NULL). */
static int imgops_cross_check(const struct imgops_service *s, const struct imgops_args *a,
			      const struct img_info *src, const struct imgops_errs *e)
{
	switch (s->id) {
	case SVC_RESIZE:
		if ((uint64_t)a->width * (uint64_t)a->height > IMG_MAX_PIXELS)
			return imgops_fail(e, "non_field_errors",
					   "The output would exceed %llu pixels.", IMG_MAX_PIXELS);
		return 0;
	case SVC_OUTLINE:
		if (a->low > a->high)
			return imgops_fail(
			    e, "non_field_errors",
			    "low_threshold must be less than or equal to high_threshold.");
		return 0;
	case SVC_CROP:
		if (src != NULL && ((uint64_t)a->x + (uint64_t)a->width > src->width ||
				    (uint64_t)a->y + (uint64_t)a->height > src->height))
			return imgops_fail(e, "non_field_errors",
					   "Crop box must lie inside the image.");
		return 0;
	case SVC_ENHANCE:
		if (src != NULL &&
		    (uint64_t)src->width * src->height * (uint64_t)a->scale * (uint64_t)a->scale >
			IMG_MAX_PIXELS)
			return imgops_fail(e, "scale", "The output would exceed %llu pixels.",
					   IMG_MAX_PIXELS);
		return 0;
	default: return 0;
	}
}

static int imgops_parse(const struct imgops_service *s, const struct img_param *p, size_t n,
			const struct img_info *src, struct imgops_args *out,
			const struct imgops_errs *e)
{
	const struct svcparams *t = svcparams_find(s->slug);
	struct imgops_args a;
	size_t i;
	int rc;

	if (t == NULL)
		return IA_ERR_NOTFOUND;
	memset(&a, 0, sizeof(a));
	a.format = IMG_FMT_PNG;
	for (i = 0; i < t->nparams; i++) {
		rc = imgops_field_parse(s, &t->params[i], imgops_get(p, n, t->params[i].name), &a,
					e);
		if (rc != 0)
			return rc;
	}
	rc = imgops_cross_check(s, &a, src, e);
	if (rc != 0)
		return rc;
	*out = a;
	return 0;
}

int imgops_validate_params(const char *slug, const struct img_param *p, size_t n,
			   const struct img_info *src, char *field, size_t fieldlen, char *msg,
			   size_t msglen)
{
	const struct imgops_service *s = imgops_lookup(slug);
	struct imgops_errs e = {field, fieldlen, msg, msglen};
	struct imgops_args a;

	if (s == NULL)
		return IA_ERR_NOTFOUND;
	return imgops_parse(s, p, n, src, &a, &e);
}

int imgops_params_json(const char *slug, const struct img_param *p, size_t n, char **out)
{
	const struct imgops_service *s = imgops_lookup(slug);
	const struct svcparams *t = s != NULL ? svcparams_find(s->slug) : NULL;
	struct imgops_errs e = {NULL, 0, NULL, 0};
	struct imgops_args a;
	char *text;
	cJSON *o;
	size_t i;
	int rc;

	if (t == NULL)
		return IA_ERR_NOTFOUND;
	rc = imgops_parse(s, p, n, NULL, &a, &e);
	if (rc != 0)
		return rc;
	o = cJSON_CreateObject();
	for (i = 0; i < t->nparams; i++) {
		const struct svcparam *f = &t->params[i];
		const char *v = svcparams_resolve(f, imgops_get(p, n, f->name));
		const int *slot = imgops_slot(&a, f->name);

		if (strcmp(f->name, "format") == 0)
			cJSON_AddStringToObject(o, f->name, imgio_format_name(a.format));
		else if (v == NULL || *v == '\0')
			continue; /* optional, not sent, no default (enhancement's prompt) */
		else if (slot != NULL)
			cJSON_AddNumberToObject(o, f->name, *slot);
		else
			cJSON_AddStringToObject(o, f->name, v);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		abort();
	*out = text;
	return 0;
}

int imgops_params_format(const struct img_param *p, size_t n, enum img_format *out)
{
	const char *v = imgops_get(p, n, "format");
	enum img_format f = IMG_FMT_PNG;

	if (v != NULL && *v != '\0' && imgio_format_parse(v, &f) != 0)
		return IA_ERR_INVAL;
	*out = f;
	return 0;
}

/* ---- the services on images ------------------------------------------- */

static gdImagePtr imgops_new(int w, int h)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);

	if (im != NULL) {
		gdImageAlphaBlending(im, 0);
		gdImageSaveAlpha(im, 1);
	}
	return im;
}

gdImagePtr imgops_greyscale(gdImagePtr src)
{
	gdImagePtr dst;
	int x, y;

	if (src == NULL || !gdImageTrueColor(src))
		return NULL;
	dst = imgops_new(src->sx, src->sy);
	if (dst == NULL)
		return NULL;
	for (y = 0; y < src->sy; y++) {
		const int *s = src->tpixels[y];
		int *d = dst->tpixels[y];

		for (x = 0; x < src->sx; x++) {
			int p = s[x];
			int l = (19595 * ((p >> 16) & 0xFF) + 38470 * ((p >> 8) & 0xFF) +
				 7471 * (p & 0xFF) + 32768) >>
				16;

			d[x] = (p & 0x7F000000) | (l << 16) | (l << 8) | l;
		}
	}
	return dst;
}

gdImagePtr imgops_resize(gdImagePtr src, int w, int h)
{
	if (w < 1 || h < 1 || w > IMGOPS_MAX_SIDE || h > IMGOPS_MAX_SIDE ||
	    (uint64_t)w * (uint64_t)h > IMG_MAX_PIXELS)
		return NULL;
	return imgfilter_resample(src, w, h);
}

void imgops_thumbnail_size(uint32_t w, uint32_t h, uint32_t max_w, uint32_t max_h, uint32_t *out_w,
			   uint32_t *out_h)
{
	uint64_t tw = w, th = h;

	if (w > max_w || h > max_h) {
		if ((uint64_t)w * max_h >= (uint64_t)h * max_w) { /* width-bound */
			tw = max_w;
			th = ((uint64_t)h * max_w + w / 2) / w;
		} else {
			th = max_h;
			tw = ((uint64_t)w * max_h + h / 2) / h;
		}
	}
	*out_w = tw < 1 ? 1 : (uint32_t)tw;
	*out_h = th < 1 ? 1 : (uint32_t)th;
}

gdImagePtr imgops_thumbnail(gdImagePtr src, int max_w, int max_h)
{
	uint32_t tw, th;

	if (src == NULL || !gdImageTrueColor(src) || max_w < 1 || max_h < 1 ||
	    max_w > IMGOPS_MAX_SIDE || max_h > IMGOPS_MAX_SIDE)
		return NULL;
	imgops_thumbnail_size((uint32_t)src->sx, (uint32_t)src->sy, (uint32_t)max_w,
			      (uint32_t)max_h, &tw, &th);
	if ((int)tw == src->sx && (int)th == src->sy)
		return imgops_crop(src, 0, 0, src->sx, src->sy); /* a copy */
	return imgfilter_resample(src, (int)tw, (int)th);
}

gdImagePtr imgops_crop(gdImagePtr src, int x, int y, int w, int h)
{
	gdImagePtr dst;
	int j;

	if (src == NULL || !gdImageTrueColor(src) || x < 0 || y < 0 || w < 1 || h < 1 ||
	    (int64_t)x + w > src->sx || (int64_t)y + h > src->sy)
		return NULL;
	dst = imgops_new(w, h);
	if (dst == NULL)
		return NULL;
	for (j = 0; j < h; j++)
		memcpy(dst->tpixels[j], src->tpixels[y + j] + x, sizeof(int) * (size_t)w);
	return dst;
}

gdImagePtr imgops_enhance(gdImagePtr src, int scale)
{
	gdImagePtr dst;

	if (src == NULL || !gdImageTrueColor(src) || (scale != 2 && scale != 4) ||
	    (uint64_t)src->sx * (uint64_t)src->sy * (uint64_t)(scale * scale) > IMG_MAX_PIXELS)
		return NULL;
	dst = imgfilter_resample(src, src->sx * scale, src->sy * scale);
	if (dst == NULL)
		return NULL;
	/* Detail lives at the source's pixel scale: sharpen at that radius. */
	imgfilter_unsharp(dst, 0.5 * scale, 0.6);
	imgfilter_autocontrast(dst, 0.005);
	return dst;
}

/* ---- the dispatcher --------------------------------------------------- */

static void imgops_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void imgops_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* How the decoder may cut corners for this service. */
static void imgops_decode_opts(const struct imgops_service *s, const struct imgops_args *a,
			       struct imgio_decode_opts *o)
{
	memset(o, 0, sizeof(*o));
	switch (s->id) {
	case SVC_GREYSCALE:
	case SVC_OUTLINE: /* luminance is all the edge detector reads */ o->grey = true; break;
	case SVC_THUMBNAIL:
		o->min_width = (uint32_t)a->width; /* the target, see imgops_run_service */
		o->min_height = (uint32_t)a->height;
		break;
	case SVC_RESIZE:
		o->min_width = (uint32_t)a->width;
		o->min_height = (uint32_t)a->height;
		break;
	default: break;
	}
}

/*
 * Run the transform on a decoded image: a new image, or NULL. *confidence
 * gets the engine's confidence when it reports one (remove-background),
 * else stays as the caller set it.
 */
static gdImagePtr imgops_apply(const struct imgops_service *s, const struct imgops_args *a,
			       gdImagePtr im, double *confidence, int *unavailable)
{
	*unavailable = 0;
	switch (s->id) {
	case SVC_GREYSCALE: return gdImageTrueColor(im) ? imgops_greyscale(im) : NULL;
	case SVC_RESIZE: return imgops_resize(im, a->width, a->height);
	case SVC_THUMBNAIL:
		/* a->width x a->height was computed from the full-size header:
		 * a reduced-DCT decode must not change the rounding. */
		if (gdImageSX(im) == a->width && gdImageSY(im) == a->height)
			return imgops_crop(im, 0, 0, a->width, a->height);
		return imgfilter_resample(im, a->width, a->height);
	case SVC_CROP: return imgops_crop(im, a->x, a->y, a->width, a->height);
	case SVC_ENHANCE: return imgops_enhance(im, a->scale);
	case SVC_OUTLINE: return imgedge_outline(im, a->low, a->high);
	case SVC_REMOVE_BG: return imgseg_remove_background(im, confidence);
	case SVC_AVATAR: return imgstyle_avatar(im);
	default: *unavailable = 1; return NULL;
	}
}

/*
 * Encode *imp to a temp file beside path and rename it into place. *imp
 * may be replaced by a compact palette equivalent (imgio_compact).
 */
static int imgops_write(gdImagePtr *imp, enum img_format fmt, const char *path,
			struct img_result *out)
{
	gdImagePtr im;
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	uint64_t bytes = 0;
	int rc;

	if (fmt != IMG_FMT_WEBP) /* libgd's WebP writer wants truecolor anyway */
		imgio_compact(imp);
	im = *imp;
	rc = imgio_encode_file(im, fmt, tmp, &bytes);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = IA_ERR_IO;
	if (rc != 0)
		(void)unlink(tmp);
	if (rc == 0) {
		out->width = (uint32_t)gdImageSX(im);
		out->height = (uint32_t)gdImageSY(im);
		out->bytes = bytes;
		out->format = fmt;
		out->confidence = -1.0; /* imgops_run_service sets the engine's */
	}
	free(tmp);
	return rc;
}

static const char *imgops_decode_reason(int rc)
{
	switch (rc) {
	case IA_ERR_UNSUPPORTED: return "Unsupported image type (use JPEG, PNG, WebP or GIF).";
	case IA_ERR_TOOBIG:
		return "Image is larger than " IA_STRINGIFY(IMG_MAX_PIXELS_N) " pixels.";
	case IA_ERR_IO: return "Image file could not be read.";
	default: return "Image could not be decoded.";
	}
}

int imgops_normalize_upload(const char *in_path, const char *out_path, struct img_result *out)
{
	gdImagePtr im = NULL;
	struct img_info info;
	struct img_result res;
	enum img_format fmt;
	int rc;

	rc = imgio_decode_file(in_path, NULL, &im, &info);
	if (rc != 0)
		goto out;
	fmt = info.format == IMG_FMT_GIF ? IMG_FMT_PNG : info.format;
	rc = imgops_write(&im, fmt, out_path, &res);
	if (rc != 0)
		goto out;
	*out = res;
out:
	if (im != NULL)
		gdImageDestroy(im);
	return rc;
}

int imgops_run_service(const char *slug, const char *in_path, const char *out_path,
		       enum img_format fmt, const struct img_param *p, size_t n,
		       struct img_result *out, char *errbuf, size_t errlen)
{
	const struct imgops_service *s = imgops_lookup(slug);
	char field[64] = "", msg[192] = "", both[260];
	struct imgops_errs e = {field, sizeof(field), msg, sizeof(msg)};
	struct imgio_decode_opts opts;
	struct imgops_args a;
	struct img_info info;
	struct img_result res;
	gdImagePtr im = NULL, dst = NULL;
	double confidence = -1.0;
	int rc, unavailable = 0;

	if (s == NULL) {
		imgops_err(errbuf, errlen, "Unknown service \"%s\".", slug ? slug : "");
		return IA_ERR_NOTFOUND;
	}
	if (fmt != IMG_FMT_PNG && fmt != IMG_FMT_JPEG && fmt != IMG_FMT_WEBP) {
		imgops_err(errbuf, errlen, "%s", "Output format must be png, jpeg or webp.");
		return IA_ERR_INVAL;
	}
	if (!imgops_offers(s, fmt)) {
		imgops_err(errbuf, errlen, "JPEG has no transparency: choose png or webp for %s.",
			   s->slug);
		return IA_ERR_INVAL;
	}
	rc = imgio_probe_file(in_path, &info);
	if (rc != 0) {
		imgops_err(errbuf, errlen, "%s", imgops_decode_reason(rc));
		return rc;
	}
	rc = imgops_parse(s, p, n, &info, &a, &e);
	if (rc != 0) {
		snprintf(both, sizeof(both), "%s: %s", field, msg);
		imgops_err(errbuf, errlen, "%s", both);
		return rc;
	}
	if (s->id == SVC_THUMBNAIL) {
		uint32_t tw, th;

		imgops_thumbnail_size(info.width, info.height, (uint32_t)a.max_width,
				      (uint32_t)a.max_height, &tw, &th);
		a.width = (int)tw;
		a.height = (int)th;
	}
	imgops_decode_opts(s, &a, &opts);
	rc = imgio_decode_file(in_path, &opts, &im, &info);
	if (rc != 0) {
		imgops_err(errbuf, errlen, "%s", imgops_decode_reason(rc));
		goto out;
	}
	if (s->id == SVC_GREYSCALE && !gdImageTrueColor(im)) {
		dst = im; /* decoded straight to grey */
		im = NULL;
	} else {
		dst = imgops_apply(s, &a, im, &confidence, &unavailable);
	}
	if (dst == NULL) {
		rc = unavailable ? IA_ERR_UNAVAILABLE : IA_ERR_INVAL;
		/* the job's error is for its user; the service is in the log line */
		imgops_err(errbuf, errlen, "%s",
			   unavailable ? "This service is not available right now. Try again later."
				       : "This image could not be processed.");
		goto out;
	}
	if (im != NULL) { /* free the source before encoding: lower peak memory */
		gdImageDestroy(im);
		im = NULL;
	}
	rc = imgops_write(&dst, fmt, out_path, &res);
	if (rc != 0) {
		imgops_err(errbuf, errlen, "%s", "The result could not be saved.");
		goto out;
	}
	res.confidence = confidence;
	*out = res;
out:
	if (im != NULL)
		gdImageDestroy(im);
	if (dst != NULL)
		gdImageDestroy(dst);
	return rc;
}
