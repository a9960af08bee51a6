/*
 * test_imgjpeg.c - unit tests for lib/imgjpeg.c straight through
 * imgjpeg.h, in memory (open_memstream, fmemopen): an encode -> decode
 * round trip stays within a PSNR bound and a higher quality is closer;
 * DCT scaling with denom 2, 4 and 8 gives ceil(size / denom) and the same
 * picture; a grey decode gives the grey palette image (imgjpeg_is_grey)
 * with the luma of the colours, and a grey image encodes as a
 * one-component JPEG; imgjpeg_is_grey is false for coloured, truecolor
 * and transparent-index images; a JPEG cut anywhere, or a size other than
 * its header's, is IA_ERR_INVAL and not a crash; a coloured palette image
 * is refused by the encoder.
 */
#include "config.h"

#include "err.h"
#include "imgjpeg.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>

/* A smooth colour picture with a soft disc: what JPEG is made for. Odd
 * sizes, so the last MCU row and column are partial. */
static gdImagePtr picture(int w, int h)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);

	ck_assert_ptr_nonnull(im);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double dx = x - w / 2.0, dy = y - h / 2.0;
			double disc = 60.0 * exp(-(dx * dx + dy * dy) / (2.0 * 15.0 * 15.0));

			im->tpixels[y][x] =
			    gdTrueColor(40 + x * 150 / w, 200 - y * 120 / h, (int)(90 + disc));
		}
	return im;
}

/* Encode im at quality q into a heap buffer (*len bytes, caller frees). */
static unsigned char *encode(gdImagePtr im, int q, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(imgjpeg_encode(im, f, q), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_gt(*len, 100);
	return (unsigned char *)buf;
}

static int decode(const unsigned char *buf, size_t len, uint32_t w, uint32_t h, unsigned denom,
		  bool grey, gdImagePtr *out)
{
	FILE *f = fmemopen((void *)buf, len, "rb");
	int rc;

	ck_assert_ptr_nonnull(f);
	*out = NULL;
	rc = imgjpeg_decode(f, w, h, denom, grey, out);
	fclose(f);
	return rc;
}

/* PSNR over R, G and B of two truecolor images of the same size. */
static double psnr(gdImagePtr a, gdImagePtr b)
{
	double se = 0.0;
	int n = 0;

	ck_assert_int_eq(gdImageSX(a), gdImageSX(b));
	ck_assert_int_eq(gdImageSY(a), gdImageSY(b));
	for (int y = 0; y < gdImageSY(a); y++)
		for (int x = 0; x < gdImageSX(a); x++) {
			int p = a->tpixels[y][x], q = b->tpixels[y][x];
			int d[3] = {gdTrueColorGetRed(p) - gdTrueColorGetRed(q),
				    gdTrueColorGetGreen(p) - gdTrueColorGetGreen(q),
				    gdTrueColorGetBlue(p) - gdTrueColorGetBlue(q)};

			for (int c = 0; c < 3; c++)
				se += (double)d[c] * d[c];
			n += 3;
		}
	return se == 0.0 ? 99.0 : 10.0 * log10(255.0 * 255.0 * n / se);
}

START_TEST(round_trip_stays_within_a_psnr_bound)
{
	gdImagePtr src = picture(97, 61), back = NULL, back_low = NULL;
	size_t len = 0, len_low = 0;
	unsigned char *hi = encode(src, 90, &len), *lo = encode(src, 20, &len_low);
	double p_hi, p_lo;

	ck_assert_int_eq(decode(hi, len, 97, 61, 1, false, &back), 0);
	ck_assert(gdImageTrueColor(back));
	ck_assert_int_eq(gdImageSX(back), 97);
	ck_assert_int_eq(gdImageSY(back), 61);
	/* Opaque: the X byte of the BGRX rows is cleared. */
	for (int y = 0; y < 61; y++)
		for (int x = 0; x < 97; x++)
			ck_assert_int_eq(gdTrueColorGetAlpha(back->tpixels[y][x]), 0);
	p_hi = psnr(src, back);
	ck_assert_msg(p_hi > 38.0, "quality 90: PSNR %.1f dB", p_hi);
	ck_assert_int_eq(decode(lo, len_low, 97, 61, 1, false, &back_low), 0);
	p_lo = psnr(src, back_low);
	ck_assert_msg(p_lo > 28.0 && p_lo < p_hi, "quality 20: PSNR %.1f dB (90: %.1f)", p_lo,
		      p_hi);
	ck_assert_uint_lt(len_low, len);
	gdImageDestroy(back);
	gdImageDestroy(back_low);
	gdImageDestroy(src);
	free(hi);
	free(lo);
}
END_TEST

/* Channels come back in their places (BGRX vs RGB): pure colours. */
START_TEST(round_trip_keeps_channels_in_place)
{
	static const int colours[] = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00};
	gdImagePtr src = gdImageCreateTrueColor(32, 8), back = NULL;
	unsigned char *buf;
	size_t len = 0;

	for (int x = 0; x < 32; x++)
		for (int y = 0; y < 8; y++)
			src->tpixels[y][x] = colours[x / 8];
	buf = encode(src, 95, &len);
	ck_assert_int_eq(decode(buf, len, 32, 8, 1, false, &back), 0);
	for (int i = 0; i < 4; i++) {
		int p = back->tpixels[4][i * 8 + 4], want = colours[i];

		ck_assert_msg(abs(gdTrueColorGetRed(p) - ((want >> 16) & 0xFF)) < 12 &&
				  abs(gdTrueColorGetGreen(p) - ((want >> 8) & 0xFF)) < 12 &&
				  abs(gdTrueColorGetBlue(p) - (want & 0xFF)) < 12,
			      "colour %d: %06x, want %06x", i, (unsigned)p, (unsigned)want);
	}
	gdImageDestroy(back);
	gdImageDestroy(src);
	free(buf);
}
END_TEST

