-- 007_engine_auto.sql - issue 12, item 3: a service's engine may be 'auto'
-- (remove-background only, lib/services.c enforces it): the local engine,
-- and Stability AI when the local result's confidence is low. PostgreSQL
-- twin: sql/postgres/007_engine_auto.sql.
--
-- SQLite cannot change a CHECK constraint, so the table is rebuilt the way
-- https://www.sqlite.org/lang_altertable.html (section 7) describes: a new
-- table with the new constraint, every row copied with its code, the old
-- one dropped, the new one renamed. No table refers to services (images
-- name a service by slug), it has no trigger, view or index of its own
-- beyond the UNIQUE slug, which CREATE TABLE makes again; the migration
-- runs in one transaction (lib/db.c), so a failure leaves the old table.

CREATE TABLE services_new (
    code            INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    tokens          INTEGER NOT NULL CHECK (tokens >= 0),   -- cost in credits
    enabled         INTEGER NOT NULL DEFAULT 1,
    engine          TEXT NOT NULL DEFAULT 'local'
                    CHECK (engine IN ('local', 'stability', 'auto'))
);
INSERT INTO services_new(code, slug, name, description, tokens, enabled, engine)
    SELECT code, slug, name, description, tokens, enabled, engine FROM services;
DROP TABLE services;
ALTER TABLE services_new RENAME TO services;
