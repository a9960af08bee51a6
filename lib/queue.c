/*
 * queue.c - the position of a pending job in the queue (see queue.h): one
 * prepared statement over the pending rows, grouped per user through the
 * covering index images_status_user (status, user_id, id) of migration
 * 009, plus one indexed max(claim_seq) per waiting user (images_user_claim).
 */
#include "config.h"

#include "queue.h"
#include "db.h"
#include "err.h"

/*
 * waiting: each user with pending jobs, their count and oldest id, and
 * when they were last served (claim_seq of their latest claim, 0 = never:
 * jobs_claim's coalesce). me: the job's user and k, its user's pending
 * jobs before it. A user's turn comes before mine when served earlier, or
 * as early and with an older first job (jobs_claim's tie-break: the
 * oldest job). SQL that both backends speak: CASE instead of min()/LEAST.
 */
#define QUEUE_POSITION_SQL                                                                         \
	"WITH waiting AS (SELECT w.user_id, count(*) AS n, min(w.id) AS first_id, "                \
	"coalesce((SELECT max(q.claim_seq) FROM images q WHERE q.user_id = w.user_id), 0) "        \
	"AS served FROM images w WHERE w.status = 'pending' GROUP BY w.user_id), "                 \
	"me AS (SELECT v.user_id, v.served, v.first_id, (SELECT count(*) FROM images m "           \
	"WHERE m.user_id = v.user_id AND m.status = 'pending' AND m.id < ?1) AS k "                \
	"FROM waiting v WHERE v.user_id = (SELECT j.user_id FROM images j "                        \
	"WHERE j.id = ?1 AND j.status = 'pending')), "                                             \
	"others AS (SELECT o.n, me.k + CASE WHEN o.served < me.served OR (o.served = me.served "   \
	"AND o.first_id < me.first_id) THEN 1 ELSE 0 END AS cap "                                  \
	"FROM waiting o, me WHERE o.user_id <> me.user_id) "                                       \
	"SELECT CAST(me.k + coalesce((SELECT sum(CASE WHEN others.n < others.cap "                 \
	"THEN others.n ELSE others.cap END) FROM others), 0) AS BIGINT) FROM me"

int queue_position(struct db *db, int64_t id, int64_t *position)
{
	struct db_stmt *st;
	int64_t n = 0;
	int rc = db_prepare(db, QUEUE_POSITION_SQL, &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, id);
	rc = db_step_int64(st, &n);
	if (rc != 0)
		return rc;
	*position = n;
	return 0;
}
