/*
 * accounts.c - account rules that take more than one call: the signup
 * policy (bonus credits, the show_credits flag, the verification mail in
 * the creating transaction) and the profile built once and then served
 * from the per-worker user cache.
 */
#include "config.h"

#include "accounts.h"
#include "api.h"
#include "err.h"
#include "flags.h"
#include "settings.h"
#include "usercache.h"
#include "users.h"
#include "util.h"
#include "verify.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int accounts_signup(struct db *db, const struct settings *s, const struct accounts_signup *in,
		    int64_t *id)
{
	struct user_new nu = {0};

	nu.email = in->email;
	nu.password = in->password;
	nu.first_name = in->first_name;
	nu.last_name = in->last_name;
	nu.signup_credits = s->signup_credits;
	nu.show_credits_flag = true;
	nu.in_tx = verify_on_signup; /* the verification mail, in the same transaction */
	nu.in_tx_ud = (void *)s;
	return users_create(db, &nu, id);
}

int accounts_profile(struct db *db, const struct user *u, char **text, size_t *len)
{
	struct flag_list flags;
	const char *cached;
	char *t;
	cJSON *o;
	int rc;

	cached = usercache_profile(db, u->id, len);
	if (cached != NULL) {
		t = xmalloc(*len + 1);
		memcpy(t, cached, *len);
		t[*len] = '\0';
		*text = t;
		return 0;
	}
	rc = flags_list_load(db, u->id, &flags);
	if (rc != 0)
		return rc;
	o = api_user_json(u, &flags);
	flags_list_cleanup(&flags);
	t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	usercache_put_profile(db, u->id, t);
	*len = strlen(t);
	*text = t;
	return 0;
}
