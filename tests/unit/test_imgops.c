/*
 * test_imgops.c - unit tests for lib/imgops.c and lib/imgfilter.c: the
 * DRF-worded parameter validation, each simple service's pixels (greyscale
 * R=G=B with alpha kept, exact resize sizes and colour fidelity, thumbnail
 * fits and never enlarges, crop copies and refuses outside boxes,
 * enhancement sizes and bounds), and the file-to-file dispatcher and
 * upload normalisation.
 */
#include "config.h"

#include "err.h"
#include "imgops.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gd.h>

static char tmpdir[64];

static char *tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_imgops.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* A colourful w x h truecolor image (gradients) with opaque pixels. */
static gdImagePtr make_image(int w, int h)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	int x, y;

	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			gdImageSetPixel(im, x, y,
					gdTrueColor(x * 255 / w, y * 255 / h, (x + y) % 256));
	return im;
}

static gdImagePtr make_solid(int w, int h, int color)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);

	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	gdImageFilledRectangle(im, 0, 0, w - 1, h - 1, color);
	return im;
}

/* ---- validation ------------------------------------------------------- */

struct verr {
	int rc;
	char field[64];
	char msg[160];
};

static struct verr validate(const char *slug, const struct img_param *p, size_t n,
			    const struct img_info *src)
{
	struct verr v;

	memset(&v, 0, sizeof(v));
	v.rc =
	    imgops_validate_params(slug, p, n, src, v.field, sizeof(v.field), v.msg, sizeof(v.msg));
	return v;
}

#define CHECK_ERR(v, f, m)                                                                         \
	do {                                                                                       \
		ck_assert_int_eq((v).rc, IA_ERR_INVAL);                                            \
		ck_assert_str_eq((v).field, f);                                                    \
		ck_assert_str_eq((v).msg, m);                                                      \
	} while (0)

/* imgops_params_json(slug, p) gives exactly want (rc 0), or fails with rc. */
static void check_params_json(const char *slug, const struct img_param *p, size_t n,
			      const char *want, int rc)
{
	char *got = NULL;

	ck_assert_int_eq(imgops_params_json(slug, p, n, &got), rc);
	if (rc == 0)
		ck_assert_str_eq(got, want);
	else
		ck_assert_ptr_null(got);
	free(got);
}

START_TEST(params_json_as_accepted)
{
	struct img_param resize[] = {{"width", " 400.0 "}, {"height", "300"}, {"junk", "x"}};
	struct img_param resize_webp[] = {{"width", "1"}, {"height", "2"}, {"format", "webp"}};
	struct img_param crop[] = {
	    {"x", "0"}, {"y", "5"}, {"width", "10"}, {"height", "20"}, {"format", "jpeg"}};
	struct img_param enhance[] = {{"scale", "2"}, {"prompt", "sharper, please"}};
	struct img_param outline[] = {{"low_threshold", "10"}};
	struct img_param bad[] = {{"width", "0"}, {"height", "300"}};

	check_params_json("resize", resize, 3, "{\"width\":400,\"height\":300,\"format\":\"png\"}",
			  0);
	check_params_json("resize", resize_webp, 3,
			  "{\"width\":1,\"height\":2,\"format\":\"webp\"}", 0);
	check_params_json("thumbnail", NULL, 0,
			  "{\"max_width\":1280,\"max_height\":720,\"format\":\"png\"}", 0);
	check_params_json("cropping", crop, 5,
			  "{\"x\":0,\"y\":5,\"width\":10,\"height\":20,\"format\":\"jpeg\"}", 0);
	check_params_json("enhancement", NULL, 0, "{\"scale\":4,\"format\":\"png\"}", 0);
	check_params_json("enhancement", enhance, 2,
			  "{\"scale\":2,\"prompt\":\"sharper, please\",\"format\":\"png\"}", 0);
	check_params_json("outline", outline, 1,
			  "{\"low_threshold\":10,\"high_threshold\":150,\"format\":\"png\"}", 0);
	check_params_json("greyscale", resize, 3, "{\"format\":\"png\"}", 0);
	check_params_json("remove-background", resize_webp, 3, "{\"format\":\"webp\"}", 0);
	check_params_json("resize", bad, 2, NULL, IA_ERR_INVAL);
	check_params_json("generate", NULL, 0, NULL, IA_ERR_NOTFOUND);
}
END_TEST