START_TEST(dct_scaling_gives_the_scaled_size)
{
	static const unsigned denoms[] = {1, 2, 4, 8};
	gdImagePtr src = picture(203, 117), full = NULL;
	size_t len = 0;
	unsigned char *buf = encode(src, 90, &len);

	ck_assert_int_eq(decode(buf, len, 203, 117, 1, false, &full), 0);
	for (size_t i = 0; i < 4; i++) {
		unsigned d = denoms[i];
		gdImagePtr im = NULL, ref;
		double p;

		ck_assert_int_eq(decode(buf, len, 203, 117, d, false, &im), 0);
		ck_assert_int_eq(gdImageSX(im), (int)((203 + d - 1) / d));
		ck_assert_int_eq(gdImageSY(im), (int)((117 + d - 1) / d));
		/* The same picture, smaller: compare with the full decode shrunk. */
		ref = gdImageCreateTrueColor(gdImageSX(im), gdImageSY(im));
		gdImageCopyResampled(ref, full, 0, 0, 0, 0, gdImageSX(im), gdImageSY(im), 203, 117);
		p = psnr(ref, im);
		ck_assert_msg(p > 30.0, "1/%u: PSNR %.1f dB against the shrunk full decode", d, p);
		gdImageDestroy(ref);
		gdImageDestroy(im);
	}
	gdImageDestroy(full);
	gdImageDestroy(src);
	free(buf);
}
END_TEST

START_TEST(other_denominators_decode_at_full_size)
{
	static const unsigned odd[] = {0, 3, 16};
	gdImagePtr src = picture(40, 24);
	size_t len = 0;
	unsigned char *buf = encode(src, 80, &len);

	for (size_t i = 0; i < 3; i++) {
		gdImagePtr im = NULL;

		ck_assert_int_eq(decode(buf, len, 40, 24, odd[i], false, &im), 0);
		ck_assert_int_eq(gdImageSX(im), 40);
		ck_assert_int_eq(gdImageSY(im), 24);
		gdImageDestroy(im);
	}
	gdImageDestroy(src);
	free(buf);
}
END_TEST

START_TEST(grey_decode_gives_the_grey_palette_image_with_luma)
{
	gdImagePtr src = gdImageCreateTrueColor(48, 16), grey = NULL, half = NULL;
	unsigned char *buf;
	size_t len = 0;

	for (int y = 0; y < 16; y++)
		for (int x = 0; x < 48; x++)
			src->tpixels[y][x] = x < 16   ? gdTrueColor(255, 0, 0)
					     : x < 32 ? gdTrueColor(0, 0, 255)
						      : gdTrueColor(128, 128, 128);
	buf = encode(src, 95, &len);
	ck_assert_int_eq(decode(buf, len, 48, 16, 1, true, &grey), 0);
	ck_assert(!gdImageTrueColor(grey));
	ck_assert(imgjpeg_is_grey(grey));
	/* Rec.601 luma: red 76, blue 29, grey 128 (palette index = level). */
	ck_assert_int_lt(abs(gdImageGetPixel(grey, 8, 8) - 76), 4);
	ck_assert_int_lt(abs(gdImageGetPixel(grey, 24, 8) - 29), 4);
	ck_assert_int_lt(abs(gdImageGetPixel(grey, 40, 8) - 128), 3);
	ck_assert_int_eq(decode(buf, len, 48, 16, 2, true, &half), 0);
	ck_assert(imgjpeg_is_grey(half));
	ck_assert_int_eq(gdImageSX(half), 24);
	ck_assert_int_eq(gdImageSY(half), 8);
	gdImageDestroy(half);
	gdImageDestroy(grey);
	gdImageDestroy(src);
	free(buf);
}
END_TEST

/* The number of components in the first SOF0/SOF2 frame header. */
static int jpeg_components(const unsigned char *b, size_t n)
{
	for (size_t i = 2; i + 9 < n; i++)
		if (b[i] == 0xFF && (b[i + 1] == 0xC0 || b[i + 1] == 0xC2))
			return b[i + 9];
	return -1;
}

