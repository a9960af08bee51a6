/*
 * imgjpeg.c - JPEG decode and encode through libjpeg(-turbo), reading
 * into and writing from libgd pixel rows.
 *
 * On little-endian hosts libjpeg-turbo's JCS_EXT_BGRX layout is exactly a
 * gd truecolor pixel once the X (alpha) byte is cleared, so rows are
 * decoded in place and encoded with no conversion. libjpeg reports fatal
 * errors by longjmp: each codec keeps all its state in one struct whose
 * address is taken, and the setjmp lives in a tiny wrapper, so nothing is
 * clobbered across the jump.
 */
#include "config.h"

#include "imgjpeg.h"
#include "err.h"
#include "util.h"

#include <setjmp.h>
#include <string.h>

#include <gd.h>
#include <jpeglib.h>
#include <jerror.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define IMGJPEG_LITTLE_ENDIAN 1
#else
#define IMGJPEG_LITTLE_ENDIAN 0
#endif

struct imgjpeg_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	bool eof;
};

static void imgjpeg_error_exit(j_common_ptr c)
{
	longjmp(((struct imgjpeg_err *)(void *)c->err)->jb, 1);
}

/* Warnings are tolerated except a premature end of file (truncation). */
static void imgjpeg_emit(j_common_ptr c, int level)
{
	if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
		((struct imgjpeg_err *)(void *)c->err)->eof = true;
}

static void imgjpeg_output(j_common_ptr c)
{
	(void)c;
}

/*
 * A progressive JPEG may carry thousands of tiny scans that each cost a
 * full pass over the coefficients: a CPU bomb. Refuse past a sane count
 * (libjpeg-turbo's own advice; real files use about 10).
 */
#define IMGJPEG_MAX_SCANS 500

static void imgjpeg_progress(j_common_ptr c)
{
	j_decompress_ptr d = (j_decompress_ptr)(void *)c;

	if (c->is_decompressor && d->input_scan_number > IMGJPEG_MAX_SCANS)
		imgjpeg_error_exit(c);
}

static void imgjpeg_err_init(struct imgjpeg_err *e)
{
	memset(e, 0, sizeof(*e));
	jpeg_std_error(&e->pub);
	e->pub.error_exit = imgjpeg_error_exit;
	e->pub.emit_message = imgjpeg_emit;
	e->pub.output_message = imgjpeg_output;
}

bool imgjpeg_is_grey(gdImagePtr im)
{
	int i;

	if (gdImageTrueColor(im) || gdImageColorsTotal(im) != 256 || gdImageGetTransparent(im) >= 0)
		return false;
	for (i = 0; i < 256; i++) {
		if (im->red[i] != i || im->green[i] != i || im->blue[i] != i || im->alpha[i] != 0)
			return false;
	}
	return true;
}

/* ---- decoding --------------------------------------------------------- */

struct imgjpeg_dec {
	struct jpeg_decompress_struct ci;
	struct imgjpeg_err err;
	struct jpeg_progress_mgr progress;
	FILE *fp;
	uint32_t width, height;
	unsigned denom;
	bool grey, pack;
	gdImagePtr im;
	JSAMPLE *tmp;
};

static gdImagePtr imgjpeg_new_grey(int w, int h)
{
	gdImagePtr im = gdImageCreate(w, h);
	int i;

	if (im == NULL)
		return NULL;
	for (i = 0; i < 256; i++)
		gdImageColorAllocate(im, i, i, i);
	return im;
}

/* Choose the output colour space; sets pack when rows need converting. */
static void imgjpeg_setup(struct imgjpeg_dec *d)
{
	J_COLOR_SPACE in = d->ci.jpeg_color_space;

	d->pack = false;
	if (d->grey && (in == JCS_YCbCr || in == JCS_GRAYSCALE)) {
		d->ci.out_color_space = JCS_GRAYSCALE;
	} else if (in == JCS_CMYK || in == JCS_YCCK) {
		d->ci.out_color_space = JCS_CMYK;
		d->pack = true;
	} else if (IMGJPEG_LITTLE_ENDIAN) {
		d->ci.out_color_space = JCS_EXT_BGRX;
	} else {
		d->ci.out_color_space = JCS_RGB;
		d->pack = true;
	}
}

/* One decoded row (RGB, or Adobe's inverted CMYK) to gd pixels. */
static void imgjpeg_pack(const JSAMPLE *s, int *dst, int w, J_COLOR_SPACE cs)
{
	int x;

	for (x = 0; x < w; x++) {
		if (cs == JCS_CMYK) {
			int k = s[4 * x + 3];

			dst[x] = gdTrueColor(s[4 * x] * k / 255, s[4 * x + 1] * k / 255,
					     s[4 * x + 2] * k / 255);
		} else {
			dst[x] = gdTrueColor(s[3 * x], s[3 * x + 1], s[3 * x + 2]);
		}
	}
}

static void imgjpeg_rows(struct imgjpeg_dec *d)
{
	gdImagePtr im = d->im;

	while (d->ci.output_scanline < d->ci.output_height) {
		int y = (int)d->ci.output_scanline, x;
		JSAMPROW row;

		if (!gdImageTrueColor(im))
			row = im->pixels[y];
		else if (d->pack)
			row = d->tmp;
		else
			row = (JSAMPROW)(void *)im->tpixels[y];
		if (jpeg_read_scanlines(&d->ci, &row, 1) != 1)
			break;
		if (d->pack) {
			imgjpeg_pack(d->tmp, im->tpixels[y], im->sx, d->ci.out_color_space);
		} else if (gdImageTrueColor(im)) {
			for (x = 0; x < im->sx; x++)
				im->tpixels[y][x] &= 0xFFFFFF; /* X byte -> opaque */
		}
	}
}

