/*
 * users.h - accounts: creation (with the signup bonus and flag), lookup,
 * password changes (which revoke older tokens), staff bits and bans.
 */
#ifndef IA_USERS_H
#define IA_USERS_H

#include <stdbool.h>
#include <stdint.h>

struct db;

#define USER_EMAIL_MAX 254
#define USER_NAME_MAX  30

struct user {
	int64_t id;
	char email[USER_EMAIL_MAX + 1];
	char first_name[4 * USER_NAME_MAX + 1]; /* UTF-8: up to 30 characters */
	char last_name[4 * USER_NAME_MAX + 1];
	int64_t credits;
	bool is_staff;
	bool is_superuser;
	bool banned;
	bool has_usable_password;
	bool email_verified;
	int64_t token_version;
	int64_t created;
};

struct user_new {
	const char *email;
	const char *password;   /* NULL: unusable password (Google accounts) */
	const char *first_name; /* NULL = "" */
	const char *last_name;
	bool is_staff;
	bool is_superuser;
	int64_t signup_credits; /* written as a 'signup_bonus' ledger row when > 0 */
	bool show_credits_flag; /* assign the show_credits flag */
	bool email_verified;    /* true for accounts created by Google sign-in */
	/* Called inside the creating transaction after the row is written
	 * (e.g. verify_on_signup queues the verification mail); a non-zero
	 * return rolls everything back. NULL: none. */
	int (*in_tx)(struct db *db, int64_t id, const char *email, void *ud);
	void *in_tx_ud;
};

/*
 * Create a user in one BEGIN IMMEDIATE transaction: the row, the signup
 * bonus (credits + ledger row) and the show_credits flag. Hashes the
 * password (Argon2id) before taking the write lock. The email is stored
 * lower-cased (ASCII), so it reads back the same however it was typed.
 * IA_ERR_EXISTS when the email is taken (case-insensitive); IA_ERR_INVAL
 * for an empty or over-long email, a name over 30 characters, or an email
 * or name that is not valid UTF-8 or holds a control character. Writes
 * the new id to *id_out (may be NULL).
 */
int users_create(struct db *db, const struct user_new *nu, int64_t *id_out);

/* Read a user by id / by email (case-insensitive). IA_ERR_NOTFOUND. */
int users_get(struct db *db, int64_t id, struct user *out);
int users_get_by_email(struct db *db, const char *email, struct user *out);

/*
 * Check email + password. 0 and *out on success; IA_ERR_AUTH when the
 * account does not exist or the password is wrong (a dummy hash is
 * verified for unknown emails so timing does not tell them apart).
 * Rehashes the stored password when its parameters are outdated.
 */
int users_authenticate(struct db *db, const char *email, const char *password, struct user *out);

/* Set a new password and bump token_version (revoking every older token). */
int users_set_password(struct db *db, int64_t id, const char *password);
/*
 * Store an already computed password hash (password_hash output, or
 * PASSWORD_UNUSABLE) and bump token_version. One statement and no
 * transaction of its own, so callers may run it inside theirs (resets
 * hashes first, then takes the write lock). IA_ERR_NOTFOUND.
 */
int users_set_password_hash(struct db *db, int64_t id, const char *hash);

/*
 * The Google linking rule (API.md "Accounts"): a Google sign-in proved the
 * address. When the account's email is not verified, mark it verified,
 * and if it has a usable password make the password unusable and bump
 * token_version (revoking every earlier token): whoever set that password
 * never proved the address. One statement; a verified account is left
 * as it is. 0 also when there was nothing to change.
 */
int users_link_google(struct db *db, int64_t id);

int users_set_ban(struct db *db, int64_t id, bool banned, const char *reason);
int users_set_staff(struct db *db, int64_t id, bool is_staff, bool is_superuser);

/*
 * List users ordered by id: calls fn for each; stops early when fn returns
 * non-zero (and returns that value).
 */
int users_each(struct db *db, int (*fn)(void *ud, const struct user *u), void *ud);

#endif
