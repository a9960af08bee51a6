/*
 * iactl.c - the admin shell tool: what the API cannot change (users,
 * credits, flags, the database itself). This file holds the command
 * table, argument parsing, opening the database and the db commands but
 * copy-to (iactl-db.c); the command groups live in iactl-<group>.c.
 * Exit 0 ok, 1 failure, 2 usage.
 *
 * The database is found like every other program does, through
 * settings_load (DB_PATH, else IA_STATE_DIR/ia.sqlite3, IA_CONFIG file
 * honoured). iactl needs no SECRET_KEY: when none is set it loads the
 * settings with a placeholder key in its own environment and then drops
 * the key, so a future command that needs the real key finds
 * secret_key == NULL instead of a fake one.
 */
#include "config.h"

#include "iactl.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "settings.h"
#include "text.h"
#include "users.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How a command wants the database. */
enum iactl_open {
	IACTL_DB_MIGRATED, /* must exist and have the schema */
	IACTL_DB_CREATE,   /* created if missing (db migrate) */
	IACTL_DB_EXISTING, /* must exist, any content (db backup) */
};

struct iactl_cmd {
	const char *group;
	const char *verb;
	iactl_fn fn;
	int npos;      /* positional arguments required */
	unsigned opts; /* IACTL_OPT_* accepted */
	enum iactl_open open;
	const char *args; /* usage after "iactl GROUP VERB" */
	const char *help;
};

static int iactl_db_migrate(struct db *db, const struct iactl_args *a);
static int iactl_db_backup(struct db *db, const struct iactl_args *a);

#define J IACTL_OPT_JSON
static const struct iactl_cmd iactl_cmds[] = {
    {"user", "create", iactl_user_create, 1,
     IACTL_OPT_STAFF | IACTL_OPT_SUPERUSER | IACTL_OPT_PW_STDIN, IACTL_DB_MIGRATED,
     "EMAIL [--staff] [--superuser] [--password-stdin]",
     "create a user (no signup credits); prompts for the password"},
    {"user", "list", iactl_user_list, 0, J, IACTL_DB_MIGRATED, "[--json]", "list users"},
    {"user", "show", iactl_user_show, 1, J, IACTL_DB_MIGRATED, "EMAIL [--json]",
     "show one user with its flags"},
    {"user", "ban", iactl_user_ban, 1, IACTL_OPT_REASON, IACTL_DB_MIGRATED, "EMAIL --reason TEXT",
     "suspend a user"},
    {"user", "unban", iactl_user_unban, 1, 0, IACTL_DB_MIGRATED, "EMAIL", "lift a suspension"},
    {"user", "staff", iactl_user_staff, 1, IACTL_OPT_SUPERUSER, IACTL_DB_MIGRATED,
     "EMAIL [--superuser]", "make a user staff (and superuser)"},
    {"user", "unstaff", iactl_user_unstaff, 1, 0, IACTL_DB_MIGRATED, "EMAIL",
     "remove staff and superuser"},
    {"user", "password", iactl_user_password, 1, IACTL_OPT_PW_STDIN, IACTL_DB_MIGRATED,
     "EMAIL [--password-stdin]", "set a password (signs the user out everywhere)"},
    {"credits", "grant", iactl_credits_grant, 2, 0, IACTL_DB_MIGRATED, "EMAIL N",
     "add N credits (ledger: admin_grant)"},
    {"credits", "revoke", iactl_credits_revoke, 2, 0, IACTL_DB_MIGRATED, "EMAIL N",
     "remove N credits; fails and changes nothing if N exceeds the balance"},
    {"credits", "history", iactl_credits_history, 1, J, IACTL_DB_MIGRATED, "EMAIL [--json]",
     "ledger of a user, newest first"},
    {"flag", "list", iactl_flag_list, 0, J, IACTL_DB_MIGRATED, "[--json]", "list flags"},
    {"flag", "create", iactl_flag_create, 1, 0, IACTL_DB_MIGRATED, "NAME",
     "create a flag ([a-z0-9_-]{1,64}), disabled"},
    {"flag", "enable", iactl_flag_enable, 1, 0, IACTL_DB_MIGRATED, "NAME",
     "turn a flag on for everyone"},
    {"flag", "disable", iactl_flag_disable, 1, 0, IACTL_DB_MIGRATED, "NAME",
     "turn a flag off (assigned users keep it)"},
    {"flag", "assign", iactl_flag_assign, 2, 0, IACTL_DB_MIGRATED, "NAME EMAIL",
     "turn a flag on for one user"},
    {"flag", "unassign", iactl_flag_unassign, 2, 0, IACTL_DB_MIGRATED, "NAME EMAIL",
     "take a flag away from one user"},
    {"service", "list", iactl_service_list, 0, J, IACTL_DB_MIGRATED, "[--json]",
     "list services with cost, state and engine"},
    {"service", "set-cost", iactl_service_set_cost, 2, 0, IACTL_DB_MIGRATED, "SLUG N",
     "charge N credits (0 = free) for the service"},
    {"service", "enable", iactl_service_enable, 1, 0, IACTL_DB_MIGRATED, "SLUG",
     "accept jobs for the service"},
    {"service", "disable", iactl_service_disable, 1, 0, IACTL_DB_MIGRATED, "SLUG",
     "refuse new jobs (503); queued jobs still run"},
    {"service", "set-engine", iactl_service_set_engine, 2, 0, IACTL_DB_MIGRATED,
     "SLUG local|stability|auto",
     "choose the engine that runs the service (auto: remove-background only)"},
    {"job", "list", iactl_job_list, 0, J | IACTL_OPT_STATUS, IACTL_DB_MIGRATED,
     "[--json] [--status pending|processing|done|failed]", "list jobs, newest first"},
    {"job", "retry", iactl_job_retry, 1, 0, IACTL_DB_MIGRATED, "ID",
     "run a failed job again (free: its cost was refunded)"},
    {"mail", "list", iactl_mail_list, 0, J | IACTL_OPT_STATUS, IACTL_DB_MIGRATED,
     "[--json] [--status pending|sending|sent|failed|dropped]",
     "the mail outbox, newest first (never the bodies)"},
    {"mail", "retry", iactl_mail_retry, 1, 0, IACTL_DB_MIGRATED, "ID",
     "queue a failed message again for another 24 hours"},
    {"media", "orphans", iactl_media_orphans, 0, J | IACTL_OPT_CLEAN, IACTL_DB_MIGRATED,
     "[--clean] [--json]",
     "stale temp files, media files no image row names and rows whose files are missing "
     "(--clean removes the files)"},
    {"db", "migrate", iactl_db_migrate, 0, 0, IACTL_DB_CREATE, "",
     "create the database if needed and apply pending migrations"},
    {"db", "backup", iactl_db_backup, 1, 0, IACTL_DB_EXISTING, "FILE",
     "online backup into a new FILE"},
    {"db", "copy-to", iactl_db_copy_to, 1, IACTL_OPT_MEDIA, IACTL_DB_MIGRATED, "URL [--media]",
     "copy this SQLite database into an empty PostgreSQL database (libpq URI), in one "
     "transaction, and check counts and ledger sums; --media first copies every media file "
     "into the S3 bucket of the AWS_* settings, each checked by size and SHA-256"},
};
#undef J
#define IACTL_NCMDS (sizeof(iactl_cmds) / sizeof(iactl_cmds[0]))

