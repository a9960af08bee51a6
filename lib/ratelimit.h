/*
 * ratelimit.h - fixed-window request counters shared by every process
 * through SQLite (per endpoint and client address, per minute).
 */
#ifndef IA_RATELIMIT_H
#define IA_RATELIMIT_H

#include <stdint.h>

struct db;

/*
 * Count one hit of bucket ("login:127.0.0.1") in the current minute.
 * Returns 0 when allowed, IA_ERR_BUSY when over limit_per_minute (and
 * writes the seconds until the window ends to *retry_after). A limit of 0
 * turns limiting off. Old windows are pruned as a side effect.
 */
int ratelimit_hit(struct db *db, const char *bucket, int64_t limit_per_minute, int64_t now,
		  int64_t *retry_after);

#endif
