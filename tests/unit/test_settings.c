/*
 * test_settings.c - unit tests for lib/settings.c: defaults, environment
 * overrides, the IA_CONFIG file with the environment winning over it,
 * malformed numbers, the SECRET_KEY rules (required unless DEV_MODE=1,
 * which reads STATE/secret_key; at least 32 bytes), TRUSTED_PROXIES
 * (parsed at load, a malformed entry refused), exact CORS origin
 * matching, and BG_MIN_CONFIDENCE (a plain decimal from 0 to 1, default
 * imgseg's IMGSEG_MIN_CONFIDENCE).
 *
 * Check forks a process per test, so setenv() in one test cannot leak
 * into the next; setup() still clears every variable the module reads so
 * the caller's environment cannot change the results.
 */
#include "config.h"

#include "clientip.h"
#include "err.h"
#include "imgseg.h"
#include "settings.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const all_names[] = {
    "IA_CONFIG",
    "IA_STATE_DIR",
    "SECRET_KEY",
    "DB_PATH",
    "MEDIA_ROOT",
    "PUBLIC_URL",
    "SIGNUP_CREDITS",
    "CREDIT_MULTIPLIER",
    "ACCESS_TOKEN_LIFETIME",
    "REFRESH_TOKEN_LIFETIME",
    "CORS_ALLOWED_ORIGINS",
    "DEV_MODE",
    "RATE_LIMIT_PER_MINUTE",
    "MEDIA_URL_LIFETIME",
    "STABILITY_AI_KEY",
    "STABILITY_API_BASE",
    "STABILITY_GENERATE_MODEL",
    "LOCAL_GENERATOR",
    "STABILITY_TIMEOUT",
    "STABILITY_RETRY_BASE_MS",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLIC_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_LOGIN_REDIRECT_URI",
    "GOOGLE_TOKENINFO_URL",
    "MAIL_TRANSPORT",
    "MAIL_DIR",
    "SMTP_URL",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "DEFAULT_FROM_EMAIL",
    "CONTACT_EMAIL",
    "TRUSTED_PROXIES",
    "BG_MIN_CONFIDENCE",
    "METRICS_TOKEN",
};

/* Keys of the shortest accepted length and longer (SETTINGS_SECRET_KEY_MIN). */
#define KEY      "k3y-0123456789abcdef0123456789ab" /* 32 bytes */
#define FILE_KEY "file-key-0123456789abcdef01234567"
#define ENV_KEY  "env-key-0123456789abcdef0123456789"
#define DEV_KEY  "devkey-0123456789abcdef0123456789"

/* A private state directory per test (removed in teardown). */
static char *state_dir;

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	size_t i;

	for (i = 0; i < sizeof(all_names) / sizeof(all_names[0]); i++)
		unsetenv(all_names[i]);
	state_dir = xasprintf("%s/ia-settings-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(state_dir));
}

static void teardown(void)
{
	char *p = xasprintf("%s/secret_key", state_dir);

	unlink(p);
	free(p);
	p = xasprintf("%s/ia.conf", state_dir);
	unlink(p);
	free(p);
	rmdir(state_dir);
	free(state_dir);
	state_dir = NULL;
}

/* Write text to STATE/name and return the path (caller frees). */
static char *write_state_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", state_dir, name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* Load expecting failure; checks that *s was not written and returns err. */
static void load_fails(char *err, size_t errlen)
{
	struct settings s;

	memset(&s, 0x5a, sizeof(s));
	err[0] = '\0';
	ck_assert_int_eq(settings_load(&s, err, errlen), IA_ERR_INVAL);
	ck_assert(s.signup_credits == 0x5a5a5a5a5a5a5a5aLL);
	ck_assert_str_ne(err, "");
}

START_TEST(test_defaults)
{
	struct settings s;
	char err[256] = "", *want;

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.public_url, "http://127.0.0.1:8080");
	ck_assert_int_eq(s.signup_credits, 100);
	ck_assert_int_eq(s.credit_multiplier, 50);
	ck_assert_int_eq(s.rate_limit_per_minute, 20);
	ck_assert_int_eq(s.access_token_lifetime, 86400);
	ck_assert_int_eq(s.refresh_token_lifetime, 86400);
	ck_assert_int_eq(s.media_url_lifetime, 3600);
	ck_assert_int_eq(s.dev_mode, false);
	ck_assert_str_eq(s.cors_allowed_origins, "");
	ck_assert_str_eq(s.state_dir, state_dir);
	want = xasprintf("%s/ia.sqlite3", state_dir);
	ck_assert_str_eq(s.db_path, want);
	free(want);
	want = xasprintf("%s/media", state_dir);
	ck_assert_str_eq(s.media_root, want);
	free(want);
	ck_assert_uint_eq(s.secret_key_len, 32);
	ck_assert_int_eq(memcmp(s.secret_key, KEY, 32), 0);
	ck_assert_str_eq(s.trusted_proxies, "");
	ck_assert_ptr_nonnull(s.trusted_nets);
	ck_assert(!clientip_nets_match(s.trusted_nets, "127.0.0.1")); /* trusts no one */
	ck_assert_str_eq(s.metrics_token, "");                        /* /metrics: loopback only */
	settings_cleanup(&s);
	ck_assert_ptr_null(s.public_url);
}
END_TEST

