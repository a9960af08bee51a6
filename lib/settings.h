/*
 * settings.h - the process-wide settings of API.md ("Settings"), read once
 * from the environment, with an optional KEY=VALUE file named by IA_CONFIG
 * (the environment wins over the file).
 */
#ifndef IA_SETTINGS_H
#define IA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct clientip_nets;

/* Shortest SECRET_KEY a program starts with: 256 bits for HMAC-SHA256. */
#define SETTINGS_SECRET_KEY_MIN 32

struct settings {
	char *secret_key; /* raw bytes of SECRET_KEY (at least SETTINGS_SECRET_KEY_MIN) */
	size_t secret_key_len;
	char *state_dir; /* IA_STATE_DIR, default ./var */
	char *db_path;   /* DB_PATH, default STATE/ia.sqlite3 */
	/* DATABASE_URL (a libpq URI; wins over db_path), else STATE/database.url */
	char *database_url;
	char *media_root; /* MEDIA_ROOT, default STATE/media (with s3: temp files only) */
	/* MEDIA_STORAGE=local|s3 and the S3 settings of API.md (django-storages'
	 * names), else STATE/storage.conf, which the stack writes. */
	char *media_storage;
	char *aws_storage_bucket_name;
	char *aws_s3_endpoint_url; /* scheme://host[:port], path-style addressing */
	char *aws_s3_region_name;  /* default us-east-1 */
	char *aws_access_key_id;
	char *aws_secret_access_key;
	char *public_url;
	int64_t signup_credits;
	int64_t credit_multiplier;
	int64_t access_token_lifetime;
	int64_t refresh_token_lifetime;
	char *cors_allowed_origins; /* comma- or space-separated list */
	bool dev_mode;
	int64_t rate_limit_per_minute;
	int64_t media_url_lifetime;
	char *stability_ai_key;
	char *stability_api_base;
	char *stability_generate_model;  /* core | sd3 | ultra */
	bool local_generator;            /* LOCAL_GENERATOR=1: dev placeholder */
	int64_t stability_timeout;       /* STABILITY_TIMEOUT: seconds per request, default 120 */
	int64_t stability_retry_base_ms; /* STABILITY_RETRY_BASE_MS: first backoff, default 1000 */
	char *stripe_secret_key;
	char *stripe_public_key;
	char *stripe_webhook_secret;
	char *stripe_api_base;
	char *google_client_id;
	char *google_login_redirect_uri;
	char *google_tokeninfo_url;
	char *mail_transport; /* file | smtp */
	char *mail_dir;
	char *smtp_url;
	char *smtp_user;
	char *smtp_password;
	int64_t mail_timeout;    /* MAIL_TIMEOUT: seconds of one SMTP attempt, default 20 */
	int64_t mail_retry_base; /* MAIL_RETRY_BASE: first outbox backoff in seconds, default 30 */
	char *default_from_email;
	char *contact_email;
	char *trusted_proxies;              /* TRUSTED_PROXIES as given */
	struct clientip_nets *trusted_nets; /* ... parsed (clientip.h); never NULL once loaded */
	int64_t max_active_jobs_per_user;   /* MAX_ACTIVE_JOBS_PER_USER, default 20; 0 = no limit */
	int64_t job_retry_base; /* JOB_RETRY_BASE_SECONDS: first retry delay, default 10 */
	/* BG_MIN_CONFIDENCE, 0..1: below it a remove-background result of the
	 * engine "auto" goes to Stability AI; default IMGSEG_MIN_CONFIDENCE. */
	double bg_min_confidence;
	/* METRICS_TOKEN: a bearer token that lets a client other than loopback
	 * read GET /metrics; empty (the default) = loopback only. A secret. */
	char *metrics_token;
	/* IA_SQL_DIR: the migrations (sqlite/ and postgres/ below it), default
	 * the installed data directory (Makefile.am: $(pkgdatadir)/sql). */
	char *sql_dir;
};

/*
 * Load settings into *s (caller-owned; release with settings_cleanup).
 * Fails with IA_ERR_INVAL, writing a reason into err, when a number is
 * malformed (BG_MIN_CONFIDENCE: a plain decimal from 0 to 1), SECRET_KEY
 * is missing while DEV_MODE is 0 or is shorter than SETTINGS_SECRET_KEY_MIN
 * bytes, or TRUSTED_PROXIES holds an entry that is not an address or CIDR
 * block. With DEV_MODE=1 and no SECRET_KEY, the key is read from
 * STATE/secret_key.
 */
int settings_load(struct settings *s, char *err, size_t errlen);
void settings_cleanup(struct settings *s);

/* The settings of this process, loaded by settings_init (aborts on error
 * with a message on stderr). Borrowed for the life of the process. */
void settings_init(void);
const struct settings *settings_get(void);

/* True when origin is one of CORS_ALLOWED_ORIGINS (exact match). */
bool settings_origin_allowed(const struct settings *s, const char *origin);

/* The database every program opens: DATABASE_URL when set, else DB_PATH
 * (borrowed from s). Never log it: a URI may hold a password. */
const char *settings_db_target(const struct settings *s);

#endif
