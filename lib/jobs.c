/*
 * jobs.c - enqueue (with the charge), atomic claim with a lease, finish,
 * fail with exactly-once refund, and the reads of the images table.
 */
#include "config.h"

#include "jobs.h"
#include "credits.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "services.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_ROW_COLS                                                                              \
	"id, user_id, service, status, params, prompt, aspect_ratio, source_key, image_key, "      \
	"alternate_url, ai_response, error, content_type, width, height, bytes, cost, "            \
	"payment_made, created, updated, original_name, thumbnail_key"

static char *jobs_dup(struct db_stmt *st, int col);
static int jobs_int_by_id(struct db *db, const char *sql, int64_t id, int64_t *out);
static int jobs_each_row(struct db_stmt *st, int (*fn)(void *ud, const struct job_row *r),
			 void *ud);

static char *jobs_dup(struct db_stmt *st, int col)
{
	const char *t = db_column_text(st, col);

	return t == NULL ? NULL : xstrdup(t);
}

/*
 * One integer: the first column of the row that sql (a constant statement
 * with one parameter, bound to id) returns, into *out. IA_ERR_NOTFOUND
 * when there is no row, or a database error. No writes.
 */
static int jobs_int_by_id(struct db *db, const char *sql, int64_t id, int64_t *out)
{
	struct db_stmt *st;
	int rc = db_prepare(db, sql, &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, id);
	return db_step_int64(st, out);
}

/*
 * IA_ERR_TOOBIG when user_id has max_active or more jobs pending or
 * processing, not counting `mine` of them (the row being inserted).
 */
static int jobs_check_active(struct db *db, int64_t user_id, int64_t max_active, int64_t mine)
{
	int64_t n = 0;
	int rc = jobs_count_active(db, user_id, &n);

	if (rc != 0)
		return rc;
	return n - mine >= max_active ? IA_ERR_TOOBIG : 0;
}

int jobs_count_active(struct db *db, int64_t user_id, int64_t *count)
{
	int rc = jobs_int_by_id(db,
				"SELECT count(*) FROM images WHERE user_id = ? "
				"AND status IN ('pending', 'processing')",
				user_id, count);

	return rc == 0 ? 0 : IA_ERR_DB;
}

int jobs_precheck(struct db *db, int64_t user_id, int64_t cost, int64_t max_active)
{
	int64_t credits = 0;
	int rc = jobs_int_by_id(db, "SELECT credits FROM users WHERE id = ?", user_id, &credits);

	if (rc != 0)
		return rc;
	if (credits < cost)
		return IA_ERR_FUNDS;
	return max_active > 0 ? jobs_check_active(db, user_id, max_active, 0) : 0;
}

int jobs_enqueue(struct db *db, const struct job_new *j, int64_t *id_out)
{
	struct service svc;
	struct db_stmt *st;
	int64_t id, now = ia_now();
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	/* One submission of a user at a time, on every host: the count of
	 * active jobs below must include a concurrent submission's row. */
	rc = jobs_int_by_id(db, "SELECT id FROM users WHERE id = ? FOR UPDATE", j->user_id, &id);
	if (rc == 0)
		rc = services_get(db, j->service, &svc);
	if (rc == IA_ERR_NOTFOUND || (rc == 0 && !svc.enabled))
		rc = IA_ERR_UNAVAILABLE;
	if (rc != 0)
		goto out;
	rc = db_prepare(db,
			"INSERT INTO images(user_id, service, params, prompt, aspect_ratio, "
			"source_key, cost, payment_made, created, updated, source_ready, "
			"original_name) "
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			&st);
	if (rc != 0)
		goto out;
	db_bind_int64(st, 1, j->user_id);
	db_bind_text(st, 2, j->service);
	db_bind_text(st, 3, j->params ? j->params : "{}");
	db_bind_text(st, 4, j->prompt);
	db_bind_text(st, 5, j->aspect_ratio);
	db_bind_text(st, 6, j->source_key);
	db_bind_int64(st, 7, svc.tokens);
	db_bind_int64(st, 8, svc.tokens > 0);
	db_bind_int64(st, 9, now);
	db_bind_int64(st, 10, now);
	db_bind_int64(st, 11, j->source_raw ? 0 : 1);
	db_bind_text(st, 12, j->original_name);
	rc = db_step_insert(st, &id);
	if (rc != 0)
		goto out;
	rc = svc.tokens > 0
		 ? credits_apply_in_tx(db, j->user_id, -svc.tokens, CREDITS_CHARGE, id, NULL, NULL)
		 : 0;
	if (rc == 0 && j->max_active > 0) /* after the charge: 402 wins over 429 */
		rc = jobs_check_active(db, j->user_id, j->max_active, 1);
	if (rc == 0) /* wakes an idle ia-batch when (and only if) this commits */
		rc = db_notify(db, DB_CHANNEL_JOBS);
out:
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
		return rc;
	}
	*id_out = id;
	return 0;
}