START_TEST(validate_resize)
{
	struct img_param ok[] = {{"width", "800"}, {"height", "600"}};
	struct img_param big[] = {{"width", "8193"}, {"height", "600"}};
	struct img_param zero[] = {{"width", "0"}, {"height", "600"}};
	struct img_param word[] = {{"width", "abc"}, {"height", "600"}};
	struct img_param dec[] = {{"width", " 12.0 "}, {"height", "600"}};
	struct img_param huge[] = {{"width", "99999999999999999999"}, {"height", "1"}};
	struct img_param empty[] = {{"width", ""}, {"height", "600"}};
	struct img_param area[] = {{"width", "8192"}, {"height", "8192"}};
	struct verr v;

	ck_assert_int_eq(validate("resize", ok, 2, NULL).rc, 0);
	ck_assert_int_eq(validate("resize", dec, 2, NULL).rc, 0);
	v = validate("resize", big, 2, NULL);
	CHECK_ERR(v, "width", "Ensure this value is less than or equal to 8192.");
	v = validate("resize", zero, 2, NULL);
	CHECK_ERR(v, "width", "Ensure this value is greater than or equal to 1.");
	v = validate("resize", word, 2, NULL);
	CHECK_ERR(v, "width", "A valid integer is required.");
	v = validate("resize", huge, 2, NULL);
	CHECK_ERR(v, "width", "Ensure this value is less than or equal to 8192.");
	v = validate("resize", empty, 2, NULL);
	CHECK_ERR(v, "width", "A valid integer is required.");
	v = validate("resize", ok, 1, NULL);
	CHECK_ERR(v, "height", "This field is required.");
	v = validate("resize", area, 2, NULL);
	CHECK_ERR(v, "non_field_errors", "The output would exceed 50000000 pixels.");
}
END_TEST

START_TEST(validate_format_and_slugs)
{
	struct img_param gif[] = {{"format", "gif"}};
	struct img_param jpeg[] = {{"format", "jpeg"}};
	struct img_param blank[] = {{"format", ""}, {"unknown", "x"}};
	struct verr v;
	enum img_format f = IMG_FMT_UNKNOWN;

	v = validate("greyscale", gif, 1, NULL);
	CHECK_ERR(v, "format", "\"gif\" is not a valid choice.");
	ck_assert_int_eq(validate("greyscale", jpeg, 1, NULL).rc, 0);
	ck_assert_int_eq(validate("greyscale", blank, 2, NULL).rc, 0);
	v = validate("remove-background", jpeg, 1, NULL);
	CHECK_ERR(v, "format",
		  "JPEG has no transparency: choose png or webp for remove-background.");
	ck_assert_int_eq(validate("avatar", jpeg, 1, NULL).rc, 0);
	ck_assert_int_eq(validate("generate", NULL, 0, NULL).rc, IA_ERR_NOTFOUND);
	ck_assert_int_eq(validate("nope", NULL, 0, NULL).rc, IA_ERR_NOTFOUND);
	ck_assert_int_eq(imgops_params_format(blank, 2, &f), 0);
	ck_assert_int_eq(f, IMG_FMT_PNG);
	ck_assert_int_eq(imgops_params_format(jpeg, 1, &f), 0);
	ck_assert_int_eq(f, IMG_FMT_JPEG);
	ck_assert_int_eq(imgops_params_format(gif, 1, &f), IA_ERR_INVAL);
}
END_TEST

START_TEST(validate_crop_box)
{
	struct img_info src = {IMG_FMT_PNG, 100, 50, 1};
	struct img_param in[] = {{"x", "10"}, {"y", "0"}, {"width", "90"}, {"height", "50"}};
	struct img_param out[] = {{"x", "11"}, {"y", "0"}, {"width", "90"}, {"height", "50"}};
	struct img_param neg[] = {{"x", "-1"}, {"y", "0"}, {"width", "1"}, {"height", "1"}};
	struct verr v;

	ck_assert_int_eq(validate("cropping", in, 4, &src).rc, 0);
	v = validate("cropping", out, 4, &src);
	CHECK_ERR(v, "non_field_errors", "Crop box must lie inside the image.");
	ck_assert_int_eq(validate("cropping", out, 4, NULL).rc, 0); /* no source yet */
	v = validate("cropping", neg, 4, &src);
	CHECK_ERR(v, "x", "Ensure this value is greater than or equal to 0.");
	v = validate("cropping", in, 3, &src);
	CHECK_ERR(v, "height", "This field is required.");
}
END_TEST

