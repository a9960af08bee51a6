/*
 * fuzz_jsoncheck.c - libFuzzer target for lib/jsoncheck.c. The input is a
 * request body. Besides memory safety it checks the module's promises:
 * a failure points inside the text with a reason; the "marking" variant
 * accepts everything the plain one does and leaves such text unchanged;
 * whatever passes is also accepted by cJSON (the check is the stricter
 * of the two), except for text with a "\uD8xx".."\uDFxx" escape: lone
 * UTF-16 surrogates are valid JSON syntax (Python accepts them) that cJSON
 * refuses, which http_json_body answers with a 400 like any parse error.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "jsoncheck.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Whether s has a \uD800..\uDFFF escape (any case). */
static int fuzz_has_surrogate_escape(const char *s)
{
	const char *p;

	for (p = strstr(s, "\\u"); p != NULL; p = strstr(p + 1, "\\u"))
		if ((p[2] == 'd' || p[2] == 'D') && p[3] != '\0' && strchr("89abcdefABCDEF", p[3]))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_cstr(data, size);
	size_t where = 0, mwhere = 0;
	const char *why = NULL, *mwhy = NULL;
	int rc, mrc;

	rc = jsoncheck_validate((const char *)data, size, &where, &why);
	if (rc != 0 && (rc != IA_ERR_INVAL || where > size || why == NULL))
		abort();
	mrc = jsoncheck_validate_marking_nul(copy, size, &mwhere, &mwhy);
	if (mrc != 0 && (mrc != IA_ERR_INVAL || mwhere > size || mwhy == NULL))
		abort();
	if (rc == 0) {
		cJSON *v;

		if (mrc != 0 || memcmp(copy, data, size) != 0)
			abort(); /* marking changed or refused valid NUL-free text */
		v = cJSON_ParseWithLength((const char *)data, size);
		if (v == NULL && !fuzz_has_surrogate_escape(copy))
			abort(); /* cJSON refused what the strict check passed */
		cJSON_Delete(v);
	}
	if (mrc == 0) {
		cJSON *v = cJSON_ParseWithLength(copy, size);

		if (v == NULL && !fuzz_has_surrogate_escape(copy))
			abort();
		cJSON_Delete(v);
	}
	free(copy);
	return 0;
}
