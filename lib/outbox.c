/*
 * outbox.c - the mail outbox (see outbox.h for the guarantees). This
 * module implements the queue's life cycle on the outbox table:
 *
 *   enqueue (in the caller's transaction)        -> pending
 *   claim (one UPDATE ... RETURNING, a lease)     -> sending, attempts + 1
 *   sent                                          -> sent (body wiped)
 *   attempt failed, before give_up                -> pending, next_attempt later
 *   attempt failed at or after give_up            -> failed (logged)
 *   reset_request without an eligible account     -> dropped (address wiped)
 *
 * Every transition after the claim is guarded by "state = 'sending' AND
 * attempts = <ours>", so a worker whose lease ran out cannot overwrite
 * what the worker that took the message over decided.
 */
#include "config.h"

#include "outbox.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "metricsdb.h"
#include "mail.h"
#include "resets.h"
#include "settings.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* A claimed message; every string is ours (heap). */
struct outbox_claimed {
	int64_t id;
	char *kind;
	char *rcpt;
	char *subject;
	char *body;
	char *token;
	int64_t attempts;
	int64_t created;
	int64_t give_up;
	bool reclaimed; /* its previous attempt never finished (lease expired) */
};

static char *outbox_dup(struct db_stmt *st, int col);
static void outbox_claimed_cleanup(struct outbox_claimed *m);
static int64_t outbox_lease(const struct settings *s);
static int outbox_claim(struct db *db, int64_t lease, int64_t now, struct outbox_claimed *out);
static int outbox_fill(struct db *db, const struct outbox_claimed *m, const char *to,
		       const char *body, int64_t now);
static int outbox_drop(struct db *db, const struct outbox_claimed *m, int64_t now);
static int outbox_expand_reset(struct db *db, const struct settings *s, struct outbox_claimed *m,
			       int64_t now);
static int outbox_mark_sent(struct db *db, const struct outbox_claimed *m, int64_t now);
static int outbox_mark_failed(struct db *db, const struct settings *s,
			      const struct outbox_claimed *m, int rc, int64_t now);
static int64_t outbox_backoff(const struct settings *s, int64_t attempts);
static void outbox_prune(struct db *db, int64_t now);

static char *outbox_dup(struct db_stmt *st, int col)
{
	const char *v = db_column_text(st, col);

	return xstrdup(v != NULL ? v : "");
}

static void outbox_claimed_cleanup(struct outbox_claimed *m)
{
	free(m->kind);
	free(m->rcpt);
	free(m->subject);
	ia_free_secret(m->body);
	free(m->token);
	memset(m, 0, sizeof(*m));
}

int outbox_enqueue(struct db *db, const char *kind, const char *to, const char *subject,
		   const char *body, int64_t now, int64_t *id_out)
{
	char token[33];
	struct db_stmt *st;
	int64_t id = 0;
	int rc;

	if (db == NULL || kind == NULL || to == NULL || subject == NULL || body == NULL ||
	    strpbrk(to, "\r\n") != NULL || strpbrk(subject, "\r\n") != NULL)
		return IA_ERR_INVAL;
	ia_random_hex(token, 16);
	rc = db_prepare(
	    db,
	    "INSERT INTO outbox(kind, rcpt, subject, body, token, next_attempt, give_up, "
	    "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6 + ?7, ?6, ?6) RETURNING id",
	    &st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, to);
	db_bind_text(st, 3, subject);
	db_bind_text(st, 4, body);
	db_bind_text(st, 5, token);
	db_bind_int64(st, 6, now);
	db_bind_int64(st, 7, OUTBOX_MAX_AGE);
	rc = db_step_insert(st, &id);
	if (rc == 0) /* ia-batch delivers it: wake one when this commits */
		rc = db_notify(db, DB_CHANNEL_JOBS);
	if (rc == 0 && id_out != NULL)
		*id_out = id;
	return rc;
}

