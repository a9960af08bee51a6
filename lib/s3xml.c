/*
 * s3xml.c - bounded reading of S3's ListObjectsV2 and error bodies (see
 * s3xml.h): memmem for fixed element names inside a length-bounded
 * buffer, entity decoding into fixed-size buffers.
 */
#include "config.h"

#include "s3xml.h"
#include "err.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool s3xml_find(const char *p, const char *end, const char *tag, const char **v,
		       size_t *vlen, const char **after);
static bool s3xml_utf8(unsigned long cp, char *out, size_t outsz, size_t *o);
static bool s3xml_digits(const char *v, size_t n, int min, int max, int *out);
static int s3xml_entry(const char *p, const char *end, struct s3xml_object *e);

/*
 * The text between <tag> and </tag> of the first such element in
 * [p, end): *v, *vlen, and *after (just past the closing tag). Elements
 * with attributes or nested same-named ones are not S3's, not handled.
 */
static bool s3xml_find(const char *p, const char *end, const char *tag, const char **v,
		       size_t *vlen, const char **after)
{
	char open[40], close[40];
	size_t olen, clen;
	const char *a, *b;

	olen = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	clen = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	if (p == NULL || p >= end || olen >= sizeof(open) || clen >= sizeof(close))
		return false;
	a = memmem(p, (size_t)(end - p), open, olen);
	if (a == NULL)
		return false;
	a += olen;
	b = memmem(a, (size_t)(end - a), close, clen);
	if (b == NULL)
		return false;
	*v = a;
	*vlen = (size_t)(b - a);
	*after = b + clen;
	return true;
}

/* Append code point cp as UTF-8; false when out of room or invalid. */
static bool s3xml_utf8(unsigned long cp, char *out, size_t outsz, size_t *o)
{
	unsigned char b[4];
	size_t n, i;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return false;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (*o + n >= outsz)
		return false;
	for (i = 0; i < n; i++)
		out[(*o)++] = (char)b[i];
	return true;
}

int s3xml_decode(const char *v, size_t n, char *out, size_t outsz)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	size_t i = 0, o = 0, k, len;

	while (i < n) {
		if (v[i] == '\0')
			return IA_ERR_INVAL;
		if (v[i] != '&') {
			if (o + 1 >= outsz)
				return IA_ERR_TOOBIG;
			out[o++] = v[i++];
			continue;
		}
		i++;
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
			len = strlen(named[k].name);
			if (n - i >= len && memcmp(v + i, named[k].name, len) == 0)
				break;
		}
		if (k < sizeof(named) / sizeof(named[0])) {
			if (o + 1 >= outsz)
				return IA_ERR_TOOBIG;
			out[o++] = named[k].c;
			i += len;
		} else if (i < n && v[i] == '#') {
			bool hex = i + 1 < n && (v[i + 1] == 'x' || v[i + 1] == 'X');
			unsigned long cp = 0;
			size_t digits = 0;

			for (i += hex ? 2 : 1; i < n && v[i] != ';' && digits < 8; i++, digits++) {
				int d;

				if (v[i] >= '0' && v[i] <= '9')
					d = v[i] - '0';
				else if (hex && v[i] >= 'a' && v[i] <= 'f')
					d = v[i] - 'a' + 10;
				else if (hex && v[i] >= 'A' && v[i] <= 'F')
					d = v[i] - 'A' + 10;
				else
					return IA_ERR_INVAL;
				cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			}
			if (digits == 0 || i >= n || v[i] != ';')
				return IA_ERR_INVAL;
			i++;
			if (!s3xml_utf8(cp, out, outsz, &o))
				return IA_ERR_INVAL;
		} else {
			return IA_ERR_INVAL;
		}
	}
	if (o >= outsz)
		return IA_ERR_TOOBIG;
	out[o] = '\0';
	return 0;
}

/* n digits of v as a number in [min, max]. */
static bool s3xml_digits(const char *v, size_t n, int min, int max, int *out)
{
	int x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
	}
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

