/*
 * googlelogin.c - what a verified Google identity (lib/google.c) means for
 * our accounts: the account of its address, created on first login, and
 * API.md's linking rule for an existing account whose address was never
 * proved. Database writes only; no network.
 */
#include "config.h"

#include "googlelogin.h"
#include "err.h"
#include "google.h"
#include "log.h"
#include "settings.h"
#include "users.h"

#include <stdbool.h>
#include <stddef.h>

int googlelogin_account(struct db *db, const struct settings *s, const struct google_identity *id,
			struct user *out)
{
	struct user_new nu = {0};
	int rc;

	rc = users_get_by_email(db, id->email, out);
	if (rc == 0 && !out->email_verified) {
		/* API.md's linking rule: the password of an unproven owner goes. */
		rc = users_link_google(db, out->id);
		if (rc == 0 && out->has_usable_password)
			log_info("google: user %lld proved the address; password disabled and "
				 "older tokens revoked",
				 (long long)out->id);
		if (rc == 0)
			rc = users_get(db, out->id, out);
		return rc;
	}
	if (rc != IA_ERR_NOTFOUND)
		return rc;
	nu.email = id->email;
	nu.password = NULL;
	nu.first_name = id->first_name;
	nu.last_name = id->last_name;
	nu.signup_credits = s->signup_credits;
	nu.show_credits_flag = true;
	nu.email_verified = true;
	rc = users_create(db, &nu, NULL);
	if (rc == IA_ERR_INVAL) { /* names the users module will not take: drop them */
		nu.first_name = nu.last_name = NULL;
		rc = users_create(db, &nu, NULL);
	}
	if (rc != 0 && rc != IA_ERR_EXISTS) /* EXISTS: a concurrent first login won */
		return rc;
	if (rc == 0)
		log_info("google: account created on first login");
	return users_get_by_email(db, id->email, out);
}
