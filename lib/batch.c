/*
 * batch.c - the heartbeat rows of ia-batch worker processes (batch.h).
 */
#include "config.h"

#include "batch.h"
#include "db.h"
#include "err.h"
#include "util.h"

int batch_beat(struct db *db, const char *worker, const char *host, int64_t pid, const char *mode)
{
	struct db_stmt *st;
	int64_t now = ia_now();
	int rc = db_prepare(db,
			    "INSERT INTO batch_workers(worker, host, pid, mode, started, seen) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(worker) DO UPDATE SET "
			    "seen = excluded.seen, mode = excluded.mode",
			    &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 1, worker);
	db_bind_text(st, 2, host);
	db_bind_int64(st, 3, pid);
	db_bind_text(st, 4, mode);
	db_bind_int64(st, 5, now);
	rc = db_step_one(st, 0);
	if (rc != 0)
		return rc;
	rc = db_prepare(db, "DELETE FROM batch_workers WHERE seen < ?", &st);
	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now - 86400);
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? 0 : IA_ERR_DB;
}

int batch_forget(struct db *db, const char *worker)
{
	struct db_stmt *st;
	int rc = db_prepare(db, "DELETE FROM batch_workers WHERE worker = ?", &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 1, worker);
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? 0 : IA_ERR_DB;
}

int batch_alive(struct db *db, int64_t now, bool *alive)
{
	struct db_stmt *st;
	int rc = db_prepare(db,
			    "SELECT EXISTS (SELECT 1 FROM batch_workers WHERE "
			    "(mode = 'watch' AND seen >= ?) OR (mode <> 'watch' AND seen >= ?))",
			    &st);

	if (rc != 0)
		return rc;
	db_bind_int64(st, 1, now - BATCH_WATCH_STALE);
	db_bind_int64(st, 2, now - BATCH_ONCE_STALE);
	rc = db_step(st);
	if (rc == DB_ROW)
		*alive = db_column_int64(st, 0) != 0;
	db_reset(st);
	return rc == DB_ROW ? 0 : IA_ERR_DB;
}
