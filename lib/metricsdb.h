/*
 * metricsdb.h - the metrics that are facts in the database, and so the
 * same seen from any host: read at scrape time from the tables (queue
 * depth, the oldest pending job, ledger sums, outbox states), or counted
 * in the table metric_counters by ia-batch (job runs, Stability AI
 * attempts, failed deliveries, ia-batch restarts), which batch hosts
 * without HTTP share with every app host. The series keys and text format
 * are lib/metrics.h's.
 */
#ifndef IA_METRICSDB_H
#define IA_METRICSDB_H

#include <stdint.h>

struct db;
struct metrics_set;

/* Add n to the cluster-wide counter key. One upsert (its own transaction
 * unless one is open); 0 or the db error. */
int metricsdb_count(struct db *db, const char *key, int64_t n);
/* Observe a duration (seconds) in the cluster-wide histogram key. */
int metricsdb_observe(struct db *db, const char *key, double seconds);

/*
 * Append the database's series to set: metric_counters, ia_jobs{status},
 * ia_queue_oldest_pending_age_seconds (against now), ia_credits_total
 * {reason} and ia_outbox_messages{status}. Read-only; 0 or the db error
 * (set may then hold part of them).
 */
int metricsdb_collect(struct db *db, int64_t now, struct metrics_set *set);

#endif