START_TEST(validate_enhance_outline_thumbnail)
{
	struct img_info small = {IMG_FMT_JPEG, 1000, 1000, 1};
	struct img_info big = {IMG_FMT_JPEG, 4000, 3000, 1};
	struct img_param s3[] = {{"scale", "3"}};
	struct img_param s2[] = {{"scale", "2"}, {"prompt", "anything"}};
	struct img_param th[] = {{"low_threshold", "200"}, {"high_threshold", "100"}};
	struct img_param t256[] = {{"low_threshold", "256"}};
	struct img_param mw[] = {{"max_width", "9000"}};
	struct verr v;

	v = validate("enhancement", s3, 1, &small);
	CHECK_ERR(v, "scale", "\"3\" is not a valid choice.");
	ck_assert_int_eq(validate("enhancement", s2, 2, &small).rc, 0);
	ck_assert_int_eq(validate("enhancement", NULL, 0, &small).rc, 0); /* 4x: 16 MP */
	ck_assert_int_eq(validate("enhancement", s2, 2, &big).rc, 0);     /* 48 MP */
	v = validate("enhancement", NULL, 0, &big);
	CHECK_ERR(v, "scale", "The output would exceed 50000000 pixels.");
	v = validate("outline", th, 2, NULL);
	CHECK_ERR(v, "non_field_errors",
		  "low_threshold must be less than or equal to high_threshold.");
	v = validate("outline", t256, 1, NULL);
	CHECK_ERR(v, "low_threshold", "Ensure this value is less than or equal to 255.");
	ck_assert_int_eq(validate("outline", NULL, 0, NULL).rc, 0);
	v = validate("thumbnail", mw, 1, NULL);
	CHECK_ERR(v, "max_width", "Ensure this value is less than or equal to 8192.");
	ck_assert_int_eq(validate("thumbnail", NULL, 0, NULL).rc, 0);
}
END_TEST

/* ---- services on images ----------------------------------------------- */

START_TEST(greyscale_pixels)
{
	gdImagePtr src = make_image(40, 30), g;
	int x, y;

	gdImageSetPixel(src, 5, 5, gdTrueColorAlpha(255, 0, 0, 100));
	g = imgops_greyscale(src);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(gdImageSX(g), 40);
	for (y = 0; y < 30; y++) {
		for (x = 0; x < 40; x++) {
			int p = gdImageGetTrueColorPixel(g, x, y);

			ck_assert_int_eq(gdTrueColorGetRed(p), gdTrueColorGetGreen(p));
			ck_assert_int_eq(gdTrueColorGetGreen(p), gdTrueColorGetBlue(p));
		}
	}
	ck_assert_int_eq(gdTrueColorGetAlpha(gdImageGetTrueColorPixel(g, 5, 5)), 100);
	ck_assert_int_eq(gdTrueColorGetRed(gdImageGetTrueColorPixel(g, 5, 5)), 76);
	ck_assert_int_eq(gdTrueColorGetAlpha(gdImageGetTrueColorPixel(g, 6, 5)), 0);
	gdImageDestroy(g);
	gdImageDestroy(src);
}
END_TEST

START_TEST(resize_sizes_and_colour)
{
	gdImagePtr src = make_solid(300, 200, gdTrueColorAlpha(10, 200, 30, 60)), r;
	int x, y;

	r = imgops_resize(src, 123, 457); /* shrink one way, grow the other */
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(gdImageSX(r), 123);
	ck_assert_int_eq(gdImageSY(r), 457);
	for (y = 0; y < 457; y += 13)
		for (x = 0; x < 123; x += 7)
			ck_assert_int_eq(gdImageGetTrueColorPixel(r, x, y),
					 gdTrueColorAlpha(10, 200, 30, 60));
	gdImageDestroy(r);
	ck_assert_ptr_null(imgops_resize(src, 0, 10));
	ck_assert_ptr_null(imgops_resize(src, 8193, 10));
	gdImageDestroy(src);
}
END_TEST

