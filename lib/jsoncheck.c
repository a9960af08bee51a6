/*
 * jsoncheck.c - recursive-descent syntax check of JSON text (no values are
 * built). Depth is bounded, so the recursion is too.
 */
#include "config.h"

#include "jsoncheck.h"
#include "err.h"

#include <string.h>

struct jsoncheck {
	const char *s;
	char *rewrite; /* when set: the same text, writable; NUL escapes become U+FFFF */
	size_t len, pos;
	const char *why;
};

static int jc_value(struct jsoncheck *j, int depth);

static int jc_fail(struct jsoncheck *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return IA_ERR_INVAL;
}

static int jc_peek(const struct jsoncheck *j)
{
	return j->pos < j->len ? (unsigned char)j->s[j->pos] : -1;
}

static void jc_ws(struct jsoncheck *j)
{
	while (j->pos < j->len && strchr(" \t\r\n", j->s[j->pos]) != NULL && j->s[j->pos] != '\0')
		j->pos++;
}

static int jc_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int jc_string(struct jsoncheck *j)
{
	j->pos++; /* opening quote */
	for (;;) {
		int c = jc_peek(j);

		if (c < 0)
			return jc_fail(j, "unterminated string");
		if (c < 0x20)
			return jc_fail(j, "control character in string");
		j->pos++;
		if (c == '"')
			return 0;
		if (c != '\\')
			continue;
		c = jc_peek(j);
		if (c < 0 || strchr("\"\\/bfnrtu", c) == NULL || c == '\0')
			return jc_fail(j, "invalid escape");
		j->pos++;
		if (c == 'u') {
			int i;

			for (i = 0; i < 4; i++)
				if (!jc_hex(jc_peek(j)) || (j->pos++, 0))
					return jc_fail(j, "invalid \\u escape");
			if (strncmp(j->s + j->pos - 4, "0000", 4) == 0) {
				if (j->rewrite == NULL)
					return jc_fail(j, "null characters are not allowed");
				memcpy(j->rewrite + j->pos - 4, "FFFF", 4);
			}
		}
	}
}

static int jc_digits(struct jsoncheck *j)
{
	size_t start = j->pos;

	while (jc_peek(j) >= '0' && jc_peek(j) <= '9')
		j->pos++;
	return j->pos > start ? 0 : jc_fail(j, "invalid number");
}

static int jc_number(struct jsoncheck *j)
{
	if (jc_peek(j) == '-')
		j->pos++;
	if (jc_peek(j) == '0') {
		j->pos++;
		if (jc_peek(j) >= '0' && jc_peek(j) <= '9')
			return jc_fail(j, "leading zero in number");
	} else if (jc_digits(j) != 0) {
		return IA_ERR_INVAL;
	}
	if (jc_peek(j) == '.') {
		j->pos++;
		if (jc_digits(j) != 0)
			return IA_ERR_INVAL;
	}
	if (jc_peek(j) == 'e' || jc_peek(j) == 'E') {
		j->pos++;
		if (jc_peek(j) == '+' || jc_peek(j) == '-')
			j->pos++;
		if (jc_digits(j) != 0)
			return IA_ERR_INVAL;
	}
	return 0;
}

static int jc_word(struct jsoncheck *j, const char *w)
{
	size_t n = strlen(w);

	if (j->len - j->pos < n || memcmp(j->s + j->pos, w, n) != 0)
		return jc_fail(j, "unexpected character");
	j->pos += n;
	return 0;
}

/* Object or array body after the opening bracket. */
static int jc_container(struct jsoncheck *j, int depth, int close)
{
	j->pos++;
	jc_ws(j);
	if (jc_peek(j) == close) {
		j->pos++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (jc_peek(j) != '"')
				return jc_fail(j, "expected a property name");
			if (jc_string(j) != 0)
				return IA_ERR_INVAL;
			jc_ws(j);
			if (jc_peek(j) != ':')
				return jc_fail(j, "expected ':'");
			j->pos++;
			jc_ws(j);
		}
		if (jc_value(j, depth + 1) != 0)
			return IA_ERR_INVAL;
		jc_ws(j);
		if (jc_peek(j) == close) {
			j->pos++;
			return 0;
		}
		if (jc_peek(j) != ',')
			return jc_fail(j, "expected ',' or a closing bracket");
		j->pos++;
		jc_ws(j);
	}
}

static int jc_value(struct jsoncheck *j, int depth)
{
	int c = jc_peek(j);

	/* containers count towards the depth, scalars do not */
	if ((c == '{' || c == '[') && depth > JSONCHECK_MAX_DEPTH)
		return jc_fail(j, "nested too deeply");
	if (c == '{')
		return jc_container(j, depth, '}');
	if (c == '[')
		return jc_container(j, depth, ']');
	if (c == '"')
		return jc_string(j);
	if (c == '-' || (c >= '0' && c <= '9'))
		return jc_number(j);
	if (c == 't')
		return jc_word(j, "true");
	if (c == 'f')
		return jc_word(j, "false");
	if (c == 'n')
		return jc_word(j, "null");
	return jc_fail(j, c < 0 ? "unexpected end of input" : "unexpected character");
}

static int jc_run(struct jsoncheck *j, size_t *where, const char **why);

int jsoncheck_validate(const char *text, size_t len, size_t *where, const char **why)
{
	struct jsoncheck j = {text, NULL, len, 0, NULL};

	return jc_run(&j, where, why);
}

int jsoncheck_validate_marking_nul(char *text, size_t len, size_t *where, const char **why)
{
	struct jsoncheck j = {text, text, len, 0, NULL};

	return jc_run(&j, where, why);
}

static int jc_run(struct jsoncheck *jp, size_t *where, const char **why)
{
	struct jsoncheck j = *jp;

	jc_ws(&j);
	if (jc_value(&j, 1) == 0) {
		jc_ws(&j);
		if (j.pos == j.len)
			return 0;
		jc_fail(&j, "extra data after the value");
	}
	*where = j.pos;
	*why = j.why;
	return IA_ERR_INVAL;
}
