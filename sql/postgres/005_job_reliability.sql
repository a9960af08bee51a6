-- 005_job_reliability.sql - issue 9 (points 5-8): uploads stored as sent and
-- normalised by ia-batch, fair claims across users, retry backoff, short
-- renewed leases, and the batch processor's heartbeat. PostgreSQL twin of
-- sql/sqlite/005_job_reliability.sql.

-- 0 while source_key still names the file exactly as uploaded: ia-batch
-- decodes it (EXIF orientation, metadata stripped, GIF -> PNG) before the
-- engine runs and points source_key at the normalised file.
ALTER TABLE images ADD COLUMN source_ready BIGINT NOT NULL DEFAULT 1;
-- A pending job is not claimed before this time (retry backoff).
ALTER TABLE images ADD COLUMN run_after BIGINT NOT NULL DEFAULT 0;
-- Order of the last claim (a global counter): the user served longest ago goes first.
ALTER TABLE images ADD COLUMN claim_seq BIGINT;
CREATE INDEX images_user_claim ON images(user_id, claim_seq);
CREATE INDEX images_claim_seq ON images(claim_seq);
-- The per-user limit of jobs in flight (MAX_ACTIVE_JOBS_PER_USER).
CREATE INDEX images_user_active ON images(user_id) WHERE status IN ('pending', 'processing');

-- One row per batch worker process, refreshed while it runs; /health/
-- reports "batch": "stale" when no row is recent.
CREATE TABLE batch_workers (
    worker          TEXT PRIMARY KEY,              -- "host:pid", as images.worker
    host            TEXT NOT NULL,
    pid             BIGINT NOT NULL,
    mode            TEXT NOT NULL DEFAULT 'watch', -- watch | once (cron)
    started         BIGINT NOT NULL,
    seen            BIGINT NOT NULL
);
