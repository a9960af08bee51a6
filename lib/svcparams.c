/*
 * svcparams.c - the services' parameter table (see svcparams.h) and the
 * DRF-worded checks of one value against it.
 *
 * Bounds are those the engines need: sides up to 8192 for resize and
 * thumbnail; crop offsets and sizes up to 50 000 000, the pixel bound of
 * an upload, which no side of an accepted image can exceed (the box must
 * also lie inside the image, a check made against the source in
 * lib/imgops.c); outline thresholds are gradient magnitudes of 8-bit
 * channels, 0..255; enhancement's 2x or 4x.
 */
#include "config.h"

#include "svcparams.h"
#include "err.h"
#include "imgio.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SVCPARAMS_MAX_SIDE  8192
#define SVCPARAMS_MAX_CROP  IMG_MAX_PIXELS_N /* no side of an upload is longer */
#define SVCPARAMS_MAX_TEXT  2000             /* prompts, as the generation endpoint */
#define SVCPARAMS_MAX_SEED  4294967294LL
#define SVCPARAMS_SATURATED 1000000000000LL /* parsed magnitudes stop growing here */

#define SVCPARAMS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const svcparams_fmt_all[] = {"png", "jpeg", "webp", NULL};
static const char *const svcparams_fmt_alpha[] = {"png", "webp", NULL}; /* keep alpha */
static const char *const svcparams_fmt_png[] = {"png", NULL};
static const char *const svcparams_scales[] = {"2", "4", NULL};
static const char *const svcparams_aspects[] = {"16:9", "1:1", "21:9", "2:3",  "3:2",
						"4:5",  "5:4", "9:16", "9:21", NULL};

#define SVCPARAMS_INT(n, req, d, lo, hi)                                                           \
	{                                                                                          \
		.name = n, .type = SVCPARAM_INTEGER, .required = req, .def = d, .min = lo,         \
		.max = hi                                                                          \
	}
#define SVCPARAMS_FORMAT(list)                                                                     \
	{                                                                                          \
		.name = "format", .type = SVCPARAM_CHOICE, .def = "png", .choices = list           \
	}

static const struct svcparam svcparams_plain[] = {SVCPARAMS_FORMAT(svcparams_fmt_all)};
static const struct svcparam svcparams_alpha[] = {SVCPARAMS_FORMAT(svcparams_fmt_alpha)};
static const struct svcparam svcparams_resize[] = {
    SVCPARAMS_INT("width", true, NULL, 1, SVCPARAMS_MAX_SIDE),
    SVCPARAMS_INT("height", true, NULL, 1, SVCPARAMS_MAX_SIDE),
    SVCPARAMS_FORMAT(svcparams_fmt_all),
};
static const struct svcparam svcparams_thumbnail[] = {
    SVCPARAMS_INT("max_width", false, "1280", 1, SVCPARAMS_MAX_SIDE),
    SVCPARAMS_INT("max_height", false, "720", 1, SVCPARAMS_MAX_SIDE),
    SVCPARAMS_FORMAT(svcparams_fmt_all),
};
static const struct svcparam svcparams_cropping[] = {
    SVCPARAMS_INT("x", true, NULL, 0, SVCPARAMS_MAX_CROP - 1),
    SVCPARAMS_INT("y", true, NULL, 0, SVCPARAMS_MAX_CROP - 1),
    SVCPARAMS_INT("width", true, NULL, 1, SVCPARAMS_MAX_CROP),
    SVCPARAMS_INT("height", true, NULL, 1, SVCPARAMS_MAX_CROP),
    SVCPARAMS_FORMAT(svcparams_fmt_all),
};
static const struct svcparam svcparams_enhancement[] = {
    {.name = "scale", .type = SVCPARAM_CHOICE, .def = "4", .choices = svcparams_scales},
    {.name = "prompt", .type = SVCPARAM_STRING, .max_length = SVCPARAMS_MAX_TEXT},
    SVCPARAMS_FORMAT(svcparams_fmt_all),
};
static const struct svcparam svcparams_outline[] = {
    SVCPARAMS_INT("low_threshold", false, "50", 0, 255),
    SVCPARAMS_INT("high_threshold", false, "150", 0, 255),
    SVCPARAMS_FORMAT(svcparams_fmt_all),
};
/* The prompt endpoint's JSON fields (its only output is PNG). */
static const struct svcparam svcparams_generate[] = {
    {.name = "prompt", .type = SVCPARAM_STRING, .required = true, .max_length = SVCPARAMS_MAX_TEXT},
    {.name = "aspect_ratio", .type = SVCPARAM_CHOICE, .def = "16:9", .choices = svcparams_aspects},
    {.name = "negative_prompt", .type = SVCPARAM_STRING, .max_length = SVCPARAMS_MAX_TEXT},
    SVCPARAMS_INT("seed", false, NULL, 0, SVCPARAMS_MAX_SEED),
};

