/*
 * accounts.h - the account rules of API.md "Accounts" that are more than
 * one call: what a password signup creates, and the <user> profile every
 * page load asks for, served from the user cache while it holds.
 */
#ifndef IA_ACCOUNTS_H
#define IA_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct settings;
struct user;

/* The fields of a password signup, validated by the caller (borrowed). */
struct accounts_signup {
	const char *email;
	const char *password;
	const char *first_name; /* may be NULL */
	const char *last_name;  /* may be NULL */
};

/*
 * Create the account of a password signup: SIGNUP_CREDITS of s (a
 * signup_bonus ledger row), the show_credits flag, and the verification
 * mail queued in the same transaction (verify_on_signup). Writes *id on
 * success. IA_ERR_EXISTS when the address is taken; IA_ERR_DB and
 * friends on database failure (nothing written).
 */
int accounts_signup(struct db *db, const struct settings *s, const struct accounts_signup *in,
		    int64_t *id);

/*
 * u's <user> profile as JSON text (heap, caller frees with free()): the
 * cached text while the database is unchanged since u was read, else
 * built from u and its feature flags (flags_list_load, api_user_json)
 * and cached. IA_ERR_DB and friends when the flags cannot be read.
 */
int accounts_profile(struct db *db, const struct user *u, char **text, size_t *len);

#endif
