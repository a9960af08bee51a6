-- 008_image_fields.sql - issue 13, points 2 and 11: the uploaded file's
-- sanitised name and the media key of the result's preview. PostgreSQL twin
-- of sql/sqlite/008_image_fields.sql, which says what each column holds.

ALTER TABLE images ADD COLUMN original_name TEXT;
ALTER TABLE images ADD COLUMN thumbnail_key TEXT;
