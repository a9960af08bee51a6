/*
 * password.c - Argon2id password hashes through libsodium.
 *
 * Stored strings are libsodium's "$argon2id$v=19$m=...,t=...,p=1$salt$hash"
 * format, which carries its own parameters: raising the cost later only makes
 * password_needs_rehash() true for old hashes, it never breaks them.
 *
 * Accounts carried over from the Django service keep Django's default
 * "pbkdf2_sha256$iterations$salt$base64" hashes: they verify (PBKDF2 built
 * on libsodium's HMAC-SHA-256) and need a rehash, so the first sign-in
 * stores Argon2id in their place.
 */
#include "config.h"

#include "password.h"
#include "err.h"

#include <string.h>

#include <sodium.h>

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "PASSWORD_HASH_MAX too small");

#define PASSWORD_OPSLIMIT crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
#define PASSWORD_MEMLIMIT crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE

#define PASSWORD_DJANGO_PREFIX     "pbkdf2_sha256$"
#define PASSWORD_DJANGO_MAX_ROUNDS 10000000UL /* Django 5 uses 870 000 */
#define PASSWORD_DJANGO_SALT_MAX   64

static bool password_is_django(const char *hash);
static int password_verify_django(const char *hash, const char *password);
static bool password_usable(const char *hash);
static int password_hash_raw(const char *password, char out[crypto_pwhash_STRBYTES]);

int password_init(void)
{
	return sodium_init() < 0 ? IA_ERR_UNAVAILABLE : 0;
}

/*
 * A hash we can check: a terminated "$argon2id$" or "$argon2i$" string (the
 * latter only from an older libsodium default), or a Django PBKDF2 one.
 * Empty strings, PASSWORD_UNUSABLE ("!...", as Django marks unusable
 * passwords) and anything else are not.
 */
static bool password_usable(const char *hash)
{
	static const char id[] = crypto_pwhash_argon2id_STRPREFIX;
	static const char i[] = crypto_pwhash_argon2i_STRPREFIX;

	if (hash == NULL || strnlen(hash, PASSWORD_HASH_MAX) == PASSWORD_HASH_MAX)
		return false;
	return strncmp(hash, id, sizeof(id) - 1) == 0 || strncmp(hash, i, sizeof(i) - 1) == 0 ||
	       password_is_django(hash);
}

static bool password_is_django(const char *hash)
{
	return strncmp(hash, PASSWORD_DJANGO_PREFIX, sizeof(PASSWORD_DJANGO_PREFIX) - 1) == 0;
}

/* PBKDF2-HMAC-SHA-256 (RFC 8018, section 5.2) for one 32-byte block, the
 * key length Django stores. The keyed HMAC state is computed once and
 * copied for each round. */
static void password_pbkdf2_sha256(const char *password, const unsigned char *salt, size_t salt_len,
				   unsigned long rounds, unsigned char out[32])
{
	static const unsigned char block_one[4] = {0, 0, 0, 1};
	crypto_auth_hmacsha256_state keyed, st;
	unsigned char u[crypto_auth_hmacsha256_BYTES];
	unsigned long r;
	size_t i;

	crypto_auth_hmacsha256_init(&keyed, (const unsigned char *)password, strlen(password));
	st = keyed;
	crypto_auth_hmacsha256_update(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, block_one, sizeof(block_one));
	crypto_auth_hmacsha256_final(&st, u);
	memcpy(out, u, sizeof(u));
	for (r = 1; r < rounds; r++) {
		st = keyed;
		crypto_auth_hmacsha256_update(&st, u, sizeof(u));
		crypto_auth_hmacsha256_final(&st, u);
		for (i = 0; i < sizeof(u); i++)
			out[i] ^= u[i];
	}
	sodium_memzero(&keyed, sizeof(keyed));
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(u, sizeof(u));
}

/* "pbkdf2_sha256$ROUNDS$SALT$BASE64": 0 when password matches, else IA_ERR_AUTH. */
static int password_verify_django(const char *hash, const char *password)
{
	const char *p = hash + sizeof(PASSWORD_DJANGO_PREFIX) - 1, *salt, *b64;
	unsigned char want[32], got[32];
	unsigned long rounds = 0;
	size_t salt_len, key_len = 0;
	int rc = IA_ERR_AUTH;

	for (; *p >= '0' && *p <= '9' && rounds <= PASSWORD_DJANGO_MAX_ROUNDS; p++)
		rounds = rounds * 10 + (unsigned long)(*p - '0');
	if (*p != '$' || rounds == 0 || rounds > PASSWORD_DJANGO_MAX_ROUNDS)
		return IA_ERR_AUTH;
	salt = p + 1;
	b64 = strchr(salt, '$');
	if (b64 == NULL || b64 == salt || (size_t)(b64 - salt) > PASSWORD_DJANGO_SALT_MAX)
		return IA_ERR_AUTH;
	salt_len = (size_t)(b64 - salt);
	b64++;
	if (sodium_base642bin(want, sizeof(want), b64, strlen(b64), NULL, &key_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    key_len != sizeof(want))
		return IA_ERR_AUTH;
	password_pbkdf2_sha256(password, (const unsigned char *)salt, salt_len, rounds, got);
	if (crypto_verify_32(got, want) == 0)
		rc = 0;
	sodium_memzero(got, sizeof(got));
	return rc;
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
	if (password_is_django(hash))
		rc = password_verify_django(hash, password);
	else if (crypto_pwhash_str_verify(hash, password, strlen(password)) == 0)
		rc = 0;
out:
	sodium_memzero(dummy, sizeof(dummy));
	return rc;
}

bool password_needs_rehash(const char *hash)
{
	if (!password_usable(hash))
		return false;
	if (password_is_django(hash))
		return true;
	return crypto_pwhash_argon2id_str_needs_rehash(hash, PASSWORD_OPSLIMIT,
						       PASSWORD_MEMLIMIT) != 0;
}