void jobs_claimed_cleanup(struct job_claimed *j)
{
	free(j->service);
	free(j->engine);
	free(j->params);
	free(j->prompt);
	free(j->aspect_ratio);
	free(j->source_key);
	free(j->worker);
	memset(j, 0, sizeof(*j));
}

/* Fail (and refund) jobs that died on their last attempt. */
static void jobs_reap_expired(struct db *db, int64_t now)
{
	struct db_stmt *st;
	int64_t ids[16];
	int n = 0, i;

	if (db_prepare(db,
		       "SELECT id FROM images WHERE status = 'processing' AND lease_until < ? "
		       "AND attempts >= ? LIMIT 16",
		       &st) != 0)
		return;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, JOBS_MAX_ATTEMPTS);
	while (n < 16 && db_step(st) == DB_ROW)
		ids[n++] = db_column_int64(st, 0);
	db_reset(st);
	for (i = 0; i < n; i++)
		if (jobs_fail(db, ids[i], NULL,
			      "The job did not finish after " IA_STRINGIFY(
				  JOBS_MAX_ATTEMPTS) " attempts.",
			      false, NULL) == 0)
			log_warn("job %lld failed: lease expired on its last attempt",
				 (long long)ids[i]);
}

/* True when a job waits or a lease has expired: a read, so idle --watch
 * pollers never take the write lock. */
static bool jobs_any_work(struct db *db, int64_t now)
{
	struct db_stmt *st;
	bool any = true; /* on error, let the claim itself report it */

	if (db_prepare(db,
		       "SELECT EXISTS (SELECT 1 FROM images WHERE status = 'pending' AND "
		       "run_after <= ?1) OR EXISTS "
		       "(SELECT 1 FROM images WHERE status = 'processing' AND lease_until < ?1)",
		       &st) != 0)
		return true;
	db_bind_int64(st, 1, now);
	if (db_step(st) == DB_ROW)
		any = db_column_int64(st, 0) != 0;
	db_reset(st);
	return any;
}

/* The claim itself, inside jobs_claim's transaction. */
static int jobs_claim_row(struct db *db, const char *worker, int64_t lease_seconds, int64_t now,
			  struct job_claimed *out)
{
	struct db_stmt *st;
	int rc;

	/*
	 * Fair across users: among the claimable jobs, the user with the
	 * fewest jobs running goes first, then the user served longest ago
	 * (claim_seq, the claim's time in microseconds: a counter read with
	 * max() + 1 would give concurrent claims on several hosts the same
	 * value; never served counts as 0 and sorts first, on both backends:
	 * PostgreSQL sorts NULL last), then the
	 * oldest job. One user's queue thus delays another user's job by at
	 * most one job per worker. SKIP LOCKED: claims by other hosts at the
	 * same moment take other rows instead of waiting for this one.
	 */
	rc = db_prepare(
	    db,
	    "UPDATE images SET status = 'processing', attempts = attempts + 1, "
	    "lease_until = ?1 + ?2, worker = ?3, updated = ?1, "
	    "claim_seq = ?5 "
	    "WHERE id = (SELECT i.id FROM images i WHERE (i.status = 'pending' AND "
	    "i.run_after <= ?1) OR (i.status = 'processing' AND i.lease_until < ?1 AND "
	    "i.attempts < ?4) ORDER BY (SELECT count(*) FROM images p WHERE p.user_id = "
	    "i.user_id AND p.status = 'processing' AND p.lease_until >= ?1), "
	    "coalesce((SELECT max(q.claim_seq) FROM images q WHERE q.user_id = i.user_id), 0), "
	    "i.id LIMIT 1 "
	    "FOR UPDATE SKIP LOCKED) "
	    "RETURNING id, user_id, service, params, prompt, aspect_ratio, source_key, attempts, "
	    "(SELECT engine FROM services WHERE slug = images.service), source_ready",
	    &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, lease_seconds);
	db_bind_text(st, 3, worker);
	db_bind_int64(st, 4, JOBS_MAX_ATTEMPTS);
	db_bind_int64(st, 5, ia_now_us());
	rc = db_step(st);
	if (rc == DB_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = db_column_int64(st, 0);
		out->user_id = db_column_int64(st, 1);
		out->service = jobs_dup(st, 2);
		out->params = jobs_dup(st, 3);
		out->prompt = jobs_dup(st, 4);
		out->aspect_ratio = jobs_dup(st, 5);
		out->source_key = jobs_dup(st, 6);
		out->attempts = db_column_int64(st, 7);
		out->engine = jobs_dup(st, 8);
		if (out->engine == NULL)
			out->engine = xstrdup("local");
		out->source_raw = db_column_int64(st, 9) == 0;
		out->worker = xstrdup(worker);
		rc = db_step(st) == DB_DONE ? 0 : IA_ERR_DB;
		if (rc != 0) /* only *out filled above is ours to free */
			jobs_claimed_cleanup(out);
	} else if (rc == DB_DONE) {
		rc = IA_ERR_NOTFOUND;
	}
	db_reset(st);
	return rc;
}

