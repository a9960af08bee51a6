/*
 * health.c - reads one row of the schema to prove the database is there
 * and migrated, and asks the media storage whether it can take files
 * (store_check: MEDIA_ROOT, and the bucket on S3) without writing.
 */
#include "config.h"

#include "health.h"
#include "db.h"
#include "err.h"
#include "settings.h"
#include "store.h"

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

int health_check_storage(const struct settings *s)
{
	if (s == NULL)
		return IA_ERR_IO;
	return store_check(s);
}
