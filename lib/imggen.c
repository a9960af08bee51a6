/*
 * imggen.c - the LOCAL PLACEHOLDER image generator (development only; see
 * imggen.h). Nothing here is AI: a hash of prompt and seed picks three
 * colours, a gradient direction and a ring centre, and libgd paints them.
 */
#include "config.h"

#include "imggen.h"
#include "err.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gd.h>
#include <gdfontg.h>

#include <cjson/cJSON.h>

struct imggen_ratio {
	const char *name;
	uint32_t w, h;
};

/* Stability AI core's output sizes. */
static const struct imggen_ratio imggen_ratios[] = {
    {"16:9", 1344, 768}, {"1:1", 1024, 1024}, {"21:9", 1536, 640},
    {"2:3", 832, 1216},  {"3:2", 1216, 832},  {"4:5", 896, 1088},
    {"5:4", 1088, 896},  {"9:16", 768, 1344}, {"9:21", 640, 1536},
};

struct imggen_style {
	double c[3][3]; /* three RGB colours, 0..255 */
	double dx, dy;  /* gradient direction (unit) */
	double cx, cy;  /* ring centre, fraction of the size */
	double freq;    /* rings per image diagonal */
	uint64_t grain; /* noise seed */
};

int imggen_size(const char *aspect_ratio, uint32_t *w, uint32_t *h)
{
	const char *want = aspect_ratio ? aspect_ratio : "16:9";

	for (size_t i = 0; i < sizeof(imggen_ratios) / sizeof(imggen_ratios[0]); i++) {
		if (strcmp(imggen_ratios[i].name, want) == 0) {
			*w = imggen_ratios[i].w;
			*h = imggen_ratios[i].h;
			return 0;
		}
	}
	return IA_ERR_INVAL;
}

/* splitmix64: the next 64 random bits of *state. */
static uint64_t imggen_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double imggen_unit(uint64_t *state)
{
	return (double)(imggen_next(state) >> 11) / 9007199254740992.0;
}

/* FNV-1a of the prompt: the seed when the client gave none. */
static uint32_t imggen_prompt_seed(const char *prompt)
{
	uint64_t h = UINT64_C(0xCBF29CE484222325);

	for (const unsigned char *p = (const unsigned char *)prompt; *p != '\0'; p++)
		h = (h ^ *p) * UINT64_C(0x100000001B3);
	return (uint32_t)((h ^ (h >> 32)) % UINT64_C(4294967295));
}

static void imggen_pick(const char *prompt, uint32_t seed, struct imggen_style *st)
{
	uint64_t state = ((uint64_t)imggen_prompt_seed(prompt) << 32) ^ seed;
	double angle;

	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 3; k++)
			st->c[i][k] = 40.0 + 200.0 * imggen_unit(&state);
	angle = 2.0 * M_PI * imggen_unit(&state);
	st->dx = cos(angle);
	st->dy = sin(angle);
	st->cx = 0.2 + 0.6 * imggen_unit(&state);
	st->cy = 0.2 + 0.6 * imggen_unit(&state);
	st->freq = 3.0 + 6.0 * imggen_unit(&state);
	st->grain = imggen_next(&state);
}

/* The colour of pixel (x, y) of a w x h picture in style st. */
static int imggen_pixel(const struct imggen_style *st, int x, int y, int w, int h)
{
	double u = (double)x / w, v = (double)y / h;
	double t = 0.5 + 0.5 * ((u - 0.5) * st->dx + (v - 0.5) * st->dy) * 1.4142;
	double r = hypot(u - st->cx, (v - st->cy) * h / w);
	double ring = 0.5 + 0.5 * sin(2.0 * M_PI * st->freq * r);
	uint64_t g = st->grain ^ ((uint64_t)(uint32_t)y << 32 | (uint32_t)x);
	double noise = (double)(imggen_next(&g) & 15) - 7.5;
	int rgb[3];

	t = t < 0 ? 0 : (t > 1 ? 1 : t);
	for (int k = 0; k < 3; k++) {
		double base = st->c[0][k] * (1 - t) + st->c[1][k] * t;
		double c = base * (1 - 0.35 * ring) + st->c[2][k] * 0.35 * ring + noise;

		rgb[k] = c < 0 ? 0 : (c > 255 ? 255 : (int)c);
	}
	return gdTrueColor(rgb[0], rgb[1], rgb[2]);
}

static gdImagePtr imggen_paint(const struct imggen_style *st, int w, int h)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	gdFontPtr font = gdFontGetGiant();
	unsigned char label[] = "LOCAL PLACEHOLDER";

	if (im == NULL)
		abort();
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			gdImageSetPixel(im, x, y, imggen_pixel(st, x, y, w, h));
	gdImageFilledRectangle(im, 8, 8, 16 + font->w * (int)(sizeof(label) - 1), 16 + font->h,
			       gdTrueColor(0, 0, 0));
	gdImageString(im, font, 12, 12, label, gdTrueColor(255, 255, 255));
	return im;
}

int imggen_generate(const char *prompt, const char *aspect_ratio, const char *seed,
		    enum img_format fmt, const char *out_path, struct img_result *out,
		    char **ai_response)
{
	struct imggen_style st;
	gdImagePtr im = NULL;
	char *tmp = NULL;
	uint64_t bytes = 0;
	int64_t s64 = 0;
	uint32_t w, h;
	cJSON *o;
	int rc;

	if ((rc = imggen_size(aspect_ratio, &w, &h)) != 0)
		return rc;
	if (fmt != IMG_FMT_PNG && fmt != IMG_FMT_JPEG && fmt != IMG_FMT_WEBP)
		return IA_ERR_INVAL;
	if (seed != NULL && ia_parse_int64(seed, 0, INT64_C(4294967294), &s64) != 0)
		return IA_ERR_INVAL;
	if (seed == NULL)
		s64 = imggen_prompt_seed(prompt);
	imggen_pick(prompt, (uint32_t)s64, &st);
	im = imggen_paint(&st, (int)w, (int)h);
	tmp = xasprintf("%s.%ld.tmp", out_path, (long)getpid());
	rc = imgio_encode_file(im, fmt, tmp, &bytes);
	if (rc == 0 && rename(tmp, out_path) != 0)
		rc = IA_ERR_IO;
	if (rc != 0) {
		(void)unlink(tmp);
		goto out;
	}
	out->width = w;
	out->height = h;
	out->bytes = bytes;
	out->format = fmt;
	out->confidence = -1.0;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "provider", "local");
	cJSON_AddBoolToObject(o, "placeholder", 1);
	cJSON_AddNumberToObject(o, "seed", (double)s64);
	*ai_response = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (*ai_response == NULL)
		abort();
out:
	free(tmp);
	gdImageDestroy(im);
	return rc;
}
