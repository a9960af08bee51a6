/*
 * googlelogin.h - the account side of "Sign in with Google" (API.md
 * "Accounts", google/login): a verified identity (google_verify) becomes
 * an account, created on first login.
 */
#ifndef IA_GOOGLELOGIN_H
#define IA_GOOGLELOGIN_H

struct db;
struct settings;
struct google_identity;
struct user;

/*
 * The account of id->email (case-insensitive), created when absent with an
 * unusable password, a verified email, SIGNUP_CREDITS (signup_bonus
 * ledger row) and the show_credits flag (database writes). An existing
 * account whose email is not verified becomes verified, and loses its
 * password and every earlier token if it had one (users_link_google);
 * *out is read after that. A banned account is returned as is: the caller
 * refuses it. IA_ERR_DB and friends on database failure.
 */
int googlelogin_account(struct db *db, const struct settings *s, const struct google_identity *id,
			struct user *out);

#endif