#define SVCPARAMS_SVC(s, p, f)                                                                     \
	{                                                                                          \
		s, p, SVCPARAMS_COUNT(p), f                                                        \
	}

static const struct svcparams svcparams_table[] = {
    SVCPARAMS_SVC("greyscale", svcparams_plain, svcparams_fmt_all),
    SVCPARAMS_SVC("remove-background", svcparams_alpha, svcparams_fmt_alpha),
    SVCPARAMS_SVC("resize", svcparams_resize, svcparams_fmt_all),
    SVCPARAMS_SVC("thumbnail", svcparams_thumbnail, svcparams_fmt_all),
    SVCPARAMS_SVC("cropping", svcparams_cropping, svcparams_fmt_all),
    SVCPARAMS_SVC("enhancement", svcparams_enhancement, svcparams_fmt_all),
    SVCPARAMS_SVC("generate", svcparams_generate, svcparams_fmt_png),
    SVCPARAMS_SVC("outline", svcparams_outline, svcparams_fmt_all),
    SVCPARAMS_SVC("avatar", svcparams_plain, svcparams_fmt_all),
};

const struct svcparams *svcparams_find(const char *slug)
{
	size_t i;

	for (i = 0; slug != NULL && i < SVCPARAMS_COUNT(svcparams_table); i++) {
		if (strcmp(svcparams_table[i].slug, slug) == 0)
			return &svcparams_table[i];
	}
	return NULL;
}

const struct svcparam *svcparams_param(const struct svcparams *s, const char *name)
{
	size_t i;

	for (i = 0; s != NULL && name != NULL && i < s->nparams; i++) {
		if (strcmp(s->params[i].name, name) == 0)
			return &s->params[i];
	}
	return NULL;
}

const char *svcparams_resolve(const struct svcparam *p, const char *v)
{
	if (p->required)
		return v;
	return v == NULL || *v == '\0' ? p->def : v;
}

static bool svcparams_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Parse an integer as DRF's IntegerField does: surrounding space, a sign
 * and a trailing ".0..." are allowed. Magnitudes saturate, so the caller
 * can still say "less than or equal to". False when it is no integer.
 */
static bool svcparams_int(const char *s, long long *out)
{
	long long v = 0;
	bool neg = false, digits = false;

	while (svcparams_space(*s))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	while (*s >= '0' && *s <= '9') {
		if (v < SVCPARAMS_SATURATED)
			v = v * 10 + (*s - '0');
		digits = true;
		s++;
	}
	if (*s == '.') {
		s++;
		while (*s == '0')
			s++;
	}
	while (svcparams_space(*s))
		s++;
	if (!digits || *s != '\0')
		return false;
	*out = neg ? -v : v;
	return true;
}

