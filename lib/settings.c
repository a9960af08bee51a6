/*
 * settings.c - reads API.md's settings from a KEY=VALUE file (IA_CONFIG)
 * and the environment, applies defaults and validates numbers.
 */
#include "config.h"

#include "settings.h"
#include "clientip.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* SET_FRACTION: a double from 0 to 1 written as a plain decimal. */
enum setting_kind { SET_STR, SET_INT, SET_BOOL, SET_FRACTION };

struct setting_def {
	const char *name;
	enum setting_kind kind;
	size_t offset;
	const char *def; /* default, NULL for none; "@state/x" is relative to the state dir */
};

#define S(name, kind, field, def)                                                                  \
	{                                                                                          \
		name, kind, offsetof(struct settings, field), def                                  \
	}
static const struct setting_def setting_defs[] = {
    S("DB_PATH", SET_STR, db_path, "@state/ia.sqlite3"),
    S("DATABASE_URL", SET_STR, database_url, ""),
    S("MEDIA_ROOT", SET_STR, media_root, "@state/media"),
    S("MEDIA_STORAGE", SET_STR, media_storage, "local"),
    S("AWS_STORAGE_BUCKET_NAME", SET_STR, aws_storage_bucket_name, ""),
    S("AWS_S3_ENDPOINT_URL", SET_STR, aws_s3_endpoint_url, ""),
    S("AWS_S3_REGION_NAME", SET_STR, aws_s3_region_name, "us-east-1"),
    S("AWS_ACCESS_KEY_ID", SET_STR, aws_access_key_id, ""),
    S("AWS_SECRET_ACCESS_KEY", SET_STR, aws_secret_access_key, ""),
    S("PUBLIC_URL", SET_STR, public_url, "http://127.0.0.1:8080"),
    S("SIGNUP_CREDITS", SET_INT, signup_credits, "100"),
    S("CREDIT_MULTIPLIER", SET_INT, credit_multiplier, "50"),
    S("ACCESS_TOKEN_LIFETIME", SET_INT, access_token_lifetime, "86400"),
    S("REFRESH_TOKEN_LIFETIME", SET_INT, refresh_token_lifetime, "86400"),
    S("CORS_ALLOWED_ORIGINS", SET_STR, cors_allowed_origins, ""),
    S("DEV_MODE", SET_BOOL, dev_mode, "0"),
    S("RATE_LIMIT_PER_MINUTE", SET_INT, rate_limit_per_minute, "20"),
    S("MEDIA_URL_LIFETIME", SET_INT, media_url_lifetime, "3600"),
    S("STABILITY_AI_KEY", SET_STR, stability_ai_key, ""),
    S("STABILITY_API_BASE", SET_STR, stability_api_base, "https://api.stability.ai"),
    S("STABILITY_GENERATE_MODEL", SET_STR, stability_generate_model, "core"),
    S("LOCAL_GENERATOR", SET_BOOL, local_generator, "0"),
    S("STABILITY_TIMEOUT", SET_INT, stability_timeout, "120"),
    S("STABILITY_RETRY_BASE_MS", SET_INT, stability_retry_base_ms, "1000"),
    S("STRIPE_SECRET_KEY", SET_STR, stripe_secret_key, ""),
    S("STRIPE_PUBLIC_KEY", SET_STR, stripe_public_key, ""),
    S("STRIPE_WEBHOOK_SECRET", SET_STR, stripe_webhook_secret, ""),
    S("STRIPE_API_BASE", SET_STR, stripe_api_base, "https://api.stripe.com"),
    S("GOOGLE_CLIENT_ID", SET_STR, google_client_id, ""),
    S("GOOGLE_LOGIN_REDIRECT_URI", SET_STR, google_login_redirect_uri, ""),
    S("GOOGLE_TOKENINFO_URL", SET_STR, google_tokeninfo_url,
      "https://oauth2.googleapis.com/tokeninfo"),
    S("MAIL_TRANSPORT", SET_STR, mail_transport, "file"),
    S("MAIL_DIR", SET_STR, mail_dir, "@state/mail"),
    S("SMTP_URL", SET_STR, smtp_url, ""),
    S("SMTP_USER", SET_STR, smtp_user, ""),
    S("SMTP_PASSWORD", SET_STR, smtp_password, ""),
    S("MAIL_TIMEOUT", SET_INT, mail_timeout, "20"),
    S("MAIL_RETRY_BASE", SET_INT, mail_retry_base, "30"),
    S("DEFAULT_FROM_EMAIL", SET_STR, default_from_email,
      "Image Assistant <noreply@image-assistant.local>"),
    S("CONTACT_EMAIL", SET_STR, contact_email, "support@image-assistant.local"),
    S("TRUSTED_PROXIES", SET_STR, trusted_proxies, ""),
    S("MAX_ACTIVE_JOBS_PER_USER", SET_INT, max_active_jobs_per_user, "20"),
    S("JOB_RETRY_BASE_SECONDS", SET_INT, job_retry_base, "10"),
    /* IMGSEG_MIN_CONFIDENCE (imgseg.h, which only the image layer includes;
     * test_settings checks they agree) */
    S("BG_MIN_CONFIDENCE", SET_FRACTION, bg_min_confidence, "0.5"),
    S("METRICS_TOKEN", SET_STR, metrics_token, ""),
    S("IA_SQL_DIR", SET_STR, sql_dir, IA_SQL_DIR_DEFAULT),
};
#undef S

