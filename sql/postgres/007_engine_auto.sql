-- 007_engine_auto.sql - issue 12, item 3: a service's engine may be 'auto'
-- (remove-background only, lib/services.c enforces it): the local engine,
-- and Stability AI when the local result's confidence is low. PostgreSQL
-- twin of sql/sqlite/007_engine_auto.sql, which has to rebuild the table;
-- here the constraint (named by PostgreSQL after the column, as 002 left it
-- unnamed) is replaced in place.

ALTER TABLE services DROP CONSTRAINT services_engine_check;
ALTER TABLE services ADD CONSTRAINT services_engine_check
    CHECK (engine IN ('local', 'stability', 'auto'));
