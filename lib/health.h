/*
 * health.h - the liveness check behind /health/.
 */
#ifndef IA_HEALTH_H
#define IA_HEALTH_H

struct db;

/* 0 when the database answers a read of the users table. */
int health_check_db(struct db *db);

#endif
