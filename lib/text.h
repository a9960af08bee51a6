/*
 * text.h - the text rules of API.md ("Text fields"): what the service
 * accepts as user text (valid UTF-8; no control characters in one-line
 * text such as names; only newline and tab in multi-line text such as
 * prompts and messages), the visible escaping used to print stored
 * text to a terminal, where a raw escape sequence would act on the screen,
 * and the display form of a client's file name.
 */
#ifndef IA_TEXT_H
#define IA_TEXT_H

#include <stdbool.h>

/* Number of code points of s, or -1 when s is not valid UTF-8. */
long text_length(const char *s);

/*
 * Check s against the text rules. Control characters are C0 (U+0000 to
 * U+001F), DEL (U+007F) and C1 (U+0080 to U+009F). With multiline, LF and
 * TAB are allowed, and so is CR directly before LF (browsers send a
 * textarea's line ends as CRLF); a lone CR is not. Overlong forms,
 * surrogates and code points past U+10FFFF are invalid UTF-8.
 *
 * Returns 0 when s is acceptable, else IA_ERR_INVAL and *why (when why is
 * not NULL) points to a static user-facing message: "Not a valid string."
 * for invalid UTF-8, or one saying which control characters are refused.
 * s must not be NULL.
 */
int text_check(const char *s, bool multiline, const char **why);

/*
 * A copy of s safe to print on a terminal: control characters and bytes
 * that are not valid UTF-8 become visible escapes (ESC is "\x1b", C1 U+009B
 * is "\u009b", a stray 0xff byte "\xff") and a backslash is doubled, so the
 * output is unambiguous. Valid printable UTF-8 is kept as is. s may be NULL
 * (gives ""). The caller frees the result.
 */
char *text_escape(const char *s);

/*
 * A copy of a printed JSON document in which what cJSON leaves raw inside
 * strings is escaped too: DEL and C1 characters become \u007f .. \u009f and
 * bytes that are not valid UTF-8 become \ufffd (JSON cannot carry them).
 * cJSON already escapes C0. The caller frees the result.
 */
char *text_escape_json(const char *json);

/* The longest file name text_file_name keeps, in bytes. */
#define TEXT_FILE_NAME_MAX 255
/* The longest extension ("." included) text_file_name keeps when it cuts. */
#define TEXT_FILE_EXT_MAX 16

/*
 * The name to show for a client's upload file name (API.md <image>
 * "original_name"), which is never used as a path: its last segment (after
 * the last '/' or backslash), without control characters and without bytes that
 * are not valid UTF-8, spaces trimmed at both ends, at most
 * TEXT_FILE_NAME_MAX bytes (cut at a character boundary, keeping an
 * extension of up to TEXT_FILE_EXT_MAX bytes). NULL when raw is NULL or
 * nothing is left but "", "." or "..". The caller frees the result.
 */
char *text_file_name(const char *raw);

#endif
