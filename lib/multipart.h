/*
 * multipart.h - a streaming (push) parser for multipart/form-data request
 * bodies (RFC 7578 over RFC 2046). The body is fed in chunks of any size;
 * parts are reported through callbacks as they are found, so a large file
 * part never needs to be held in memory.
 */
#ifndef IA_MULTIPART_H
#define IA_MULTIPART_H

#include <stddef.h>

/*
 * Called in order on_part_begin, on_part_data (zero or more times, in
 * arbitrary slices), on_part_end for each part. Strings passed to
 * on_part_begin are borrowed for the duration of that call only. Any
 * member may be NULL (the event is then ignored). A callback returning
 * non-zero aborts parsing: multipart_feed returns that value, and so does
 * every later feed/finish. on_part_end is not called for a part cut short
 * by an error.
 */
struct multipart_callbacks {
	int (*on_part_begin)(void *ud, const char *name,
			     const char *filename /* NULL for plain fields */,
			     const char *content_type /* may be NULL */);
	int (*on_part_data)(void *ud, const char *data, size_t len);
	int (*on_part_end)(void *ud);
};

/*
 * Bounds on untrusted input; a zero member takes the default given in
 * brackets. max_parts [64]: number of parts; max_header_bytes [8192]: the
 * header block of one part, CRLFs included; max_name_len [256]: bytes of
 * a part's name.
 */
struct multipart_limits {
	size_t max_parts;
	size_t max_header_bytes;
	size_t max_name_len;
};

struct multipart;

/*
 * Create a parser for a body sent with the given Content-Type header value
 * (e.g. "multipart/form-data; boundary=xyz"; the boundary may be quoted and
 * must be 1..70 RFC 2046 bchars not ending in a space). lim may be NULL
 * for defaults; cb must not be NULL; ud is passed to every callback.
 * Returns 0 and a parser in *out (free with multipart_free), or
 * IA_ERR_INVAL when the type is not multipart/form-data or there is no
 * valid boundary.
 */
int multipart_new(const char *content_type, const struct multipart_limits *lim,
		  const struct multipart_callbacks *cb, void *ud, struct multipart **out);

/*
 * Feed the next len bytes of the body (data may be NULL when len is 0).
 * Preamble and epilogue are ignored. Returns 0, IA_ERR_INVAL on malformed
 * input (bad part headers, a part without a name, a boundary line followed
 * by junk), IA_ERR_TOOBIG when a limit is hit, or a callback's non-zero
 * code. Errors are sticky.
 */
int multipart_feed(struct multipart *mp, const char *data, size_t len);

/*
 * Declare the end of the body. Returns 0 when the closing boundary was
 * seen, the sticky error if one occurred, else IA_ERR_INVAL.
 */
int multipart_finish(struct multipart *mp);

/* Free a parser; NULL is a no-op. No callback is called. */
void multipart_free(struct multipart *mp);

#endif
