/*
 * s3xml.h - the little of S3's XML that store_s3.c reads: the objects and
 * the continuation token of a ListObjectsV2 page, and the <Code> of an
 * error. No XML library: bounded searches for S3's fixed element names,
 * with the five named entities and numeric references decoded; anything
 * else (attributes on these elements, CDATA, nesting) is not S3's answer
 * and is refused or ignored, never trusted.
 */
#ifndef IA_S3XML_H
#define IA_S3XML_H

#include <stddef.h>
#include <stdint.h>

/* S3's longest key, in bytes. */
#define S3XML_KEY_MAX 1024

/* One object of a ListObjectsV2 page. */
struct s3xml_object {
	char key[S3XML_KEY_MAX + 1]; /* decoded, NUL-terminated */
	int64_t bytes;               /* <Size> */
	int64_t mtime;               /* <LastModified>, unix seconds */
};

/* Called for each object; a non-zero return stops the walk. o is borrowed
 * for the call. */
typedef int (*s3xml_object_fn)(const struct s3xml_object *o, void *ctx);

/*
 * Walk the ListObjectsV2 page body[0..len) (need not be NUL-terminated):
 * fn for each <Contents> in order. 0, or fn's non-zero return (the walk
 * stops), or IA_ERR_INVAL for a page that is malformed: a <Contents>
 * without a decodable <Key> (at most S3XML_KEY_MAX bytes, no NUL), a
 * <Size> in 0..INT64_MAX, or a <LastModified> s3xml_time accepts; or
 * <IsTruncated>true</IsTruncated> without a non-empty
 * <NextContinuationToken>. When fn was called for every object and the
 * page is truncated, *next is the token (heap, caller frees), else NULL;
 * *next is NULL on every failure.
 */
int s3xml_list_page(const char *body, size_t len, s3xml_object_fn fn, void *ctx, char **next);

/* The <Code> of an S3 error body[0..len) into out[outlen] ("" when there is
 * none or it does not fit). */
void s3xml_error_code(const char *body, size_t len, char *out, size_t outlen);

/*
 * XML character data v[0..n) with &amp; &lt; &gt; &quot; &apos; and
 * numeric references (&#N; &#xH;, a Unicode scalar value other than 0)
 * decoded into out[outsz], NUL-terminated. 0; IA_ERR_TOOBIG when it does
 * not fit; IA_ERR_INVAL for another '&' sequence or a NUL byte.
 */
int s3xml_decode(const char *v, size_t n, char *out, size_t outsz);

/*
 * An ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS[.f{1,8}]Z" (S3's LastModified)
 * v[0..n) as unix seconds (fraction dropped) into *out. IA_ERR_INVAL for
 * any other form or a field out of range (year 1970..9999).
 */
int s3xml_time(const char *v, size_t n, int64_t *out);

#endif