/* Longer than any attempt can last, so a live sender never loses its claim. */
static int64_t outbox_lease(const struct settings *s)
{
	int64_t lease = 2 * s->mail_timeout + 60;

	return lease > OUTBOX_LEASE ? lease : OUTBOX_LEASE;
}

/*
 * One atomic UPDATE takes the oldest due message: pending and due, or
 * sending with a lease that ran out (its worker died mid-attempt).
 */
static int outbox_claim(struct db *db, int64_t lease, int64_t now, struct outbox_claimed *out)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(
	    db,
	    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = ?1 + ?2, "
	    "last_error = CASE state WHEN 'sending' THEN 'lease expired' ELSE last_error END, "
	    "updated = ?1 WHERE id = (SELECT id FROM outbox WHERE "
	    "(state = 'pending' AND next_attempt <= ?1) OR (state = 'sending' AND lease_until <= "
	    "?1) "
	    "ORDER BY next_attempt, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
	    "RETURNING id, kind, rcpt, subject, body, token, attempts, created, give_up, "
	    "CASE WHEN last_error = 'lease expired' THEN 1 ELSE 0 END",
	    &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, lease);
	rc = db_step(st);
	if (rc == DB_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = db_column_int64(st, 0);
		out->kind = outbox_dup(st, 1);
		out->rcpt = outbox_dup(st, 2);
		out->subject = outbox_dup(st, 3);
		out->body = outbox_dup(st, 4);
		out->token = outbox_dup(st, 5);
		out->attempts = db_column_int64(st, 6);
		out->created = db_column_int64(st, 7);
		out->give_up = db_column_int64(st, 8);
		out->reclaimed = db_column_int64(st, 9) != 0;
		rc = db_step(st) == DB_DONE ? 0 : IA_ERR_DB;
		if (rc != 0)
			outbox_claimed_cleanup(out);
	} else if (rc == DB_DONE) {
		rc = IA_ERR_NOTFOUND;
	}
	db_reset(st);
	return rc;
}

/* Inside the expansion's transaction: the request becomes the reset mail. */
static int outbox_fill(struct db *db, const struct outbox_claimed *m, const char *to,
		       const char *body, int64_t now)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db,
			"UPDATE outbox SET kind = 'reset', rcpt = ?, subject = ?, body = ?, "
			"updated = ? WHERE id = ? AND state = 'sending' AND attempts = ?",
			&st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, to);
	db_bind_text(st, 2, RESETS_SUBJECT);
	db_bind_text(st, 3, body);
	db_bind_int64(st, 4, now);
	db_bind_int64(st, 5, m->id);
	db_bind_int64(st, 6, m->attempts);
	return db_step_one(st, IA_ERR_BUSY); /* BUSY: our lease ran out meanwhile */
}

/*
 * Run sql, an UPDATE of the claimed message m taking (?1 now, ?2 id,
 * ?3 attempts), only while this claim still holds it: IA_ERR_BUSY when
 * the lease ran out and someone else claimed it meanwhile.
 */
static int outbox_update_held(struct db *db, const char *sql, const struct outbox_claimed *m,
			      int64_t now)
{
	struct db_stmt *st;
	int rc = db_prepare(db, sql, &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, m->id);
	db_bind_int64(st, 3, m->attempts);
	return db_step_one(st, IA_ERR_BUSY);
}

/* Inside the expansion's transaction: no mail goes; forget the address. */
static int outbox_drop(struct db *db, const struct outbox_claimed *m, int64_t now)
{
	return outbox_update_held(
	    db,
	    "UPDATE outbox SET state = 'dropped', rcpt = '', lease_until = NULL, "
	    "updated = ?1 WHERE id = ?2 AND state = 'sending' AND attempts = ?3",
	    m, now);
}

/*
 * Turn a claimed reset request into the reset mail (a new token, in the
 * same transaction as the row's new content), or drop it when no mail
 * must go: IA_ERR_NOTFOUND then. Either way the address typed is gone
 * from the row afterwards unless it is the account's.
 */
