/*
 * health.c - reads one row of the schema to prove the database is there
 * and migrated, and looks at the media directory without writing to it.
 */
#include "config.h"

#include "health.h"
#include "db.h"
#include "err.h"
#include "settings.h"

#include <sys/stat.h>
#include <unistd.h>

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
	struct stat st;

	if (s == NULL || s->media_root == NULL || stat(s->media_root, &st) != 0 ||
	    !S_ISDIR(st.st_mode) || access(s->media_root, W_OK | X_OK) != 0)
		return IA_ERR_IO;
	return 0;
}