START_TEST(test_default_state_dir)
{
	struct settings s;
	char err[256] = "";

	setenv("SECRET_KEY", KEY, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.state_dir, "./var");
	ck_assert_str_eq(s.db_path, "./var/ia.sqlite3");
	settings_cleanup(&s);
}
END_TEST

START_TEST(test_env_overrides)
{
	struct settings s;
	char err[256] = "";

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("PUBLIC_URL", "https://img.example.com", 1);
	setenv("SIGNUP_CREDITS", "0", 1);
	setenv("CREDIT_MULTIPLIER", "7", 1);
	setenv("RATE_LIMIT_PER_MINUTE", "1000", 1);
	setenv("DB_PATH", "/elsewhere/db.sqlite3", 1);
	setenv("DEV_MODE", "1", 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.public_url, "https://img.example.com");
	ck_assert_int_eq(s.signup_credits, 0);
	ck_assert_int_eq(s.credit_multiplier, 7);
	ck_assert_int_eq(s.rate_limit_per_minute, 1000);
	ck_assert_str_eq(s.db_path, "/elsewhere/db.sqlite3");
	ck_assert_int_eq(s.dev_mode, true);
	settings_cleanup(&s);
}
END_TEST

START_TEST(test_config_file)
{
	struct settings s;
	char err[256] = "";
	char *conf = write_state_file("ia.conf", "# a comment\n"
						 "#CREDIT_MULTIPLIER=3\n"
						 "SIGNUP_CREDITS=7\n"
						 "PUBLIC_URL=https://from-file.example\n"
						 "RATE_LIMIT_PER_MINUTEX=99\n"
						 "RATE_LIMIT_PER_MINUTE=5\r\n"
						 "SECRET_KEY=" FILE_KEY "\n");

	setenv("IA_CONFIG", conf, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("SIGNUP_CREDITS", "9", 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_int_eq(s.signup_credits, 9); /* the environment wins */
	ck_assert_str_eq(s.public_url, "https://from-file.example");
	ck_assert_int_eq(s.credit_multiplier, 50); /* commented out */
	ck_assert_int_eq(s.rate_limit_per_minute, 5);
	ck_assert_uint_eq(s.secret_key_len, strlen(FILE_KEY));
	ck_assert_int_eq(memcmp(s.secret_key, FILE_KEY, strlen(FILE_KEY)), 0);
	settings_cleanup(&s);

	setenv("SECRET_KEY", ENV_KEY, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.secret_key_len, strlen(ENV_KEY));
	ck_assert_int_eq(memcmp(s.secret_key, ENV_KEY, strlen(ENV_KEY)), 0);
	settings_cleanup(&s);
	free(conf);
}
END_TEST

START_TEST(test_config_file_state_dir)
{
	struct settings s;
	char err[256] = "", *want;
	char *line = xasprintf("IA_STATE_DIR=%s\nSECRET_KEY=" KEY "\n", state_dir);
	char *conf = write_state_file("ia.conf", line);

	setenv("IA_CONFIG", conf, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	want = xasprintf("%s/ia.sqlite3", state_dir);
	ck_assert_str_eq(s.db_path, want);
	free(want);
	settings_cleanup(&s);
	free(conf);
	free(line);
}
END_TEST

static const char *const bad_numbers[] = {
    "abc", "-1", "12x", "", " 5", "5 ", "+5", "0x10", "1e3", "99999999999999999999", "\n5",
};

START_TEST(test_malformed_number)
{
	char err[256];

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("CREDIT_MULTIPLIER", bad_numbers[_i], 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "CREDIT_MULTIPLIER") != NULL, "value \"%s\": err \"%s\"",
		      bad_numbers[_i], err);
}
END_TEST

START_TEST(test_malformed_number_in_file)
{
	char err[256];
	char *conf = write_state_file("ia.conf", "RATE_LIMIT_PER_MINUTE=twenty\n");

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("IA_CONFIG", conf, 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "RATE_LIMIT_PER_MINUTE") != NULL, "err \"%s\"", err);
	/* a good value in the environment hides the bad one in the file */
	setenv("RATE_LIMIT_PER_MINUTE", "3", 1);
	{
		struct settings s;

		ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
		ck_assert_int_eq(s.rate_limit_per_minute, 3);
		settings_cleanup(&s);
	}
	free(conf);
}
END_TEST

START_TEST(test_secret_key_required)
{
	char err[256];
	char *kf;

	setenv("IA_STATE_DIR", state_dir, 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "SECRET_KEY") != NULL, "err \"%s\"", err);
	setenv("SECRET_KEY", "", 1);
	load_fails(err, sizeof(err));
	/* without DEV_MODE the key file is not consulted */
	kf = write_state_file("secret_key", "SECRET_KEY=" DEV_KEY "\n");
	unsetenv("SECRET_KEY");
	setenv("DEV_MODE", "0", 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "SECRET_KEY") != NULL, "err \"%s\"", err);
	free(kf);
}
END_TEST

