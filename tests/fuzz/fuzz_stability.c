/*
 * fuzz_stability.c - libFuzzer target for what lib/stability.c makes of a
 * Stability AI answer: the response headers (finish-reason, seed,
 * retry-after through httpc_response_header) and a JSON error body, turned
 * into the ai_response record that is stored with the job and shown to
 * its owner.
 *
 * Input: byte 0 picks the HTTP status; the rest is "<header lines>\n\n<body>".
 * The record must be one JSON object, must never contain the API key, and
 * must be valid UTF-8 whenever the answer was (it is served as JSON).
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "httpc.h"
#include "stability.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char fuzz_key[] = "sk-fuzzkey123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 400, 401, 403, 404, 413, 422, 429, 500, 503};
	struct stability_req q;
	struct httpc_response r;
	char *text, *split, *rec;
	char value[32];
	cJSON *parsed;

	if (size == 0 || size > 256 * 1024)
		return 0;
	text = fuzz_cstr(data + 1, size - 1);
	split = strstr(text, "\n\n");
	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	snprintf(q.path, sizeof(q.path), "/v2beta/stable-image/generate/core");
	snprintf(q.model, sizeof(q.model), "core");
	r.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	r.headers = text;
	if (split != NULL) {
		*split = '\0';
		r.body = split + 2;
	} else {
		r.body = text + strlen(text);
	}
	r.body_len = strlen(r.body);
	(void)httpc_response_header(&r, "retry-after", value, sizeof(value));
	rec = stability_ai_response(&q, &r, NULL, 1 + data[0] % 3, fuzz_key);
	parsed = cJSON_Parse(rec);
	if (!cJSON_IsObject(parsed))
		abort(); /* the record is not a JSON object */
	if (strstr(rec, fuzz_key) != NULL)
		abort(); /* the key leaked into the record */
	if (fuzz_utf8_valid(text, strlen(text)) && fuzz_utf8_valid(r.body, r.body_len) &&
	    !fuzz_utf8_valid(rec, strlen(rec)))
		abort(); /* valid UTF-8 in, invalid out */
	cJSON_Delete(parsed);
	free(rec);
	free(text);
	return 0;
}
