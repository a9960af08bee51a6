/*
 * test_google.c - unit tests for lib/google.c, the protocol side of
 * "Sign in with Google": google_check_claims accepts a good tokeninfo
 * answer and refuses each bad claim on its own (aud, iss, exp,
 * email_verified, email), and google_verify asks a small tokeninfo server
 * forked on loopback for each test: the credential arrives escaped, a
 * 200 with good claims is an identity, anything else is IA_ERR_AUTH.
 */
#include "config.h"

#include "err.h"
#include "google.h"
#include "settings.h"
#include "testsrv.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define CLIENT "client-123.apps.googleusercontent.com"
#define NOW    INT64_C(1700000000)

/* A tokeninfo answer whose claims all pass, with one claim replaced when
 * key is not NULL (value is raw JSON; NULL removes the claim). */
static cJSON *claims_with(const char *key, const char *value)
{
	cJSON *o = cJSON_Parse("{\"aud\":\"" CLIENT "\",\"iss\":\"https://accounts.google.com\","
			       "\"exp\":\"1700000600\",\"email\":\"ann@example.com\","
			       "\"email_verified\":\"true\",\"given_name\":\"Ann\","
			       "\"family_name\":\"Lee\"}");

	ck_assert_ptr_nonnull(o);
	if (key != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
		if (value != NULL)
			cJSON_AddItemToObject(o, key, cJSON_Parse(value));
	}
	return o;
}

static int check(const char *key, const char *value, struct google_identity *id)
{
	cJSON *c = claims_with(key, value);
	int rc = google_check_claims(c, CLIENT, NOW, id);

	cJSON_Delete(c);
	return rc;
}

START_TEST(test_claims_good)
{
	struct google_identity id;

	ck_assert_int_eq(check(NULL, NULL, &id), 0);
	ck_assert_str_eq(id.email, "ann@example.com");
	ck_assert_str_eq(id.first_name, "Ann");
	ck_assert_str_eq(id.last_name, "Lee");
	/* the other accepted spellings */
	ck_assert_int_eq(check("iss", "\"accounts.google.com\"", &id), 0);
	ck_assert_int_eq(check("exp", "1700000001", &id), 0);
	ck_assert_int_eq(check("email_verified", "true", &id), 0);
	/* names are optional */
	ck_assert_int_eq(check("given_name", NULL, &id), 0);
	ck_assert_str_eq(id.first_name, "");
}
END_TEST

/* Each claim can fail on its own: the rest of the answer is good. */
START_TEST(test_claims_each_can_fail)
{
	static const struct {
		const char *key, *value;
	} bad[] = {
	    {"aud", NULL},
	    {"aud", "\"someone-else.apps.googleusercontent.com\""},
	    {"aud", "123"},
	    {"iss", NULL},
	    {"iss", "\"https://evil.example.com\""},
	    {"iss", "\"http://accounts.google.com\""},
	    {"exp", NULL},
	    {"exp", "\"1700000000\""}, /* exp == now is expired */
	    {"exp", "\"1600000000\""},
	    {"exp", "1699999999"},
	    {"exp", "\"soon\""},
	    {"email_verified", NULL},
	    {"email_verified", "false"},
	    {"email_verified", "\"false\""},
	    {"email_verified", "\"yes\""},
	    {"email", NULL},
	    {"email", "\"\""},
	    {"email", "\"no-at-sign\""},
	    {"email", "\"a b@example.com\""},
	    {"email", "42"},
	};
	struct google_identity id;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(check(bad[i].key, bad[i].value, &id) == IA_ERR_AUTH, "%s=%s",
			      bad[i].key, bad[i].value != NULL ? bad[i].value : "(absent)");
}
END_TEST

START_TEST(test_claims_client_id_and_shape)
{
	struct google_identity id;
	cJSON *c = claims_with(NULL, NULL);
	cJSON *arr = cJSON_CreateArray();
	char email[USER_EMAIL_MAX + 16];
	char *value;

	ck_assert_int_eq(google_check_claims(c, "", NOW, &id), IA_ERR_AUTH);
	ck_assert_int_eq(google_check_claims(c, NULL, NOW, &id), IA_ERR_AUTH);
	ck_assert_int_eq(google_check_claims(NULL, CLIENT, NOW, &id), IA_ERR_AUTH);
	ck_assert_int_eq(google_check_claims(arr, CLIENT, NOW, &id), IA_ERR_AUTH);
	cJSON_Delete(c);
	cJSON_Delete(arr);
	/* an address over USER_EMAIL_MAX bytes */
	memset(email, 'a', sizeof(email));
	memcpy(email + USER_EMAIL_MAX - 11, "@example.com", 13);
	value = xasprintf("\"%s\"", email);
	ck_assert_int_eq(strlen(email), USER_EMAIL_MAX + 1);
	ck_assert_int_eq(check("email", value, &id), IA_ERR_AUTH);
	free(value);
}
END_TEST

/* A name over 30 characters is cut on a character boundary; invalid UTF-8 is dropped. */
START_TEST(test_claims_names)
{
	struct google_identity id;

	ck_assert_int_eq(check("given_name",
			       "\"\xc3\xa9"
			       "bcdefghijklmnopqrstuvwxyz12345678\"",
			       &id),
			 0);
	ck_assert_str_eq(id.first_name, "\xc3\xa9"
					"bcdefghijklmnopqrstuvwxyz1234");
	ck_assert_int_eq(check("family_name", "\"bad\xff\"", &id), 0);
	ck_assert_str_eq(id.last_name, "");
}
END_TEST

