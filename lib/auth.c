/*
 * auth.c - JWT bearer authentication against the users table.
 */
#include "config.h"

#include "auth.h"
#include "err.h"
#include "http.h"
#include "jwt.h"
#include "settings.h"
#include "tokencache.h"
#include "usercache.h"
#include "users.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int auth_load(const struct settings *s, struct db *db, const char *token, const char *type,
		     struct user *out);

/* jwt_verify with the SECRET_KEY, through the cache for access tokens. */
static int auth_verify(const struct settings *s, const char *token, const char *type, int64_t now,
		       struct jwt_claims *out)
{
	bool access = strcmp(type, "access") == 0;
	int rc;

	if (access) {
		rc = tokencache_get(token, now, out);
		if (rc != IA_ERR_NOTFOUND)
			return rc;
	}
	rc = jwt_verify((const unsigned char *)s->secret_key, s->secret_key_len, token, type, now,
			out);
	if (rc == 0 && access)
		tokencache_put(token, out);
	return rc;
}

/* Verify token of the given type and load a user whose token version matches. */
static int auth_load(const struct settings *s, struct db *db, const char *token, const char *type,
		     struct user *out)
{
	struct jwt_claims c;
	struct user u;
	int rc;

	rc = auth_verify(s, token, type, ia_now(), &c);
	if (rc != 0)
		return IA_ERR_AUTH;
	/* Every API call lands here: the cache spares the read while nothing
	 * in the database has changed (usercache.h). */
	if (usercache_get(db, c.user_id, &u) != 0) {
		rc = users_get(db, c.user_id, &u);
		if (rc == 0)
			usercache_put(db, &u);
	} else {
		rc = 0;
	}
	if (rc == IA_ERR_NOTFOUND || (rc == 0 && u.token_version != c.ver))
		return IA_ERR_AUTH;
	if (rc != 0)
		return rc;
	if (u.banned)
		return IA_ERR_FORBIDDEN;
	*out = u;
	return 0;
}

int auth_require(struct http_request *req, struct db *db, struct user *out)
{
	const char *h = req->authorization;
	int rc;

	if (h == NULL || *h == '\0') {
		http_add_header(req, "WWW-Authenticate", "Bearer realm=\"api\"");
		http_reply_detail(req, 401, "Authentication credentials were not provided.");
		return IA_ERR_AUTH;
	}
	if (strncmp(h, "Bearer ", 7) != 0) {
		http_add_header(req, "WWW-Authenticate", "Bearer realm=\"api\"");
		http_reply_detail(req, 401, "Authentication credentials were not provided.");
		return IA_ERR_AUTH;
	}
	rc = auth_load(req->settings, db, h + 7, "access", out);
	if (rc == IA_ERR_FORBIDDEN) {
		http_reply_detail(req, 403, "Account is suspended.");
	} else if (rc == IA_ERR_AUTH) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "detail", "Given token not valid for any token type");
		cJSON_AddStringToObject(o, "code", "token_not_valid");
		http_add_header(req, "WWW-Authenticate", "Bearer realm=\"api\"");
		http_reply_json(req, 401, o);
		cJSON_Delete(o);
	} else if (rc != 0) {
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	}
	return rc;
}

static int auth_issue(const struct settings *s, const struct user *u, const char *type,
		      int64_t lifetime, char **out)
{
	struct jwt_claims c;

	jwt_claims_init(&c, type, u->id, u->token_version, ia_now(), lifetime);
	return jwt_sign((const unsigned char *)s->secret_key, s->secret_key_len, &c, out);
}

int auth_issue_access(const struct settings *s, const struct user *u, char **access)
{
	return auth_issue(s, u, "access", s->access_token_lifetime, access);
}

int auth_issue_pair(const struct settings *s, const struct user *u, char **access, char **refresh)
{
	char *a = NULL, *r = NULL;
	int rc;

	rc = auth_issue_access(s, u, &a);
	if (rc == 0)
		rc = auth_issue(s, u, "refresh", s->refresh_token_lifetime, &r);
	if (rc != 0) {
		free(a);
		return rc;
	}
	*access = a;
	*refresh = r;
	return 0;
}

int auth_check_refresh(const struct settings *s, struct db *db, const char *token, struct user *out)
{
	return auth_load(s, db, token, "refresh", out);
}
