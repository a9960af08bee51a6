/*
 * test_auth.c - unit tests for lib/auth.c against a real migrated database
 * (testdb) and the real jwt, users, tokencache and usercache modules:
 * auth_require accepts a fresh access token and answers 401 for a missing
 * header, another scheme, an expired token, a refresh token, a token
 * signed with another key, a user who is gone and a token revoked by a
 * password change (also when the token sits in the token cache), and 403
 * for a banned user; auth_issue_pair issues an access and a refresh token
 * with the configured lifetimes; auth_check_refresh takes only refresh
 * tokens.
 *
 * Replies need libfcgi streams, so this program is linked with
 * -Wl,--wrap for the three reply functions auth.c calls: the wrappers
 * below record the status, the body and the headers instead.
 */
#include "config.h"

#include "auth.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "jwt.h"
#include "password.h"
#include "settings.h"
#include "testdb.h"
#include "tokencache.h"
#include "usercache.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY       "unit-test-secret-key-0123456789abcdefghijklmnop"
#define OTHER_KEY "another-secret-key-of-enough-length-0123456789ab"

/* What the wrapped reply functions saw for the last request. */
static int reply_status;
static char reply_body[512];
static char reply_www[128];

void __wrap_http_add_header(struct http_request *req, const char *name, const char *value);
void __wrap_http_reply_detail(struct http_request *req, int status, const char *detail);
void __wrap_http_reply_json(struct http_request *req, int status, const cJSON *body);

void __wrap_http_add_header(struct http_request *req, const char *name, const char *value)
{
	(void)req;
	if (strcmp(name, "WWW-Authenticate") == 0)
		snprintf(reply_www, sizeof(reply_www), "%s", value);
}

void __wrap_http_reply_detail(struct http_request *req, int status, const char *detail)
{
	req->replied = 1;
	reply_status = status;
	snprintf(reply_body, sizeof(reply_body), "{\"detail\":\"%s\"}", detail);
}

void __wrap_http_reply_json(struct http_request *req, int status, const cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);

	req->replied = 1;
	reply_status = status;
	snprintf(reply_body, sizeof(reply_body), "%s", text);
	cJSON_free(text);
}

static struct db *db;
static struct db *other; /* a second connection, as iactl's would be */
static int64_t uid;

static void setup(void)
{
	struct user_new nu = {.email = "auth@example.com", .password = NULL};

	tokencache_clear();
	usercache_clear();
	db = testdb_open();
	ck_assert_int_eq(db_open(testdb_file(), &other), 0);
	ck_assert_int_eq(users_create(db, &nu, &uid), 0);
}

static void teardown(void)
{
	tokencache_clear();
	usercache_clear();
	db_close(other);
	testdb_close(db);
}

/* Run auth_require with the Authorization header h (NULL: none). */
static int require(const char *h, struct user *u)
{
	struct http_request req;

	memset(&req, 0, sizeof(req));
	req.authorization = h;
	req.settings = settings_get();
	req.content_length = -1;
	reply_status = 0;
	reply_body[0] = reply_www[0] = '\0';
	memset(u, 0, sizeof(*u));
	return auth_require(&req, db, u);
}

/* "Bearer " + a token of type for user id, version ver, issued at iat. */
static char *bearer(const char *key, const char *type, int64_t id, int64_t ver, int64_t iat,
		    int64_t lifetime)
{
	struct jwt_claims c;
	char *tok = NULL, *h;

	jwt_claims_init(&c, type, id, ver, iat, lifetime);
	ck_assert_int_eq(jwt_sign((const unsigned char *)key, strlen(key), &c, &tok), 0);
	h = xasprintf("Bearer %s", tok);
	free(tok);
	return h;
}

static void assert_token_not_valid(int rc)
{
	ck_assert_int_eq(rc, IA_ERR_AUTH);
	ck_assert_int_eq(reply_status, 401);
	ck_assert_str_eq(reply_body, "{\"detail\":\"Given token not valid for any token type\","
				     "\"code\":\"token_not_valid\"}");
	ck_assert_str_eq(reply_www, "Bearer realm=\"api\"");
}

/* Ban or unban through the other connection; on PostgreSQL the change
 * reaches db's user cache through a notification, so wait for the
 * expected answer up to 2 s (on SQLite the first look sees it). */
static int ban_and_require(bool banned, const char *h, int want, struct user *u)
{
	int rc = 0, i;

	ck_assert_int_eq(users_set_ban(other, uid, banned, banned ? "spam" : NULL), 0);
	for (i = 0; i < 2000; i++) {
		rc = require(h, u);
		if (rc == want)
			break;
		usleep(1000);
	}
	return rc;
}

