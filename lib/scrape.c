/*
 * scrape.c - GET /metrics access rule and body (scrape.h).
 */
#include "config.h"

#include "scrape.h"
#include "clientip.h"
#include "err.h"
#include "metrics.h"
#include "metricsdb.h"
#include "settings.h"
#include "util.h"

#include <string.h>

#include <sodium.h>

/* 127.0.0.0/8 and ::1 (clientip_resolve writes IPv4-mapped IPv6 as IPv4). */
static bool scrape_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

/* The bearer token of an Authorization header equals METRICS_TOKEN. */
static bool scrape_token_ok(const struct settings *s, const char *authorization)
{
	const char *want = s->metrics_token, *got;
	size_t len;

	if (want == NULL || want[0] == '\0' || authorization == NULL ||
	    strncmp(authorization, "Bearer ", 7) != 0)
		return false;
	got = authorization + 7;
	len = strlen(want);
	/* The length is no secret worth hiding; the bytes are compared in
	 * constant time. */
	return strlen(got) == len && sodium_memcmp(got, want, len) == 0;
}

bool scrape_allowed(const struct settings *s, const char *remote_addr, const char *xff,
		    const char *authorization)
{
	char client[CLIENTIP_ADDR_MAX] = "";

	if (scrape_token_ok(s, authorization))
		return true;
	if (remote_addr == NULL ||
	    clientip_resolve(s->trusted_nets, remote_addr, xff, client, sizeof(client)) != 0)
		return false;
	return scrape_loopback(client);
}

int scrape_parse_scope(const char *value, enum scrape_scope *out)
{
	if (value == NULL || value[0] == '\0' || strcmp(value, "all") == 0)
		*out = SCRAPE_ALL;
	else if (strcmp(value, "host") == 0)
		*out = SCRAPE_HOST;
	else if (strcmp(value, "cluster") == 0)
		*out = SCRAPE_CLUSTER;
	else
		return IA_ERR_INVAL;
	return 0;
}

int scrape_text(struct db *db, enum scrape_scope scope, char **out, size_t *len)
{
	struct metrics_set set;
	int rc = 0;

	metrics_set_init(&set);
	if (scope != SCRAPE_CLUSTER)
		metrics_snapshot(&set);
	if (scope != SCRAPE_HOST)
		rc = metricsdb_collect(db, ia_now(), &set);
	if (rc == 0)
		*out = metrics_render(&set, len);
	metrics_set_cleanup(&set);
	return rc;
}