static struct settings settings_global;
static bool settings_loaded;

static char *settings_file_value(const char *file, const char *name);
static char *settings_lookup(const char *file, const char *name);
static int settings_apply(struct settings *s, const struct setting_def *d, const char *file,
			  char *err, size_t errlen);
static int settings_load_key(struct settings *s, const char *file, char *err, size_t errlen);
static void settings_load_database_url(struct settings *s);
static int settings_check_storage(struct settings *s, char *err, size_t errlen);

/* The value of NAME in a KEY=VALUE file (heap), or NULL. '#' starts a comment line. */
static char *settings_file_value(const char *file, const char *name)
{
	FILE *f;
	char line[4096];
	size_t nlen = strlen(name);
	char *val = NULL;

	if (file == NULL || *file == '\0')
		return NULL;
	f = fopen(file, "r");
	if (f == NULL)
		return NULL;
	while (val == NULL && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '#' && strncmp(line, name, nlen) == 0 && line[nlen] == '=')
			val = xstrdup(line + nlen + 1);
	}
	fclose(f);
	return val;
}

/* Environment first, then the file; heap copy or NULL. */
static char *settings_lookup(const char *file, const char *name)
{
	const char *env = getenv(name);

	if (env != NULL)
		return xstrdup(env);
	return settings_file_value(file, name);
}

/*
 * The media storage settings, when neither the environment nor IA_CONFIG
 * names them, come from STATE/storage.conf (KEY=VALUE, written by the stack
 * when it starts a private S3 gateway), so iactl and hand-run programs use
 * the same bucket as the stack's programs.
 */
static char *settings_storage_value(const struct settings *s, const char *name)
{
	char *path, *v;

	if (strcmp(name, "MEDIA_STORAGE") != 0 && strncmp(name, "AWS_", 4) != 0)
		return NULL;
	path = xasprintf("%s/storage.conf", s->state_dir);
	v = settings_file_value(path, name);
	free(path);
	return v;
}

/*
 * A fraction from 0 to 1 as a plain decimal ("0", "1", "0.35", ".5", "1.0"):
 * no sign, exponent, hex, inf/nan or whitespace, which strtod would take.
 */