START_TEST(fresh_access_token_loads_its_user)
{
	char *h = bearer(KEY, "access", uid, 0, ia_now(), 300);
	struct user u;

	ck_assert_int_eq(require(h, &u), 0);
	ck_assert_int_eq(u.id, uid);
	ck_assert_str_eq(u.email, "auth@example.com");
	ck_assert_int_eq(reply_status, 0); /* the handler replies, not auth */
	/* Again: now from the token cache and the user cache. */
	ck_assert_int_eq(require(h, &u), 0);
	ck_assert_int_eq(u.id, uid);
	free(h);
}
END_TEST

START_TEST(missing_header_or_other_scheme_is_401_not_provided)
{
	static const char *const bad[] = {NULL, "", "Basic dXNlcjpwYXNz", "bearer x", "Bearer"};
	struct user u;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(require(bad[i], &u), IA_ERR_AUTH);
		ck_assert_int_eq(reply_status, 401);
		ck_assert_str_eq(reply_body,
				 "{\"detail\":\"Authentication credentials were not provided.\"}");
		ck_assert_str_eq(reply_www, "Bearer realm=\"api\"");
	}
}
END_TEST

START_TEST(expired_access_token_is_401)
{
	/* Issued 10 minutes ago for 5 minutes. */
	char *h = bearer(KEY, "access", uid, 0, ia_now() - 600, 300);
	struct user u;

	assert_token_not_valid(require(h, &u));
	ck_assert_int_eq(u.id, 0);
	free(h);
}
END_TEST

START_TEST(refresh_token_is_not_an_access_token)
{
	char *h = bearer(KEY, "refresh", uid, 0, ia_now(), 300);
	struct user u;

	assert_token_not_valid(require(h, &u));
	free(h);
}
END_TEST

START_TEST(token_signed_with_another_key_is_401)
{
	char *h = bearer(OTHER_KEY, "access", uid, 0, ia_now(), 300);
	struct user u;

	assert_token_not_valid(require(h, &u));
	free(h);
}
END_TEST

START_TEST(token_of_a_user_who_is_gone_is_401)
{
	char *h = bearer(KEY, "access", uid + 1000, 0, ia_now(), 300);
	struct user u;

	assert_token_not_valid(require(h, &u));
	free(h);
}
END_TEST

START_TEST(password_change_revokes_earlier_tokens)
{
	char *old = bearer(KEY, "access", uid, 0, ia_now(), 300);
	char *fresh = NULL;
	struct user u;

	ck_assert_int_eq(require(old, &u), 0); /* now in the token cache */
	ck_assert_int_eq(users_set_password_hash(db, uid, PASSWORD_UNUSABLE), 0);
	assert_token_not_valid(require(old, &u));
	/* A token carrying the new version works. */
	fresh = bearer(KEY, "access", uid, 1, ia_now(), 300);
	ck_assert_int_eq(require(fresh, &u), 0);
	ck_assert_int_eq(u.token_version, 1);
	free(old);
	free(fresh);
}
END_TEST

START_TEST(banned_user_is_403_until_unbanned)
{
	char *h = bearer(KEY, "access", uid, 0, ia_now(), 300);
	struct user u;

	ck_assert_int_eq(require(h, &u), 0); /* cached: the ban must still reach it */
	ck_assert_int_eq(ban_and_require(true, h, IA_ERR_FORBIDDEN, &u), IA_ERR_FORBIDDEN);
	ck_assert_int_eq(reply_status, 403);
	ck_assert_str_eq(reply_body, "{\"detail\":\"Account is suspended.\"}");
	ck_assert_int_eq(u.id, 0); /* *out written only on success */
	ck_assert_int_eq(ban_and_require(false, h, 0, &u), 0);
	ck_assert_int_eq(u.id, uid);
	free(h);
}
END_TEST

START_TEST(issue_pair_gives_access_and_refresh_with_their_lifetimes)
{
	struct jwt_claims a, r;
	char *access = NULL, *refresh = NULL;
	struct user u;
	int64_t before = ia_now(), after;

	ck_assert_int_eq(users_get(db, uid, &u), 0);
	ck_assert_int_eq(auth_issue_pair(settings_get(), &u, &access, &refresh), 0);
	after = ia_now();
	ck_assert_str_ne(access, refresh);
	ck_assert_int_eq(
	    jwt_verify((const unsigned char *)KEY, strlen(KEY), access, "access", before, &a), 0);
	ck_assert_int_eq(
	    jwt_verify((const unsigned char *)KEY, strlen(KEY), refresh, "refresh", before, &r), 0);
	ck_assert_int_eq(a.user_id, uid);
	ck_assert_int_eq(r.user_id, uid);
	ck_assert_int_eq(a.ver, u.token_version);
	ck_assert(a.iat >= before && a.iat <= after);
	ck_assert_int_eq(a.exp - a.iat, 600);  /* ACCESS_TOKEN_LIFETIME */
	ck_assert_int_eq(r.exp - r.iat, 7200); /* REFRESH_TOKEN_LIFETIME */
	ck_assert_str_ne(a.jti, r.jti);
	free(access);
	free(refresh);
}
END_TEST

