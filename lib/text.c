/*
 * text.c - the text rules of API.md and terminal-safe escaping (see
 * text.h). One strict UTF-8 decoder serves both, so what the checks refuse
 * and what the escapes show agree.
 */
#include "config.h"

#include "text.h"
#include "err.h"
#include "util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t text_decode(const unsigned char *p, uint32_t *cp);
static bool text_is_control(uint32_t cp);
static void text_trim_spaces(char *s);
static void text_cut_name(char *s);

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence at p, with its code
 * point in *cp, or 0 when p does not start one. p[0] must not be the
 * terminator; later bytes are read only while they are continuation bytes,
 * so the terminator is never passed.
 */
static size_t text_decode(const unsigned char *p, uint32_t *cp)
{
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF && (p[1] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
		return 2;
	}
	if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
		c = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) |
		    (p[2] & 0x3F);
		if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		*cp = c;
		return 3;
	}
	if (p[0] >= 0xF0 && p[0] <= 0xF4 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
	    (p[3] & 0xC0) == 0x80) {
		c = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
		    ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
		if (c < 0x10000 || c > 0x10FFFF)
			return 0;
		*cp = c;
		return 4;
	}
	return 0;
}

/* Unicode's general category Cc: C0, DEL and C1. */
static bool text_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

long text_length(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;
	long count = 0;

	for (; *p != '\0'; p += n, count++) {
		n = text_decode(p, &cp);
		if (n == 0)
			return -1;
	}
	return count;
}

int text_check(const char *s, bool multiline, const char **why)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	while (*p != '\0') {
		n = text_decode(p, &cp);
		if (n == 0) {
			if (why != NULL)
				*why = "Not a valid string.";
			return IA_ERR_INVAL;
		}
		if (text_is_control(cp) &&
		    !(multiline && (cp == '\n' || cp == '\t' || (cp == '\r' && p[1] == '\n')))) {
			if (why != NULL)
				*why = multiline ? "Control characters other than newline and tab "
						   "are not allowed."
						 : "Control characters are not allowed.";
			return IA_ERR_INVAL;
		}
		p += n;
	}
	return 0;
}

char *text_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	char *out = xmalloc(4 * strlen((const char *)p) + 1), *o = out;
	uint32_t cp;
	size_t n;

	/* Worst case 4 output bytes per input byte ("\xNN"); "\u0080" takes 6 for 2. */
	while (*p != '\0') {
		n = text_decode(p, &cp);
		if (n == 0) {
			o += snprintf(o, 5, "\\x%02x", *p);
			p++;
			continue;
		}
		if (cp == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (cp < 0x20 || cp == 0x7F) {
			o += snprintf(o, 5, "\\x%02x", (unsigned)cp);
		} else if (text_is_control(cp)) {
			o += snprintf(o, 7, "\\u%04x", (unsigned)cp);
		} else {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	return out;
}

char *text_escape_json(const char *json)
{
	const unsigned char *p = (const unsigned char *)json;
	char *out = xmalloc(6 * strlen(json) + 1), *o = out;
	uint32_t cp;
	size_t n;

	while (*p != '\0') {
		n = text_decode(p, &cp);
		if (n == 0) {
			memcpy(o, "\\ufffd", 6);
			o += 6;
			p++;
			continue;
		}
		if (cp >= 0x7F && cp <= 0x9F)
			o += snprintf(o, 7, "\\u%04x", (unsigned)cp);
		else {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	return out;
}

/* Remove ASCII spaces at both ends of s, in place. */
static void text_trim_spaces(char *s)
{
	size_t start = strspn(s, " "), len = strlen(s);

	while (len > start && s[len - 1] == ' ')
		len--;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
}

/*
 * Cut the valid UTF-8 name s to TEXT_FILE_NAME_MAX bytes in place: the
 * stem loses its tail (at a character boundary), a short extension stays,
 * so "long...long.png" still says what it was.
 */
static void text_cut_name(char *s)
{
	size_t len = strlen(s), ext_len = 0, keep;
	const char *dot = strrchr(s, '.');

	if (len <= TEXT_FILE_NAME_MAX)
		return;
	if (dot != NULL && dot != s && strlen(dot) <= TEXT_FILE_EXT_MAX)
		ext_len = strlen(dot);
	keep = TEXT_FILE_NAME_MAX - ext_len;
	while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
		keep--; /* s[keep] would be the first byte dropped: not inside a character */
	memmove(s + keep, s + len - ext_len, ext_len + 1);
}

char *text_file_name(const char *raw)
{
	const unsigned char *p;
	char *out, *o;
	uint32_t cp;
	size_t n;

	if (raw == NULL)
		return NULL;
	for (p = (const unsigned char *)raw; *raw != '\0'; raw++)
		if (*raw == '/' || *raw == '\\')
			p = (const unsigned char *)raw + 1;
	out = xmalloc(strlen((const char *)p) + 1);
	o = out;
	while (*p != '\0') {
		n = text_decode(p, &cp);
		if (n == 0) {
			p++;
			continue;
		}
		if (!text_is_control(cp)) {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	text_trim_spaces(out);
	text_cut_name(out);
	if (out[0] == '\0' || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
		free(out);
		return NULL;
	}
	return out;
}
