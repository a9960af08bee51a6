/*
 * fuzz_exif.c - libFuzzer target for EXIF orientation parsing in
 * lib/imgio.c (libexif behind it). The input is an EXIF block; byte 0
 * picks the container it is wrapped in before the probe reads it back:
 * a JPEG APP1 segment (with or without the "Exif\0\0" prefix the fuzzer
 * may supply), a PNG eXIf chunk or a WebP VP8X EXIF chunk, each around a
 * 16x8 image. The probe must succeed, report an orientation in 1..8 and
 * swap the dimensions exactly for orientations 5..8.
 */
#include "config.h"

#include "fuzz.h"
#include "imgio.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_EXIF_MAX 65000

static size_t fuzz_put(uint8_t *buf, size_t at, const void *p, size_t n)
{
	memcpy(buf + at, p, n);
	return at + n;
}

static size_t fuzz_jpeg(uint8_t *buf, const uint8_t *exif, size_t n)
{
	static const uint8_t sof[] = {0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00,
				      0x10, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9};
	uint8_t hdr[4] = {0xFF, 0xE1, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
	size_t at = fuzz_put(buf, 0, "\xFF\xD8", 2);

	at = fuzz_put(buf, at, hdr, 4);
	at = fuzz_put(buf, at, exif, n);
	return fuzz_put(buf, at, sof, sizeof(sof));
}

static size_t fuzz_png(uint8_t *buf, const uint8_t *exif, size_t n)
{
	static const uint8_t ihdr[] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 16, 0,
				       0, 0, 8, 8,  2,   0,   0,   0,   0, 0, 0, 0};
	uint8_t hdr[8] = {(uint8_t)(n >> 24),
			  (uint8_t)(n >> 16),
			  (uint8_t)(n >> 8),
			  (uint8_t)n,
			  'e',
			  'X',
			  'I',
			  'f'};
	size_t at = fuzz_put(buf, 0, "\x89PNG\r\n\x1a\n", 8);

	at = fuzz_put(buf, at, ihdr, sizeof(ihdr));
	at = fuzz_put(buf, at, hdr, 8);
	at = fuzz_put(buf, at, exif, n);
	return fuzz_put(buf, at, "\0\0\0\0\0\0\0\0IEND\0\0\0\0", 16);
}

static size_t fuzz_webp(uint8_t *buf, const uint8_t *exif, size_t n)
{
	static const uint8_t vp8x[] = {'V', 'P', '8', 'X', 10, 0, 0, 0, 0x08,
				       0,   0,   0,   15,  0,  0, 7, 0, 0};
	uint8_t hdr[8] = {'E',
			  'X',
			  'I',
			  'F',
			  (uint8_t)n,
			  (uint8_t)(n >> 8),
			  (uint8_t)(n >> 16),
			  (uint8_t)(n >> 24)};
	size_t at = fuzz_put(buf, 0, "RIFF\0\0\0\0WEBP", 12);

	at = fuzz_put(buf, at, vp8x, sizeof(vp8x));
	at = fuzz_put(buf, at, hdr, 8);
	return fuzz_put(buf, at, exif, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_info info = {0};
	uint8_t *file;
	size_t n, len;

	if (size == 0)
		return 0;
	n = size - 1 > FUZZ_EXIF_MAX ? FUZZ_EXIF_MAX : size - 1;
	file = malloc(n + 64);
	if (file == NULL)
		abort();
	switch (data[0] % 3) {
	case 0: len = fuzz_jpeg(file, data + 1, n); break;
	case 1: len = fuzz_png(file, data + 1, n); break;
	default: len = fuzz_webp(file, data + 1, n); break;
	}
	if (imgio_probe_file(fuzz_memfile(file, len), &info) != 0)
		abort(); /* the frame is valid whatever the EXIF says */
	if (info.orientation < 1 || info.orientation > 8 ||
	    info.width != (info.orientation >= 5 ? 8u : 16u) ||
	    info.height != (info.orientation >= 5 ? 16u : 8u))
		abort();
	free(file);
	return 0;
}
