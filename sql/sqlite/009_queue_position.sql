-- 009_queue_position.sql - issue 13 point 1: the status reply's `position`
-- (lib/queue.c) groups the pending jobs by user and counts a user's
-- pending jobs before one id. With this index both reads are one range of
-- it (status = 'pending'), already in user order and covering: no table
-- rows, no sort, however many done rows the table keeps. (008 is the
-- image fields' migration.)
CREATE INDEX images_status_user ON images(status, user_id, id);
