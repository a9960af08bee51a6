-- 010_metrics.sql - PostgreSQL twin of sql/sqlite/010_metrics.sql. Issue 14, point 1: counters of what happens on batch
-- hosts (job runs and their durations, Stability AI attempts, failed mail
-- deliveries, ia-batch restarts). ia-batch adds to them after each event
-- with one upsert; GET /metrics reads them, so they are cluster-wide, add
-- up over every batch host and survive any process (lib/metricsdb.c).
-- One row per series key and value index: a counter uses idx 0; a
-- histogram its buckets 0..15 (not cumulative) and 16, the sum in
-- microseconds. kind: 1 counter, 3 histogram (lib/metrics.h). Rows are
-- never deleted: the values only grow.
CREATE TABLE metric_counters (
    series          TEXT NOT NULL,
    idx             INTEGER NOT NULL CHECK (idx BETWEEN 0 AND 16),
    kind            INTEGER NOT NULL CHECK (kind IN (1, 3)),
    value           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (series, idx)
);
