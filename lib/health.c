/*
 * health.c - reads one row of the schema to prove the database is there
 * and migrated.
 */
#include "config.h"

#include "health.h"
#include "db.h"
#include "err.h"

int health_check_db(struct db *db)
{
	struct db_stmt *st;
	int rc = db_prepare(db, "SELECT count(*) FROM schema_migrations", &st);

	if (rc != 0)
		return rc;
	rc = db_step(st);
	db_reset(st);
	return rc == DB_ROW ? 0 : IA_ERR_DB;
}