/* Fully transparent pixels must not bleed their colour into neighbours. */
START_TEST(resize_premultiplied_alpha)
{
	gdImagePtr src = make_solid(64, 64, gdTrueColorAlpha(0, 0, 255, 0)), r;
	int p, q;

	gdImageFilledRectangle(src, 0, 0, 31, 63, gdTrueColorAlpha(255, 0, 0, 127));
	r = imgops_resize(src, 16, 16);
	p = gdImageGetTrueColorPixel(r, 7, 8); /* either side of the boundary */
	q = gdImageGetTrueColorPixel(r, 8, 8);
	ck_assert_int_lt(gdTrueColorGetRed(p), 8);
	ck_assert_int_gt(gdTrueColorGetBlue(p), 240);
	ck_assert_int_lt(gdTrueColorGetRed(q), 8);
	ck_assert_int_gt(gdTrueColorGetBlue(q), 240);
	ck_assert_int_gt(gdTrueColorGetAlpha(p), 63); /* mostly transparent */
	ck_assert_int_lt(gdTrueColorGetAlpha(p), 127);
	ck_assert_int_gt(gdTrueColorGetAlpha(q), 0); /* mostly opaque */
	ck_assert_int_lt(gdTrueColorGetAlpha(q), 64);
	gdImageDestroy(r);
	gdImageDestroy(src);
}
END_TEST

START_TEST(thumbnail_fits_never_enlarges)
{
	gdImagePtr src = make_image(400, 100), t;
	uint32_t w, h;

	t = imgops_thumbnail(src, 100, 100);
	ck_assert_int_eq(gdImageSX(t), 100);
	ck_assert_int_eq(gdImageSY(t), 25);
	gdImageDestroy(t);
	t = imgops_thumbnail(src, 1280, 720); /* already fits: same size copy */
	ck_assert_int_eq(gdImageSX(t), 400);
	ck_assert_int_eq(gdImageSY(t), 100);
	ck_assert_int_eq(gdImageGetTrueColorPixel(t, 17, 33),
			 gdImageGetTrueColorPixel(src, 17, 33));
	gdImageDestroy(t);
	gdImageDestroy(src);
	imgops_thumbnail_size(4000, 3000, 1280, 720, &w, &h);
	ck_assert_uint_eq(w, 960);
	ck_assert_uint_eq(h, 720);
	imgops_thumbnail_size(3000, 10, 1280, 720, &w, &h);
	ck_assert_uint_eq(w, 1280);
	ck_assert_uint_eq(h, 4);
	imgops_thumbnail_size(10000, 1, 100, 100, &w, &h);
	ck_assert_uint_eq(h, 1); /* never 0 */
}
END_TEST

START_TEST(crop_copies_and_refuses)
{
	gdImagePtr src = make_image(50, 40), c;

	c = imgops_crop(src, 10, 5, 20, 30);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(gdImageSX(c), 20);
	ck_assert_int_eq(gdImageSY(c), 30);
	ck_assert_int_eq(gdImageGetTrueColorPixel(c, 0, 0), gdImageGetTrueColorPixel(src, 10, 5));
	ck_assert_int_eq(gdImageGetTrueColorPixel(c, 19, 29),
			 gdImageGetTrueColorPixel(src, 29, 34));
	gdImageDestroy(c);
	ck_assert_ptr_null(imgops_crop(src, 31, 0, 20, 10));
	ck_assert_ptr_null(imgops_crop(src, 0, 0, 0, 10));
	ck_assert_ptr_null(imgops_crop(src, -1, 0, 5, 5));
	gdImageDestroy(src);
}
END_TEST

START_TEST(enhance_sizes_and_contrast)
{
	gdImagePtr src = make_solid(30, 20, gdTrueColor(100, 100, 100)), e;
	int p, q;

	gdImageFilledRectangle(src, 15, 0, 29, 19, gdTrueColor(140, 140, 140));
	e = imgops_enhance(src, 4);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(gdImageSX(e), 120);
	ck_assert_int_eq(gdImageSY(e), 80);
	p = gdTrueColorGetRed(gdImageGetTrueColorPixel(e, 5, 40));
	q = gdTrueColorGetRed(gdImageGetTrueColorPixel(e, 115, 40));
	ck_assert_int_lt(p, 60); /* 40 levels apart, stretched */
	ck_assert_int_gt(q, 195);
	ck_assert_int_gt(q - p, 150);
	gdImageDestroy(e);
	ck_assert_ptr_null(imgops_enhance(src, 3));
	gdImageDestroy(src);
}
END_TEST

