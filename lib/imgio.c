/*
 * imgio.c - image files in and out for the image layer.
 *
 * Probing reads only headers (magic bytes, dimensions, EXIF orientation) so
 * that the pixel bound is enforced before anything large is allocated.
 * JPEG goes through lib/imgjpeg.c (libjpeg directly: reduced-DCT decoding
 * for big shrinks and an 8-bit grey decode, neither of which libgd offers).
 * PNG, WebP and GIF go through libgd. EXIF is read with libexif (libgd has no EXIF).
 * Encoders write no metadata: re-encoding is how uploads are stripped.
 */
#include "config.h"

#include "imgio.h"
#include "imgjpeg.h"
#include "err.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <gd.h>
#include <libexif/exif-data.h>

/*
 * PNG zlib level 2: on a 960x720 photo thumbnail 44 ms / 971 KB against
 * 230 ms / 903 KB at zlib's default 6 (+8% size, 5x faster); level 1 is
 * no faster, 3 costs 50% more time for 4% (BENCHMARKS.md).
 */
#define IMGIO_PNG_LEVEL    2
#define IMGIO_JPEG_QUALITY 90
#define IMGIO_WEBP_QUALITY 90
/* Largest EXIF block we parse (a JPEG APP1 segment cannot exceed it). */
#define IMGIO_EXIF_MAX 65536

static const char *const imgio_names[] = {"", "jpeg", "png", "webp", "gif"};
static const char *const imgio_mimes[] = {"", "image/jpeg", "image/png", "image/webp", "image/gif"};
static const char *const imgio_exts[] = {"", "jpg", "png", "webp", "gif"};

const char *imgio_format_name(enum img_format f)
{
	return (unsigned)f <= IMG_FMT_GIF ? imgio_names[f] : "";
}

const char *imgio_format_mime(enum img_format f)
{
	return (unsigned)f <= IMG_FMT_GIF ? imgio_mimes[f] : "";
}

const char *imgio_format_ext(enum img_format f)
{
	return (unsigned)f <= IMG_FMT_GIF ? imgio_exts[f] : "";
}

int imgio_format_parse(const char *name, enum img_format *out)
{
	enum img_format f = IMG_FMT_UNKNOWN;

	if (name == NULL)
		return IA_ERR_INVAL;
	if (strcmp(name, "png") == 0)
		f = IMG_FMT_PNG;
	else if (strcmp(name, "jpeg") == 0)
		f = IMG_FMT_JPEG;
	else if (strcmp(name, "webp") == 0)
		f = IMG_FMT_WEBP;
	else
		return IA_ERR_INVAL;
	*out = f;
	return 0;
}

enum img_format imgio_format_from_extension(const char *filename)
{
	const char *dot;

	if (filename == NULL)
		return IMG_FMT_UNKNOWN;
	dot = strrchr(filename, '.');
	if (dot == NULL || strchr(dot, '/') != NULL)
		return IMG_FMT_UNKNOWN;
	dot++;
	if (strcasecmp(dot, "jpg") == 0 || strcasecmp(dot, "jpeg") == 0)
		return IMG_FMT_JPEG;
	if (strcasecmp(dot, "png") == 0)
		return IMG_FMT_PNG;
	if (strcasecmp(dot, "webp") == 0)
		return IMG_FMT_WEBP;
	if (strcasecmp(dot, "gif") == 0)
		return IMG_FMT_GIF;
	return IMG_FMT_UNKNOWN;
}

const char *imgio_key_mime(const char *key)
{
	enum img_format f = imgio_format_from_extension(key);

	return f == IMG_FMT_UNKNOWN ? NULL : imgio_format_mime(f);
}

bool imgio_extension_matches(const char *filename, enum img_format f)
{
	return f != IMG_FMT_UNKNOWN && imgio_format_from_extension(filename) == f;
}

/* ---- probing ---------------------------------------------------------- */

