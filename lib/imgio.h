/*
 * imgio.h - reading and writing image files for the image layer: format
 * detection by magic bytes, header-only probing (dimensions and EXIF
 * orientation, before any pixel is allocated), decoding into libgd images
 * with the orientation applied, and encoding without metadata.
 *
 * Callers outside the image layer use lib/imgops.h, which includes this
 * header; gd.h is never included here (struct gdImageStruct stays opaque).
 */
#ifndef IA_IMGIO_H
#define IA_IMGIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gdImageStruct;

/* The largest image (width * height) the layer reads or writes. */
#define IMG_MAX_PIXELS_N 50000000 /* for messages: IA_STRINGIFY(IMG_MAX_PIXELS_N) */
#define IMG_MAX_PIXELS   ((unsigned long long)IMG_MAX_PIXELS_N)

enum img_format {
	IMG_FMT_UNKNOWN = 0,
	IMG_FMT_JPEG,
	IMG_FMT_PNG,
	IMG_FMT_WEBP,
	IMG_FMT_GIF,
};

/*
 * What a header says about an image. width and height are as displayed,
 * i.e. after the EXIF orientation is applied (swapped for orientations
 * 5..8); orientation is the EXIF value 1..8 (1 when absent or invalid).
 */
struct img_info {
	enum img_format format;
	uint32_t width, height;
	int orientation;
};

/* Static names of a format: "jpeg", "image/jpeg", "jpg"; "" for unknown. */
const char *imgio_format_name(enum img_format f);
const char *imgio_format_mime(enum img_format f);
const char *imgio_format_ext(enum img_format f);

/*
 * Parse an output format name: exactly "png", "jpeg" or "webp". Returns 0
 * and writes *out, or IA_ERR_INVAL (gif and anything else).
 */
int imgio_format_parse(const char *name, enum img_format *out);

/*
 * Whether filename's extension (after the last '.', case-insensitive)
 * names format f: jpg/jpeg, png, webp, gif. False for NULL or no extension.
 */
bool imgio_extension_matches(const char *filename, enum img_format f);

/*
 * The format whose usual extension filename ends in (as above), or
 * IMG_FMT_UNKNOWN.
 */
enum img_format imgio_format_from_extension(const char *filename);

/*
 * The Content-Type a stored media file named key is served with: the image
 * type its extension names ("image/png" for "sources/ab/x.png"), or NULL
 * when it names none (the storage then says application/octet-stream).
 * Borrowed, static.
 */
const char *imgio_key_mime(const char *key);

/*
 * Read only the header of the file at path: magic bytes, dimensions and
 * EXIF orientation. Returns 0 and fills *out; IA_ERR_UNSUPPORTED for an
 * unknown type; IA_ERR_INVAL for a truncated or corrupt header (or a zero
 * dimension); IA_ERR_TOOBIG when width * height > IMG_MAX_PIXELS;
 * IA_ERR_IO when the file cannot be opened or read.
 */
int imgio_probe_file(const char *path, struct img_info *out);

/* How imgio_decode_file may cut corners for the transform that follows. */
struct imgio_decode_opts {
	/* Opaque JPEGs may come back as an 8-bit grey palette image. */
	bool grey;
	/*
	 * JPEGs may be decoded at 1/2, 1/4 or 1/8 size (libjpeg's reduced
	 * DCT) as long as the displayed result stays at least this large.
	 * 0 means full size.
	 */
	uint32_t min_width, min_height;
};

/*
 * Decode the file at path (probed first: the pixel bound is enforced before
 * any allocation), apply its EXIF orientation and return a new image in
 * *out (caller frees with gdImageDestroy) and its probed info in *info
 * (info may be NULL). opts may be NULL (full size, colour). The result is
 * truecolor, except a grey palette image when opts->grey allowed it.
 * Returns IA_ERR_INVAL when the data does not decode (corrupt, truncated),
 * or the probe's error.
 */
int imgio_decode_file(const char *path, const struct imgio_decode_opts *opts,
		      struct gdImageStruct **out, struct img_info *info);

/*
 * Encode im as fmt (png, jpeg or webp; no metadata) into the file at path,
 * created or truncated. PNG keeps alpha only when some pixel is not opaque;
 * JPEG flattens transparency onto white (im is modified then). Writes the
 * file size to *bytes (may be NULL). Returns IA_ERR_IO when the file cannot
 * be written (a partial file may remain: write to a temp name), IA_ERR_INVAL
 * for a bad format.
 */
int imgio_encode_file(struct gdImageStruct *im, enum img_format fmt, const char *path,
		      uint64_t *bytes);

/*
 * If truecolor *im is opaque and grey (R=G=B everywhere), replace it by an
 * equivalent palette image (the old one is destroyed): two entries when at
 * most two levels occur (PNG writes 1 bit per pixel), else the 256-level
 * identity grey palette (8 bits per pixel, one-channel JPEG). No-op
 * otherwise. Cuts memory 4x and PNG work 3x for greyscale and outlines.
 */
void imgio_compact(struct gdImageStruct **im);

/*
 * Apply EXIF orientation o (1..8) to *im: replaces *im with a new image
 * (the old one is destroyed) for o in 2..8; no-op for 1 or out of range.
 */
void imgio_orient(struct gdImageStruct **im, int o);

#endif
