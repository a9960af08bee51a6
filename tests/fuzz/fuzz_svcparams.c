/*
 * fuzz_svcparams.c - libFuzzer target for the checks of untrusted form and
 * query values: lib/svcparams.c (every parameter of every service's
 * table, as lib/imgops.c and lib/submit.c check a field) and the status
 * list of lib/gallery.c.
 *
 * Input: any bytes, as one value. A value a parameter accepts must lie
 * within what the table publishes: an integer within [min, max], a choice
 * among the choices, a string within max_length characters; a refused one
 * has a message. A status list parses to JOBS_* bits or is refused with a
 * message.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "gallery.h"
#include "svcparams.h"

#include <stdlib.h>
#include <string.h>

static const char *const fuzz_slugs[] = {"greyscale", "remove-background", "resize",
					 "thumbnail", "cropping",          "enhancement",
					 "generate",  "outline",           "avatar"};

static void fuzz_param(const struct svcparam *p, const char *v)
{
	const char *const *c;
	long long iv = p->min - 1;
	char msg[160];
	int rc;

	msg[0] = '\0';
	rc = svcparams_check(p, svcparams_resolve(p, v), &iv, msg, sizeof(msg));
	if (rc != 0) {
		if (rc != IA_ERR_INVAL || msg[0] == '\0')
			abort();
		return;
	}
	v = svcparams_resolve(p, v);
	if (v == NULL)
		return;
	if (p->type == SVCPARAM_INTEGER && (iv < p->min || iv > p->max))
		abort();
	if (p->type == SVCPARAM_CHOICE) {
		for (c = p->choices; *c != NULL && strcmp(*c, v) != 0; c++)
			;
		if (*c == NULL)
			abort();
	}
}

static void fuzz_status(const char *v)
{
	unsigned bits = 0;
	char msg[160];

	msg[0] = '\0';
	if (gallery_parse_status(v, &bits, msg, sizeof(msg)) == 0) {
		if (bits == 0 ||
		    (bits & ~(JOBS_PENDING | JOBS_PROCESSING | JOBS_DONE | JOBS_FAILED)) != 0)
			abort();
	} else if (msg[0] == '\0') {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v;
	size_t i, j;

	if (size > 8192)
		return 0;
	v = fuzz_cstr(data, size);
	for (i = 0; i < sizeof(fuzz_slugs) / sizeof(fuzz_slugs[0]); i++) {
		const struct svcparams *s = svcparams_find(fuzz_slugs[i]);

		if (s == NULL)
			abort();
		for (j = 0; j < s->nparams; j++)
			fuzz_param(&s->params[j], v);
	}
	fuzz_status(v);
	free(v);
	return 0;
}