START_TEST(grey_image_encodes_as_one_component)
{
	gdImagePtr src = picture(33, 21), grey = NULL, again = NULL;
	size_t len = 0, len2 = 0;
	unsigned char *buf = encode(src, 90, &len), *buf2;

	ck_assert_int_eq(jpeg_components(buf, len), 3);
	ck_assert_int_eq(decode(buf, len, 33, 21, 1, true, &grey), 0);
	buf2 = encode(grey, 90, &len2);
	ck_assert_int_eq(jpeg_components(buf2, len2), 1);
	ck_assert_int_eq(decode(buf2, len2, 33, 21, 1, true, &again), 0);
	for (int y = 0; y < 21; y += 5)
		for (int x = 0; x < 33; x += 5)
			ck_assert_int_le(
			    abs(gdImageGetPixel(grey, x, y) - gdImageGetPixel(again, x, y)), 3);
	gdImageDestroy(again);
	gdImageDestroy(grey);
	gdImageDestroy(src);
	free(buf);
	free(buf2);
}
END_TEST

START_TEST(is_grey_only_for_the_grey_palette_image)
{
	gdImagePtr tc = picture(4, 4), pal = gdImageCreate(4, 4), grey = gdImageCreate(4, 4);
	gdImagePtr short_pal = gdImageCreate(4, 4);
	int i;

	ck_assert(!imgjpeg_is_grey(tc));
	for (i = 0; i < 256; i++) {
		gdImageColorAllocate(grey, i, i, i);
		gdImageColorAllocate(pal, i, i, i == 200 ? 201 : i); /* one bluish entry */
	}
	for (i = 0; i < 255; i++)
		gdImageColorAllocate(short_pal, i, i, i);
	ck_assert(imgjpeg_is_grey(grey));
	ck_assert(!imgjpeg_is_grey(pal));
	ck_assert(!imgjpeg_is_grey(short_pal));
	gdImageColorTransparent(grey, 0);
	ck_assert(!imgjpeg_is_grey(grey));
	gdImageDestroy(tc);
	gdImageDestroy(pal);
	gdImageDestroy(grey);
	gdImageDestroy(short_pal);
}
END_TEST

START_TEST(encoder_refuses_a_coloured_palette_image)
{
	gdImagePtr pal = gdImageCreate(8, 8);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	gdImageColorAllocate(pal, 255, 0, 0);
	ck_assert_int_eq(imgjpeg_encode(pal, f, 90), IA_ERR_INVAL);
	fclose(f);
	ck_assert_uint_eq(len, 0);
	free(buf);
	gdImageDestroy(pal);
}
END_TEST

/* Cut after every header byte and at many points of the scan: each is an
 * error, none a crash or a half image handed out. */
START_TEST(truncated_jpeg_is_an_error_not_a_crash)
{
	gdImagePtr src = picture(64, 48);
	size_t len = 0, cut;
	unsigned char *buf = encode(src, 85, &len);

	for (cut = 0; cut < len - 2; cut = cut < 700 ? cut + 1 : cut + 37) {
		gdImagePtr im = NULL;

		ck_assert_msg(decode(buf, cut, 64, 48, 1, false, &im) == IA_ERR_INVAL,
			      "cut at %zu of %zu decoded", cut, len);
		ck_assert_ptr_null(im);
		ck_assert_int_eq(decode(buf, cut, 64, 48, 4, true, &im), IA_ERR_INVAL);
	}
	gdImageDestroy(src);
	free(buf);
}
END_TEST

START_TEST(size_other_than_the_header_is_refused)
{
	gdImagePtr src = picture(40, 30), im = NULL;
	size_t len = 0;
	unsigned char *buf = encode(src, 85, &len);

	ck_assert_int_eq(decode(buf, len, 41, 30, 1, false, &im), IA_ERR_INVAL);
	ck_assert_int_eq(decode(buf, len, 40, 29, 1, false, &im), IA_ERR_INVAL);
	ck_assert_ptr_null(im);
	ck_assert_int_eq(decode(buf, len, 40, 30, 1, false, &im), 0);
	gdImageDestroy(im);
	gdImageDestroy(src);
	free(buf);
}
END_TEST

static Suite *imgjpeg_suite(void)
{
	Suite *s = suite_create("imgjpeg");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, round_trip_stays_within_a_psnr_bound);
	tcase_add_test(tc, round_trip_keeps_channels_in_place);
	tcase_add_test(tc, dct_scaling_gives_the_scaled_size);
	tcase_add_test(tc, other_denominators_decode_at_full_size);
	tcase_add_test(tc, grey_decode_gives_the_grey_palette_image_with_luma);
	tcase_add_test(tc, grey_image_encodes_as_one_component);
	tcase_add_test(tc, is_grey_only_for_the_grey_palette_image);
	tcase_add_test(tc, encoder_refuses_a_coloured_palette_image);
	tcase_add_test(tc, truncated_jpeg_is_an_error_not_a_crash);
	tcase_add_test(tc, size_other_than_the_header_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgjpeg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
