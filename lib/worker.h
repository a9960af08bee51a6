/*
 * worker.h - what ia-batch does with one job: claim it, run its service on
 * its engine, store the output under a new media key, and finish it, or
 * fail it (retry on transient errors; refund when it is final).
 */
#ifndef IA_WORKER_H
#define IA_WORKER_H

#include <stdint.h>

struct db;
struct settings;

/*
 * Claim and process one job as worker_id with a lease of lease_seconds.
 * Returns 0 after processing one job (whatever its outcome),
 * IA_ERR_NOTFOUND when there was nothing to do, or another error when the
 * queue itself could not be read.
 */
int worker_run_one(struct db *db, const struct settings *s, const char *worker_id,
		   int64_t lease_seconds);

#endif