static uint32_t imgio_be16(const unsigned char *p)
{
	return ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t imgio_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t imgio_le16(const unsigned char *p)
{
	return ((uint32_t)p[1] << 8) | p[0];
}

static uint32_t imgio_le24(const unsigned char *p)
{
	return ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

static uint32_t imgio_le32(const unsigned char *p)
{
	return ((uint32_t)p[3] << 24) | imgio_le24(p);
}

/* Read exactly n bytes or fail with IA_ERR_INVAL (truncated). */
static int imgio_read(FILE *fp, void *buf, size_t n)
{
	return fread(buf, 1, n, fp) == n ? 0 : IA_ERR_INVAL;
}

static int imgio_skip(FILE *fp, long n)
{
	return fseek(fp, n, SEEK_CUR) == 0 ? 0 : IA_ERR_INVAL;
}

/*
 * The orientation (1..8) in an EXIF block, which may start with
 * "Exif\0\0" or directly with the TIFF header; 1 when absent or invalid.
 */
static int imgio_exif_orientation(const unsigned char *data, size_t len)
{
	static const unsigned char hdr[6] = {'E', 'x', 'i', 'f', 0, 0};
	unsigned char *buf = NULL;
	ExifData *ed = NULL;
	ExifEntry *e;
	int o = 1;

	if (len < 8 || len > IMGIO_EXIF_MAX)
		return 1;
	/* libexif wants the "Exif\0\0" header; WebP and PNG omit it. */
	buf = xmalloc(len + sizeof(hdr));
	if (memcmp(data, hdr, sizeof(hdr)) == 0) {
		memcpy(buf, data, len);
	} else {
		memcpy(buf, hdr, sizeof(hdr));
		memcpy(buf + sizeof(hdr), data, len);
		len += sizeof(hdr);
	}
	ed = exif_data_new_from_data(buf, (unsigned int)len);
	if (ed == NULL)
		goto out;
	e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
	if (e != NULL && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2) {
		int v = exif_get_short(e->data, exif_data_get_byte_order(ed));

		if (v >= 1 && v <= 8)
			o = v;
	}
out:
	if (ed != NULL)
		exif_data_unref(ed);
	free(buf);
	return o;
}

/* Read a len-byte metadata block and return its EXIF orientation. */
static int imgio_read_exif(FILE *fp, size_t len, int *orientation)
{
	unsigned char *buf;
	int rc;

	if (len > IMGIO_EXIF_MAX)
		return imgio_skip(fp, (long)len);
	buf = xmalloc(len ? len : 1);
	rc = imgio_read(fp, buf, len);
	if (rc == 0)
		*orientation = imgio_exif_orientation(buf, len);
	free(buf);
	return rc;
}

static bool imgio_is_sof(int m)
{
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* Walk JPEG segments up to the first SOFn; the first EXIF APP1 counts. */
static int imgio_probe_jpeg(FILE *fp, uint32_t *w, uint32_t *h, int *o)
{
	unsigned char b[8];
	bool have_exif = false;
	int rc;

	for (;;) {
		int c, m;
		size_t len;

		c = fgetc(fp);
		if (c != 0xFF)
			return IA_ERR_INVAL;
		do
			m = fgetc(fp);
		while (m == 0xFF);
		if (m == EOF || m == 0xD9 || m == 0xDA)
			return IA_ERR_INVAL; /* EOI or scan before a frame */
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
			continue; /* standalone markers */
		rc = imgio_read(fp, b, 2);
		if (rc != 0)
			return rc;
		len = imgio_be16(b);
		if (len < 2)
			return IA_ERR_INVAL;
		len -= 2;
		if (imgio_is_sof(m)) {
			if (len < 5 || imgio_read(fp, b, 5) != 0)
				return IA_ERR_INVAL;
			*h = imgio_be16(b + 1);
			*w = imgio_be16(b + 3);
			return 0;
		}
		if (m == 0xE1 && !have_exif && len >= 6) {
			int orient = 1;

			rc = imgio_read_exif(fp, len, &orient);
			if (rc != 0)
				return rc;
			/* An XMP APP1 is not EXIF: keep looking. */
			if (orient != 1)
				have_exif = true;
			*o = orient;
			continue;
		}
		rc = imgio_skip(fp, (long)len);
		if (rc != 0)
			return rc;
	}
}

/* IHDR must come first; an eXIf chunk may follow before IDAT. */
static int imgio_probe_png(FILE *fp, uint32_t *w, uint32_t *h, int *o)
{
	unsigned char b[16];
	int rc;

	rc = imgio_read(fp, b, 16);
	if (rc != 0)
		return rc;
	if (memcmp(b + 4, "IHDR", 4) != 0 || imgio_be32(b) != 13)
		return IA_ERR_INVAL;
	*w = imgio_be32(b + 8);
	*h = imgio_be32(b + 12);
	if (*w > 0x7FFFFFFF || *h > 0x7FFFFFFF)
		return IA_ERR_INVAL;
	if (imgio_skip(fp, 5 + 4) != 0) /* rest of IHDR + CRC */
		return IA_ERR_INVAL;
	/* Orientation is optional: a short read here is not an error. */
	while (fread(b, 1, 8, fp) == 8) {
		uint32_t len = imgio_be32(b);

		if (memcmp(b + 4, "IDAT", 4) == 0 || memcmp(b + 4, "IEND", 4) == 0 ||
		    len > 0x7FFFFFFF)
			break;
		if (memcmp(b + 4, "eXIf", 4) == 0) {
			(void)imgio_read_exif(fp, len, o);
			break;
		}
		if (imgio_skip(fp, (long)len + 4) != 0)
			break;
	}
	return 0;
}

/* The image chunk ("VP8 ", "VP8L" or "VP8X") right after the RIFF header. */
static int imgio_probe_webp(FILE *fp, uint32_t *w, uint32_t *h, int *o)
{
	unsigned char b[18];
	int rc;

	rc = imgio_read(fp, b, 8);
	if (rc != 0)
		return rc;
	if (memcmp(b, "VP8 ", 4) == 0) {
		rc = imgio_read(fp, b, 10);
		if (rc != 0)
			return rc;
		if ((b[0] & 1) != 0 || b[3] != 0x9D || b[4] != 0x01 || b[5] != 0x2A)
			return IA_ERR_INVAL;
		*w = imgio_le16(b + 6) & 0x3FFF;
		*h = imgio_le16(b + 8) & 0x3FFF;
		return 0;
	}
	if (memcmp(b, "VP8L", 4) == 0) {
		uint32_t bits;

		rc = imgio_read(fp, b, 5);
		if (rc != 0)
			return rc;
		if (b[0] != 0x2F)
			return IA_ERR_INVAL;
		bits = imgio_le32(b + 1);
		*w = (bits & 0x3FFF) + 1;
		*h = ((bits >> 14) & 0x3FFF) + 1;
		return 0;
	}
	if (memcmp(b, "VP8X", 4) == 0) {
		bool exif;

		rc = imgio_read(fp, b, 10);
		if (rc != 0)
			return rc;
		exif = (b[0] & 0x08) != 0;
		*w = imgio_le24(b + 4) + 1;
		*h = imgio_le24(b + 7) + 1;
		/* Walk the remaining chunks for EXIF; best effort. */
		while (exif && fread(b, 1, 8, fp) == 8) {
			uint32_t len = imgio_le32(b + 4);

			if (memcmp(b, "EXIF", 4) == 0) {
				(void)imgio_read_exif(fp, len, o);
				break;
			}
			if (len > 0x7FFFFFFE || imgio_skip(fp, (long)(len + (len & 1))) != 0)
				break;
		}
		return 0;
	}
	return IA_ERR_INVAL;
}

/* Identify by magic bytes, then parse that format's header. */
static int imgio_probe_stream(FILE *fp, struct img_info *info)
{
	unsigned char m[12];
	size_t got = fread(m, 1, sizeof(m), fp);
	uint32_t w = 0, h = 0;
	int o = 1, rc;

	if (got >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF) {
		info->format = IMG_FMT_JPEG;
		rc = fseek(fp, 2, SEEK_SET) == 0 ? imgio_probe_jpeg(fp, &w, &h, &o) : IA_ERR_IO;
	} else if (got >= 8 && memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0) {
		info->format = IMG_FMT_PNG;
		rc = fseek(fp, 8, SEEK_SET) == 0 ? imgio_probe_png(fp, &w, &h, &o) : IA_ERR_IO;
	} else if (got >= 12 && memcmp(m, "RIFF", 4) == 0 && memcmp(m + 8, "WEBP", 4) == 0) {
		info->format = IMG_FMT_WEBP;
		rc = imgio_probe_webp(fp, &w, &h, &o);
	} else if (got >= 10 && (memcmp(m, "GIF87a", 6) == 0 || memcmp(m, "GIF89a", 6) == 0)) {
		info->format = IMG_FMT_GIF;
		w = imgio_le16(m + 6);
		h = imgio_le16(m + 8);
		rc = 0;
	} else {
		return got < 3 && ferror(fp) ? IA_ERR_IO : IA_ERR_UNSUPPORTED;
	}
	if (rc != 0)
		return rc;
	if (w == 0 || h == 0)
		return IA_ERR_INVAL;
	if ((uint64_t)w * h > IMG_MAX_PIXELS)
		return IA_ERR_TOOBIG;
	info->width = o >= 5 ? h : w;
	info->height = o >= 5 ? w : h;
	info->orientation = o;
	return 0;
}

int imgio_probe_file(const char *path, struct img_info *out)
{
	struct img_info info = {0};
	FILE *fp = fopen(path, "rb");
	int rc;

	if (fp == NULL)
		return IA_ERR_IO;
	rc = imgio_probe_stream(fp, &info);
	fclose(fp);
	if (rc == 0)
		*out = info;
	return rc;
}

/* ---- orientation ------------------------------------------------------ */

/* Where the pixel shown at (dx, dy) comes from, for EXIF orientation o. */
static void imgio_orient_src(int o, int w, int h, int dx, int dy, int *sx, int *sy)
{
	switch (o) {
	case 2:
		*sx = w - 1 - dx;
		*sy = dy;
		break;
	case 3:
		*sx = w - 1 - dx;
		*sy = h - 1 - dy;
		break;
	case 4:
		*sx = dx;
		*sy = h - 1 - dy;
		break;
	case 5:
		*sx = dy;
		*sy = dx;
		break;
	case 6:
		*sx = dy;
		*sy = h - 1 - dx;
		break;
	case 7:
		*sx = w - 1 - dy;
		*sy = h - 1 - dx;
		break;
	case 8:
		*sx = w - 1 - dy;
		*sy = dx;
		break;
	default:
		*sx = dx;
		*sy = dy;
		break;
	}
}

static gdImagePtr imgio_new_like(gdImagePtr src, int w, int h)
{
	gdImagePtr im;
	int i;

	if (gdImageTrueColor(src)) {
		im = gdImageCreateTrueColor(w, h);
		if (im != NULL) {
			gdImageAlphaBlending(im, 0);
			gdImageSaveAlpha(im, 1);
		}
		return im;
	}
	im = gdImageCreate(w, h);
	if (im == NULL)
		return NULL;
	for (i = 0; i < gdImageColorsTotal(src); i++)
		gdImageColorAllocateAlpha(im, src->red[i], src->green[i], src->blue[i],
					  src->alpha[i]);
	return im;
}

void imgio_orient(gdImagePtr *imp, int o)
{
	gdImagePtr src = *imp, dst;
	int w = gdImageSX(src), h = gdImageSY(src);
	int dw = o >= 5 ? h : w, dh = o >= 5 ? w : h;
	int dx, dy, sx, sy;

	if (o < 2 || o > 8)
		return;
	dst = imgio_new_like(src, dw, dh);
	if (dst == NULL)
		return;
	for (dy = 0; dy < dh; dy++) {
		for (dx = 0; dx < dw; dx++) {
			imgio_orient_src(o, w, h, dx, dy, &sx, &sy);
			if (gdImageTrueColor(src))
				dst->tpixels[dy][dx] = src->tpixels[sy][sx];
			else
				dst->pixels[dy][dx] = src->pixels[sy][sx];
		}
	}
	gdImageDestroy(src);
	*imp = dst;
}

/* Largest DCT reduction 1/d keeping the (raw) size >= min_w x min_h. */
static unsigned imgio_jpeg_denom(uint32_t w, uint32_t h, uint32_t min_w, uint32_t min_h)
{
	unsigned d;

	if (min_w == 0 || min_h == 0)
		return 1;
	for (d = 8; d > 1; d /= 2) {
		if ((w + d - 1) / d >= min_w && (h + d - 1) / d >= min_h)
			return d;
	}
	return 1;
}

/* ---- decoding --------------------------------------------------------- */

static void imgio_gd_quiet(int priority, const char *fmt, va_list args)
{
	(void)priority;
	(void)fmt;
	(void)args;
}

static gdImagePtr imgio_decode_gd(FILE *fp, enum img_format f)
{
	switch (f) {
	case IMG_FMT_PNG: return gdImageCreateFromPng(fp);
	case IMG_FMT_WEBP: return gdImageCreateFromWebp(fp);
	case IMG_FMT_GIF: return gdImageCreateFromGif(fp);
	default: return NULL;
	}
}

int imgio_decode_file(const char *path, const struct imgio_decode_opts *opts, gdImagePtr *out,
		      struct img_info *info_out)
{
	static const struct imgio_decode_opts full = {false, 0, 0};
	struct img_info info;
	gdImagePtr im = NULL;
	FILE *fp = NULL;
	bool swap;
	int rc;

	if (opts == NULL)
		opts = &full;
	gdSetErrorMethod(imgio_gd_quiet); /* errors surface as return codes */
	rc = imgio_probe_file(path, &info);
	if (rc != 0)
		goto out;
	fp = fopen(path, "rb");
	if (fp == NULL) {
		rc = IA_ERR_IO;
		goto out;
	}
	swap = info.orientation >= 5;
	if (info.format == IMG_FMT_JPEG) {
		uint32_t rw = swap ? info.height : info.width;
		uint32_t rh = swap ? info.width : info.height;
		unsigned denom = swap ? imgio_jpeg_denom(rw, rh, opts->min_height, opts->min_width)
				      : imgio_jpeg_denom(rw, rh, opts->min_width, opts->min_height);

		rc = imgjpeg_decode(fp, rw, rh, denom, opts->grey, &im);
		if (rc != 0)
			goto out;
	} else {
		rc = IA_ERR_INVAL;
		im = imgio_decode_gd(fp, info.format);
		if (im == NULL)
			goto out;
		if ((uint32_t)gdImageSX(im) != (swap ? info.height : info.width) ||
		    (uint32_t)gdImageSY(im) != (swap ? info.width : info.height))
			goto out;
		if (!gdImageTrueColor(im) && !gdImagePaletteToTrueColor(im))
			goto out;
	}
	if (gdImageTrueColor(im)) {
		gdImageAlphaBlending(im, 0);
		gdImageSaveAlpha(im, 1);
	}
	imgio_orient(&im, info.orientation);
	*out = im;
	im = NULL;
	if (info_out != NULL)
		*info_out = info;
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (im != NULL)
		gdImageDestroy(im);
	return rc;
}

/* ---- encoding --------------------------------------------------------- */

static bool imgio_has_alpha(gdImagePtr im)
{
	int x, y;

	if (!gdImageTrueColor(im))
		return gdImageGetTransparent(im) >= 0;
	for (y = 0; y < im->sy; y++) {
		const int *row = im->tpixels[y];

		for (x = 0; x < im->sx; x++) {
			if ((row[x] & 0x7F000000) != 0)
				return true;
		}
	}
	return false;
}

/* Composite translucent pixels onto white, in place (for JPEG). */
static void imgio_flatten(gdImagePtr im)
{
	int x, y;

	for (y = 0; y < im->sy; y++) {
		int *row = im->tpixels[y];

		for (x = 0; x < im->sx; x++) {
			int p = row[x], a = gdTrueColorGetAlpha(p);
			int op = 127 - a, r, g, b;

			if (a == 0)
				continue;
			r = (gdTrueColorGetRed(p) * op + 255 * a + 63) / 127;
			g = (gdTrueColorGetGreen(p) * op + 255 * a + 63) / 127;
			b = (gdTrueColorGetBlue(p) * op + 255 * a + 63) / 127;
			row[x] = gdTrueColor(r, g, b);
		}
	}
}

/* The grey level of every pixel if im is opaque grey, else false. */
static bool imgio_grey_levels(gdImagePtr im, bool used[256])
{
	int x, y;

	memset(used, 0, 256 * sizeof(bool));
	for (y = 0; y < im->sy; y++) {
		const int *row = im->tpixels[y];

		for (x = 0; x < im->sx; x++) {
			int p = row[x], l = p & 0xFF;

			if ((p & 0x7F000000) != 0 || ((p >> 16) & 0xFF) != l ||
			    ((p >> 8) & 0xFF) != l)
				return false;
			used[l] = true;
		}
	}
	return true;
}

void imgio_compact(gdImagePtr *imp)
{
	gdImagePtr src = *imp, dst;
	bool used[256];
	unsigned char map[256];
	int i, n = 0, x, y;

	if (!gdImageTrueColor(src) || !imgio_grey_levels(src, used))
		return;
	for (i = 0; i < 256; i++)
		n += used[i];
	dst = gdImageCreate(src->sx, src->sy);
	if (dst == NULL)
		return;
	for (i = 0; i < 256; i++) {
		if (n > 2 || used[i])
			map[i] = (unsigned char)gdImageColorAllocate(dst, i, i, i);
	}
	for (y = 0; y < src->sy; y++) {
		for (x = 0; x < src->sx; x++)
			dst->pixels[y][x] = map[src->tpixels[y][x] & 0xFF];
		/* Free each source row once copied: peak memory stays ~1 image. */
		gdFree(src->tpixels[y]);
		src->tpixels[y] = NULL;
	}
	gdImageDestroy(src);
	*imp = dst;
}

static int imgio_encode_stream(gdImagePtr im, enum img_format fmt, FILE *fp)
{
	bool alpha = imgio_has_alpha(im);

	if (gdImageTrueColor(im)) {
		gdImageAlphaBlending(im, 0);
		gdImageSaveAlpha(im, alpha ? 1 : 0);
	}
	switch (fmt) {
	case IMG_FMT_PNG: gdImagePngEx(im, fp, IMGIO_PNG_LEVEL); return 0;
	case IMG_FMT_JPEG:
		if (!gdImageTrueColor(im) && !imgjpeg_is_grey(im) && !gdImagePaletteToTrueColor(im))
			return IA_ERR_IO;
		if (gdImageTrueColor(im) && alpha)
			imgio_flatten(im);
		return imgjpeg_encode(im, fp, IMGIO_JPEG_QUALITY);
	case IMG_FMT_WEBP:
		/* libgd's WebP writer takes truecolor images only. */
		if (!gdImageTrueColor(im) && !gdImagePaletteToTrueColor(im))
			return IA_ERR_IO;
		gdImageWebpEx(im, fp, IMGIO_WEBP_QUALITY);
		return 0;
	default: return IA_ERR_INVAL;
	}
}

int imgio_encode_file(gdImagePtr im, enum img_format fmt, const char *path, uint64_t *bytes)
{
	struct stat st;
	FILE *fp = NULL;
	int rc;

	if (fmt != IMG_FMT_PNG && fmt != IMG_FMT_JPEG && fmt != IMG_FMT_WEBP)
		return IA_ERR_INVAL;
	fp = fopen(path, "wb");
	if (fp == NULL)
		return IA_ERR_IO;
	rc = imgio_encode_stream(im, fmt, fp);
	if (fflush(fp) != 0 || ferror(fp))
		rc = rc != 0 ? rc : IA_ERR_IO;
	if (fclose(fp) != 0 && rc == 0)
		rc = IA_ERR_IO;
	if (rc == 0 && (stat(path, &st) != 0 || st.st_size == 0))
		rc = IA_ERR_IO; /* libgd's writers return void */
	if (rc == 0 && bytes != NULL)
		*bytes = (uint64_t)st.st_size;
	return rc;
}
