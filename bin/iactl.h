/*
 * iactl.h - internals shared by the iactl admin tool's command files
 * (iactl.c dispatches; iactl-users.c, iactl-credits.c, iactl-flags.c
 * implement the groups). Not part of libia.
 */
#ifndef IA_IACTL_H
#define IA_IACTL_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct user;
struct cJSON;

/* Exit statuses (DESIGN.md: 0 ok, 1 failure, 2 usage). */
#define IACTL_OK    0
#define IACTL_FAIL  1
#define IACTL_USAGE 2

/* Options a command accepts (struct iactl_cmd.opts). */
#define IACTL_OPT_JSON      0x01  /* --json */
#define IACTL_OPT_STAFF     0x02  /* --staff */
#define IACTL_OPT_SUPERUSER 0x04  /* --superuser */
#define IACTL_OPT_PW_STDIN  0x08  /* --password-stdin */
#define IACTL_OPT_REASON    0x10  /* --reason TEXT */
#define IACTL_OPT_STATUS    0x20  /* --status S (job list) */
#define IACTL_OPT_CLEAN     0x40  /* --clean (media orphans) */
#define IACTL_OPT_MEDIA     0x100 /* --media (db copy-to) */

#define IACTL_MAX_POS 3

/* The parsed command line after "iactl GROUP VERB". Strings borrow argv. */
struct iactl_args {
	const char *pos[IACTL_MAX_POS];
	int npos;
	bool json, staff, superuser, password_stdin, clean, media;
	const char *reason;
	const char *status;  /* --status, NULL when absent */
	const char *db_path; /* the database in use */
};

/* Each command returns an IACTL_* exit status and reports on stderr. */
typedef int (*iactl_fn)(struct db *db, const struct iactl_args *a);

/* Shared helpers (iactl.c). */
/* Load the user or print "no user with email ..." and return IACTL_FAIL. */
int iactl_user(struct db *db, const char *email, struct user *u);
/*
 * Load the settings into *s (caller calls settings_cleanup) without
 * needing SECRET_KEY (see iactl.c); IACTL_FAIL with a message on error.
 */
struct settings;
int iactl_settings(struct settings *s);
/*
 * Apply the pending migrations of the setting IA_SQL_DIR (by default the
 * installed data directory) to db; 0 or a negative IA_ERR_* (IA_ERR_IO
 * when the directory cannot be read: the message names it).
 */
int iactl_migrate(struct db *db);
/* Print "iactl: what: <error name>" on stderr; returns IACTL_FAIL. */
int iactl_fail(const char *what, int rc);
/* Print json (pretty) on stdout and free it; IACTL_OK. */
int iactl_json_print(struct cJSON *json);
/* cJSON number from an int64 (exact up to 2^53). */
struct cJSON *iactl_json_int(int64_t v);

/* Commands (iactl-users.c). */
int iactl_user_create(struct db *db, const struct iactl_args *a);
int iactl_user_list(struct db *db, const struct iactl_args *a);
int iactl_user_show(struct db *db, const struct iactl_args *a);
int iactl_user_ban(struct db *db, const struct iactl_args *a);
int iactl_user_unban(struct db *db, const struct iactl_args *a);
int iactl_user_staff(struct db *db, const struct iactl_args *a);
int iactl_user_unstaff(struct db *db, const struct iactl_args *a);
int iactl_user_password(struct db *db, const struct iactl_args *a);

/* Commands (iactl-credits.c). */
int iactl_credits_grant(struct db *db, const struct iactl_args *a);
int iactl_credits_revoke(struct db *db, const struct iactl_args *a);
int iactl_credits_history(struct db *db, const struct iactl_args *a);

/* Commands (iactl-flags.c). */
int iactl_flag_list(struct db *db, const struct iactl_args *a);
int iactl_flag_create(struct db *db, const struct iactl_args *a);
int iactl_flag_enable(struct db *db, const struct iactl_args *a);
int iactl_flag_disable(struct db *db, const struct iactl_args *a);
int iactl_flag_assign(struct db *db, const struct iactl_args *a);
int iactl_flag_unassign(struct db *db, const struct iactl_args *a);

/* Commands (iactl-services.c). */
int iactl_service_list(struct db *db, const struct iactl_args *a);
int iactl_service_set_cost(struct db *db, const struct iactl_args *a);
int iactl_service_enable(struct db *db, const struct iactl_args *a);
int iactl_service_disable(struct db *db, const struct iactl_args *a);
int iactl_service_set_engine(struct db *db, const struct iactl_args *a);
int iactl_job_list(struct db *db, const struct iactl_args *a);
int iactl_job_retry(struct db *db, const struct iactl_args *a);

/* Commands (iactl-mail.c). */
int iactl_mail_list(struct db *db, const struct iactl_args *a);
int iactl_mail_retry(struct db *db, const struct iactl_args *a);

/* Commands (iactl-media.c). */
int iactl_media_orphans(struct db *db, const struct iactl_args *a);

/* Commands (iactl-db.c; db migrate and db backup live in iactl.c). */
int iactl_db_copy_to(struct db *db, const struct iactl_args *a);

#endif
