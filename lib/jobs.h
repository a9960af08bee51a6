/*
 * jobs.h - the images table as a job queue (docs/ARCHITECTURE.md "The job
 * pipeline").
 *
 * This module owns the images table: every INSERT, UPDATE and DELETE of
 * an images row is here. Other modules only read it: queue.c (a job's
 * place in the line), metricsdb.c (counts for /metrics/) and iactl's
 * whole-database copy between backends. The table keeps API.md's resource
 * name, "images"; the module is named for what lib/ does with the rows.
 * Renaming it "images" would touch some 320 calls in 19 files and blur it
 * with cgi-bin/images.c, the HTTP side of the same resource.
 *
 * A job is created 'pending' inside the transaction that charges its cost
 * (jobs_enqueue). ia-batch claims one at a time with an atomic
 * UPDATE ... RETURNING that sets 'processing', a lease and the worker id;
 * a job whose lease expired is claimed again; after JOBS_MAX_ATTEMPTS it
 * fails. A failed job refunds its cost exactly once (a unique ledger index
 * makes a second refund impossible).
 */
#ifndef IA_JOBS_H
#define IA_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct db;

#define JOBS_MAX_ATTEMPTS 3

struct job_new {
	int64_t user_id;
	const char *service; /* slug */
	const char *params;  /* JSON object text, NULL = "{}" */
	const char *prompt;  /* may be NULL */
	const char *aspect_ratio;
	const char *source_key;    /* media key of the stored upload, may be NULL */
	bool source_raw;           /* source_key is the file as uploaded: ia-batch normalises it */
	const char *original_name; /* sanitised upload file name (text_file_name), may be NULL */
	int64_t max_active;        /* MAX_ACTIVE_JOBS_PER_USER; 0 = no limit */
};

/*
 * In one BEGIN IMMEDIATE transaction: check the service is enabled, insert
 * the job, and charge the service's cost (credits + ledger row). Writes the
 * id to *id_out. IA_ERR_UNAVAILABLE when the service is disabled or
 * unknown, IA_ERR_FUNDS when the balance is short, IA_ERR_TOOBIG when the
 * user already has j->max_active (> 0) jobs pending or processing; the
 * funds check comes first (nothing is written on any failure).
 */
int jobs_enqueue(struct db *db, const struct job_new *j, int64_t *id_out);

/*
 * The early, read-only checks of API.md's order of checks, made before a
 * request body is read: IA_ERR_FUNDS when user_id has fewer than cost
 * credits, else IA_ERR_TOOBIG when max_active > 0 and the user has that
 * many jobs pending or processing, IA_ERR_NOTFOUND for an unknown user.
 * Advisory: jobs_enqueue checks both again inside its transaction.
 */
int jobs_precheck(struct db *db, int64_t user_id, int64_t cost, int64_t max_active);

/* Number of jobs of user_id pending or processing into *count. */
int jobs_count_active(struct db *db, int64_t user_id, int64_t *count);

/* A claimed job; strings are heap copies, release with jobs_claimed_cleanup. */
struct job_claimed {
	int64_t id;
	int64_t user_id;
	char *service;
	char *engine; /* the service's engine at claim time */
	char *params; /* JSON text */
	char *prompt;
	char *aspect_ratio;
	char *source_key;
	bool source_raw;  /* source_key is the file as uploaded, not yet normalised */
	char *worker;     /* the worker id that holds the lease */
	int64_t attempts; /* including this one */
};

/*
 * Claim a pending job whose run_after has come, or one whose lease
 * expired, for worker (a short id, "host:pid"), leasing it for
 * lease_seconds. Fair across users: the job of the user with the fewest
 * jobs processing, then of the user whose last claim is oldest, then the
 * oldest job. Also fails (with refund) jobs whose lease expired on their
 * last attempt. Returns 0 with *out filled, or IA_ERR_NOTFOUND when there
 * is nothing to do.
 */
int jobs_claim(struct db *db, const char *worker, int64_t lease_seconds, struct job_claimed *out);
void jobs_claimed_cleanup(struct job_claimed *j);

struct job_output {
	const char *image_key;
	const char *source_key;    /* the normalised upload replacing the raw one, or NULL */
	const char *thumbnail_key; /* the result's preview (imgpreview.h), or NULL */
	int64_t width, height, bytes;
	const char *content_type;
	const char *ai_response; /* JSON text or NULL */
};

/*
 * Mark a job done, if worker still holds its lease. IA_ERR_BUSY when the
 * lease was lost (the caller then deletes its output file).
 */
int jobs_finish(struct db *db, int64_t id, const char *worker, const struct job_output *o);

/*
 * Record a failure of worker's attempt. When retry is true and attempts
 * remain, the job goes back to 'pending'; otherwise it becomes 'failed'
 * and its cost is refunded, in one transaction. ai_response may be NULL.
 * IA_ERR_BUSY when the lease was lost.
 */
int jobs_fail(struct db *db, int64_t id, const char *worker, const char *error, bool retry,
	      const char *ai_response);

