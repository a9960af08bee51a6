/*
 * fuzz_multipart.c - libFuzzer target for lib/multipart.c. The input is
 * parsed twice, once in a single feed and once in pseudo-random small
 * chunks; both runs must report the same result and the same events (the
 * chunking must not matter), and the callbacks check that parts are well
 * nested and names bounded. Built and run by tests/fuzz/run.sh.
 *
 * Input layout: byte 0 picks the chunking seed; if its top bit is set the
 * text up to the first '\n' is the Content-Type, otherwise a fixed
 * multipart/form-data type with boundary "AaB03x" is used.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME_MAX 32

struct trace {
	uint64_t hash; /* FNV-1a over events and data */
	int open;      /* inside a part */
	size_t parts;
};

static void fuzz_hash(struct trace *t, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		t->hash ^= b[i];
		t->hash *= 1099511628211ULL;
	}
}

static int fuzz_begin(void *ud, const char *name, const char *file, const char *type)
{
	struct trace *t = ud;

	if (t->open || name == NULL || name[0] == '\0' || strlen(name) > FUZZ_NAME_MAX)
		abort();
	t->open = 1;
	t->parts++;
	fuzz_hash(t, "B", 1);
	fuzz_hash(t, name, strlen(name) + 1);
	fuzz_hash(t, file ? file : "\1", file ? strlen(file) + 1 : 1);
	fuzz_hash(t, type ? type : "\1", type ? strlen(type) + 1 : 1);
	return 0;
}

static int fuzz_data(void *ud, const char *p, size_t n)
{
	struct trace *t = ud;

	if (!t->open || n == 0)
		abort();
	fuzz_hash(t, p, n); /* no marker: slicing must not change the hash */
	return 0;
}

static int fuzz_end(void *ud)
{
	struct trace *t = ud;

	if (!t->open)
		abort();
	t->open = 0;
	fuzz_hash(t, "E", 1);
	return 0;
}

static const struct multipart_callbacks fuzz_cb = {fuzz_begin, fuzz_data, fuzz_end};

/* Parse body with chunk sizes drawn from seed (0: one feed). */
static int fuzz_run(const char *ctype, const char *body, size_t len, unsigned seed, struct trace *t)
{
	const struct multipart_limits lim = {8, 512, FUZZ_NAME_MAX};
	struct multipart *mp = NULL;
	size_t off = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->hash = 1469598103934665603ULL;
	rc = multipart_new(ctype, &lim, &fuzz_cb, t, &mp);
	if (rc != 0)
		return rc;
	while (off < len && rc == 0) {
		size_t n = len - off;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			if (n > 1 + (seed >> 16) % 48)
				n = 1 + (seed >> 16) % 48;
		}
		rc = multipart_feed(mp, body + off, n);
		off += n;
	}
	if (rc == 0) {
		rc = multipart_finish(mp);
		if (rc == 0 && t->open)
			abort(); /* finished with a part still open */
	}
	multipart_free(mp);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char fixed[] = "multipart/form-data; boundary=AaB03x";
	char *ctype = NULL;
	const char *body;
	size_t len;
	struct trace one, many;
	int rc1, rc2;

	if (size == 0)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	if (data[0] & 0x80) {
		const char *nl = memchr(body, '\n', len);
		size_t clen = nl ? (size_t)(nl - body) : len;

		ctype = malloc(clen + 1);
		if (ctype == NULL)
			return 0;
		memcpy(ctype, body, clen);
		ctype[clen] = '\0';
		body += nl ? clen + 1 : clen;
		len -= nl ? clen + 1 : clen;
	}
	rc1 = fuzz_run(ctype ? ctype : fixed, body, len, 0, &one);
	rc2 = fuzz_run(ctype ? ctype : fixed, body, len, (unsigned)data[0] | 1u, &many);
	if (rc1 != rc2 || one.hash != many.hash || one.parts != many.parts)
		abort();
	if (rc1 != 0 && rc1 != IA_ERR_INVAL && rc1 != IA_ERR_TOOBIG)
		abort();
	free(ctype);
	return 0;
}