/* Code points of a UTF-8 string: bytes that do not continue a sequence. */
static size_t svcparams_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Write a message; always returns IA_ERR_INVAL. */
static int svcparams_fail(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int svcparams_fail(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg != NULL && msglen > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return IA_ERR_INVAL;
}

static int svcparams_check_int(const struct svcparam *p, const char *v, long long *ival, char *msg,
			       size_t msglen)
{
	long long iv;

	if (!svcparams_int(v, &iv))
		return svcparams_fail(msg, msglen, "A valid integer is required.");
	if (iv < p->min)
		return svcparams_fail(
		    msg, msglen, "Ensure this value is greater than or equal to %lld.", p->min);
	if (iv > p->max)
		return svcparams_fail(msg, msglen,
				      "Ensure this value is less than or equal to %lld.", p->max);
	if (ival != NULL)
		*ival = iv;
	return 0;
}

static int svcparams_check_choice(const struct svcparam *p, const char *v, long long *ival,
				  char *msg, size_t msglen)
{
	const char *const *c;
	long long iv;

	for (c = p->choices; c != NULL && *c != NULL; c++) {
		if (strcmp(*c, v) == 0)
			break;
	}
	if (c == NULL || *c == NULL)
		return svcparams_fail(msg, msglen, "\"%s\" is not a valid choice.", v);
	if (ival != NULL && svcparams_int(v, &iv))
		*ival = iv;
	return 0;
}

int svcparams_check(const struct svcparam *p, const char *v, long long *ival, char *msg,
		    size_t msglen)
{
	if (v == NULL)
		return p->required ? svcparams_fail(msg, msglen, "This field is required.") : 0;
	switch (p->type) {
	case SVCPARAM_INTEGER: return svcparams_check_int(p, v, ival, msg, msglen);
	case SVCPARAM_CHOICE: return svcparams_check_choice(p, v, ival, msg, msglen);
	case SVCPARAM_STRING:
		if (p->max_length > 0 && svcparams_chars(v) > p->max_length)
			return svcparams_fail(msg, msglen,
					      "Ensure this field has no more than %zu characters.",
					      p->max_length);
		return 0;
	}
	return 0;
}

static cJSON *svcparams_strings(const char *const *list)
{
	cJSON *a = cJSON_CreateArray();

	for (; list != NULL && *list != NULL; list++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*list));
	return a;
}

static const char *svcparams_type_name(enum svcparam_type t)
{
	switch (t) {
	case SVCPARAM_INTEGER: return "integer";
	case SVCPARAM_CHOICE: return "choice";
	case SVCPARAM_STRING: return "string";
	}
	return "string";
}

/* One parameter as API.md publishes it (caller deletes). */
static cJSON *svcparams_param_json(const struct svcparam *p)
{
	cJSON *o = cJSON_CreateObject();
	long long def;

	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "type", svcparams_type_name(p->type));
	cJSON_AddBoolToObject(o, "required", p->required);
	if (p->type == SVCPARAM_INTEGER) {
		if (p->def != NULL && svcparams_int(p->def, &def))
			cJSON_AddNumberToObject(o, "default", (double)def);
		cJSON_AddNumberToObject(o, "min", (double)p->min);
		cJSON_AddNumberToObject(o, "max", (double)p->max);
	} else if (p->def != NULL) {
		cJSON_AddStringToObject(o, "default", p->def);
	}
	if (p->type == SVCPARAM_CHOICE)
		cJSON_AddItemToObject(o, "choices", svcparams_strings(p->choices));
	if (p->type == SVCPARAM_STRING && p->max_length > 0)
		cJSON_AddNumberToObject(o, "max_length", (double)p->max_length);
	return o;
}

void svcparams_add_json(const struct svcparams *s, cJSON *obj)
{
	cJSON *params = cJSON_CreateArray();
	size_t i;

	cJSON_AddItemToObject(obj, "formats", svcparams_strings(s != NULL ? s->formats : NULL));
	for (i = 0; s != NULL && i < s->nparams; i++)
		cJSON_AddItemToArray(params, svcparams_param_json(&s->params[i]));
	cJSON_AddItemToObject(obj, "params", params);
}