static int settings_parse_fraction(const char *raw, double *out)
{
	size_t len = strlen(raw), digits = strspn(raw, "0123456789");
	char *end = NULL;
	double v;

	if (len == 0 || len > 32)
		return IA_ERR_INVAL;
	if (digits < len &&
	    (raw[digits] != '.' || strspn(raw + digits + 1, "0123456789") != len - digits - 1))
		return IA_ERR_INVAL;
	if (strcmp(raw, ".") == 0)
		return IA_ERR_INVAL;
	errno = 0;
	v = strtod(raw, &end);
	if (errno != 0 || end == raw || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return IA_ERR_INVAL;
	*out = v;
	return 0;
}

static int settings_apply(struct settings *s, const struct setting_def *d, const char *file,
			  char *err, size_t errlen)
{
	char *raw = settings_lookup(file, d->name);
	char *field_str;
	int64_t v;
	int rc = 0;

	if (raw == NULL)
		raw = settings_storage_value(s, d->name);
	if (raw == NULL && d->def != NULL && strncmp(d->def, "@state/", 7) == 0)
		raw = xasprintf("%s/%s", s->state_dir, d->def + 7);
	else if (raw == NULL)
		raw = xstrdup(d->def);
	switch (d->kind) {
	case SET_STR:
		field_str = raw;
		raw = NULL;
		memcpy((char *)s + d->offset, &field_str, sizeof(field_str));
		break;
	case SET_INT:
		if (ia_parse_int64(raw, 0, INT64_C(1) << 40, &v) != 0) {
			snprintf(err, errlen, "%s must be a non-negative integer", d->name);
			rc = IA_ERR_INVAL;
			break;
		}
		memcpy((char *)s + d->offset, &v, sizeof(v));
		break;
	case SET_BOOL:
		*(bool *)((char *)s + d->offset) =
		    strcmp(raw, "1") == 0 || strcmp(raw, "true") == 0 || strcmp(raw, "yes") == 0;
		break;
	case SET_FRACTION: {
		double f;

		if (settings_parse_fraction(raw, &f) != 0) {
			snprintf(err, errlen, "%s must be a decimal number from 0 to 1", d->name);
			rc = IA_ERR_INVAL;
			break;
		}
		memcpy((char *)s + d->offset, &f, sizeof(f));
		break;
	}
	}
	free(raw);
	return rc;
}

/*
 * Without DATABASE_URL, the URI the stack recorded when it started a
 * private PostgreSQL cluster (STATE/database.url, one line), so iactl and
 * hand-run programs find the same database as the stack's programs.
 */
static void settings_load_database_url(struct settings *s)
{
	char *path, line[2048];
	FILE *f;

	if (s->database_url != NULL && s->database_url[0] != '\0')
		return;
	path = xasprintf("%s/database.url", s->state_dir);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0') {
			free(s->database_url);
			s->database_url = xstrdup(line);
		}
	}
	fclose(f);
}

const char *settings_db_target(const struct settings *s)
{
	if (s->database_url != NULL && s->database_url[0] != '\0')
		return s->database_url;
	return s->db_path;
}

/*
 * MEDIA_STORAGE is local or s3; s3 needs a bucket name S3 accepts (3 to 63
 * characters) and both keys, and without AWS_S3_ENDPOINT_URL talks to AWS
 * itself in AWS_S3_REGION_NAME.
 */
