/*
 * usercache.h - a per-worker cache of user rows, and of the profile JSON
 * that GET /user/info/ returns, for the requests every page makes.
 *
 * An entry is used only while db_unchanged() says nothing that concerns
 * its user has been committed since it was read, by any process on any
 * host. So a ban, a password change, a credit charge or a flag change
 * reaches the very next request, exactly as without the cache; what the
 * cache saves is the read (SQLite's locks are system calls, a PostgreSQL
 * query a round trip) and the JSON building.
 */
#ifndef IA_USERCACHE_H
#define IA_USERCACHE_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct user;

/* 0 and *out when user id is cached and current; IA_ERR_NOTFOUND. */
int usercache_get(struct db *db, int64_t id, struct user *out);
/* Remember u, just read through db (skipped when db cannot version the read). */
void usercache_put(struct db *db, const struct user *u);

/* The cached profile JSON of user id, borrowed until the next call into
 * this module, or NULL. */
const char *usercache_profile(struct db *db, int64_t id, size_t *len);
/* Attach a profile built after usercache_get/put of the same user, if the
 * database is still unchanged since that entry was read. */
void usercache_put_profile(struct db *db, int64_t id, const char *json);

/* Forget everything (tests). */
void usercache_clear(void);

#endif
