-- 002_images.sql - the services catalogue and the images (jobs) table.

CREATE TABLE services (
    code            INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    tokens          INTEGER NOT NULL CHECK (tokens >= 0),   -- cost in credits
    enabled         INTEGER NOT NULL DEFAULT 1,
    engine          TEXT NOT NULL DEFAULT 'local' CHECK (engine IN ('local', 'stability'))
);
INSERT INTO services(code, slug, name, description, tokens, engine) VALUES
    (1, 'greyscale', 'Greyscale', 'Convert an image to shades of grey, keeping transparency.', 1, 'local'),
    (2, 'remove-background', 'Remove Background', 'Cut the subject out and make the background transparent (PNG).', 3, 'local'),
    (3, 'resize', 'Resize', 'Scale an image to an exact width and height.', 1, 'local'),
    (4, 'thumbnail', 'Thumbnail', 'Shrink an image to fit a box, keeping its proportions.', 1, 'local'),
    (5, 'cropping', 'Cropping', 'Cut a rectangle out of an image.', 0, 'local'),
    (6, 'enhancement', 'Enhancement', 'Upscale 2x or 4x with sharpening and automatic contrast.', 3, 'local'),
    (7, 'generate', 'GenerateImage', 'Create an image from a text prompt.', 9, 'stability'),
    (8, 'outline', 'Image Outline', 'Trace the edges of an image as black lines on white.', 2, 'local'),
    (9, 'avatar', 'Avatar Creation', 'A square, stylised portrait for profile pictures.', 5, 'local');

-- One row per job: created 'pending' in the charging transaction, claimed
-- by ia-batch with a lease, finished 'done' or 'failed' (+ refund).
-- AUTOINCREMENT: an id is never reused after a delete, because ledger rows
-- keep pointing at it (and charge/refund are unique per image id).
CREATE TABLE images (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    service         TEXT NOT NULL,                 -- services.slug
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    params          TEXT NOT NULL DEFAULT '{}',    -- JSON object of the service's parameters
    prompt          TEXT,
    aspect_ratio    TEXT,
    source_key      TEXT,                          -- media key of the normalised upload
    image_key       TEXT,                          -- media key of the result
    alternate_url   TEXT,
    ai_response     TEXT,                          -- JSON object or NULL
    error           TEXT,
    width           INTEGER,
    height          INTEGER,
    content_type    TEXT,
    bytes           INTEGER,
    cost            INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0),
    payment_made    INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER,
    worker          TEXT,
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL
);
CREATE INDEX images_queue ON images(status, id);
CREATE INDEX images_user ON images(user_id, id);
