/*
 * tokencache.h - a per-process cache of recently verified access tokens.
 *
 * A browser sends the same access token with every request, and verifying
 * it again (base64, two JSON parses, an HMAC) is most of the CPU of an
 * authenticated read. A hit requires the whole presented token to equal a
 * cached one, compared in constant time, so it proves exactly what the
 * first verification proved; expiry is checked on every hit. Callers still
 * read the user row (ban, token version) on every request.
 */
#ifndef IA_TOKENCACHE_H
#define IA_TOKENCACHE_H

#include <stdint.h>

#include "jwt.h"

#define TOKENCACHE_SLOTS 256

/*
 * Look token up. 0 and *out on a hit; IA_ERR_EXPIRED when it is cached but
 * exp <= now; IA_ERR_NOTFOUND otherwise (then verify it for real).
 */
int tokencache_get(const char *token, int64_t now, struct jwt_claims *out);
/* Remember a token that jwt_verify accepted with claims c (copied). */
void tokencache_put(const char *token, const struct jwt_claims *c);
/* Forget everything (tests; a changed key). */
void tokencache_clear(void);

#endif