START_TEST(issued_tokens_carry_the_token_version)
{
	char *access = NULL, *refresh = NULL, *h;
	struct user u;

	ck_assert_int_eq(users_set_password_hash(db, uid, PASSWORD_UNUSABLE), 0);
	ck_assert_int_eq(users_set_password_hash(db, uid, PASSWORD_UNUSABLE), 0);
	ck_assert_int_eq(users_get(db, uid, &u), 0);
	ck_assert_int_eq(u.token_version, 2);
	ck_assert_int_eq(auth_issue_pair(settings_get(), &u, &access, &refresh), 0);
	h = xasprintf("Bearer %s", access);
	ck_assert_int_eq(require(h, &u), 0);
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, refresh, &u), 0);
	free(h);
	free(access);
	free(refresh);
}
END_TEST

START_TEST(check_refresh_takes_only_valid_refresh_tokens)
{
	char *access = NULL, *refresh = NULL, *expired, *forged;
	struct user u, got;

	ck_assert_int_eq(users_get(db, uid, &u), 0);
	ck_assert_int_eq(auth_issue_pair(settings_get(), &u, &access, &refresh), 0);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, refresh, &got), 0);
	ck_assert_int_eq(got.id, uid);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, access, &got), IA_ERR_AUTH);
	ck_assert_int_eq(got.id, 0);
	expired = bearer(KEY, "refresh", uid, 0, ia_now() - 600, 300);
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, expired + 7, &got), IA_ERR_AUTH);
	forged = bearer(OTHER_KEY, "refresh", uid, 0, ia_now(), 300);
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, forged + 7, &got), IA_ERR_AUTH);
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, "not.a.token", &got), IA_ERR_AUTH);
	/* Revoked by a password change. */
	ck_assert_int_eq(users_set_password_hash(db, uid, PASSWORD_UNUSABLE), 0);
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, refresh, &got), IA_ERR_AUTH);
	ck_assert_int_eq(got.id, 0);
	free(expired);
	free(forged);
	free(access);
	free(refresh);
}
END_TEST

START_TEST(check_refresh_of_banned_user_is_forbidden)
{
	char *access = NULL, *refresh = NULL;
	struct user u;

	ck_assert_int_eq(users_get(db, uid, &u), 0);
	ck_assert_int_eq(auth_issue_pair(settings_get(), &u, &access, &refresh), 0);
	ck_assert_int_eq(users_set_ban(db, uid, true, "spam"), 0);
	usercache_clear();
	ck_assert_int_eq(auth_check_refresh(settings_get(), db, refresh, &u), IA_ERR_FORBIDDEN);
	free(access);
	free(refresh);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, fresh_access_token_loads_its_user);
	tcase_add_test(tc, missing_header_or_other_scheme_is_401_not_provided);
	tcase_add_test(tc, expired_access_token_is_401);
	tcase_add_test(tc, refresh_token_is_not_an_access_token);
	tcase_add_test(tc, token_signed_with_another_key_is_401);
	tcase_add_test(tc, token_of_a_user_who_is_gone_is_401);
	tcase_add_test(tc, password_change_revokes_earlier_tokens);
	tcase_add_test(tc, banned_user_is_403_until_unbanned);
	tcase_add_test(tc, issue_pair_gives_access_and_refresh_with_their_lifetimes);
	tcase_add_test(tc, issued_tokens_carry_the_token_version);
	tcase_add_test(tc, check_refresh_takes_only_valid_refresh_tokens);
	tcase_add_test(tc, check_refresh_of_banned_user_is_forbidden);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* settings_get() loads these on first use, in each test's process;
	 * the tests hand them to auth as a caller would. */
	setenv("SECRET_KEY", KEY, 1);
	setenv("ACCESS_TOKEN_LIFETIME", "600", 1);
	setenv("REFRESH_TOKEN_LIFETIME", "7200", 1);
	unsetenv("IA_CONFIG");
	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