static void iactl_usage(FILE *f);
static void iactl_group_usage(FILE *f, const char *group);
static const struct iactl_cmd *iactl_find(const char *group, const char *verb, bool *group_ok);
static int iactl_parse(const struct iactl_cmd *c, int argc, char **argv, struct iactl_args *a);
static int iactl_db_path(char **out);
static int iactl_open_db(const struct iactl_cmd *c, const char *path, struct db **out);
/* True for a database server URI (never printed: it may hold a password). */
static bool iactl_is_url(const char *target)
{
	return strstr(target, "://") != NULL;
}

static int iactl_check_schema(struct db *db);

static void iactl_usage(FILE *f)
{
	size_t i;

	fputs("usage: iactl COMMAND [ARGS]\n\ncommands:\n", f);
	for (i = 0; i < IACTL_NCMDS; i++)
		fprintf(f, "  %s %s%s%s\n      %s\n", iactl_cmds[i].group, iactl_cmds[i].verb,
			iactl_cmds[i].args[0] ? " " : "", iactl_cmds[i].args, iactl_cmds[i].help);
	fputs("  help\n      this text\n\n"
	      "The database is DB_PATH, else IA_STATE_DIR/ia.sqlite3 (default ./var).\n"
	      "db copy-to never prints its URL (it may hold a password); README\n"
	      "\"Moving to PostgreSQL\" gives the steps around it.\n"
	      "Exit status: 0 ok, 1 failure, 2 usage error.\n",
	      f);
}

static void iactl_group_usage(FILE *f, const char *group)
{
	size_t i;

	for (i = 0; i < IACTL_NCMDS; i++)
		if (strcmp(iactl_cmds[i].group, group) == 0)
			fprintf(f, "usage: iactl %s %s%s%s\n", group, iactl_cmds[i].verb,
				iactl_cmds[i].args[0] ? " " : "", iactl_cmds[i].args);
}