static int settings_check_storage(struct settings *s, char *err, size_t errlen)
{
	size_t blen = strlen(s->aws_storage_bucket_name);

	if (strcmp(s->media_storage, "local") != 0 && strcmp(s->media_storage, "s3") != 0) {
		snprintf(err, errlen, "MEDIA_STORAGE must be local or s3");
		return IA_ERR_INVAL;
	}
	if (strcmp(s->media_storage, "local") == 0)
		return 0;
	if (blen < 3 || blen > 63 ||
	    strspn(s->aws_storage_bucket_name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != blen) {
		snprintf(err, errlen,
			 "MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (3 to 63 lower-case "
			 "letters, digits, '.' or '-')");
		return IA_ERR_INVAL;
	}
	if (s->aws_access_key_id[0] == '\0' || s->aws_secret_access_key[0] == '\0') {
		snprintf(err, errlen,
			 "MEDIA_STORAGE=s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
		return IA_ERR_INVAL;
	}
	if (s->aws_s3_endpoint_url[0] == '\0') {
		free(s->aws_s3_endpoint_url);
		s->aws_s3_endpoint_url =
		    xasprintf("https://s3.%s.amazonaws.com", s->aws_s3_region_name);
	}
	return 0;
}

/* SECRET_KEY from the environment/file, else (dev only) STATE/secret_key. */
static int settings_load_key(struct settings *s, const char *file, char *err, size_t errlen)
{
	char *key = settings_lookup(file, "SECRET_KEY");

	if ((key == NULL || *key == '\0') && s->dev_mode) {
		char *path = xasprintf("%s/secret_key", s->state_dir);

		free(key);
		key = settings_file_value(path, "SECRET_KEY");
		free(path);
	}
	if (key == NULL || *key == '\0') {
		free(key);
		snprintf(err, errlen,
			 "SECRET_KEY is not set (set it, or DEV_MODE=1 for the dev stack)");
		return IA_ERR_INVAL;
	}
	/* Tokens, media URLs and reset links are all HMACs under this key: a
	 * short one can be guessed offline from any token a user holds. */
	if (strlen(key) < SETTINGS_SECRET_KEY_MIN) {
		snprintf(err, errlen,
			 "SECRET_KEY is too short (%zu bytes): use at least %d random bytes, "
			 "e.g. head -c 48 /dev/urandom | base64",
			 strlen(key), SETTINGS_SECRET_KEY_MIN);
		sodium_memzero(key, strlen(key));
		free(key);
		return IA_ERR_INVAL;
	}
	s->secret_key = key;
	s->secret_key_len = strlen(key);
	return 0;
}

int settings_load(struct settings *s, char *err, size_t errlen)
{
	const char *file = getenv("IA_CONFIG");
	struct settings tmp;
	size_t i;
	int rc = 0;

	memset(&tmp, 0, sizeof(tmp));
	tmp.state_dir = settings_lookup(file, "IA_STATE_DIR");
	if (tmp.state_dir == NULL || *tmp.state_dir == '\0') {
		free(tmp.state_dir);
		tmp.state_dir = xstrdup("./var");
	}
	for (i = 0; i < sizeof(setting_defs) / sizeof(setting_defs[0]) && rc == 0; i++)
		rc = settings_apply(&tmp, &setting_defs[i], file, err, errlen);
	if (rc == 0)
		settings_load_database_url(&tmp);
	if (rc == 0)
		rc = settings_check_storage(&tmp, err, errlen);
	if (rc == 0)
		rc = clientip_nets_parse(tmp.trusted_proxies, &tmp.trusted_nets, err, errlen);
	if (rc == 0)
		rc = settings_load_key(&tmp, file, err, errlen);
	if (rc != 0) {
		settings_cleanup(&tmp);
		return rc;
	}
	*s = tmp;
	return 0;
}

void settings_cleanup(struct settings *s)
{
	size_t i;

	for (i = 0; i < sizeof(setting_defs) / sizeof(setting_defs[0]); i++) {
		char *p;

		if (setting_defs[i].kind != SET_STR)
			continue;
		memcpy(&p, (char *)s + setting_defs[i].offset, sizeof(p));
		if (p != NULL && (strstr(setting_defs[i].name, "SECRET") != NULL ||
				  strstr(setting_defs[i].name, "TOKEN") != NULL))
			sodium_memzero(p, strlen(p)); /* STRIPE_*, AWS_SECRET_*, METRICS_TOKEN */
		free(p);
	}
	if (s->secret_key != NULL) {
		sodium_memzero(s->secret_key, s->secret_key_len);
		free(s->secret_key);
	}
	free(s->state_dir);
	clientip_nets_free(s->trusted_nets);
	memset(s, 0, sizeof(*s));
}

void settings_init(void)
{
	char err[256];

	if (settings_loaded)
		return;
	if (settings_load(&settings_global, err, sizeof(err)) != 0) {
		fprintf(stderr, "fatal: %s\n", err);
		exit(1);
	}
	settings_loaded = true;
}

const struct settings *settings_get(void)
{
	if (!settings_loaded)
		settings_init();
	return &settings_global;
}

bool settings_origin_allowed(const struct settings *s, const char *origin)
{
	const char *p = s->cors_allowed_origins;
	size_t olen;

	if (origin == NULL || *origin == '\0' || p == NULL)
		return false;
	olen = strlen(origin);
	while (*p != '\0') {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == olen && len > 0 && strncmp(p, origin, len) == 0)
			return true;
		p += len;
	}
	return false;
}