/* The decode proper; fatal libjpeg errors longjmp out of it. */
static int imgjpeg_decode_run(struct imgjpeg_dec *d)
{
	jpeg_create_decompress(&d->ci);
	d->progress.progress_monitor = imgjpeg_progress;
	d->ci.progress = &d->progress;
	jpeg_stdio_src(&d->ci, d->fp);
	jpeg_read_header(&d->ci, TRUE);
	if (d->ci.image_width != d->width || d->ci.image_height != d->height)
		return IA_ERR_INVAL;
	imgjpeg_setup(d);
	d->ci.scale_num = 1;
	d->ci.scale_denom = d->denom;
	jpeg_start_decompress(&d->ci);
	if (d->ci.out_color_space == JCS_GRAYSCALE)
		d->im = imgjpeg_new_grey((int)d->ci.output_width, (int)d->ci.output_height);
	else
		d->im = gdImageCreateTrueColor((int)d->ci.output_width, (int)d->ci.output_height);
	if (d->im == NULL)
		return IA_ERR_INVAL;
	if (d->pack)
		d->tmp = xmalloc((size_t)d->ci.output_width * 4);
	imgjpeg_rows(d);
	if (d->ci.output_scanline != d->ci.output_height || d->err.eof)
		return IA_ERR_INVAL;
	jpeg_finish_decompress(&d->ci);
	return d->err.eof ? IA_ERR_INVAL : 0;
}

int imgjpeg_decode(FILE *fp, uint32_t width, uint32_t height, unsigned denom, bool grey,
		   gdImagePtr *out)
{
	struct imgjpeg_dec *d = xcalloc(1, sizeof(*d));
	int rc;

	d->fp = fp;
	d->width = width;
	d->height = height;
	d->denom = denom == 2 || denom == 4 || denom == 8 ? denom : 1;
	d->grey = grey;
	imgjpeg_err_init(&d->err);
	d->ci.err = &d->err.pub;
	if (setjmp(d->err.jb) == 0)
		rc = imgjpeg_decode_run(d);
	else
		rc = IA_ERR_INVAL;
	jpeg_destroy_decompress(&d->ci);
	free(d->tmp);
	if (rc == 0)
		*out = d->im;
	else if (d->im != NULL)
		gdImageDestroy(d->im);
	free(d);
	return rc;
}

/* ---- encoding --------------------------------------------------------- */

struct imgjpeg_enc {
	struct jpeg_compress_struct ci;
	struct imgjpeg_err err;
	FILE *fp;
	gdImagePtr im;
	int quality;
	JSAMPLE *tmp;
};

static JSAMPROW imgjpeg_enc_row(struct imgjpeg_enc *e, int y, bool grey, bool direct)
{
	const int *s;
	int x;

	if (grey)
		return e->im->pixels[y];
	if (direct)
		return (JSAMPROW)(void *)e->im->tpixels[y];
	s = e->im->tpixels[y];
	for (x = 0; x < e->im->sx; x++) {
		e->tmp[3 * x] = (JSAMPLE)gdTrueColorGetRed(s[x]);
		e->tmp[3 * x + 1] = (JSAMPLE)gdTrueColorGetGreen(s[x]);
		e->tmp[3 * x + 2] = (JSAMPLE)gdTrueColorGetBlue(s[x]);
	}
	return e->tmp;
}

static int imgjpeg_encode_run(struct imgjpeg_enc *e)
{
	bool grey = imgjpeg_is_grey(e->im);
	bool direct = grey || IMGJPEG_LITTLE_ENDIAN;

	if (!grey && !gdImageTrueColor(e->im))
		return IA_ERR_INVAL;
	jpeg_create_compress(&e->ci);
	jpeg_stdio_dest(&e->ci, e->fp);
	e->ci.image_width = (JDIMENSION)e->im->sx;
	e->ci.image_height = (JDIMENSION)e->im->sy;
	e->ci.input_components = grey ? 1 : direct ? 4 : 3;
	e->ci.in_color_space = grey ? JCS_GRAYSCALE : direct ? JCS_EXT_BGRX : JCS_RGB;
	jpeg_set_defaults(&e->ci);
	jpeg_set_quality(&e->ci, e->quality, TRUE);
	e->ci.optimize_coding = TRUE;
	jpeg_start_compress(&e->ci, TRUE);
	if (!direct)
		e->tmp = xmalloc((size_t)e->im->sx * 3);
	while (e->ci.next_scanline < e->ci.image_height) {
		JSAMPROW row = imgjpeg_enc_row(e, (int)e->ci.next_scanline, grey, direct);

		jpeg_write_scanlines(&e->ci, &row, 1);
	}
	jpeg_finish_compress(&e->ci);
	return 0;
}

int imgjpeg_encode(gdImagePtr im, FILE *fp, int quality)
{
	struct imgjpeg_enc *e = xcalloc(1, sizeof(*e));
	int rc;

	e->fp = fp;
	e->im = im;
	e->quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
	imgjpeg_err_init(&e->err);
	e->ci.err = &e->err.pub;
	if (setjmp(e->err.jb) == 0)
		rc = imgjpeg_encode_run(e);
	else
		rc = IA_ERR_IO;
	jpeg_destroy_compress(&e->ci);
	free(e->tmp);
	free(e);
	return rc;
}