/*
 * Claims take DB_LOCK_JOB_CLAIMS, so each sees every earlier claim, on
 * any host, committed: without it, two hosts claiming at the same instant
 * would rank users on the same snapshot and could both serve the user
 * with the longest queue. A claim is one short statement, so the lock
 * costs jobs nothing measurable; SKIP LOCKED still steps past rows that
 * a reaper or an admin command holds.
 */
int jobs_claim(struct db *db, const char *worker, int64_t lease_seconds, struct job_claimed *out)
{
	int64_t now = ia_now();
	int rc, crc;

	if (!jobs_any_work(db, now))
		return IA_ERR_NOTFOUND;
	jobs_reap_expired(db, now);
	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = db_lock(db, DB_LOCK_JOB_CLAIMS);
	if (rc == 0)
		rc = jobs_claim_row(db, worker, lease_seconds, now, out);
	if (rc != 0 && rc != IA_ERR_NOTFOUND) {
		db_rollback(db);
		return rc;
	}
	crc = db_commit(db);
	if (crc != 0) {
		if (rc == 0)
			jobs_claimed_cleanup(out);
		db_rollback(db);
		return crc;
	}
	return rc;
}

int jobs_finish(struct db *db, int64_t id, const char *worker, const struct job_output *o)
{
	struct db_stmt *st;
	int rc =
	    db_prepare(db,
		       "UPDATE images SET status = 'done', image_key = ?, width = ?, height = ?, "
		       "bytes = ?, content_type = ?, ai_response = coalesce(?, ai_response), "
		       "error = NULL, lease_until = NULL, updated = ?, "
		       "source_key = coalesce(?10, source_key), "
		       "source_ready = CASE WHEN ?10 IS NULL THEN source_ready ELSE 1 END, "
		       "thumbnail_key = ?11 "
		       "WHERE id = ?8 AND status = 'processing' AND worker = ?9",
		       &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 10, o->source_key);
	db_bind_text(st, 1, o->image_key);
	db_bind_int64(st, 2, o->width);
	db_bind_int64(st, 3, o->height);
	db_bind_int64(st, 4, o->bytes);
	db_bind_text(st, 5, o->content_type);
	db_bind_text(st, 6, o->ai_response);
	db_bind_int64(st, 7, ia_now());
	db_bind_int64(st, 8, id);
	db_bind_text(st, 9, worker);
	db_bind_text(st, 11, o->thumbnail_key);
	return db_step_one(st, IA_ERR_BUSY);
}

/* Inside a transaction: mark failed and refund the cost once. */
static int jobs_fail_in_tx(struct db *db, int64_t id, const char *worker, const char *error,
			   const char *ai_response)
{
	struct db_stmt *st;
	int64_t user_id, cost;
	int rc =
	    db_prepare(db,
		       "UPDATE images SET status = 'failed', error = ?, "
		       "ai_response = coalesce(?, ai_response), lease_until = NULL, updated = ? "
		       "WHERE id = ? AND status = 'processing' AND (worker = ?5 OR ?5 IS NULL) "
		       "RETURNING user_id, cost",
		       &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 1, error);
	db_bind_text(st, 2, ai_response);
	db_bind_int64(st, 3, ia_now());
	db_bind_int64(st, 4, id);
	db_bind_text(st, 5, worker);
	rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		return rc == DB_DONE ? IA_ERR_BUSY : rc;
	}
	user_id = db_column_int64(st, 0);
	cost = db_column_int64(st, 1);
	rc = db_step(st) == DB_DONE ? 0 : IA_ERR_DB;
	db_reset(st);
	if (rc == 0 && cost > 0)
		rc = credits_apply_in_tx(db, user_id, cost, CREDITS_REFUND, id, NULL, NULL);
	return rc;
}

