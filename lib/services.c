/*
 * services.c - reads and edits the services table.
 */
#include "config.h"

#include "services.h"
#include "db.h"
#include "err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SERVICES_COLS "code, slug, name, description, tokens, enabled, engine"

static void services_read_row(struct db_stmt *st, struct service *s)
{
	const char *t;

	memset(s, 0, sizeof(*s));
	s->code = db_column_int64(st, 0);
	snprintf(s->slug, sizeof(s->slug), "%s", (t = db_column_text(st, 1)) ? t : "");
	snprintf(s->name, sizeof(s->name), "%s", (t = db_column_text(st, 2)) ? t : "");
	snprintf(s->description, sizeof(s->description), "%s",
		 (t = db_column_text(st, 3)) ? t : "");
	s->tokens = db_column_int64(st, 4);
	s->enabled = db_column_int64(st, 5) != 0;
	snprintf(s->engine, sizeof(s->engine), "%s", (t = db_column_text(st, 6)) ? t : "local");
}

int services_get(struct db *db, const char *slug, struct service *out)
{
	struct db_stmt *st;
	int rc = db_prepare(db, "SELECT " SERVICES_COLS " FROM services WHERE slug = ?", &st);

	if (rc != 0)
		return rc;
	db_bind_text(st, 1, slug);
	rc = db_step(st);
	if (rc == DB_ROW)
		services_read_row(st, out);
	db_reset(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? IA_ERR_NOTFOUND : rc;
}

int services_each(struct db *db, int (*fn)(void *ud, const struct service *s), void *ud)
{
	struct db_stmt *st;
	struct service s;
	int rc = db_prepare(db, "SELECT " SERVICES_COLS " FROM services ORDER BY code", &st);

	if (rc != 0)
		return rc;
	while ((rc = db_step(st)) == DB_ROW) {
		services_read_row(st, &s);
		rc = fn(ud, &s);
		if (rc != 0)
			break;
	}
	db_reset(st);
	return rc < 0 || rc > 0 ? rc : 0;
}

/* Run an UPDATE of one service bound as (value, slug). */
static int services_update(struct db *db, const char *sql, int64_t num, const char *text,
			   const char *slug)
{
	struct db_stmt *st;
	int rc = db_prepare(db, sql, &st);

	if (rc != 0)
		return rc;
	if (text != NULL)
		db_bind_text(st, 1, text);
	else
		db_bind_int64(st, 1, num);
	db_bind_text(st, 2, slug);
	return db_step_one(st, IA_ERR_NOTFOUND);
}

int services_set_cost(struct db *db, const char *slug, int64_t tokens)
{
	if (tokens < 0 || tokens > SERVICES_COST_MAX)
		return IA_ERR_INVAL;
	return services_update(db, "UPDATE services SET tokens = ? WHERE slug = ?", tokens, NULL,
			       slug);
}

int services_set_enabled(struct db *db, const char *slug, bool enabled)
{
	return services_update(db, "UPDATE services SET enabled = ? WHERE slug = ?", enabled, NULL,
			       slug);
}

int services_set_engine(struct db *db, const char *slug, const char *engine)
{
	bool is_auto = strcmp(engine, "auto") == 0;

	if (strcmp(engine, "local") != 0 && strcmp(engine, "stability") != 0 && !is_auto)
		return IA_ERR_INVAL;
	if (strcmp(slug, "generate") == 0 && strcmp(engine, "local") == 0)
		return IA_ERR_INVAL; /* generation has no local engine but the dev placeholder */
	if (is_auto && strcmp(slug, "remove-background") != 0)
		return IA_ERR_INVAL; /* only imgseg reports a confidence to decide on */
	return services_update(db, "UPDATE services SET engine = ? WHERE slug = ?", 0, engine,
			       slug);
}
