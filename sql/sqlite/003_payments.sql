-- 003_payments.sql - Stripe webhook events that granted credits.
--
-- A payment_intent.succeeded event is recorded here in the same BEGIN
-- IMMEDIATE transaction as its 'purchase' ledger row (lib/stripe.c): the
-- primary key makes a replayed event a no-op, the unique payment_intent
-- makes a second event for the same payment a no-op, and the ledger's own
-- credit_ledger_purchase_once index guards the same rule once more.

CREATE TABLE stripe_events (
    event_id        TEXT PRIMARY KEY,
    payment_intent  TEXT NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL,            -- no FK: the record outlives the account
    amount_received INTEGER NOT NULL CHECK (amount_received >= 0),
    credits         INTEGER NOT NULL CHECK (credits >= 0),
    created         INTEGER NOT NULL
) WITHOUT ROWID;
