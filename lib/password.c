/*
 * password.c - Argon2id password hashes through libsodium.
 *
 * Stored strings are libsodium's "$argon2id$v=19$m=...,t=...,p=1$salt$hash"
 * format, which carries its own parameters: raising the cost later only makes
 * password_needs_rehash() true for old hashes, it never breaks them.
 */
#include "config.h"

#include "password.h"
#include "err.h"

#include <string.h>

#include <sodium.h>

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "PASSWORD_HASH_MAX too small");

#define PASSWORD_OPSLIMIT crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
#define PASSWORD_MEMLIMIT crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE

static bool password_usable(const char *hash);
static int password_hash_raw(const char *password, char out[crypto_pwhash_STRBYTES]);

int password_init(void)
{
	return sodium_init() < 0 ? IA_ERR_UNAVAILABLE : 0;
}

/*
 * A hash we can check: a terminated "$argon2id$" or "$argon2i$" string (the
 * latter only from an older libsodium default). Empty strings,
 * PASSWORD_UNUSABLE ("!...", as Django marks unusable passwords) and anything
 * else are not.
 */
static bool password_usable(const char *hash)
{
	static const char id[] = crypto_pwhash_argon2id_STRPREFIX;
	static const char i[] = crypto_pwhash_argon2i_STRPREFIX;

	if (hash == NULL || strnlen(hash, PASSWORD_HASH_MAX) == PASSWORD_HASH_MAX)
		return false;
	return strncmp(hash, id, sizeof(id) - 1) == 0 || strncmp(hash, i, sizeof(i) - 1) == 0;
}

/* Argon2id at the current cost into out; 0 or IA_ERR_UNAVAILABLE. */
static int password_hash_raw(const char *password, char out[crypto_pwhash_STRBYTES])
{
	if (password_init() != 0)
		return IA_ERR_UNAVAILABLE;
	if (crypto_pwhash_str_alg(out, password, strlen(password), PASSWORD_OPSLIMIT,
				  PASSWORD_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return IA_ERR_UNAVAILABLE;
	return 0;
}

int password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
	char buf[crypto_pwhash_STRBYTES];
	int rc;

	if (password == NULL)
		return IA_ERR_INVAL;
	rc = password_hash_raw(password, buf);
	if (rc != 0)
		goto out;
	memcpy(out, buf, sizeof(buf));
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int password_verify(const char *hash, const char *password)
{
	char dummy[crypto_pwhash_STRBYTES];
	int rc = IA_ERR_AUTH;

	if (password == NULL || password_init() != 0)
		goto out;
	if (!password_usable(hash)) {
		/* Spend what a real check would cost, then refuse. */
		(void)password_hash_raw(password, dummy);
		goto out;
	}
	if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(dummy, sizeof(dummy));
	return rc;
}

bool password_needs_rehash(const char *hash)
{
	if (!password_usable(hash))
		return false;
	return crypto_pwhash_argon2id_str_needs_rehash(hash, PASSWORD_OPSLIMIT,
						       PASSWORD_MEMLIMIT) != 0;
}
