/*
 * storecopy.h - moving media from one storage to another (the local disk
 * into an S3 bucket, for `iactl db copy-to URL --media`), each object
 * verified by size and SHA-256 after the copy.
 */
#ifndef IA_STORECOPY_H
#define IA_STORECOPY_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct settings;

struct storecopy_report {
	int64_t objects; /* copied and verified */
	int64_t bytes;
	int64_t missing; /* named by a row, absent from the source */
};

/*
 * Copy every media key that rows of db name (sources and results) from
 * the storage of from to the storage of to, reading each back from to
 * and comparing its size and SHA-256 with the source's. Changes nothing
 * in from or db; an object already in to is copied again (the same bytes
 * under the same key). 0 when every object was copied and verified;
 * otherwise the first failure's IA_ERR_* with its key and reason in err
 * (a missing source is IA_ERR_NOTFOUND). *out (may be NULL) counts what
 * was done either way.
 */
int storecopy_run(struct db *db, const struct settings *from, const struct settings *to,
		  struct storecopy_report *out, char *err, size_t errlen);

#endif