int jobs_fail(struct db *db, int64_t id, const char *worker, const char *error, bool retry,
	      const char *ai_response)
{
	return jobs_fail_later(db, id, worker, error, retry ? 0 : -1, ai_response);
}

int jobs_fail_later(struct db *db, int64_t id, const char *worker, const char *error, int64_t delay,
		    const char *ai_response)
{
	struct db_stmt *st;
	int64_t now = ia_now();
	int rc;

	if (delay >= 0) {
		rc = db_prepare(
		    db,
		    "UPDATE images SET status = 'pending', error = ?, lease_until = NULL, "
		    "updated = ?, run_after = ? WHERE id = ? AND status = 'processing' "
		    "AND worker = ? AND attempts < ?",
		    &st);
		if (rc != 0)
			return rc;
		db_bind_text(st, 1, error);
		db_bind_int64(st, 2, now);
		db_bind_int64(st, 3, now + delay);
		db_bind_int64(st, 4, id);
		db_bind_text(st, 5, worker);
		db_bind_int64(st, 6, JOBS_MAX_ATTEMPTS);
		rc = db_step_one(st, IA_ERR_NOTFOUND);
		if (rc != IA_ERR_NOTFOUND)
			return rc;
		/* out of attempts (or lease lost): fail for good below */
	}
	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = jobs_fail_in_tx(db, id, worker, error, ai_response);
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0)
		db_rollback(db);
	return rc;
}

int jobs_renew(struct db *db, int64_t id, const char *worker, int64_t lease_seconds)
{
	struct db_stmt *st;
	int64_t now = ia_now();
	int rc = db_prepare(db,
			    "UPDATE images SET lease_until = ? WHERE id = ? AND "
			    "status = 'processing' AND worker = ?",
			    &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now + lease_seconds);
	db_bind_int64(st, 2, id);
	db_bind_text(st, 3, worker);
	return db_step_one(st, IA_ERR_BUSY);
}

/* True when worker is "<host>:<pid>" with a pid that no longer exists here. */
static bool jobs_worker_dead(const char *worker, const char *host)
{
	size_t hl = strlen(host);
	int64_t pid;

	if (worker == NULL || strncmp(worker, host, hl) != 0 || worker[hl] != ':' ||
	    ia_parse_int64(worker + hl + 1, 1, INT32_MAX, &pid) != 0)
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int jobs_reclaim_dead(struct db *db, const char *host, int *n_out)
{
	struct db_stmt *st, *up;
	char *dead[16];
	int64_t ids[16];
	int n = 0, i, done = 0, rc;

	rc = db_prepare(db, "SELECT id, worker FROM images WHERE status = 'processing'", &st);
	if (rc != 0)
		return rc;
	while (n < 16 && db_step(st) == DB_ROW) {
		const char *w = db_column_text(st, 1);

		if (jobs_worker_dead(w, host)) {
			ids[n] = db_column_int64(st, 0);
			dead[n++] = xstrdup(w);
		}
	}
	db_reset(st);
	rc = db_prepare(db,
			"UPDATE images SET lease_until = 0 WHERE id = ? AND status = 'processing' "
			"AND worker = ?",
			&up);
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			db_bind_int64(up, 1, ids[i]);
			db_bind_text(up, 2, dead[i]);
			if (db_step_one(up, IA_ERR_BUSY) == 0) {
				done++;
				log_warn("job %lld: worker %s is gone, lease released",
					 (long long)ids[i], dead[i]);
			}
			db_reset(up);
		}
		free(dead[i]);
	}
	if (rc == 0 && n_out != NULL)
		*n_out = done;
	return rc;
}

