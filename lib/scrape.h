/*
 * scrape.h - GET /metrics: who may read it and what it answers.
 *
 * A scrape is allowed from loopback (the client address as
 * TRUSTED_PROXIES resolves it, so a request relayed by a trusted proxy
 * counts as its real client) or with `Authorization: Bearer
 * <METRICS_TOKEN>` when that setting is not empty, compared in constant
 * time. The answer is the Prometheus text format of the host's counter
 * file (lib/metrics.h) and of the database (lib/metricsdb.h), or one of
 * them (scope=host or scope=cluster), so that a cluster's Prometheus can
 * sum host series over every app host and read database series once.
 */
#ifndef IA_SCRAPE_H
#define IA_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>

struct db;
struct settings;

/* Content type of the text format. */
#define SCRAPE_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Which series a scrape returns. */
enum scrape_scope { SCRAPE_ALL, SCRAPE_HOST, SCRAPE_CLUSTER };

/*
 * True when a request from peer remote_addr with X-Forwarded-For xff and
 * Authorization header authorization (each may be NULL) may scrape.
 * Never logs the token.
 */
bool scrape_allowed(const struct settings *s, const char *remote_addr, const char *xff,
		    const char *authorization);

/* The scope named by a scope= query value (NULL or "" = all); IA_ERR_INVAL
 * for another value. */
int scrape_parse_scope(const char *value, enum scrape_scope *out);

/*
 * The text of a scrape (heap, caller frees; *len its length). Database
 * series are read with db (inside one read snapshot when the caller began
 * one); IA_ERR_* when the database cannot be read (nothing returned: a
 * scrape that fails is better than one missing series).
 */
int scrape_text(struct db *db, enum scrape_scope scope, char **out, size_t *len);

#endif
