/*
 * usercache.c - direct-mapped per-worker cache of users by id, each with
 * the database mark it was read at and, once built, its profile JSON.
 * See usercache.h for why a hit is never stale.
 */
#include "config.h"

#include "usercache.h"
#include "db.h"
#include "err.h"
#include "users.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define USERCACHE_SLOTS 64

struct usercache_entry {
	struct db_mark mark;
	struct user user; /* user.id == 0: empty */
	char *profile;
	size_t profile_len;
};

static struct usercache_entry usercache[USERCACHE_SLOTS];

static struct usercache_entry *usercache_slot(int64_t id)
{
	return &usercache[(uint64_t)id % USERCACHE_SLOTS];
}

/* The entry of user id if it is still current, else NULL. */
static struct usercache_entry *usercache_find(struct db *db, int64_t id)
{
	struct usercache_entry *e = usercache_slot(id);

	if (id <= 0 || e->user.id != id || !db_unchanged(db, &e->mark, id))
		return NULL;
	return e;
}

int usercache_get(struct db *db, int64_t id, struct user *out)
{
	struct usercache_entry *e = usercache_find(db, id);

	if (e == NULL)
		return IA_ERR_NOTFOUND;
	*out = e->user;
	return 0;
}

void usercache_put(struct db *db, const struct user *u)
{
	struct usercache_entry *e = usercache_slot(u->id);
	struct db_mark v;

	db_mark_read(db, &v);
	free(e->profile);
	memset(e, 0, sizeof(*e));
	if (!v.known || u->id <= 0)
		return;
	e->mark = v;
	e->user = *u;
}

const char *usercache_profile(struct db *db, int64_t id, size_t *len)
{
	struct usercache_entry *e = usercache_find(db, id);

	if (e == NULL || e->profile == NULL)
		return NULL;
	*len = e->profile_len;
	return e->profile;
}

void usercache_put_profile(struct db *db, int64_t id, const char *json)
{
	struct usercache_entry *e = usercache_find(db, id);

	if (e == NULL)
		return;
	free(e->profile);
	e->profile = xstrdup(json);
	e->profile_len = strlen(json);
}

void usercache_clear(void)
{
	size_t i;

	for (i = 0; i < USERCACHE_SLOTS; i++) {
		free(usercache[i].profile);
		memset(&usercache[i], 0, sizeof(usercache[i]));
	}
}
