/*
 * services.h - the catalogue of services (slug, name, cost in credits,
 * enabled, engine), editable by the admin tool.
 */
#ifndef IA_SERVICES_H
#define IA_SERVICES_H

#include <stdbool.h>
#include <stdint.h>

struct db;

struct service {
	int64_t code;
	char slug[32];
	char name[64];
	char description[256];
	int64_t tokens; /* cost in credits */
	bool enabled;
	char engine[16]; /* "local" | "stability" | "auto" (remove-background) */
};

/* Load by slug. IA_ERR_NOTFOUND. */
int services_get(struct db *db, const char *slug, struct service *out);
/* Every service ordered by code; fn returning non-zero stops the walk. */
int services_each(struct db *db, int (*fn)(void *ud, const struct service *s), void *ud);
/* The highest cost in credits a service may be given. */
#define SERVICES_COST_MAX INT64_C(1000000)

/*
 * Admin edits. IA_ERR_NOTFOUND for an unknown slug; IA_ERR_INVAL for a
 * cost outside 0..SERVICES_COST_MAX or an engine the service does not have: local, stability,
 * or auto (the local engine, then Stability AI when its confidence is
 * low), which only remove-background has, its engine reporting one;
 * generate has no local engine.
 */
int services_set_cost(struct db *db, const char *slug, int64_t tokens);
int services_set_enabled(struct db *db, const char *slug, bool enabled);
int services_set_engine(struct db *db, const char *slug, const char *engine);

#endif
