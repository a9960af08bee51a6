/*
 * queue.h - where a pending job stands in the queue: how many jobs the
 * batch processor will claim before it (API.md, the status reply's
 * `position`), computed from the order lib/jobs.c claims in.
 */
#ifndef IA_QUEUE_H
#define IA_QUEUE_H

#include <stdint.h>

struct db;

/*
 * The number of pending jobs ia-batch will claim before pending job id,
 * into *position: 0 means it is the next one. jobs_claim serves users in
 * turn, the user served longest ago first (never served first, then by
 * their oldest pending job), and each user's jobs oldest first. So a job
 * with k of its user's pending jobs before it waits for those k and, from
 * each other user with n pending jobs, for min(n, k + 1) jobs when that
 * user's turn comes before its user's, else min(n, k). Exact for one
 * worker claiming one job at a time and no new arrivals; with several
 * workers an estimate (jobs_claim also prefers users with fewer jobs
 * running). Jobs waiting out a retry backoff count as pending.
 * IA_ERR_NOTFOUND when id is not pending. A read: no writes, no locks.
 */
int queue_position(struct db *db, int64_t id, int64_t *position);

#endif
