/*
 * fuzz_s3xml.c - libFuzzer target for lib/s3xml.c, the reader of S3's
 * ListObjectsV2 pages and error bodies: every object handed to the
 * callback has a NUL-terminated key within S3XML_KEY_MAX bytes and a
 * non-negative size; a continuation token is returned only on success,
 * NUL-terminated and non-empty; the error code fits its buffer.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "s3xml.h"

#include <stdlib.h>
#include <string.h>

static int fuzz_check_object(const struct s3xml_object *o, void *ctx)
{
	int *n = ctx;

	if (strnlen(o->key, sizeof(o->key)) == sizeof(o->key) || o->bytes < 0)
		abort();
	return ++*n == 50 ? 1 : 0; /* also walk the stopped path */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *next = (char *)"unset", code[32];
	int n = 0, rc;

	if (size > 256 * 1024)
		return 0;
	rc = s3xml_list_page((const char *)data, size, fuzz_check_object, &n, &next);
	if (rc != 0 && next != NULL)
		abort();
	if (next != NULL && (next[0] == '\0' || strnlen(next, S3XML_KEY_MAX + 1) > S3XML_KEY_MAX))
		abort();
	free(next);
	s3xml_error_code((const char *)data, size, code, sizeof(code));
	if (strnlen(code, sizeof(code)) == sizeof(code))
		abort();
	return 0;
}
