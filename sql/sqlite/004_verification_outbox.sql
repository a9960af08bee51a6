-- 004_verification_outbox.sql - email verification (API.md "Accounts") and
-- the mail outbox: mail is written here inside the request's transaction
-- and delivered by ia-batch (lib/outbox.c).

-- Existing accounts are not verified, except those without a usable
-- password (created by Google sign-in: Google vouched for the address; an
-- unusable hash starts with '!', ours and Django's alike).
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
UPDATE users SET email_verified = 1 WHERE substr(password_hash, 1, 1) IN ('', '!');

-- Single-use verification links, as password_resets: only a hash of the
-- mailed token is stored.
CREATE TABLE email_verifications (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    created         INTEGER NOT NULL,
    used            INTEGER
);
CREATE INDEX email_verifications_user ON email_verifications(user_id);

-- One row per message. kind 'reset_request' is a password reset asked for
-- an address that may or may not have an account: ia-batch turns it into a
-- 'reset' mail (with a new token) or drops it, so the request itself does
-- the same work either way. state: pending -> sending (claimed, with a
-- lease) -> sent | failed | dropped; a failed attempt goes back to pending
-- with next_attempt pushed out (exponential backoff, 24 h in all).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('reset_request', 'reset', 'verify', 'contact')),
    rcpt            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,               -- may hold a token: never logged, wiped once sent
    token           TEXT NOT NULL,               -- random: Message-ID and MAIL_DIR file name
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt    INTEGER NOT NULL,
    give_up         INTEGER NOT NULL,            -- created + 24 h (iactl mail retry: now + 24 h)
    lease_until     INTEGER,
    last_error      TEXT,
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_attempt);
