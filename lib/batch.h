/*
 * batch.h - the batch processor's presence in the database: each ia-batch
 * worker process records a heartbeat row (batch_workers), so that /health/
 * can tell whether anyone is running the job queue. A dead batch processor
 * makes the service "degraded", not down: app hosts keep serving.
 */
#ifndef IA_BATCH_H
#define IA_BATCH_H

#include <stdbool.h>
#include <stdint.h>

struct db;

/* A --watch worker beats at least this often (seconds)... */
#define BATCH_BEAT_SECONDS 5
/* ...and is stale when its last beat is older than this. */
#define BATCH_WATCH_STALE 15
/* A cron (--once) run counts as alive this long after its last beat. */
#define BATCH_ONCE_STALE 120

/*
 * Record that worker ("host:pid") of mode "watch" or "once" is alive now:
 * inserts or refreshes its row, and prunes rows silent for a day. Rate
 * limited by the caller (at most every BATCH_BEAT_SECONDS). A database
 * write outside any transaction.
 */
int batch_beat(struct db *db, const char *worker, const char *host, int64_t pid, const char *mode);

/* Remove worker's row (a --watch worker stopping cleanly). */
int batch_forget(struct db *db, const char *worker);

/*
 * Whether some batch worker is alive at time now: a watch worker seen in
 * the last BATCH_WATCH_STALE seconds or a once run in the last
 * BATCH_ONCE_STALE. Writes the answer to *alive. A read only.
 */
int batch_alive(struct db *db, int64_t now, bool *alive);

#endif
