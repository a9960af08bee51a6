/*
 * metricsdb.c - cluster-wide metrics from the database (metricsdb.h).
 *
 * Why here and not in the host's counter file: job runs, Stability AI
 * attempts and mail deliveries happen in ia-batch, which may run on batch
 * hosts that answer no HTTP and whose files no scrape reads. ia-batch
 * already writes the database after every job, so one more upsert there
 * costs nothing a request would notice (requests never write here), and
 * the values add up over every batch host by construction. The queue,
 * ledger and outbox gauges are read from their tables at scrape time.
 */
#include "config.h"

#include "metricsdb.h"
#include "db.h"
#include "err.h"
#include "metrics.h"

#include <string.h>

#define METRICSDB_UPSERT                                                                           \
	" ON CONFLICT (series, idx) DO UPDATE SET value = metric_counters.value + excluded.value"

int metricsdb_count(struct db *db, const char *key, int64_t n)
{
	struct db_stmt *st;
	int rc;

	if (db == NULL || key == NULL || key[0] == '\0')
		return IA_ERR_INVAL;
	rc = db_prepare(
	    db,
	    "INSERT INTO metric_counters (series, idx, kind, value) VALUES (?1, 0, 1, ?2)"
	    " " METRICSDB_UPSERT,
	    &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, key);
	db_bind_int64(st, 2, n);
	return db_step_count(st, NULL);
}

int metricsdb_observe(struct db *db, const char *key, double seconds)
{
	struct db_stmt *st;
	int64_t us;
	int rc;

	if (db == NULL || key == NULL || key[0] == '\0')
		return IA_ERR_INVAL;
	if (!(seconds >= 0))
		seconds = 0;
	us = seconds < 1e12 ? (int64_t)(seconds * 1e6 + 0.5) : INT64_C(1000000000000000000);
	rc = db_prepare(db,
			"INSERT INTO metric_counters (series, idx, kind, value) VALUES "
			"(?1, ?2, 3, 1), (?1, ?3, 3, ?4)" METRICSDB_UPSERT,
			&st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, key);
	db_bind_int64(st, 2, metrics_bucket(seconds));
	db_bind_int64(st, 3, METRICS_SUM_IDX);
	db_bind_int64(st, 4, us);
	return db_step_count(st, NULL);
}

/* The rows of metric_counters as series (ordered by key, so a series'
 * rows are adjacent). */
static int metricsdb_counters(struct db *db, struct metrics_set *set)
{
	struct db_stmt *st;
	uint64_t v[METRICS_VALUES];
	char key[METRICS_KEY_MAX] = "";
	int kind = 0, rc;

	rc = db_prepare(db, "SELECT series, idx, kind, value FROM metric_counters ORDER BY series",
			&st);
	if (rc != 0)
		return rc;
	memset(v, 0, sizeof(v));
	while ((rc = db_step(st)) == DB_ROW) {
		const char *series = db_column_text(st, 0);
		int64_t idx = db_column_int64(st, 1), value = db_column_int64(st, 3);

		if (series == NULL || strlen(series) >= METRICS_KEY_MAX || idx < 0 ||
		    idx >= METRICS_VALUES)
			continue;
		if (strcmp(series, key) != 0) {
			if (key[0] != '\0')
				metrics_set_add(set, key, (enum metrics_kind)kind, v, 0);
			memcpy(key, series, strlen(series) + 1);
			memset(v, 0, sizeof(v));
		}
		kind = db_column_int64(st, 2) == METRICS_HISTOGRAM ? METRICS_HISTOGRAM
								   : METRICS_COUNTER;
		v[idx] = value > 0 ? (uint64_t)value : 0;
	}
	if (key[0] != '\0')
		metrics_set_add(set, key, (enum metrics_kind)kind, v, 0);
	db_reset(st);
	return rc == DB_DONE ? 0 : rc;
}

/*
 * One labelled family from a GROUP BY query whose rows are (label value,
 * number): every value of always (NULL-terminated) appears, 0 when no row
 * names it, so dashboards see a series from the first scrape on.
 */
static int metricsdb_grouped(struct db *db, const char *sql, const char *name, const char *label,
			     enum metrics_kind kind, const char *const *always,
			     struct metrics_set *set)
{
	struct db_stmt *st;
	char key[METRICS_KEY_MAX];
	bool seen[8] = {false};
	int rc;

	rc = db_prepare(db, sql, &st);
	if (rc != 0)
		return rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *value = db_column_text(st, 0);
		const char *labels[3] = {label, value, NULL};

		if (value == NULL || metrics_key(key, name, labels) != 0)
			continue;
		for (int i = 0; always[i] != NULL && i < 8; i++)
			if (strcmp(always[i], value) == 0)
				seen[i] = true;
		metrics_set_add(set, key, kind, NULL, (uint64_t)db_column_int64(st, 1));
	}
	db_reset(st);
	if (rc != DB_DONE)
		return rc;
	for (int i = 0; always[i] != NULL && i < 8; i++) {
		const char *labels[3] = {label, always[i], NULL};

		if (!seen[i] && metrics_key(key, name, labels) == 0)
			metrics_set_add(set, key, kind, NULL, 0);
	}
	return 0;
}

static int metricsdb_oldest_pending(struct db *db, int64_t now, struct metrics_set *set)
{
	struct db_stmt *st;
	int64_t created = 0, age = 0;
	int rc;

	/* The oldest pending job is the one of lowest id: images_queue's order. */
	rc = db_prepare(
	    db, "SELECT created FROM images WHERE status = 'pending' ORDER BY id LIMIT 1", &st);
	if (rc != 0)
		return rc;
	rc = db_step_int64(st, &created);
	if (rc == 0 && now > created)
		age = now - created;
	else if (rc != IA_ERR_NOTFOUND && rc != 0)
		return rc;
	metrics_set_add(set, "ia_queue_oldest_pending_age_seconds", METRICS_GAUGE, NULL,
			(uint64_t)age);
	return 0;
}

int metricsdb_collect(struct db *db, int64_t now, struct metrics_set *set)
{
	static const char *const queue[] = {"pending", "processing", NULL};
	static const char *const reasons[] = {"charge", "refund", "purchase", NULL};
	static const char *const outbox[] = {"pending", "sending", "failed", NULL};
	int rc;

	rc = metricsdb_counters(db, set);
	if (rc == 0)
		rc = metricsdb_grouped(db,
				       "SELECT status, COUNT(*) FROM images WHERE status IN "
				       "('pending', 'processing') GROUP BY status",
				       "ia_queue_jobs", "status", METRICS_GAUGE, queue, set);
	if (rc == 0)
		rc = metricsdb_oldest_pending(db, now, set);
	if (rc == 0)
		rc = metricsdb_grouped(db,
				       "SELECT reason, SUM(ABS(delta)) FROM credit_ledger GROUP BY "
				       "reason",
				       "ia_credits_total", "reason", METRICS_COUNTER, reasons, set);
	if (rc == 0)
		rc = metricsdb_grouped(db, "SELECT state, COUNT(*) FROM outbox GROUP BY state",
				       "ia_outbox_messages", "status", METRICS_GAUGE, outbox, set);
	return rc;
}
