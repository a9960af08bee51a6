-- 006_portable_names.sql - names both backends accept: `window` is a
-- reserved word in PostgreSQL (sql/postgres/ uses window_start from the start).
ALTER TABLE rate_limits RENAME COLUMN window TO window_start;