/*
 * As jobs_fail, with a backoff: delay >= 0 puts the job back to 'pending'
 * (while attempts remain) not to be claimed for delay seconds; delay < 0
 * fails it for good at once, with the refund. error is stored for the
 * user to read: a sentence, never a path or a setting name.
 */
int jobs_fail_later(struct db *db, int64_t id, const char *worker, const char *error, int64_t delay,
		    const char *ai_response);

/*
 * Extend worker's lease on job id to now + lease_seconds (the heartbeat
 * of a running job). IA_ERR_BUSY when the job is no longer worker's: it
 * was deleted (cancelled) or its lease was lost.
 */
int jobs_renew(struct db *db, int64_t id, const char *worker, int64_t lease_seconds);

/*
 * Release at once the leases of jobs held by workers "<host>:<pid>" of this
 * host whose process no longer exists, so the next claim takes them
 * without waiting for the lease to run out. Writes the number released to
 * *n (may be NULL). Only meaningful when host names are unique per pid
 * namespace.
 */
int jobs_reclaim_dead(struct db *db, const char *host, int *n);

/* One image row as the API shows it. Strings are heap copies. */
struct job_row {
	int64_t id, user_id;
	char *service, *status, *params, *prompt, *aspect_ratio;
	char *source_key, *image_key, *alternate_url, *ai_response, *error, *content_type;
	char *original_name, *thumbnail_key; /* may be NULL */
	int64_t width, height, bytes, cost;
	bool payment_made;
	int64_t created, updated;
};

/* Load image id owned by user_id (user_id 0 = any owner). IA_ERR_NOTFOUND. */
int jobs_get(struct db *db, int64_t id, int64_t user_id, struct job_row *out);
void jobs_row_cleanup(struct job_row *r);

/* The states of a job as bits of a jobs_filter. */
#define JOBS_PENDING    1u
#define JOBS_PROCESSING 2u
#define JOBS_DONE       4u
#define JOBS_FAILED     8u
#define JOBS_PROCESSED  (JOBS_DONE | JOBS_FAILED)

/* Which of a user's images a listing shows. */
struct jobs_filter {
	unsigned statuses;   /* JOBS_* bits; 0 matches nothing */
	const char *service; /* slug (borrowed), NULL = every service */
};

/* The JOBS_* bit of a status name ("pending", ...), 0 for anything else. */
unsigned jobs_status_bit(const char *name);
/* The name of one JOBS_* bit (static), "" for anything else. */
const char *jobs_status_name(unsigned bit);

/* Number of images of a user that f matches. */
int jobs_count_filtered(struct db *db, int64_t user_id, const struct jobs_filter *f,
			int64_t *count);
/*
 * The images of a user that f matches, newest first: calls fn for each of
 * the rows offset..offset+limit-1. fn's row is only valid during the call;
 * fn returning non-zero stops the walk and that value is returned.
 */
int jobs_each_filtered(struct db *db, int64_t user_id, const struct jobs_filter *f, int64_t offset,
		       int64_t limit, int (*fn)(void *ud, const struct job_row *r), void *ud);

/*
 * Admin listing: every job (status NULL) or those with one status, newest
 * first, at most limit rows (limit <= 0: no limit). fn's row is only
 * valid during the call; fn returning non-zero stops the walk and that
 * value is returned. No writes.
 */
int jobs_each(struct db *db, const char *status, int64_t limit,
	      int (*fn)(void *ud, const struct job_row *r), void *ud);

/*
 * Admin retry of a failed job: back to 'pending' with attempts, error,
 * lease and worker cleared, so ia-batch runs it again. Its cost was
 * refunded when it failed and a job is charged at most once (ledger
 * rule), so the retry is free: cost and payment_made become 0, and a
 * second failure refunds nothing. IA_ERR_NOTFOUND for an unknown id,
 * IA_ERR_INVAL when the job is not 'failed' (nothing changes).
 */
int jobs_retry(struct db *db, int64_t id);

/*
 * Delete image id of user_id. A job still 'pending' or 'processing' is
 * cancelled and refunded in the same transaction (once: the unique refund
 * index); the runner running it then finds its job gone (jobs_finish and
 * jobs_renew answer IA_ERR_BUSY) and deletes its output. Writes the media keys to delete into
 * *source_key, *image_key and *thumbnail_key (heap, may be NULL), on success only.
 * IA_ERR_NOTFOUND.
 */
int jobs_delete(struct db *db, int64_t id, int64_t user_id, char **source_key, char **image_key,
		char **thumbnail_key);

/*
 * Calls fn(ud, key) for every media key a row names (source, result and
 * the result's preview; a key may come twice). key is borrowed for the
 * call; fn returning non-zero stops the walk with that value. A read only.
 */
int jobs_each_media_key(struct db *db, int (*fn)(void *ud, const char *key), void *ud);

/*
 * Staff override: point image id at an existing media key, set
 * alternate_url (may be NULL) and mark it done. The row's preview no longer
 * shows its result: thumbnail_key becomes NULL (the caller removes the old
 * object, read before with jobs_get). IA_ERR_NOTFOUND.
 */
int jobs_set_processed(struct db *db, int64_t id, const char *image_key, const char *alternate_url,
		       int64_t width, int64_t height, int64_t bytes, const char *content_type);

#endif