START_TEST(test_dev_mode_key_file)
{
	struct settings s;
	char err[256] = "";
	char *kf;

	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("DEV_MODE", "1", 1);
	load_fails(err, sizeof(err)); /* no key file yet */
	kf = write_state_file("secret_key", "# made by ./stack\nSECRET_KEY=" DEV_KEY "\n");
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.secret_key_len, strlen(DEV_KEY));
	ck_assert_int_eq(memcmp(s.secret_key, DEV_KEY, strlen(DEV_KEY)), 0);
	ck_assert_int_eq(s.dev_mode, true);
	settings_cleanup(&s);
	/* an explicit key still wins in dev mode */
	setenv("SECRET_KEY", ENV_KEY, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.secret_key_len, strlen(ENV_KEY));
	ck_assert_int_eq(memcmp(s.secret_key, ENV_KEY, strlen(ENV_KEY)), 0);
	settings_cleanup(&s);
	free(kf);
}
END_TEST

/* Point 15 of issue 9: a short key makes every HMAC (tokens, media URLs,
 * reset links) guessable offline, so no program starts with one. */
START_TEST(test_secret_key_too_short)
{
	struct settings s;
	char err[256];
	char *kf;

	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("SECRET_KEY", "k3y-0123456789abcdef0123456789a", 1); /* 31 bytes */
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "SECRET_KEY is too short (31 bytes)") != NULL, "err \"%s\"", err);
	ck_assert_msg(strstr(err, "at least 32") != NULL, "err \"%s\"", err);
	setenv("SECRET_KEY", "changeme", 1);
	load_fails(err, sizeof(err));
	/* the dev stack's key file is held to the same rule */
	unsetenv("SECRET_KEY");
	setenv("DEV_MODE", "1", 1);
	kf = write_state_file("secret_key", "SECRET_KEY=short\n");
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "too short") != NULL, "err \"%s\"", err);
	/* 32 bytes is enough */
	setenv("SECRET_KEY", KEY, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	settings_cleanup(&s);
	free(kf);
}
END_TEST

START_TEST(test_trusted_proxies)
{
	struct settings s;
	char err[256] = "";

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32", 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.trusted_proxies, "10.0.0.0/8, 2001:db8::/32");
	ck_assert(clientip_nets_match(s.trusted_nets, "10.1.2.3"));
	ck_assert(clientip_nets_match(s.trusted_nets, "2001:db8::1"));
	ck_assert(!clientip_nets_match(s.trusted_nets, "127.0.0.1"));
	settings_cleanup(&s);
	ck_assert_ptr_null(s.trusted_nets);
}
END_TEST

/* A typo in TRUSTED_PROXIES must stop the program, not trust nobody (or
 * everybody) silently. */
START_TEST(test_trusted_proxies_malformed)
{
	char err[256];

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("TRUSTED_PROXIES", "10.0.0.0/8, 10.0.0.0/33", 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "TRUSTED_PROXIES") != NULL && strstr(err, "10.0.0.0/33") != NULL,
		      "err \"%s\"", err);
	setenv("TRUSTED_PROXIES", "proxy.example.com", 1);
	load_fails(err, sizeof(err));
}
END_TEST