/* ---- dispatcher ------------------------------------------------------- */

static char *write_jpeg(const char *name, int w, int h)
{
	char *p = tpath(name);
	gdImagePtr im = make_image(w, h);
	FILE *fp = fopen(p, "wb");

	ck_assert_ptr_nonnull(fp);
	gdImageJpeg(im, fp, 92);
	fclose(fp);
	gdImageDestroy(im);
	return p;
}

static gdImagePtr load(const char *path)
{
	FILE *fp = fopen(path, "rb");
	gdImagePtr im;

	ck_assert_ptr_nonnull(fp);
	im = gdImageCreateFromPng(fp);
	fclose(fp);
	ck_assert_ptr_nonnull(im);
	return im;
}

static int count_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	for (e = readdir(d); e != NULL; e = readdir(d))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

START_TEST(run_thumbnail_and_greyscale)
{
	char *in = write_jpeg("in.jpg", 1600, 1200), *out = tpath("out.png");
	struct img_param p[] = {{"max_width", "200"}, {"max_height", "200"}};
	struct img_result r;
	char err[128] = "";
	gdImagePtr im;
	int x;

	ck_assert_int_eq(
	    imgops_run_service("thumbnail", in, out, IMG_FMT_PNG, p, 2, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.width, 200);
	ck_assert_uint_eq(r.height, 150);
	ck_assert_int_eq(r.format, IMG_FMT_PNG);
	ck_assert_uint_gt(r.bytes, 100);
	im = load(out);
	ck_assert_int_eq(gdImageSX(im), 200);
	gdImageDestroy(im);
	ck_assert_int_eq(
	    imgops_run_service("greyscale", in, out, IMG_FMT_PNG, NULL, 0, &r, err, sizeof(err)),
	    0);
	im = load(out);
	ck_assert_int_eq(gdImageSX(im), 1600);
	for (x = 0; x < 1600; x += 37) {
		int c = gdImageGetTrueColorPixel(im, x, 600);

		ck_assert_int_eq(gdTrueColorGetRed(c), gdTrueColorGetBlue(c));
		ck_assert_int_eq(gdTrueColorGetRed(c), gdTrueColorGetGreen(c));
	}
	gdImageDestroy(im);
	ck_assert_int_eq(count_files(), 2); /* no temp file left behind */
	free(in);
	free(out);
}
END_TEST

START_TEST(run_refusals)
{
	char *in = write_jpeg("in.jpg", 100, 50), *out = tpath("out.png");
	struct img_param crop[] = {{"x", "90"}, {"y", "0"}, {"width", "20"}, {"height", "10"}};
	struct img_result r = {0, 0, 0, IMG_FMT_UNKNOWN, -1.0};
	char err[128] = "";

	ck_assert_int_eq(
	    imgops_run_service("cropping", in, out, IMG_FMT_PNG, crop, 4, &r, err, sizeof(err)),
	    IA_ERR_INVAL);
	ck_assert_str_eq(err, "non_field_errors: Crop box must lie inside the image.");
	ck_assert_uint_eq(r.width, 0);
	ck_assert_int_eq(
	    imgops_run_service("nope", in, out, IMG_FMT_PNG, NULL, 0, &r, err, sizeof(err)),
	    IA_ERR_NOTFOUND);
	ck_assert_int_eq(imgops_run_service("remove-background", in, out, IMG_FMT_JPEG, NULL, 0, &r,
					    err, sizeof(err)),
			 IA_ERR_INVAL);
	ck_assert_int_eq(imgops_run_service("greyscale", "/nonexistent.jpg", out, IMG_FMT_PNG, NULL,
					    0, &r, err, sizeof(err)),
			 IA_ERR_IO);
	ck_assert_int_eq(access(out, F_OK), -1);
	crop[0].value = "0";
	ck_assert_int_eq(
	    imgops_run_service("cropping", in, out, IMG_FMT_WEBP, crop, 4, &r, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(r.width, 20);
	ck_assert_int_eq(r.format, IMG_FMT_WEBP);
	free(in);
	free(out);
}
END_TEST

/* The engine's confidence reaches the caller for remove-background (issue
 * 12: engine=auto decides on it); other services report none (-1). */
START_TEST(run_reports_confidence)
{
	char *in = write_jpeg("in.jpg", 64, 48), *out = tpath("out.png");
	struct img_result r;
	char err[128] = "";

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(imgops_run_service("remove-background", in, out, IMG_FMT_PNG, NULL, 0, &r,
					    err, sizeof(err)),
			 0);
	ck_assert_msg(r.confidence >= 0.0 && r.confidence <= 1.0, "confidence %g", r.confidence);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
	    imgops_run_service("greyscale", in, out, IMG_FMT_PNG, NULL, 0, &r, err, sizeof(err)),
	    0);
	ck_assert(r.confidence < 0.0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(imgops_normalize_upload(in, out, &r), 0);
	ck_assert(r.confidence < 0.0);
	free(in);
	free(out);
}
END_TEST

START_TEST(normalize_upload_strips_and_rotates)
{
	static const unsigned char app1[] = {
	    0xFF, 0xE1, 0,    34,   'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
	    1,    0,    0x12, 0x01, 3,   0,   1,   0,   0, 0, 8,   0,   0,  0, 0, 0, 0, 0,
	};
	char *in = write_jpeg("up.jpg", 60, 20), *out = tpath("norm.jpg");
	struct img_result r;
	FILE *fp;
	unsigned char *b;
	long n;
	struct img_info info;

	/* Splice an orientation=8 EXIF block in after SOI. */
	fp = fopen(in, "rb");
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	b = xmalloc((size_t)n + sizeof(app1));
	ck_assert_uint_eq(fread(b, 1, 2, fp), 2);
	memcpy(b + 2, app1, sizeof(app1));
	ck_assert_uint_eq(fread(b + 2 + sizeof(app1), 1, (size_t)n - 2, fp), (size_t)n - 2);
	fclose(fp);
	fp = fopen(in, "wb");
	fwrite(b, 1, (size_t)n + sizeof(app1), fp);
	fclose(fp);
	free(b);

	ck_assert_int_eq(imgops_normalize_upload(in, out, &r), 0);
	ck_assert_uint_eq(r.width, 20);
	ck_assert_uint_eq(r.height, 60);
	ck_assert_int_eq(r.format, IMG_FMT_JPEG);
	ck_assert_int_eq(imgio_probe_file(out, &info), 0);
	ck_assert_int_eq(info.orientation, 1); /* EXIF gone */
	ck_assert_uint_eq(info.width, 20);
	ck_assert_int_eq(imgops_normalize_upload(in, in, &r), 0); /* in place */
	ck_assert_uint_eq(r.height, 60);
	free(in);
	free(out);
}
END_TEST

static Suite *imgops_suite(void)
{
	Suite *s = suite_create("imgops");
	TCase *tv = tcase_create("validate");
	TCase *ts = tcase_create("services");
	TCase *td = tcase_create("dispatch");

	tcase_add_test(tv, validate_resize);
	tcase_add_test(tv, validate_format_and_slugs);
	tcase_add_test(tv, validate_crop_box);
	tcase_add_test(tv, validate_enhance_outline_thumbnail);
	tcase_add_test(tv, params_json_as_accepted);
	tcase_add_test(ts, greyscale_pixels);
	tcase_add_test(ts, resize_sizes_and_colour);
	tcase_add_test(ts, resize_premultiplied_alpha);
	tcase_add_test(ts, thumbnail_fits_never_enlarges);
	tcase_add_test(ts, crop_copies_and_refuses);
	tcase_add_test(ts, enhance_sizes_and_contrast);
	tcase_add_checked_fixture(td, setup, teardown);
	tcase_add_test(td, run_thumbnail_and_greyscale);
	tcase_add_test(td, run_refusals);
	tcase_add_test(td, run_reports_confidence);
	tcase_add_test(td, normalize_upload_strips_and_rotates);
	suite_add_tcase(s, tv);
	suite_add_tcase(s, ts);
	suite_add_tcase(s, td);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgops_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
