-- 008_image_fields.sql - issue 13, points 2 and 11: what <image> shows
-- besides the result. PostgreSQL twin: sql/postgres/008_image_fields.sql.
--
-- original_name: the uploaded file's name as the client sent it, reduced to
-- its last path segment without control characters and bounded
-- (lib/submit.c); NULL for prompts and for rows older than this migration.
-- thumbnail_key: the media key of the preview ia-batch writes with every
-- result (WebP, at most 512 px on the longer side; lib/imgpreview.c), NULL
-- when there is none (older rows, failed jobs, a preview that could not be
-- written, a staff override). It lives under images/ like the result and is
-- removed with it.
--
-- The job's parameters already have a column, params (002): from this
-- version on an upload stores them as accepted (typed, defaults filled in,
-- unknown fields dropped); older rows keep the form's fields as strings.

ALTER TABLE images ADD COLUMN original_name TEXT;
ALTER TABLE images ADD COLUMN thumbnail_key TEXT;
