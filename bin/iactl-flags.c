/*
 * iactl-flags.c - `iactl flag ...`: list, create, enable/disable for
 * everyone, assign/unassign per user.
 */
#include "config.h"

#include "iactl.h"
#include "err.h"
#include "flags.h"
#include "users.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static int iactl_flag_error(const char *name, int rc);
static int iactl_flag_row_json(void *ud, const struct flag *f);
static int iactl_flag_row_text(void *ud, const struct flag *f);
static int iactl_flag_user(struct db *db, const struct iactl_args *a, bool assign);

/* Explain a flags_* error in terms of the command line. */
static int iactl_flag_error(const char *name, int rc)
{
	if (rc == IA_ERR_INVAL)
		fprintf(stderr,
			"iactl: invalid flag name %s (use [a-z0-9_-], 1 to 64 characters)\n", name);
	else if (rc == IA_ERR_NOTFOUND)
		fprintf(stderr, "iactl: no flag named %s\n", name);
	else if (rc == IA_ERR_EXISTS)
		fprintf(stderr, "iactl: flag %s already exists\n", name);
	else
		return iactl_fail("flag operation failed", rc);
	return IACTL_FAIL;
}

static int iactl_flag_row_json(void *ud, const struct flag *f)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "id", iactl_json_int(f->id));
	cJSON_AddStringToObject(o, "name", f->name);
	cJSON_AddBoolToObject(o, "enabled", f->enabled);
	cJSON_AddItemToObject(o, "users", iactl_json_int(f->users));
	cJSON_AddItemToArray(ud, o);
	return 0;
}

static int iactl_flag_row_text(void *ud, const struct flag *f)
{
	(void)ud;
	printf("%-32s %-8s %lld\n", f->name, f->enabled ? "on" : "off", (long long)f->users);
	return 0;
}

int iactl_flag_list(struct db *db, const struct iactl_args *a)
{
	cJSON *arr = NULL;
	int rc;

	if (a->json) {
		arr = cJSON_CreateArray();
		rc = flags_each(db, iactl_flag_row_json, arr);
		if (rc != 0) {
			cJSON_Delete(arr);
			return iactl_fail("listing flags failed", rc);
		}
		return iactl_json_print(arr);
	}
	printf("%-32s %-8s %s\n", "NAME", "GLOBAL", "USERS");
	rc = flags_each(db, iactl_flag_row_text, NULL);
	return rc == 0 ? IACTL_OK : iactl_fail("listing flags failed", rc);
}

int iactl_flag_create(struct db *db, const struct iactl_args *a)
{
	int rc = flags_create(db, a->pos[0]);

	if (rc != 0)
		return iactl_flag_error(a->pos[0], rc);
	printf("created flag %s (disabled)\n", a->pos[0]);
	return IACTL_OK;
}

int iactl_flag_enable(struct db *db, const struct iactl_args *a)
{
	int rc = flags_set_enabled(db, a->pos[0], true);

	if (rc != 0)
		return iactl_flag_error(a->pos[0], rc);
	printf("flag %s is on for everyone\n", a->pos[0]);
	return IACTL_OK;
}

int iactl_flag_disable(struct db *db, const struct iactl_args *a)
{
	int rc = flags_set_enabled(db, a->pos[0], false);

	if (rc != 0)
		return iactl_flag_error(a->pos[0], rc);
	printf("flag %s is off (assigned users keep it)\n", a->pos[0]);
	return IACTL_OK;
}

static int iactl_flag_user(struct db *db, const struct iactl_args *a, bool assign)
{
	struct user u;
	int rc;

	rc = iactl_user(db, a->pos[1], &u);
	if (rc != IACTL_OK)
		return rc;
	rc = assign ? flags_assign(db, a->pos[0], u.id) : flags_unassign(db, a->pos[0], u.id);
	if (rc == IA_ERR_EXISTS) {
		fprintf(stderr, "iactl: %s already has flag %s\n", u.email, a->pos[0]);
		return IACTL_FAIL;
	}
	if (rc == IA_ERR_NOTFOUND && !assign) {
		fprintf(stderr, "iactl: %s does not have flag %s (or there is no such flag)\n",
			u.email, a->pos[0]);
		return IACTL_FAIL;
	}
	if (rc != 0)
		return iactl_flag_error(a->pos[0], rc);
	printf("%s flag %s %s %s\n", assign ? "assigned" : "unassigned", a->pos[0],
	       assign ? "to" : "from", u.email);
	return IACTL_OK;
}

int iactl_flag_assign(struct db *db, const struct iactl_args *a)
{
	return iactl_flag_user(db, a, true);
}

int iactl_flag_unassign(struct db *db, const struct iactl_args *a)
{
	return iactl_flag_user(db, a, false);
}