static const struct iactl_cmd *iactl_find(const char *group, const char *verb, bool *group_ok)
{
	size_t i;

	*group_ok = false;
	for (i = 0; i < IACTL_NCMDS; i++) {
		if (strcmp(iactl_cmds[i].group, group) != 0)
			continue;
		*group_ok = true;
		if (verb != NULL && strcmp(iactl_cmds[i].verb, verb) == 0)
			return &iactl_cmds[i];
	}
	return NULL;
}

/* Options anywhere after the verb; exactly c->npos positional arguments. */
static int iactl_parse(const struct iactl_cmd *c, int argc, char **argv, struct iactl_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "--json") == 0 && (c->opts & IACTL_OPT_JSON))
			a->json = true;
		else if (strcmp(s, "--staff") == 0 && (c->opts & IACTL_OPT_STAFF))
			a->staff = true;
		else if (strcmp(s, "--superuser") == 0 && (c->opts & IACTL_OPT_SUPERUSER))
			a->superuser = true;
		else if (strcmp(s, "--password-stdin") == 0 && (c->opts & IACTL_OPT_PW_STDIN))
			a->password_stdin = true;
		else if (strcmp(s, "--reason") == 0 && (c->opts & IACTL_OPT_REASON) && i + 1 < argc)
			a->reason = argv[++i];
		else if (strncmp(s, "--reason=", 9) == 0 && (c->opts & IACTL_OPT_REASON))
			a->reason = s + 9;
		else if (strcmp(s, "--clean") == 0 && (c->opts & IACTL_OPT_CLEAN))
			a->clean = true;
		else if (strcmp(s, "--media") == 0 && (c->opts & IACTL_OPT_MEDIA))
			a->media = true;
		else if (strcmp(s, "--status") == 0 && (c->opts & IACTL_OPT_STATUS) && i + 1 < argc)
			a->status = argv[++i];
		else if (strncmp(s, "--status=", 9) == 0 && (c->opts & IACTL_OPT_STATUS))
			a->status = s + 9;
		else if (s[0] == '-' && s[1] != '\0' &&
			 strspn(s + 1, "0123456789") != strlen(s + 1))
			return IACTL_USAGE; /* unknown option (a bare negative number is positional)
					     */
		else if (a->npos < IACTL_MAX_POS)
			a->pos[a->npos++] = s;
		else
			return IACTL_USAGE;
	}
	if (a->npos != c->npos)
		return IACTL_USAGE;
	if ((c->opts & IACTL_OPT_REASON) && (a->reason == NULL || a->reason[0] == '\0'))
		return IACTL_USAGE;
	return IACTL_OK;
}

int iactl_settings(struct settings *s)
{
	char err[256];
	bool placeholder = getenv("SECRET_KEY") == NULL;
	int rc;

	if (placeholder)
		setenv("SECRET_KEY", "iactl-does-not-use-the-secret-key", 1);
	rc = settings_load(s, err, sizeof(err));
	if (placeholder)
		unsetenv("SECRET_KEY");
	if (rc != 0) {
		fprintf(stderr, "iactl: settings: %s\n", err);
		return IACTL_FAIL;
	}
	return IACTL_OK;
}

int iactl_migrate(struct db *db)
{
	struct settings s;
	int rc;

	if (iactl_settings(&s) != IACTL_OK)
		return IA_ERR_INVAL;
	rc = db_migrate(db, s.sql_dir);
	if (rc == IA_ERR_IO)
		fprintf(stderr,
			"iactl: migrations are read from IA_SQL_DIR=%s (the directory of "
			"sqlite/ and postgres/)\n",
			s.sql_dir);
	settings_cleanup(&s);
	return rc;
}

/* The database (a path or URI) from the settings (heap, caller frees); see
 * the file comment. */
static int iactl_db_path(char **out)
{
	struct settings s;
	const char *target;

	if (iactl_settings(&s) != IACTL_OK)
		return IACTL_FAIL;
	target = settings_db_target(&s);
	if (target == NULL || target[0] == '\0') {
		fputs("iactl: DATABASE_URL and DB_PATH are empty\n", stderr);
		settings_cleanup(&s);
		return IACTL_FAIL;
	}
	*out = xstrdup(target);
	settings_cleanup(&s);
	return IACTL_OK;
}

static int iactl_check_schema(struct db *db)
{
	struct db_stmt *st;
	int rc;

	/* A database without the first migration has no such row or table. */
	rc = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE name LIKE '001%'", &st);
	if (rc == 0) {
		rc = db_step(st);
		/* Ends the read: a command that then writes must not upgrade this
		 * snapshot, which fails at once (SQLITE_BUSY_SNAPSHOT) when
		 * ia-batch has committed since. */
		db_reset(st);
	}
	if (rc == DB_ROW)
		return IACTL_OK;
	if (rc == DB_DONE || rc == IA_ERR_DB)
		fputs("iactl: database not initialised: run `iactl db migrate`\n", stderr);
	else
		fprintf(stderr, "iactl: cannot read the database: %s\n", ia_strerror(rc));
	return IACTL_FAIL;
}

