/*
 * auth.h - bearer-token authentication of API requests and issuing of
 * token pairs. A token is valid when its signature and type check out, it
 * has not expired, its user exists, and its "ver" equals the user's
 * token_version (a password change revokes older tokens). Bans are checked
 * on every request, so tokens issued before a ban stop working at once.
 */
#ifndef IA_AUTH_H
#define IA_AUTH_H

struct db;
struct http_request;
struct settings;
struct user;

/*
 * Authenticate req with the SECRET_KEY of req->settings. On success writes
 * *out and returns 0. On failure replies 401 (no/bad token) or 403
 * (suspended) itself and returns <0.
 */
int auth_require(struct http_request *req, struct db *db, struct user *out);

/* Issue an access and a refresh token for u, signed with s's SECRET_KEY
 * and with its lifetimes; both heap strings, caller frees. */
int auth_issue_pair(const struct settings *s, const struct user *u, char **access, char **refresh);

/* Issue an access token only (refresh endpoint); caller frees. */
int auth_issue_access(const struct settings *s, const struct user *u, char **access);

/*
 * Check a refresh token and load its user. IA_ERR_AUTH for any invalid,
 * expired or revoked token; IA_ERR_FORBIDDEN when the user is banned.
 */
int auth_check_refresh(const struct settings *s, struct db *db, const char *token,
		       struct user *out);

#endif
