-- 001_accounts.sql - users, credit ledger, feature flags, password resets,
-- contact messages and rate-limit counters.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash   TEXT NOT NULL,              -- '!' = no usable password
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    credits         INTEGER NOT NULL DEFAULT 0 CHECK (credits >= 0),
    is_staff        INTEGER NOT NULL DEFAULT 0,
    is_superuser    INTEGER NOT NULL DEFAULT 0,
    banned          INTEGER NOT NULL DEFAULT 0,
    ban_reason      TEXT,
    token_version   INTEGER NOT NULL DEFAULT 0,  -- bumped on password change: older tokens die
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL
);

-- Every balance change, written in the same transaction as the change.
CREATE TABLE credit_ledger (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    delta           INTEGER NOT NULL CHECK (delta <> 0),
    balance_after   INTEGER NOT NULL CHECK (balance_after >= 0),
    reason          TEXT NOT NULL CHECK (reason IN
                    ('signup_bonus', 'charge', 'refund', 'purchase', 'admin_grant', 'admin_revoke')),
    image_id        INTEGER,
    ref             TEXT,                        -- e.g. a Stripe payment intent
    created         INTEGER NOT NULL
);
CREATE INDEX credit_ledger_user ON credit_ledger(user_id, id);
-- A job is charged at most once and refunded at most once.
CREATE UNIQUE INDEX credit_ledger_charge_once ON credit_ledger(image_id) WHERE reason = 'charge';
CREATE UNIQUE INDEX credit_ledger_refund_once ON credit_ledger(image_id) WHERE reason = 'refund';
CREATE UNIQUE INDEX credit_ledger_purchase_once ON credit_ledger(ref) WHERE reason = 'purchase';

CREATE TABLE flags (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    enabled         INTEGER NOT NULL DEFAULT 0,  -- on for everyone
    created         INTEGER NOT NULL
);
CREATE TABLE user_flags (
    flag_id         INTEGER NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (flag_id, user_id)
) WITHOUT ROWID;
INSERT INTO flags(name, enabled, created) VALUES ('show_credits', 0, strftime('%s', 'now'));

-- Only a hash of the mailed token is stored.
CREATE TABLE password_resets (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    created         INTEGER NOT NULL,
    used            INTEGER
);

CREATE TABLE contact_messages (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         TEXT NOT NULL,
    created         INTEGER NOT NULL
);

-- Fixed one-minute windows per (endpoint, client address).
CREATE TABLE rate_limits (
    bucket          TEXT NOT NULL,
    window          INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    PRIMARY KEY (bucket, window)
) WITHOUT ROWID;
