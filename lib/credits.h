/*
 * credits.h - the credit balance and its ledger. Every change of
 * users.credits happens here, in a transaction that also writes the
 * ledger row; the balance never goes below zero.
 */
#ifndef IA_CREDITS_H
#define IA_CREDITS_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Ledger reasons (API.md "credits/history"). */
#define CREDITS_SIGNUP       "signup_bonus"
#define CREDITS_CHARGE       "charge"
#define CREDITS_REFUND       "refund"
#define CREDITS_PURCHASE     "purchase"
#define CREDITS_ADMIN_GRANT  "admin_grant"
#define CREDITS_ADMIN_REVOKE "admin_revoke"

struct credits_entry {
	int64_t id;
	int64_t delta;
	int64_t balance_after;
	char reason[16];
	int64_t image_id; /* 0 when none */
	int64_t created;
};

/*
 * Apply delta to the user's balance and write the ledger row. MUST be
 * called inside a transaction the caller opened with db_begin (the
 * caller commits or rolls back). A negative delta larger than the balance
 * fails with IA_ERR_FUNDS and changes nothing. image_id 0 = none, ref may
 * be NULL. IA_ERR_EXISTS when a unique ledger rule is hit (second charge
 * or refund of one image, second purchase of one ref). *balance_after
 * may be NULL.
 */
int credits_apply_in_tx(struct db *db, int64_t user_id, int64_t delta, const char *reason,
			int64_t image_id, const char *ref, int64_t *balance_after);

/* The same in its own BEGIN IMMEDIATE transaction (admin grant/revoke). */
int credits_apply(struct db *db, int64_t user_id, int64_t delta, const char *reason,
		  int64_t image_id, const char *ref, int64_t *balance_after);

/* Number of ledger rows of a user. */
int credits_count(struct db *db, int64_t user_id, int64_t *count);
/*
 * Ledger rows of a user, newest first, skipping offset rows, at most
 * limit rows written to out[]; *n gets the number written.
 */
int credits_history(struct db *db, int64_t user_id, int64_t offset, int64_t limit,
		    struct credits_entry *out, size_t *n);

#endif
