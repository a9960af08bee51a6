/*
 * jsoncheck.h - a strict RFC 8259 syntax check run before cJSON parses a
 * request body. cJSON is lenient (leading zeros, raw control characters in
 * strings), and a "\u0000" escape would silently cut a C string short
 * ("victim@example.com\u0000.evil" becoming "victim@example.com"), so
 * bodies that Python's json.loads would refuse, or that carry NUL
 * characters, are refused here.
 */
#ifndef IA_JSONCHECK_H
#define IA_JSONCHECK_H

#include <stddef.h>

#define JSONCHECK_MAX_DEPTH 64

/*
 * 0 when text[0..len) is exactly one valid JSON value (surrounded by
 * optional whitespace) with no NUL character and nesting at most
 * JSONCHECK_MAX_DEPTH; otherwise IA_ERR_INVAL with the byte offset of the
 * problem in *where and a short reason in *why (static string).
 */
int jsoncheck_validate(const char *text, size_t len, size_t *where, const char **why);

/*
 * The same check, but a "\u0000" escape is accepted and rewritten in place
 * into "\uFFFF" (a noncharacter), which api_field_string then refuses with
 * DRF's "Null characters are not allowed." on the right field.
 */
int jsoncheck_validate_marking_nul(char *text, size_t len, size_t *where, const char **why);
#define JSONCHECK_NUL_MARK "\xEF\xBF\xBF" /* U+FFFF in UTF-8 */

#endif
