/*
 * outbox.h - mail that leaves the request (API.md "Accounts": mail is
 * never sent inside a request). A request writes its message with
 * outbox_enqueue inside its own transaction, so the mail exists exactly
 * when the change that caused it was committed; ia-batch delivers due
 * messages with outbox_deliver_due through lib/mail.c, retrying with
 * exponential backoff (MAIL_RETRY_BASE, doubled per attempt, at most an
 * hour apart) for 24 hours, then marks the message failed and logs it.
 *
 * Delivery is at least once, never twice in practice: a message is
 * claimed (state 'sending', a lease of OUTBOX_LEASE seconds, or 2 x
 * MAIL_TIMEOUT + 60 when longer) before it is sent and marked 'sent'
 * after. Only a crash in the instant between the
 * transport accepting the message and that mark makes the lease expire
 * and the message go again; it then carries the same Message-ID (and with
 * MAIL_TRANSPORT=file the same file name, so it replaces itself: exactly
 * once). Losing a message instead (at most once) would fail in the much
 * longer window of an SMTP conversation that dies half way.
 *
 * Logs name a message by id and kind only: never its body (a reset or
 * verification link is a secret), never the SMTP URL or password.
 */
#ifndef IA_OUTBOX_H
#define IA_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct settings;

#define OUTBOX_MAX_AGE   (24 * 3600)  /* seconds of retrying before 'failed' */
#define OUTBOX_LEASE     120          /* seconds a claimed message is ours */
#define OUTBOX_MAX_DELAY 3600         /* longest backoff between attempts */
#define OUTBOX_KEEP      (30 * 86400) /* sent and dropped rows are pruned after */

/* Kinds (the outbox.kind column). */
#define OUTBOX_RESET_REQUEST "reset_request" /* rcpt = the address typed; see resets.h */
#define OUTBOX_RESET         "reset"
#define OUTBOX_VERIFY        "verify"
#define OUTBOX_CONTACT       "contact"

/*
 * Queue one message, due at once. Runs no transaction of its own: call it
 * inside the caller's, so a rollback takes the message with it. Copies
 * every string. IA_ERR_INVAL for a NULL argument or a header value (to,
 * subject) holding CR or LF. *id_out (may be NULL) gets the row id.
 */
int outbox_enqueue(struct db *db, const char *kind, const char *to, const char *subject,
		   const char *body, int64_t now, int64_t *id_out);

/*
 * Claim and deliver the next due message (pending and next_attempt <= now,
 * or sending with an expired lease). 0 when one was sent or dropped;
 * IA_ERR_NOTFOUND when none is due; IA_ERR_IO when the attempt failed (it
 * is rescheduled, or failed for good past its 24 h); IA_ERR_DB etc. when
 * the outbox cannot be read. Writes the database (claim, then result).
 */
int outbox_deliver_one(struct db *db, const struct settings *s, int64_t now);

/*
 * Deliver up to max due messages, stopping early at the first failed
 * attempt (a dead SMTP server costs one MAIL_TIMEOUT per call, not one per
 * message), and prune old sent/dropped rows. *sent (may be NULL) gets the
 * number delivered. 0 unless the outbox cannot be read.
 */
int outbox_deliver_due(struct db *db, const struct settings *s, int64_t now, int max, int *sent);

/* One row for outbox_each: no body (it may hold a token). Strings are
 * borrowed for the duration of the callback. */
struct outbox_info {
	int64_t id;
	const char *kind;
	const char *rcpt;
	const char *subject;
	const char *state;
	int64_t attempts;
	int64_t next_attempt;
	int64_t created;
	const char *last_error; /* NULL when none */
};

/*
 * Call fn for each message, newest first, only those in state when not
 * NULL; stops when fn returns non-zero and returns that value.
 */
int outbox_each(struct db *db, const char *state, int (*fn)(void *ud, const struct outbox_info *m),
		void *ud);

/*
 * Put a failed message back in the queue, due now, with a fresh 24 h.
 * IA_ERR_NOTFOUND when there is no failed message with that id.
 */
int outbox_retry(struct db *db, int64_t id, int64_t now);

#endif