static int iactl_open_db(const struct iactl_cmd *c, const char *path, struct db **out)
{
	struct db *db = NULL;
	struct stat st;
	int rc;

	if (c->open != IACTL_DB_CREATE && !iactl_is_url(path) && stat(path, &st) != 0) {
		if (c->open == IACTL_DB_MIGRATED)
			fprintf(stderr,
				"iactl: database not initialised: run `iactl db migrate` "
				"(no file %s)\n",
				path);
		else
			fprintf(stderr, "iactl: no database at %s\n", path);
		return IACTL_FAIL;
	}
	if (db_open(path, &db) != 0) {
		fprintf(stderr, "iactl: cannot open database %s\n",
			iactl_is_url(path) ? "(DATABASE_URL)" : path);
		return IACTL_FAIL;
	}
	rc = c->open == IACTL_DB_MIGRATED ? iactl_check_schema(db) : IACTL_OK;
	if (rc != IACTL_OK) {
		db_close(db);
		return rc;
	}
	*out = db;
	return IACTL_OK;
}

static int iactl_db_migrate(struct db *db, const struct iactl_args *a)
{
	int rc = iactl_migrate(db);

	if (rc != 0)
		return iactl_fail("migration failed", rc);
	printf("database %s is up to date\n",
	       iactl_is_url(a->db_path) ? "(DATABASE_URL)" : a->db_path);
	return IACTL_OK;
}

static int iactl_db_backup(struct db *db, const struct iactl_args *a)
{
	struct stat st;
	int rc;

	if (stat(a->pos[0], &st) == 0) {
		fprintf(stderr, "iactl: %s exists; backups go into a new file\n", a->pos[0]);
		return IACTL_FAIL;
	}
	rc = db_backup(db, a->pos[0]);
	if (rc != 0)
		return iactl_fail("backup failed", rc);
	printf("backed up %s to %s\n", a->db_path, a->pos[0]);
	return IACTL_OK;
}

int iactl_user(struct db *db, const char *email, struct user *u)
{
	int rc = users_get_by_email(db, email, u);

	if (rc == IA_ERR_NOTFOUND) {
		fprintf(stderr, "iactl: no user with email %s\n", email);
		return IACTL_FAIL;
	}
	return rc == 0 ? IACTL_OK : iactl_fail("reading the user failed", rc);
}

int iactl_fail(const char *what, int rc)
{
	fprintf(stderr, "iactl: %s: %s\n", what, ia_strerror(rc));
	return IACTL_FAIL;
}

int iactl_json_print(cJSON *json)
{
	char *text = cJSON_Print(json), *safe;

	if (text == NULL) {
		cJSON_Delete(json);
		fputs("iactl: out of memory\n", stderr);
		return IACTL_FAIL;
	}
	/* cJSON leaves DEL, C1 and invalid bytes of stored text raw. */
	safe = text_escape_json(text);
	puts(safe);
	free(safe);
	cJSON_free(text);
	cJSON_Delete(json);
	return IACTL_OK;
}

cJSON *iactl_json_int(int64_t v)
{
	return cJSON_CreateNumber((double)v);
}

int main(int argc, char **argv)
{
	const struct iactl_cmd *c;
	struct iactl_args a;
	struct db *db = NULL;
	char *path = NULL;
	bool group_ok;
	int rc;

	log_init("iactl");
	if (argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		iactl_usage(stdout);
		return IACTL_OK;
	}
	c = argc >= 2 ? iactl_find(argv[1], argc >= 3 ? argv[2] : NULL, &group_ok) : NULL;
	if (c == NULL) {
		if (argc >= 2 && group_ok)
			iactl_group_usage(stderr, argv[1]);
		else
			iactl_usage(stderr);
		return IACTL_USAGE;
	}
	if (iactl_parse(c, argc - 3, argv + 3, &a) != IACTL_OK) {
		fprintf(stderr, "usage: iactl %s %s%s%s\n", c->group, c->verb,
			c->args[0] ? " " : "", c->args);
		return IACTL_USAGE;
	}
	rc = iactl_db_path(&path);
	if (rc == IACTL_OK)
		rc = iactl_open_db(c, path, &db);
	if (rc == IACTL_OK) {
		a.db_path = path;
		rc = c->fn(db, &a);
	}
	db_close(db);
	free(path);
	return rc;
}