static int outbox_expand_reset(struct db *db, const struct settings *s, struct outbox_claimed *m,
			       int64_t now)
{
	char *to = NULL, *body = NULL;
	int rc, found;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	found = resets_compose(db, s, m->rcpt, now, &to, &body);
	if (found == 0)
		rc = outbox_fill(db, m, to, body, now);
	else if (found == IA_ERR_NOTFOUND)
		rc = outbox_drop(db, m, now);
	else
		rc = found;
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
		goto out;
	}
	if (found != 0) {
		rc = IA_ERR_NOTFOUND;
		goto out;
	}
	free(m->rcpt);
	free(m->subject);
	ia_free_secret(m->body);
	m->rcpt = to;
	m->subject = xstrdup(RESETS_SUBJECT);
	m->body = body;
	to = body = NULL;
out:
	ia_free_secret(body);
	free(to);
	return rc;
}

/* The body goes: it may hold a token that is still valid. */
static int outbox_mark_sent(struct db *db, const struct outbox_claimed *m, int64_t now)
{
	return outbox_update_held(
	    db,
	    "UPDATE outbox SET state = 'sent', body = '', lease_until = NULL, "
	    "last_error = NULL, updated = ?1 WHERE id = ?2 AND state = 'sending' "
	    "AND attempts = ?3",
	    m, now);
}

/* MAIL_RETRY_BASE seconds doubled per attempt made, capped. */
static int64_t outbox_backoff(const struct settings *s, int64_t attempts)
{
	int64_t d = s->mail_retry_base > 0 ? s->mail_retry_base : 1;
	int64_t i;

	for (i = 1; i < attempts && d < OUTBOX_MAX_DELAY; i++)
		d *= 2;
	return d < OUTBOX_MAX_DELAY ? d : OUTBOX_MAX_DELAY;
}

/*
 * Reschedule after a failed attempt, or give up: at give_up, or at once
 * for a message no retry can fix (IA_ERR_INVAL). The last retry is placed
 * at give_up itself, so a message gets its full 24 hours.
 */
static int outbox_mark_failed(struct db *db, const struct settings *s,
			      const struct outbox_claimed *m, int rc, int64_t now)
{
	struct db_stmt *st;
	bool final = now >= m->give_up || rc == IA_ERR_INVAL;
	int64_t next = now + outbox_backoff(s, m->attempts);
	int wrc;

	if (next > m->give_up)
		next = m->give_up;
	wrc = db_prepare(db,
			 "UPDATE outbox SET state = ?, next_attempt = ?, lease_until = NULL, "
			 "last_error = ?, updated = ? WHERE id = ? AND state = 'sending' AND "
			 "attempts = ?",
			 &st);
	if (wrc != 0)
		return wrc;
	db_bind_text(st, 1, final ? "failed" : "pending");
	db_bind_int64(st, 2, next);
	db_bind_text(st, 3, ia_strerror(rc));
	db_bind_int64(st, 4, now);
	db_bind_int64(st, 5, m->id);
	db_bind_int64(st, 6, m->attempts);
	wrc = db_step_one(st, IA_ERR_BUSY);
	if (wrc != 0)
		return wrc;
	if (final)
		log_error("outbox: %s message %lld failed after %lld attempts (%s); giving up",
			  m->kind, (long long)m->id, (long long)m->attempts, ia_strerror(rc));
	else
		log_warn("outbox: %s message %lld: attempt %lld failed (%s); next in %lld s",
			 m->kind, (long long)m->id, (long long)m->attempts, ia_strerror(rc),
			 (long long)(next - now));
	return 0;
}