static void jobs_read_row(struct db_stmt *st, struct job_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = db_column_int64(st, 0);
	r->user_id = db_column_int64(st, 1);
	r->service = jobs_dup(st, 2);
	r->status = jobs_dup(st, 3);
	r->params = jobs_dup(st, 4);
	r->prompt = jobs_dup(st, 5);
	r->aspect_ratio = jobs_dup(st, 6);
	r->source_key = jobs_dup(st, 7);
	r->image_key = jobs_dup(st, 8);
	r->alternate_url = jobs_dup(st, 9);
	r->ai_response = jobs_dup(st, 10);
	r->error = jobs_dup(st, 11);
	r->content_type = jobs_dup(st, 12);
	r->width = db_column_int64(st, 13);
	r->height = db_column_int64(st, 14);
	r->bytes = db_column_int64(st, 15);
	r->cost = db_column_int64(st, 16);
	r->payment_made = db_column_int64(st, 17) != 0;
	r->created = db_column_int64(st, 18);
	r->updated = db_column_int64(st, 19);
	r->original_name = jobs_dup(st, 20);
	r->thumbnail_key = jobs_dup(st, 21);
}

/*
 * Step st (a bound SELECT of JOBS_ROW_COLS) to its end, handing each row
 * to fn; fn's row lives only during the call. fn returning non-zero stops
 * the walk and that value is returned; else 0 or a database error. Resets
 * st.
 */
static int jobs_each_row(struct db_stmt *st, int (*fn)(void *ud, const struct job_row *r), void *ud)
{
	struct job_row r;
	int rc;

	for (;;) {
		rc = db_step(st);
		if (rc != DB_ROW)
			break;
		jobs_read_row(st, &r);
		rc = fn(ud, &r);
		jobs_row_cleanup(&r);
		if (rc != 0)
			break;
	}
	db_reset(st);
	return rc == DB_DONE ? 0 : rc;
}

void jobs_row_cleanup(struct job_row *r)
{
	free(r->service);
	free(r->status);
	free(r->params);
	free(r->prompt);
	free(r->aspect_ratio);
	free(r->source_key);
	free(r->image_key);
	free(r->alternate_url);
	free(r->ai_response);
	free(r->error);
	free(r->content_type);
	free(r->original_name);
	free(r->thumbnail_key);
	memset(r, 0, sizeof(*r));
}

int jobs_get(struct db *db, int64_t id, int64_t user_id, struct job_row *out)
{
	struct db_stmt *st;
	int rc = db_prepare(
	    db, "SELECT " JOBS_ROW_COLS " FROM images WHERE id = ? AND (?2 = 0 OR user_id = ?2)",
	    &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, user_id);
	rc = db_step(st);
	if (rc == DB_ROW)
		jobs_read_row(st, out);
	db_reset(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? IA_ERR_NOTFOUND : rc;
}

static const char *const jobs_status_names[] = {"pending", "processing", "done", "failed"};

unsigned jobs_status_bit(const char *name)
{
	unsigned i;

	for (i = 0; name != NULL && i < sizeof(jobs_status_names) / sizeof(jobs_status_names[0]);
	     i++) {
		if (strcmp(jobs_status_names[i], name) == 0)
			return 1u << i;
	}
	return 0;
}

const char *jobs_status_name(unsigned bit)
{
	unsigned i;

	for (i = 0; i < sizeof(jobs_status_names) / sizeof(jobs_status_names[0]); i++) {
		if (bit == 1u << i)
			return jobs_status_names[i];
	}
	return "";
}

/*
 * Bind f as ?2..?6 of a listing: the four status slots (a name, or NULL
 * for a state f leaves out: NULL matches nothing in IN) and the service.
 */
static void jobs_bind_filter(struct db_stmt *st, const struct jobs_filter *f)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (f->statuses & (1u << i))
			db_bind_text(st, 2 + i, jobs_status_names[i]);
		else
			db_bind_null(st, 2 + i);
	}
	db_bind_text(st, 6, f->service);
}

#define JOBS_FILTER_WHERE                                                                          \
	"WHERE user_id = ?1 AND status IN (?2, ?3, ?4, ?5) AND (service = ?6 OR ?6 IS NULL)"

