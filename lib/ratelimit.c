/*
 * ratelimit.c - fixed one-minute windows counted in the database, so every
 * FastCGI process and host sharing the database sees the same counts. The
 * count is bumped and read back by a single UPSERT ... RETURNING, which
 * SQLite runs atomically without an explicit transaction.
 */
#include "config.h"

#include "ratelimit.h"
#include "db.h"
#include "err.h"
#include "log.h"

#include <stddef.h>

#define RATELIMIT_WINDOW 60
#define RATELIMIT_KEEP   120 /* prune windows that ended more than this long ago */

static int ratelimit_count(struct db *db, const char *bucket, int64_t window, int64_t *count);
static void ratelimit_prune(struct db *db, int64_t now);

/* Add one hit to (bucket, window) and return the new count. */
static int ratelimit_count(struct db *db, const char *bucket, int64_t window, int64_t *count)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(
	    db,
	    "INSERT INTO rate_limits(bucket, window_start, count) VALUES (?, ?, 1) "
	    "ON CONFLICT(bucket, window_start) DO UPDATE SET count = rate_limits.count + 1 "
	    "RETURNING count",
	    &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, bucket);
	db_bind_int64(st, 2, window);
	rc = db_step_insert(st, count);
	db_reset(st);
	return rc;
}

/* Best effort: stale rows only cost space, so a failure is just logged. */
static void ratelimit_prune(struct db *db, int64_t now)
{
	struct db_stmt *st;

	if (db_prepare(db, "DELETE FROM rate_limits WHERE window_start < ?", &st) != 0)
		return;
	db_bind_int64(st, 1, now - RATELIMIT_KEEP);
	if (db_step_count(st, NULL) != 0)
		log_warn("ratelimit: pruning old windows failed");
}

/*
 * Pruning runs when a bucket opens a new window (count 1): often enough to
 * keep the table at about two minutes of buckets, rare enough to be cheap.
 */
int ratelimit_hit(struct db *db, const char *bucket, int64_t limit_per_minute, int64_t now,
		  int64_t *retry_after)
{
	int64_t window, count = 0;
	int rc;

	if (db == NULL || bucket == NULL || limit_per_minute < 0 || now < 0)
		return IA_ERR_INVAL;
	if (limit_per_minute == 0)
		return 0;
	window = now - now % RATELIMIT_WINDOW;
	rc = ratelimit_count(db, bucket, window, &count);
	if (rc != 0)
		return rc;
	if (count == 1)
		ratelimit_prune(db, now);
	if (count <= limit_per_minute)
		return 0;
	if (retry_after != NULL)
		*retry_after = window + RATELIMIT_WINDOW - now;
	return IA_ERR_BUSY;
}