/* --- google_verify against a tokeninfo server on loopback ------------------ */

static int srv_port;

/*
 * One request: the credential "good%2Btoken" (sent escaped) gets good
 * claims, "stale" claims that expired, "down" a 500, anything else a 400
 * as Google answers an invalid token.
 */
static void srv_serve(int fd)
{
	char head[8192], body[512], reply[1024];
	const char *status = "400 Bad Request";
	ssize_t n = read(fd, head, sizeof(head) - 1);

	if (n <= 0)
		return;
	head[n] = '\0';
	snprintf(body, sizeof(body), "{\"error\":\"invalid_token\"}");
	if (strstr(head, "GET /tokeninfo?id_token=good%2Btoken ") != NULL) {
		status = "200 OK";
		snprintf(body, sizeof(body),
			 "{\"aud\":\"" CLIENT "\",\"iss\":\"accounts.google.com\","
			 "\"exp\":\"1700000600\",\"email\":\"ann@example.com\","
			 "\"email_verified\":\"true\",\"given_name\":\"Ann\"}");
	} else if (strstr(head, "id_token=stale ") != NULL) {
		status = "200 OK";
		snprintf(body, sizeof(body),
			 "{\"aud\":\"" CLIENT "\",\"iss\":\"accounts.google.com\","
			 "\"exp\":\"1600000000\",\"email\":\"ann@example.com\","
			 "\"email_verified\":\"true\"}");
	} else if (strstr(head, "id_token=down ") != NULL) {
		status = "500 Internal Server Error";
	}
	snprintf(reply, sizeof(reply),
		 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s",
		 status, strlen(body), body);
	testsrv_send(fd, reply, strlen(reply));
}

static void srv_start(void)
{
	srv_port = testsrv_start(srv_serve);
}

static int verify(const char *client, const char *credential, struct google_identity *id)
{
	struct settings s;
	char *url = xasprintf("http://127.0.0.1:%d/tokeninfo", srv_port);
	int rc;

	memset(&s, 0, sizeof(s));
	s.google_client_id = (char *)client;
	s.google_tokeninfo_url = url;
	rc = google_verify(&s, credential, NOW, id);
	free(url);
	return rc;
}

START_TEST(test_verify_good_token)
{
	struct google_identity id;

	ck_assert_int_eq(verify(CLIENT, "good+token", &id), 0);
	ck_assert_str_eq(id.email, "ann@example.com");
	ck_assert_str_eq(id.first_name, "Ann");
}
END_TEST

START_TEST(test_verify_failures_are_auth)
{
	struct google_identity id;
	char *huge = xmalloc(GOOGLE_CREDENTIAL_MAX + 2);

	memset(id.email, 'x', sizeof(id.email));
	ck_assert_int_eq(verify(CLIENT, "stale", &id), IA_ERR_AUTH);   /* claims refused */
	ck_assert_int_eq(verify(CLIENT, "down", &id), IA_ERR_AUTH);    /* HTTP 500 */
	ck_assert_int_eq(verify(CLIENT, "unknown", &id), IA_ERR_AUTH); /* HTTP 400 */
	ck_assert_int_eq(verify("other-client", "good+token", &id), IA_ERR_AUTH);
	ck_assert_int_eq(verify("", "good+token", &id), IA_ERR_AUTH);
	ck_assert_int_eq(verify(CLIENT, "", &id), IA_ERR_AUTH);
	ck_assert_int_eq(verify(CLIENT, NULL, &id), IA_ERR_AUTH);
	memset(huge, 'a', GOOGLE_CREDENTIAL_MAX + 1);
	huge[GOOGLE_CREDENTIAL_MAX + 1] = '\0';
	ck_assert_int_eq(verify(CLIENT, huge, &id), IA_ERR_AUTH);
	free(huge);
	ck_assert_int_eq(id.email[0], 'x'); /* *out untouched on failure */
}
END_TEST

START_TEST(test_verify_provider_unreachable)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct google_identity id;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = srv_port;

	/* a port bound but not listening: the connection is refused */
	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	srv_port = ntohs(a.sin_port);
	ck_assert_int_eq(verify(CLIENT, "good+token", &id), IA_ERR_AUTH);
	srv_port = port;
	close(fd);
}
END_TEST

static Suite *google_suite(void)
{
	Suite *s = suite_create("google");
	TCase *claims = tcase_create("claims");
	TCase *http = tcase_create("tokeninfo");

	tcase_add_test(claims, test_claims_good);
	tcase_add_test(claims, test_claims_each_can_fail);
	tcase_add_test(claims, test_claims_client_id_and_shape);
	tcase_add_test(claims, test_claims_names);
	suite_add_tcase(s, claims);
	tcase_add_checked_fixture(http, srv_start, testsrv_stop);
	tcase_set_timeout(http, 30);
	tcase_add_test(http, test_verify_good_token);
	tcase_add_test(http, test_verify_failures_are_auth);
	tcase_add_test(http, test_verify_provider_unreachable);
	suite_add_tcase(s, http);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(google_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