int jobs_count_filtered(struct db *db, int64_t user_id, const struct jobs_filter *f, int64_t *count)
{
	struct db_stmt *st;
	int rc = db_prepare(db, "SELECT count(*) FROM images " JOBS_FILTER_WHERE, &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	jobs_bind_filter(st, f);
	return db_step_int64(st, count) == 0 ? 0 : IA_ERR_DB;
}

int jobs_each_filtered(struct db *db, int64_t user_id, const struct jobs_filter *f, int64_t offset,
		       int64_t limit, int (*fn)(void *ud, const struct job_row *r), void *ud)
{
	struct db_stmt *st;
	int rc = db_prepare(db,
			    "SELECT " JOBS_ROW_COLS " FROM images " JOBS_FILTER_WHERE
			    " ORDER BY id DESC LIMIT ?7 OFFSET ?8",
			    &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, user_id);
	jobs_bind_filter(st, f);
	db_bind_int64(st, 7, limit);
	db_bind_int64(st, 8, offset);
	return jobs_each_row(st, fn, ud);
}

int jobs_delete(struct db *db, int64_t id, int64_t user_id, char **source_key, char **image_key,
		char **thumbnail_key)
{
	struct db_stmt *st;
	struct job_row r = {0};
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = jobs_get(db, id, user_id, &r);
	if (rc != 0)
		goto out;
	rc = db_prepare(db, "DELETE FROM images WHERE id = ?", &st);
	if (rc != 0)
		goto out;
	db_bind_int64(st, 1, id);
	rc = db_step(st) == DB_DONE ? 0 : IA_ERR_DB;
	if (rc == 0 && r.cost > 0 &&
	    (strcmp(r.status, "pending") == 0 || strcmp(r.status, "processing") == 0))
		rc = credits_apply_in_tx(db, r.user_id, r.cost, CREDITS_REFUND, id, NULL, NULL);
out:
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0) {
		db_rollback(db);
	} else {
		*source_key = r.source_key;
		*image_key = r.image_key;
		*thumbnail_key = r.thumbnail_key;
		r.source_key = r.image_key = r.thumbnail_key = NULL;
	}
	jobs_row_cleanup(&r);
	return rc;
}

int jobs_set_processed(struct db *db, int64_t id, const char *image_key, const char *alternate_url,
		       int64_t width, int64_t height, int64_t bytes, const char *content_type)
{
	struct db_stmt *st;
	int rc = db_prepare(db,
			    "UPDATE images SET status = 'done', image_key = ?, alternate_url = ?, "
			    "width = ?, height = ?, bytes = ?, content_type = ?, error = NULL, "
			    "lease_until = NULL, updated = ?, thumbnail_key = NULL WHERE id = ?",
			    &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 1, image_key);
	db_bind_text(st, 2, alternate_url);
	db_bind_int64(st, 3, width);
	db_bind_int64(st, 4, height);
	db_bind_int64(st, 5, bytes);
	db_bind_text(st, 6, content_type);
	db_bind_int64(st, 7, ia_now());
	db_bind_int64(st, 8, id);
	return db_step_one(st, IA_ERR_NOTFOUND);
}

int jobs_each(struct db *db, const char *status, int64_t limit,
	      int (*fn)(void *ud, const struct job_row *r), void *ud)
{
	struct db_stmt *st;
	int rc =
	    db_prepare(db,
		       "SELECT " JOBS_ROW_COLS " FROM images WHERE (status = ?1 OR ?1 IS NULL) "
		       "ORDER BY id DESC LIMIT ?2",
		       &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 1, status);
	db_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
	return jobs_each_row(st, fn, ud);
}

int jobs_retry(struct db *db, int64_t id)
{
	struct job_row r = {0};
	struct db_stmt *st;
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = jobs_get(db, id, 0, &r);
	if (rc == 0 && strcmp(r.status, "failed") != 0)
		rc = IA_ERR_INVAL;
	if (rc != 0)
		goto out;
	rc =
	    db_prepare(db,
		       "UPDATE images SET status = 'pending', attempts = 0, error = NULL, "
		       "lease_until = NULL, worker = NULL, cost = 0, payment_made = 0, updated = ? "
		       "WHERE id = ? AND status = 'failed'",
		       &st);
	if (rc != 0)
		goto out;
	db_bind_int64(st, 1, ia_now());
	db_bind_int64(st, 2, id);
	rc = db_step_one(st, IA_ERR_DB);
	if (rc == 0)
		rc = db_notify(db, DB_CHANNEL_JOBS);
out:
	if (rc == 0)
		rc = db_commit(db);
	if (rc != 0)
		db_rollback(db);
	jobs_row_cleanup(&r);
	return rc;
}

int jobs_each_media_key(struct db *db, int (*fn)(void *ud, const char *key), void *ud)
{
	struct db_stmt *st;
	int rc = db_prepare(db,
			    "SELECT source_key FROM images WHERE source_key IS NOT NULL UNION ALL "
			    "SELECT image_key FROM images WHERE image_key IS NOT NULL UNION ALL "
			    "SELECT thumbnail_key FROM images WHERE thumbnail_key IS NOT NULL",
			    &st);

	if (rc != 0)
		return rc;
	return db_each_text(st, fn, ud);
}
