/*
 * flags.h - feature flags: enabled for everyone, or assigned per user.
 */
#ifndef IA_FLAGS_H
#define IA_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

#define FLAG_NAME_MAX 64

struct flag {
	int64_t id;
	char name[FLAG_NAME_MAX + 1];
	bool enabled;
	int64_t users; /* number of users assigned */
};

/* Names must match [a-z0-9_-]{1,64}: IA_ERR_INVAL otherwise; IA_ERR_EXISTS. */
int flags_create(struct db *db, const char *name);
int flags_set_enabled(struct db *db, const char *name, bool enabled);
/*
 * Give a flag to one user / take it away. One statement each, so both work
 * inside a caller's transaction. IA_ERR_NOTFOUND for an unknown flag or
 * user (assign) or when the user did not have it (unassign); IA_ERR_EXISTS
 * when already assigned.
 */
int flags_assign(struct db *db, const char *name, int64_t user_id);
int flags_unassign(struct db *db, const char *name, int64_t user_id);
int flags_each(struct db *db, int (*fn)(void *ud, const struct flag *f), void *ud);
/*
 * Names of the flags active for a user (enabled globally or assigned),
 * sorted: calls fn once per name.
 */
int flags_for_user(struct db *db, int64_t user_id, int (*fn)(void *ud, const char *name), void *ud);

/* The flags active for one user, as a caller-owned list (flags_list_load). */
struct flag_list {
	char **names; /* sorted, each a heap string */
	size_t n;
};

/*
 * Fill *out (caller-owned, overwritten) with the names flags_for_user
 * gives for user_id; release with flags_list_cleanup. Reads the database
 * only. On failure returns the database error and *out is empty.
 */
int flags_list_load(struct db *db, int64_t user_id, struct flag_list *out);
/* Free the names of l and empty it; l may be NULL or already empty. */
void flags_list_cleanup(struct flag_list *l);

#endif