int s3xml_time(const char *v, size_t n, int64_t *out)
{
	struct tm tm = {0};
	size_t i;
	time_t t;

	if (n < 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' ||
	    v[n - 1] != 'Z' || !s3xml_digits(v, 4, 1970, 9999, &tm.tm_year) ||
	    !s3xml_digits(v + 5, 2, 1, 12, &tm.tm_mon) ||
	    !s3xml_digits(v + 8, 2, 1, 31, &tm.tm_mday) ||
	    !s3xml_digits(v + 11, 2, 0, 23, &tm.tm_hour) ||
	    !s3xml_digits(v + 14, 2, 0, 59, &tm.tm_min) ||
	    !s3xml_digits(v + 17, 2, 0, 60, &tm.tm_sec))
		return IA_ERR_INVAL;
	if (n > 20) {
		if (v[19] != '.' || n < 22 || n > 29)
			return IA_ERR_INVAL;
		for (i = 20; i < n - 1; i++)
			if (v[i] < '0' || v[i] > '9')
				return IA_ERR_INVAL;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return IA_ERR_INVAL;
	*out = (int64_t)t;
	return 0;
}

/* The Key, Size and LastModified of one <Contents> element [p, end). */
static int s3xml_entry(const char *p, const char *end, struct s3xml_object *e)
{
	const char *v, *after;
	char num[24];
	size_t vlen;
	int rc;

	if (!s3xml_find(p, end, "Key", &v, &vlen, &after))
		return IA_ERR_INVAL;
	rc = s3xml_decode(v, vlen, e->key, sizeof(e->key));
	if (rc != 0)
		return rc;
	if (!s3xml_find(p, end, "Size", &v, &vlen, &after) || vlen >= sizeof(num))
		return IA_ERR_INVAL;
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	if (ia_parse_int64(num, 0, INT64_MAX, &e->bytes) != 0)
		return IA_ERR_INVAL;
	if (!s3xml_find(p, end, "LastModified", &v, &vlen, &after))
		return IA_ERR_INVAL;
	return s3xml_time(v, vlen, &e->mtime);
}

int s3xml_list_page(const char *body, size_t len, s3xml_object_fn fn, void *ctx, char **next)
{
	const char *p = body, *end = body + len, *v, *after;
	struct s3xml_object *o = xmalloc(sizeof(*o));
	char *tok = NULL;
	size_t vlen;
	int rc = 0;

	*next = NULL;
	while (s3xml_find(p, end, "Contents", &v, &vlen, &after)) {
		p = after;
		rc = s3xml_entry(v, v + vlen, o);
		if (rc != 0) {
			rc = IA_ERR_INVAL;
			goto out;
		}
		rc = fn(o, ctx);
		if (rc != 0)
			goto out;
	}
	if (p < end && memmem(p, (size_t)(end - p), "<Contents>", 10) != NULL) {
		rc = IA_ERR_INVAL; /* one left open: a page cut short */
		goto out;
	}
	if (s3xml_find(body, end, "IsTruncated", &v, &vlen, &after) && vlen == 4 &&
	    memcmp(v, "true", 4) == 0) {
		tok = xmalloc(S3XML_KEY_MAX + 1);
		if (!s3xml_find(body, end, "NextContinuationToken", &v, &vlen, &after) ||
		    vlen == 0 || s3xml_decode(v, vlen, tok, S3XML_KEY_MAX + 1) != 0) {
			rc = IA_ERR_INVAL;
			goto out;
		}
		*next = tok;
		tok = NULL;
	}
out:
	free(tok);
	free(o);
	return rc;
}

void s3xml_error_code(const char *body, size_t len, char *out, size_t outlen)
{
	const char *v, *after;
	size_t vlen;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (s3xml_find(body, body + len, "Code", &v, &vlen, &after) &&
	    s3xml_decode(v, vlen, out, outlen) != 0)
		out[0] = '\0';
}
