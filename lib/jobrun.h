/*
 * jobrun.h - what ia-batch does with one job: claim it, run its service on
 * its engine, store the output under a new media key, and finish it, or
 * fail it (retry on transient errors; refund when it is final).
 * ("Worker" elsewhere means one pre-forked FastCGI process, lib/app.c;
 * the code here is the job runner, and an ia-batch process running it is a
 * runner.)
 */
#ifndef IA_JOBRUN_H
#define IA_JOBRUN_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct settings;

/* A short lease, renewed while the job runs: a dead runner's job is
 * claimable again within this many seconds. */
#define JOBRUN_LEASE 15

/* Who runs the jobs: one ia-batch runner process. */
struct jobrun_self {
	const char *id;      /* "host:pid", as stored in images.worker */
	const char *host;    /* this host's name */
	const char *mode;    /* "watch" or "once" (cron), for the heartbeat */
	int64_t max_seconds; /* longest run of one job before it is stopped */
};

/*
 * Claim and process one job as w. First releases the jobs of dead runners
 * of this host (jobs_reclaim_dead). The work runs in a child process while
 * this one renews the lease every few seconds; see jobrun.c. Transient
 * failures (a full disk, a crash, a time-out) put the job back with an
 * exponential backoff (JOB_RETRY_BASE_SECONDS, doubling); permanent ones
 * (an upload that does not decode, bad parameters) fail it at once with a
 * refund. Error texts stored on the job are sentences for the user; the
 * details go to the log. Returns 0 after processing one job (whatever its
 * outcome), IA_ERR_NOTFOUND when there was nothing to do, or another error
 * when the queue itself could not be read.
 */
int jobrun_run_one(struct db *db, const struct settings *s, const struct jobrun_self *w);

/*
 * Record w's heartbeat in batch_workers, at most every
 * BATCH_BEAT_SECONDS unless force.
 */
void jobrun_beat(struct db *db, const struct jobrun_self *w, bool force);

#endif
