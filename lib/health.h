/*
 * health.h - the liveness check behind /health/.
 */
#ifndef IA_HEALTH_H
#define IA_HEALTH_H

struct db;
struct settings;

/* 0 when the database answers a read of the users table. */
int health_check_db(struct db *db);

/*
 * 0 when the media storage can take files (store_check): MEDIA_ROOT is a
 * directory this process may create files in and, with MEDIA_STORAGE=s3,
 * the bucket answers. A negative IA_ERR_* otherwise. No writes.
 */
int health_check_storage(const struct settings *s);

#endif
