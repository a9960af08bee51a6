/*
 * iactl-users.c - `iactl user ...`: create, list, show, ban/unban,
 * staff/unstaff and password. Passwords come from a no-echo terminal
 * prompt (asked twice) or, with --password-stdin, from one line of stdin;
 * buffers holding them are wiped.
 */
#include "config.h"

#include "iactl.h"
#include "db.h"
#include "err.h"
#include "flags.h"
#include "text.h"
#include "users.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#define IACTL_PW_MIN 8
#define IACTL_PW_MAX 128
#define IACTL_PW_BUF 1024

static int iactl_read_line(const char *prompt, bool no_echo, char buf[IACTL_PW_BUF]);
static int iactl_password(const struct iactl_args *a, char buf[IACTL_PW_BUF]);
static bool iactl_email_ok(const char *email);
static int iactl_flag_json(void *ud, const char *name);
static int iactl_flag_text(void *ud, const char *name);
static cJSON *iactl_user_json(struct db *db, const struct user *u);
static int iactl_list_json(void *ud, const struct user *u);
static int iactl_list_text(void *ud, const struct user *u);

/*
 * One line from stdin without its line end into buf; with no_echo the
 * terminal echo is off while reading. IACTL_FAIL on EOF or an over-long line.
 */
static int iactl_read_line(const char *prompt, bool no_echo, char buf[IACTL_PW_BUF])
{
	struct termios old, quiet;
	bool restore = false;
	int rc = IACTL_FAIL;
	size_t len;

	/* Echo goes off before the prompt shows, so nothing typed after it is flushed. */
	if (no_echo && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	if (prompt != NULL)
		fputs(prompt, stderr);
	if (fgets(buf, IACTL_PW_BUF, stdin) == NULL)
		goto out;
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == IACTL_PW_BUF - 1)
		goto out; /* no line end within the buffer: far too long */
	buf[len] = '\0';
	rc = IACTL_OK;
out:
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

/* Code points of a UTF-8 string. */
static size_t iactl_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* The new password into buf, checked for length (8..128 characters). */
static int iactl_password(const struct iactl_args *a, char buf[IACTL_PW_BUF])
{
	char again[IACTL_PW_BUF];
	size_t n;
	int rc;

	if (a->password_stdin) {
		rc = iactl_read_line(NULL, false, buf);
	} else if (!isatty(STDIN_FILENO)) {
		fputs("iactl: stdin is not a terminal: pass the password with --password-stdin\n",
		      stderr);
		return IACTL_FAIL;
	} else {
		rc = iactl_read_line("Password: ", true, buf);
		if (rc == IACTL_OK)
			rc = iactl_read_line("Password (again): ", true, again);
		if (rc == IACTL_OK &&
		    (strlen(buf) != strlen(again) || sodium_memcmp(buf, again, strlen(buf)) != 0)) {
			fputs("iactl: the passwords do not match\n", stderr);
			sodium_memzero(again, sizeof(again));
			rc = IACTL_FAIL;
			goto out;
		}
		sodium_memzero(again, sizeof(again));
	}
	if (rc != IACTL_OK) {
		fputs("iactl: no password read\n", stderr);
		goto out;
	}
	n = iactl_utf8_len(buf);
	if (n < IACTL_PW_MIN || n > IACTL_PW_MAX) {
		fprintf(stderr, "iactl: the password must be %d to %d characters\n", IACTL_PW_MIN,
			IACTL_PW_MAX);
		rc = IACTL_FAIL;
	}
out:
	if (rc != IACTL_OK)
		sodium_memzero(buf, IACTL_PW_BUF);
	return rc;
}

/* Loose shape check (local@domain, UTF-8 text without spaces or controls); the
 * API does the full one. */
static bool iactl_email_ok(const char *email)
{
	const char *at = strchr(email, '@');
	const char *p;

	if (at == NULL || at == email || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strlen(email) > USER_EMAIL_MAX || text_check(email, false, NULL) != 0)
		return false;
	for (p = email; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

int iactl_user_create(struct db *db, const struct iactl_args *a)
{
	char pw[IACTL_PW_BUF];
	struct user_new nu = {
	    .email = a->pos[0], .is_staff = a->staff || a->superuser, .is_superuser = a->superuser};
	struct user u;
	int64_t id = 0;
	int rc;

	if (!iactl_email_ok(a->pos[0])) {
		char *shown = text_escape(a->pos[0]);

		fprintf(stderr, "iactl: not an email address: %s\n", shown);
		free(shown);
		return IACTL_FAIL;
	}
	rc = iactl_password(a, pw);
	if (rc != IACTL_OK)
		return rc;
	nu.password = pw;
	rc = users_create(db, &nu, &id);
	sodium_memzero(pw, sizeof(pw));
	if (rc == IA_ERR_EXISTS) {
		fprintf(stderr, "iactl: a user with email %s already exists\n", a->pos[0]);
		return IACTL_FAIL;
	}
	if (rc != 0)
		return iactl_fail("creating the user failed", rc);
	if (users_get(db, id, &u) != 0)
		return iactl_fail("reading the new user failed", IA_ERR_DB);
	printf("created user %lld %s%s\n", (long long)id, u.email,
	       a->superuser ? " (superuser)"
	       : a->staff   ? " (staff)"
			    : "");
	return IACTL_OK;
}

static int iactl_flag_json(void *ud, const char *name)
{
	cJSON_AddItemToArray(ud, cJSON_CreateString(name));
	return 0;
}

static int iactl_flag_text(void *ud, const char *name)
{
	int *n = ud;

	printf("%s%s", (*n)++ > 0 ? ", " : "", name);
	return 0;
}

/* The API's <user> fields plus the admin-only ones. */
static cJSON *iactl_user_json(struct db *db, const struct user *u)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *flags = cJSON_CreateArray();
	char created[21];

	ia_iso8601(u->created, created);
	cJSON_AddItemToObject(o, "id", iactl_json_int(u->id));
	cJSON_AddStringToObject(o, "email", u->email);
	cJSON_AddStringToObject(o, "first_name", u->first_name);
	cJSON_AddStringToObject(o, "last_name", u->last_name);
	cJSON_AddItemToObject(o, "credits", iactl_json_int(u->credits));
	if (db != NULL) {
		(void)flags_for_user(db, u->id, iactl_flag_json, flags);
		cJSON_AddItemToObject(o, "feature_flags", flags);
	} else {
		cJSON_Delete(flags);
	}
	cJSON_AddBoolToObject(o, "is_staff", u->is_staff);
	cJSON_AddBoolToObject(o, "is_superuser", u->is_superuser);
	cJSON_AddBoolToObject(o, "banned", u->banned);
	cJSON_AddBoolToObject(o, "has_usable_password", u->has_usable_password);
	cJSON_AddBoolToObject(o, "email_verified", u->email_verified);
	cJSON_AddItemToObject(o, "token_version", iactl_json_int(u->token_version));
	cJSON_AddStringToObject(o, "created", created);
	return o;
}

static int iactl_list_json(void *ud, const struct user *u)
{
	cJSON_AddItemToArray(ud, iactl_user_json(NULL, u));
	return 0;
}

/* Stored text is printed escaped (text_escape): rows written before the
 * text rules, or by hand, may hold terminal escape sequences. */
static int iactl_list_text(void *ud, const struct user *u)
{
	char *email = text_escape(u->email);

	(void)ud;
	printf("%-6lld %-40s %8lld  %-5s %-5s %s\n", (long long)u->id, email, (long long)u->credits,
	       u->is_staff ? "yes" : "no", u->is_superuser ? "yes" : "no",
	       u->banned ? "yes" : "no");
	free(email);
	return 0;
}

int iactl_user_list(struct db *db, const struct iactl_args *a)
{
	cJSON *arr = NULL;
	int rc;

	if (a->json) {
		arr = cJSON_CreateArray();
		rc = users_each(db, iactl_list_json, arr);
		if (rc != 0) {
			cJSON_Delete(arr);
			return iactl_fail("listing users failed", rc);
		}
		return iactl_json_print(arr);
	}
	printf("%-6s %-40s %8s  %-5s %-5s %s\n", "ID", "EMAIL", "CREDITS", "STAFF", "SUPER",
	       "BANNED");
	rc = users_each(db, iactl_list_text, NULL);
	return rc == 0 ? IACTL_OK : iactl_fail("listing users failed", rc);
}

int iactl_user_show(struct db *db, const struct iactl_args *a)
{
	struct user u;
	char created[21];
	char *email, *first, *last;
	int n = 0;
	int rc;

	rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	if (a->json)
		return iactl_json_print(iactl_user_json(db, &u));
	ia_iso8601(u.created, created);
	email = text_escape(u.email);
	first = text_escape(u.first_name);
	last = text_escape(u.last_name);
	printf("id:            %lld\nemail:         %s\nname:          %s%s%s\n"
	       "credits:       %lld\nstaff:         %s\nsuperuser:     %s\nbanned:        %s\n"
	       "password:      %s\ntoken version: %lld\ncreated:       %s\nflags:         ",
	       (long long)u.id, email, first, first[0] ? " " : "", last, (long long)u.credits,
	       u.is_staff ? "yes" : "no", u.is_superuser ? "yes" : "no", u.banned ? "yes" : "no",
	       u.has_usable_password ? "set" : "unusable", (long long)u.token_version, created);
	free(email);
	free(first);
	free(last);
	rc = flags_for_user(db, u.id, iactl_flag_text, &n);
	putchar('\n');
	return rc == 0 ? IACTL_OK : iactl_fail("reading flags failed", rc);
}

int iactl_user_ban(struct db *db, const struct iactl_args *a)
{
	struct user u;
	int rc;

	rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	rc = users_set_ban(db, u.id, true, a->reason);
	if (rc != 0)
		return iactl_fail("ban failed", rc);
	printf("banned %s: %s\n", u.email, a->reason);
	return IACTL_OK;
}

int iactl_user_unban(struct db *db, const struct iactl_args *a)
{
	struct user u;
	int rc;

	rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	rc = users_set_ban(db, u.id, false, NULL);
	if (rc != 0)
		return iactl_fail("unban failed", rc);
	printf("unbanned %s\n", u.email);
	return IACTL_OK;
}

int iactl_user_staff(struct db *db, const struct iactl_args *a)
{
	struct user u;
	int rc;

	rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	rc = users_set_staff(db, u.id, true, a->superuser);
	if (rc != 0)
		return iactl_fail("setting staff failed", rc);
	printf("%s is now %s\n", u.email, a->superuser ? "staff and superuser" : "staff");
	return IACTL_OK;
}

int iactl_user_unstaff(struct db *db, const struct iactl_args *a)
{
	struct user u;
	int rc;

	rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	rc = users_set_staff(db, u.id, false, false);
	if (rc != 0)
		return iactl_fail("clearing staff failed", rc);
	printf("%s is no longer staff\n", u.email);
	return IACTL_OK;
}

int iactl_user_password(struct db *db, const struct iactl_args *a)
{
	char pw[IACTL_PW_BUF];
	struct user u;
	int rc;

	rc = iactl_user(db, a->pos[0], &u);
	if (rc != IACTL_OK)
		return rc;
	rc = iactl_password(a, pw);
	if (rc != IACTL_OK)
		return rc;
	rc = users_set_password(db, u.id, pw);
	sodium_memzero(pw, sizeof(pw));
	if (rc != 0)
		return iactl_fail("setting the password failed", rc);
	printf("password of %s changed; older sessions are revoked\n", u.email);
	return IACTL_OK;
}