START_TEST(test_origin_allowed)
{
	struct settings s;

	memset(&s, 0, sizeof(s));
	s.cors_allowed_origins = "https://a.example, https://b.example  https://c.example,"
				 "http://localhost:3000";
	ck_assert(settings_origin_allowed(&s, "https://a.example"));
	ck_assert(settings_origin_allowed(&s, "https://b.example"));
	ck_assert(settings_origin_allowed(&s, "https://c.example"));
	ck_assert(settings_origin_allowed(&s, "http://localhost:3000"));
	ck_assert(!settings_origin_allowed(&s, "https://a.exampl"));
	ck_assert(!settings_origin_allowed(&s, "https://a.example.evil.com"));
	ck_assert(!settings_origin_allowed(&s, "https://a"));
	ck_assert(!settings_origin_allowed(&s, "http://localhost"));
	ck_assert(!settings_origin_allowed(&s, "http://localhost:30000"));
	ck_assert(!settings_origin_allowed(&s, "HTTPS://A.EXAMPLE"));
	ck_assert(!settings_origin_allowed(&s, "https://a.example, https://b.example"));
	ck_assert(!settings_origin_allowed(&s, ""));
	ck_assert(!settings_origin_allowed(&s, NULL));
	s.cors_allowed_origins = "";
	ck_assert(!settings_origin_allowed(&s, "https://a.example"));
	s.cors_allowed_origins = " , ";
	ck_assert(!settings_origin_allowed(&s, "https://a.example"));
	s.cors_allowed_origins = NULL;
	ck_assert(!settings_origin_allowed(&s, "https://a.example"));
}
END_TEST

/* Issue 12, item 3: the threshold of the remove-background engine "auto". */
START_TEST(test_bg_min_confidence)
{
	static const struct {
		const char *text;
		double value;
	} good[] = {{"0", 0.0},   {"1", 1.0},       {"0.35", 0.35},  {".5", 0.5},
		    {"1.0", 1.0}, {"0.999", 0.999}, {"00.25", 0.25}, {"1.000", 1.0}};
	struct settings s;
	char err[256] = "";
	size_t i;

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_double_eq(s.bg_min_confidence, IMGSEG_MIN_CONFIDENCE);
	settings_cleanup(&s);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		setenv("BG_MIN_CONFIDENCE", good[i].text, 1);
		ck_assert_msg(settings_load(&s, err, sizeof(err)) == 0, "%s: %s", good[i].text,
			      err);
		ck_assert_double_eq_tol(s.bg_min_confidence, good[i].value, 1e-12);
		settings_cleanup(&s);
	}
}
END_TEST

static const char *const bad_fractions[] = {
    "1.01", "2",    "-0.1",  "-0",   "+0.5",
    "abc",  "",     " 0.5",  "0.5 ", "0.5\n",
    "1e-1", "5e-1", "0x0.8", "nan",  "inf",
    "0.5.", "..5",  ".",     "0,5",  "1.0000000000000000000000000000001",
};

START_TEST(test_bg_min_confidence_malformed)
{
	char err[256];

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("BG_MIN_CONFIDENCE", bad_fractions[_i], 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strcmp(err, "BG_MIN_CONFIDENCE must be a decimal number from 0 to 1") == 0,
		      "value \"%s\": err \"%s\"", bad_fractions[_i], err);
}
END_TEST

START_TEST(test_bg_min_confidence_in_file)
{
	struct settings s;
	char err[256] = "";
	char *conf = write_state_file("ia.conf", "BG_MIN_CONFIDENCE=0.8\n");

	setenv("SECRET_KEY", KEY, 1);
	setenv("IA_STATE_DIR", state_dir, 1);
	setenv("IA_CONFIG", conf, 1);
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(s.bg_min_confidence, 0.8, 1e-12);
	settings_cleanup(&s);
	setenv("BG_MIN_CONFIDENCE", "0.1", 1); /* the environment wins */
	ck_assert_int_eq(settings_load(&s, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(s.bg_min_confidence, 0.1, 1e-12);
	settings_cleanup(&s);
	free(conf);
}
END_TEST

static Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_default_state_dir);
	tcase_add_test(tc, test_env_overrides);
	tcase_add_test(tc, test_config_file);
	tcase_add_test(tc, test_config_file_state_dir);
	tcase_add_loop_test(tc, test_malformed_number, 0,
			    (int)(sizeof(bad_numbers) / sizeof(bad_numbers[0])));
	tcase_add_test(tc, test_malformed_number_in_file);
	tcase_add_test(tc, test_secret_key_required);
	tcase_add_test(tc, test_dev_mode_key_file);
	tcase_add_test(tc, test_secret_key_too_short);
	tcase_add_test(tc, test_trusted_proxies);
	tcase_add_test(tc, test_trusted_proxies_malformed);
	tcase_add_test(tc, test_origin_allowed);
	tcase_add_test(tc, test_bg_min_confidence);
	tcase_add_loop_test(tc, test_bg_min_confidence_malformed, 0,
			    (int)(sizeof(bad_fractions) / sizeof(bad_fractions[0])));
	tcase_add_test(tc, test_bg_min_confidence_in_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(settings_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
