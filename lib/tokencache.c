/*
 * tokencache.c - direct-mapped cache of verified tokens. The slot comes
 * from the token's last characters, which belong to its signature: an HMAC
 * output, evenly spread and not steerable by a client.
 */
#include "config.h"

#include "tokencache.h"
#include "err.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct tokencache_entry {
	char *token;
	size_t len;
	struct jwt_claims claims;
};

static struct tokencache_entry tokencache[TOKENCACHE_SLOTS];

static struct tokencache_entry *tokencache_slot(const char *token, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a over the last 16 characters */
	size_t i = len > 16 ? len - 16 : 0;

	for (; i < len; i++)
		h = (h ^ (unsigned char)token[i]) * 16777619u;
	return &tokencache[h % TOKENCACHE_SLOTS];
}

int tokencache_get(const char *token, int64_t now, struct jwt_claims *out)
{
	size_t len = strnlen(token, JWT_MAX_LEN + 1);
	struct tokencache_entry *e;

	if (len > JWT_MAX_LEN)
		return IA_ERR_NOTFOUND;
	e = tokencache_slot(token, len);
	if (e->token == NULL || e->len != len || sodium_memcmp(e->token, token, len) != 0)
		return IA_ERR_NOTFOUND;
	if (e->claims.exp <= now)
		return IA_ERR_EXPIRED;
	*out = e->claims;
	return 0;
}

void tokencache_put(const char *token, const struct jwt_claims *c)
{
	size_t len = strnlen(token, JWT_MAX_LEN + 1);
	struct tokencache_entry *e;

	if (len > JWT_MAX_LEN)
		return;
	e = tokencache_slot(token, len);
	free(e->token);
	e->token = xstrndup(token, len);
	e->len = len;
	e->claims = *c;
}

void tokencache_clear(void)
{
	size_t i;

	for (i = 0; i < TOKENCACHE_SLOTS; i++) {
		free(tokencache[i].token);
		memset(&tokencache[i], 0, sizeof(tokencache[i]));
	}
}