int outbox_deliver_one(struct db *db, const struct settings *s, int64_t now)
{
	struct outbox_claimed m = {0};
	struct mail_message mm;
	int rc, wrc;

	if (db == NULL || s == NULL)
		return IA_ERR_INVAL;
	rc = outbox_claim(db, outbox_lease(s), now, &m);
	if (rc != 0)
		return rc;
	if (m.reclaimed) /* at least once: it may have gone out just before the crash */
		log_warn("outbox: %s message %lld: the previous attempt never finished; sending "
			 "again (same Message-ID)",
			 m.kind, (long long)m.id);
	if (strcmp(m.kind, OUTBOX_RESET_REQUEST) == 0) {
		rc = outbox_expand_reset(db, s, &m, now);
		if (rc == IA_ERR_NOTFOUND) { /* nothing to send: the reply was the same anyway */
			rc = 0;
			goto out;
		}
		if (rc != 0)
			goto out;
	}
	mm.to = m.rcpt;
	mm.subject = m.subject;
	mm.body = m.body;
	mm.token = m.token;
	mm.date = m.created;
	rc = mail_send_message(s, &mm);
	if (rc == 0) {
		wrc = outbox_mark_sent(db, &m, now);
		if (wrc != 0)
			log_warn("outbox: %s message %lld sent but not marked (%s)", m.kind,
				 (long long)m.id, ia_strerror(wrc));
		goto out;
	}
	/* Cluster-wide, as ia-batch may run on hosts without /metrics. */
	(void)metricsdb_count(db, "ia_outbox_delivery_failures_total", 1);
	wrc = outbox_mark_failed(db, s, &m, rc, now);
	if (wrc != 0)
		log_warn("outbox: %s message %lld: cannot record the failure (%s)", m.kind,
			 (long long)m.id, ia_strerror(wrc));
	rc = IA_ERR_IO;
out:
	outbox_claimed_cleanup(&m);
	return rc;
}

/* Best effort, once an hour per process: old sent and dropped rows carry
 * nothing anyone needs. */
static void outbox_prune(struct db *db, int64_t now)
{
	static int64_t last;
	struct db_stmt *st;

	if (last != 0 && now >= last && now - last < 3600)
		return;
	last = now;
	if (db_prepare(db, "DELETE FROM outbox WHERE state IN ('sent', 'dropped') AND updated < ?",
		       &st) != 0)
		return;
	db_bind_int64(st, 1, now - OUTBOX_KEEP);
	(void)db_step_count(st, NULL);
}

int outbox_deliver_due(struct db *db, const struct settings *s, int64_t now, int max, int *sent)
{
	int n = 0, i, rc = 0;

	for (i = 0; i < max; i++) {
		rc = outbox_deliver_one(db, s, now);
		if (rc == 0) {
			n++;
			continue;
		}
		if (rc == IA_ERR_NOTFOUND || rc == IA_ERR_IO)
			rc = 0;
		break;
	}
	if (rc == 0 && i < max)
		outbox_prune(db, now);
	if (sent != NULL)
		*sent = n;
	return rc;
}

int outbox_each(struct db *db, const char *state, int (*fn)(void *ud, const struct outbox_info *m),
		void *ud)
{
	struct outbox_info m;
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db,
			"SELECT id, kind, rcpt, subject, state, attempts, next_attempt, created, "
			"last_error FROM outbox WHERE state = ?1 OR ?1 IS NULL ORDER BY id DESC",
			&st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, state);
	for (;;) {
		rc = db_step(st);
		if (rc != DB_ROW)
			break;
		m.id = db_column_int64(st, 0);
		m.kind = db_column_text(st, 1);
		m.rcpt = db_column_text(st, 2);
		m.subject = db_column_text(st, 3);
		m.state = db_column_text(st, 4);
		m.attempts = db_column_int64(st, 5);
		m.next_attempt = db_column_int64(st, 6);
		m.created = db_column_int64(st, 7);
		m.last_error = db_column_text(st, 8);
		rc = fn(ud, &m);
		if (rc != 0)
			break;
	}
	db_reset(st);
	return rc;
}

int outbox_retry(struct db *db, int64_t id, int64_t now)
{
	struct db_stmt *st;
	int rc;

	rc = db_prepare(db,
			"UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?1, "
			"give_up = ?1 + ?2, updated = ?1 WHERE id = ?3 AND state = 'failed'",
			&st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, OUTBOX_MAX_AGE);
	db_bind_int64(st, 3, id);
	return db_step_one(st, IA_ERR_NOTFOUND);
}
