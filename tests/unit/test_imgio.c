/*
 * test_imgio.c - unit tests for lib/imgio.c and lib/imgjpeg.c: probing real
 * PNG/JPEG/WebP/GIF files made here with libgd, a forged 60000x60000 PNG
 * header refused before decoding, truncated and wrong-magic files refused,
 * extension matching, EXIF orientation (a JPEG with a hand-built APP1
 * segment), reduced-size and grey JPEG decoding, and what the encoders
 * write (alpha only when needed, JPEG flattened on white, no metadata).
 */
#include "config.h"

#include "err.h"
#include "imgio.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gd.h>

static char tmpdir[64];

static char *tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_imgio.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* A w x h truecolor image: left half red, right half blue. */
static gdImagePtr make_halves(int w, int h)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);

	gdImageAlphaBlending(im, 0);
	gdImageFilledRectangle(im, 0, 0, w / 2 - 1, h - 1, gdTrueColor(255, 0, 0));
	gdImageFilledRectangle(im, w / 2, 0, w - 1, h - 1, gdTrueColor(0, 0, 255));
	return im;
}

static void write_image(gdImagePtr im, const char *path, enum img_format f)
{
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	if (f == IMG_FMT_PNG)
		gdImagePng(im, fp);
	else if (f == IMG_FMT_JPEG)
		gdImageJpeg(im, fp, 95);
	else if (f == IMG_FMT_WEBP)
		gdImageWebpEx(im, fp, 90);
	else
		gdImageGif(im, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(p, 1, n, fp), n);
	ck_assert_int_eq(fclose(fp), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *p;
	long len;

	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = xmalloc((size_t)len + 1);
	ck_assert_uint_eq(fread(p, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	*n = (size_t)len;
	return p;
}

/* Make a file of format f, w x h, and return its path (caller frees). */
static char *make_file(const char *name, enum img_format f, int w, int h)
{
	char *p = tpath(name);
	gdImagePtr im = make_halves(w, h);

	write_image(im, p, f);
	gdImageDestroy(im);
	return p;
}

static void truncate_file(const char *path, size_t keep)
{
	size_t n;
	unsigned char *b = read_bytes(path, &n);

	ck_assert_uint_lt(keep, n);
	write_bytes(path, b, keep);
	free(b);
}

START_TEST(probe_real_files)
{
	static const enum img_format fmts[] = {IMG_FMT_PNG, IMG_FMT_JPEG, IMG_FMT_WEBP,
					       IMG_FMT_GIF};
	size_t i;

	for (i = 0; i < 4; i++) {
		char *p = make_file("x.img", fmts[i], 123, 45);
		struct img_info info;

		ck_assert_int_eq(imgio_probe_file(p, &info), 0);
		ck_assert_int_eq(info.format, fmts[i]);
		ck_assert_uint_eq(info.width, 123);
		ck_assert_uint_eq(info.height, 45);
		ck_assert_int_eq(info.orientation, 1);
		free(p);
	}
}
END_TEST

/* A valid PNG signature + IHDR claiming 60000 x 60000, nothing else. */
START_TEST(probe_refuses_huge_png_header)
{
	static const unsigned char png[] = {
	    0x89, 'P',  'N',  'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',  'H',  'D',  'R',  0,
	    0,    0xEA, 0x60, 0,   0,    0xEA, 0x60, 8,    6, 0, 0, 0,  0x12, 0x34, 0x56, 0x78,
	};
	char *p = tpath("huge.png");
	struct img_info info = {IMG_FMT_UNKNOWN, 7, 7, 0};
	struct gdImageStruct *im = NULL;

	write_bytes(p, png, sizeof(png));
	ck_assert_int_eq(imgio_probe_file(p, &info), IA_ERR_TOOBIG);
	ck_assert_uint_eq(info.width, 7); /* untouched on failure */
	ck_assert_int_eq(imgio_decode_file(p, NULL, &im, NULL), IA_ERR_TOOBIG);
	ck_assert_ptr_null(im);
	free(p);
}
END_TEST

START_TEST(probe_refuses_wrong_magic)
{
	char *p = tpath("text.png");
	struct img_info info;
	struct gdImageStruct *im = NULL;

	write_bytes(p, "hello, this is not an image at all", 34);
	ck_assert_int_eq(imgio_probe_file(p, &info), IA_ERR_UNSUPPORTED);
	ck_assert_int_eq(imgio_decode_file(p, NULL, &im, NULL), IA_ERR_UNSUPPORTED);
	write_bytes(p, "", 0);
	ck_assert_int_eq(imgio_probe_file(p, &info), IA_ERR_UNSUPPORTED);
	free(p);
	ck_assert_int_eq(imgio_probe_file("/nonexistent/x.png", &info), IA_ERR_IO);
}
END_TEST

START_TEST(probe_refuses_truncated_header)
{
	static const enum img_format fmts[] = {IMG_FMT_PNG, IMG_FMT_JPEG, IMG_FMT_WEBP};
	size_t i;

	for (i = 0; i < 3; i++) {
		char *p = make_file("t.img", fmts[i], 64, 64);
		struct img_info info;

		truncate_file(p, 14);
		ck_assert_int_eq(imgio_probe_file(p, &info), IA_ERR_INVAL);
		free(p);
	}
}
END_TEST

/* Header intact, pixel data cut: the probe passes, decoding fails. */
START_TEST(decode_refuses_truncated_data)
{
	static const enum img_format fmts[] = {IMG_FMT_PNG, IMG_FMT_JPEG, IMG_FMT_WEBP};
	size_t i;

	for (i = 0; i < 3; i++) {
		char *p = make_file("t.img", fmts[i], 300, 200);
		struct img_info info;
		struct gdImageStruct *im = NULL;
		struct stat st;

		ck_assert_int_eq(stat(p, &st), 0);
		truncate_file(p, (size_t)st.st_size / 2);
		ck_assert_int_eq(imgio_probe_file(p, &info), 0);
		ck_assert_int_eq(imgio_decode_file(p, NULL, &im, NULL), IA_ERR_INVAL);
		ck_assert_ptr_null(im);
		free(p);
	}
}
END_TEST

/* A JPEG whose frame header (SOF0) is overwritten: a scan before a frame. */
START_TEST(decode_refuses_corrupt_jpeg)
{
	char *p = make_file("c.jpg", IMG_FMT_JPEG, 64, 64);
	size_t n, i;
	unsigned char *b = read_bytes(p, &n);
	struct img_info info;

	for (i = 2; i + 1 < n; i++) {
		if (b[i] == 0xFF && b[i + 1] == 0xC0) {
			b[i + 1] = 0xDA; /* a scan before any frame */
			break;
		}
	}
	write_bytes(p, b, n);
	ck_assert_int_eq(imgio_probe_file(p, &info), IA_ERR_INVAL);
	free(b);
	free(p);
}
END_TEST

START_TEST(extension_matching)
{
	ck_assert(imgio_extension_matches("a.jpg", IMG_FMT_JPEG));
	ck_assert(imgio_extension_matches("A.JPEG", IMG_FMT_JPEG));
	ck_assert(imgio_extension_matches("photo.Png", IMG_FMT_PNG));
	ck_assert(imgio_extension_matches("x.webp", IMG_FMT_WEBP));
	ck_assert(imgio_extension_matches("x.gif", IMG_FMT_GIF));
	ck_assert(!imgio_extension_matches("a.png", IMG_FMT_JPEG));
	ck_assert(!imgio_extension_matches("a.png.exe", IMG_FMT_PNG));
	ck_assert(!imgio_extension_matches("png", IMG_FMT_PNG));
	ck_assert(!imgio_extension_matches("dir.png/file", IMG_FMT_PNG));
	ck_assert(!imgio_extension_matches(NULL, IMG_FMT_PNG));
	ck_assert(!imgio_extension_matches("a.", IMG_FMT_UNKNOWN));
}
END_TEST

/* Stored media are typed by their key: the normalised upload was stored
 * untyped and served from S3 as application/octet-stream. */
START_TEST(key_mime_follows_the_extension)
{
	ck_assert_str_eq(imgio_key_mime("sources/ab/x.png"), "image/png");
	ck_assert_str_eq(imgio_key_mime("images/ab/x.JPG"), "image/jpeg");
	ck_assert_str_eq(imgio_key_mime("images/ab/x.preview.webp"), "image/webp");
	ck_assert_ptr_null(imgio_key_mime("images/ab/x"));
	ck_assert_ptr_null(imgio_key_mime("images/x.png/y"));
	ck_assert_ptr_null(imgio_key_mime(NULL));
}
END_TEST

START_TEST(format_names)
{
	enum img_format f = IMG_FMT_UNKNOWN;

	ck_assert_str_eq(imgio_format_name(IMG_FMT_JPEG), "jpeg");
	ck_assert_str_eq(imgio_format_mime(IMG_FMT_WEBP), "image/webp");
	ck_assert_str_eq(imgio_format_ext(IMG_FMT_JPEG), "jpg");
	ck_assert_str_eq(imgio_format_name((enum img_format)99), "");
	ck_assert_int_eq(imgio_format_parse("webp", &f), 0);
	ck_assert_int_eq(f, IMG_FMT_WEBP);
	ck_assert_int_eq(imgio_format_parse("gif", &f), IA_ERR_INVAL);
	ck_assert_int_eq(imgio_format_parse("PNG", &f), IA_ERR_INVAL);
	ck_assert_int_eq(f, IMG_FMT_WEBP);
}
END_TEST

/*
 * Insert an APP1 EXIF segment (big-endian TIFF, IFD0 with one SHORT
 * Orientation entry) right after the SOI of the JPEG at path.
 */
static void add_exif_orientation(const char *path, int orientation)
{
	unsigned char app1[] = {
	    0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
	    'M',  'M',  0, 42, 0,   0,   0,   8, /* TIFF header, IFD0 at 8 */
	    0,    1,                             /* one entry */
	    0x01, 0x12, 0, 3,  0,   0,   0,   1,   0, (unsigned char)orientation,
	    0,    0,    0, 0,  0,   0, /* no next IFD */
	};
	size_t n;
	unsigned char *b = read_bytes(path, &n);
	unsigned char *o = xmalloc(n + sizeof(app1));

	ck_assert(b[0] == 0xFF && b[1] == 0xD8);
	memcpy(o, b, 2);
	memcpy(o + 2, app1, sizeof(app1));
	memcpy(o + 2 + sizeof(app1), b + 2, n - 2);
	write_bytes(path, o, n + sizeof(app1));
	free(o);
	free(b);
}

static int red(struct gdImageStruct *im, int x, int y)
{
	return gdTrueColorGetRed(gdImageGetTrueColorPixel(im, x, y));
}

static int blue(struct gdImageStruct *im, int x, int y)
{
	return gdTrueColorGetBlue(gdImageGetTrueColorPixel(im, x, y));
}

START_TEST(exif_orientation_6_rotates)
{
	char *p = make_file("o.jpg", IMG_FMT_JPEG, 40, 20); /* red left, blue right */
	struct img_info info;
	struct gdImageStruct *im = NULL;

	add_exif_orientation(p, 6);
	ck_assert_int_eq(imgio_probe_file(p, &info), 0);
	ck_assert_int_eq(info.orientation, 6);
	ck_assert_uint_eq(info.width, 20);
	ck_assert_uint_eq(info.height, 40);
	ck_assert_int_eq(imgio_decode_file(p, NULL, &im, &info), 0);
	ck_assert_int_eq(gdImageSX(im), 20);
	ck_assert_int_eq(gdImageSY(im), 40);
	/* 90 degrees clockwise: the left (red) half is now on top. */
	ck_assert_int_gt(red(im, 10, 5), 200);
	ck_assert_int_lt(blue(im, 10, 5), 60);
	ck_assert_int_gt(blue(im, 10, 35), 200);
	ck_assert_int_lt(red(im, 10, 35), 60);
	gdImageDestroy(im);
	free(p);
}
END_TEST

START_TEST(exif_orientation_3_keeps_size)
{
	char *p = make_file("o3.jpg", IMG_FMT_JPEG, 40, 20);
	struct gdImageStruct *im = NULL;

	add_exif_orientation(p, 3);
	ck_assert_int_eq(imgio_decode_file(p, NULL, &im, NULL), 0);
	ck_assert_int_eq(gdImageSX(im), 40);
	ck_assert_int_gt(blue(im, 5, 10), 200); /* 180 degrees: blue on the left */
	ck_assert_int_gt(red(im, 35, 10), 200);
	gdImageDestroy(im);
	free(p);
}
END_TEST

/* Every orientation on a 3 x 2 image of distinct pixels, exactly. */
START_TEST(orient_all_eight)
{
	/* Displayed (dx, dy) of raw pixel (0, 0), i.e. raw top-left, per o. */
	static const int corner[9][2] = {{0, 0}, {0, 0}, {2, 0}, {2, 1}, {0, 1},
					 {0, 0}, {1, 0}, {1, 2}, {0, 2}};
	int o;

	for (o = 1; o <= 8; o++) {
		gdImagePtr im = gdImageCreateTrueColor(3, 2);
		int x, y;

		for (y = 0; y < 2; y++)
			for (x = 0; x < 3; x++)
				gdImageSetPixel(im, x, y, gdTrueColor(x * 50, y * 50, 7));
		imgio_orient(&im, o);
		ck_assert_int_eq(gdImageSX(im), o >= 5 ? 2 : 3);
		ck_assert_int_eq(gdImageSY(im), o >= 5 ? 3 : 2);
		ck_assert_int_eq(gdImageGetTrueColorPixel(im, corner[o][0], corner[o][1]),
				 gdTrueColor(0, 0, 7));
		gdImageDestroy(im);
	}
}
END_TEST

START_TEST(jpeg_reduced_and_grey_decode)
{
	char *p = make_file("big.jpg", IMG_FMT_JPEG, 800, 600);
	struct imgio_decode_opts o = {false, 100, 75};
	struct gdImageStruct *im = NULL;

	ck_assert_int_eq(imgio_decode_file(p, &o, &im, NULL), 0);
	ck_assert_int_eq(gdImageSX(im), 100); /* 1/8 */
	ck_assert_int_eq(gdImageSY(im), 75);
	gdImageDestroy(im);
	o.min_width = 101; /* 1/8 would be too small: 1/4 */
	ck_assert_int_eq(imgio_decode_file(p, &o, &im, NULL), 0);
	ck_assert_int_eq(gdImageSX(im), 200);
	gdImageDestroy(im);
	o.grey = true;
	o.min_width = o.min_height = 0;
	ck_assert_int_eq(imgio_decode_file(p, &o, &im, NULL), 0);
	ck_assert(!gdImageTrueColor(im));
	ck_assert_int_eq(gdImageSX(im), 800);
	/* Rec.601 luma of pure red is 76, of pure blue 29. */
	ck_assert_int_lt(abs(gdImageGetPixel(im, 100, 300) - 76), 4);
	ck_assert_int_lt(abs(gdImageGetPixel(im, 700, 300) - 29), 4);
	gdImageDestroy(im);
	free(p);
}
END_TEST

/* PNG colour type: byte 25 of the file (2 = RGB, 6 = RGBA, 3 = palette). */
static int png_color_type(const char *path)
{
	size_t n;
	unsigned char *b = read_bytes(path, &n);
	int t = n > 25 ? b[25] : -1;

	free(b);
	return t;
}

START_TEST(encode_png_alpha_only_when_needed)
{
	gdImagePtr im = make_halves(10, 10);
	char *p = tpath("o.png");
	uint64_t bytes = 0;
	struct stat st;

	ck_assert_int_eq(imgio_encode_file(im, IMG_FMT_PNG, p, &bytes), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(bytes, (uint64_t)st.st_size);
	ck_assert_int_eq(png_color_type(p), 2);
	gdImageSetPixel(im, 3, 3, gdTrueColorAlpha(1, 2, 3, 64));
	ck_assert_int_eq(imgio_encode_file(im, IMG_FMT_PNG, p, NULL), 0);
	ck_assert_int_eq(png_color_type(p), 6);
	gdImageDestroy(im);
	ck_assert_int_eq(imgio_decode_file(p, NULL, &im, NULL), 0);
	ck_assert_int_eq(gdTrueColorGetAlpha(gdImageGetTrueColorPixel(im, 3, 3)), 64);
	ck_assert_int_eq(imgio_encode_file(im, IMG_FMT_GIF, p, NULL), IA_ERR_INVAL);
	gdImageDestroy(im);
	free(p);
}
END_TEST

START_TEST(encode_jpeg_flattens_and_strips)
{
	gdImagePtr im = make_halves(16, 16);
	char *p = tpath("o.jpg");
	size_t n, i;
	unsigned char *b;

	gdImageFilledRectangle(im, 0, 0, 7, 7, gdTrueColorAlpha(0, 0, 0, 127));
	ck_assert_int_eq(imgio_encode_file(im, IMG_FMT_JPEG, p, NULL), 0);
	gdImageDestroy(im);
	b = read_bytes(p, &n);
	for (i = 0; i + 1 < n; i++) { /* no COM, no APPn but JFIF's APP0 */
		ck_assert(!(b[i] == 0xFF && (b[i + 1] == 0xFE || b[i + 1] == 0xE1)));
	}
	free(b);
	ck_assert_int_eq(imgio_decode_file(p, NULL, &im, NULL), 0);
	ck_assert_int_gt(red(im, 2, 2), 240); /* transparent -> white */
	ck_assert_int_gt(blue(im, 2, 2), 240);
	ck_assert_int_gt(blue(im, 13, 13), 200);
	gdImageDestroy(im);
	free(p);
}
END_TEST

START_TEST(encode_webp_and_grey_jpeg)
{
	char *src = make_file("g.jpg", IMG_FMT_JPEG, 64, 32);
	struct imgio_decode_opts o = {true, 0, 0};
	char *pw = tpath("g.webp"), *pj = tpath("g2.jpg");
	struct gdImageStruct *im = NULL, *back = NULL;
	struct img_info info;

	ck_assert_int_eq(imgio_decode_file(src, &o, &im, NULL), 0);
	ck_assert_int_eq(imgio_encode_file(im, IMG_FMT_JPEG, pj, NULL), 0);
	ck_assert_int_eq(imgio_encode_file(im, IMG_FMT_WEBP, pw, NULL), 0);
	gdImageDestroy(im);
	ck_assert_int_eq(imgio_probe_file(pw, &info), 0);
	ck_assert_int_eq(info.format, IMG_FMT_WEBP);
	ck_assert_int_eq(imgio_decode_file(pj, NULL, &back, NULL), 0);
	ck_assert_int_eq(red(back, 10, 10), blue(back, 10, 10)); /* one channel */
	gdImageDestroy(back);
	free(src);
	free(pw);
	free(pj);
}
END_TEST

START_TEST(compact_grey_to_palette)
{
	gdImagePtr im = gdImageCreateTrueColor(20, 10);
	char *p = tpath("bw.png");
	size_t n;
	unsigned char *b;

	gdImageAlphaBlending(im, 0);
	gdImageFilledRectangle(im, 0, 0, 19, 9, gdTrueColor(255, 255, 255));
	gdImageLine(im, 0, 5, 19, 5, gdTrueColor(0, 0, 0));
	imgio_compact(&im);
	ck_assert(!gdImageTrueColor(im));
	ck_assert_int_eq(gdImageColorsTotal(im), 2);
	ck_assert_int_eq(imgio_encode_file(im, IMG_FMT_PNG, p, NULL), 0);
	b = read_bytes(p, &n);
	ck_assert_int_eq(b[24], 1); /* bit depth 1 */
	ck_assert_int_eq(b[25], 3); /* palette */
	free(b);
	gdImageDestroy(im);
	/* Round trip keeps the pixels. */
	ck_assert_int_eq(imgio_decode_file(p, NULL, &im, NULL), 0);
	ck_assert_int_eq(gdImageGetTrueColorPixel(im, 3, 5), gdTrueColor(0, 0, 0));
	ck_assert_int_eq(gdImageGetTrueColorPixel(im, 3, 4), gdTrueColor(255, 255, 255));
	gdImageSetPixel(im, 0, 0, gdTrueColor(1, 2, 3)); /* colour: left alone */
	imgio_compact(&im);
	ck_assert(gdImageTrueColor(im));
	gdImageDestroy(im);
	free(p);
}
END_TEST

/*
 * Flip bytes all over valid files: decoding must fail cleanly or succeed,
 * never crash or leak (the sanitizer build checks the latter).
 */
START_TEST(decode_survives_mutations)
{
	static const enum img_format fmts[] = {IMG_FMT_PNG, IMG_FMT_JPEG, IMG_FMT_WEBP,
					       IMG_FMT_GIF};
	size_t i;
	unsigned seed = 12345;
	int k;

	for (i = 0; i < 4; i++) {
		char *p = make_file("m.img", fmts[i], 48, 32);
		size_t n;
		unsigned char *orig = read_bytes(p, &n), *b = xmalloc(n);

		for (k = 0; k < 150; k++) {
			struct gdImageStruct *im = NULL;
			int j, rc;

			memcpy(b, orig, n);
			for (j = 0; j < 1 + k % 4; j++) {
				seed = seed * 1103515245u + 12345u;
				b[(seed >> 8) % n] ^= (unsigned char)(1u << ((seed >> 4) % 8));
			}
			write_bytes(p, b, n);
			rc = imgio_decode_file(p, NULL, &im, NULL);
			ck_assert(rc == 0 || rc == IA_ERR_INVAL || rc == IA_ERR_UNSUPPORTED ||
				  rc == IA_ERR_TOOBIG);
			if (rc == 0)
				gdImageDestroy(im);
			else
				ck_assert_ptr_null(im);
		}
		free(b);
		free(orig);
		free(p);
	}
}
END_TEST

static Suite *imgio_suite(void)
{
	Suite *s = suite_create("imgio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, probe_real_files);
	tcase_add_test(tc, key_mime_follows_the_extension);
	tcase_add_test(tc, probe_refuses_huge_png_header);
	tcase_add_test(tc, probe_refuses_wrong_magic);
	tcase_add_test(tc, probe_refuses_truncated_header);
	tcase_add_test(tc, decode_refuses_truncated_data);
	tcase_add_test(tc, decode_refuses_corrupt_jpeg);
	tcase_add_test(tc, extension_matching);
	tcase_add_test(tc, format_names);
	tcase_add_test(tc, exif_orientation_6_rotates);
	tcase_add_test(tc, exif_orientation_3_keeps_size);
	tcase_add_test(tc, orient_all_eight);
	tcase_add_test(tc, jpeg_reduced_and_grey_decode);
	tcase_add_test(tc, encode_png_alpha_only_when_needed);
	tcase_add_test(tc, encode_jpeg_flattens_and_strips);
	tcase_add_test(tc, encode_webp_and_grey_jpeg);
	tcase_add_test(tc, compact_grey_to_palette);
	tcase_add_test(tc, decode_survives_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
